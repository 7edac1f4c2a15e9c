//! `POST /properties`, `GET /properties`, `GET /properties/{id}`,
//! `PATCH /properties/{id}`, `POST /properties/{id}/rooms`,
//! `PATCH /rooms/{id}`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::schema;
use crate::access::audit::Actor;
use crate::access::journey::QuietHours;
use crate::access::locks::{list_property_locks, Lock};
use crate::access::model::{Language, RoomName};
use crate::access::properties::{
    self, Knowledge, KnowledgeChanges, NewProperty, Property, PropertyChanges, PropertyInput, Room,
};
use crate::access::rooms::{self, RoomChanges};
use crate::access::timezone::Timezone;
use crate::access::{AccessError, AccessResult};
use crate::http::error::{ApiError, Json, Path};
use crate::http::AppState;

/// A channel guest messages may use.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyChannel {
    /// WhatsApp.
    Whatsapp,
    /// Telegram.
    Telegram,
    /// SMS.
    Sms,
    /// E-mail.
    Email,
}

impl NotifyChannel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whatsapp => "whatsapp",
            Self::Telegram => "telegram",
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }
}

fn channel_names(channels: Vec<NotifyChannel>) -> AccessResult<Vec<String>> {
    properties::check_notify_channels(channels.into_iter().map(|c| c.as_str().to_owned()).collect())
}

/// A property to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PropertyRequest {
    /// Display name, 1 to 200 characters (trimmed).
    #[schema(
        example = "Old Town Flats",
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000]*[^\\s\\u0000\\u0085][^\\u0000]*$"
    )]
    pub name: String,
    /// IANA timezone, as in the tz database (case-sensitive).
    #[schema(schema_with = schema::timezone)]
    pub timezone: String,
    /// Street address.
    #[serde(default)]
    #[schema(pattern = "^[^\\u0000]*$")]
    pub address: String,
    /// Local check-in time, `HH:MM` (default 15:00).
    #[schema(example = "15:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub check_in_time: Option<String>,
    /// Local check-out time, `HH:MM` (default 11:00).
    #[schema(example = "11:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub check_out_time: Option<String>,
    /// Hours before check-in a guest may receive the code, 0 to 720
    /// (default 24).
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 0, maximum = 720)]
    pub code_release_hours: Option<i32>,
    /// Whether a booking must be verified before its code is released.
    #[serde(default)]
    pub requires_verification: bool,
    /// The knowledge base.
    #[serde(default)]
    pub knowledge: Knowledge,
    /// Channels guest messages use (default all: whatsapp, telegram, sms, email).
    pub notify_channels: Option<Vec<NotifyChannel>>,
}

impl TryFrom<PropertyRequest> for NewProperty {
    type Error = AccessError;

    fn try_from(request: PropertyRequest) -> AccessResult<Self> {
        let notify_channels =
            request.notify_channels.map(|channels| channels.into_iter().map(|c| c.as_str().to_owned()).collect());
        NewProperty::parse(PropertyInput {
            name: request.name,
            timezone: request.timezone,
            address: request.address,
            check_in_time: request.check_in_time,
            check_out_time: request.check_out_time,
            code_release_hours: request.code_release_hours,
            requires_verification: request.requires_verification,
            knowledge: request.knowledge,
            notify_channels,
        })
    }
}

