//! `POST /staff`, `PATCH /staff/{id}`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use uuid::Uuid;

use crate::access::audit::Actor;
use crate::access::model::Role;
use crate::access::phone::Phone;
use crate::access::staff::{self, Deactivation, NewStaff, Staff, StaffRoles};
use crate::access::{AccessError, AccessResult};
use crate::http::error::{ApiError, Json, Path};
use crate::http::AppState;

/// A staff member to register: either `roles` (a role per property), or
/// `role` with `property_ids` (the same role at each; `admin`: everywhere).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StaffRequest {
    /// Full name, 1 to 200 characters (trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000]*[^\\s\\u0000\\u0085][^\\u0000]*$")]
    pub name: String,
    /// WhatsApp number in international format, a valid number of its
    /// country; empty is the same as absent.
    #[schema(example = "+421900000002", format = "phone")]
    pub phone: Option<String>,
    /// Telegram user id, a positive number.
    #[serde(default, deserialize_with = "super::schema::whole_number")]
    #[schema(minimum = 1)]
    pub telegram_user_id: Option<i64>,
    /// `admin`, `manager` or `staff`, the same at every property listed.
    pub role: Option<Role>,
    /// The properties they may act on, with `role`.
    #[serde(default)]
    pub property_ids: Vec<Uuid>,
    /// Their role at each property: `{"<property_id>": "manager", …}`.
    #[schema(schema_with = super::schema::per_property_roles)]
    pub roles: Option<BTreeMap<Uuid, Role>>,
    /// A cleaner at every property listed (SPEC §11): the turnovers' codes
    /// between stays go to them. Not for an admin.
    #[serde(default)]
    pub cleaner: bool,
}

/// `role` + `property_ids`, or `roles`: exactly one of the two forms.
fn parse_roles(
    role: Option<Role>,
    property_ids: &[Uuid],
    roles: Option<BTreeMap<Uuid, Role>>,
) -> AccessResult<StaffRoles> {
    match (role, roles) {
        (Some(_), Some(_)) => Err(AccessError::invalid("roles", "give either roles, or role with property_ids")),
        (Some(role), None) => Ok(StaffRoles::same(role, property_ids)),
        (None, Some(roles)) => StaffRoles::per_property(roles),
        (None, None) => Err(AccessError::invalid("role", "required (or roles: a role per property)")),
    }
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
        let roles = parse_roles(request.role, &request.property_ids, request.roles)?;
        Ok(NewStaff { name, phone, telegram_user_id: request.telegram_user_id, roles, cleaner: request.cleaner })
    }
}

/// Register a staff member.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff", operation_id = "create_staff", request_body = StaffRequest,
    responses((status = 201, description = "Registered.", body = Staff), super::schema::NotFound,
        super::schema::Conflict, super::schema::Invalid),
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

/// Changes to a staff member: deactivation, or new roles.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct StaffPatch {
    /// `false` deactivates: commands stop, their codes and the standalone
    /// codes they issued leave the locks, the numbers they linked are
    /// unlinked. `true` is refused: register them again.
    #[schema(schema_with = super::schema::only_false)]
    pub active: Option<bool>,
    /// The same role at each of `property_ids`.
    pub role: Option<Role>,
    /// With `role`.
    #[serde(default)]
    pub property_ids: Vec<Uuid>,
    /// Their role at each property.
    #[schema(schema_with = super::schema::per_property_roles)]
    pub roles: Option<BTreeMap<Uuid, Role>>,
    /// `true`: a cleaner at every property they work at (after any change
    /// of roles); `false`: at none.
    pub cleaner: Option<bool>,
}

/// The staff member after the change.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StaffPatched {
    /// The staff member as stored now.
    #[serde(flatten)]
    pub staff: Staff,
    /// Their codes now being removed from the locks (after a deactivation).
    pub codes_removing: usize,
    /// The links they made that were ended (after a deactivation).
    pub links_ended: usize,
}

/// Deactivate a staff member or change their roles.
#[utoipa::path(patch, path = "/api/v1/staff/{id}", tag = "staff", operation_id = "update_staff",
    params(super::schema::StaffId), request_body = StaffPatch,
    responses((status = 200, description = "The staff member now.", body = StaffPatched), super::schema::NotFound,
        super::schema::Invalid),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(patch): Json<StaffPatch>,
) -> Result<Json<StaffPatched>, ApiError> {
    if patch.active == Some(true) {
        return Err(AccessError::invalid("active", "reactivation is not supported: register them again").into());
    }
    let new_roles = match (patch.role, patch.roles) {
        (None, None) => None,
        (role, roles) => Some(parse_roles(role, &patch.property_ids, roles)?),
    };
    if patch.active.is_none() && new_roles.is_none() && patch.cleaner.is_none() {
        return Err(
            AccessError::invalid("active", "nothing to change: give active: false, role, roles or cleaner").into()
        );
    }
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    if let Some(roles) = &new_roles {
        staff::set_roles(&mut tx, id, roles, Actor::Api).await?;
    }
    if let Some(cleaner) = patch.cleaner {
        staff::set_cleaner(&mut tx, id, cleaner, Actor::Api).await?;
    }
    let done = match patch.active {
        Some(false) => staff::deactivate_staff(&mut tx, id, Actor::Api).await?,
        _ => Deactivation::default(),
    };
    let staff = staff::get_staff(&mut tx, id).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok(Json(StaffPatched { staff, codes_removing: done.codes_removing, links_ended: done.links_ended }))
}
