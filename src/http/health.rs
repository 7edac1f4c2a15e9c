//! Liveness, readiness and metrics.
//!
//! `/readyz` and `/metrics` are reachable by anyone who can reach the
//! service, so neither may cost more than one database connection however
//! often it is called: their database work is shared between concurrent
//! requests ([`Shared`]), and the metrics' figures are reused for
//! [`GAUGES_TTL`].

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::error::ApiError;
use super::AppState;
use crate::access::model::{CodeState, ProviderKind};

/// How long the database figures behind `/metrics` are reused.
pub const GAUGES_TTL: Duration = Duration::from_secs(5);

/// How long a readiness check or a refresh of the figures may take.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// What `/readyz` and `/metrics` share between requests: one instance per
/// running service.
pub struct Probes {
    readiness: Shared<Result<(), &'static str>>,
    gauges: Shared<Option<Arc<Gauges>>>,
}

impl Default for Probes {
    fn default() -> Self {
        // Readiness is never reused across requests: a check that started
        // before the database went away must not answer for later ones.
        Self { readiness: Shared::new(Duration::ZERO), gauges: Shared::new(GAUGES_TTL) }
    }
}

/// Prometheus text: inbound messages by channel and intent, outbound
/// messages, codes by state and provider, provider call latency and errors,
/// job outcomes, queue depth, lag and dead jobs, webhook updates and
/// rejections by reason. Needs `Authorization: Bearer <METRICS_TOKEN>` when
/// that is set.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.metrics_token {
        if !super::auth::bearer_matches(&headers, expected) {
            return ApiError::unauthorized().into_response();
        }
    }
    let Some(handle) = crate::telemetry::metrics() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable").into_response();
    };
    let gauges = state.probes.gauges.get(|last| refresh_gauges(&state.db, last.flatten())).await;
    let mut text = handle.render();
    if let Some(gauges) = gauges {
        gauges.render(&mut text);
    }
    (StatusCode::OK, text).into_response()
}

/// The last figures when the database does not answer in time: the
/// counters still answer, the gauges keep their values.
async fn refresh_gauges(db: &sqlx::PgPool, last: Option<Arc<Gauges>>) -> Option<Arc<Gauges>> {
    match tokio::time::timeout(DATABASE_TIMEOUT, read_gauges(db)).await {
        Ok(Ok(gauges)) => Some(Arc::new(gauges)),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: the database did not answer");
            last
        }
        Err(_) => {
            tracing::warn!("metrics: the database did not answer in time");
            last
        }
    }
}

/// The figures `/metrics` reads from the database.
struct Gauges {
    /// `(provider, state, count)` for every known pair, 0 when none, so that
    /// a state that empties does not keep its old value.
    codes: Vec<(&'static str, &'static str, i64)>,
    queued: i64,
    due: i64,
    running: i64,
    dead: i64,
    lag_seconds: f64,
}

impl Gauges {
    /// Appends the figures to Prometheus text.
    fn render(&self, text: &mut String) {
        let _ = writeln!(text, "# TYPE doorman_codes gauge");
        for (provider, state, n) in &self.codes {
            let _ = writeln!(text, "doorman_codes{{provider=\"{provider}\",state=\"{state}\"}} {n}");
        }
        let _ = writeln!(text, "# TYPE doorman_jobs gauge");
        for (state, n) in [("queued", self.queued), ("running", self.running), ("dead", self.dead)] {
            let _ = writeln!(text, "doorman_jobs{{state=\"{state}\"}} {n}");
        }
        let _ = writeln!(text, "# TYPE doorman_jobs_due gauge\ndoorman_jobs_due {}", self.due);
        let _ = writeln!(
            text,
            "# TYPE doorman_job_queue_lag_seconds gauge\ndoorman_job_queue_lag_seconds {}",
            self.lag_seconds
        );
    }
}

