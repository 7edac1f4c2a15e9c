//! State changes of a code found by reconciliation. Each is one guarded
//! `UPDATE` (it applies only if the code has not changed since it was read),
//! its audit row and its follow-up job, in the caller's transaction; each
//! returns whether it applied.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::{self, Actor, Subject};
use super::jobs::{ProgramCode, RemoveCode, UpdateCode};
use super::AccessResult;
use crate::jobs::queue;

/// A code as it was read: the change applies only if it is still so.
#[derive(Debug, Clone)]
pub struct Guard {
    /// The code.
    pub code_id: Uuid,
    /// When it last changed, as read.
    pub updated_at: DateTime<Utc>,
    /// What its audit rows are about.
    pub subject: Subject,
}

/// `set` → `pending`: the code is gone from the lock and is programmed again.
pub async fn reprogram_missing(conn: &mut PgConnection, guard: &Guard) -> AccessResult<bool> {
    let changed = sqlx::query!(
        "UPDATE access_codes SET state = 'pending', provider_ref = NULL, set_at = NULL, updated_at = now()
         WHERE id = $1 AND state = 'set' AND updated_at = $2",
        guard.code_id,
        guard.updated_at
    )
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(false);
    }
    let details = json!({ "action": "reprogram" });
    audit::record(&mut *conn, Actor::System, "code.drift_missing", guard.subject, details).await?;
    queue::enqueue(conn, &ProgramCode { code_id: guard.code_id }, Utc::now()).await?;
    Ok(true)
}

/// `set` → `failed`: the provider dropped the code from the device. The
/// caller tells staff; the deadline check hands a backup code to a guest
/// arriving soon.
pub async fn fail_on_device(conn: &mut PgConnection, guard: &Guard, reason: &str) -> AccessResult<bool> {
    let changed = sqlx::query!(
        "UPDATE access_codes SET state = 'failed', last_error = $3, updated_at = now()
         WHERE id = $1 AND state = 'set' AND updated_at = $2",
        guard.code_id,
        guard.updated_at,
        reason
    )
    .execute(&mut *conn)
    .await?;
    if changed.rows_affected() == 0 {
        return Ok(false);
    }
    let details = json!({ "error": reason });
    audit::record(&mut *conn, Actor::System, "code.drift_failed", guard.subject, details).await?;
    Ok(true)
}

/// The lock holds another window than doorman's: audited, and the code's
/// window is put on the lock again (no state change).
pub async fn fix_window(conn: &mut PgConnection, guard: &Guard, details: serde_json::Value) -> AccessResult<bool> {
    audit::record(&mut *conn, Actor::System, "code.drift_window", guard.subject, details).await?;
    queue::enqueue(conn, &UpdateCode { code_id: guard.code_id }, Utc::now()).await?;
    Ok(true)
}

/// `programming`/`failed` → `set`: the code landed on the lock after all.
pub async fn mark_landed(conn: &mut PgConnection, guard: &Guard, provider_ref: &str) -> AccessResult<bool> {
    let landed = sqlx::query!(
        "UPDATE access_codes SET state = 'set', provider_ref = $2, set_at = now(), last_error = NULL, updated_at = now()
         WHERE id = $1 AND state IN ('programming', 'failed') AND updated_at = $3",
        guard.code_id,
        provider_ref,
        guard.updated_at
    )
    .execute(&mut *conn)
    .await?;
    if landed.rows_affected() == 0 {
        return Ok(false);
    }
    let details = json!({ "by": "reconciliation" });
    audit::record(&mut *conn, Actor::System, "code.set", guard.subject, details).await?;
    Ok(true)
}

/// `removed` → `removing`: the code is on the lock again after its removal.
pub async fn restart_removal(conn: &mut PgConnection, guard: &Guard, provider_ref: &str) -> AccessResult<bool> {
    let restarted = sqlx::query!(
        "UPDATE access_codes SET state = 'removing', provider_ref = $2, removed_at = NULL, updated_at = now()
         WHERE id = $1 AND state = 'removed' AND updated_at = $3",
        guard.code_id,
        provider_ref,
        guard.updated_at
    )
    .execute(&mut *conn)
    .await?;
    if restarted.rows_affected() == 0 {
        return Ok(false);
    }
    let why = json!({ "why": "the code is on the lock again after its removal" });
    audit::record(&mut *conn, Actor::System, "code.removal_restarted", guard.subject, why).await?;
    queue::enqueue(conn, &RemoveCode { code_id: guard.code_id }, Utc::now()).await?;
    Ok(true)
}
