//! Arrivals that go wrong (SPEC §12): a guest typing a wrong code again and
//! again, a guest who never arrives, and one who arrives late at night.
//!
//! **Wrong codes.** Every refused keypad entry a lock reports (Seam's
//! `lock.access_denied`, Nuki's log state 224 "invalid code") is kept in
//! the lock's event log (`lock_events.denied`). [`BURST`] of them within
//! [`BURST_WITHIN`] on a lock during the arrival window of a booking that
//! uses it (check-in − [`ARRIVAL_BEFORE`] to check-in + [`ARRIVAL_AFTER`])
//! queue [`ResendAfterWrongCodes`] once per booking: the guest gets their
//! code again with the troubleshooting guide (only where the release rule
//! allows it) and staff are told. [`BURST`] more on that lock afterwards,
//! while the guest's code there is `set`, queue [`BackupAfterWrongCodes`]
//! once: a backup code replaces the guest's, as when a code is not on the
//! lock in time. Outside every arrival window a denial is only recorded;
//! when several arriving bookings use the lock (an entrance), nobody can
//! tell whose guest is at the door: staff are told, no guest is.
//!
//! **No-shows.** [`CheckArrived`] runs at the property's
//! `no_show_alert_time` after check-in ([`no_show_at`]); a confirmed guest
//! whose code has not opened any lock that reports use is an alert.
//!
//! **Late arrivals.** The first use of the guest's code after the
//! property's `late_arrival_alert_after` (or before [`MORNING`]) is one
//! message to staff ([`on_arrival`]).

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::alerts::{alert_staff, BookingRef, StaffAlert};
use super::audit::{self, Actor, Subject};
use super::jobs::{BackupAfterWrongCodes, CheckArrived, ResendAfterWrongCodes};
use super::model::BookingStatus;
use super::release::{Release, ReleaseTerms};
use super::stay::local_instant;
use super::timezone::Timezone;
use super::AccessResult;
use crate::jobs::queue;

/// An arrival window opens this long before check-in...
pub const ARRIVAL_BEFORE: Duration = Duration::hours(2);
/// ...and closes this long after it.
pub const ARRIVAL_AFTER: Duration = Duration::hours(12);
/// Refused entries that make a burst...
pub const BURST: i64 = 3;
/// ...within this long.
pub const BURST_WITHIN: Duration = Duration::minutes(5);
/// When the alert time comes more than [`ARRIVAL_AFTER`] after check-in
/// (check-in at 23:30 for 23:00), the check runs this long after check-in.
pub const LATE_CHECK_IN_GRACE: Duration = Duration::hours(2);
/// An arrival before this local time is late at night too.
pub const MORNING: NaiveTime = match NaiveTime::from_hms_opt(6, 0, 0) {
    Some(t) => t,
    None => NaiveTime::MIN,
};

/// A refused keypad entry, as a lock provider reported it.
#[derive(Debug, Clone)]
pub struct Denial {
    /// The provider's id of the event: a report read twice counts once.
    pub event_id: String,
    /// The provider's id of the code tried, when it says.
    pub provider_ref: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
}

/// What staff are told about wrong codes at a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WrongCodesOutcome {
    /// The guest got their code again with the troubleshooting guide.
    CodeResent,
    /// The release rule refuses the code now (not confirmed, not verified,
    /// revoked, ended): the guest was not sent it.
    NotReleased,
    /// Several arriving bookings use the lock: no guest was written to.
    SeveralArrivals {
        /// Their references.
        references: Vec<String>,
    },
    /// The code is `set` and still refused: the guest got a backup code.
    BackupGiven {
        /// The backup code, masked.
        masked: String,
    },
    /// The code is `set` and still refused, and the lock has no backup code.
    NoBackup,
    /// The code is `set` and still refused, but the release rule refuses a
    /// code now: no backup code was given.
    BackupNotReleased,
}

impl WrongCodesOutcome {
    /// Whether this is the second step (after the code was sent again).
    pub fn after_resend(&self) -> bool {
        matches!(self, Self::BackupGiven { .. } | Self::NoBackup | Self::BackupNotReleased)
    }
}

