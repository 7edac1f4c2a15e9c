//! Ready for every arrival (SPEC §12): 24 and 3 hours before each
//! check-in, every lock the booking needs is online, above the property's
//! `battery_alert_percent` and holds the guest's code `set`, and a channel
//! can reach the guest. A failed check is one alert to staff naming the
//! booking, the lock and what to do; a check that passes after a failure
//! says so once. The latest check is stored on the booking
//! (`booking_readiness`) for `GET /bookings/{ref}` and the console.
//!
//! The lock statuses come from `locks` as the device jobs stored them; the
//! `CheckReadiness` job (in the device layer) reads a lock's status from
//! its provider first when the stored one is older than [`FRESH`], once per
//! lock however many arrivals need it.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::accounts::{account_name, what_to_do};
use super::alerts::{alert_staff, BookingRef, StaffAlert};
use super::jobs::CheckReadiness;
use super::model::{AccountState, ProviderKind};
use super::timezone::Timezone;
use super::AccessResult;
use crate::jobs::queue;

/// When the checks run: hours before check-in.
pub const LEADS: [i32; 2] = [24, 3];
/// A lock status read this recently is used as it is.
pub const FRESH: Duration = Duration::minutes(15);

/// What is wrong with one arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The lock did not answer at the last status read.
    LockOffline,
    /// The lock's battery is under the property's `battery_alert_percent`.
    BatteryLow,
    /// The keypad's own battery is low.
    KeypadBatteryLow,
    /// The guest's code is not on the lock (`pending`, `programming`,
    /// `failed`, or none at all).
    CodeNotSet,
    /// No phone, e-mail or linked chat: the guest gets no message.
    GuestUnreachable,
    /// The lock's provider account does not work (a Seam account
    /// disconnected, Nuki refusing `NUKI_API_TOKEN`): doorman cannot
    /// reach the lock at all.
    AccountDisconnected,
}

/// One problem of an arrival.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// What is wrong.
    pub problem: ProblemKind,
    /// The lock, when the problem is a lock's.
    pub lock_id: Option<Uuid>,
    /// Its name.
    pub lock: Option<String>,
    /// The facts: `battery 15 % (alert under 25 %)`, `code failed`.
    pub detail: String,
}

/// A booking's latest readiness check.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    /// Hours before check-in of the check (24 or 3).
    pub lead_hours: i32,
    /// When it ran.
    pub checked_at: DateTime<Utc>,
    /// Nothing wrong.
    pub ready: bool,
    /// What was wrong; empty when ready.
    pub problems: Vec<Problem>,
}

/// Queues the booking's checks ([`plan`]). Queued again with the booking,
/// they move with its dates.
pub fn schedule(
    jobs: &mut queue::Batch,
    booking_id: Uuid,
    check_in_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    for (lead_hours, at) in plan(check_in_at, now) {
        jobs.add(&CheckReadiness { booking_id, lead_hours }, at)?;
    }
    Ok(())
}

/// When the checks of an arrival run: 24 and 3 hours before check-in; one
/// whose time has passed runs in ten minutes (a booking made 20 hours
/// ahead is checked at once, once its codes had a moment to reach the
/// locks), but only one of them when both have.
pub fn plan(check_in_at: DateTime<Utc>, now: DateTime<Utc>) -> Vec<(i32, DateTime<Utc>)> {
    let soonest = now + SETTLE;
    if soonest >= check_in_at {
        return Vec::new();
    }
    let mut planned: Vec<(i32, DateTime<Utc>)> = Vec::new();
    for lead_hours in LEADS {
        let at = (check_in_at - Duration::hours(i64::from(lead_hours))).max(soonest);
        if at == soonest && planned.last().is_some_and(|(_, earlier)| *earlier == soonest) {
            planned.pop();
        }
        planned.push((lead_hours, at));
    }
    planned
}

/// How long a new booking's codes get to reach the locks before a check.
const SETTLE: Duration = Duration::minutes(10);

