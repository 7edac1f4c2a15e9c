//! `GET /audit` and `GET /notifications`: what happened, and what was sent.

use axum::extract::State;
use serde::Deserialize;
use uuid::Uuid;

use crate::access::audit::{self, AuditEvent, AuditFilter};
use crate::access::bookings::find_booking_id;
use crate::access::notifications::{self, Notification, NotificationFilter};
use crate::access::AccessError;
use crate::http::error::{ApiError, Json, Query};
use crate::http::AppState;

/// Filters of the trail endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrailQuery {
    /// Only this booking, by its PMS reference (404 when there is none).
    #[param(max_length = 64, pattern = "^[^\\u0000]*$")]
    pub booking_ref: Option<String>,
    /// Only this lock.
    pub lock_id: Option<Uuid>,
    /// At most this many of the latest, 1 to 1000 (default 200).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Audit events, oldest first.
#[utoipa::path(get, path = "/api/v1/audit", tag = "trail", operation_id = "list_audit", params(TrailQuery),
    responses((status = 200, description = "The events.", body = Vec<AuditEvent>), super::schema::NotFound),
    security(("bearer" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    Query(query): Query<TrailQuery>,
) -> Result<Json<Vec<AuditEvent>>, ApiError> {
    let filter = AuditFilter {
        booking_id: booking_id(&state, query.booking_ref.as_deref()).await?,
        lock_id: query.lock_id,
        limit: super::limit(query.limit),
    };
    let mut conn = state.db.acquire().await.map_err(AccessError::from)?;
    Ok(Json(audit::list(&mut conn, &filter).await?))
}

/// Outbound messages with their delivery status, oldest first.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "trail", operation_id = "list_notifications",
    params(TrailQuery),
    responses((status = 200, description = "The messages.", body = Vec<Notification>), super::schema::NotFound),
    security(("bearer" = [])))]
pub async fn notifications(
    State(state): State<AppState>,
    Query(query): Query<TrailQuery>,
) -> Result<Json<Vec<Notification>>, ApiError> {
    let filter = NotificationFilter {
        booking_id: booking_id(&state, query.booking_ref.as_deref()).await?,
        lock_id: query.lock_id,
        limit: super::limit(query.limit),
    };
    Ok(Json(notifications::list(&state.db, &filter).await?))
}

async fn booking_id(state: &AppState, booking_ref: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    match booking_ref {
        None => Ok(None),
        Some(reference) => Ok(Some(find_booking_id(&state.db, reference).await?)),
    }
}
