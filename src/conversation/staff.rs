//! Running staff commands: who is asking, on which of their properties,
//! and the core call each command makes. Listings mask codes; only
//! `/code … show`, `/issue`, `/master` and `/mycode` show one in full, and
//! that is audited.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::commands::{self, Command, Day};
use crate::access::audit::{self, Actor, Subject};
use crate::access::codes::mask;
use crate::access::lifecycle::{self, ManualCode};
use crate::access::links::{self, ContactKind, LinkedBy};
use crate::access::model::{CodeKind, Role};
use crate::access::phone::Phone;
use crate::access::stay::local_instant;
use crate::access::timezone::Timezone;
use crate::access::AccessError;
use crate::channels::{Channel, InboundMessage};
use crate::context::JobContext;
use crate::devices::observe::observe_device_codes;
use crate::devices::RemoveDeviceCode;
use crate::jobs::JobError;

/// How far ahead `/issue` may start a code.
const ISSUE_AHEAD: Duration = Duration::days(30);
/// How long a `/confirm` token works.
const CONFIRM_WITHIN: Duration = Duration::minutes(5);

/// A staff member writing.
#[derive(Debug, Clone)]
pub struct StaffMember {
    /// Identifier.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The highest role they hold anywhere (`admin`: every property).
    pub role: Role,
    /// Their role at each property they may act on (review M4).
    pub roles: Vec<(Uuid, Role)>,
    /// The properties the command at hand may act on: those where their
    /// role is at least the command's (see [`StaffMember::scoped_to`]).
    pub property_ids: Vec<Uuid>,
}

impl StaffMember {
    /// Their role at a property, if they work there.
    pub fn role_at(&self, property_id: Uuid) -> Option<Role> {
        self.roles.iter().find(|(p, _)| *p == property_id).map(|(_, r)| *r)
    }

    /// The same person acting only where they hold at least `least`.
    pub fn scoped_to(&self, least: Role) -> Self {
        let property_ids =
            self.roles.iter().filter(|(_, role)| commands::at_least(*role, least)).map(|(p, _)| *p).collect();
        Self { property_ids, ..self.clone() }
    }
}

/// The active staff member behind a message, if any: by WhatsApp (or
/// console) number, or Telegram user id, with their role at each property.
pub async fn identify(tx: &mut PgConnection, message: &InboundMessage) -> sqlx::Result<Option<StaffMember>> {
    let (phone, telegram) = match message.channel {
        Channel::Telegram => (None, message.user_id.as_deref().and_then(|u| u.parse::<i64>().ok())),
        _ => (crate::channels::inbox::sender_phone(message).map(|p| p.as_str().to_owned()), None),
    };
    if phone.is_none() && telegram.is_none() {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"SELECT s.id, s.name, s.role = 'admin' AS "admin!" FROM staff s
           WHERE s.active AND (s.phone = $1 OR s.telegram_user_id = $2)"#,
        phone,
        telegram
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let roles: Vec<(Uuid, Role)> = if row.admin {
        sqlx::query_scalar!("SELECT id FROM properties")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|p| (p, Role::Admin))
            .collect()
    } else {
        sqlx::query!(r#"SELECT property_id, role AS "role: Role" FROM staff_properties WHERE staff_id = $1"#, row.id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| (r.property_id, r.role))
            .collect()
    };
    let role = match row.admin {
        true => Role::Admin,
        false => roles.iter().map(|(_, r)| *r).max_by_key(|r| commands::rank(*r)).unwrap_or(Role::Staff),
    };
    let property_ids = roles.iter().map(|(p, _)| *p).collect();
    Ok(Some(StaffMember { id: row.id, name: row.name, role, roles, property_ids }))
}

/// What a confirmation will do.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum Pending {
    Revoke { booking_id: Uuid, room: String },
    Regen { booking_id: Uuid, room: String },
    Purge { orphans: Vec<(Uuid, String)>, room: String },
}

/// Whether a command calls the lock providers (and so runs as a job of its
/// own, outside the inbound transaction).
pub fn asks_the_locks(text: &str) -> bool {
    matches!(commands::parse(text), Ok(Command::Status { .. } | Command::Audit { .. }))
}