/// A lock the booking needs whose status is older than [`FRESH`]: claimed
/// for this check (its `status_checked_at` set now), so that the checks of
/// other arrivals on the same lock use the read this one makes.
pub async fn claim_stale_locks(
    conn: &mut PgConnection,
    booking_id: Uuid,
    now: DateTime<Utc>,
) -> AccessResult<Vec<(Uuid, ProviderKind)>> {
    let rows = sqlx::query!(
        r#"UPDATE locks l SET status_checked_at = $2
           FROM bookings b
           WHERE b.id = $1 AND l.property_id = b.property_id AND (l.room_id = b.room_id OR l.room_id IS NULL)
             AND l.status = 'active' AND (l.status_checked_at IS NULL OR l.status_checked_at < $3)
           RETURNING l.id, l.provider AS "provider: ProviderKind""#,
        booking_id,
        now,
        now - FRESH
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.provider)).collect())
}

/// What a check found.
#[derive(Debug)]
pub enum Outcome {
    /// The booking is no longer an arrival to check (cancelled, begun).
    Skipped,
    /// Its dates moved: the check belongs at this later time.
    Later(DateTime<Utc>),
    /// Checked, stored, and told where it had to be.
    Checked(Readiness),
}

struct Arrival {
    property_id: Uuid,
    reference: String,
    guest: String,
    room: String,
    check_in_at: DateTime<Utc>,
    timezone: Timezone,
    battery_alert_percent: i32,
    codes_revoked: bool,
}

/// Checks one arrival from what is stored, stores the result and alerts
/// staff: once per set of problems, and once when it passes after a
/// failure.
pub async fn assess(
    conn: &mut PgConnection,
    booking_id: Uuid,
    lead_hours: i32,
    now: DateTime<Utc>,
) -> AccessResult<Outcome> {
    let Some(arrival) = arrival(conn, booking_id, now).await? else { return Ok(Outcome::Skipped) };
    let due = arrival.check_in_at - Duration::hours(i64::from(lead_hours));
    if due > now + Duration::minutes(5) {
        return Ok(Outcome::Later(due));
    }
    let problems = problems(conn, booking_id, &arrival).await?;
    let told_before = store(conn, booking_id, lead_hours, now, &problems).await?;
    let booking = BookingRef {
        booking_id,
        guest: arrival.guest.clone(),
        reference: arrival.reference.clone(),
        room: arrival.room.clone(),
    };
    if !problems.is_empty() {
        let alert = StaffAlert::NotReady {
            booking,
            check_in_at: arrival.check_in_at,
            timezone: arrival.timezone,
            problems: problems.clone(),
        };
        alert_staff(conn, arrival.property_id, alert).await?;
    } else if told_before {
        let alert = StaffAlert::ReadyAgain { booking, lead_hours };
        alert_staff(conn, arrival.property_id, alert).await?;
    }
    let ready = problems.is_empty();
    Ok(Outcome::Checked(Readiness { lead_hours, checked_at: now, ready, problems }))
}

