//! The life of an access code (SPEC §3): issued when a booking is confirmed,
//! moved with its dates, revoked when it is cancelled, removed at check-out;
//! manual codes; the safety rule for stays in progress; capacity.
//!
//! Every function here runs in the caller's transaction: a code's change,
//! its audit event and the job that carries it to the lock commit together.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::alerts::{alert_staff, StaffAlert};
use super::audit::{self, Actor, Subject};
use super::codes::mask;
use super::error::{AccessError, AccessResult};
use super::generate::DeviceConstraints;
use super::generate::{generate, CodeRules};
use super::model::{BookingStatus, CodeFormat, CodeKind, CodeState, LockStatus, ProviderKind};
use super::stay::lock_window;
use crate::access::jobs::{
    BookingConfirmed, CheckCodesSet, CheckGuestReachable, DeliverCodes, ExpireCode, ProgramCode, RemoveCode, UpdateCode,
};
use crate::jobs::queue;

pub use super::codes::state::begin_removal;
pub use new_bookings::{issue_for_new_bookings, NewBooking};
pub use turnover_codes::{issue_turnover_codes, TurnoverCode};

mod new_bookings;
mod turnover_codes;

/// How many times a value is drawn again after losing a race for it.
const INSERT_ATTEMPTS: usize = 8;
/// How long before check-in a guest's code must be on the lock.
pub const CODE_SET_LEAD: chrono::Duration = chrono::Duration::hours(2);
/// Share of a lock's capacity at which staff are warned.
const NEARLY_FULL: f64 = 0.9;

/// A lock as code issuing sees it.
#[derive(Debug, Clone)]
struct LockSlot {
    id: Uuid,
    property_id: Uuid,
    name: String,
    provider: ProviderKind,
    code_format: CodeFormat,
    code_length: i32,
    capacity: i32,
    status: LockStatus,
    /// What the device reported it accepts, as JSON.
    device_constraints: Option<serde_json::Value>,
}

impl LockSlot {
    fn rules(&self, kind: CodeKind) -> CodeRules {
        let length = usize::try_from(self.code_length).unwrap_or(6);
        let rules = CodeRules::for_lock(self.code_format, length, self.provider, kind);
        let reported =
            self.device_constraints.clone().and_then(|c| serde_json::from_value::<DeviceConstraints>(c).ok());
        match reported {
            Some(device) => rules.within(&device),
            None => rules,
        }
    }
}

/// A live code of a booking.
#[derive(Debug, Clone)]
struct LiveCode {
    id: Uuid,
    lock_id: Uuid,
    code: String,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
}

/// The booking fields code issuing needs.
#[derive(Debug, Clone)]
struct BookingWindow {
    id: Uuid,
    external_ref: String,
    property_id: Uuid,
    room_id: Uuid,
    check_in_at: DateTime<Utc>,
    check_out_at: DateTime<Utc>,
    status: BookingStatus,
    release_hours: i32,
    codes_revoked_at: Option<DateTime<Utc>>,
    /// Whether it has a guest code that is live (a new booking has none).
    has_live_codes: bool,
    /// The property's `code_valid_before_minutes`.
    before_minutes: i32,
    /// The property's `code_valid_after_minutes`.
    after_minutes: i32,
    /// The property's timezone.
    timezone: super::timezone::Timezone,
    /// The property's `no_show_alert_time` (SPEC §12).
    no_show_alert_time: Option<chrono::NaiveTime>,
}

impl BookingWindow {
    fn in_progress(&self, now: DateTime<Utc>) -> bool {
        self.check_in_at <= now && now < self.check_out_at
    }

    /// When the guest's code opens the lock: check-in less the property's
    /// buffer (SPEC §11; the guest is still told the check-in time).
    fn lock_from(&self) -> DateTime<Utc> {
        lock_window(self.check_in_at, self.check_out_at, self.before_minutes, self.after_minutes).0
    }

    /// When the guest's code stops opening the lock: check-out plus the
    /// property's buffer.
    fn lock_until(&self) -> DateTime<Utc> {
        lock_window(self.check_in_at, self.check_out_at, self.before_minutes, self.after_minutes).1
    }
}

