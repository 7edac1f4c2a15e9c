//! Liveness and readiness.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use super::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// Prometheus text: job lag and outcomes, webhook updates and rejections,
/// codes by state, jobs waiting and dead.
async fn metrics(State(state): State<AppState>) -> (StatusCode, String) {
    let Some(handle) = crate::telemetry::metrics() else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics recorder unavailable".into());
    };
    // Gauges read from the database at scrape time.
    let codes = sqlx::query_as::<_, (String, String, i64)>(
        "SELECT l.provider, c.state, count(*) FROM access_codes c JOIN locks l ON l.id = c.lock_id GROUP BY 1, 2",
    )
    .fetch_all(&state.db)
    .await
    .unwrap_or_default();
    for (provider, code_state, n) in codes {
        metrics::gauge!("doorman_codes", "provider" => provider, "state" => code_state).set(n as f64);
    }
    let jobs = sqlx::query_as::<_, (String, i64)>("SELECT state, count(*) FROM jobs GROUP BY 1")
        .fetch_all(&state.db)
        .await
        .unwrap_or_default();
    for (job_state, n) in jobs {
        metrics::gauge!("doorman_jobs", "state" => job_state).set(n as f64);
    }
    (StatusCode::OK, handle.render())
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
