//! What the lock providers' accounts hold (SPEC §12, discovery).

use axum::extract::{Path, State};
use axum::Json;

use super::schema;
use crate::access::error::AccessError;
use crate::access::model::ProviderKind;
use crate::devices::discovery::{discover, DiscoveredDevice};
use crate::http::error::ApiError;
use crate::http::AppState;

/// A provider in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct ProviderName {
    /// `nuki`, `seam` or `simulated`.
    #[param(pattern = "^(nuki|seam|simulated)$")]
    provider: String,
}

/// Every device of the provider's account, by name, each with the doorman
/// lock it is mapped to (`null`: not set up yet; its `device_id` is what
/// `POST /api/v1/locks` takes as `provider_device_id`).
#[utoipa::path(get, path = "/api/v1/providers/{provider}/devices", tag = "locks", operation_id = "discover_devices",
    params(ProviderName),
    responses((status = 200, description = "The account's devices.", body = Vec<DiscoveredDevice>),
        schema::NotFound, schema::NotConfigured, schema::ProviderFailed),
    security(("bearer" = [])))]
pub async fn devices(
    State(state): State<AppState>,
    Path(provider): Path<String>,
) -> Result<Json<Vec<DiscoveredDevice>>, ApiError> {
    let kind: ProviderKind = provider.parse().map_err(|_| AccessError::NotFound { entity: "provider" })?;
    Ok(Json(discover(&state.db, &state.providers, kind).await?))
}
