//! Events a lock provider pushes (Seam's webhooks): a faster path than
//! polling, acted on through the same jobs.

use sqlx::PgPool;

use super::locks::record_usage;
use super::{CheckLocks, ReconcileLock};
use crate::access::jobs::{ConfirmCode, RemoveCode};
use crate::access::model::CodeState;
use crate::access::AccessError;
use crate::jobs::queue;
use crate::lock_providers::seam::SeamEvent;
use crate::lock_providers::UsageEvent;

/// Seam's event about one of doorman's locks: an unlock with a code is
/// recorded at once (deduplicated by Seam's event id); a code or device
/// event queues the job that asks Seam about it. Events for unknown devices
/// are ignored.
pub async fn handle_seam_event(db: &PgPool, event: &SeamEvent) -> Result<(), AccessError> {
    // A connected account's events name no device (SPEC §12).
    if super::accounts::handle_seam_account_event(db, event).await? {
        return Ok(());
    }
    let Some(device_id) = &event.device_id else {
        return Ok(());
    };
    let lock_id =
        sqlx::query_scalar!("SELECT id FROM locks WHERE provider = 'seam' AND provider_device_id = $1", device_id)
            .fetch_optional(db)
            .await?;
    let Some(lock_id) = lock_id else {
        tracing::info!(event_type = %event.event_type, "a Seam event for a device doorman does not know");
        return Ok(());
    };
    let now = chrono::Utc::now();
    let mut conn = db.acquire().await?;
    match event.event_type.as_str() {
        "lock.unlocked" if event.access_code_id.is_some() => {
            let usage = UsageEvent {
                event_id: event.event_id.clone(),
                provider_ref: event.access_code_id.clone(),
                occurred_at: event.occurred_at,
                denied: false,
            };
            record_usage(db, lock_id, &[usage]).await?;
        }
        // A wrong code at the keypad (SPEC §12); Seam may not say which.
        "lock.access_denied" => {
            record_usage(db, lock_id, &[denial(event)]).await?;
        }
        kind if kind.starts_with("access_code.") => {
            let code = sqlx::query!(
                r#"SELECT id, state AS "state: CodeState" FROM access_codes
                   WHERE lock_id = $1 AND provider_ref = $2 ORDER BY created_at DESC LIMIT 1"#,
                lock_id,
                event.access_code_id
            )
            .fetch_optional(&mut *conn)
            .await?;
            match code {
                Some(c) if c.state == CodeState::Programming => {
                    queue::enqueue(&mut conn, &ConfirmCode { code_id: c.id }, now).await?
                }
                Some(c) if c.state == CodeState::Removing => {
                    queue::enqueue(&mut conn, &RemoveCode { code_id: c.id }, now).await?
                }
                // A change to a code doorman believes settled, or to one it
                // does not know: look at the whole lock.
                _ => queue::enqueue(&mut conn, &ReconcileLock { lock_id }, now).await?,
            }
        }
        kind if kind.starts_with("device.") => queue::enqueue(&mut conn, &CheckLocks {}, now).await?,
        _ => {}
    }
    Ok(())
}

/// Seam's `lock.access_denied`: one refused entry (some brands report one
/// after several wrong tries in a row).
fn denial(event: &SeamEvent) -> UsageEvent {
    UsageEvent {
        event_id: event.event_id.clone(),
        provider_ref: event.access_code_id.clone(),
        occurred_at: event.occurred_at,
        denied: true,
    }
}
