//! The OpenAPI document of the admin API, generated from the handlers'
//! annotations and served at `/api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api;

/// The admin API's description.
#[derive(OpenApi)]
#[openapi(
    info(title = "doorman admin API", description = "Properties, rooms, locks, bookings, staff, codes and their trail."),
    paths(
        api::properties::create,
        api::properties::show,
        api::properties::create_room,
        api::feeds::create,
        api::feeds::list,
        api::feeds::delete,
        api::feeds::sync,
        api::locks::create,
        api::locks::show,
        api::locks::codes,
        api::codes::create,
        api::codes::revoke,
        api::codes::device_codes,
        api::codes::adopt,
        api::locks::reconcile_now,
        api::staff::create,
        api::staff::update,
        api::bookings::upsert,
        api::bookings::show,
        api::integrations::create,
        api::trail::audit,
        api::trail::notifications,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
