//! `POST /locks`, `GET /locks/{id}`, `GET /locks/{id}/codes`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::access::audit::Subject;
use crate::access::codes::{list_lock_codes, record_api_reveal, AccessCode};
use crate::access::locks::{self, Lock, NewLock};
use crate::access::model::{CodeFormat, CodeLength, LockKind, LockStatus, ProviderKind};
use crate::access::{AccessError, AccessResult};
use crate::devices::locks::{reconcile, store_status, Reconciliation};
use crate::devices::FillBackupPool;
use crate::http::error::{ApiError, Json, Path};
use crate::http::AppState;
use crate::jobs::queue;
use crate::lock_providers::{Device, ProviderError};

/// The shortest guest code a property-wide entrance may use.
const ENTRANCE_MIN_LENGTH: usize = 6;

/// A lock to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LockRequest {
    /// Its property.
    pub property_id: Uuid,
    /// Its room; omit for a property-wide entrance.
    pub room_id: Option<Uuid>,
    /// Display name.
    #[schema(example = "Room 101 door")]
    pub name: String,
    /// Manufacturer.
    #[serde(default)]
    pub brand: String,
    /// Model.
    #[serde(default)]
    pub model: String,
    /// How a guest operates it (default `pin_pad`).
    pub kind: Option<LockKind>,
    /// Who programs it.
    pub provider: ProviderKind,
    /// The provider's id of the device; generated for `simulated` locks.
    pub provider_device_id: Option<String>,
    /// Characters its codes use (default `numeric`).
    pub code_format: Option<CodeFormat>,
    /// Length of its guest codes, 4–10 (default 6); at least 6 on a
    /// property-wide entrance.
    pub code_length: Option<i64>,
    /// How many codes it holds (default 100).
    pub capacity: Option<i32>,
    /// Whether doorman programs codes on it (default `active`).
    pub status: Option<LockStatus>,
    /// How many backup codes doorman keeps on it, 0–10 (default 0): a
    /// guest whose own code is not on the lock in time gets one of them.
    pub backup_codes: Option<i32>,
}

impl TryFrom<LockRequest> for NewLock {
    type Error = AccessError;

    fn try_from(request: LockRequest) -> AccessResult<Self> {
        let name = request.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AccessError::invalid("name", "1 to 100 characters"));
        }
        let provider_device_id = match (request.provider_device_id.map(|d| d.trim().to_owned()), request.provider) {
            (Some(id), _) if !id.is_empty() && id.len() <= 200 => id,
            (None, ProviderKind::Simulated) => format!("sim-{}", Uuid::new_v4().simple()),
            _ => {
                return Err(AccessError::invalid("provider_device_id", "1 to 200 characters, required for real locks"))
            }
        };
        let capacity = request.capacity.unwrap_or(100);
        if !(1..=10_000).contains(&capacity) {
            return Err(AccessError::invalid("capacity", "between 1 and 10000"));
        }
        let code_length =
            CodeLength::new(request.code_length.unwrap_or(6)).map_err(|e| AccessError::invalid("code_length", e))?;
        if request.room_id.is_none() && code_length.get() < ENTRANCE_MIN_LENGTH {
            // A shared entrance holds every guest's code: with 4 or 5
            // characters a few hundred live codes make guessing easy.
            return Err(AccessError::invalid(
                "code_length",
                format!("at least {ENTRANCE_MIN_LENGTH} for a property-wide entrance (a lock without room_id)"),
            ));
        }
        let backup_codes = request.backup_codes.unwrap_or(0);
        if !(0..=10).contains(&backup_codes) || backup_codes >= capacity {
            return Err(AccessError::invalid("backup_codes", "between 0 and 10, and below the capacity"));
        }
        Ok(NewLock {
            property_id: request.property_id,
            room_id: request.room_id,
            name,
            brand: request.brand.trim().to_owned(),
            model: request.model.trim().to_owned(),
            kind: request.kind.unwrap_or(LockKind::PinPad),
            provider: request.provider,
            provider_device_id,
            code_format: request.code_format.unwrap_or(CodeFormat::Numeric),
            code_length,
            capacity,
            status: request.status.unwrap_or(LockStatus::Active),
            backup_codes,
        })
    }
}

/// Register a lock on a room, or on the property as a shared entrance.
#[utoipa::path(post, path = "/api/v1/locks", tag = "locks", request_body = LockRequest,
    responses((status = 201, body = Lock), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody), (status = 422, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Json(request): Json<LockRequest>,
) -> Result<(StatusCode, Json<Lock>), ApiError> {
    let new = NewLock::try_from(request)?;
    // A real lock is asked about itself first: a device the provider does
    // not know is refused now rather than failing every code later. An
    // unreachable one is registered all the same.
    let mut status = None;
    if new.provider != ProviderKind::Simulated {
        if let Ok(provider) = state.providers.get(new.provider) {
            let device = Device { lock_id: Uuid::nil(), device_id: new.provider_device_id.clone() };
            match provider.device_status(&device).await {
                Ok(reported) => status = Some(reported),
                Err(ProviderError::Permanent(reason)) => {
                    return Err(AccessError::invalid(
                        "provider_device_id",
                        format!("the provider refused it: {reason}"),
                    )
                    .into())
                }
                Err(e) => tracing::warn!(error = %e, "a new lock could not be reached; registering it anyway"),
            }
        }
    }
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let lock = locks::create_lock(&mut tx, &new).await?;
    if let Some(status) = &status {
        store_status(&mut tx, lock.id, status).await.map_err(AccessError::from)?;
    }
    if lock.backup_codes > 0 {
        queue::enqueue(&mut tx, &FillBackupPool { lock_id: lock.id }, chrono::Utc::now())
            .await
            .map_err(AccessError::from)?;
    }
    let lock = locks::get_lock(&mut *tx, lock.id).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok((StatusCode::CREATED, Json(lock)))
}

/// A lock.
#[utoipa::path(get, path = "/api/v1/locks/{id}", tag = "locks",
    responses((status = 200, body = Lock), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(State(state): State<AppState>, Path(id): Path<Uuid>) -> Result<Json<Lock>, ApiError> {
    Ok(Json(locks::get_lock(&state.db, id).await?))
}

/// Live and past codes of a lock, newest first, in full.
#[utoipa::path(get, path = "/api/v1/locks/{id}/codes", tag = "codes",
    responses((status = 200, body = Vec<AccessCode>), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn codes(State(state): State<AppState>, Path(id): Path<Uuid>) -> Result<Json<Vec<AccessCode>>, ApiError> {
    let lock = locks::get_lock(&state.db, id).await?;
    let codes = list_lock_codes(&state.db, id).await?;
    let subject = Subject { property_id: Some(lock.property_id), lock_id: Some(id), ..Default::default() };
    record_api_reveal(&state.db, subject, &codes).await?;
    Ok(Json(codes))
}

/// Compare what is on the lock with doorman's codes now: orphans reported
/// (never removed), missing codes programmed again, wrong windows updated.
/// The nightly run does the same for every lock.
#[utoipa::path(post, path = "/api/v1/locks/{id}/reconcile", tag = "locks",
    responses((status = 200, body = Reconciliation), (status = 404, body = crate::http::error::ErrorBody),
        (status = 502, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn reconcile_now(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Reconciliation>, ApiError> {
    Ok(Json(reconcile(&state.db, &state.providers, id).await?))
}
