//! `POST /integrations`: connect a channel manager (SPEC §9).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::integrations::{self, Credentials, NewIntegration};
use crate::access::model::{IntegrationKind, RoomName};
use crate::access::{AccessError, AccessResult};
use crate::http::error::{ApiError, Json};
use crate::http::AppState;
use crate::integrations::check_credentials;

/// A channel manager account of a property.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct IntegrationRequest {
    /// `smoobu`, `beds24` or `hostaway`.
    pub kind: IntegrationKind,
    /// The property its reservations belong to.
    pub property_id: Uuid,
    /// Smoobu `{"api_key"}`; Beds24 `{"token"}` or `{"refresh_token"}`;
    /// Hostaway `{"account_id", "api_key"}`.
    #[schema(value_type = Object)]
    pub credentials: serde_json::Value,
    /// Their unit id → the room's name: Smoobu's apartment id, Beds24's
    /// `roomId` (or `roomId:unitId`), Hostaway's `listingMapId`.
    #[schema(example = json!({"505200": "101"}))]
    pub rooms: BTreeMap<String, String>,
}

/// The integration, and the URL to paste into the channel manager (shown
/// once: only a hash of its token is kept).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntegrationCreated {
    /// Identifier.
    pub id: Uuid,
    /// Which channel manager.
    pub kind: IntegrationKind,
    /// The property.
    pub property_id: Uuid,
    /// The webhook URL, with its secret token.
    pub webhook_url: String,
}

impl TryFrom<IntegrationRequest> for NewIntegration {
    type Error = AccessError;

    fn try_from(request: IntegrationRequest) -> AccessResult<Self> {
        let credentials = Credentials::new(request.credentials);
        check_credentials(request.kind, &credentials).map_err(|e| AccessError::invalid("credentials", e))?;
        let rooms = request
            .rooms
            .into_iter()
            .map(|(unit, room)| match (unit.trim().is_empty(), RoomName::parse(&room)) {
                (false, Ok(room)) => Ok((unit, room)),
                (true, _) => Err(AccessError::invalid("rooms", "a unit id may not be empty")),
                (false, Err(e)) => Err(AccessError::invalid("rooms", e)),
            })
            .collect::<AccessResult<_>>()?;
        Ok(Self { kind: request.kind, property_id: request.property_id, credentials, rooms })
    }
}

/// Connect a channel manager: its webhooks become bookings of the property.
#[utoipa::path(post, path = "/api/v1/integrations", tag = "integrations", operation_id = "create_integration",
    request_body = IntegrationRequest,
    responses((status = 201, description = "Connected; the webhook URL is shown this once.", body = IntegrationCreated),
        super::schema::NotFound, super::schema::Invalid),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Json(request): Json<IntegrationRequest>,
) -> Result<(StatusCode, Json<IntegrationCreated>), ApiError> {
    let new = NewIntegration::try_from(request)?;
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let created = integrations::create_integration(&mut tx, &new).await?;
    tx.commit().await.map_err(AccessError::from)?;
    let integration = created.integration;
    Ok((
        StatusCode::CREATED,
        Json(IntegrationCreated {
            id: integration.id,
            kind: integration.kind,
            property_id: integration.property_id,
            webhook_url: format!("{}/webhooks/integrations/{}", state.public_base_url, created.token),
        }),
    ))
}