/// `StaffCommand`: runs a command that asks the locks, then queues its reply.
pub async fn run_deferred(ctx: &JobContext, update_id: i64) -> Result<(), JobError> {
    let payload = sqlx::query_scalar!("SELECT payload FROM inbound_updates WHERE id = $1", update_id)
        .fetch_optional(&ctx.db)
        .await?
        .ok_or_else(|| JobError::permanent(format!("no inbound update {update_id}")))?;
    let Ok(crate::channels::InboundEvent::Message(message)) = serde_json::from_value(payload) else {
        return Err(JobError::permanent(format!("inbound update {update_id} is not a message")));
    };
    let Some(text) = message.content.text() else {
        return Ok(());
    };
    let mut tx = ctx.db.begin().await?;
    let Some(member) = identify(&mut tx, &message).await? else {
        return Ok(());
    };
    let answer = run(ctx, &mut tx, &member, text).await?;
    let mut outgoing = super::staff_reply(&message, answer);
    outgoing.dedupe_key = Some(format!("staff_command:{update_id}"));
    crate::channels::outbox::enqueue(&mut tx, &outgoing).await?;
    tx.commit().await?;
    Ok(())
}

/// The reply to a staff member's command.
pub async fn run(ctx: &JobContext, tx: &mut PgConnection, staff: &StaffMember, text: &str) -> Result<String, JobError> {
    let command = match commands::parse(text) {
        Ok(command) => command,
        Err(unreadable) => return Ok(unreadable.reply()),
    };
    let name = text.trim().trim_start_matches('/').split_whitespace().next().unwrap_or_default().to_lowercase();
    let name = name.split('@').next().unwrap_or_default();
    // Every command acts only where the sender holds its least role.
    let scoped;
    let staff = match commands::spec(name) {
        Some(spec) => {
            scoped = staff.scoped_to(spec.role);
            if !commands::allowed(staff.role, spec) || (spec.role != Role::Staff && scoped.property_ids.is_empty()) {
                return Ok(format!("{} needs the {} role; you are {}.", spec.usage, spec.role, staff.role));
            }
            &scoped
        }
        None => staff,
    };
    match perform_command(ctx, tx, staff, command).await {
        Ok(reply) | Err(CommandError::Reply(reply)) => Ok(reply),
        Err(CommandError::Job(e)) => Err(e),
    }
}

/// Each command: one call.
async fn perform_command(
    ctx: &JobContext,
    tx: &mut PgConnection,
    staff: &StaffMember,
    command: Command,
) -> Result<String, CommandError> {
    Ok(match command {
        Command::Help => commands::help(staff.role),
        Command::Codes { room } => codes(tx, staff, &room).await?,
        Command::CodeShow { room } => show(tx, staff, &room).await?,
        Command::Revoke { room } => revoke(tx, staff, &room).await?,
        Command::Regen { room } => regen(tx, staff, &room).await?,
        Command::Issue { room, date, from, until, label } => issue(tx, staff, &room, date, from, until, &label).await?,
        Command::Master { room } => master(tx, staff, &room).await?,
        Command::Booking { reference } => booking(tx, staff, &reference).await?,
        Command::Arrivals { day } => arrivals(tx, staff, day).await?,
        Command::Status { room } => status(ctx, tx, staff, &room).await?,
        Command::Audit { room } => orphans(ctx, tx, staff, &room).await?,
        Command::Link { reference, phone } => link(tx, staff, &reference, &phone).await?,
        Command::MyCode { property } => my_code(tx, staff, &property).await?,
        Command::Resolve { room } => resolve(tx, staff, room.as_deref()).await?,
        Command::Confirm { token } => confirm(ctx, tx, staff, &token).await?,
        Command::Cancel => cancel(tx, staff).await?,
    })
}

/// `/issue room date from-until label`: a standalone code for that window
/// (past midnight: until the next day).
async fn issue(
    tx: &mut PgConnection,
    staff: &StaffMember,
    room: &str,
    date: chrono::NaiveDate,
    from: chrono::NaiveTime,
    until: chrono::NaiveTime,
    label: &str,
) -> Result<String, CommandError> {
    let target = find_room(tx, staff, room).await?;
    let tz = target.timezone.tz();
    let valid_from = local_instant(tz, date.and_time(from));
    let mut valid_until = local_instant(tz, date.and_time(until));
    if valid_until <= valid_from {
        // Past midnight: the next day's time (none after the last date
        // chrono knows, which the window check then refuses).
        if let Some(next_day) = date.checked_add_days(chrono::Days::new(1)) {
            valid_until = local_instant(tz, next_day.and_time(until));
        }
    }
    if valid_from > Utc::now() + ISSUE_AHEAD {
        // A code for a far-off day outlives oversight (review M3).
        return Ok(format!("Codes can be issued up to {} days ahead.", ISSUE_AHEAD.num_days()));
    }
    let manual = ManualCode {
        kind: CodeKind::Standalone,
        booking_ref: None,
        staff_id: None,
        valid_from: Some(valid_from),
        valid_until: Some(valid_until),
        label: Some(label.to_owned()),
    };
    create_codes(tx, staff, &target, &manual, &format!("{label}, {date} {from}–{until}"), true).await
}