/// Brings a booking's guest codes in line with the booking (SPEC §3.4,
/// §3.6, §3.9): confirmed → a code on every active lock of its room and of
/// its property's entrances (one value for all where they allow it), dates
/// moved on live codes, codes on locks it no longer uses revoked; cancelled →
/// its codes revoked. Idempotent. A stay in progress is never revoked here:
/// the revocation is held for staff and audited.
#[tracing::instrument(skip_all, fields(%booking_id))]
pub async fn sync_booking_codes(
    conn: &mut PgConnection,
    booking_id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    let booking = load_booking(conn, booking_id).await?;
    // The guest's messages (SPEC §11): planned when confirmed, moved with
    // the dates, cancelled otherwise.
    let messages = super::journey::schedule_for_booking(conn, booking_id, now).await?;
    // The room's turnovers around the stay move (or go) with it.
    super::turnovers::sync_for_booking(conn, booking_id, actor, now).await?;
    let live = if booking.has_live_codes { live_guest_codes(conn, booking_id).await? } else { Vec::new() };
    match booking.status {
        BookingStatus::Pending => hold_for_staff(conn, &booking, &live, actor, "set back to pending", now).await,
        BookingStatus::Cancelled => hold_for_staff(conn, &booking, &live, actor, "cancelled", now).await,
        BookingStatus::Confirmed => {
            let targets = booking_locks(conn, booking.property_id, booking.room_id).await?;
            let target_ids: HashSet<Uuid> = targets.iter().map(|l| l.id).collect();
            let (kept, moved_off): (Vec<&LiveCode>, Vec<&LiveCode>) =
                live.iter().partition(|c| target_ids.contains(&c.lock_id));
            for code in &kept {
                move_window(conn, &booking, code, actor).await?;
            }
            // The codes' jobs and the stay's, written in one statement.
            let mut jobs = queue::Batch::default();
            jobs.append(messages);
            if booking.codes_revoked_at.is_none() {
                let covered: HashSet<Uuid> = kept.iter().map(|c| c.lock_id).collect();
                let missing: Vec<LockSlot> = targets.into_iter().filter(|l| !covered.contains(&l.id)).collect();
                // The value the guest was told, kept on the new room's locks
                // where it fits.
                let told = kept.first().or(moved_off.first()).map(|c| c.code.clone());
                issue_guest_codes(conn, &booking, missing, told, actor, &mut jobs).await?;
            }
            // A door the stay no longer uses (a room move, a lock taken out):
            // its code goes at once, even during the stay (review H2). The
            // safety rule protects the guest's access, and that is now the
            // new room's code, issued above.
            for code in &moved_off {
                begin_removal(conn, code.id, actor, "lock no longer serves the booking's room").await?;
            }
            if !moved_off.is_empty() {
                tell_of_moved_codes(conn, &booking, &moved_off, now).await?;
            }
            schedule_pre_arrival(&booking, now, &mut jobs)?;
            Ok(jobs.enqueue(conn).await?)
        }
    }
}

