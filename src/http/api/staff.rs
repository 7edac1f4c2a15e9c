//! `POST /staff`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::access::model::Role;
use crate::access::phone::Phone;
use crate::access::staff::{self, NewStaff, Staff};
use crate::access::{AccessError, AccessResult};
use crate::http::error::{ApiError, Json};
use crate::http::AppState;

/// A staff member to register.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StaffRequest {
    /// Full name.
    pub name: String,
    /// WhatsApp number in international format.
    #[schema(example = "+421900000002")]
    pub phone: Option<String>,
    /// Telegram user id.
    pub telegram_user_id: Option<i64>,
    /// `admin`, `manager` or `staff`.
    pub role: Role,
    /// The properties they may act on.
    #[serde(default)]
    pub property_ids: Vec<Uuid>,
}

impl TryFrom<StaffRequest> for NewStaff {
    type Error = AccessError;

    fn try_from(request: StaffRequest) -> AccessResult<Self> {
        let name = request.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AccessError::invalid("name", "1 to 200 characters"));
        }
        let phone = request
            .phone
            .filter(|p| !p.trim().is_empty())
            .map(|p| Phone::parse(&p))
            .transpose()
            .map_err(|e| AccessError::invalid("phone", e))?;
        if request.telegram_user_id.is_some_and(|id| id <= 0) {
            return Err(AccessError::invalid("telegram_user_id", "a positive number"));
        }
        Ok(NewStaff {
            name,
            phone,
            telegram_user_id: request.telegram_user_id,
            role: request.role,
            property_ids: request.property_ids,
        })
    }
}

/// Register a staff member.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", request_body = StaffRequest,
    responses((status = 201, body = Staff), (status = 409, body = crate::http::error::ErrorBody),
        (status = 422, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Json(request): Json<StaffRequest>,
) -> Result<(StatusCode, Json<Staff>), ApiError> {
    let new = NewStaff::try_from(request)?;
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let staff = staff::create_staff(&mut tx, &new).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok((StatusCode::CREATED, Json(staff)))
}

/// Changes to a staff member.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StaffPatch {
    /// `false` deactivates: commands stop and their codes leave the locks.
    pub active: Option<bool>,
}

/// What a deactivation did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StaffPatched {
    /// The staff member.
    pub id: Uuid,
    /// Whether they may act.
    pub active: bool,
    /// Their codes now being removed from the locks.
    pub codes_removing: usize,
}

/// Deactivate a staff member; their codes are removed from the locks.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", request_body = StaffPatch,
    responses((status = 200, body = StaffPatched), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    crate::http::error::Path(id): crate::http::error::Path<Uuid>,
    Json(patch): Json<StaffPatch>,
) -> Result<Json<StaffPatched>, ApiError> {
    if patch.active != Some(false) {
        return Err(AccessError::invalid("active", "only deactivation (false) is supported").into());
    }
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let codes_removing = staff::deactivate_staff(&mut tx, id, crate::access::audit::Actor::Api).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok(Json(StaffPatched { id, active: false, codes_removing }))
}