/// Changes to a property: only the fields given change (`null` is the same
/// as absent). Validated as on creation.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyPatch {
    /// Display name, 1 to 200 characters (trimmed).
    #[schema(min_length = 1, max_length = 200, pattern = "^[^\\u0000]*[^\\s\\u0000\\u0085][^\\u0000]*$")]
    pub name: Option<String>,
    /// IANA timezone. Bookings already stored keep their instants.
    #[schema(schema_with = schema::optional_timezone)]
    pub timezone: Option<String>,
    /// Street address.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub address: Option<String>,
    /// Local check-in time, `HH:MM`, for bookings given by dates from now on.
    #[schema(example = "15:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub check_in_time: Option<String>,
    /// Local check-out time, `HH:MM`, for bookings given by dates from now on.
    #[schema(example = "11:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")]
    pub check_out_time: Option<String>,
    /// Hours before check-in a guest may receive the code, 0 to 720.
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 0, maximum = 720)]
    pub code_release_hours: Option<i32>,
    /// Whether a booking must be verified before its code is released.
    pub requires_verification: Option<bool>,
    /// Knowledge base entries to change; the others stay.
    pub knowledge: Option<KnowledgePatch>,
    /// Channels guest messages use.
    pub notify_channels: Option<Vec<NotifyChannel>>,
    /// Quiet hours, `HH:MM-HH:MM` in the property's timezone (a window across
    /// midnight ends the next morning); an empty text turns them off.
    #[schema(example = "21:00-08:00", pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9])?$")]
    pub quiet_hours: Option<String>,
    /// A lock under this battery level (0–100 %) is not ready for an
    /// arrival: the readiness checks 24 h and 3 h before check-in alert.
    #[serde(default, deserialize_with = "super::schema::whole_number")]
    #[schema(minimum = 0, maximum = 100)]
    pub battery_alert_percent: Option<i32>,
    /// Minutes the guest's code opens the lock before check-in, 0 to 1440
    /// (the guest is still told the check-in time). The live codes of
    /// current and future stays get the new window on the lock.
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 0, maximum = 1440)]
    pub code_valid_before_minutes: Option<i32>,
    /// Minutes the guest's code still opens the lock after check-out, 0 to
    /// 1440.
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 0, maximum = 1440)]
    pub code_valid_after_minutes: Option<i32>,
    /// The least gap `/early` and `/late` keep between two stays of a room,
    /// 0 to 1440 minutes.
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 0, maximum = 1440)]
    pub turnover_minutes: Option<i32>,
    /// Local time (`HH:MM`) on the arrival day by which a guest whose code
    /// has not been used is an alert to staff (default 23:00; when check-in
    /// is later than that, two hours after check-in). Unlike the other
    /// fields, `null` turns it off (and so does an empty text).
    #[serde(default, deserialize_with = "schema::nullable")]
    #[schema(value_type = Option<String>, nullable, example = "23:00", pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?$")]
    pub no_show_alert_time: Option<Option<String>>,
    /// Staff get one message when a guest arrives (the first use of their
    /// code) after this local time (`HH:MM`) or before 06:00. `null` (or an
    /// empty text) turns it off, the default.
    #[serde(default, deserialize_with = "schema::nullable")]
    #[schema(value_type = Option<String>, nullable, example = "22:00", pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?)?$")]
    pub late_arrival_alert_after: Option<Option<String>>,
    /// How long a cleaner's turnover code is valid after a check-out when no
    /// stay follows, 15 to 1440 minutes (default 240).
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 15, maximum = 1440)]
    pub cleaning_window_minutes: Option<i32>,
}

/// Knowledge base entries to change: a text sets an entry, an empty text
/// clears it, an absent or `null` entry stays as it is.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KnowledgePatch {
    /// How to get in: door, keypad, floor. One text, or a text per language
    /// (`{"en": "…", "de": "…"}`, English required: the fallback).
    pub entry_instructions: Option<LocalizedEntry>,
    /// The wifi network's name.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub wifi_name: Option<String>,
    /// The wifi password; given only to a current guest.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub wifi_password: Option<String>,
    /// Where and how to park: one text, or a text per language.
    pub parking: Option<LocalizedEntry>,
    /// How to find the property: one text, or a text per language.
    pub directions: Option<LocalizedEntry>,
    /// What to do when leaving: one text, or a text per language.
    pub checkout_instructions: Option<LocalizedEntry>,
    /// Rules of the house: one text, or a text per language.
    pub house_rules: Option<LocalizedEntry>,
}

/// A knowledge-base entry: one text for every guest, or a text per language
/// (ISO 639 codes; `en` required, the text for every other language).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum LocalizedEntry {
    /// One text; empty clears the entry.
    Text(String),
    /// A text per language.
    PerLanguage(BTreeMap<String, String>),
}

/// The entry's English (or only) text, and its other languages.
fn localized(field: &str, entry: Option<LocalizedEntry>) -> AccessResult<(Option<String>, BTreeMap<String, String>)> {
    match entry {
        None => Ok((None, BTreeMap::new())),
        Some(LocalizedEntry::Text(text)) if text.contains('\0') => {
            Err(AccessError::invalid(field, "no NUL characters"))
        }
        Some(LocalizedEntry::Text(text)) => Ok((Some(text), BTreeMap::new())),
        Some(LocalizedEntry::PerLanguage(texts)) => {
            let mut others = BTreeMap::new();
            let mut english = None;
            for (language, text) in texts {
                let language = Language::parse(&language).map_err(|e| AccessError::invalid(field, e))?;
                if text.contains('\0') {
                    return Err(AccessError::invalid(field, "no NUL characters"));
                }
                match language.as_str() {
                    "en" => english = Some(text),
                    other => drop(others.insert(other.to_owned(), text)),
                }
            }
            let english =
                english.ok_or_else(|| AccessError::invalid(field, "an English text (\"en\"): it is the fallback"))?;
            Ok((Some(english), others.into_iter().filter(|(_, t)| !t.trim().is_empty()).collect()))
        }
    }
}

