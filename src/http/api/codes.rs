//! `POST /locks/{id}/codes`, `GET /locks/{id}/device-codes`,
//! `POST /codes/{id}/revoke`.

use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::access::audit::Actor;
use crate::access::codes::{get_code, AccessCode};
use crate::access::lifecycle::{self, ManualCode};
use crate::access::model::CodeKind;
use crate::access::AccessError;
use crate::devices::observe::{observe_device_codes, ObservedCode};
use crate::http::error::{ApiError, Json, Path};
use crate::http::AppState;

/// A manual code.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ManualCodeRequest {
    /// `standalone` (e.g. a contractor), `master`, `staff` or `guest`.
    #[schema(schema_with = super::schema::manual_code_kind)]
    pub kind: CodeKind,
    /// For `guest` codes: the booking's PMS reference.
    #[schema(max_length = 64, pattern = "^[^\\u0000]*$")]
    pub booking_ref: Option<String>,
    /// For `staff` codes: the staff member.
    pub staff_id: Option<Uuid>,
    /// Start of validity (default: now, or the booking's check-in).
    #[schema(schema_with = super::schema::optional_date_time)]
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity, after its start; required for `standalone`.
    #[schema(schema_with = super::schema::optional_date_time)]
    pub valid_until: Option<DateTime<Utc>>,
    /// Free text, e.g. "plumber", at most 100 characters (trimmed).
    #[schema(example = "plumber", max_length = 100, pattern = "^[^\\u0000]*$")]
    pub label: Option<String>,
}

/// Why and how to revoke.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RevokeRequest {
    /// Recorded in the audit trail.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub reason: Option<String>,
    /// Revoke even the code of a stay in progress.
    #[serde(default)]
    pub force: bool,
}

/// Create a manual code on a lock; it is programmed by the scheduler.
#[utoipa::path(post, path = "/api/v1/locks/{id}/codes", tag = "codes", operation_id = "create_code",
    params(super::schema::LockId), request_body = ManualCodeRequest,
    responses((status = 201, description = "Created; programmed by the scheduler.", body = AccessCode),
        super::schema::NotFound, super::schema::Conflict, super::schema::Invalid),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Path(lock_id): Path<Uuid>,
    Json(request): Json<ManualCodeRequest>,
) -> Result<(StatusCode, Json<AccessCode>), ApiError> {
    if request.kind == CodeKind::Backup {
        let why = "backup codes are kept by doorman: set the lock's backup_codes instead";
        return Err(AccessError::invalid("kind", why).into());
    }
    let label = request.label.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    if label.as_ref().is_some_and(|l| l.chars().count() > 100) {
        return Err(AccessError::invalid("label", "at most 100 characters").into());
    }
    let manual = ManualCode {
        kind: request.kind,
        booking_ref: request.booking_ref,
        staff_id: request.staff_id,
        valid_from: request.valid_from,
        valid_until: request.valid_until,
        label,
    };
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let id = lifecycle::create_manual_code(&mut tx, lock_id, &manual, Actor::Api, Utc::now()).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok((StatusCode::CREATED, Json(get_code(&state.db, id).await?)))
}

/// Revoke a code end to end: `removing` until the provider confirms.
/// 409 `stay_in_progress` for a guest code of a stay in progress without
/// `force`.
#[utoipa::path(post, path = "/api/v1/codes/{id}/revoke", tag = "codes", operation_id = "revoke_code",
    params(super::schema::CodeId),
    request_body(content = Option<RevokeRequest>, description = "Optional: an empty body revokes with the default reason."),
    responses((status = 200, description = "The code, now `removing`.", body = AccessCode), super::schema::NotFound,
        super::schema::Conflict),
    security(("bearer" = [])))]
pub async fn revoke(
    State(state): State<AppState>,
    Path(code_id): Path<Uuid>,
    body: axum::body::Bytes,
) -> Result<Json<AccessCode>, ApiError> {
    // The body is optional: an empty POST revokes with the default reason.
    // So is a JSON `null`.
    let request: RevokeRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RevokeRequest::default()
    } else {
        serde_json::from_slice::<Option<RevokeRequest>>(&body).map(Option::unwrap_or_default).map_err(|e| {
            let status = if e.is_data() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::BAD_REQUEST };
            let code = if e.is_data() { "invalid_value" } else { "malformed_json" };
            ApiError::new(status, code, e.to_string())
        })?
    };
    let reason = request
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "revoked through the API".into());
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    lifecycle::revoke_code(&mut tx, code_id, &reason, request.force, Actor::Api, Utc::now()).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok(Json(get_code(&state.db, code_id).await?))
}

/// What the provider reports is on the lock now, each code `managed` or
/// `orphan`.
#[utoipa::path(get, path = "/api/v1/locks/{id}/device-codes", tag = "codes", operation_id = "list_device_codes",
    params(super::schema::LockId),
    responses((status = 200, description = "What is on the lock.", body = Vec<ObservedCode>), super::schema::NotFound,
        super::schema::NotConfigured, super::schema::ProviderFailed),
    security(("bearer" = [])))]
pub async fn device_codes(
    State(state): State<AppState>,
    Path(lock_id): Path<Uuid>,
) -> Result<Json<Vec<ObservedCode>>, ApiError> {
    let observed = observe_device_codes(&state.db, &state.providers, lock_id).await?;
    let revealed = observed.iter().filter(|c| c.code.is_some()).count();
    crate::access::codes::record_device_reveal(&state.db, lock_id, revealed).await?;
    Ok(Json(observed))
}

/// Whom an adopted code belongs to.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AdoptRequest {
    /// The staff member who gets the code as their persistent code.
    pub staff_id: Uuid,
}

/// Take a code found on the lock (an orphan from `device-codes`) as a staff
/// member's persistent code, instead of generating a new one.
#[utoipa::path(post, path = "/api/v1/locks/{id}/device-codes/{provider_ref}/adopt", tag = "codes",
    operation_id = "adopt_device_code",
    params(super::schema::LockId,
        ("provider_ref" = String, Path, description = "The provider's reference of the code, from `device-codes`.")),
    request_body = AdoptRequest,
    responses((status = 201, description = "Adopted.", body = AccessCode), super::schema::NotFound,
        super::schema::Conflict, super::schema::Invalid),
    security(("bearer" = [])))]
pub async fn adopt(
    State(state): State<AppState>,
    Path((lock_id, provider_ref)): Path<(Uuid, String)>,
    Json(request): Json<AdoptRequest>,
) -> Result<(StatusCode, Json<AccessCode>), ApiError> {
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let code_id = lifecycle::adopt_device_code(&mut tx, lock_id, &provider_ref, request.staff_id, Actor::Api).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok((StatusCode::CREATED, Json(get_code(&state.db, code_id).await?)))
}