async fn read_gauges(db: &sqlx::PgPool) -> sqlx::Result<Gauges> {
    let mut tx = db.begin().await?;
    // The server gives up too, so that a blocked scan frees its connection.
    sqlx::query("SET LOCAL statement_timeout = 2000").execute(&mut *tx).await?;
    let counted = sqlx::query_as::<_, (String, String, i64)>(
        "SELECT l.provider, c.state, count(*) FROM access_codes c JOIN locks l ON l.id = c.lock_id GROUP BY 1, 2",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut codes = Vec::with_capacity(ProviderKind::ALL.len() * CodeState::ALL.len());
    for provider in ProviderKind::ALL {
        for code_state in CodeState::ALL {
            let n = counted
                .iter()
                .find(|(p, s, _)| p == provider.as_str() && s == code_state.as_str())
                .map_or(0, |(_, _, n)| *n);
            codes.push((provider.as_str(), code_state.as_str(), n));
        }
    }
    let (queued, due, running, dead, lag_seconds) = sqlx::query_as::<_, (i64, i64, i64, i64, f64)>(
        "SELECT count(*) FILTER (WHERE state = 'queued'),
                count(*) FILTER (WHERE state = 'queued' AND run_at <= now()),
                count(*) FILTER (WHERE state = 'running'),
                count(*) FILTER (WHERE state = 'dead'),
                coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'queued' AND run_at <= now())), 0)::float8
         FROM jobs",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Gauges { codes, queued, due, running, dead, lag_seconds })
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers within two seconds. Requests that arrive while a
/// check runs wait for it and take its answer.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.probes.readiness.get(|_| check_database(&state.db)).await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(problem) => (StatusCode::SERVICE_UNAVAILABLE, problem),
    }
}

async fn check_database(db: &sqlx::PgPool) -> Result<(), &'static str> {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(db);
    match tokio::time::timeout(DATABASE_TIMEOUT, ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            Err("database unreachable")
        }
        Err(_) => Err("database timed out"),
    }
}

/// A value computed by one caller at a time and shared. Callers that
/// arrive while it is being computed wait and take that result; for `ttl`
/// after it is done, every caller takes it.
struct Shared<T> {
    ttl: Duration,
    last: tokio::sync::Mutex<Option<(Instant, T)>>,
}

impl<T: Clone> Shared<T> {
    fn new(ttl: Duration) -> Self {
        Self { ttl, last: tokio::sync::Mutex::new(None) }
    }

    /// The shared value, or a new one from `refresh` (given the last value)
    /// when the last one finished before this call and is older than `ttl`.
    async fn get<F, Fut>(&self, refresh: F) -> T
    where
        F: FnOnce(Option<T>) -> Fut,
        Fut: Future<Output = T>,
    {
        let arrived = Instant::now();
        let mut last = self.last.lock().await;
        if let Some((done, value)) = last.as_ref() {
            if *done > arrived || done.elapsed() < self.ttl {
                return value.clone();
            }
        }
        let value = refresh(last.as_ref().map(|(_, value)| value.clone())).await;
        *last = Some((Instant::now(), value.clone()));
        value
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    async fn counted(shared: &Shared<usize>, refreshes: &AtomicUsize) -> usize {
        shared
            .get(|_| async {
                let n = refreshes.fetch_add(1, Ordering::SeqCst) + 1;
                // Lets the other callers arrive while this one computes.
                tokio::task::yield_now().await;
                n
            })
            .await
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_refresh() {
        let shared = Shared::new(Duration::ZERO);
        let refreshes = AtomicUsize::new(0);
        let answers = futures_util::future::join_all((0..10).map(|_| counted(&shared, &refreshes))).await;
        assert_eq!(refreshes.load(Ordering::SeqCst), 1);
        assert_eq!(answers, vec![1; 10]);
        // A caller that comes after the refresh finished gets a new one.
        assert_eq!(counted(&shared, &refreshes).await, 2);
    }

    #[tokio::test]
    async fn a_fresh_value_is_reused_until_it_is_older_than_the_ttl() {
        let refreshes = AtomicUsize::new(0);
        let cached = Shared::new(Duration::from_secs(3600));
        for _ in 0..5 {
            assert_eq!(counted(&cached, &refreshes).await, 1);
        }
        let uncached = Shared::new(Duration::ZERO);
        for n in 2..=4 {
            assert_eq!(counted(&uncached, &refreshes).await, n);
        }
    }

    #[tokio::test]
    async fn a_refresh_is_given_the_last_value() {
        let shared = Shared::new(Duration::ZERO);
        assert_eq!(shared.get(|last| async move { last.unwrap_or(0) + 1 }).await, 1);
        assert_eq!(shared.get(|last| async move { last.unwrap_or(0) + 1 }).await, 2);
    }
}
