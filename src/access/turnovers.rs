//! Turnovers (SPEC §11): between two stays of a room, the property's
//! cleaner gets a code of kind `staff` on the room's locks and the
//! entrances, valid from the first stay's check-out (plus the property's
//! after buffer; from the moment their access ends when the guest left
//! early) to the next stay's check-in (less the before buffer), or for the
//! property's `cleaning_window_minutes` when no stay follows.
//!
//! A room's turnovers are planned again whenever one of its stays changes
//! ([`sync_for_booking`], called from `lifecycle::sync_booking_codes`, the
//! one path every change of a booking takes: the API, feeds, channel
//! managers, `/early`, `/late`, `/checkout`). The code is drawn by the
//! `turnover` job [`TURNOVER_LEAD`] before the window opens, and the cleaner
//! is told then; a window that moves moves the code on every lock and tells
//! the cleaner again; a turnover whose stay is cancelled removes its code.
//! The code leaves the locks at the end of the window (`expire_code`).
//!
//! The cleaner: the property's active staff flagged `cleaner`, the first by
//! name (then by id) when there are several.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::{self, Actor, Subject};
use super::error::AccessResult;
use super::jobs::{ExpireCode, TurnoverDue, UpdateCode};
use super::lifecycle::{self, TurnoverCode};
use super::model::CodeState;
use super::overview::Day;
use super::timezone::Timezone;
use crate::jobs::queue;

/// How long before its window opens a turnover's code is drawn and sent to
/// the cleaner.
pub const TURNOVER_LEAD: Duration = Duration::hours(24);

/// A confirmed stay of a room, as turnovers see it.
struct RoomStay {
    id: Uuid,
    property_id: Uuid,
    check_in_at: DateTime<Utc>,
    check_out_at: DateTime<Utc>,
    departed_at: Option<DateTime<Utc>>,
    before_minutes: i32,
    after_minutes: i32,
    cleaning_minutes: i32,
}

/// A turnover as the room's stays make it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Planned {
    property_id: Uuid,
    booking_id: Uuid,
    next_booking_id: Option<Uuid>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

