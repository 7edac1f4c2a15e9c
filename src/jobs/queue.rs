//! The job table's operations: enqueue in the caller's transaction, claim
//! with `FOR UPDATE SKIP LOCKED`, finish, retry with backoff, bury, release.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::{Job, Merge};

/// The channel a commit with a due job notifies.
pub const CHANNEL: &str = "doorman_jobs";

/// A claimed job.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Row id.
    pub id: i64,
    /// The job's kind.
    pub kind: String,
    /// The job's arguments.
    pub payload: serde_json::Value,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// Attempts allowed before the job is dead.
    pub max_attempts: i32,
    /// When it was (last) enqueued.
    pub enqueued_at: DateTime<Utc>,
    /// When it was due.
    pub run_at: DateTime<Utc>,
}

impl Claimed {
    /// Whether every allowed attempt has been started already: earlier ones
    /// never finished (the process died during them, their leases lapsed),
    /// so this one must not run the job again.
    pub fn exhausted(&self) -> bool {
        self.attempt > self.max_attempts
    }

    /// How long it waited past the moment it could have started: the queue's
    /// lag, from enqueue (or due time) to this claim's start.
    pub fn lag(&self, started: DateTime<Utc>) -> std::time::Duration {
        (started - self.run_at.max(self.enqueued_at)).to_std().unwrap_or_default()
    }
}

/// Adds a job, due at `run_at`, inside the caller's transaction. A waiting
/// job with the same dedupe key is merged as the job's [`Merge`] says.
/// Workers are woken at commit.
pub async fn enqueue<J: Job>(conn: &mut PgConnection, job: &J, run_at: DateTime<Utc>) -> sqlx::Result<()> {
    let mut batch = Batch::default();
    batch.add(job, run_at)?;
    batch.enqueue(conn).await
}

/// Several jobs added in one statement (one round trip), each merged with a
/// waiting job of the same dedupe key as its [`Merge`] says, as
/// [`enqueue`] does one at a time.
#[derive(Debug, Default)]
pub struct Batch(Vec<Entry>);

/// One job of a [`Batch`].
#[derive(Debug)]
struct Entry {
    kind: &'static str,
    payload: serde_json::Value,
    key: Option<String>,
    run_at: DateTime<Utc>,
    max_attempts: i32,
    keep_earliest: bool,
}

impl Batch {
    /// Adds `job`, due at `run_at`.
    pub fn add<J: Job>(&mut self, job: &J, run_at: DateTime<Utc>) -> sqlx::Result<&mut Self> {
        let payload = serde_json::to_value(job).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        self.push(Entry {
            kind: J::KIND,
            payload,
            key: job.dedupe_key(),
            run_at,
            max_attempts: J::MAX_ATTEMPTS,
            keep_earliest: J::MERGE == Merge::KeepEarliest,
        });
        Ok(self)
    }

    /// Adds every job of `other`.
    pub fn append(&mut self, other: Batch) {
        for entry in other.0 {
            self.push(entry);
        }
    }

    /// A job of the same dedupe key added before is merged here, as the
    /// queue would merge it (one statement cannot touch a row twice).
    fn push(&mut self, entry: Entry) {
        let same = self.0.iter_mut().find(|e| e.key.is_some() && e.key == entry.key);
        match same {
            Some(earlier) => {
                earlier.run_at = if entry.keep_earliest { earlier.run_at.min(entry.run_at) } else { entry.run_at };
                earlier.payload = entry.payload;
            }
            None => self.0.push(entry),
        }
    }