/// `/master room`: a persistent master code on the room's locks.
async fn master(tx: &mut PgConnection, staff: &StaffMember, room: &str) -> Result<String, CommandError> {
    let target = find_room(tx, staff, room).await?;
    let manual = ManualCode {
        kind: CodeKind::Master,
        booking_ref: None,
        staff_id: None,
        valid_from: None,
        valid_until: None,
        label: Some(format!("master by {}", staff.name)),
    };
    create_codes(tx, staff, &target, &manual, "master", false).await
}

/// `/cancel`: drops the sender's open confirmation.
async fn cancel(tx: &mut PgConnection, staff: &StaffMember) -> Result<String, CommandError> {
    let dropped = sqlx::query!(
        "UPDATE confirmations SET used_at = now() WHERE staff_id = $1 AND used_at IS NULL AND expires_at > now()",
        staff.id
    )
    .execute(&mut *tx)
    .await?;
    Ok(if dropped.rows_affected() == 0 { "Nothing to cancel." } else { "Cancelled." }.to_owned())
}

/// A command stops early with a reply (an unknown room, say), or fails.
enum CommandError {
    Reply(String),
    Job(JobError),
}

impl From<JobError> for CommandError {
    fn from(e: JobError) -> Self {
        Self::Job(e)
    }
}

impl From<sqlx::Error> for CommandError {
    fn from(e: sqlx::Error) -> Self {
        Self::Job(e.into())
    }
}

impl From<AccessError> for CommandError {
    fn from(e: AccessError) -> Self {
        Self::Job(e.into())
    }
}

/// A room of one of the staff member's properties.
struct RoomTarget {
    room_id: Uuid,
    room: String,
    property_id: Uuid,
    property: String,
    timezone: Timezone,
}

async fn find_room(tx: &mut PgConnection, staff: &StaffMember, room: &str) -> Result<RoomTarget, CommandError> {
    let rows = sqlx::query!(
        r#"SELECT r.id, r.name, p.id AS property_id, p.name AS property, p.timezone AS "timezone: Timezone"
           FROM rooms r JOIN properties p ON p.id = r.property_id
           WHERE lower(r.name) = lower($1) AND r.property_id = ANY($2)
           ORDER BY p.name"#,
        room,
        &staff.property_ids
    )
    .fetch_all(&mut *tx)
    .await?;
    match rows.as_slice() {
        [] => Err(CommandError::Reply(format!("No room {room} in your properties."))),
        [r] => Ok(RoomTarget {
            room_id: r.id,
            room: r.name.clone(),
            property_id: r.property_id,
            property: r.property.clone(),
            timezone: r.timezone,
        }),
        many => Err(CommandError::Reply(format!(
            "Room {room} exists in {}; ask the admin to rename one of them.",
            many.iter().map(|r| r.property.as_str()).collect::<Vec<_>>().join(" and ")
        ))),
    }
}

/// The stay of a room now, else the next one.
struct Stay {
    booking_id: Uuid,
    reference: String,
    guest: String,
    check_in_at: DateTime<Utc>,
    check_out_at: DateTime<Utc>,
    release_hours: i32,
}

impl Stay {
    /// The guest may have the code already (review L4): a revocation now
    /// leaves them at the door, so it is confirmed like one in the stay.
    fn released(&self) -> bool {
        Utc::now() >= crate::access::release::release_time(self.check_in_at, self.release_hours)
    }
}

async fn current_stay(tx: &mut PgConnection, room_id: Uuid) -> sqlx::Result<Option<Stay>> {
    sqlx::query_as!(
        Stay,
        r#"SELECT b.id AS booking_id, b.external_ref AS reference, g.name AS guest, b.check_in_at, b.check_out_at,
               p.code_release_hours AS release_hours
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN properties p ON p.id = b.property_id
           WHERE b.room_id = $1 AND b.check_out_at > now()
             AND (b.status = 'confirmed' OR EXISTS (
                 SELECT 1 FROM access_codes c WHERE c.booking_id = b.id AND c.state NOT IN ('removing', 'removed')))
           ORDER BY b.check_in_at LIMIT 1"#,
        room_id
    )
    .fetch_optional(&mut *tx)
    .await
}