/// A stored turnover that has not ended.
struct Stored {
    id: Uuid,
    room_id: Uuid,
    booking_id: Uuid,
    next_booking_id: Option<Uuid>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

/// Plans again the turnovers a booking's change touches: those of its room
/// now, and of the room it was in before (a move to another room).
#[tracing::instrument(skip_all, fields(%booking_id))]
pub async fn sync_for_booking(
    conn: &mut PgConnection,
    booking_id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    let rooms = sqlx::query_scalar!(
        r#"SELECT room_id AS "room_id!" FROM bookings WHERE id = $1
           UNION SELECT room_id FROM turnovers
           WHERE state = 'planned' AND (booking_id = $1 OR next_booking_id = $1)"#,
        booking_id
    )
    .fetch_all(&mut *conn)
    .await?;
    for room_id in rooms {
        sync_room(conn, room_id, actor, now).await?;
    }
    Ok(())
}

/// The turnovers of a room's confirmed stays, from their windows.
fn plan(stays: &[RoomStay], now: DateTime<Utc>) -> Vec<Planned> {
    let mut planned = Vec::new();
    for (i, stay) in stays.iter().enumerate() {
        let next = stays[i + 1..].iter().find(|n| n.check_in_at >= stay.check_out_at);
        let starts_at = match stay.departed_at {
            Some(_) => stay.check_out_at,
            None => stay.check_out_at + Duration::minutes(i64::from(stay.after_minutes)),
        };
        let ends_at = match next {
            Some(next) => next.check_in_at - Duration::minutes(i64::from(next.before_minutes)),
            None => starts_at + Duration::minutes(i64::from(stay.cleaning_minutes)),
        };
        if ends_at <= starts_at || ends_at <= now {
            continue;
        }
        planned.push(Planned {
            property_id: stay.property_id,
            booking_id: stay.id,
            next_booking_id: next.map(|n| n.id),
            starts_at,
            ends_at,
        });
    }
    planned
}

/// Brings a room's stored turnovers in line with its stays.
async fn sync_room(conn: &mut PgConnection, room_id: Uuid, actor: Actor, now: DateTime<Utc>) -> AccessResult<()> {
    let stays = sqlx::query_as!(
        RoomStay,
        r#"SELECT b.id, b.property_id, b.check_in_at, b.check_out_at, b.departed_at,
               p.code_valid_before_minutes AS before_minutes, p.code_valid_after_minutes AS after_minutes,
               p.cleaning_window_minutes AS cleaning_minutes
           FROM bookings b JOIN properties p ON p.id = b.property_id
           WHERE b.room_id = $1 AND b.status = 'confirmed' AND b.check_out_at > $2::timestamptz - interval '2 days'
           ORDER BY b.check_in_at, b.id"#,
        room_id,
        now
    )
    .fetch_all(&mut *conn)
    .await?;
    let planned = plan(&stays, now);
    let stay_ids: Vec<Uuid> = stays.iter().map(|s| s.id).collect();
    let stored = sqlx::query_as!(
        Stored,
        "SELECT id, room_id, booking_id, next_booking_id, starts_at, ends_at FROM turnovers
         WHERE state = 'planned' AND ends_at > $3 AND (room_id = $1 OR booking_id = ANY($2))
         ORDER BY starts_at FOR UPDATE",
        room_id,
        &stay_ids,
        now
    )
    .fetch_all(&mut *conn)
    .await?;
    for old in &stored {
        match planned.iter().find(|p| p.booking_id == old.booking_id && old.room_id == room_id) {
            Some(new) => move_turnover(conn, old, new, actor, now).await?,
            None => cancel_turnover(conn, old.id, actor, "the stays around it changed").await?,
        }
    }
    for new in planned.iter().filter(|p| !stored.iter().any(|s| s.booking_id == p.booking_id && s.room_id == room_id)) {
        create_turnover(conn, room_id, new, actor, now).await?;
    }
    Ok(())
}

async fn create_turnover(
    conn: &mut PgConnection,
    room_id: Uuid,
    new: &Planned,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    let id = sqlx::query_scalar!(
        "INSERT INTO turnovers (property_id, room_id, booking_id, next_booking_id, starts_at, ends_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        new.property_id,
        room_id,
        new.booking_id,
        new.next_booking_id,
        new.starts_at,
        new.ends_at
    )
    .fetch_one(&mut *conn)
    .await?;
    let subject =
        Subject { property_id: Some(new.property_id), booking_id: Some(new.booking_id), ..Default::default() };
    let details = json!({ "turnover_id": id, "from": new.starts_at, "until": new.ends_at });
    audit::record(&mut *conn, actor, "turnover.planned", subject, details).await?;
    queue::enqueue(conn, &TurnoverDue { turnover_id: id }, (new.starts_at - TURNOVER_LEAD).max(now)).await?;
    Ok(())
}

/// A turnover whose stays moved: its window, and its codes' on every lock.
async fn move_turnover(
    conn: &mut PgConnection,
    old: &Stored,
    new: &Planned,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    if (old.next_booking_id, old.starts_at, old.ends_at) == (new.next_booking_id, new.starts_at, new.ends_at) {
        return Ok(());
    }
    sqlx::query!(
        "UPDATE turnovers SET next_booking_id = $2, starts_at = $3, ends_at = $4, updated_at = now() WHERE id = $1",
        old.id,
        new.next_booking_id,
        new.starts_at,
        new.ends_at
    )
    .execute(&mut *conn)
    .await?;
    let subject =
        Subject { property_id: Some(new.property_id), booking_id: Some(new.booking_id), ..Default::default() };
    let details =
        json!({ "turnover_id": old.id, "from": [old.starts_at, old.ends_at], "to": [new.starts_at, new.ends_at] });
    audit::record(&mut *conn, actor, "turnover.moved", subject, details).await?;
    let moved = move_codes(conn, old.id, new.starts_at, new.ends_at, actor).await?;
    // With a code, the cleaner is told the new window now; without one, the
    // code is drawn (and the cleaner told) the lead before the new start.
    let run_at = if moved > 0 { now } else { (new.starts_at - TURNOVER_LEAD).max(now) };
    queue::enqueue(conn, &TurnoverDue { turnover_id: old.id }, run_at).await?;
    Ok(())
}

/// Moves the window of a turnover's live codes; returns how many it has.
async fn move_codes(
    conn: &mut PgConnection,
    turnover_id: Uuid,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    actor: Actor,
) -> AccessResult<usize> {
    let codes = sqlx::query!(
        r#"UPDATE access_codes SET valid_from = $2, valid_until = $3, updated_at = now()
           WHERE turnover_id = $1 AND state = ANY($4)
           RETURNING id, lock_id, state AS "state: CodeState""#,
        turnover_id,
        from,
        until,
        CodeState::LIVE as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    for code in &codes {
        let subject = Subject { lock_id: Some(code.lock_id), code_id: Some(code.id), ..Default::default() };
        audit::record(&mut *conn, actor, "code.window_moved", subject, json!({ "to": [from, until] })).await?;
        if matches!(code.state, CodeState::Programming | CodeState::Set) {
            queue::enqueue(conn, &UpdateCode { code_id: code.id }, Utc::now()).await?;
        }
        queue::enqueue(conn, &ExpireCode { code_id: code.id }, until).await?;
    }
    Ok(codes.len())
}

/// Cancels a turnover: its codes leave the locks, and a cleaner who was
/// told is told it is off.
async fn cancel_turnover(conn: &mut PgConnection, turnover_id: Uuid, actor: Actor, why: &str) -> AccessResult<()> {
    let row = sqlx::query!(
        "UPDATE turnovers SET state = 'cancelled', updated_at = now() WHERE id = $1 RETURNING property_id, booking_id",
        turnover_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let codes = sqlx::query_scalar!(
        "SELECT id FROM access_codes WHERE turnover_id = $1 AND state = ANY($2)",
        turnover_id,
        CodeState::LIVE as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    for code_id in &codes {
        lifecycle::begin_removal(&mut *conn, *code_id, actor, "turnover cancelled").await?;
    }
    let subject =
        Subject { property_id: Some(row.property_id), booking_id: Some(row.booking_id), ..Default::default() };
    let details = json!({ "turnover_id": turnover_id, "why": why, "codes_removing": codes.len() });
    audit::record(&mut *conn, actor, "turnover.cancelled", subject, details).await?;
    if !codes.is_empty() {
        queue::enqueue(conn, &TurnoverDue { turnover_id }, Utc::now()).await?;
    }
    Ok(())
}

/// What the cleaner is to be told about a turnover.
#[derive(Debug, Clone)]
pub struct CleanerNotice {
    /// The turnover.
    pub turnover_id: Uuid,
    /// The cleaner.
    pub staff_id: Uuid,
    /// The room's name.
    pub room: String,
    /// The property's name.
    pub property: String,
    /// Its timezone.
    pub timezone: Timezone,
    /// The window.
    pub starts_at: DateTime<Utc>,
    /// Its end.
    pub ends_at: DateTime<Utc>,
    /// The next stay's reference, if a stay follows.
    pub next_reference: Option<String>,
    /// `false`: the turnover was cancelled and its code removed.
    pub planned: bool,
    /// The code on each lock: `(lock, value)`, for the cleaner's own chat.
    pub codes: Vec<(String, String)>,
}

/// The `turnover` job: a planned turnover that has not ended gets its
/// cleaner (when it has none) and its code on every lock; the notice for
/// the cleaner is returned. `None`: nothing to tell (ended, or the property
/// has no cleaner; the turnover is listed without one).
pub async fn prepare(
    conn: &mut PgConnection,
    turnover_id: Uuid,
    now: DateTime<Utc>,
) -> AccessResult<Option<CleanerNotice>> {
    let Some(row) = sqlx::query!(
        r#"SELECT t.property_id, t.room_id, t.staff_id, t.starts_at, t.ends_at, t.state, r.name AS room,
               p.name AS property, p.timezone AS "timezone: Timezone", b.external_ref AS "next_reference?"
           FROM turnovers t JOIN rooms r ON r.id = t.room_id JOIN properties p ON p.id = t.property_id
               LEFT JOIN bookings b ON b.id = t.next_booking_id
           WHERE t.id = $1 FOR UPDATE OF t"#,
        turnover_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let planned = row.state == "planned";
    let staff_id = match (row.staff_id, planned) {
        (Some(id), _) => Some(id),
        (None, true) => assign_cleaner(conn, turnover_id, row.property_id).await?,
        (None, false) => None,
    };
    let Some(staff_id) = staff_id.filter(|_| row.ends_at > now) else {
        return Ok(None);
    };
    if planned {
        let label = format!("turnover of room {}", row.room);
        let code = TurnoverCode {
            turnover_id,
            property_id: row.property_id,
            room_id: row.room_id,
            staff_id,
            label: &label,
            valid_from: row.starts_at,
            valid_until: row.ends_at,
        };
        lifecycle::issue_turnover_codes(conn, &code, Actor::System).await?;
    }
    let codes = sqlx::query!(
        "SELECT l.name AS lock, c.code FROM access_codes c JOIN locks l ON l.id = c.lock_id
         WHERE c.turnover_id = $1 AND c.state = ANY($2) ORDER BY l.room_id IS NOT NULL, l.name",
        turnover_id,
        CodeState::LIVE as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(CleanerNotice {
        turnover_id,
        staff_id,
        room: row.room,
        property: row.property,
        timezone: row.timezone,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        next_reference: row.next_reference,
        planned,
        codes: codes.into_iter().map(|c| (c.lock, c.code)).collect(),
    }))
}

/// The property's cleaner for a turnover: the first active one by name.
async fn assign_cleaner(conn: &mut PgConnection, turnover_id: Uuid, property_id: Uuid) -> AccessResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "UPDATE turnovers SET staff_id = (
             SELECT s.id FROM staff s JOIN staff_properties sp ON sp.staff_id = s.id
             WHERE sp.property_id = $2 AND sp.cleaner AND s.active ORDER BY s.name, s.id LIMIT 1),
             updated_at = now()
         WHERE id = $1 RETURNING staff_id",
        turnover_id,
        property_id
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// One turnover of a day, as `/turnovers today` and Today list it.
#[derive(Debug, Clone)]
pub struct TurnoverRow {
    /// The property.
    pub property_id: Uuid,
    /// The room's name.
    pub room: String,
    /// The property's name.
    pub property: String,
    /// Its timezone.
    pub timezone: Timezone,
    /// The stay that ends it.
    pub reference: String,
    /// The next stay, if one follows.
    pub next_reference: Option<String>,
    /// The window.
    pub starts_at: DateTime<Utc>,
    /// Its end.
    pub ends_at: DateTime<Utc>,
    /// The cleaner's name, once assigned.
    pub cleaner: Option<String>,
    /// The states of its codes (`pending/set`…), none before they are drawn.
    pub codes: Option<String>,
}

/// The planned turnovers of `property_ids` whose window touches `day`
/// (local to each property), by start.
pub async fn list_day(
    conn: &mut PgConnection,
    property_ids: &[Uuid],
    day: Day,
    now: DateTime<Utc>,
) -> AccessResult<Vec<TurnoverRow>> {
    let rows = list_around(conn, property_ids, now).await?;
    Ok(rows.into_iter().filter(|t| t.touches(day.date(now.with_timezone(&t.timezone.tz()).date_naive()))).collect())
}

/// The planned turnovers of `property_ids` that have not ended three days
/// ago, by start (Today filters them by day).
pub async fn list_around(
    conn: &mut PgConnection,
    property_ids: &[Uuid],
    now: DateTime<Utc>,
) -> AccessResult<Vec<TurnoverRow>> {
    Ok(sqlx::query_as!(
        TurnoverRow,
        r#"SELECT t.property_id, r.name AS room, p.name AS property, p.timezone AS "timezone: Timezone",
               b.external_ref AS reference, n.external_ref AS "next_reference?", t.starts_at, t.ends_at,
               s.name AS "cleaner?",
               (SELECT string_agg(DISTINCT c.state, '/') FROM access_codes c WHERE c.turnover_id = t.id AND c.state <> 'removed')
                   AS codes
           FROM turnovers t JOIN rooms r ON r.id = t.room_id JOIN properties p ON p.id = t.property_id
               JOIN bookings b ON b.id = t.booking_id LEFT JOIN bookings n ON n.id = t.next_booking_id
               LEFT JOIN staff s ON s.id = t.staff_id
           WHERE t.property_id = ANY($1) AND t.state = 'planned'
             AND t.starts_at < $2::timestamptz + interval '400 days' AND t.ends_at > $2::timestamptz - interval '3 days'
           ORDER BY t.starts_at, r.name"#,
        property_ids,
        now
    )
    .fetch_all(&mut *conn)
    .await?)
}

impl TurnoverRow {
    /// Whether the window touches this local date of the property.
    pub fn touches(&self, date: NaiveDate) -> bool {
        let tz = self.timezone.tz();
        let (first, last) =
            (self.starts_at.with_timezone(&tz).date_naive(), self.ends_at.with_timezone(&tz).date_naive());
        first <= date && date <= last
    }
}

/// A cleaner was flagged at these properties: their rooms' turnovers are
/// planned (stays stored before this version, or never touched since, get
/// theirs now), and those that have no cleaner yet and are due (within
/// [`TURNOVER_LEAD`]) are prepared now.
pub async fn await_cleaner(conn: &mut PgConnection, property_ids: &[Uuid], now: DateTime<Utc>) -> AccessResult<()> {
    for property_id in property_ids {
        sync_property(conn, *property_id, Actor::System, now).await?;
    }
    let due = sqlx::query_scalar!(
        "SELECT id FROM turnovers WHERE property_id = ANY($1) AND state = 'planned' AND staff_id IS NULL
           AND ends_at > $2 AND starts_at <= $3",
        property_ids,
        now,
        now + TURNOVER_LEAD,
    )
    .fetch_all(&mut *conn)
    .await?;
    for turnover_id in due {
        queue::enqueue(conn, &TurnoverDue { turnover_id }, now).await?;
    }
    Ok(())
}

/// A property's buffers or cleaning window changed: every room's
/// turnovers are planned again.
pub async fn sync_property(
    conn: &mut PgConnection,
    property_id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    let rooms = sqlx::query_scalar!("SELECT id FROM rooms WHERE property_id = $1 ORDER BY name", property_id)
        .fetch_all(&mut *conn)
        .await?;
    for room_id in rooms {
        sync_room(conn, room_id, actor, now).await?;
    }
    Ok(())
}

/// A staff member no longer cleans at these properties (unflagged, or
/// deactivated): their turnovers that have not ended lose their codes and
/// go to the property's cleaner now, if it has one (the `turnover` job, at
/// once or the lead before the window).
pub async fn release_cleaner(
    conn: &mut PgConnection,
    staff_id: Uuid,
    property_ids: &[Uuid],
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    let released = sqlx::query!(
        "UPDATE turnovers SET staff_id = NULL, updated_at = now()
         WHERE staff_id = $1 AND state = 'planned' AND ends_at > $2 AND property_id = ANY($3)
         RETURNING id, starts_at",
        staff_id,
        now,
        property_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    for turnover in released {
        let codes = sqlx::query_scalar!(
            "SELECT id FROM access_codes WHERE turnover_id = $1 AND staff_id = $2 AND state = ANY($3)",
            turnover.id,
            staff_id,
            CodeState::LIVE as &[CodeState]
        )
        .fetch_all(&mut *conn)
        .await?;
        for code_id in codes {
            lifecycle::begin_removal(&mut *conn, code_id, actor, "no longer the turnover's cleaner").await?;
        }
        let run_at = (turnover.starts_at - TURNOVER_LEAD).max(now);
        queue::enqueue(conn, &TurnoverDue { turnover_id: turnover.id }, run_at).await?;
    }
    Ok(())
}

/// Why `/assign` changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignRefused {
    /// The room has no turnover that has not ended.
    #[error("no turnover ahead")]
    NoTurnover,
    /// Nobody active of that name works at the property.
    #[error("no staff member of that name works here")]
    NoSuchStaff,
}

/// A turnover after `/assign`.
#[derive(Debug, Clone)]
pub struct Assigned {
    /// The cleaner's name.
    pub cleaner: String,
    /// The property's timezone.
    pub timezone: Timezone,
    /// The window.
    pub starts_at: DateTime<Utc>,
    /// Its end.
    pub ends_at: DateTime<Utc>,
}

/// `/assign room 101 Eva`: the room's next turnover that has not ended
/// goes to the active staff member of the property named so (full or
/// first name, any case; a flagged cleaner first). A code drawn for someone
/// else leaves the locks; the new cleaner's is drawn and sent the lead
/// before the window (at once when it is closer). Audited as
/// `turnover.assigned`.
pub async fn assign_room_turnover(
    conn: &mut PgConnection,
    room_id: Uuid,
    name: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<Result<Assigned, AssignRefused>> {
    let Some(turnover) = sqlx::query!(
        r#"SELECT t.id, t.property_id, t.booking_id, t.staff_id, t.starts_at, t.ends_at,
               p.timezone AS "timezone: Timezone"
           FROM turnovers t JOIN properties p ON p.id = t.property_id
           WHERE t.room_id = $1 AND t.state = 'planned' AND t.ends_at > $2
           ORDER BY t.starts_at LIMIT 1 FOR UPDATE OF t"#,
        room_id,
        now
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(Err(AssignRefused::NoTurnover));
    };
    let Some(staff) = sqlx::query!(
        "SELECT s.id, s.name FROM staff s JOIN staff_properties sp ON sp.staff_id = s.id
         WHERE sp.property_id = $1 AND s.active
           AND (lower(s.name) = lower($2) OR lower(split_part(s.name, ' ', 1)) = lower($2))
         ORDER BY sp.cleaner DESC, s.name, s.id LIMIT 1",
        turnover.property_id,
        name.trim()
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(Err(AssignRefused::NoSuchStaff));
    };
    if turnover.staff_id != Some(staff.id) {
        let codes = sqlx::query_scalar!(
            "SELECT id FROM access_codes WHERE turnover_id = $1 AND state = ANY($2)",
            turnover.id,
            CodeState::LIVE as &[CodeState]
        )
        .fetch_all(&mut *conn)
        .await?;
        for code_id in codes {
            lifecycle::begin_removal(&mut *conn, code_id, actor, "turnover assigned to another cleaner").await?;
        }
        sqlx::query!("UPDATE turnovers SET staff_id = $2, updated_at = now() WHERE id = $1", turnover.id, staff.id)
            .execute(&mut *conn)
            .await?;
        let subject = Subject {
            property_id: Some(turnover.property_id),
            booking_id: Some(turnover.booking_id),
            ..Default::default()
        };
        let details = json!({ "turnover_id": turnover.id, "staff_id": staff.id });
        audit::record(&mut *conn, actor, "turnover.assigned", subject, details).await?;
        let run_at = (turnover.starts_at - TURNOVER_LEAD).max(now);
        queue::enqueue(conn, &TurnoverDue { turnover_id: turnover.id }, run_at).await?;
    }
    Ok(Ok(Assigned {
        cleaner: staff.name,
        timezone: turnover.timezone,
        starts_at: turnover.starts_at,
        ends_at: turnover.ends_at,
    }))
}
