//! `POST /properties`, `GET /properties/{id}`, `POST /properties/{id}/rooms`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::locks::{list_property_locks, Lock};
use crate::access::model::RoomName;
use crate::access::properties::{self, hh_mm, Knowledge, NewProperty, Property, Room};
use crate::access::timezone::Timezone;
use crate::access::{AccessError, AccessResult};
use crate::http::error::{ApiError, Json, Path};
use crate::http::AppState;

/// A property to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PropertyRequest {
    /// Display name.
    #[schema(example = "Old Town Flats")]
    pub name: String,
    /// IANA timezone.
    #[schema(example = "Europe/Bratislava")]
    pub timezone: String,
    /// Street address.
    #[serde(default)]
    pub address: String,
    /// Local check-in time, `HH:MM` (default 15:00).
    #[schema(example = "15:00")]
    pub check_in_time: Option<String>,
    /// Local check-out time, `HH:MM` (default 11:00).
    #[schema(example = "11:00")]
    pub check_out_time: Option<String>,
    /// Hours before check-in a guest may receive the code (default 24).
    pub code_release_hours: Option<i32>,
    /// Whether a booking must be verified before its code is released.
    #[serde(default)]
    pub requires_verification: bool,
    /// The knowledge base.
    #[serde(default)]
    pub knowledge: Knowledge,
    /// Channels guest messages use (default all: whatsapp, telegram, sms, email).
    pub notify_channels: Option<Vec<String>>,
}

impl TryFrom<PropertyRequest> for NewProperty {
    type Error = AccessError;

    fn try_from(request: PropertyRequest) -> AccessResult<Self> {
        let name = request.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AccessError::invalid("name", "1 to 200 characters"));
        }
        let time = |field: &str, raw: Option<String>, default: (u32, u32)| match raw {
            None => Ok(chrono::NaiveTime::from_hms_opt(default.0, default.1, 0).expect("valid default")),
            Some(raw) => hh_mm::parse(&raw).ok_or_else(|| AccessError::invalid(field, format!("{raw:?} is not HH:MM"))),
        };
        let code_release_hours = request.code_release_hours.unwrap_or(24);
        if !(0..=NewProperty::MAX_RELEASE_HOURS).contains(&code_release_hours) {
            return Err(AccessError::invalid("code_release_hours", "between 0 and 720"));
        }
        let notify_channels =
            request.notify_channels.unwrap_or_else(|| NewProperty::CHANNELS.map(str::to_owned).to_vec());
        if let Some(bad) = notify_channels.iter().find(|c| !NewProperty::CHANNELS.contains(&c.as_str())) {
            return Err(AccessError::invalid(
                "notify_channels",
                format!("{bad:?} is not one of whatsapp, telegram, sms, email"),
            ));
        }
        Ok(NewProperty {
            notify_channels,
            name,
            timezone: Timezone::parse(&request.timezone).map_err(|e| AccessError::invalid("timezone", e))?,
            address: request.address.trim().to_owned(),
            check_in_time: time("check_in_time", request.check_in_time, (15, 0))?,
            check_out_time: time("check_out_time", request.check_out_time, (11, 0))?,
            code_release_hours,
            requires_verification: request.requires_verification,
            knowledge: request.knowledge,
        })
    }
}

/// A property with its rooms and locks.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PropertyView {
    /// The property.
    #[serde(flatten)]
    pub property: Property,
    /// Its rooms, by name.
    pub rooms: Vec<Room>,
    /// Its locks, entrances first.
    pub locks: Vec<Lock>,
}

/// A room to add.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoomRequest {
    /// Name such as `101`.
    #[schema(example = "101")]
    pub name: String,
    /// Entry instructions of its own.
    pub entry_instructions: Option<String>,
}

/// Create a property.
#[utoipa::path(post, path = "/api/v1/properties", tag = "properties", request_body = PropertyRequest,
    responses((status = 201, body = Property), (status = 422, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Json(request): Json<PropertyRequest>,
) -> Result<(StatusCode, Json<Property>), ApiError> {
    let new = NewProperty::try_from(request)?;
    let property = properties::create_property(&state.db, &new).await?;
    Ok((StatusCode::CREATED, Json(property)))
}

/// A property with its rooms and locks.
#[utoipa::path(get, path = "/api/v1/properties/{id}", tag = "properties",
    responses((status = 200, body = PropertyView), (status = 404, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn show(State(state): State<AppState>, Path(id): Path<Uuid>) -> Result<Json<PropertyView>, ApiError> {
    let property = properties::get_property(&state.db, id).await?;
    let rooms = properties::list_rooms(&state.db, id).await?;
    let locks = list_property_locks(&state.db, id).await?;
    Ok(Json(PropertyView { property, rooms, locks }))
}

/// Add a room to a property.
#[utoipa::path(post, path = "/api/v1/properties/{id}/rooms", tag = "properties", request_body = RoomRequest,
    responses((status = 201, body = Room), (status = 404, body = crate::http::error::ErrorBody),
        (status = 409, body = crate::http::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_room(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(request): Json<RoomRequest>,
) -> Result<(StatusCode, Json<Room>), ApiError> {
    let name = RoomName::parse(&request.name).map_err(|e| AccessError::invalid("name", e))?;
    let mut conn = state.db.acquire().await.map_err(AccessError::from)?;
    let room = properties::create_room(&mut conn, id, &name, request.entry_instructions.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(room)))
}
