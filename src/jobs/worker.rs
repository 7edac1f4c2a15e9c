//! The scheduler loop: wake on `LISTEN/NOTIFY` or every tick, claim due
//! jobs, run them concurrently, and give claimed jobs back at shutdown.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::queue::{self, Claimed};
use super::{JobEnv, JobError, Runner};

/// How a worker runs.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// Jobs run at once by this instance.
    pub concurrency: usize,
    /// How often due jobs are looked for without a notification
    /// (`SCHEDULER_TICK_MS`).
    pub tick: Duration,
    /// How long a claim lasts without a heartbeat before another instance
    /// may take the job over. The worker renews its claims every third of
    /// it, so a slow job keeps its claim and a dead worker's jobs come back
    /// soon.
    pub lease: Duration,
    /// One attempt's time limit.
    pub attempt_timeout: Duration,
    /// How long shutdown waits for running jobs before releasing them.
    pub shutdown_grace: Duration,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            concurrency: 16,
            tick: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            attempt_timeout: Duration::from_secs(120),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// One instance's scheduler.
pub struct Worker<C> {
    id: String,
    runner: Runner<C>,
    settings: WorkerSettings,
}

impl<C: JobEnv> Worker<C> {
    /// A worker with a unique id.
    pub fn new(runner: Runner<C>, settings: WorkerSettings) -> Self {
        Self { id: format!("worker-{}", Uuid::new_v4().simple()), runner, settings }
    }

    /// Runs until `shutdown` turns true, then waits for running jobs up to
    /// the grace period and releases the rest.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut listener = listen(self.runner.ctx.db()).await;
        let mut in_flight: JoinSet<()> = JoinSet::new();
        let mut tick = tokio::time::interval(self.settings.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(worker = %self.id, concurrency = self.settings.concurrency, "scheduler started");
        let running = Running::default();
        let mut renewed = tokio::time::Instant::now();
        while !*shutdown.borrow() {
            while in_flight.try_join_next().is_some() {}
            if renewed.elapsed() >= self.settings.lease / 3 {
                renewed = tokio::time::Instant::now();
                // Only the jobs still running: one whose outcome could not be
                // recorded (the database was away) must let its lease expire.
                let ids = running.ids();
                if let Err(e) = queue::renew(self.runner.ctx.db(), &self.id, &ids, self.settings.lease).await {
                    tracing::warn!(error = %e, "renewing job leases");
                }
            }
            let free = self.settings.concurrency.saturating_sub(in_flight.len());
            let claimed = if free == 0 { Vec::new() } else { self.claim(free).await };
            let saturated = free > 0 && claimed.len() == free;
            for job in claimed {
                let guard = running.start(job.id);
                let attempt = execute(self.runner.clone(), self.id.clone(), job, self.settings.attempt_timeout);
                in_flight.spawn(async move {
                    attempt.await;
                    drop(guard);
                });
            }
            if saturated {
                continue;
            }
            let due = self.next_due().await;
            tokio::select! {
                _ = next_notification(&mut listener), if listener.is_some() => {}
                _ = tokio::time::sleep(due.unwrap_or_default()), if due.is_some() && free > 0 => {}
                _ = tick.tick() => {
                    if listener.is_none() {
                        listener = listen(self.runner.ctx.db()).await;
                    }
                    if let Err(e) = queue::reclaim_expired(self.runner.ctx.db()).await {
                        tracing::warn!(error = %e, "reclaiming expired job leases");
                    }
                }
                Some(_) = in_flight.join_next(), if free == 0 => {}
                _ = shutdown.changed() => {}
            }
        }
        self.drain(in_flight).await;
    }

    /// How long until a waiting job is due, when that is before the next
    /// tick (a NOTIFY only comes for jobs due when they are enqueued).
    async fn next_due(&self) -> Option<Duration> {
        match queue::next_due(self.runner.ctx.db(), self.settings.tick).await {
            // At least a few milliseconds: a due job another worker holds
            // must not make this one spin.
            Ok(at) => {
                at.map(|at| (at - chrono::Utc::now()).to_std().unwrap_or_default().max(Duration::from_millis(50)))
            }
            Err(e) => {
                tracing::warn!(error = %e, "looking for the next due job");
                None
            }
        }
    }

    async fn claim(&self, limit: usize) -> Vec<Claimed> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        match queue::claim(self.runner.ctx.db(), &self.id, limit, self.settings.lease).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, "claiming jobs");
                Vec::new()
            }
        }
    }

    async fn drain(&self, mut in_flight: JoinSet<()>) {
        let waited = tokio::time::timeout(self.settings.shutdown_grace, async {
            while in_flight.join_next().await.is_some() {}
        })
        .await;
        if waited.is_err() {
            in_flight.abort_all();
        }
        match queue::release(self.runner.ctx.db(), &self.id).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(released = n, "released claimed jobs"),
            Err(e) => tracing::warn!(error = %e, "releasing claimed jobs; their leases will expire"),
        }
        tracing::info!(worker = %self.id, "scheduler stopped");
    }
}

/// The ids of the jobs this worker is running now, for the heartbeat.
#[derive(Clone, Default)]
struct Running(std::sync::Arc<std::sync::Mutex<std::collections::HashSet<i64>>>);

impl Running {
    fn start(&self, id: i64) -> RunningGuard {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
        RunningGuard { running: self.clone(), id }
    }

    fn ids(&self) -> Vec<i64> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect()
    }
}

/// Takes its job out of [`Running`] when the attempt ends, however it ends.
struct RunningGuard {
    running: Running,
    id: i64,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.running.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.id);
    }
}