/// A property's buffers changed (SPEC §11): the live guest codes of its
/// stays that have not ended get the new window on the lock; their values
/// stay. Returns how many bookings were looked at.
#[tracing::instrument(skip_all, fields(%property_id))]
pub async fn move_property_windows(
    conn: &mut PgConnection,
    property_id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<usize> {
    let bookings = sqlx::query_scalar!(
        "SELECT id FROM bookings WHERE property_id = $1 AND status = 'confirmed' AND check_out_at > $2
         ORDER BY check_in_at, id",
        property_id,
        now
    )
    .fetch_all(&mut *conn)
    .await?;
    for booking_id in &bookings {
        let booking = load_booking(conn, *booking_id).await?;
        if !booking.has_live_codes {
            continue;
        }
        for code in live_guest_codes(conn, booking.id).await? {
            move_window(conn, &booking, &code, actor).await?;
        }
    }
    Ok(bookings.len())
}

/// Ends the live guest codes of a booking by `until` at the latest, on the
/// lock too (an early departure: the after buffer no longer applies).
pub async fn end_guest_codes_by(
    conn: &mut PgConnection,
    booking_id: Uuid,
    until: DateTime<Utc>,
    actor: Actor,
) -> AccessResult<()> {
    let cut = sqlx::query!(
        r#"UPDATE access_codes SET valid_until = $2, updated_at = now()
           WHERE booking_id = $1 AND kind = 'guest' AND state = ANY($3) AND (valid_until IS NULL OR valid_until > $2)
           RETURNING id, lock_id, state AS "state: CodeState""#,
        booking_id,
        until,
        CodeState::LIVE as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    for code in cut {
        let subject = Subject {
            lock_id: Some(code.lock_id),
            code_id: Some(code.id),
            booking_id: Some(booking_id),
            ..Default::default()
        };
        audit::record(&mut *conn, actor, "code.window_moved", subject, json!({ "until": until })).await?;
        if matches!(code.state, CodeState::Programming | CodeState::Set) {
            queue::enqueue(conn, &UpdateCode { code_id: code.id }, Utc::now()).await?;
        }
        queue::enqueue(conn, &ExpireCode { code_id: code.id }, until).await?;
    }
    Ok(())
}

/// A cancelled or pending booking: its codes go, except during the stay,
/// where they are held (SPEC §3.9) and staff get one alert naming the
/// booking and the command that revokes it (review M7).
async fn hold_for_staff(
    conn: &mut PgConnection,
    booking: &BookingWindow,
    live: &[LiveCode],
    actor: Actor,
    what: &str,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    if live.is_empty() {
        return Ok(());
    }
    let in_progress = booking.in_progress(now);
    if !in_progress && booking.status == BookingStatus::Pending {
        // Not yet begun: the code waits on the lock for a new confirmation.
        return Ok(());
    }
    let reason = format!("booking {what}");
    for code in live {
        revoke_or_hold(conn, booking, code, actor, &reason, now).await?;
    }
    if in_progress {
        let room = room_name(conn, booking.room_id).await?;
        let alert = StaffAlert::HeldDuringStay {
            booking_id: booking.id,
            reference: booking.external_ref.clone(),
            status: booking.status.to_string(),
            what: what.to_owned(),
            room,
        };
        alert_staff(conn, booking.property_id, alert).await?;
    }
    Ok(())
}

/// The guest's codes moved to other locks: staff are told, and the guest
/// gets the new codes when the old ones may have reached them.
async fn tell_of_moved_codes(
    conn: &mut PgConnection,
    booking: &BookingWindow,
    moved_off: &[&LiveCode],
    now: DateTime<Utc>,
) -> AccessResult<()> {
    let lock_ids: Vec<Uuid> = moved_off.iter().map(|c| c.lock_id).collect();
    let old_locks = sqlx::query_scalar!("SELECT name FROM locks WHERE id = ANY($1) ORDER BY name", &lock_ids)
        .fetch_all(&mut *conn)
        .await?;
    let room = room_name(conn, booking.room_id).await?;
    let alert = StaffAlert::RoomChanged {
        booking_id: booking.id,
        reference: booking.external_ref.clone(),
        room_id: booking.room_id,
        room,
        old_locks,
        new_code: booking.codes_revoked_at.is_none(),
    };
    alert_staff(conn, booking.property_id, alert).await?;
    let release_at = super::release::release_time(booking.check_in_at, booking.release_hours);
    if now >= release_at && booking.codes_revoked_at.is_none() {
        let key = format!("moved:{}", booking.room_id);
        queue::enqueue(conn, &DeliverCodes { booking_id: booking.id, key }, now).await?;
    }
    Ok(())
}

async fn room_name(conn: &mut PgConnection, room_id: Uuid) -> AccessResult<String> {
    Ok(sqlx::query_scalar!("SELECT name FROM rooms WHERE id = $1", room_id).fetch_one(&mut *conn).await?)
}

/// Queues the confirmation now and the checks of the stay. The pre-arrival
/// message is the first message rule (`journey::schedule_for_booking`):
/// `code_release_hours` before check-in, or now when that moment has passed,
/// after quiet hours; the job itself checks status and verification when it
/// runs, and sends once per channel.
fn schedule_pre_arrival(booking: &BookingWindow, now: DateTime<Utc>, jobs: &mut queue::Batch) -> AccessResult<()> {
    if now >= booking.check_out_at {
        return Ok(());
    }
    // The confirmation goes once per channel (the outbox dedupes).
    jobs.add(&BookingConfirmed { booking_id: booking.id }, now)?;
    // SPEC §3.8: a code not on the lock this long before check-in is a
    // problem for a person.
    let deadline = booking.check_in_at - CODE_SET_LEAD;
    // Confirmed at the last minute: give the locks a few minutes first.
    let earliest = now + chrono::Duration::minutes(10);
    jobs.add(&CheckCodesSet { booking_id: booking.id }, deadline.max(earliest))?;
    // SPEC §9: a guest doorman cannot reach is a job for staff (the claim link).
    let reachable_by = booking.check_in_at - super::claims::UNREACHABLE_LEAD;
    jobs.add(&CheckGuestReachable { booking_id: booking.id }, reachable_by.max(now))?;
    // SPEC §12: every lock and the guest's channel, 24 and 3 hours ahead.
    super::readiness::schedule(jobs, booking.id, booking.check_in_at, now)?;
    // SPEC §12: a guest whose code is unused by the evening is an alert.
    let (timezone, alert_time) = (booking.timezone, booking.no_show_alert_time);
    super::arrivals::schedule_no_show(jobs, booking.id, booking.check_in_at, timezone, alert_time, now)?;
    Ok(())
}

/// A manual code to create through the API.
#[derive(Debug, Clone)]
pub struct ManualCode {
    /// `standalone`, `master`, `staff` or `guest`.
    pub kind: CodeKind,
    /// For `guest` codes: the booking.
    pub booking_ref: Option<String>,
    /// For `staff` codes: the staff member.
    pub staff_id: Option<Uuid>,
    /// Start of validity; now when absent.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity; required for `standalone`, the booking's check-out
    /// for `guest`, none (persistent) allowed for `staff` and `master`.
    pub valid_until: Option<DateTime<Utc>>,
    /// Free text, e.g. "plumber".
    pub label: Option<String>,
}

/// Creates a manual code on a lock (SPEC §7 `POST /locks/{id}/codes`),
/// within the lock's capacity, and queues it for programming.
#[tracing::instrument(skip_all, fields(%lock_id, kind = %manual.kind))]
pub async fn create_manual_code(
    conn: &mut PgConnection,
    lock_id: Uuid,
    manual: &ManualCode,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<Uuid> {
    let lock = load_lock(conn, lock_id).await?;
    if lock.status != LockStatus::Active {
        return Err(AccessError::Conflict(format!("lock {} is inactive", lock.name)));
    }
    let (booking, valid_from, valid_until) = manual_window(conn, manual, now).await?;
    if manual.kind == CodeKind::Staff {
        let staff_id = manual.staff_id.ok_or_else(|| AccessError::invalid("staff_id", "required for staff codes"))?;
        let known = sqlx::query_scalar!("SELECT EXISTS (SELECT 1 FROM staff WHERE id = $1 AND active)", staff_id)
            .fetch_one(&mut *conn)
            .await?;
        if known != Some(true) {
            return Err(AccessError::invalid("staff_id", "no such active staff member"));
        }
    }
    let live = live_count(conn, lock.id).await?;
    if live >= i64::from(lock.capacity) {
        return Err(AccessError::LockFull { lock: lock.name.clone(), live, capacity: lock.capacity });
    }
    let new = NewCode {
        lock: &lock,
        kind: manual.kind,
        booking_id: booking.as_ref().map(|b| b.id),
        booking_ref: booking.as_ref().map(|b| b.external_ref.as_str()),
        staff_id: if manual.kind == CodeKind::Staff { manual.staff_id } else { None },
        label: manual.label.as_deref(),
        valid_from,
        valid_until,
        turnover_id: None,
    };
    let rules = lock.rules(manual.kind);
    let id = insert_code_drawing(conn, &new, &rules, actor).await?;
    let Some(id) = id else {
        return Err(AccessError::Conflict("the booking already has a live code on this lock".into()));
    };
    warn_if_nearly_full(conn, &lock, live + 1, actor).await?;
    Ok(id)
}

/// Revokes a code end to end: `removing` now, `removed` once the provider
/// confirms (SPEC §3.7). A guest code of a stay in progress needs `force`
/// (SPEC §3.9). Revoking a code already on its way out changes nothing.
#[tracing::instrument(skip_all, fields(%code_id, force))]
pub async fn revoke_code(
    conn: &mut PgConnection,
    code_id: Uuid,
    reason: &str,
    force: bool,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    let row = sqlx::query!(
        r#"SELECT c.state AS "state: CodeState", c.kind AS "kind: CodeKind", b.check_in_at AS "check_in_at?",
               b.check_out_at AS "check_out_at?"
           FROM access_codes c LEFT JOIN bookings b ON b.id = c.booking_id
           WHERE c.id = $1 FOR UPDATE OF c"#,
        code_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "code" })?;
    if row.state == CodeState::Removed {
        return Ok(());
    }
    if row.state == CodeState::Removing {
        // Asked again: try the lock again (a removal that gave up may now
        // get through).
        queue::enqueue(conn, &RemoveCode { code_id }, Utc::now()).await?;
        return Ok(());
    }
    let in_progress = match (row.check_in_at, row.check_out_at) {
        (Some(check_in), Some(check_out)) => row.kind == CodeKind::Guest && check_in <= now && now < check_out,
        _ => false,
    };
    if in_progress && !force {
        return Err(AccessError::StayInProgress);
    }
    if row.kind == CodeKind::Guest && actor != Actor::System {
        // A person revoked it: the next upsert of the booking must not
        // quietly issue a new one.
        sqlx::query!(
            "UPDATE bookings SET codes_revoked_at = now() WHERE id = (SELECT booking_id FROM access_codes WHERE id = $1)",
            code_id
        )
        .execute(&mut *conn)
        .await?;
    }
    begin_removal(conn, code_id, actor, reason).await?;
    Ok(())
}

/// Live codes on a lock: everything not removed or failed, plus codes found
/// on the device that doorman does not manage.
pub async fn live_count(conn: &mut PgConnection, lock_id: Uuid) -> AccessResult<i64> {
    let occupancy = occupancy(conn, &[lock_id]).await?;
    Ok(occupancy.live.get(&lock_id).copied().unwrap_or(0))
}

/// The codes on some locks, read in one query.
struct Occupancy {
    /// Per lock, the codes that fill one of its slots (see [`live_count`]).
    live: HashMap<Uuid, i64>,
    /// Values a new code must not take on any of them: live codes, and
    /// codes found on the devices that doorman does not manage.
    taken: HashSet<String>,
}

/// One lock's row of [`occupancy`].
struct LockOccupancy {
    lock_id: Uuid,
    live: i64,
    taken: Vec<String>,
}

/// Each lock's codes are looked up by `lock_id = l.id`, never with
/// `lock_id = ANY(…)`: a plan cached while the tables were small (the first
/// calendar sync of a new install) would then scan every code of every lock.
async fn occupancy(conn: &mut PgConnection, lock_ids: &[Uuid]) -> AccessResult<Occupancy> {
    let rows = sqlx::query_as!(
        LockOccupancy,
        r#"SELECT l.id AS "lock_id!",
               (SELECT count(*) FROM access_codes c WHERE c.lock_id = l.id AND c.state = ANY($2))
                 + (SELECT count(*) FROM device_codes d WHERE d.lock_id = l.id AND NOT d.managed) AS "live!",
               ARRAY(SELECT c.code FROM access_codes c WHERE c.lock_id = l.id AND c.state <> 'removed'
                     UNION
                     SELECT d.code FROM device_codes d
                     WHERE d.lock_id = l.id AND NOT d.managed AND d.code IS NOT NULL) AS "taken!"
           FROM UNNEST($1::uuid[]) AS l (id)"#,
        lock_ids,
        CodeState::IN_A_SLOT as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut occupancy = Occupancy { live: HashMap::new(), taken: HashSet::new() };
    for row in rows {
        occupancy.live.insert(row.lock_id, row.live);
        occupancy.taken.extend(row.taken);
    }
    Ok(occupancy)
}

async fn issue_guest_codes(
    conn: &mut PgConnection,
    booking: &BookingWindow,
    locks: Vec<LockSlot>,
    told: Option<String>,
    actor: Actor,
    jobs: &mut queue::Batch,
) -> AccessResult<()> {
    if locks.is_empty() {
        return Ok(());
    }
    let lock_ids: Vec<Uuid> = locks.iter().map(|l| l.id).collect();
    let Occupancy { live, taken } = occupancy(conn, &lock_ids).await?;
    let mut open = Vec::new();
    for lock in locks {
        let live = live.get(&lock.id).copied().unwrap_or(0);
        if live >= i64::from(lock.capacity) {
            let subject = Subject {
                property_id: Some(lock.property_id),
                lock_id: Some(lock.id),
                booking_id: Some(booking.id),
                ..Default::default()
            };
            let details = json!({ "lock": lock.name, "live": live, "capacity": lock.capacity });
            audit::record(&mut *conn, actor, "lock.full", subject, details).await?;
            tracing::error!(lock = %lock.name, live, capacity = lock.capacity, "lock is full: no guest code issued");
            continue;
        }
        open.push((lock, live));
    }
    if open.is_empty() {
        return Ok(());
    }
    // One value for every lock when their rules allow it (SPEC §3.4), and
    // the value the guest already has when it still fits.
    let shared = open
        .iter()
        .skip(1)
        .try_fold(open[0].0.rules(CodeKind::Guest), |acc, (lock, _)| acc.shared_with(&lock.rules(CodeKind::Guest)));
    match shared {
        Some(rules) => {
            let slots: Vec<&LockSlot> = open.iter().map(|(lock, _)| lock).collect();
            let drawn = Drawn { preferred: told, taken: Some(taken) };
            insert_shared(conn, guest_code(booking, slots[0]), &slots, &rules, drawn, actor, jobs).await?;
        }
        None => {
            for (lock, _) in &open {
                let drawn = Drawn { preferred: told.clone(), taken: Some(taken.clone()) };
                let base = guest_code(booking, lock);
                insert_shared(conn, base, &[lock], &lock.rules(CodeKind::Guest), drawn, actor, jobs).await?;
            }
        }
    }
    for (lock, live) in &open {
        warn_if_nearly_full(conn, lock, live + 1, actor).await?;
    }
    Ok(())
}

/// What a new value is drawn from: the value the guest was told, if any,
/// and the values taken on the locks when the caller read them already.
struct Drawn {
    preferred: Option<String>,
    taken: Option<HashSet<String>>,
}

/// Inserts one guest code per lock with a single value, drawing again when
/// a concurrent writer took the value first.
async fn insert_shared<'a>(
    conn: &mut PgConnection,
    base: NewCode<'a>,
    locks: &[&'a LockSlot],
    rules: &CodeRules,
    mut drawn: Drawn,
    actor: Actor,
    jobs: &mut queue::Batch,
) -> AccessResult<()> {
    if locks.is_empty() {
        return Ok(());
    }
    let lock_ids: Vec<Uuid> = locks.iter().map(|l| l.id).collect();
    for _ in 0..INSERT_ATTEMPTS {
        let taken = match drawn.taken.take() {
            Some(taken) => taken,
            None => taken_values(conn, &lock_ids).await?,
        };
        let value = match drawn.preferred.take().filter(|v| rules.accepts(v) && !taken.contains(v)) {
            Some(value) => value,
            None => generate(rules, &taken).ok_or_else(no_free_value)?,
        };
        if let [lock] = locks {
            // One lock: nothing to undo when the value was taken meanwhile.
            match insert_code(&mut *conn, &NewCode { lock, ..base }, &value, actor, jobs).await {
                Ok(_) => return Ok(()),
                Err(InsertError::ValueTaken) => continue,
                Err(InsertError::Other(e)) => return Err(e),
            }
        }
        // Several: all of them, or none and a new value.
        let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
        let mut lost_race = false;
        let mut these = queue::Batch::default();
        for lock in locks {
            match insert_code(&mut savepoint, &NewCode { lock, ..base }, &value, actor, &mut these).await {
                Ok(_) => {}
                Err(InsertError::ValueTaken) => {
                    lost_race = true;
                    break;
                }
                Err(InsertError::Other(e)) => return Err(e),
            }
        }
        if lost_race {
            savepoint.rollback().await?;
            continue;
        }
        savepoint.commit().await?;
        jobs.append(these);
        return Ok(());
    }
    Err(no_free_value())
}

/// The guest code of `booking` on `lock`, valid for the stay.
fn guest_code<'a>(booking: &'a BookingWindow, lock: &'a LockSlot) -> NewCode<'a> {
    NewCode {
        lock,
        kind: CodeKind::Guest,
        booking_id: Some(booking.id),
        booking_ref: Some(&booking.external_ref),
        staff_id: None,
        label: None,
        valid_from: booking.lock_from(),
        valid_until: Some(booking.lock_until()),
        turnover_id: None,
    }
}

/// Inserts a code of a freshly drawn value; `None` when the booking already
/// has a live code on the lock.
async fn insert_code_drawing(
    conn: &mut PgConnection,
    new: &NewCode<'_>,
    rules: &CodeRules,
    actor: Actor,
) -> AccessResult<Option<Uuid>> {
    for _ in 0..INSERT_ATTEMPTS {
        let taken = taken_values(conn, &[new.lock.id]).await?;
        let value = generate(rules, &taken).ok_or_else(no_free_value)?;
        let mut savepoint = sqlx::Connection::begin(&mut *conn).await?;
        let mut jobs = queue::Batch::default();
        match insert_code(&mut savepoint, new, &value, actor, &mut jobs).await {
            Ok(id) => {
                jobs.enqueue(&mut savepoint).await?;
                savepoint.commit().await?;
                return Ok(id);
            }
            Err(InsertError::ValueTaken) => savepoint.rollback().await?,
            Err(InsertError::Other(e)) => return Err(e),
        }
    }
    Err(no_free_value())
}

fn no_free_value() -> AccessError {
    AccessError::Conflict("no free code value could be found for the lock".into())
}

#[derive(Clone, Copy)]
struct NewCode<'a> {
    lock: &'a LockSlot,
    kind: CodeKind,
    booking_id: Option<Uuid>,
    booking_ref: Option<&'a str>,
    staff_id: Option<Uuid>,
    label: Option<&'a str>,
    valid_from: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    /// The turnover a cleaner's code is for.
    turnover_id: Option<Uuid>,
}

enum InsertError {
    ValueTaken,
    Other(AccessError),
}

/// Inserts the row and its audit event, and adds its programming job and
/// its expiry to `jobs`. `Ok(None)`: the booking already has a live code on
/// this lock.
async fn insert_code(
    conn: &mut PgConnection,
    new: &NewCode<'_>,
    value: &str,
    actor: Actor,
    jobs: &mut queue::Batch,
) -> Result<Option<Uuid>, InsertError> {
    // A value on the device that doorman does not manage, or live on the
    // lock, is taken; the trigger and the unique index stay the backstop.
    let inserted = sqlx::query_scalar!(
        "INSERT INTO access_codes (lock_id, code, kind, booking_id, staff_id, label, valid_from, valid_until, created_by,
             turnover_id)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
         WHERE NOT EXISTS (SELECT 1 FROM device_codes d WHERE d.lock_id = $1 AND d.code = $2 AND NOT d.managed)
         ON CONFLICT DO NOTHING
         RETURNING id",
        new.lock.id,
        value,
        new.kind.as_str(),
        new.booking_id,
        new.staff_id,
        new.label,
        new.valid_from,
        new.valid_until,
        actor.to_db(),
        new.turnover_id,
    )
    .fetch_optional(&mut *conn)
    .await;
    let id = match inserted {
        Ok(Some(id)) => id,
        Ok(None) if has_live_code(conn, new).await.map_err(InsertError::Other)? => return Ok(None),
        Ok(None) => return Err(InsertError::ValueTaken),
        Err(e) => {
            let constraint = e.as_database_error().and_then(|d| d.constraint()).map(str::to_owned);
            return match constraint.as_deref() {
                Some("access_codes_live_value_key") => Err(InsertError::ValueTaken),
                Some("access_codes_booking_lock_key") => Ok(None),
                _ => Err(InsertError::Other(e.into())),
            };
        }
    };
    let subject = Subject {
        property_id: Some(new.lock.property_id),
        lock_id: Some(new.lock.id),
        code_id: Some(id),
        booking_id: new.booking_id,
    };
    let details = json!({
        "kind": new.kind,
        "lock": new.lock.name,
        "booking_ref": new.booking_ref,
        "code": mask(value),
        "valid_from": new.valid_from,
        "valid_until": new.valid_until,
    });
    let queued = async {
        audit::record(&mut *conn, actor, "code.created", subject, details).await?;
        jobs.add(&ProgramCode { code_id: id }, Utc::now())?;
        if let Some(until) = new.valid_until {
            jobs.add(&ExpireCode { code_id: id }, until)?;
        }
        AccessResult::Ok(())
    };
    queued.await.map_err(InsertError::Other)?;
    Ok(Some(id))
}

/// Whether the booking of `new` already has its live guest code on the lock
/// (what `access_codes_booking_lock_key` keeps unique).
async fn has_live_code(conn: &mut PgConnection, new: &NewCode<'_>) -> AccessResult<bool> {
    let Some(booking_id) = new.booking_id.filter(|_| new.kind == CodeKind::Guest) else {
        return Ok(false);
    };
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM access_codes WHERE booking_id = $1 AND lock_id = $2 AND kind = 'guest'
               AND state NOT IN ('removing', 'removed')) AS "exists!""#,
        booking_id,
        new.lock.id
    )
    .fetch_one(&mut *conn)
    .await?)
}