/// Records refused entries on a lock and acts on a burst (see the module).
/// Returns how many were new.
#[tracing::instrument(skip_all, fields(%lock_id, denials = denials.len()))]
pub async fn record_denials(conn: &mut PgConnection, lock_id: Uuid, denials: &[Denial]) -> AccessResult<usize> {
    let mut new = 0;
    for denial in denials {
        let inserted = sqlx::query!(
            "INSERT INTO lock_events (lock_id, event_id, provider_ref, occurred_at, denied)
             VALUES ($1, $2, $3, $4, true) ON CONFLICT DO NOTHING",
            lock_id,
            denial.event_id,
            denial.provider_ref,
            denial.occurred_at
        )
        .execute(&mut *conn)
        .await?;
        if inserted.rows_affected() == 0 {
            continue;
        }
        new += 1;
        let subject = Subject { lock_id: Some(lock_id), ..Default::default() };
        let details = json!({ "event_id": denial.event_id, "occurred_at": denial.occurred_at });
        audit::record(&mut *conn, Actor::System, "lock.access_denied", subject, details).await?;
        act_on_denial(conn, lock_id, denial.occurred_at).await?;
    }
    Ok(new)
}

/// A booking whose arrival window holds a denial.
struct Arriving {
    id: Uuid,
    property_id: Uuid,
    reference: String,
    guest: String,
    room: String,
    lock: String,
    arrived: bool,
    check_in_at: DateTime<Utc>,
    burst_lock: Option<Uuid>,
    burst_at: Option<DateTime<Utc>>,
    backup_at: Option<DateTime<Utc>>,
}

impl Arriving {
    fn booking(&self) -> BookingRef {
        BookingRef {
            booking_id: self.id,
            guest: self.guest.clone(),
            reference: self.reference.clone(),
            room: self.room.clone(),
        }
    }
}