async fn listen(db: &sqlx::PgPool) -> Option<PgListener> {
    let mut listener = match PgListener::connect_with(db).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::warn!(error = %e, "LISTEN unavailable; polling every tick");
            return None;
        }
    };
    match listener.listen(queue::CHANNEL).await {
        Ok(()) => Some(listener),
        Err(e) => {
            tracing::warn!(error = %e, "LISTEN unavailable; polling every tick");
            None
        }
    }
}

async fn next_notification(listener: &mut Option<PgListener>) {
    let Some(active) = listener else {
        return std::future::pending().await;
    };
    if let Err(e) = active.recv().await {
        tracing::warn!(error = %e, "job notifications lost; polling until they are back");
        *listener = None;
    }
}

/// Runs every due job, one at a time, until none is due; returns how many
/// ran. Tests drive the scheduler with this instead of sleeping.
pub async fn run_pending_jobs<C: JobEnv>(runner: &Runner<C>) -> usize {
    let worker = format!("inline-{}", Uuid::new_v4().simple());
    let mut ran = 0;
    loop {
        let claimed = match queue::claim(runner.ctx.db(), &worker, 1, Duration::from_secs(300)).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::warn!(error = %e, "claiming jobs");
                return ran;
            }
        };
        let Some(job) = claimed.into_iter().next() else {
            return ran;
        };
        execute(runner.clone(), worker.clone(), job, Duration::from_secs(120)).await;
        ran += 1;
    }
}

#[tracing::instrument(skip_all, fields(job.id = claimed.id, job.kind = %claimed.kind, attempt = claimed.attempt))]
async fn execute<C: JobEnv>(runner: Runner<C>, worker: String, claimed: Claimed, timeout: Duration) {
    let kind = claimed.kind.clone();
    metrics::histogram!("doorman_job_start_lag_seconds", "kind" => kind.clone())
        .record(claimed.lag(chrono::Utc::now()));
    let outcome = attempt(&runner, &claimed, timeout).await;
    let may_retry = claimed.attempt < claimed.max_attempts;
    let label = match &outcome {
        Ok(()) => "done",
        Err(JobError::Wait(..)) => "wait",
        Err(JobError::Retry(_) | JobError::RetryAfter(..)) if may_retry => "retry",
        Err(_) => "dead",
    };
    metrics::counter!("doorman_jobs_total", "kind" => kind, "outcome" => label).increment(1);
    let db = runner.ctx.db();
    let settled = match outcome {
        Ok(()) => queue::finish(db, claimed.id, &worker).await.map_err(|e| e.to_string()),
        Err(error @ JobError::Retry(_)) if may_retry => retry(db, &claimed, &worker, &error, None).await,
        Err(error @ JobError::RetryAfter(_, after)) if may_retry => {
            retry(db, &claimed, &worker, &error, Some(after)).await
        }
        Err(JobError::Wait(cause, key, after)) => {
            let text = format!("{cause:#}");
            tracing::info!(error = %text, waiting_for = %key, "job waits");
            match db.acquire().await {
                Ok(mut conn) => {
                    queue::wait(&mut conn, &claimed, &worker, &text, &key, after).await.map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Err(error) => bury(&runner, &claimed, &worker, &error).await,
    };
    if let Err(e) = settled {
        // The lease expires and another attempt follows.
        tracing::error!(error = %e, "recording a job's outcome");
    }
}

/// Runs the job once, under the time limit, with a panic caught.
async fn attempt<C: JobEnv>(runner: &Runner<C>, claimed: &Claimed, timeout: Duration) -> Result<(), JobError> {
    if claimed.exhausted() {
        return Err(JobError::permanent(format!("none of its {} attempts finished", claimed.max_attempts)));
    }
    // A panic is a bug that the next attempt would hit again.
    let run = runner.registry.run(&claimed.kind, claimed.payload.clone(), &runner.ctx);
    match tokio::time::timeout(timeout, AssertUnwindSafe(run).catch_unwind()).await {
        Ok(Ok(result)) => result,
        Ok(Err(panic)) => Err(JobError::permanent(panic_message(panic.as_ref()))),
        Err(_) => Err(JobError::retry(format!("attempt timed out after {}s", timeout.as_secs()))),
    }
}

/// What a job's panic said, redacted and cut to 200 characters: it is
/// logged and stored as the job's last error.
fn panic_message(panic: &(dyn Any + Send)) -> String {
    let short: String = crate::telemetry::panic_text(panic).chars().take(200).collect();
    format!("the job panicked: {}", crate::telemetry::redact(&short))
}

async fn retry(
    db: &sqlx::PgPool,
    claimed: &Claimed,
    worker: &str,
    error: &JobError,
    after: Option<Duration>,
) -> Result<(), String> {
    let text = format!("{error:#}");
    let mut conn = db.acquire().await.map_err(|e| e.to_string())?;
    let delay = queue::retry(&mut conn, claimed, worker, &text, after).await.map_err(|e| e.to_string())?;
    tracing::info!(error = %text, retry_in_s = delay.as_secs(), "job failed; will retry");
    Ok(())
}

async fn bury<C: JobEnv>(runner: &Runner<C>, claimed: &Claimed, worker: &str, error: &JobError) -> Result<(), String> {
    let text = format!("{error:#}");
    tracing::error!(error = %text, "job is dead");
    let mut tx = runner.ctx.db().begin().await.map_err(|e| e.to_string())?;
    queue::bury(&mut *tx, claimed.id, worker, &text).await.map_err(|e| e.to_string())?;
    let payload = claimed.payload.clone();
    runner.registry.on_dead(&claimed.kind, payload, &runner.ctx, &mut tx, error).await.map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())
}
