//! The HTTP surface: health, the admin API and its OpenAPI document, the
//! operator console (`/admin`, from `console`), and, with the channels,
//! the webhooks. Handlers parse, call one core
//! function, and map its error.

mod api;
mod auth;
pub mod error;
mod health;
pub mod openapi;
pub mod webhooks;

pub use health::Probes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::Router;
use secrecy::SecretString;
use sqlx::PgPool;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::lock_providers::Providers;

/// The largest request body accepted: 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub db: PgPool,
    /// The admin API's bearer token; `None` disables the API.
    pub admin_token: Option<Arc<SecretString>>,
    /// The lock providers (device listings).
    pub providers: Providers,
    /// What proves a webhook comes from its provider.
    pub webhooks: Arc<webhooks::WebhookSecrets>,
    /// `/metrics`' bearer token; `None` leaves it open.
    pub metrics_token: Option<Arc<SecretString>>,
    /// What `/readyz` and `/metrics` share between requests.
    pub probes: Arc<Probes>,
    /// Fetches calendar feeds (`POST /feeds/{id}/sync`).
    pub feeds: crate::feeds::FeedFetcher,
    /// `PUBLIC_BASE_URL` (or the bound address): the start of the webhook
    /// URLs handed out.
    pub public_base_url: Arc<str>,
    /// The operator console under `/admin`.
    pub console: crate::console::Console,
}

/// The whole router.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .merge(health::routes())
        .merge(webhooks::routes())
        .nest("/api/v1", api::routes(state.clone()))
        .route("/api/openapi.json", axum::routing::get(openapi::document))
        .nest("/admin", crate::console::routes(state.console.clone()))
        .fallback(|| async { error::ApiError::no_route() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
            // The path only: query strings may carry tokens, and so may the
            // path of a channel manager's webhook.
            let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
            let path = webhooks::loggable_path(request.uri().path());
            tracing::info_span!("http", method = %request.method(), path = %path, request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}
