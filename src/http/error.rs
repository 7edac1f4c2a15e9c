//! The one place where errors become HTTP responses:
//! `{"error":{"code":…,"message":…}}` with the right status.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::access::AccessError;
use crate::devices::observe::ObserveError;

/// An error answered to an API client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `not_found`, `invalid_value`, `conflict`,
    /// `stay_in_progress`, `lock_full`, `malformed_json`, `unauthorized`,
    /// `payload_too_large`, `internal`, ...
    pub code: String,
    /// For a person.
    pub message: String,
}

impl ApiError {
    /// An error with an explicit status and code.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    /// 401 for a missing or wrong bearer token.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid bearer token is required")
    }

    /// 404 for an unknown route.
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }
}

impl From<AccessError> for ApiError {
    fn from(err: AccessError) -> Self {
        let status = match &err {
            AccessError::NotFound { .. } => StatusCode::NOT_FOUND,
            AccessError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AccessError::Conflict(_) | AccessError::StayInProgress | AccessError::LockFull { .. } => {
                StatusCode::CONFLICT
            }
            AccessError::Database(source) => {
                tracing::error!(error = %source, detail = ?source, "database error");
                return Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error");
            }
        };
        Self::new(status, err.code(), err.to_string())
    }
}

impl From<ObserveError> for ApiError {
    fn from(err: ObserveError) -> Self {
        match err {
            ObserveError::Access(e) => e.into(),
            ObserveError::Provider(e) => {
                tracing::warn!(error = %e, "lock provider failed");
                Self::new(StatusCode::BAD_GATEWAY, "provider_error", format!("the lock provider failed: {e}"))
            }
            ObserveError::NotConfigured(kind) => Self::new(
                StatusCode::CONFLICT,
                "provider_not_configured",
                format!("the lock's provider ({kind}) is not configured on this instance"),
            ),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_value",
            _ => "malformed_json",
        };
        Self::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_path", rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_owned(), message: self.message } };
        (self.status, axum::Json(body)).into_response()
    }
}

/// `axum::Json` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);
