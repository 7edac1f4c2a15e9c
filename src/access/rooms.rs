//! A room as staff name it: found among the properties they may act on,
//! its current stay, its locks and the codes on them. The chat commands,
//! and the console after them, start here.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::{self, Actor, Subject};
use super::error::{AccessError, AccessResult};
use super::model::{CodeKind, CodeState, ProviderKind, RoomName};
use super::properties::Room;
use super::release::release_time;
use super::staff::StaffMember;
use super::timezone::Timezone;

/// A room of one of the staff member's properties.
#[derive(Debug, Clone)]
pub struct RoomRef {
    /// The room.
    pub room_id: Uuid,
    /// Its name, as stored.
    pub room: String,
    /// Its property.
    pub property_id: Uuid,
    /// The property's name.
    pub property: String,
    /// The property's timezone.
    pub timezone: Timezone,
}

/// What a room name names among some properties.
#[derive(Debug, Clone)]
pub enum RoomLookup {
    /// One room.
    Found(RoomRef),
    /// No room of that name.
    Missing,
    /// A room of that name in each of these properties.
    Ambiguous(Vec<String>),
}

/// The room called `name` (any case) among `property_ids`.
pub async fn find_room_in(conn: &mut PgConnection, property_ids: &[Uuid], name: &str) -> AccessResult<RoomLookup> {
    let rows = sqlx::query!(
        r#"SELECT r.id, r.name, p.id AS property_id, p.name AS property, p.timezone AS "timezone: Timezone"
           FROM rooms r JOIN properties p ON p.id = r.property_id
           WHERE lower(r.name) = lower($1) AND r.property_id = ANY($2)
           ORDER BY p.name"#,
        name,
        property_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(match rows.as_slice() {
        [] => RoomLookup::Missing,
        [r] => RoomLookup::Found(RoomRef {
            room_id: r.id,
            room: r.name.clone(),
            property_id: r.property_id,
            property: r.property.clone(),
            timezone: r.timezone,
        }),
        many => RoomLookup::Ambiguous(many.iter().map(|r| r.property.clone()).collect()),
    })
}

/// The stay of a room now, else the next one.
#[derive(Debug, Clone)]
pub struct Stay {
    /// The booking.
    pub booking_id: Uuid,
    /// Its PMS reference.
    pub reference: String,
    /// The guest's name.
    pub guest: String,
    /// Check-in.
    pub check_in_at: DateTime<Utc>,
    /// Check-out.
    pub check_out_at: DateTime<Utc>,
    /// The property's release hours.
    pub release_hours: i32,
}

impl Stay {
    /// The guest may have the code already (review L4): a revocation now
    /// leaves them at the door, so it is confirmed like one in the stay.
    pub fn released(&self, now: DateTime<Utc>) -> bool {
        now >= release_time(self.check_in_at, self.release_hours)
    }

    /// The guest's first name.
    pub fn first_name(&self) -> &str {
        self.guest.split_whitespace().next().unwrap_or_default()
    }
}

/// The room's stay now, else the next: confirmed, or cancelled with codes
/// still live.
pub async fn current_stay(conn: &mut PgConnection, room_id: Uuid) -> AccessResult<Option<Stay>> {
    Ok(sqlx::query_as!(
        Stay,
        r#"SELECT b.id AS booking_id, b.external_ref AS reference, g.name AS guest, b.check_in_at, b.check_out_at,
               p.code_release_hours AS release_hours
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN properties p ON p.id = b.property_id
           WHERE b.room_id = $1 AND b.check_out_at > now()
             AND (b.status = 'confirmed' OR EXISTS (
                 SELECT 1 FROM access_codes c WHERE c.booking_id = b.id AND c.state = ANY($2)))
           ORDER BY b.check_in_at LIMIT 1"#,
        room_id,
        CodeState::LIVE as &[CodeState]
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A code on one of a room's locks, as a listing shows it.
#[derive(Debug, Clone)]
pub struct RoomCode {
    /// The lock's name.
    pub lock: String,
    /// The value (mask it before showing it).
    pub code: String,
    /// Why it exists.
    pub kind: CodeKind,
    /// For a staff code: whose.
    pub staff_id: Option<Uuid>,
    /// Its state.
    pub state: String,
    /// When it ends, if it does.
    pub valid_until: Option<DateTime<Utc>>,
    /// The booking's reference, for a guest code.
    pub booking: Option<String>,
    /// Free text.
    pub label: Option<String>,
}

impl RoomCode {
    /// The `staff` role sees guest and standalone codes and their own;
    /// backup and master codes and colleagues' persistent codes never
    /// (review M1).
    pub fn visible_to(&self, viewer: &StaffMember, manager: bool) -> bool {
        match self.kind {
            CodeKind::Guest | CodeKind::Standalone => true,
            CodeKind::Staff => manager || self.staff_id == Some(viewer.id),
            CodeKind::Master | CodeKind::Backup => manager,
        }
    }
}

/// Every code on a room's locks not yet confirmed gone.
pub async fn room_codes(conn: &mut PgConnection, room_id: Uuid) -> AccessResult<Vec<RoomCode>> {
    Ok(sqlx::query_as!(
        RoomCode,
        r#"SELECT l.name AS lock, c.code, c.kind AS "kind: CodeKind", c.staff_id, c.state, c.valid_until,
               b.external_ref AS "booking?", c.label
           FROM access_codes c JOIN locks l ON l.id = c.lock_id LEFT JOIN bookings b ON b.id = c.booking_id
           WHERE l.room_id = $1 AND c.state = ANY($2)
           ORDER BY l.name, c.valid_from"#,
        room_id,
        CodeState::LISTED as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// A lock, by id and name.
#[derive(Debug, Clone)]
pub struct LockRef {
    /// The lock.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Who drives it.
    pub provider: ProviderKind,
}

/// A room's locks, by name.
pub async fn room_locks(conn: &mut PgConnection, room_id: Uuid) -> AccessResult<Vec<LockRef>> {
    Ok(sqlx::query_as!(
        LockRef,
        r#"SELECT id, name, provider AS "provider: ProviderKind" FROM locks WHERE room_id = $1 ORDER BY name"#,
        room_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The active locks a manual code for a room goes on: the room's, and with
/// `entrances` the property's shared doors too (entrances first).
pub async fn code_locks(conn: &mut PgConnection, room: &RoomRef, entrances: bool) -> AccessResult<Vec<LockRef>> {
    Ok(sqlx::query_as!(
        LockRef,
        r#"SELECT id, name, provider AS "provider: ProviderKind" FROM locks
           WHERE property_id = $1 AND status = 'active' AND (room_id = $2 OR ($3 AND room_id IS NULL))
           ORDER BY room_id IS NOT NULL, name"#,
        room.property_id,
        room.room_id,
        entrances
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// A property's active locks, entrances first (a staff member's own codes).
pub async fn property_locks(conn: &mut PgConnection, property_id: Uuid) -> AccessResult<Vec<LockRef>> {
    Ok(sqlx::query_as!(
        LockRef,
        r#"SELECT id, name, provider AS "provider: ProviderKind" FROM locks
           WHERE property_id = $1 AND status = 'active' ORDER BY room_id IS NOT NULL, name"#,
        property_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Changes to a room (`PATCH /api/v1/rooms/{id}`); `None` keeps a field.
#[derive(Debug, Clone, Default)]
pub struct RoomChanges {
    /// A new name, unique within the property.
    pub name: Option<RoomName>,
    /// Its own entry instructions: `Some(None)` clears them.
    pub entry_instructions: Option<Option<String>>,
}

/// Renames a room or changes its entry instructions, audited as
/// `room.updated` with the fields that changed. A name another room of the
/// property has is a conflict. The bookings of the room follow it: they
/// hold its id, not its name.
#[tracing::instrument(skip_all, fields(%room_id))]
pub async fn update_room(
    conn: &mut PgConnection,
    room_id: Uuid,
    changes: &RoomChanges,
    actor: Actor,
) -> AccessResult<Room> {
    let mut room = sqlx::query_as!(
        Room,
        "SELECT id, property_id, name, entry_instructions FROM rooms WHERE id = $1 FOR UPDATE",
        room_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "room" })?;
    let mut changed = Vec::new();
    if let Some(name) = changes.name.as_ref().filter(|n| n.as_str() != room.name) {
        room.name = name.as_str().to_owned();
        changed.push("name");
    }
    if let Some(instructions) = changes.entry_instructions.as_ref().filter(|i| **i != room.entry_instructions) {
        room.entry_instructions.clone_from(instructions);
        changed.push("entry_instructions");
    }
    if changed.is_empty() {
        return Ok(room);
    }
    sqlx::query!(
        "UPDATE rooms SET name = $2, entry_instructions = $3 WHERE id = $1",
        room.id,
        room.name,
        room.entry_instructions
    )
    .execute(&mut *conn)
    .await?;
    let subject = Subject { property_id: Some(room.property_id), ..Default::default() };
    let details = serde_json::json!({ "room_id": room.id, "changed": changed });
    audit::record(&mut *conn, actor, "room.updated", subject, details).await?;
    Ok(room)
}