    /// Writes the jobs in the caller's transaction; workers are woken at
    /// commit when one is due already.
    pub async fn enqueue(self, conn: &mut PgConnection) -> sqlx::Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let due = self.0.iter().any(|e| e.run_at <= now);
        let kinds: Vec<String> = self.0.iter().map(|e| e.kind.to_owned()).collect();
        let keys: Vec<Option<String>> = self.0.iter().map(|e| e.key.clone()).collect();
        let keeping_earliest: Vec<String> =
            self.0.iter().filter(|e| e.keep_earliest).filter_map(|e| e.key.clone()).collect();
        let run_at: Vec<DateTime<Utc>> = self.0.iter().map(|e| e.run_at).collect();
        let max_attempts: Vec<i32> = self.0.iter().map(|e| e.max_attempts).collect();
        let payloads: Vec<serde_json::Value> = self.0.into_iter().map(|e| e.payload).collect();
        sqlx::query!(
            "WITH added AS (
                 INSERT INTO jobs (kind, payload, dedupe_key, run_at, max_attempts)
                 SELECT kind, payload, dedupe_key, run_at, max_attempts
                 FROM UNNEST($1::text[], $2::jsonb[], $3::text[], $4::timestamptz[], $5::int[])
                     AS j (kind, payload, dedupe_key, run_at, max_attempts)
                 ON CONFLICT (dedupe_key) WHERE state = 'queued'
                 DO UPDATE SET
                     run_at = CASE WHEN EXCLUDED.dedupe_key = ANY($6::text[])
                         THEN LEAST(jobs.run_at, EXCLUDED.run_at) ELSE EXCLUDED.run_at END,
                     payload = EXCLUDED.payload, updated_at = now()
             )
             SELECT pg_notify($7, '') WHERE $8",
            &kinds,
            &payloads,
            &keys as &[Option<String>],
            &run_at,
            &max_attempts,
            &keeping_earliest,
            CHANNEL,
            due,
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// Claims up to `limit` due jobs for `worker`, leased for `lease`. Commits at
/// once: no row lock outlives this statement.
pub async fn claim(db: impl PgExecutor<'_>, worker: &str, limit: i64, lease: Duration) -> sqlx::Result<Vec<Claimed>> {
    let rows = sqlx::query!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_by = $1,
             locked_until = now() + make_interval(secs => $3), updated_at = now()
         WHERE id IN (
             SELECT id FROM jobs WHERE state = 'queued' AND run_at <= now()
             ORDER BY run_at, id LIMIT $2
             FOR UPDATE SKIP LOCKED)
         RETURNING id, kind, payload, attempts, max_attempts, enqueued_at, run_at",
        worker,
        limit,
        lease.as_secs_f64(),
    )
    .fetch_all(db)
    .await?;
    let mut claimed: Vec<Claimed> = rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            kind: r.kind,
            payload: r.payload,
            attempt: r.attempts,
            max_attempts: r.max_attempts,
            enqueued_at: r.enqueued_at,
            run_at: r.run_at,
        })
        .collect();
    claimed.sort_by_key(|c| c.id);
    Ok(claimed)
}

/// When the next waiting job is due, if it is within `horizon`: the
/// scheduler sleeps until then rather than to its next tick, so a job due
/// at 08:00 starts at 08:00.
pub async fn next_due(db: impl PgExecutor<'_>, horizon: Duration) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar!(
        "SELECT min(run_at) FROM jobs WHERE state = 'queued' AND run_at <= now() + make_interval(secs => $1)",
        horizon.as_secs_f64()
    )
    .fetch_one(db)
    .await
}

/// Deletes a finished job.
pub async fn finish(db: impl PgExecutor<'_>, id: i64, worker: &str) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM jobs WHERE id = $1 AND locked_by = $2", id, worker).execute(db).await?;
    Ok(())
}

/// Puts a failed job back in the queue after `after` (what the provider
/// asked for) or a backoff with jitter. When a newer job with the same
/// dedupe key is already waiting, that one will do the work and this one is
/// dropped.
pub async fn retry(
    conn: &mut PgConnection,
    claimed: &Claimed,
    worker: &str,
    error: &str,
    after: Option<Duration>,
) -> sqlx::Result<Duration> {
    let delay = after.unwrap_or_else(|| backoff(claimed.attempt));
    let requeued = sqlx::query!(
        "UPDATE jobs SET state = 'queued', run_at = now() + make_interval(secs => $3), last_error = $4,
             locked_by = NULL, locked_until = NULL, updated_at = now()
         WHERE id = $1 AND locked_by = $2
           AND NOT EXISTS (SELECT 1 FROM jobs newer WHERE newer.dedupe_key = jobs.dedupe_key AND newer.state = 'queued')",
        claimed.id,
        worker,
        delay.as_secs_f64(),
        error,
    )
    .execute(&mut *conn)
    .await?;
    if requeued.rows_affected() == 0 {
        finish(&mut *conn, claimed.id, worker).await?;
    }
    Ok(delay)
}

