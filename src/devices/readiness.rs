//! `CheckReadiness` (SPEC §12): reads the status of each lock the arrival
//! needs from its provider, once per lock however many arrivals share it
//! (a read younger than [`readiness::FRESH`] is used as it is), then lets
//! the core judge the arrival ([`readiness::assess`]).

use chrono::Utc;

use super::locks::refresh_status;
use crate::access::jobs::CheckReadiness;
use crate::access::readiness::{self, Outcome};
use crate::context::JobContext;
use crate::jobs::{queue, JobError, Run};

impl Run<JobContext> for CheckReadiness {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        check(ctx, self).await
    }
}

async fn check(ctx: &JobContext, job: &CheckReadiness) -> Result<(), JobError> {
    let now = Utc::now();
    let stale = {
        let mut conn = ctx.db.acquire().await?;
        readiness::claim_stale_locks(&mut conn, job.booking_id, now).await?
    };
    for (lock_id, provider) in stale {
        if ctx.providers.get(provider).is_err() {
            continue;
        }
        // An unreachable device is stored as offline: that is the finding.
        if let Err(e) = refresh_status(&ctx.db, &ctx.providers, lock_id).await {
            tracing::info!(%lock_id, error = %e, "readiness: the lock did not answer");
        }
    }
    let mut tx = ctx.db.begin().await?;
    if let Outcome::Later(at) = readiness::assess(&mut tx, job.booking_id, job.lead_hours, now).await? {
        queue::enqueue(&mut tx, job, at).await?;
    }
    tx.commit().await?;
    Ok(())
}