/// A text that sets an entry, or (empty) clears it.
fn entry(value: Option<String>) -> Option<Option<String>> {
    value.map(|text| Some(text).filter(|t| !t.trim().is_empty()))
}

impl TryFrom<KnowledgePatch> for KnowledgeChanges {
    type Error = AccessError;

    fn try_from(patch: KnowledgePatch) -> AccessResult<Self> {
        let (entry_instructions, entry_languages) =
            localized("knowledge.entry_instructions", patch.entry_instructions)?;
        let (checkout_instructions, checkout_languages) =
            localized("knowledge.checkout_instructions", patch.checkout_instructions)?;
        let (parking, parking_languages) = localized("knowledge.parking", patch.parking)?;
        let (directions, directions_languages) = localized("knowledge.directions", patch.directions)?;
        let (house_rules, rules_languages) = localized("knowledge.house_rules", patch.house_rules)?;
        let translations = [
            ("entry_instructions", entry_languages),
            ("parking", parking_languages),
            ("directions", directions_languages),
            ("checkout_instructions", checkout_languages),
            ("house_rules", rules_languages),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        Ok(Self {
            translations,
            entry_instructions: entry(entry_instructions),
            wifi_name: entry(patch.wifi_name),
            wifi_password: entry(patch.wifi_password),
            parking: entry(parking),
            directions: entry(directions),
            checkout_instructions: entry(checkout_instructions),
            house_rules: entry(house_rules),
        })
    }
}

impl TryFrom<PropertyPatch> for PropertyChanges {
    type Error = AccessError;

    fn try_from(patch: PropertyPatch) -> AccessResult<Self> {
        let time = |field: &str, raw: Option<String>| raw.map(|r| properties::parse_local_time(field, &r)).transpose();
        // `null` or an empty text: off.
        let optional_time = |field: &str, raw: Option<Option<String>>| {
            raw.map(|r| r.filter(|t| !t.trim().is_empty()).map(|t| properties::parse_local_time(field, &t)).transpose())
                .transpose()
        };
        let window =
            |field: &str, minutes: Option<i32>| minutes.map(|m| properties::check_window_minutes(field, m)).transpose();
        Ok(Self {
            name: patch.name.map(|n| properties::parse_property_name(&n)).transpose()?,
            timezone: patch
                .timezone
                .map(|t| Timezone::parse(&t).map_err(|e| AccessError::invalid("timezone", e)))
                .transpose()?,
            address: patch.address.map(|a| a.trim().to_owned()),
            check_in_time: time("check_in_time", patch.check_in_time)?,
            check_out_time: time("check_out_time", patch.check_out_time)?,
            code_release_hours: patch.code_release_hours.map(properties::check_release_hours).transpose()?,
            requires_verification: patch.requires_verification,
            knowledge: patch.knowledge.map(KnowledgeChanges::try_from).transpose()?.unwrap_or_default(),
            notify_channels: patch.notify_channels.map(channel_names).transpose()?,
            battery_alert_percent: patch
                .battery_alert_percent
                .map(|b| {
                    (0..=100)
                        .contains(&b)
                        .then_some(b)
                        .ok_or_else(|| AccessError::invalid("battery_alert_percent", "0 to 100"))
                })
                .transpose()?,
            quiet_hours: patch
                .quiet_hours
                .map(|q| match q.trim() {
                    "" => Ok(None),
                    q => QuietHours::parse(q).map(Some).map_err(|e| AccessError::invalid("quiet_hours", e)),
                })
                .transpose()?,
            code_valid_before_minutes: window("code_valid_before_minutes", patch.code_valid_before_minutes)?,
            code_valid_after_minutes: window("code_valid_after_minutes", patch.code_valid_after_minutes)?,
            turnover_minutes: window("turnover_minutes", patch.turnover_minutes)?,
            no_show_alert_time: optional_time("no_show_alert_time", patch.no_show_alert_time)?,
            late_arrival_alert_after: optional_time("late_arrival_alert_after", patch.late_arrival_alert_after)?,
            cleaning_window_minutes: patch
                .cleaning_window_minutes
                .map(|m| match m {
                    15..=1440 => Ok(m),
                    _ => Err(AccessError::invalid("cleaning_window_minutes", "15 to 1440 minutes")),
                })
                .transpose()?,
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
    /// Name such as `101`: 1 to 32 characters (trimmed), no control
    /// characters.
    #[schema(
        example = "101",
        min_length = 1,
        max_length = 32,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// Entry instructions of its own.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub entry_instructions: Option<String>,
}

/// Changes to a room: only the fields given change.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomPatch {
    /// A new name, unique within the property: 1 to 32 characters
    /// (trimmed), no control characters. Its bookings follow it.
    #[schema(
        example = "101",
        min_length = 1,
        max_length = 32,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    /// Entry instructions of its own; an empty text clears them.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub entry_instructions: Option<String>,
}

impl TryFrom<RoomPatch> for RoomChanges {
    type Error = AccessError;

    fn try_from(patch: RoomPatch) -> AccessResult<Self> {
        let name = patch.name.map(|n| RoomName::parse(&n)).transpose().map_err(|e| AccessError::invalid("name", e))?;
        Ok(Self { name, entry_instructions: entry(patch.entry_instructions) })
    }
}

/// Create a property.
#[utoipa::path(post, path = "/api/v1/properties", tag = "properties", operation_id = "create_property",
    request_body = PropertyRequest,
    responses((status = 201, description = "Created.", body = Property), schema::Invalid),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Json(request): Json<PropertyRequest>,
) -> Result<(StatusCode, Json<Property>), ApiError> {
    let new = NewProperty::try_from(request)?;
    let property = properties::create_property(&state.db, &new).await?;
    Ok((StatusCode::CREATED, Json(property)))
}

/// Every property, by name.
#[utoipa::path(get, path = "/api/v1/properties", tag = "properties", operation_id = "list_properties",
    responses((status = 200, description = "The properties.", body = Vec<Property>)),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Property>>, ApiError> {
    Ok(Json(properties::list_properties(&state.db).await?))
}

/// A property with its rooms and locks.
#[utoipa::path(get, path = "/api/v1/properties/{id}", tag = "properties", operation_id = "show_property",
    params(schema::PropertyId),
    responses((status = 200, description = "The property.", body = PropertyView), schema::NotFound),
    security(("bearer" = [])))]
