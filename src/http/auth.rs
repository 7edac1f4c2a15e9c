//! Bearer tokens: the admin API's, and `/metrics`'.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::AppState;

/// Lets a request through only with `Authorization: Bearer <ADMIN_API_TOKEN>`,
/// compared in constant time. Without a configured token the API is off.
pub async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Result<Response, ApiError> {
    let Some(expected) = &state.admin_token else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "api_disabled",
            "the admin API is disabled: set ADMIN_API_TOKEN to enable it",
        ));
    };
    if !bearer_matches(request.headers(), expected) {
        return Err(ApiError::unauthorized());
    }
    Ok(next.run(request).await)
}

/// Whether `headers` carry `Authorization: Bearer <expected>`, compared in
/// constant time.
pub fn bearer_matches(headers: &HeaderMap, expected: &SecretString) -> bool {
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    presented.as_bytes().ct_eq(expected.expose_secret().as_bytes()).into()
}