async fn codes(tx: &mut PgConnection, staff: &StaffMember, room: &str) -> Result<String, CommandError> {
    let target = find_room(tx, staff, room).await?;
    let rows = sqlx::query!(
        r#"SELECT l.name AS lock, c.code, c.kind AS "kind: CodeKind", c.staff_id, c.state, c.valid_until,
               b.external_ref AS "booking?", c.label
           FROM access_codes c JOIN locks l ON l.id = c.lock_id LEFT JOIN bookings b ON b.id = c.booking_id
           WHERE l.room_id = $1 AND c.state NOT IN ('removed')
           ORDER BY l.name, c.valid_from"#,
        target.room_id
    )
    .fetch_all(&mut *tx)
    .await?;
    // The `staff` role sees guest and standalone codes and their own; backup
    // and master codes and colleagues' persistent codes never (review M1).
    let manager = staff.role_at(target.property_id).is_some_and(|r| commands::at_least(r, Role::Manager));
    let visible = |kind: CodeKind, owner: Option<Uuid>| match kind {
        CodeKind::Guest | CodeKind::Standalone => true,
        CodeKind::Staff => manager || owner == Some(staff.id),
        CodeKind::Master | CodeKind::Backup => manager,
    };
    let (shown, hidden): (Vec<_>, Vec<_>) = rows.iter().partition(|r| visible(r.kind, r.staff_id));
    if shown.is_empty() && hidden.is_empty() {
        return Ok(format!("Room {}: no live codes.", target.room));
    }
    let tz = target.timezone.tz();
    let mut lines: Vec<String> = shown
        .iter()
        .map(|r| {
            let until = r
                .valid_until
                .map_or("no end".to_owned(), |u| format!("until {}", u.with_timezone(&tz).format("%a %-d %b %H:%M")));
            let whose = r.booking.clone().or(r.label.clone()).unwrap_or_default();
            format!("{}: {} {} {} {} {until}", r.lock, mask(&r.code), r.kind, whose, r.state)
        })
        .collect();
    if !hidden.is_empty() {
        lines.push(format!("and {} more code(s) that only managers see", hidden.len()));
    }
    Ok(format!("Room {} ({}):\n{}", target.room, target.property, lines.join("\n")))
}

