//! Liveness and readiness.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use super::AppState;
use crate::access::model::{CodeState, ProviderKind};

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// Prometheus text: inbound messages by channel and intent, outbound
/// messages, codes by state and provider, provider call latency and errors,
/// job outcomes, queue depth, lag and dead jobs, webhook updates and
/// rejections by reason.
async fn metrics(State(state): State<AppState>) -> (StatusCode, String) {
    let Some(handle) = crate::telemetry::metrics() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable".into());
    };
    if let Err(e) = read_gauges(&state.db).await {
        // The counters still answer; the gauges keep their last values.
        tracing::warn!(error = %e, "metrics: the database did not answer");
    }
    (StatusCode::OK, handle.render())
}

/// Gauges read from the database at scrape time. Every known label set is
/// written, with 0 when nothing is there, so that a state that empties does
/// not keep its old value.
async fn read_gauges(db: &sqlx::PgPool) -> sqlx::Result<()> {
    let codes = sqlx::query_as::<_, (String, String, i64)>(
        "SELECT l.provider, c.state, count(*) FROM access_codes c JOIN locks l ON l.id = c.lock_id GROUP BY 1, 2",
    )
    .fetch_all(db)
    .await?;
    for provider in ProviderKind::ALL {
        for code_state in CodeState::ALL {
            let n = codes
                .iter()
                .find(|(p, s, _)| p == provider.as_str() && s == code_state.as_str())
                .map_or(0, |(_, _, n)| *n);
            metrics::gauge!("doorman_codes", "provider" => provider.as_str(), "state" => code_state.as_str())
                .set(n as f64);
        }
    }
    let (queued, due, running, dead, lag) = sqlx::query_as::<_, (i64, i64, i64, i64, f64)>(
        "SELECT count(*) FILTER (WHERE state = 'queued'),
                count(*) FILTER (WHERE state = 'queued' AND run_at <= now()),
                count(*) FILTER (WHERE state = 'running'),
                count(*) FILTER (WHERE state = 'dead'),
                coalesce(extract(epoch FROM now() - min(run_at) FILTER (WHERE state = 'queued' AND run_at <= now())), 0)::float8
         FROM jobs",
    )
    .fetch_one(db)
    .await?;
    for (job_state, n) in [("queued", queued), ("running", running), ("dead", dead)] {
        metrics::gauge!("doorman_jobs", "state" => job_state).set(n as f64);
    }
    metrics::gauge!("doorman_jobs_due").set(due as f64);
    metrics::gauge!("doorman_job_queue_lag_seconds").set(lag);
    Ok(())
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The database answers within two seconds.
async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db);
    match tokio::time::timeout(Duration::from_secs(2), ping).await {
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timed out"),
    }
}
