//! The nightly clean-up: the inbox and the dead jobs do not grow for ever.
//!
//! Processed webhooks (they hold guests' messages; updates doorman does not
//! read are stored as processed), dead jobs and plain replies outside a
//! booking (answers to strangers, mostly) are deleted after
//! [`RETENTION_DAYS`]. An update that was never processed is kept: it is a
//! problem someone has to look at. The other notifications and the audit
//! trail are kept: they are the record of who got which code (without the
//! text of a message that carried a secret, a week after it was sent).
//!
//! The inbox rows are also the webhooks' deduplication keys: kept 30 days,
//! well past the 7 days after which an inbound WhatsApp message is dropped
//! as stale (`channels::whatsapp::MAX_MESSAGE_AGE_DAYS`).

use chrono::{DateTime, Duration, Utc};

use serde::{Deserialize, Serialize};

use crate::context::JobContext;
use crate::jobs::{queue, Job, JobError, Run};

/// How long processed webhooks, dead jobs and replies outside a booking are
/// kept.
pub const RETENTION_DAYS: i64 = 30;

/// After this many days a sent message's delivery report is not coming.
const SETTLED_AFTER_DAYS: i64 = 7;

/// Rows deleted per statement, so that no delete holds locks for long.
const BATCH: i64 = 5_000;

/// Every night: delete processed webhooks and dead jobs older than the
/// retention period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prune {}

impl Job for Prune {
    const KIND: &'static str = "prune";

    fn dedupe_key(&self) -> Option<String> {
        Some(Self::KIND.to_owned())
    }
}

impl Run<JobContext> for Prune {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        prune(ctx).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut sqlx::PgConnection, error: &JobError) -> Result<(), JobError> {
        tracing::error!(error = %error, "the nightly clean-up died; it runs again tomorrow");
        queue::enqueue(conn, self, next_run(Utc::now())).await?;
        Ok(())
    }
}

/// `Prune`: deletes what is past retention, then queues the next night.
pub async fn prune(ctx: &JobContext) -> Result<(), JobError> {
    let before = Utc::now() - Duration::days(RETENTION_DAYS);
    let updates = in_batches(
        ctx,
        "DELETE FROM inbound_updates WHERE id IN (
             SELECT id FROM inbound_updates WHERE processed_at < $1 ORDER BY id LIMIT $2)",
        before,
    )
    .await?;
    let jobs = in_batches(
        ctx,
        "DELETE FROM jobs WHERE id IN (
             SELECT id FROM jobs WHERE state = 'dead' AND updated_at < $1 ORDER BY id LIMIT $2)",
        before,
    )
    .await?;
    // Replies that went out (or failed) and belong to no booking: no code
    // is ever sent this way (code messages carry their booking).
    let replies = in_batches(
        ctx,
        "DELETE FROM notifications WHERE id IN (
             SELECT id FROM notifications
             WHERE booking_id IS NULL AND template = 'reply' AND status <> 'queued' AND created_at < $1
             ORDER BY created_at LIMIT $2)",
        before,
    )
    .await?;
    // Wrong claims count for a day (SPEC §9); older tries are only weight.
    let claims = in_batches(
        ctx,
        "DELETE FROM claim_attempts WHERE id IN (
             SELECT id FROM claim_attempts WHERE attempted_at < $1 ORDER BY id LIMIT $2)",
        Utc::now() - Duration::days(2),
    )
    .await?;
    // A message that carried a secret and got no delivery report within a
    // week will get none: its text goes too (security review M8).
    let week = Utc::now() - Duration::days(SETTLED_AFTER_DAYS);
    let cleared = in_batches(
        ctx,
        "UPDATE notifications SET body = NULL, template_params = NULL, html = NULL, body_cleared_at = now()
         WHERE id IN (
             SELECT id FROM notifications
             WHERE body_cleared_at IS NULL AND status <> 'queued' AND channel <> 'console'
               AND template IN ('pre_arrival', 'code', 'code_resend', 'knowledge', 'staff_reply')
               AND coalesce(sent_at, created_at) < $1
             ORDER BY created_at LIMIT $2)",
        week,
    )
    .await?;
    metrics::counter!("doorman_pruned_rows_total", "table" => "notification_texts").increment(cleared);
    metrics::counter!("doorman_pruned_rows_total", "table" => "inbound_updates").increment(updates);
    metrics::counter!("doorman_pruned_rows_total", "table" => "jobs").increment(jobs);
    metrics::counter!("doorman_pruned_rows_total", "table" => "notifications").increment(replies);
    metrics::counter!("doorman_pruned_rows_total", "table" => "claim_attempts").increment(claims);
    metrics::counter!("doorman_pruned_rows_total", "table" => "console").increment(prune_console(ctx).await?);
    tracing::info!(updates, dead_jobs = jobs, replies, cleared, claims, "pruned what is past retention");
    let mut conn = ctx.db.acquire().await?;
    queue::enqueue(&mut conn, &Prune {}, next_run(Utc::now())).await?;
    Ok(())
}

/// Console sign-in links and sessions a day past their end: only weight.
async fn prune_console(ctx: &JobContext) -> Result<u64, JobError> {
    let day_ago = Utc::now() - Duration::days(1);
    let links = in_batches(
        ctx,
        "DELETE FROM console_links WHERE token_hash IN (
             SELECT token_hash FROM console_links WHERE expires_at < $1 LIMIT $2)",
        day_ago,
    )
    .await?;
    let sessions = in_batches(
        ctx,
        "DELETE FROM console_sessions WHERE token_hash IN (
             SELECT token_hash FROM console_sessions WHERE expires_at < $1 LIMIT $2)",
        day_ago,
    )
    .await?;
    Ok(links + sessions)
}

async fn in_batches(ctx: &JobContext, statement: &str, before: DateTime<Utc>) -> Result<u64, JobError> {
    let mut deleted = 0;
    loop {
        let done = sqlx::query(statement).bind(before).bind(BATCH).execute(&ctx.db).await?.rows_affected();
        deleted += done;
        if done < BATCH as u64 {
            return Ok(deleted);
        }
    }
}

/// The next clean-up after `now`: half an hour after the nightly
/// reconciliation.
pub fn next_run(now: DateTime<Utc>) -> DateTime<Utc> {
    let at = crate::devices::locks::next_nightly_run(now) + Duration::minutes(30);
    if at - Duration::days(1) > now {
        at - Duration::days(1)
    } else {
        at
    }
}