async fn move_window(
    conn: &mut PgConnection,
    booking: &BookingWindow,
    code: &LiveCode,
    actor: Actor,
) -> AccessResult<()> {
    let (from, until) = (booking.lock_from(), booking.lock_until());
    if code.valid_from == from && code.valid_until == Some(until) {
        return Ok(());
    }
    // The state as of this update (the row lock orders it against a
    // programming job), not as read before: a code that left `pending`
    // meanwhile needs the new window on the lock too.
    let state = sqlx::query_scalar!(
        r#"UPDATE access_codes SET valid_from = $2, valid_until = $3, updated_at = now() WHERE id = $1
           RETURNING state AS "state: CodeState""#,
        code.id,
        from,
        until,
    )
    .fetch_one(&mut *conn)
    .await?;
    let subject = Subject {
        lock_id: Some(code.lock_id),
        code_id: Some(code.id),
        booking_id: Some(booking.id),
        ..Default::default()
    };
    let details = json!({
        "from": [code.valid_from, code.valid_until],
        "to": [from, until],
    });
    audit::record(&mut *conn, actor, "code.window_moved", subject, details).await?;
    // A pending code is programmed with the window it has then; a code on
    // (or on its way to) the lock gets the new window there too.
    if matches!(state, CodeState::Programming | CodeState::Set) {
        queue::enqueue(conn, &UpdateCode { code_id: code.id }, Utc::now()).await?;
    }
    queue::enqueue(conn, &ExpireCode { code_id: code.id }, until).await?;
    Ok(())
}

