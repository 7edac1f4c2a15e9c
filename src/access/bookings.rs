//! Bookings pushed by the PMS, and their guests.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::audit::{self, Actor, Subject};
use super::error::{AccessError, AccessResult};
use super::model::{BookingStatus, Language, RoomName};
use super::phone::Phone;
use super::stay::Stay;
use super::timezone::Timezone;

mod many;

pub use many::upsert_bookings;

/// A booking's reference in the PMS, e.g. `BK-10234`: 1–64 printable
/// characters without spaces or slashes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BookingRef(String);

impl BookingRef {
    /// Parses a reference, trimming surrounding whitespace.
    pub fn parse(raw: &str) -> AccessResult<Self> {
        let trimmed = raw.trim();
        let valid = !trimmed.is_empty()
            && trimmed.len() <= 64
            && trimmed.chars().all(|c| c.is_ascii_graphic() && c != '/' && c != '?' && c != '#');
        if !valid {
            return Err(AccessError::invalid(
                "external_ref",
                "1 to 64 printable ASCII characters without spaces, '/', '?' or '#'",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The reference as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The guest as the PMS describes them.
#[derive(Debug, Clone)]
pub struct GuestDetails {
    /// Full name.
    pub name: String,
    /// Their phone; the identity of a WhatsApp guest.
    pub phone: Option<Phone>,
    /// Their email.
    pub email: Option<String>,
    /// Preferred language; kept as stored when absent.
    pub language: Option<Language>,
}

/// When the stay is, as the PMS gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StayInput {
    /// Exact instants (`check_in_at`/`check_out_at`).
    Instants(Stay),
    /// Dates; the property's local check-in and check-out times apply.
    LocalDates {
        /// Arrival date.
        check_in: NaiveDate,
        /// Departure date.
        check_out: NaiveDate,
    },
}

/// `PUT /api/v1/bookings/{external_ref}`, parsed.
#[derive(Debug, Clone)]
pub struct BookingUpsert {
    /// The PMS reference.
    pub external_ref: BookingRef,
    /// Its property.
    pub property_id: Uuid,
    /// Its room, by name.
    pub room: RoomName,
    /// Its guest.
    pub guest: GuestDetails,
    /// When.
    pub stay: StayInput,
    /// Pending, confirmed or cancelled.
    pub status: BookingStatus,
    /// Whether ID, agreement or payment are done; kept as stored when absent.
    pub verified: Option<bool>,
}

/// A guest as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Guest {
    /// Identifier.
    pub id: Uuid,
    /// Full name.
    pub name: String,
    /// E.164 phone.
    #[schema(value_type = Option<String>, example = "+421900123456")]
    pub phone: Option<Phone>,
    /// Email.
    pub email: Option<String>,
    /// Preferred language.
    pub language: String,
}

/// A booking as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Booking {
    /// Identifier.
    pub id: Uuid,
    /// The PMS reference.
    pub external_ref: String,
    /// Its property.
    pub property_id: Uuid,
    /// Its room's id.
    pub room_id: Uuid,
    /// Its room's name.
    pub room: String,
    /// Its guest.
    pub guest: Guest,
    /// Check-in instant (UTC).
    pub check_in_at: DateTime<Utc>,
    /// Check-out instant (UTC).
    pub check_out_at: DateTime<Utc>,
    /// Pending, confirmed or cancelled.
    pub status: BookingStatus,
    /// Whether the PMS reported the guest verified.
    pub verified: bool,
    /// When the guest's code first opened a door, as the lock reported it.
    pub arrived_at: Option<DateTime<Utc>>,
    /// When doorman first heard of it.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The stored fields an upsert compares and may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingState {
    /// Its property.
    pub property_id: Uuid,
    /// Its room.
    pub room_id: Uuid,
    /// Its guest.
    pub guest_id: Uuid,
    /// Check-in instant.
    pub check_in_at: DateTime<Utc>,
    /// Check-out instant.
    pub check_out_at: DateTime<Utc>,
    /// Status.
    pub status: BookingStatus,
    /// Verified flag.
    pub verified: bool,
    /// The e-mail address this booking's messages go to: this booking's
    /// own, never one carried over from another booking (review H1).
    pub guest_email: Option<String>,
}

/// What an upsert did.
#[derive(Debug, Clone)]
pub struct UpsertOutcome {
    /// The booking's id.
    pub booking_id: Uuid,
    /// The state before, `None` when the booking was created.
    pub previous: Option<BookingState>,
    /// The state now.
    pub current: BookingState,
}

impl UpsertOutcome {
    /// Whether this upsert created the booking.
    pub fn created(&self) -> bool {
        self.previous.is_none()
    }
}

/// Creates or updates a booking by its external reference, idempotently:
/// the same request twice changes nothing the second time. Concurrent
/// upserts of one reference are serialized on the booking's row.
#[tracing::instrument(skip_all, fields(booking = %input.external_ref.as_str()))]
pub async fn upsert_booking(
    conn: &mut PgConnection,
    input: &BookingUpsert,
    actor: Actor,
) -> AccessResult<UpsertOutcome> {
    let property = placement(&mut *conn, input.property_id, &input.room, &[input.external_ref.as_str()]).await?;
    let room_id = property.room_id.ok_or_else(|| {
        AccessError::invalid("room", format!("{} has no room {:?}", property.name, input.room.as_str()))
    })?;
    let stay = property.stay(input.stay)?;

    let previous = lock_booking(&mut *conn, &input.external_ref).await?;
    let stay = match &previous {
        Some((id, _)) => super::windows::keep_staff_moves(&mut *conn, *id, stay).await?,
        None => stay,
    };
    let guest_id = upsert_guest(&mut *conn, &input.guest, previous.as_ref().map(|p| p.1.guest_id)).await?;
    let current =
        BookingState {
            property_id: property.id,
            room_id,
            guest_id,
            check_in_at: stay.check_in_at,
            check_out_at: stay.check_out_at,
            status: input.status,
            verified: input.verified.or(previous.as_ref().map(|p| p.1.verified)).unwrap_or(false),
            // Missing upstream data keeps ours, for the same guest only.
            guest_email: input.guest.email.clone().or_else(|| {
                previous.as_ref().filter(|p| p.1.guest_id == guest_id).and_then(|p| p.1.guest_email.clone())
            }),
        };

    let (booking_id, previous) = match previous {
        Some((id, before)) if before == current => (id, Some(before)),
        Some((id, before)) => {
            update_booking(&mut *conn, id, &current).await?;
            if before.status != BookingStatus::Confirmed && current.status == BookingStatus::Confirmed {
                // Confirmed anew: a revocation from before no longer holds.
                clear_revocation(&mut *conn, id).await?;
            }
            if before.guest_id != current.guest_id {
                // Another person: whoever had the code must not keep it.
                revoke_for_new_guest(&mut *conn, id, actor).await?;
            }
            let changes = describe_changes(&before, &current);
            record_booking_event(&mut *conn, actor, "booking.updated", id, &current, changes).await?;
            (id, Some(before))
        }
        None => {
            let id = insert_booking(&mut *conn, &input.external_ref, &current).await?;
            let details = json!({ "external_ref": input.external_ref.as_str(), "status": current.status });
            record_booking_event(&mut *conn, actor, "booking.created", id, &current, details).await?;
            (id, None)
        }
    };
    // Confirming twice, or again after a lock was added, converges on one
    // code per lock: the sync is idempotent.
    super::lifecycle::sync_booking_codes(&mut *conn, booking_id, actor, Utc::now()).await?;
    Ok(UpsertOutcome { booking_id, previous, current })
}

/// What a booking needs of its property, and the room of that name.
///
/// Reading it also takes the transaction-scoped advisory locks on the
/// bookings' references, before anything reads the bookings: a row lock
/// cannot serialize two *first* upserts of one reference (there is no row
/// yet), so concurrent upserts of one booking run one by one on this lock.
struct Placement {
    id: Uuid,
    name: String,
    timezone: Timezone,
    check_in_time: NaiveTime,
    check_out_time: NaiveTime,
    release_hours: i32,
    room_id: Option<Uuid>,
}

impl Placement {
    /// The stay's instants; dates take the property's times, in its
    /// timezone.
    fn stay(&self, input: StayInput) -> AccessResult<Stay> {
        match input {
            StayInput::Instants(stay) => Ok(stay),
            StayInput::LocalDates { check_in, check_out } => {
                Stay::from_local_dates(self.timezone.tz(), check_in, self.check_in_time, check_out, self.check_out_time)
                    .map_err(|e| AccessError::invalid("check_out", e))
            }
        }
    }
}

/// The references are locked in sorted order, so that two writers of
/// overlapping sets wait for each other instead of deadlocking.
async fn placement(
    conn: &mut PgConnection,
    property_id: Uuid,
    room: &RoomName,
    references: &[&str],
) -> AccessResult<Placement> {
    let mut sorted: Vec<&str> = references.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let row = sqlx::query!(
        r#"SELECT locked.held AS "locked!", p.id AS "id?", p.name AS "name?",
               p.timezone AS "timezone?: Timezone", p.check_in_time AS "check_in_time?",
               p.check_out_time AS "check_out_time?", p.code_release_hours AS "release_hours?", r.id AS "room_id?"
           FROM (SELECT count(pg_advisory_xact_lock(hashtextextended(reference, 0))) AS held
                 FROM UNNEST($3::text[]) AS s (reference)) locked
           LEFT JOIN properties p ON p.id = $1
           LEFT JOIN rooms r ON r.property_id = p.id AND r.name = $2"#,
        property_id,
        room.as_str(),
        &sorted as &[&str]
    )
    .fetch_one(&mut *conn)
    .await?;
    let no_property = || AccessError::invalid("property_id", "no such property");
    Ok(Placement {
        id: row.id.ok_or_else(no_property)?,
        name: row.name.ok_or_else(no_property)?,
        timezone: row.timezone.ok_or_else(no_property)?,
        check_in_time: row.check_in_time.ok_or_else(no_property)?,
        check_out_time: row.check_out_time.ok_or_else(no_property)?,
        release_hours: row.release_hours.ok_or_else(no_property)?,
        room_id: row.room_id,
    })
}

/// Lets the booking's codes be issued again after a revocation (`/regen`,
/// a new confirmation).
pub async fn clear_revocation(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<()> {
    sqlx::query!("UPDATE bookings SET codes_revoked_at = NULL WHERE id = $1", booking_id).execute(&mut *conn).await?;
    Ok(())
}

/// The booking now belongs to someone else: its codes are replaced, even
/// during the stay, so the previous recipient's code stops working.
async fn revoke_for_new_guest(conn: &mut PgConnection, booking_id: Uuid, actor: Actor) -> AccessResult<()> {
    for code_id in super::codes::stay::live_guest_codes(conn, booking_id).await? {
        super::lifecycle::begin_removal(&mut *conn, code_id, actor, "the booking's guest changed").await?;
    }
    Ok(())
}

/// A booking by its PMS reference, with its room and guest.
pub async fn get_booking_by_ref(db: impl PgExecutor<'_>, external_ref: &str) -> AccessResult<Booking> {
    let row = sqlx::query_as!(
        BookingRow,
        r#"SELECT b.id, b.external_ref, b.property_id, b.room_id, r.name AS room, b.check_in_at, b.check_out_at,
               b.status AS "status: BookingStatus", b.verified, b.arrived_at, b.created_at, b.updated_at,
               g.id AS guest_id, g.name AS guest_name, g.phone AS "guest_phone: Phone", b.guest_email,
               g.language AS guest_language
           FROM bookings b
           JOIN rooms r ON r.id = b.room_id
           JOIN guests g ON g.id = b.guest_id
           WHERE b.external_ref = $1"#,
        external_ref
    )
    .fetch_optional(db)
    .await?
    .ok_or(AccessError::NotFound { entity: "booking" })?;
    Ok(row.into())
}

/// Which bookings `GET /api/v1/bookings` lists.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    /// Only this property's (404 when it does not exist).
    pub property_id: Option<Uuid>,
    /// Only rooms of this name (any case).
    pub room: Option<String>,
    /// Only stays that end after the start of this day, in their
    /// property's timezone.
    pub from: Option<NaiveDate>,
    /// Only stays that begin before the end of this day, there.
    pub to: Option<NaiveDate>,
    /// At most this many.
    pub limit: i64,
    /// After skipping this many.
    pub offset: i64,
}

/// A page of bookings.
#[derive(Debug, Clone)]
pub struct BookingPage {
    /// The bookings, by check-in, then reference.
    pub bookings: Vec<Booking>,
    /// Whether more follow this page.
    pub more: bool,
}

/// The bookings matching `filter`, by check-in then reference, a page at a
/// time (offset paging: stable while no booking is added or moved).
pub async fn list_bookings(conn: &mut PgConnection, filter: &BookingFilter) -> AccessResult<BookingPage> {
    if let Some(property_id) = filter.property_id {
        super::properties::get_property(&mut *conn, property_id).await?;
    }
    let mut rows = sqlx::query_as!(
        BookingRow,
        r#"SELECT b.id, b.external_ref, b.property_id, b.room_id, r.name AS room, b.check_in_at, b.check_out_at,
               b.status AS "status: BookingStatus", b.verified, b.arrived_at, b.created_at, b.updated_at,
               g.id AS guest_id, g.name AS guest_name, g.phone AS "guest_phone: Phone", b.guest_email,
               g.language AS guest_language
           FROM bookings b
           JOIN rooms r ON r.id = b.room_id
           JOIN guests g ON g.id = b.guest_id
           JOIN properties p ON p.id = b.property_id
           WHERE ($1::uuid IS NULL OR b.property_id = $1)
             AND ($2::text IS NULL OR lower(r.name) = lower($2))
             AND ($3::date IS NULL OR b.check_out_at > ($3::date)::timestamp AT TIME ZONE p.timezone)
             AND ($4::date IS NULL OR b.check_in_at < ($4::date + 1)::timestamp AT TIME ZONE p.timezone)
           ORDER BY b.check_in_at, b.external_ref
           LIMIT $5 OFFSET $6"#,
        filter.property_id,
        filter.room.as_deref().map(str::trim),
        filter.from,
        filter.to,
        filter.limit + 1,
        filter.offset,
    )
    .fetch_all(&mut *conn)
    .await?;
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(usize::try_from(filter.limit).unwrap_or_default());
    Ok(BookingPage { bookings: rows.into_iter().map(Booking::from).collect(), more })
}

/// A booking's row joined with its room's name and its guest.
struct BookingRow {
    id: Uuid,
    external_ref: String,
    property_id: Uuid,
    room_id: Uuid,
    room: String,
    check_in_at: DateTime<Utc>,
    check_out_at: DateTime<Utc>,
    status: BookingStatus,
    verified: bool,
    arrived_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    guest_id: Uuid,
    guest_name: String,
    guest_phone: Option<Phone>,
    guest_email: Option<String>,
    guest_language: String,
}

impl From<BookingRow> for Booking {
    fn from(row: BookingRow) -> Self {
        Self {
            id: row.id,
            external_ref: row.external_ref,
            property_id: row.property_id,
            room_id: row.room_id,
            room: row.room,
            guest: Guest {
                id: row.guest_id,
                name: row.guest_name,
                phone: row.guest_phone,
                email: row.guest_email,
                language: row.guest_language,
            },
            check_in_at: row.check_in_at,
            check_out_at: row.check_out_at,
            status: row.status,
            verified: row.verified,
            arrived_at: row.arrived_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The id of a booking by its PMS reference.
pub async fn find_booking_id(db: impl PgExecutor<'_>, external_ref: &str) -> AccessResult<Uuid> {
    sqlx::query_scalar!("SELECT id FROM bookings WHERE external_ref = $1", external_ref)
        .fetch_optional(db)
        .await?
        .ok_or(AccessError::NotFound { entity: "booking" })
}

/// Serializes upserts of one reference for this transaction and reads the
/// booking's state.
async fn lock_booking(
    conn: &mut PgConnection,
    external_ref: &BookingRef,
) -> AccessResult<Option<(Uuid, BookingState)>> {
    // The reference's advisory lock is held already (see `placement`).
    let row = sqlx::query!(
        r#"SELECT id, property_id, room_id, guest_id, check_in_at, check_out_at,
               status AS "status: BookingStatus", verified, guest_email
           FROM bookings WHERE external_ref = $1 FOR UPDATE"#,
        external_ref.as_str()
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| {
        (
            r.id,
            BookingState {
                property_id: r.property_id,
                room_id: r.room_id,
                guest_id: r.guest_id,
                check_in_at: r.check_in_at,
                check_out_at: r.check_out_at,
                status: r.status,
                verified: r.verified,
                guest_email: r.guest_email,
            },
        )
    }))
}

async fn insert_booking(
    conn: &mut PgConnection,
    external_ref: &BookingRef,
    state: &BookingState,
) -> AccessResult<Uuid> {
    let id = sqlx::query_scalar!(
        "INSERT INTO bookings (external_ref, property_id, room_id, guest_id, check_in_at, check_out_at, status, verified,
             guest_email)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         RETURNING id",
        external_ref.as_str(),
        state.property_id,
        state.room_id,
        state.guest_id,
        state.check_in_at,
        state.check_out_at,
        state.status.as_str(),
        state.verified,
        state.guest_email,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

async fn update_booking(conn: &mut PgConnection, id: Uuid, state: &BookingState) -> AccessResult<()> {
    sqlx::query!(
        "UPDATE bookings SET property_id = $2, room_id = $3, guest_id = $4, check_in_at = $5, check_out_at = $6,
             status = $7, verified = $8, guest_email = $9, updated_at = now()
         WHERE id = $1",
        id,
        state.property_id,
        state.room_id,
        state.guest_id,
        state.check_in_at,
        state.check_out_at,
        state.status.as_str(),
        state.verified,
        state.guest_email,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Finds or creates the guest. With a phone, the guest with that phone is
/// updated (one guest per number); without one, the booking's current guest
/// is kept and updated, since missing upstream data never erases ours.
async fn upsert_guest(conn: &mut PgConnection, guest: &GuestDetails, current: Option<Uuid>) -> AccessResult<Uuid> {
    let language = guest.language.as_ref().map(Language::as_str);
    if let Some(phone) = &guest.phone {
        return Ok(sqlx::query_scalar!(
            "INSERT INTO guests (name, phone, email, language) VALUES ($1, $2, $3, COALESCE($4, 'en'))
             ON CONFLICT (phone) DO UPDATE SET name = EXCLUDED.name,
                 email = EXCLUDED.email,
                 language = COALESCE($4, guests.language),
                 updated_at = now()
             RETURNING id",
            guest.name,
            phone.as_str(),
            guest.email,
            language,
        )
        .fetch_one(&mut *conn)
        .await?);
    }
    if let Some(id) = current {
        sqlx::query!(
            "UPDATE guests SET name = $2, email = COALESCE($3, email), language = COALESCE($4, language), updated_at = now()
             WHERE id = $1",
            id,
            guest.name,
            guest.email,
            language,
        )
        .execute(&mut *conn)
        .await?;
        return Ok(id);
    }
    Ok(sqlx::query_scalar!(
        "INSERT INTO guests (name, email, language) VALUES ($1, $2, COALESCE($3, 'en')) RETURNING id",
        guest.name,
        guest.email,
        language,
    )
    .fetch_one(&mut *conn)
    .await?)
}

fn describe_changes(before: &BookingState, after: &BookingState) -> serde_json::Value {
    let mut changes = serde_json::Map::new();
    if before.status != after.status {
        changes.insert("status".into(), json!({ "from": before.status, "to": after.status }));
    }
    if before.check_in_at != after.check_in_at || before.check_out_at != after.check_out_at {
        changes.insert(
            "stay".into(),
            json!({
                "from": [before.check_in_at, before.check_out_at],
                "to": [after.check_in_at, after.check_out_at],
            }),
        );
    }
    if before.room_id != after.room_id {
        changes.insert("room_id".into(), json!({ "from": before.room_id, "to": after.room_id }));
    }
    if before.guest_id != after.guest_id {
        changes.insert("guest_id".into(), json!({ "from": before.guest_id, "to": after.guest_id }));
    }
    if before.verified != after.verified {
        changes.insert("verified".into(), json!({ "from": before.verified, "to": after.verified }));
    }
    if before.guest_email != after.guest_email {
        changes.insert("guest_email".into(), json!("changed"));
    }
    serde_json::Value::Object(changes)
}

async fn record_booking_event(
    conn: &mut PgConnection,
    actor: Actor,
    action: &str,
    booking_id: Uuid,
    state: &BookingState,
    details: serde_json::Value,
) -> AccessResult<()> {
    let subject = Subject { property_id: Some(state.property_id), booking_id: Some(booking_id), ..Subject::default() };
    audit::record(&mut *conn, actor, action, subject, details).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booking_refs_are_path_safe() {
        assert_eq!(BookingRef::parse(" BK-10234 ").unwrap().as_str(), "BK-10234");
        assert!(BookingRef::parse("").is_err());
        assert!(BookingRef::parse("BK 1").is_err());
        assert!(BookingRef::parse("a/b").is_err());
        assert!(BookingRef::parse(&"x".repeat(65)).is_err());
    }
}
