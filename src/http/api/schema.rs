//! Pieces of the OpenAPI document the handlers share: path parameters,
//! the error responses a route answers for its own reasons, and the
//! timezone names. The statuses every route of a kind answers (401; 400,
//! 413, 415 and 422 for a body) are added by `openapi::CommonResponses`.

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, Ref, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use uuid::Uuid;

use crate::http::error::ErrorBody;

/// A property's id in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // describes the path; handlers extract a `Uuid`
pub struct PropertyId {
    /// The property's id.
    id: Uuid,
}

/// A room's id in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct RoomId {
    /// The room's id.
    id: Uuid,
}

/// A lock's id in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct LockId {
    /// The lock's id.
    id: Uuid,
}

/// A code's id in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct CodeId {
    /// The access code's id.
    id: Uuid,
}

/// A feed's id in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct FeedId {
    /// The feed's id.
    id: Uuid,
}

/// A staff member's id in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct StaffId {
    /// The staff member's id.
    id: Uuid,
}

/// A booking's PMS reference in the path.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct ExternalRef {
    /// The booking's reference in the PMS: 1 to 64 printable ASCII
    /// characters without spaces, `/`, `?` or `#`.
    #[param(min_length = 1, max_length = 64, pattern = "^[!-\"$-.0->@-~]+$", example = "BK-10234")]
    external_ref: String,
}

/// The resource, or one it names, does not exist.
#[derive(utoipa::IntoResponses)]
#[response(status = 404)]
#[allow(dead_code)]
pub struct NotFound(ErrorBody);

/// The request clashes with what is stored.
#[derive(utoipa::IntoResponses)]
#[response(status = 409)]
#[allow(dead_code)]
pub struct Conflict(ErrorBody);

/// The lock's provider is not configured on this instance
/// (`provider_not_configured`).
#[derive(utoipa::IntoResponses)]
#[response(status = 409)]
#[allow(dead_code)]
pub struct NotConfigured(ErrorBody);

/// A value breaks a rule the handler checks (the message names the field
/// and the rule).
#[derive(utoipa::IntoResponses)]
#[response(status = 422)]
#[allow(dead_code)]
pub struct Invalid(ErrorBody);

/// The lock provider failed or could not be reached.
#[derive(utoipa::IntoResponses)]
#[response(status = 502)]
#[allow(dead_code)]
pub struct ProviderFailed(ErrorBody);

/// The name of the component listing every IANA timezone doorman knows.
pub const TIMEZONE: &str = "Timezone";

/// An IANA timezone name (the `Timezone` component).
pub fn timezone() -> impl Into<RefOr<Schema>> {
    Ref::from_schema_name(TIMEZONE)
}

/// An IANA timezone name, or `null`.
pub fn optional_timezone() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new().item(Ref::from_schema_name(TIMEZONE)).item(ObjectBuilder::new().schema_type(Type::Null))
}

/// The `Timezone` component: every name of the tz database doorman ships.
pub fn timezone_component() -> Schema {
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some("An IANA timezone, as in the tz database (case-sensitive)."))
        .enum_values(Some(names))
        .examples(["Europe/Bratislava"])
        .into()
}

/// Deserializes an optional whole number written either way JSON allows:
/// `24` or `24.0` (JSON Schema's `integer` is any number without a
/// fraction). Use with `#[serde(default, deserialize_with = ...)]`.
pub fn whole_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    let Some(number) = <Option<serde_json::Number> as serde::Deserialize>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = match (number.as_i64(), number.as_f64()) {
        (Some(n), _) => Some(n),
        // Within ±2^53 a float is exact, so the conversion below is too.
        (None, Some(f)) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => Some(f as i64),
        _ => None,
    };
    let out_of_range = || serde::de::Error::custom(format!("{number} is not a whole number in range"));
    whole.and_then(|n| T::try_from(n).ok()).map(Some).ok_or_else(out_of_range)
}

/// Deserializes a field where `null` means something (a setting turned
/// off) and an absent field means "unchanged": absent is `None` (with
/// `#[serde(default)]`), `null` is `Some(None)`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}

/// The kinds of code `POST /locks/{id}/codes` makes: every kind but
/// `backup` (doorman keeps those itself).
pub fn manual_code_kind() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["standalone", "master", "staff", "guest"]))
        .description(Some("`standalone` (e.g. a contractor), `master`, `staff` or `guest`."))
}

/// An RFC 3339 instant, such as `2026-12-24T15:00:00Z`, as a pattern: the
/// `date-time` format alone is only an annotation in OpenAPI 3.1. Days 29
/// to 31 only in the months that always have them (29 February is left
/// out of the pattern, not refused by the service).
pub const DATE_TIME: &str = concat!(
    "^[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)",
    "T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\\.[0-9]{1,9})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
);

/// A calendar date, `YYYY-MM-DD`, as a pattern (see [`DATE_TIME`]).
pub const DATE: &str =
    "^[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)$";

/// An optional instant (`date-time` with [`DATE_TIME`]), or `null`.
pub fn optional_date_time() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(date_time_format())).pattern(Some(DATE_TIME)))
        .item(ObjectBuilder::new().schema_type(Type::Null))
}

/// An optional date (`date` with [`DATE`]), or `null`.
pub fn optional_date() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String).format(Some(date_format())).pattern(Some(DATE)))
        .item(ObjectBuilder::new().schema_type(Type::Null))
}

fn date_time_format() -> SchemaFormat {
    SchemaFormat::KnownFormat(KnownFormat::DateTime)
}

fn date_format() -> SchemaFormat {
    SchemaFormat::KnownFormat(KnownFormat::Date)
}

/// `false` or `null`: a flag that can only be switched off.
pub fn only_false() -> impl Into<RefOr<Schema>> {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([false])))
        .item(ObjectBuilder::new().schema_type(Type::Null))
}

/// A UUID, as a pattern (keys of an object say no `format`).
pub const UUID: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// A role per property, `{"<property id>": "manager" | "staff"}` (admin is
/// global: `role` says it), or `null`.
pub fn per_property_roles() -> impl Into<RefOr<Schema>> {
    let roles = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["manager", "staff"]));
    let map = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(
            ObjectBuilder::new().schema_type(Type::String).format(Some(uuid_format())).pattern(Some(UUID)),
        ))
        .additional_properties(Some(roles));
    OneOfBuilder::new().item(map).item(ObjectBuilder::new().schema_type(Type::Null))
}

fn uuid_format() -> SchemaFormat {
    SchemaFormat::KnownFormat(KnownFormat::Uuid)
}