async fn show(tx: &mut PgConnection, staff: &StaffMember, room: &str) -> Result<String, CommandError> {
    let target = find_room(tx, staff, room).await?;
    let Some(stay) = current_stay(tx, target.room_id).await? else {
        return Ok(format!("Room {}: no current or upcoming stay.", target.room));
    };
    let rows = sqlx::query!(
        "SELECT c.id, l.name AS lock, c.code, c.state FROM access_codes c JOIN locks l ON l.id = c.lock_id
         WHERE c.booking_id = $1 AND c.kind = 'guest' AND c.state NOT IN ('removing', 'removed') ORDER BY l.name",
        stay.booking_id
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in &rows {
        let subject = Subject {
            property_id: Some(target.property_id),
            code_id: Some(row.id),
            booking_id: Some(stay.booking_id),
            ..Default::default()
        };
        audit::record(&mut *tx, Actor::Staff(staff.id), "code.revealed", subject, json!({ "to": "staff" })).await?;
    }
    let lines: Vec<String> = rows.iter().map(|r| format!("{}: `{}` ({})", r.lock, r.code, r.state)).collect();
    Ok(format!("{} ({}), room {}:\n{}", stay.guest, stay.reference, target.room, lines.join("\n")))
}

async fn revoke(tx: &mut PgConnection, staff: &StaffMember, room: &str) -> Result<String, CommandError> {
    let target = find_room(tx, staff, room).await?;
    let Some(stay) = current_stay(tx, target.room_id).await? else {
        return Ok(format!("Room {}: no current or upcoming stay to revoke.", target.room));
    };
    let pending = Pending::Revoke { booking_id: stay.booking_id, room: target.room.clone() };
    if stay.released() {
        let summary = format!(
            "This revokes the codes of {} in room {}, whose stay runs until {}; they may have the code already.",
            stay.guest.split_whitespace().next().unwrap_or_default(),
            target.room,
            stay.check_out_at.with_timezone(&target.timezone.tz()).format("%a %-d %b %H:%M")
        );
        return ask_confirmation(tx, staff, &pending, &summary).await;
    }
    perform(tx, staff, &pending, None).await
}

async fn regen(tx: &mut PgConnection, staff: &StaffMember, room: &str) -> Result<String, CommandError> {
    let target = find_room(tx, staff, room).await?;
    let Some(stay) = current_stay(tx, target.room_id).await? else {
        return Ok(format!("Room {}: no current or upcoming stay.", target.room));
    };
    let summary = format!(
        "This replaces the code of {} in room {} (stay until {}) and sends the new one.",
        stay.guest.split_whitespace().next().unwrap_or_default(),
        target.room,
        stay.check_out_at.with_timezone(&target.timezone.tz()).format("%a %-d %b %H:%M")
    );
    ask_confirmation(tx, staff, &Pending::Regen { booking_id: stay.booking_id, room: target.room }, &summary).await
}

async fn ask_confirmation(
    tx: &mut PgConnection,
    staff: &StaffMember,
    pending: &Pending,
    summary: &str,
) -> Result<String, CommandError> {
    let mut bytes = [0u8; 3];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sqlx::query!(
        "INSERT INTO confirmations (token_hash, staff_id, action, summary, expires_at) VALUES ($1, $2, $3, $4, $5)",
        hash(&token),
        staff.id,
        serde_json::to_value(pending).expect("actions serialize"),
        summary,
        Utc::now() + CONFIRM_WITHIN,
    )
    .execute(&mut *tx)
    .await?;
    Ok(format!("{summary}\nReply /confirm {token} within {} minutes, or /cancel.", CONFIRM_WITHIN.num_minutes()))
}

async fn confirm(
    ctx: &JobContext,
    tx: &mut PgConnection,
    staff: &StaffMember,
    token: &str,
) -> Result<String, CommandError> {
    let row = sqlx::query!(
        "UPDATE confirmations SET used_at = now()
         WHERE token_hash = $1 AND staff_id = $2 AND used_at IS NULL AND expires_at > now()
         RETURNING action",
        hash(token),
        staff.id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok("That confirmation is unknown, used or expired.".to_owned());
    };
    let pending: Pending = serde_json::from_value(row.action).map_err(|e| JobError::permanent(e.to_string()))?;
    perform(tx, staff, &pending, Some(ctx)).await
}

async fn perform(
    tx: &mut PgConnection,
    staff: &StaffMember,
    pending: &Pending,
    ctx: Option<&JobContext>,
) -> Result<String, CommandError> {
    let actor = Actor::Staff(staff.id);
    let (booking_id, room, reason) = match pending {
        Pending::Revoke { booking_id, room } => (*booking_id, room, "revoked by staff"),
        Pending::Regen { booking_id, room } => (*booking_id, room, "replaced by staff"),
        Pending::Purge { orphans, room } => {
            for (lock_id, provider_ref) in orphans {
                let job = RemoveDeviceCode { lock_id: *lock_id, provider_ref: provider_ref.clone() };
                crate::jobs::queue::enqueue(tx, &job, Utc::now()).await?;
                let subject = Subject { lock_id: Some(*lock_id), ..Default::default() };
                let details = json!({ "provider_ref": provider_ref });
                audit::record(&mut *tx, actor, "lock.orphan_purge_requested", subject, details).await?;
            }
            return Ok(format!("Removing {} unknown code(s) from room {room}'s locks.", orphans.len()));
        }
    };
    let live = sqlx::query_scalar!(
        "SELECT id FROM access_codes WHERE booking_id = $1 AND kind = 'guest' AND state NOT IN ('removing', 'removed')",
        booking_id
    )
    .fetch_all(&mut *tx)
    .await?;
    for code_id in &live {
        lifecycle::revoke_code(&mut *tx, *code_id, reason, true, actor, Utc::now()).await?;
    }
    if let Pending::Revoke { .. } = pending {
        return Ok(format!("Revoked {} code(s) of room {room}; they leave the locks shortly.", live.len()));
    }
    crate::access::bookings::clear_revocation(&mut *tx, booking_id).await?;
    lifecycle::sync_booking_codes(&mut *tx, booking_id, actor, Utc::now()).await?;
    if let Some(ctx) = ctx {
        super::deliver_codes(ctx, tx, booking_id, &format!("regen:{}", Uuid::new_v4().simple())).await?;
    }
    Ok(format!("Room {room}: new code issued and sent to the guest; the old one is being removed."))
}

async fn create_codes(
    tx: &mut PgConnection,
    staff: &StaffMember,
    target: &RoomTarget,
    manual: &ManualCode,
    what: &str,
    with_entrances: bool,
) -> Result<String, CommandError> {
    let locks = sqlx::query!(
        "SELECT id, name FROM locks WHERE property_id = $1 AND status = 'active' AND (room_id = $2 OR ($3 AND room_id IS NULL))
         ORDER BY room_id IS NOT NULL, name",
        target.property_id,
        target.room_id,
        with_entrances
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut lines = Vec::new();
    for lock in locks {
        let code_id =
            match lifecycle::create_manual_code(&mut *tx, lock.id, manual, Actor::Staff(staff.id), Utc::now()).await {
                Ok(id) => id,
                Err(e @ (AccessError::LockFull { .. } | AccessError::Conflict(_) | AccessError::Invalid(_))) => {
                    lines.push(format!("{}: {e}", lock.name));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
        let value =
            sqlx::query_scalar!("SELECT code FROM access_codes WHERE id = $1", code_id).fetch_one(&mut *tx).await?;
        lines.push(format!("{}: `{value}`", lock.name));
    }
    Ok(format!("Room {} ({what}):\n{}", target.room, lines.join("\n")))
}

async fn booking(tx: &mut PgConnection, staff: &StaffMember, reference: &str) -> Result<String, CommandError> {
    let row = sqlx::query!(
        r#"SELECT b.id, b.status, b.check_in_at, b.check_out_at, g.name AS guest, r.name AS room, p.timezone AS "timezone: Timezone"
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id JOIN properties p ON p.id = b.property_id
           WHERE b.external_ref = $1 AND b.property_id = ANY($2)"#,
        reference,
        &staff.property_ids
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(b) = row else {
        return Ok(format!("No booking {reference} in your properties."));
    };
    let tz = b.timezone.tz();
    let codes = sqlx::query!(
        "SELECT l.name AS lock, c.code, c.state FROM access_codes c JOIN locks l ON l.id = c.lock_id WHERE c.booking_id = $1 ORDER BY c.created_at",
        b.id
    )
    .fetch_all(&mut *tx)
    .await?;
    let messages = sqlx::query!(
        "SELECT channel, template, status FROM notifications WHERE booking_id = $1 ORDER BY created_at",
        b.id
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut lines = vec![format!(
        "{reference}: {} in room {}, {} – {}, {}",
        b.guest,
        b.room,
        b.check_in_at.with_timezone(&tz).format("%a %-d %b %H:%M"),
        b.check_out_at.with_timezone(&tz).format("%a %-d %b %H:%M"),
        b.status
    )];
    lines.extend(codes.iter().map(|c| format!("code {}: {} {}", c.lock, mask(&c.code), c.state)));
    lines.extend(messages.iter().map(|m| format!("message {} on {}: {}", m.template, m.channel, m.status)));
    Ok(lines.join("\n"))
}

async fn arrivals(tx: &mut PgConnection, staff: &StaffMember, day: Day) -> Result<String, CommandError> {
    let rows = sqlx::query!(
        r#"SELECT b.id, b.external_ref, g.name AS guest, r.name AS room, b.check_in_at, p.timezone AS "timezone: Timezone",
               b.arrived_at,
               (SELECT string_agg(DISTINCT c.state, '/') FROM access_codes c WHERE c.booking_id = b.id AND c.kind = 'guest'
                  AND c.state <> 'removed') AS codes,
               (SELECT string_agg(n.channel || ' ' || n.status, ', ') FROM notifications n
                  WHERE n.booking_id = b.id AND n.template = 'pre_arrival') AS pre_arrival
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id JOIN properties p ON p.id = b.property_id
           WHERE b.property_id = ANY($1) AND b.status = 'confirmed'
             AND b.check_in_at BETWEEN now() - interval '2 days' AND now() + interval '400 days'
           ORDER BY b.check_in_at"#,
        &staff.property_ids
    )
    .fetch_all(&mut *tx)
    .await?;
    let lines: Vec<String> = rows
        .iter()
        .filter(|r| {
            let today = Utc::now().with_timezone(&r.timezone.tz()).date_naive();
            let wanted = match day {
                Day::Today => today,
                Day::Tomorrow => today + chrono::Days::new(1),
                Day::Date(date) => date,
            };
            r.check_in_at.with_timezone(&r.timezone.tz()).date_naive() == wanted
        })
        .map(|r| {
            let arrived = r.arrived_at.map_or(String::new(), |at| {
                format!(", arrived {}", at.with_timezone(&r.timezone.tz()).format("%H:%M"))
            });
            format!(
                "{} {} room {} {}: codes {}, pre-arrival {}{arrived}",
                r.check_in_at.with_timezone(&r.timezone.tz()).format("%H:%M"),
                r.guest,
                r.room,
                r.external_ref,
                r.codes.clone().unwrap_or_else(|| "none".into()),
                r.pre_arrival.clone().unwrap_or_else(|| "not sent yet".into())
            )
        })
        .collect();
    if lines.is_empty() {
        return Ok("No arrivals.".to_owned());
    }
    Ok(format!("Arrivals:\n{}", lines.join("\n")))
}

async fn status(
    ctx: &JobContext,
    tx: &mut PgConnection,
    staff: &StaffMember,
    room: &str,
) -> Result<String, CommandError> {
    let target = find_room(tx, staff, room).await?;
    let locks = sqlx::query!(
        r#"SELECT id, name, provider AS "provider: crate::access::model::ProviderKind", provider_device_id FROM locks WHERE room_id = $1 ORDER BY name"#,
        target.room_id
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut lines = Vec::new();
    for lock in locks {
        let state = match crate::devices::locks::refresh_status(&ctx.db, &ctx.providers, lock.id).await {
            Ok(s) => {
                let mut state = format!(
                    "{}, battery {}{}",
                    if s.online { "online" } else { "OFFLINE" },
                    s.battery_percent.map_or("unknown".into(), |b| format!("{b} %")),
                    if s.battery_low { " (LOW)" } else { "" }
                );
                if s.keypad_battery_low == Some(true) {
                    state.push_str(", keypad battery LOW");
                }
                state
            }
            Err(e) => format!("unreachable ({e})"),
        };
        let on_lock = match observe_device_codes(&ctx.db, &ctx.providers, lock.id).await {
            Ok(codes) => {
                let orphans = codes.iter().filter(|c| !c.managed).count();
                match orphans {
                    0 => format!("{} code(s) on the lock", codes.len()),
                    n => format!("{} code(s) on the lock, {n} not set by doorman (/audit)", codes.len()),
                }
            }
            Err(e) => format!("codes unknown ({e})"),
        };
        lines.push(format!("{}: {state}; {on_lock}", lock.name));
    }
    Ok(format!("Room {}:\n{}", target.room, lines.join("\n")))
}

async fn orphans(
    ctx: &JobContext,
    tx: &mut PgConnection,
    staff: &StaffMember,
    room: &str,
) -> Result<String, CommandError> {
    let target = find_room(tx, staff, room).await?;
    let locks = sqlx::query!("SELECT id, name FROM locks WHERE room_id = $1 ORDER BY name", target.room_id)
        .fetch_all(&mut *tx)
        .await?;
    let mut lines = Vec::new();
    let mut orphans = Vec::new();
    for lock in locks {
        match observe_device_codes(&ctx.db, &ctx.providers, lock.id).await {
            Ok(codes) => {
                for code in codes.iter().filter(|c| !c.managed) {
                    let value = code.code.as_deref().map_or("••••".into(), mask);
                    lines.push(format!("{}: {value} \"{}\" (not set by doorman)", lock.name, code.name));
                    orphans.push((lock.id, code.provider_ref.clone()));
                }
            }
            Err(e) => lines.push(format!("{}: could not read the lock ({e})", lock.name)),
        }
    }
    if orphans.is_empty() {
        let mut reply = format!("Room {}: no codes on the locks that doorman does not know.", target.room);
        for line in &lines {
            reply.push_str(&format!("\n{line}"));
        }
        return Ok(reply);
    }
    let listing =
        format!("Room {}, codes doorman did not set (never removed automatically):\n{}", target.room, lines.join("\n"));
    let summary = format!("{listing}\nTo remove them from the locks:");
    ask_confirmation(tx, staff, &Pending::Purge { orphans, room: target.room.clone() }, &summary).await
}

async fn link(
    tx: &mut PgConnection,
    staff: &StaffMember,
    reference: &str,
    phone: &str,
) -> Result<String, CommandError> {
    let Ok(phone) = Phone::parse(phone) else {
        return Ok(commands::Unreadable(commands::spec("link")).reply());
    };
    let booking = sqlx::query!(
        "SELECT id FROM bookings WHERE external_ref = $1 AND property_id = ANY($2) AND check_out_at > now()",
        reference,
        &staff.property_ids
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(booking) = booking else {
        return Ok(format!("No current or upcoming booking {reference} in your properties."));
    };
    let linked_by = LinkedBy::Staff(staff.id);
    links::link_contact(&mut *tx, booking.id, ContactKind::Phone, phone.as_str(), linked_by).await?;
    let mut reply = format!("{} is now linked to {reference} until its check-out.", phone.masked());
    if links::is_another_guests_phone(&mut *tx, &phone, booking.id).await? {
        reply.push_str(
            " It is also a guest's own number on another booking: it gets answers about whichever stay is current.",
        );
    }
    Ok(reply)
}

async fn my_code(tx: &mut PgConnection, staff: &StaffMember, property: &str) -> Result<String, CommandError> {
    let found = sqlx::query!(
        "SELECT id, name FROM properties WHERE lower(name) = lower($1) AND id = ANY($2)",
        property.trim(),
        &staff.property_ids
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(found) = found else {
        return Ok(format!("No property \"{property}\" among yours."));
    };
    let locks = sqlx::query!(
        "SELECT id, name FROM locks WHERE property_id = $1 AND status = 'active' ORDER BY room_id IS NOT NULL, name",
        found.id
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut lines = Vec::new();
    for lock in locks {
        let existing = sqlx::query_scalar!(
            "SELECT code FROM access_codes WHERE lock_id = $1 AND staff_id = $2 AND kind = 'staff' AND state NOT IN ('removing', 'removed', 'failed')",
            lock.id,
            staff.id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let value = match existing {
            Some(value) => value,
            None => {
                let manual = ManualCode {
                    kind: CodeKind::Staff,
                    booking_ref: None,
                    staff_id: Some(staff.id),
                    valid_from: None,
                    valid_until: None,
                    label: Some(staff.name.clone()),
                };
                match lifecycle::create_manual_code(&mut *tx, lock.id, &manual, Actor::Staff(staff.id), Utc::now())
                    .await
                {
                    Ok(id) => {
                        sqlx::query_scalar!("SELECT code FROM access_codes WHERE id = $1", id)
                            .fetch_one(&mut *tx)
                            .await?
                    }
                    Err(e @ (AccessError::LockFull { .. } | AccessError::Conflict(_))) => {
                        lines.push(format!("{}: {e}", lock.name));
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        lines.push(format!("{}: `{value}`", lock.name));
    }
    Ok(format!("Your codes at {}:\n{}", found.name, lines.join("\n")))
}

/// Ends a guest hand-off: the only one open in the sender's properties, or
/// the one of the named room when several are (never someone else's by
/// accident).
async fn resolve(tx: &mut PgConnection, staff: &StaffMember, room: Option<&str>) -> Result<String, CommandError> {
    let open = sqlx::query!(
        r#"SELECT h.id, g.name AS "guest?", r.name AS "room?" FROM handoffs h
           LEFT JOIN guests g ON g.id = h.guest_id
           LEFT JOIN LATERAL (SELECT b.room_id FROM bookings b WHERE b.guest_id = h.guest_id AND b.property_id = h.property_id
                              ORDER BY (b.check_out_at > now()) DESC, b.check_in_at LIMIT 1) stay ON true
           LEFT JOIN rooms r ON r.id = stay.room_id
           WHERE h.resolved_at IS NULL AND h.expires_at > now() AND h.property_id = ANY($1)
           ORDER BY h.opened_at DESC"#,
        &staff.property_ids
    )
    .fetch_all(&mut *tx)
    .await?;
    let chosen: Vec<_> = match room {
        Some(room) => open.iter().filter(|h| h.room.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(room))).collect(),
        None => open.iter().collect(),
    };
    let handoff = match chosen.as_slice() {
        [] => return Ok("No open hand-off.".to_owned()),
        [one] => one,
        many => {
            let list: Vec<String> = many
                .iter()
                .map(|h| {
                    format!("{} (room {})", h.guest.as_deref().unwrap_or("a guest"), h.room.as_deref().unwrap_or("?"))
                })
                .collect();
            return Ok(format!("Several hand-offs are open: {}. Say which: /resolve 101", list.join(", ")));
        }
    };
    sqlx::query!(
        "UPDATE handoffs SET resolved_at = now(), resolved_by = $2 WHERE id = $1 AND resolved_at IS NULL",
        handoff.id,
        Actor::Staff(staff.id).to_db()
    )
    .execute(&mut *tx)
    .await?;
    let guest = handoff.guest.clone().unwrap_or_else(|| "the guest".into());
    Ok(format!("Resolved: automatic replies to {guest} are back on."))
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().to_lowercase().as_bytes()))
}
