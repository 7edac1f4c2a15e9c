//! Durable jobs in PostgreSQL (SPEC §6): every effect on the outside world
//! is a job, enqueued in the transaction of the change that needs it,
//! claimed with `FOR UPDATE SKIP LOCKED`, retried with backoff and jitter,
//! and `dead` when it keeps failing. Safe with several instances.
//!
//! This folder is the machinery only and knows no job: a job is a struct
//! next to the code it belongs to, implementing [`Job`] (what it is: kind,
//! dedupe key, attempts) and [`Run`] (what it does), and the application
//! lists its jobs in one [`Registry`] (`app::registry`). See
//! `docs/architecture.md`, "Adding a job".
//!
//! Why not `graphile_worker`: it brings its own schema and migration runner,
//! and its job keys replace rather than merge a running job; doorman needs
//! dedupe among *waiting* jobs only (a change made while a job runs must not
//! be lost), release of claimed jobs at shutdown, and a hook when a job dies.
//! That is a few hundred lines on the same sqlx pool.

pub mod queue;
mod registry;
mod worker;

use std::future::Future;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

pub use registry::{Registry, Runner};
pub use worker::{run_pending_jobs, Worker, WorkerSettings};

/// What a job is: its stored kind, how waiting copies merge, how often it is
/// tried. Implemented by a serializable struct holding the job's arguments.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The stored kind; unique among the registered jobs.
    const KIND: &'static str;
    /// Attempts before the job is dead.
    const MAX_ATTEMPTS: i32 = 12;
    /// How a waiting job with the same dedupe key takes a new enqueue.
    const MERGE: Merge = Merge::Latest;

    /// Waiting jobs with the same key are merged into one; `None` never merges.
    fn dedupe_key(&self) -> Option<String>;
}

/// How an enqueue merges into a waiting job with the same dedupe key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// The waiting job takes the new due time and payload.
    Latest,
    /// The waiting job takes the new payload and keeps the earlier due time
    /// (a deadline check must not be postponed by every re-send).
    KeepEarliest,
}

/// What a job does, given the context `C` the application runs it with.
pub trait Run<C>: Job {
    /// Runs one attempt.
    fn run(&self, ctx: &C) -> impl Future<Output = Result<(), JobError>> + Send;

    /// Called once when the job dies, in the transaction that buries it.
    fn on_dead(
        &self,
        ctx: &C,
        conn: &mut PgConnection,
        error: &JobError,
    ) -> impl Future<Output = Result<(), JobError>> + Send {
        let _ = (ctx, conn, error);
        async { Ok(()) }
    }
}

/// What the worker needs from the application's context.
pub trait JobEnv: Clone + Send + Sync + 'static {
    /// The database the queue lives in.
    fn db(&self) -> &PgPool;
}

/// Why an attempt failed. Each variant keeps the cause and its chain:
/// `{:#}` prints it whole.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Try again after a backoff.
    #[error("{0:#}")]
    Retry(anyhow::Error),
    /// Try again after the delay the provider asked for.
    #[error("{0:#}")]
    RetryAfter(anyhow::Error, Duration),
    /// Trying again will not help: the job is dead at once.
    #[error("{0:#}")]
    Permanent(anyhow::Error),
    /// Not the job's failure: something it needs is away (a provider
    /// account, named by the key). It waits, without counting an attempt,
    /// until `after` has passed or [`queue::wake`] names the key.
    #[error("{0:#}")]
    Wait(anyhow::Error, String, Duration),
}

impl JobError {
    /// Retry after a backoff, for this reason.
    pub fn retry(why: impl std::fmt::Display + std::fmt::Debug + Send + Sync + 'static) -> Self {
        Self::Retry(anyhow::Error::msg(why))
    }

    /// Retry after `after`, for this reason.
    pub fn retry_after(why: impl std::fmt::Display + std::fmt::Debug + Send + Sync + 'static, after: Duration) -> Self {
        Self::RetryAfter(anyhow::Error::msg(why), after)
    }

    /// Give up at once, for this reason.
    pub fn permanent(why: impl std::fmt::Display + std::fmt::Debug + Send + Sync + 'static) -> Self {
        Self::Permanent(anyhow::Error::msg(why))
    }

    /// The cause, whatever the variant.
    pub fn cause(&self) -> &anyhow::Error {
        match self {
            Self::Retry(e) | Self::RetryAfter(e, _) | Self::Permanent(e) | Self::Wait(e, ..) => e,
        }
    }
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        Self::Retry(anyhow::Error::new(err).context("database"))
    }
}

/// Does nothing: measures the queue itself (benchmarks, tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ping {
    /// Distinguishes pings.
    pub seq: u64,
}

impl Job for Ping {
    const KIND: &'static str = "ping";

    fn dedupe_key(&self) -> Option<String> {
        None
    }
}

impl<C: Send + Sync> Run<C> for Ping {
    async fn run(&self, _: &C) -> Result<(), JobError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::JobError;

    #[test]
    fn a_job_error_keeps_its_cause_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "lock bridge timed out");
        let error = JobError::Retry(anyhow::Error::new(io).context("removing code from Nuki"));
        assert_eq!(error.to_string(), "removing code from Nuki: lock bridge timed out");
        assert!(error.cause().downcast_ref::<std::io::Error>().is_some());
    }
}
