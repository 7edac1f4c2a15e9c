//! The OpenAPI 3.1 document of the admin API, generated from the handlers'
//! annotations and served at `/api/openapi.json`. CI validates it and
//! fuzzes the running service against it (`scripts/api-fuzz.sh`), so it
//! must say every parameter, every status a route answers with its error
//! body, and the constraints the handlers enforce.

use axum::Json;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use super::api;
use super::error::ErrorBody;

/// The admin API's description.
#[derive(OpenApi)]
#[openapi(
    info(title = "doorman admin API", description = "Properties, rooms, locks, bookings, staff, codes and their trail. \
        Every route needs `Authorization: Bearer <ADMIN_API_TOKEN>`; every error is \
        `{\"error\": {\"code\", \"message\"}}`."),
    paths(
        api::properties::create,
        api::properties::list,
        api::properties::show,
        api::properties::update,
        api::properties::create_room,
        api::properties::update_room,
        api::journey::list,
        api::journey::replace,
        api::feeds::create,
        api::feeds::list,
        api::feeds::delete,
        api::feeds::sync,
        api::locks::create,
        api::locks::list,
        api::locks::show,
        api::locks::update,
        api::locks::codes,
        api::codes::create,
        api::codes::revoke,
        api::codes::device_codes,
        api::codes::adopt,
        api::locks::reconcile_now,
        api::providers::devices,
        api::staff::create,
        api::staff::update,
        api::bookings::list,
        api::bookings::upsert,
        api::bookings::show,
        api::bookings::update,
        api::integrations::create,
        api::trail::audit,
        api::trail::notifications,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &Timezones, &CommonResponses)
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

/// The `Timezone` component the timezone fields refer to.
struct Timezones;

impl Modify for Timezones {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(api::schema::TIMEZONE.to_owned(), api::schema::timezone_component().into());
    }
}

/// The statuses every route of a kind answers, whatever it does: 401 for a
/// missing or wrong token (every route); 400 for a path or query parameter
/// that does not parse, or malformed JSON; and for a JSON body 413 (over
/// 1 MiB), 415 (not `application/json`, when the body is required) and 422
/// (a value of the wrong type or shape).
struct CommonResponses;

impl CommonResponses {
    const ALL: [(&'static str, &'static str, &'static str); 5] = [
        ("401", "Unauthorized", "The bearer token is missing or wrong (`unauthorized`)."),
        ("400", "BadRequest", "A path or query parameter does not parse, or the JSON is malformed."),
        ("413", "PayloadTooLarge", "The body is over 1 MiB (`payload_too_large`)."),
        ("415", "UnsupportedMediaType", "The body is not `application/json` (`unsupported_media_type`)."),
        ("422", "UnprocessableEntity", "A value is of the wrong type or breaks a rule; the message names it."),
    ];

    fn statuses(operation: &Operation) -> Vec<&'static str> {
        let params = operation.parameters.as_deref().unwrap_or_default();
        let query = params.iter().any(|p| matches!(p.parameter_in, ParameterIn::Query));
        let body = operation.request_body.as_ref();
        let mut statuses = vec!["401"];
        if !params.is_empty() || body.is_some() {
            statuses.push("400");
        }
        if query {
            // A filter in range for its type that the service cannot use.
            statuses.push("422");
        }
        if let Some(body) = body {
            statuses.extend(["413", "422"]);
            statuses.dedup();
            if matches!(body.required, Some(Required::True)) {
                statuses.push("415");
            }
        }
        statuses
    }
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (_, name, description) in Self::ALL {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name(ErrorBody::name()))).build();
            let response = ResponseBuilder::new().description(description).content("application/json", content);
            components.responses.insert(name.to_owned(), RefOr::T(response.build()));
        }
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                for status in Self::statuses(operation) {
                    let Some((_, name, _)) = Self::ALL.iter().find(|(s, _, _)| *s == status) else { continue };
                    let reference = RefOr::Ref(Ref::new(format!("#/components/responses/{name}")));
                    operation.responses.responses.entry(status.to_owned()).or_insert(reference);
                }
            }
        }
    }
}

/// `GET /api/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
