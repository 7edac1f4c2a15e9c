//! The registry: a stored job's kind names the code that runs it.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::Value;
use sqlx::PgConnection;

use super::{JobEnv, JobError, Run};

type RunFn<C> = for<'a> fn(Value, &'a C) -> BoxFuture<'a, Result<(), JobError>>;
type DeadFn<C> = for<'a> fn(Value, &'a C, &'a mut PgConnection, &'a JobError) -> BoxFuture<'a, Result<(), JobError>>;

struct Entry<C> {
    run: RunFn<C>,
    on_dead: DeadFn<C>,
    max_attempts: i32,
}

/// Every job the application runs, by kind.
pub struct Registry<C> {
    jobs: HashMap<&'static str, Entry<C>>,
}

impl<C: Send + Sync + 'static> Default for Registry<C> {
    fn default() -> Self {
        Self { jobs: HashMap::new() }
    }
}

impl<C: Send + Sync + 'static> Registry<C> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a job. Registering two jobs of one kind is a bug.
    pub fn register<J: Run<C>>(mut self) -> Self {
        let entry = Entry { run: run::<C, J>, on_dead: on_dead::<C, J>, max_attempts: J::MAX_ATTEMPTS };
        let earlier = self.jobs.insert(J::KIND, entry);
        assert!(earlier.is_none(), "job kind {} registered twice", J::KIND);
        self
    }

    /// The kinds registered, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut kinds: Vec<_> = self.jobs.keys().copied().collect();
        kinds.sort_unstable();
        kinds
    }

    /// Runs one attempt of a stored job.
    pub async fn run(&self, kind: &str, payload: Value, ctx: &C) -> Result<(), JobError> {
        let entry = self.jobs.get(kind).ok_or_else(|| JobError::permanent(format!("unknown job kind {kind:?}")))?;
        (entry.run)(payload, ctx).await
    }

    /// Calls a dying job's hook.
    pub async fn on_dead(
        &self,
        kind: &str,
        payload: Value,
        ctx: &C,
        conn: &mut PgConnection,
        error: &JobError,
    ) -> Result<(), JobError> {
        match self.jobs.get(kind) {
            Some(entry) => (entry.on_dead)(payload, ctx, conn, error).await,
            None => Ok(()),
        }
    }

    /// The attempts a kind is allowed (12 for an unknown kind).
    pub fn max_attempts(&self, kind: &str) -> i32 {
        self.jobs.get(kind).map_or(12, |e| e.max_attempts)
    }
}

fn decode<J: serde::de::DeserializeOwned>(payload: Value) -> Result<J, JobError> {
    serde_json::from_value(payload).map_err(|e| JobError::permanent(format!("unreadable job payload: {e}")))
}

fn run<'a, C: Send + Sync + 'static, J: Run<C>>(payload: Value, ctx: &'a C) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move { decode::<J>(payload)?.run(ctx).await })
}

fn on_dead<'a, C: Send + Sync + 'static, J: Run<C>>(
    payload: Value,
    ctx: &'a C,
    conn: &'a mut PgConnection,
    error: &'a JobError,
) -> BoxFuture<'a, Result<(), JobError>> {
    Box::pin(async move {
        match decode::<J>(payload) {
            Ok(job) => job.on_dead(ctx, conn, error).await,
            Err(_) => Ok(()),
        }
    })
}

/// A context and the registry that runs jobs with it: what a worker holds.
pub struct Runner<C> {
    /// What jobs can reach.
    pub ctx: C,
    /// The jobs.
    pub registry: Arc<Registry<C>>,
}

impl<C: Clone> Clone for Runner<C> {
    fn clone(&self) -> Self {
        Self { ctx: self.ctx.clone(), registry: self.registry.clone() }
    }
}

impl<C: JobEnv> Runner<C> {
    /// A runner for `ctx`.
    pub fn new(ctx: C, registry: Arc<Registry<C>>) -> Self {
        Self { ctx, registry }
    }
}