async fn revoke_or_hold(
    conn: &mut PgConnection,
    booking: &BookingWindow,
    code: &LiveCode,
    actor: Actor,
    reason: &str,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    if !booking.in_progress(now) {
        begin_removal(conn, code.id, actor, reason).await?;
        return Ok(());
    }
    // SPEC §3.9: never revoke a stay in progress without staff.
    let subject = Subject {
        lock_id: Some(code.lock_id),
        code_id: Some(code.id),
        booking_id: Some(booking.id),
        ..Default::default()
    };
    audit::record(
        &mut *conn,
        actor,
        "code.revocation_held",
        subject,
        json!({ "reason": reason, "why_held": "stay in progress" }),
    )
    .await?;
    tracing::warn!(booking = %booking.external_ref, reason, "revocation held: stay in progress, staff must confirm");
    Ok(())
}

async fn warn_if_nearly_full(conn: &mut PgConnection, lock: &LockSlot, live: i64, actor: Actor) -> AccessResult<()> {
    let threshold = (f64::from(lock.capacity) * NEARLY_FULL).ceil() as i64;
    if live != threshold {
        return Ok(());
    }
    let subject = Subject { property_id: Some(lock.property_id), lock_id: Some(lock.id), ..Default::default() };
    audit::record(&mut *conn, actor, "lock.nearly_full", subject, json!({ "live": live, "capacity": lock.capacity }))
        .await?;
    tracing::warn!(lock = %lock.name, live, capacity = lock.capacity, "lock is nearly full");
    Ok(())
}