/// Puts a job back to wait for `key` (a provider account to work again):
/// due after `after`, or at once when [`wake`] names the key; the attempt
/// does not count. A newer waiting job with the same dedupe key does the
/// work instead.
pub async fn wait(
    conn: &mut PgConnection,
    claimed: &Claimed,
    worker: &str,
    error: &str,
    key: &str,
    after: Duration,
) -> sqlx::Result<()> {
    let requeued = sqlx::query!(
        "UPDATE jobs SET state = 'queued', attempts = greatest(attempts - 1, 0), waiting_for = $4,
             run_at = now() + make_interval(secs => $5), last_error = $3, locked_by = NULL, locked_until = NULL,
             updated_at = now()
         WHERE id = $1 AND locked_by = $2
           AND NOT EXISTS (SELECT 1 FROM jobs newer WHERE newer.dedupe_key = jobs.dedupe_key AND newer.state = 'queued')",
        claimed.id,
        worker,
        error,
        key,
        after.as_secs_f64(),
    )
    .execute(&mut *conn)
    .await?;
    if requeued.rows_affected() == 0 {
        finish(&mut *conn, claimed.id, worker).await?;
    }
    Ok(())
}

/// Makes every job waiting for `key` due now; returns how many.
pub async fn wake(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<u64> {
    let woken = sqlx::query!(
        "UPDATE jobs SET run_at = least(run_at, now()), waiting_for = NULL, updated_at = now()
         WHERE waiting_for = $1 AND state = 'queued'",
        key
    )
    .execute(db)
    .await?;
    Ok(woken.rows_affected())
}

/// Marks a job dead: it stays in the table for people to look at.
pub async fn bury(db: impl PgExecutor<'_>, id: i64, worker: &str, error: &str) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE jobs SET state = 'dead', last_error = $3, locked_by = NULL, locked_until = NULL, updated_at = now()
         WHERE id = $1 AND locked_by = $2",
        id,
        worker,
        error,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// Gives a worker's claimed jobs back to the queue (graceful shutdown); the
/// interrupted attempt does not count.
pub async fn release(db: impl PgExecutor<'_>, worker: &str) -> sqlx::Result<u64> {
    let released = sqlx::query!(
        "UPDATE jobs SET state = 'queued', attempts = greatest(attempts - 1, 0), locked_by = NULL, locked_until = NULL,
             updated_at = now()
         WHERE state = 'running' AND locked_by = $1
           AND NOT EXISTS (SELECT 1 FROM jobs newer WHERE newer.dedupe_key = jobs.dedupe_key AND newer.state = 'queued')",
        worker
    )
    .execute(db)
    .await?;
    Ok(released.rows_affected())
}

/// The heartbeat: extends the claims of `worker` on the jobs `ids` by
/// `lease` from now.
pub async fn renew(db: impl PgExecutor<'_>, worker: &str, ids: &[i64], lease: Duration) -> sqlx::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let renewed = sqlx::query!(
        "UPDATE jobs SET locked_until = now() + make_interval(secs => $3)
         WHERE state = 'running' AND locked_by = $1 AND id = ANY($2)",
        worker,
        ids,
        lease.as_secs_f64(),
    )
    .execute(db)
    .await?;
    Ok(renewed.rows_affected())
}

/// Requeues jobs whose worker died (lease expired).
pub async fn reclaim_expired(db: impl PgExecutor<'_>) -> sqlx::Result<u64> {
    let reclaimed = sqlx::query!(
        "UPDATE jobs SET state = 'queued', locked_by = NULL, locked_until = NULL, updated_at = now()
         WHERE state = 'running' AND locked_until < now()
           AND NOT EXISTS (SELECT 1 FROM jobs newer WHERE newer.dedupe_key = jobs.dedupe_key AND newer.state = 'queued')"
    )
    .execute(db)
    .await?;
    Ok(reclaimed.rows_affected())
}

/// The delay before attempt `attempt + 1`: exponential from 2 s, capped at
/// 10 minutes, with jitter so that a fleet of failed jobs does not retry in
/// lockstep.
pub fn backoff(attempt: i32) -> Duration {
    let nth = usize::try_from(attempt.max(1) - 1).unwrap_or(0);
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_secs(2))
        .with_max_delay(Duration::from_secs(600))
        .with_jitter()
        .without_max_times()
        .build()
        .nth(nth)
        .unwrap_or(Duration::from_secs(600))
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        let first = backoff(1);
        assert!(first >= Duration::from_secs(2) && first <= Duration::from_secs(4), "{first:?}");
        let fourth = backoff(4);
        assert!(fourth >= Duration::from_secs(16) && fourth <= Duration::from_secs(32), "{fourth:?}");
        assert!(backoff(40) <= Duration::from_secs(1200));
    }
}