pub async fn show(State(state): State<AppState>, Path(id): Path<Uuid>) -> Result<Json<PropertyView>, ApiError> {
    let property = properties::get_property(&state.db, id).await?;
    let rooms = properties::list_rooms(&state.db, id).await?;
    let locks = list_property_locks(&state.db, id).await?;
    Ok(Json(PropertyView { property, rooms, locks }))
}

/// Change a property's settings or knowledge base; audited
/// (`property.updated`, naming the fields changed).
#[utoipa::path(patch, path = "/api/v1/properties/{id}", tag = "properties", operation_id = "update_property",
    params(schema::PropertyId), request_body = PropertyPatch,
    responses((status = 200, description = "The property as stored now.", body = Property),
        schema::NotFound, schema::Invalid),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(patch): Json<PropertyPatch>,
) -> Result<Json<Property>, ApiError> {
    let changes = PropertyChanges::try_from(patch)?;
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let property = properties::update_property(&mut tx, id, &changes, Actor::Api).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok(Json(property))
}

/// Add a room to a property.
#[utoipa::path(post, path = "/api/v1/properties/{id}/rooms", tag = "properties", operation_id = "create_room",
    params(schema::PropertyId), request_body = RoomRequest,
    responses((status = 201, description = "Created.", body = Room), schema::NotFound, schema::Conflict,
        schema::Invalid),
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

/// Rename a room or change its entry instructions; audited
/// (`room.updated`). 409 when another room of the property has the name.
#[utoipa::path(patch, path = "/api/v1/rooms/{id}", tag = "properties", operation_id = "update_room",
    params(schema::RoomId), request_body = RoomPatch,
    responses((status = 200, description = "The room as stored now.", body = Room), schema::NotFound,
        schema::Conflict, schema::Invalid),
    security(("bearer" = [])))]
pub async fn update_room(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(patch): Json<RoomPatch>,
) -> Result<Json<Room>, ApiError> {
    let changes = RoomChanges::try_from(patch)?;
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let room = rooms::update_room(&mut tx, id, &changes, Actor::Api).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok(Json(room))
}
