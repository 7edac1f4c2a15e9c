//! `POST /locks`, `GET /locks`, `GET /locks/{id}`, `PATCH /locks/{id}`,
//! `GET /locks/{id}/codes`, `POST /locks/{id}/reconcile`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use super::schema;
use crate::access::audit::Actor;
use crate::access::audit::Subject;
use crate::access::codes::{list_lock_codes, record_api_reveal, AccessCode};
use crate::access::locks::{self, Lock, LockChanges, LockInput, NewLock};
use crate::access::model::{CodeFormat, CodeLength, LockKind, LockStatus, ProviderKind};
use crate::access::{AccessError, AccessResult};
use crate::devices::discovery::find_device;
use crate::devices::locks::{check_new_device, reconcile, store_new_lock, Reconciliation};
use crate::devices::FillBackupPool;
use crate::http::error::{ApiError, Json, Path, Query};
use crate::http::AppState;
use crate::jobs::queue;

/// A lock to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LockRequest {
    /// Its property.
    pub property_id: Uuid,
    /// Its room; omit for a property-wide entrance.
    pub room_id: Option<Uuid>,
    /// Display name, 1 to 100 characters (trimmed). Omit it to take a
    /// device from the provider's list (`GET /api/v1/providers/{provider}/devices`):
    /// the lock gets the device's name there, and an id the provider does
    /// not list is refused (422).
    #[schema(
        example = "Room 101 door",
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000]*[^\\s\\u0000\\u0085][^\\u0000]*$"
    )]
    #[serde(default)]
    pub name: Option<String>,
    /// Its name in other languages, told to a guest of that language:
    /// `{"de": "Haustür", "sk": "Vchodové dvere"}` (1 to 100 characters
    /// each; `name` is the English one).
    #[serde(default)]
    pub name_translations: BTreeMap<String, String>,
    /// Manufacturer.
    #[serde(default)]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub brand: String,
    /// Model.
    #[serde(default)]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub model: String,
    /// How a guest operates it (default `pin_pad`).
    pub kind: Option<LockKind>,
    /// Who programs it.
    pub provider: ProviderKind,
    /// The provider's id of the device, 1 to 200 characters (trimmed):
    /// required for `nuki` and `seam`, generated for `simulated` locks.
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000]*[^\\s\\u0000\\u0085][^\\u0000]*$")]
    pub provider_device_id: Option<String>,
    /// Characters its codes use (default `numeric`).
    pub code_format: Option<CodeFormat>,
    /// Length of its guest codes, 4–10 (default 6); at least 6 on a
    /// property-wide entrance.
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 4, maximum = 10)]
    pub code_length: Option<i64>,
    /// How many codes it holds, 1 to 10000 (default 100).
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: Option<i32>,
    /// Whether doorman programs codes on it (default `active`).
    pub status: Option<LockStatus>,
    /// How many backup codes doorman keeps on it, 0–10 and below the
    /// capacity (default 0): a guest whose own code is not on the lock in
    /// time gets one of them.
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 0, maximum = 10)]
    pub backup_codes: Option<i32>,
}

impl TryFrom<LockRequest> for NewLock {
    type Error = AccessError;

    fn try_from(request: LockRequest) -> AccessResult<Self> {
        NewLock::parse(LockInput {
            property_id: request.property_id,
            room_id: request.room_id,
            name: request.name.unwrap_or_default(),
            name_translations: request.name_translations,
            brand: request.brand,
            model: request.model,
            kind: request.kind,
            provider: request.provider,
            provider_device_id: request.provider_device_id,
            code_format: request.code_format,
            code_length: request.code_length,
            capacity: request.capacity,
            status: request.status,
            backup_codes: request.backup_codes,
        })
    }
}

/// Changes to a lock's settings: only the fields given change. Its
/// property, room, provider and device are fixed (register another lock to
/// change them); codes already issued keep their format and length.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LockPatch {
    /// Display name, 1 to 100 characters (trimmed).
    #[schema(min_length = 1, max_length = 100, pattern = "^[^\\u0000]*[^\\s\\u0000\\u0085][^\\u0000]*$")]
    pub name: Option<String>,
    /// Its names in other languages: the whole set (`{}` removes them).
    pub name_translations: Option<BTreeMap<String, String>>,
    /// Manufacturer.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub brand: Option<String>,
    /// Model.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub model: Option<String>,
    /// How a guest operates it.
    pub kind: Option<LockKind>,
    /// Characters its new codes use.
    pub code_format: Option<CodeFormat>,
    /// Length of its new guest codes, 4–10; at least 6 on a property-wide
    /// entrance.
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 4, maximum = 10)]
    pub code_length: Option<i64>,
    /// How many codes it holds, 1 to 10000.
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: Option<i32>,
    /// Whether doorman programs codes on it.
    pub status: Option<LockStatus>,
    /// How many backup codes doorman keeps on it, 0–10 and below the
    /// capacity. Raising it fills the pool at once.
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 0, maximum = 10)]
    pub backup_codes: Option<i32>,
}

impl TryFrom<LockPatch> for LockChanges {
    type Error = AccessError;

