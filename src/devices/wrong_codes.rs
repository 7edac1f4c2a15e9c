//! `BackupAfterWrongCodes` (SPEC §12): the guest's code is `set` on the
//! lock, was sent to them again, and the lock still refuses their entries.
//! Where the lock has a backup code (kept on it, or in the provider's
//! pool) and the release rule lets the guest have a code now, the backup
//! replaces their code and is sent to them at once, as when a code is not
//! on the lock in time ([`replace_with_backup`]); staff are told either way.

use chrono::Utc;

use super::locks::{replace_with_backup, Replace};
use crate::access::arrivals::{self, WrongCodesOutcome};
use crate::access::codes::mask;
use crate::access::jobs::BackupAfterWrongCodes;
use crate::context::JobContext;
use crate::jobs::{JobError, Run};

impl Run<JobContext> for BackupAfterWrongCodes {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        give_backup(ctx, self).await
    }
}

async fn give_backup(ctx: &JobContext, job: &BackupAfterWrongCodes) -> Result<(), JobError> {
    let (code_id, releasable) = {
        let mut conn = ctx.db.acquire().await?;
        let code_id = arrivals::refused_code(&mut conn, job.booking_id, job.lock_id).await?;
        (code_id, arrivals::may_release(&mut conn, job.booking_id, Utc::now()).await?)
    };
    // No code is handed to a guest the release rule refuses.
    let outcome = match code_id {
        None => return Ok(()),
        Some(_) if !releasable => WrongCodesOutcome::BackupNotReleased,
        Some(code_id) => match replace_with_backup(ctx, code_id, Replace::RefusedAtTheDoor).await? {
            Some(backup_id) => {
                let value = sqlx::query_scalar!("SELECT code FROM access_codes WHERE id = $1", backup_id)
                    .fetch_one(&ctx.db)
                    .await?;
                WrongCodesOutcome::BackupGiven { masked: mask(&value) }
            }
            None => WrongCodesOutcome::NoBackup,
        },
    };
    let mut tx = ctx.db.begin().await?;
    arrivals::tell_staff_of_wrong_codes(&mut tx, job.booking_id, job.lock_id, job.count, outcome).await?;
    tx.commit().await?;
    Ok(())
}
