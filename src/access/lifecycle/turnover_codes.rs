//! A cleaner's code for a turnover (SPEC §11): kind `staff`, on the room's
//! locks and the property's entrances (the locks a stay of the room uses),
//! one value for all of them where their rules allow it, valid for the
//! turnover's window only.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{booking_locks, insert_shared, occupancy, warn_if_nearly_full, Drawn, LockSlot, NewCode, Occupancy};
use crate::access::audit::{self, Actor, Subject};
use crate::access::error::AccessResult;
use crate::access::model::{CodeKind, CodeState};
use crate::jobs::queue;

/// The turnover a code is drawn for.
#[derive(Debug, Clone)]
pub struct TurnoverCode<'a> {
    /// The turnover.
    pub turnover_id: Uuid,
    /// Its property.
    pub property_id: Uuid,
    /// Its room.
    pub room_id: Uuid,
    /// The cleaner.
    pub staff_id: Uuid,
    /// The code's label, e.g. `turnover BK-1 → BK-2`.
    pub label: &'a str,
    /// Start of the window on the lock.
    pub valid_from: DateTime<Utc>,
    /// End of the window on the lock.
    pub valid_until: DateTime<Utc>,
}

/// Issues the turnover's code on each lock of the room and its entrances
/// that does not have one yet; a full lock is skipped and audited
/// (`lock.full`). Returns how many codes were created.
pub async fn issue_turnover_codes(conn: &mut PgConnection, t: &TurnoverCode<'_>, actor: Actor) -> AccessResult<usize> {
    let covered = sqlx::query_scalar!(
        "SELECT lock_id FROM access_codes WHERE turnover_id = $1 AND state = ANY($2)",
        t.turnover_id,
        CodeState::LIVE as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    let locks: Vec<LockSlot> =
        booking_locks(conn, t.property_id, t.room_id).await?.into_iter().filter(|l| !covered.contains(&l.id)).collect();
    if locks.is_empty() {
        return Ok(0);
    }
    let lock_ids: Vec<Uuid> = locks.iter().map(|l| l.id).collect();
    let Occupancy { live, taken } = occupancy(conn, &lock_ids).await?;
    let mut open = Vec::new();
    for lock in &locks {
        let live = live.get(&lock.id).copied().unwrap_or(0);
        if live >= i64::from(lock.capacity) {
            let subject = Subject { property_id: Some(lock.property_id), lock_id: Some(lock.id), ..Default::default() };
            let details =
                json!({ "lock": lock.name, "live": live, "capacity": lock.capacity, "turnover": t.turnover_id });
            audit::record(&mut *conn, actor, "lock.full", subject, details).await?;
            tracing::error!(lock = %lock.name, live, capacity = lock.capacity, "lock is full: no turnover code issued");
            continue;
        }
        open.push((lock, live));
    }
    let Some((first, _)) = open.first() else {
        return Ok(0);
    };
    let base = NewCode {
        lock: first,
        kind: CodeKind::Staff,
        booking_id: None,
        booking_ref: None,
        staff_id: Some(t.staff_id),
        label: Some(t.label),
        valid_from: t.valid_from,
        valid_until: Some(t.valid_until),
        turnover_id: Some(t.turnover_id),
    };
    let mut jobs = queue::Batch::default();
    let shared = open
        .iter()
        .skip(1)
        .try_fold(first.rules(CodeKind::Staff), |acc, (lock, _)| acc.shared_with(&lock.rules(CodeKind::Staff)));
    match shared {
        Some(rules) => {
            let slots: Vec<&LockSlot> = open.iter().map(|(lock, _)| *lock).collect();
            let drawn = Drawn { preferred: None, taken: Some(taken) };
            insert_shared(conn, base, &slots, &rules, drawn, actor, &mut jobs).await?;
        }
        None => {
            for (lock, _) in &open {
                let drawn = Drawn { preferred: None, taken: Some(taken.clone()) };
                let one = NewCode { lock, ..base };
                insert_shared(conn, one, &[lock], &lock.rules(CodeKind::Staff), drawn, actor, &mut jobs).await?;
            }
        }
    }
    jobs.enqueue(conn).await?;
    for (lock, live) in &open {
        warn_if_nearly_full(conn, lock, live + 1, actor).await?;
    }
    Ok(open.len())
}