    fn try_from(patch: LockPatch) -> AccessResult<Self> {
        let code_length =
            patch.code_length.map(CodeLength::new).transpose().map_err(|e| AccessError::invalid("code_length", e))?;
        Ok(Self {
            name: patch.name.map(|n| locks::parse_lock_name(&n)).transpose()?,
            name_translations: patch.name_translations.map(locks::parse_lock_names).transpose()?,
            brand: patch.brand.map(|b| b.trim().to_owned()),
            model: patch.model.map(|m| m.trim().to_owned()),
            kind: patch.kind,
            code_format: patch.code_format,
            code_length,
            capacity: patch.capacity,
            status: patch.status,
            backup_codes: patch.backup_codes,
        })
    }
}

/// Filters of `GET /locks`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LockQuery {
    /// Only this property's locks (404 when it does not exist).
    pub property_id: Option<Uuid>,
}

/// Every lock, or a property's: by property, entrances first, then by name.
#[utoipa::path(get, path = "/api/v1/locks", tag = "locks", operation_id = "list_locks", params(LockQuery),
    responses((status = 200, description = "The locks.", body = Vec<Lock>), schema::NotFound),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, Query(query): Query<LockQuery>) -> Result<Json<Vec<Lock>>, ApiError> {
    let mut conn = state.db.acquire().await.map_err(AccessError::from)?;
    Ok(Json(locks::list_locks(&mut conn, query.property_id).await?))
}

/// Change a lock's settings; audited (`lock.updated`, each field's old and
/// new value). 422 when the settings together break a rule (an entrance's
/// codes shorter than 6, backup codes not below the capacity).
#[utoipa::path(patch, path = "/api/v1/locks/{id}", tag = "locks", operation_id = "update_lock",
    params(schema::LockId), request_body = LockPatch,
    responses((status = 200, description = "The lock as stored now.", body = Lock), schema::NotFound,
        schema::Invalid),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(patch): Json<LockPatch>,
) -> Result<Json<Lock>, ApiError> {
    let changes = LockChanges::try_from(patch)?;
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let lock = locks::update_lock(&mut tx, id, &changes, Actor::Api).await?;
    if changes.backup_codes.is_some_and(|n| n > 0) {
        queue::enqueue(&mut tx, &FillBackupPool { lock_id: id }, chrono::Utc::now())
            .await
            .map_err(AccessError::from)?;
    }
    tx.commit().await.map_err(AccessError::from)?;
    Ok(Json(lock))
}

/// Register a lock on a room, or on the property as a shared entrance.
/// Without a `name`, the device is taken from the provider's device list
/// (discovery) with its name there. 409 when the device is a lock already
/// (naming it); 422 when the provider does not list it.
#[utoipa::path(post, path = "/api/v1/locks", tag = "locks", operation_id = "create_lock", request_body = LockRequest,
    responses((status = 201, description = "Registered.", body = Lock), schema::NotFound, schema::Conflict,
        schema::Invalid, schema::ProviderFailed),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Json(mut request): Json<LockRequest>,
) -> Result<(StatusCode, Json<Lock>), ApiError> {
    let found = match (&request.name, &request.provider_device_id) {
        (None, Some(device_id)) => Some(find_device(&state.db, &state.providers, request.provider, device_id).await?),
        _ => None,
    };
    if let Some(device) = &found {
        request.name = Some(device.name.clone());
        if request.model.trim().is_empty() {
            request.model = device.model.clone().unwrap_or_default();
        }
    }
    let new = NewLock::try_from(request)?;
    let status = match found {
        Some(device) => Some(device.status),
        None => check_new_device(&state.providers, &new).await?,
    };
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let lock = store_new_lock(&mut tx, &new, status.as_ref()).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok((StatusCode::CREATED, Json(lock)))
}

/// A lock.
#[utoipa::path(get, path = "/api/v1/locks/{id}", tag = "locks", operation_id = "show_lock", params(schema::LockId),
    responses((status = 200, description = "The lock.", body = Lock), schema::NotFound),
    security(("bearer" = [])))]
pub async fn show(State(state): State<AppState>, Path(id): Path<Uuid>) -> Result<Json<Lock>, ApiError> {
    Ok(Json(locks::get_lock(&state.db, id).await?))
}

/// Live and past codes of a lock, newest first, in full.
#[utoipa::path(get, path = "/api/v1/locks/{id}/codes", tag = "codes", operation_id = "list_lock_codes",
    params(schema::LockId),
    responses((status = 200, description = "The codes, newest first.", body = Vec<AccessCode>), schema::NotFound),
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
#[utoipa::path(post, path = "/api/v1/locks/{id}/reconcile", tag = "locks", operation_id = "reconcile_lock",
    params(schema::LockId),
    responses((status = 200, description = "What was found and done.", body = Reconciliation), schema::NotFound,
        schema::NotConfigured, schema::ProviderFailed),
    security(("bearer" = [])))]
pub async fn reconcile_now(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
) -> Result<Json<Reconciliation>, ApiError> {
    Ok(Json(reconcile(&state.db, &state.providers, id).await?))
}