async fn arrival(conn: &mut PgConnection, booking_id: Uuid, now: DateTime<Utc>) -> AccessResult<Option<Arrival>> {
    Ok(sqlx::query_as!(
        Arrival,
        r#"SELECT b.property_id, b.external_ref AS reference, g.name AS guest, r.name AS room, b.check_in_at,
               p.timezone AS "timezone: Timezone", p.battery_alert_percent,
               b.codes_revoked_at IS NOT NULL AS "codes_revoked!"
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id
           JOIN properties p ON p.id = b.property_id
           WHERE b.id = $1 AND b.status = 'confirmed' AND b.check_in_at > $2"#,
        booking_id,
        now
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// The problems of the arrival, lock by lock (entrances first), then the
/// guest's channel.
async fn problems(conn: &mut PgConnection, booking_id: Uuid, arrival: &Arrival) -> AccessResult<Vec<Problem>> {
    let locks = sqlx::query!(
        r#"SELECT l.id, l.name, l.provider AS "provider: ProviderKind", l.device_online, l.battery_percent,
               l.battery_low, l.keypad_battery_low, l.account_key,
               (SELECT a.state FROM provider_accounts a
                  WHERE a.provider = l.provider AND a.account_id = l.account_key AND a.state <> 'connected')
                  AS "account_state: AccountState",
               (SELECT c.state FROM access_codes c
                  WHERE c.booking_id = $1 AND c.lock_id = l.id AND c.kind = 'guest' AND c.state <> 'removed'
                  ORDER BY c.created_at DESC LIMIT 1) AS code_state
           FROM locks l JOIN bookings b ON b.id = $1
           WHERE l.property_id = b.property_id AND (l.room_id = b.room_id OR l.room_id IS NULL)
             AND l.status = 'active'
           ORDER BY l.room_id IS NOT NULL, l.name"#,
        booking_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut problems = Vec::new();
    for lock in locks {
        let mut add = |problem, detail: String| {
            problems.push(Problem { problem, lock_id: Some(lock.id), lock: Some(lock.name.clone()), detail });
        };
        if let Some(state) = lock.account_state {
            // Neither its status nor its codes move while the account is
            // down: the account is the one problem to tell.
            let account = account_name(lock.provider, lock.account_key.as_deref().unwrap_or_default());
            let todo = what_to_do(lock.provider, state);
            add(
                ProblemKind::AccountDisconnected,
                format!("{account} is {} ({todo})", state.as_str().replace('_', " ")),
            );
            continue;
        }
        if lock.device_online == Some(false) {
            add(ProblemKind::LockOffline, "offline at the last status read".into());
        } else {
            let under = lock.battery_percent.is_some_and(|b| b < arrival.battery_alert_percent);
            if under || lock.battery_low == Some(true) {
                let level = lock.battery_percent.map_or("low".to_owned(), |b| format!("{b} %"));
                add(
                    ProblemKind::BatteryLow,
                    format!("battery {level} (alert under {} %)", arrival.battery_alert_percent),
                );
            }
            if lock.keypad_battery_low == Some(true) {
                add(ProblemKind::KeypadBatteryLow, "keypad battery low".into());
            }
        }
        // Codes staff revoked are meant to be gone.
        match lock.code_state.as_deref() {
            Some("set") => {}
            _ if arrival.codes_revoked => {}
            Some(state) => add(ProblemKind::CodeNotSet, format!("code {state}")),
            None => add(ProblemKind::CodeNotSet, "no code".into()),
        }
    }
    if super::claims::unreachable(conn, booking_id).await?.is_some() {
        let detail = "no phone, e-mail or linked chat".to_owned();
        problems.push(Problem { problem: ProblemKind::GuestUnreachable, lock_id: None, lock: None, detail });
    }
    Ok(problems)
}

/// Stores the check; returns whether a failure had been told before it
/// (and not yet followed by a pass).
async fn store(
    conn: &mut PgConnection,
    booking_id: Uuid,
    lead_hours: i32,
    now: DateTime<Utc>,
    problems: &[Problem],
) -> AccessResult<bool> {
    let before = sqlx::query_scalar!(
        r#"WITH before AS (SELECT told_failure FROM booking_readiness WHERE booking_id = $1)
           INSERT INTO booking_readiness (booking_id, lead_hours, checked_at, problems, told_failure)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (booking_id) DO UPDATE SET lead_hours = $2, checked_at = $3, problems = $4, told_failure = $5
           RETURNING (SELECT told_failure FROM before) AS told_before"#,
        booking_id,
        lead_hours,
        now,
        serde_json::to_value(problems).unwrap_or_default(),
        !problems.is_empty(),
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(before.unwrap_or(false))
}

/// The booking's latest check, if one ran.
pub async fn latest(db: impl sqlx::PgExecutor<'_>, booking_id: Uuid) -> AccessResult<Option<Readiness>> {
    let row = sqlx::query!(
        "SELECT lead_hours, checked_at, problems FROM booking_readiness WHERE booking_id = $1",
        booking_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| {
        let problems: Vec<Problem> = serde_json::from_value(r.problems).unwrap_or_default();
        Readiness { lead_hours: r.lead_hours, checked_at: r.checked_at, ready: problems.is_empty(), problems }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leads(check_in_in: Duration) -> Vec<(i32, bool)> {
        let now = Utc::now();
        plan(now + check_in_in, now).into_iter().map(|(lead, at)| (lead, at == now + SETTLE)).collect()
    }

    #[test]
    fn both_checks_ahead_of_a_far_arrival_and_what_is_left_of_a_near_one_now() {
        assert_eq!(leads(Duration::days(3)), [(24, false), (3, false)]);
        assert_eq!(leads(Duration::hours(20)), [(24, true), (3, false)], "T-24 h passed: checked soon");
        assert_eq!(leads(Duration::hours(2)), [(3, true)], "both passed: one check, soon");
        assert!(leads(-Duration::hours(1)).is_empty(), "begun: none");
    }
}