async fn manual_window(
    conn: &mut PgConnection,
    manual: &ManualCode,
    now: DateTime<Utc>,
) -> AccessResult<(Option<BookingWindow>, DateTime<Utc>, Option<DateTime<Utc>>)> {
    let booking = match &manual.booking_ref {
        Some(reference) => {
            let id = super::bookings::find_booking_id(&mut *conn, reference)
                .await
                .map_err(|_| AccessError::invalid("booking_ref", "no such booking"))?;
            Some(load_booking(conn, id).await?)
        }
        None if manual.kind == CodeKind::Guest => {
            return Err(AccessError::invalid("booking_ref", "required for guest codes"));
        }
        None => None,
    };
    let valid_from = manual.valid_from.or(booking.as_ref().map(BookingWindow::lock_from)).unwrap_or(now);
    let valid_until = manual.valid_until.or(booking.as_ref().map(BookingWindow::lock_until));
    match (manual.kind, valid_until) {
        (CodeKind::Standalone | CodeKind::Guest, None) => {
            return Err(AccessError::invalid("valid_until", "required for standalone codes"));
        }
        (_, Some(until)) if until <= valid_from => {
            return Err(AccessError::invalid("valid_until", "must be after valid_from"));
        }
        (_, Some(until)) if until <= now => {
            return Err(AccessError::invalid("valid_until", "is in the past"));
        }
        _ => {}
    }
    Ok((booking, valid_from, valid_until))
}

