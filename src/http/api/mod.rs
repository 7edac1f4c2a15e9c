//! The admin REST API (SPEC §7), behind the bearer token.

pub mod bookings;
pub mod codes;
pub mod feeds;
pub mod integrations;
pub mod journey;
pub mod locks;
pub mod properties;
pub mod providers;
pub mod schema;
pub mod staff;
pub mod trail;

use axum::routing::{get, patch, post, put};
use axum::Router;

use super::{auth, AppState};

/// Page size of list endpoints when `limit` is not given, and the most
/// allowed.
pub const DEFAULT_LIMIT: i64 = 200;
/// The most rows a list endpoint returns.
pub const MAX_LIMIT: i64 = 1000;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/properties", post(properties::create).get(properties::list))
        .route("/properties/{id}", get(properties::show).patch(properties::update))
        .route("/properties/{id}/rooms", post(properties::create_room))
        .route("/properties/{id}/message-rules", get(journey::list).put(journey::replace))
        .route("/rooms/{id}", patch(properties::update_room))
        .route("/rooms/{id}/feeds", post(feeds::create).get(feeds::list))
        .route("/feeds/{id}", axum::routing::delete(feeds::delete))
        .route("/feeds/{id}/sync", post(feeds::sync))
        .route("/locks", post(locks::create).get(locks::list))
        .route("/locks/{id}", get(locks::show).patch(locks::update))
        .route("/locks/{id}/codes", get(locks::codes).post(codes::create))
        .route("/locks/{id}/device-codes", get(codes::device_codes))
        .route("/locks/{id}/device-codes/{provider_ref}/adopt", post(codes::adopt))
        .route("/locks/{id}/reconcile", post(locks::reconcile_now))
        .route("/providers/{provider}/devices", get(providers::devices))
        .route("/codes/{id}/revoke", post(codes::revoke))
        .route("/staff", post(staff::create))
        .route("/staff/{id}", patch(staff::update))
        .route("/bookings", get(bookings::list))
        .route("/bookings/{external_ref}", put(bookings::upsert).get(bookings::show).patch(bookings::update))
        .route("/integrations", post(integrations::create))
        .route("/audit", get(trail::audit))
        .route("/notifications", get(trail::notifications))
        .fallback(|| async { super::error::ApiError::no_route() })
        .route_layer(axum::middleware::from_fn_with_state(state, auth::require_admin))
}

/// Clamps a requested page size.
pub fn limit(requested: Option<i64>) -> i64 {
    requested.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}