async fn act_on_denial(conn: &mut PgConnection, lock_id: Uuid, at: DateTime<Utc>) -> AccessResult<()> {
    let mut arriving = sqlx::query_as!(
        Arriving,
        r#"SELECT b.id, b.property_id, b.external_ref AS reference, g.name AS guest, r.name AS room, l.name AS lock,
               b.arrived_at IS NOT NULL AS "arrived!", b.check_in_at,
               w.lock_id AS "burst_lock?", w.burst_at AS "burst_at?", w.backup_at
           FROM locks l
           JOIN bookings b ON b.property_id = l.property_id AND (l.room_id = b.room_id OR l.room_id IS NULL)
           JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id
           LEFT JOIN wrong_code_bursts w ON w.booking_id = b.id
           WHERE l.id = $1 AND b.status = 'confirmed'
             AND $2 BETWEEN b.check_in_at - make_interval(secs => $3) AND b.check_in_at + make_interval(secs => $4)
           ORDER BY b.check_in_at, b.external_ref"#,
        lock_id,
        at,
        ARRIVAL_BEFORE.num_seconds() as f64,
        ARRIVAL_AFTER.num_seconds() as f64
    )
    .fetch_all(&mut *conn)
    .await?;
    // A guest already in is rarely the one at the door.
    if arriving.iter().any(|a| !a.arrived) {
        arriving.retain(|a| !a.arrived);
    }
    let recent = denials_between(conn, lock_id, at - BURST_WITHIN, at).await?;
    match arriving.as_slice() {
        [] => Ok(()),
        [one] => act_for(conn, lock_id, one, at, recent).await,
        several if recent >= BURST => {
            let references: Vec<String> = several.iter().map(|a| a.reference.clone()).collect();
            for a in several {
                let outcome = WrongCodesOutcome::SeveralArrivals { references: references.clone() };
                let alert =
                    StaffAlert::WrongCodes { booking: a.booking(), lock: a.lock.clone(), count: recent, outcome };
                alert_staff(conn, a.property_id, alert).await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The burst's first step (the code again), then its second (a backup).
async fn act_for(
    conn: &mut PgConnection,
    lock_id: Uuid,
    arrival: &Arriving,
    at: DateTime<Utc>,
    recent: i64,
) -> AccessResult<()> {
    // Their code opened this door after the refused entry: they are in.
    if opened_since(conn, arrival.id, lock_id, at).await? {
        return Ok(());
    }
    let now = Utc::now();
    match (arrival.burst_at, arrival.backup_at) {
        (None, _) if recent >= BURST => {
            let started = sqlx::query!(
                "INSERT INTO wrong_code_bursts (booking_id, lock_id, burst_at) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
                arrival.id,
                lock_id,
                at
            )
            .execute(&mut *conn)
            .await?;
            if started.rows_affected() == 1 {
                let job = ResendAfterWrongCodes { booking_id: arrival.id, lock_id, count: recent };
                queue::enqueue(conn, &job, now).await?;
            }
            Ok(())
        }
        (Some(burst_at), None) if arrival.burst_lock == Some(lock_id) => {
            let window_end = arrival.check_in_at + ARRIVAL_AFTER;
            let after = denials_between(conn, lock_id, burst_at + Duration::microseconds(1), window_end).await?;
            if after < BURST || !code_set(conn, arrival.id, lock_id).await? {
                return Ok(());
            }
            let marked = sqlx::query!(
                "UPDATE wrong_code_bursts SET backup_at = $2 WHERE booking_id = $1 AND backup_at IS NULL",
                arrival.id,
                now
            )
            .execute(&mut *conn)
            .await?;
            if marked.rows_affected() == 1 {
                let job = BackupAfterWrongCodes { booking_id: arrival.id, lock_id, count: after };
                queue::enqueue(conn, &job, now).await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Whether the booking's code opened the lock after `at`.
async fn opened_since(
    conn: &mut PgConnection,
    booking_id: Uuid,
    lock_id: Uuid,
    at: DateTime<Utc>,
) -> AccessResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM lock_events e JOIN access_codes c ON c.id = e.code_id
                          WHERE e.lock_id = $2 AND NOT e.denied AND c.booking_id = $1 AND e.occurred_at > $3)
           AS "opened!""#,
        booking_id,
        lock_id,
        at
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Refused entries on the lock from `from` to `until`, both included.
async fn denials_between(
    conn: &mut PgConnection,
    lock_id: Uuid,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> AccessResult<i64> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM lock_events
           WHERE lock_id = $1 AND denied AND occurred_at BETWEEN $2 AND $3"#,
        lock_id,
        from,
        until
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Whether the booking's guest code on the lock is confirmed `set`.
async fn code_set(conn: &mut PgConnection, booking_id: Uuid, lock_id: Uuid) -> AccessResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM access_codes
                          WHERE booking_id = $1 AND lock_id = $2 AND kind = 'guest' AND state = 'set') AS "set!""#,
        booking_id,
        lock_id
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// The guest's `set` code on the lock, to replace with a backup code.
pub async fn refused_code(conn: &mut PgConnection, booking_id: Uuid, lock_id: Uuid) -> AccessResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM access_codes WHERE booking_id = $1 AND lock_id = $2 AND kind = 'guest' AND state = 'set'",
        booking_id,
        lock_id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// Whether the release rule lets the booking's guest have their code now
/// (confirmed, verified where required, from the release time to
/// check-out) and staff have not revoked it.
pub async fn may_release(conn: &mut PgConnection, booking_id: Uuid, now: DateTime<Utc>) -> AccessResult<bool> {
    let row = sqlx::query!(
        r#"SELECT b.status AS "status: BookingStatus", b.verified, p.requires_verification, b.check_in_at,
               b.check_out_at, p.code_release_hours, b.codes_revoked_at IS NOT NULL AS "revoked!"
           FROM bookings b JOIN properties p ON p.id = b.property_id WHERE b.id = $1"#,
        booking_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(false) };
    let terms = ReleaseTerms {
        status: row.status,
        verified: row.verified,
        requires_verification: row.requires_verification,
        check_in_at: row.check_in_at,
        check_out_at: row.check_out_at,
        release_hours: row.code_release_hours,
    };
    Ok(!row.revoked && terms.at(now) == Release::Allowed)
}

/// Tells staff about a burst of wrong codes on `lock_id` for the booking.
pub async fn tell_staff_of_wrong_codes(
    conn: &mut PgConnection,
    booking_id: Uuid,
    lock_id: Uuid,
    count: i64,
    outcome: WrongCodesOutcome,
) -> AccessResult<()> {
    let row = sqlx::query!(
        "SELECT b.property_id, b.external_ref, g.name AS guest, r.name AS room, l.name AS lock
         FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id
         JOIN locks l ON l.id = $2 WHERE b.id = $1",
        booking_id,
        lock_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(()) };
    let booking = BookingRef { booking_id, guest: row.guest, reference: row.external_ref, room: row.room };
    let alert = StaffAlert::WrongCodes { booking, lock: row.lock, count, outcome };
    Ok(alert_staff(conn, row.property_id, alert).await?)
}

// ---------------------------------------------------------------- no-show

/// When a booking's no-show check runs: the first time after check-in the
/// property's clock shows `alert_time`; when that is more than
/// [`ARRIVAL_AFTER`] after check-in (check-in at 23:30 for 23:00),
/// [`LATE_CHECK_IN_GRACE`] after check-in. `None` when the property has no
/// alert time.
pub fn no_show_at(
    check_in_at: DateTime<Utc>,
    timezone: Timezone,
    alert_time: Option<NaiveTime>,
) -> Option<DateTime<Utc>> {
    let alert_time = alert_time?;
    let tz = timezone.tz();
    let day = check_in_at.with_timezone(&tz).date_naive();
    let first = [day, day.succ_opt()?]
        .into_iter()
        .map(|d| local_instant(tz, d.and_time(alert_time)))
        .find(|at| *at > check_in_at)?;
    if first - check_in_at > ARRIVAL_AFTER {
        return Some(check_in_at + LATE_CHECK_IN_GRACE);
    }
    Some(first)
}

/// Queues the booking's no-show check ([`no_show_at`]); queued again with
/// the booking, it moves with its dates. A time already past is not
/// queued (a booking told after its evening).
pub fn schedule_no_show(
    jobs: &mut queue::Batch,
    booking_id: Uuid,
    check_in_at: DateTime<Utc>,
    timezone: Timezone,
    alert_time: Option<NaiveTime>,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    if let Some(at) = no_show_at(check_in_at, timezone, alert_time).filter(|at| *at > now) {
        jobs.add(&CheckArrived { booking_id }, at)?;
    }
    Ok(())
}

/// The property's `no_show_alert_time` or timezone changed: the checks of
/// its arrivals still to come move to the new time.
pub async fn reschedule_no_shows(conn: &mut PgConnection, property_id: Uuid, now: DateTime<Utc>) -> AccessResult<()> {
    let rows = sqlx::query!(
        r#"SELECT b.id, b.check_in_at, p.timezone AS "timezone: Timezone", p.no_show_alert_time
           FROM bookings b JOIN properties p ON p.id = b.property_id
           WHERE b.property_id = $1 AND b.status = 'confirmed' AND b.arrived_at IS NULL AND b.check_out_at > $2"#,
        property_id,
        now
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut jobs = queue::Batch::default();
    for row in rows {
        schedule_no_show(&mut jobs, row.id, row.check_in_at, row.timezone, row.no_show_alert_time, now)?;
    }
    Ok(jobs.enqueue(conn).await?)
}

/// `CheckArrived`: staff are told once when a confirmed guest's code has
/// not been used by now. Nothing is said when the property turned the
/// alert off, or when no lock of the booking reports use (Seam and Nuki
/// do; a simulated lock does not).
pub async fn check_no_show(conn: &mut PgConnection, booking_id: Uuid, now: DateTime<Utc>) -> AccessResult<()> {
    let row = sqlx::query!(
        r#"SELECT b.property_id, b.external_ref, g.name AS guest, r.name AS room, b.check_in_at,
               p.timezone AS "timezone: Timezone",
               EXISTS (SELECT 1 FROM locks l WHERE l.property_id = b.property_id
                         AND (l.room_id = b.room_id OR l.room_id IS NULL) AND l.status = 'active'
                         AND l.provider IN ('seam', 'nuki')) AS "reports_use!"
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id
           JOIN properties p ON p.id = b.property_id
           WHERE b.id = $1 AND b.status = 'confirmed' AND b.arrived_at IS NULL AND b.check_out_at > $2
             AND p.no_show_alert_time IS NOT NULL"#,
        booking_id,
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row.filter(|r| r.reports_use) else { return Ok(()) };
    let booking = BookingRef { booking_id, guest: row.guest, reference: row.external_ref, room: row.room };
    let alert = StaffAlert::NoShow { booking, check_in_at: row.check_in_at, timezone: row.timezone };
    Ok(alert_staff(conn, row.property_id, alert).await?)
}

// ----------------------------------------------------------- late arrival

/// Whether an arrival at local time `at` is late for a property that asks
/// to hear of arrivals after `after`: from `after` until [`MORNING`] (an
/// `after` past midnight, e.g. 01:00, means that night's small hours only).
pub fn is_late(at: NaiveTime, after: NaiveTime) -> bool {
    if after >= MORNING {
        at >= after || at < MORNING
    } else {
        at >= after && at < MORNING
    }
}

/// The guest has just arrived (the first use of their code, at `at`): one
/// message to staff when the property asks to hear of late arrivals and
/// this one is.
pub async fn on_arrival(conn: &mut PgConnection, booking_id: Uuid, at: DateTime<Utc>) -> AccessResult<()> {
    let row = sqlx::query!(
        r#"SELECT b.property_id, b.external_ref, g.name AS guest, r.name AS room,
               p.timezone AS "timezone: Timezone", p.late_arrival_alert_after AS "after!"
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id
           JOIN properties p ON p.id = b.property_id
           WHERE b.id = $1 AND p.late_arrival_alert_after IS NOT NULL"#,
        booking_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(()) };
    if !is_late(at.with_timezone(&row.timezone.tz()).time(), row.after) {
        return Ok(());
    }
    let booking = BookingRef { booking_id, guest: row.guest, reference: row.external_ref, room: row.room };
    let alert = StaffAlert::LateArrival { booking, arrived_at: at, timezone: row.timezone };
    Ok(alert_staff(conn, row.property_id, alert).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn tz(name: &str) -> Timezone {
        Timezone::parse(name).unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn the_no_show_check_is_at_the_alert_time_of_the_arrival_day_in_the_propertys_time() {
        let new_york = tz("America/New_York");
        // 15:00 in New York (EST, UTC-5) on 10 Dec 2026.
        let check_in = Utc.with_ymd_and_hms(2026, 12, 10, 20, 0, 0).unwrap();
        let at = no_show_at(check_in, new_york, Some(time(23, 0))).unwrap();
        assert_eq!(at, Utc.with_ymd_and_hms(2026, 12, 11, 4, 0, 0).unwrap());
        assert_eq!(no_show_at(check_in, new_york, None), None, "off");
    }

    #[test]
    fn a_check_in_after_the_alert_time_is_checked_two_hours_later() {
        let bratislava = tz("Europe/Bratislava");
        // 23:30 local (UTC+1).
        let check_in = Utc.with_ymd_and_hms(2026, 12, 10, 22, 30, 0).unwrap();
        let at = no_show_at(check_in, bratislava, Some(time(23, 0))).unwrap();
        assert_eq!(at, check_in + Duration::hours(2));
        // An alert time past midnight is that night's.
        let afternoon = Utc.with_ymd_and_hms(2026, 12, 10, 14, 0, 0).unwrap();
        let at = no_show_at(afternoon, bratislava, Some(time(1, 0))).unwrap();
        assert_eq!(at, Utc.with_ymd_and_hms(2026, 12, 11, 0, 0, 0).unwrap());
    }

    #[test]
    fn late_is_after_the_propertys_time_or_before_six() {
        assert!(is_late(time(23, 30), time(22, 0)));
        assert!(is_late(time(2, 0), time(22, 0)));
        assert!(!is_late(time(15, 0), time(22, 0)));
        assert!(!is_late(time(6, 0), time(22, 0)));
        assert!(is_late(time(1, 30), time(1, 0)));
        assert!(!is_late(time(23, 30), time(1, 0)), "01:00 means after midnight");
    }
}