async fn load_booking(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<BookingWindow> {
    sqlx::query_as!(
        BookingWindow,
        r#"SELECT b.id, b.external_ref, b.property_id, b.room_id, b.check_in_at, b.check_out_at,
               b.status AS "status: BookingStatus", p.code_release_hours AS release_hours, b.codes_revoked_at,
               EXISTS (SELECT 1 FROM access_codes c
                       WHERE c.booking_id = b.id AND c.kind = 'guest' AND c.state = ANY($2)) AS "has_live_codes!",
               p.code_valid_before_minutes AS before_minutes, p.code_valid_after_minutes AS after_minutes,
               p.timezone AS "timezone: super::timezone::Timezone", p.no_show_alert_time
           FROM bookings b JOIN properties p ON p.id = b.property_id WHERE b.id = $1"#,
        booking_id,
        CodeState::LIVE as &[CodeState]
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "booking" })
}

async fn live_guest_codes(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<Vec<LiveCode>> {
    Ok(sqlx::query_as!(
        LiveCode,
        r#"SELECT id, lock_id, code, valid_from, valid_until
           FROM access_codes
           WHERE booking_id = $1 AND kind = 'guest' AND state = ANY($2)
           ORDER BY created_at, id"#,
        booking_id,
        CodeState::LIVE as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The active locks of a room and of its property's entrances.
async fn booking_locks(conn: &mut PgConnection, property_id: Uuid, room_id: Uuid) -> AccessResult<Vec<LockSlot>> {
    Ok(sqlx::query_as!(
        LockSlot,
        r#"SELECT id, property_id, name, provider AS "provider: ProviderKind", code_format AS "code_format: CodeFormat",
               code_length, capacity, status AS "status: LockStatus", device_constraints
           FROM locks
           WHERE property_id = $1 AND (room_id = $2 OR room_id IS NULL) AND status = 'active'
           ORDER BY room_id IS NOT NULL, name, id"#,
        property_id,
        room_id
    )
    .fetch_all(&mut *conn)
    .await?)
}

async fn load_lock(conn: &mut PgConnection, lock_id: Uuid) -> AccessResult<LockSlot> {
    sqlx::query_as!(
        LockSlot,
        r#"SELECT id, property_id, name, provider AS "provider: ProviderKind", code_format AS "code_format: CodeFormat",
               code_length, capacity, status AS "status: LockStatus", device_constraints
           FROM locks WHERE id = $1"#,
        lock_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "lock" })
}

/// Values a new code must not take on these locks: live codes, and codes
/// found on the devices that doorman does not manage.
async fn taken_values(conn: &mut PgConnection, lock_ids: &[Uuid]) -> AccessResult<HashSet<String>> {
    Ok(occupancy(conn, lock_ids).await?.taken)
}

/// Takes a code found on the lock (an orphan, SPEC §3.10) as a staff
/// member's persistent code instead of generating a new one: the value stays
/// on the lock, doorman manages it from now on. The staff member must be
/// active and work at the lock's property; the provider must have revealed
/// the value.
#[tracing::instrument(skip_all, fields(%lock_id, %staff_id))]
pub async fn adopt_device_code(
    conn: &mut PgConnection,
    lock_id: Uuid,
    provider_ref: &str,
    staff_id: Uuid,
    actor: Actor,
) -> AccessResult<Uuid> {
    let lock = load_lock(conn, lock_id).await?;
    if lock.status != LockStatus::Active {
        return Err(AccessError::Conflict(format!("lock {} is inactive", lock.name)));
    }
    let value = adoptable_value(conn, &lock, provider_ref, staff_id).await?;
    sqlx::query!(
        "UPDATE device_codes SET managed = true WHERE lock_id = $1 AND provider_ref = $2",
        lock_id,
        provider_ref
    )
    .execute(&mut *conn)
    .await?;
    let code_id = insert_adopted(conn, lock_id, &value, staff_id, provider_ref, actor).await?;
    let subject = Subject {
        property_id: Some(lock.property_id),
        lock_id: Some(lock_id),
        code_id: Some(code_id),
        ..Default::default()
    };
    let details = json!({ "provider_ref": provider_ref, "code": mask(&value), "staff_id": staff_id });
    audit::record(&mut *conn, actor, "code.adopted", subject, details).await?;
    // Its name and window on the lock become doorman's (persistent).
    queue::enqueue(conn, &UpdateCode { code_id }, Utc::now()).await?;
    Ok(code_id)
}

/// The value of an orphan code that `staff_id` may adopt on `lock`: the
/// staff member has no code there yet and works at its property, and the
/// provider revealed the value.
async fn adoptable_value(
    conn: &mut PgConnection,
    lock: &LockSlot,
    provider_ref: &str,
    staff_id: Uuid,
) -> AccessResult<String> {
    let has_one = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM access_codes WHERE lock_id = $1 AND staff_id = $2 AND kind = 'staff'
                          AND state = ANY($3)) AS "has!""#,
        lock.id,
        staff_id,
        CodeState::WORKING as &[CodeState]
    )
    .fetch_one(&mut *conn)
    .await?;
    if has_one {
        return Err(AccessError::Conflict("this staff member already has a code on this lock".into()));
    }
    let found = sqlx::query!(
        "SELECT code FROM device_codes WHERE lock_id = $1 AND provider_ref = $2 AND NOT managed FOR UPDATE",
        lock.id,
        provider_ref
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "orphan code on this lock (list its device codes first)" })?;
    let value = found
        .code
        .ok_or_else(|| AccessError::invalid("provider_ref", "the provider does not reveal this code's value"))?;
    let works_here = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM staff s JOIN staff_properties sp ON sp.staff_id = s.id
                          WHERE s.id = $1 AND s.active AND sp.property_id = $2) AS "ok!""#,
        staff_id,
        lock.property_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if !works_here {
        return Err(AccessError::invalid("staff_id", "no active staff member of this lock's property"));
    }
    Ok(value)
}

/// The adopted code's row: a persistent staff code, already `set`.
async fn insert_adopted(
    conn: &mut PgConnection,
    lock_id: Uuid,
    value: &str,
    staff_id: Uuid,
    provider_ref: &str,
    actor: Actor,
) -> AccessResult<Uuid> {
    let inserted = sqlx::query_scalar!(
        "INSERT INTO access_codes (lock_id, code, kind, staff_id, label, valid_from, state, provider_ref, set_at, created_by)
         VALUES ($1, $2, 'staff', $3, 'adopted from the lock', now(), 'set', $4, now(), $5)
         RETURNING id",
        lock_id,
        value,
        staff_id,
        provider_ref,
        actor.to_db()
    )
    .fetch_one(&mut *conn)
    .await;
    match inserted {
        Ok(id) => Ok(id),
        Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
            Err(AccessError::Conflict("doorman already has a live code with this value on the lock".into()))
        }
        Err(e) => Err(e.into()),
    }
}
