//! Every change of `access_codes.state`, one function each (SPEC §3.5–§3.7,
//! §3.10). Each runs one guarded `UPDATE` (it applies only if the code is
//! still in the state it is changed from), its audit row and its follow-up
//! job, in the caller's transaction, and returns whether it applied.
//!
//! ```text
//! pending ─start_programming→ programming ─mark_set→ set
//!    └──────────mark_failed──────┴→ failed ←fail_on_device─┘
//! programming/failed ─mark_landed→ set ─reprogram_missing→ pending
//! any live ─begin_removal→ removing ─mark_removed→ removed
//! removed ─restart_removal / restart_revoked_removal→ removing
//! ```

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::mask;
use crate::access::audit::{self, Actor, Subject};
use crate::access::jobs::{ConfirmCode, ProgramCode, RemoveCode, UpdateCode};
use crate::access::model::CodeState;
use crate::access::AccessResult;
use crate::jobs::queue;

/// `pending` (or `programming`, when a programming job runs again) →
/// `programming`: the code is about to be sent to its lock.
pub async fn start_programming(conn: &mut PgConnection, code_id: Uuid) -> AccessResult<bool> {
    let started = sqlx::query!(
        "UPDATE access_codes SET state = 'programming', sent_at = now(), updated_at = now()
         WHERE id = $1 AND state IN ('pending', 'programming')",
        code_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(started.rows_affected() == 1)
}

/// The provider accepted the code but has not applied it yet: its id is kept
/// (no state change) and a confirmation poll is queued for `first_poll`.
pub async fn await_confirmation(
    conn: &mut PgConnection,
    code_id: Uuid,
    provider_ref: Option<&str>,
    first_poll: DateTime<Utc>,
) -> AccessResult<()> {
    sqlx::query!(
        "UPDATE access_codes SET provider_ref = COALESCE($2, provider_ref), last_error = NULL, updated_at = now()
         WHERE id = $1",
        code_id,
        provider_ref
    )
    .execute(&mut *conn)
    .await?;
    queue::enqueue(conn, &ConfirmCode { code_id }, first_poll).await?;
    Ok(())
}

/// `programming` → `set`: the provider shows the code on the device.
pub async fn mark_set(
    conn: &mut PgConnection,
    code_id: Uuid,
    subject: Subject,
    provider_ref: &str,
) -> AccessResult<bool> {
    let set = sqlx::query!(
        "UPDATE access_codes SET state = 'set', provider_ref = $2, set_at = now(), last_error = NULL, updated_at = now()
         WHERE id = $1 AND state = 'programming'",
        code_id,
        provider_ref
    )
    .execute(&mut *conn)
    .await?;
    if set.rows_affected() == 0 {
        return Ok(false);
    }
    audit::record(&mut *conn, Actor::System, "code.set", subject, json!({ "provider_ref": provider_ref })).await?;
    Ok(true)
}

/// `removing`/`removed` → `removing`: a code revoked while it was being
/// programmed has just landed on the lock, so its removal starts again.
/// Audited and queued whether or not the row changed, as the confirmation
/// has always done.
pub async fn restart_revoked_removal(
    conn: &mut PgConnection,
    code_id: Uuid,
    subject: Subject,
    provider_ref: &str,
) -> AccessResult<bool> {
    let restarted = sqlx::query!(
        "UPDATE access_codes SET provider_ref = $2, state = 'removing', removed_at = NULL, updated_at = now()
         WHERE id = $1 AND state IN ('removing', 'removed')",
        code_id,
        provider_ref
    )
    .execute(&mut *conn)
    .await?;
    let why = json!({ "why": "the code reached the lock after it was revoked" });
    audit::record(&mut *conn, Actor::System, "code.removal_restarted", subject, why).await?;
    queue::enqueue(conn, &RemoveCode { code_id }, Utc::now()).await?;
    Ok(restarted.rows_affected() == 1)
}

/// `pending`/`programming` → `failed`: programming was given up on. Audited
/// as `code.failed` when it applied; the caller tells staff.
pub async fn mark_failed(conn: &mut PgConnection, code_id: Uuid, error: &str) -> AccessResult<bool> {
    let failed = sqlx::query!(
        "UPDATE access_codes SET state = 'failed', last_error = $2, updated_at = now()
         WHERE id = $1 AND state IN ('pending', 'programming') RETURNING lock_id, booking_id",
        code_id,
        error
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = failed else {
        return Ok(false);
    };
    let subject = Subject {
        lock_id: Some(row.lock_id),
        code_id: Some(code_id),
        booking_id: row.booking_id,
        ..Default::default()
    };
    audit::record(&mut *conn, Actor::System, "code.failed", subject, json!({ "error": error })).await?;
    Ok(true)
}

/// Any live state → `removing`: the code is revoked or has expired; audited
/// as `code.revoked` and a removal job queued.
pub async fn begin_removal(conn: &mut PgConnection, code_id: Uuid, actor: Actor, reason: &str) -> AccessResult<bool> {
    let row = sqlx::query!(
        "UPDATE access_codes SET state = 'removing', revoked_by = $2, revoke_reason = $3, revoked_at = now(),
             updated_at = now()
         WHERE id = $1 AND state = ANY($4)
         RETURNING lock_id, booking_id, code",
        code_id,
        actor.to_db(),
        reason,
        CodeState::LIVE as &[CodeState],
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    let subject = Subject {
        lock_id: Some(row.lock_id),
        code_id: Some(code_id),
        booking_id: row.booking_id,
        ..Default::default()
    };
    let details = json!({ "reason": reason, "code": mask(&row.code) });
    audit::record(&mut *conn, actor, "code.revoked", subject, details).await?;
    queue::enqueue(conn, &RemoveCode { code_id }, Utc::now()).await?;
    Ok(true)
}

/// `removing` → `removed`: the device no longer shows the code.
pub async fn mark_removed(conn: &mut PgConnection, code_id: Uuid, subject: Subject) -> AccessResult<bool> {
    let removed = sqlx::query!(
        "UPDATE access_codes SET state = 'removed', removed_at = now(), last_error = NULL, updated_at = now()
         WHERE id = $1 AND state = 'removing'",
        code_id
    )
    .execute(&mut *conn)
    .await?;
    if removed.rows_affected() == 0 {
        return Ok(false);
    }
    audit::record(&mut *conn, Actor::System, "code.removed", subject, json!({})).await?;
    Ok(true)
}

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
