//! Codes staff make by hand, on several locks at once: a window code
//! (`/issue`), a master code (`/master`), their own persistent code
//! (`/mycode`). A lock that cannot take one is reported, not fatal.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use sqlx::PgConnection;

use crate::access::audit::Actor;
use crate::access::error::{AccessError, AccessResult};
use crate::access::lifecycle::{self, ManualCode};
use crate::access::model::{CodeKind, CodeState};
use crate::access::rooms::LockRef;
use crate::access::staff::StaffMember;
use crate::access::stay::local_instant;

/// How far ahead a standalone code may start: a code for a far-off day
/// outlives oversight (review M3).
pub const ISSUE_AHEAD: Duration = Duration::days(30);

/// A standalone code's window starts more than [`ISSUE_AHEAD`] from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooFarAhead;

/// The window of a standalone code on `date` from `from` to `until`, local
/// times in `tz`; an `until` not after `from` is the next day's (past
/// midnight). Shared by `/issue` and the console.
pub fn standalone_window(
    tz: Tz,
    date: NaiveDate,
    (from, until): (NaiveTime, NaiveTime),
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), TooFarAhead> {
    let valid_from = local_instant(tz, date.and_time(from));
    let mut valid_until = local_instant(tz, date.and_time(until));
    if valid_until <= valid_from {
        // Past midnight: the next day's time (none after the last date
        // chrono knows, which the window check then refuses).
        if let Some(next_day) = date.checked_add_days(chrono::Days::new(1)) {
            valid_until = local_instant(tz, next_day.and_time(until));
        }
    }
    if valid_from > now + ISSUE_AHEAD {
        return Err(TooFarAhead);
    }
    Ok((valid_from, valid_until))
}

/// What one lock got.
#[derive(Debug)]
pub struct Issued {
    /// The lock's name.
    pub lock: String,
    /// The code's value, or why this lock has none (full, inactive, a
    /// clash or a window it cannot take).
    pub outcome: Result<String, AccessError>,
}

/// Creates `manual` on each lock.
pub async fn issue_on_locks(
    conn: &mut PgConnection,
    locks: &[LockRef],
    manual: &ManualCode,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<Vec<Issued>> {
    let mut issued = Vec::with_capacity(locks.len());
    for lock in locks {
        let outcome = create_one(conn, lock, manual, actor, now).await?;
        issued.push(Issued { lock: lock.name.clone(), outcome });
    }
    Ok(issued)
}

/// A staff member's persistent code on each lock: the working one they
/// have, else a new one.
pub async fn staff_codes(
    conn: &mut PgConnection,
    locks: &[LockRef],
    staff: &StaffMember,
    now: DateTime<Utc>,
) -> AccessResult<Vec<Issued>> {
    let manual = ManualCode {
        kind: CodeKind::Staff,
        booking_ref: None,
        staff_id: Some(staff.id),
        valid_from: None,
        valid_until: None,
        label: Some(staff.name.clone()),
    };
    let mut issued = Vec::with_capacity(locks.len());
    for lock in locks {
        let existing = sqlx::query_scalar!(
            "SELECT code FROM access_codes WHERE lock_id = $1 AND staff_id = $2 AND kind = 'staff' AND state = ANY($3)",
            lock.id,
            staff.id,
            CodeState::WORKING as &[CodeState]
        )
        .fetch_optional(&mut *conn)
        .await?;
        let outcome = match existing {
            Some(value) => Ok(value),
            None => create_one(conn, lock, &manual, staff.actor(), now).await?,
        };
        issued.push(Issued { lock: lock.name.clone(), outcome });
    }
    Ok(issued)
}

/// The new code's value, or the refusal that concerns this lock only.
async fn create_one(
    conn: &mut PgConnection,
    lock: &LockRef,
    manual: &ManualCode,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<Result<String, AccessError>> {
    match lifecycle::create_manual_code(&mut *conn, lock.id, manual, actor, now).await {
        Ok(id) => {
            let value =
                sqlx::query_scalar!("SELECT code FROM access_codes WHERE id = $1", id).fetch_one(&mut *conn).await?;
            Ok(Ok(value))
        }
        Err(e @ (AccessError::LockFull { .. } | AccessError::Conflict(_) | AccessError::Invalid(_))) => Ok(Err(e)),
        Err(e) => Err(e),
    }
}
