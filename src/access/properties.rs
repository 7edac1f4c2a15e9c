//! Properties, their knowledge base, and their rooms.

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::error::{AccessError, AccessResult};
use super::model::RoomName;
use super::timezone::Timezone;

/// What the guest conversation answers from. Every entry is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Knowledge {
    /// How to get in: door, keypad, floor.
    pub entry_instructions: Option<String>,
    /// The wifi network's name.
    pub wifi_name: Option<String>,
    /// The wifi password; given only to a current guest.
    pub wifi_password: Option<String>,
    /// Where and how to park.
    pub parking: Option<String>,
    /// How to find the property.
    pub directions: Option<String>,
    /// What to do when leaving.
    pub checkout_instructions: Option<String>,
    /// Rules of the house.
    pub house_rules: Option<String>,
}

/// A property to create, already parsed.
#[derive(Debug, Clone)]
pub struct NewProperty {
    /// Display name, e.g. "Old Town Flats".
    pub name: String,
    /// Where local times are computed.
    pub timezone: Timezone,
    /// Street address.
    pub address: String,
    /// Default local check-in time (15:00).
    pub check_in_time: NaiveTime,
    /// Default local check-out time (11:00).
    pub check_out_time: NaiveTime,
    /// How long before check-in a guest may receive the code.
    pub code_release_hours: i32,
    /// Whether a booking must be verified before its code is released.
    pub requires_verification: bool,
    /// The knowledge base.
    pub knowledge: Knowledge,
    /// Channels guest messages use: `whatsapp`, `telegram`, `sms`, `email`.
    pub notify_channels: Vec<String>,
}

impl NewProperty {
    /// The channels a property may list.
    pub const CHANNELS: [&'static str; 4] = ["whatsapp", "telegram", "sms", "email"];
    /// The most hours before check-in a code may be released: 30 days.
    pub const MAX_RELEASE_HOURS: i32 = 720;
}

/// A stored property.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Property {
    /// Identifier.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// IANA timezone.
    #[schema(value_type = String, example = "Europe/Bratislava")]
    pub timezone: Timezone,
    /// Street address.
    pub address: String,
    /// Local check-in time, `HH:MM`.
    #[serde(with = "hh_mm")]
    #[schema(value_type = String, example = "15:00")]
    pub check_in_time: NaiveTime,
    /// Local check-out time, `HH:MM`.
    #[serde(with = "hh_mm")]
    #[schema(value_type = String, example = "11:00")]
    pub check_out_time: NaiveTime,
    /// How long before check-in a guest may receive the code.
    pub code_release_hours: i32,
    /// Whether a booking must be verified before its code is released.
    pub requires_verification: bool,
    /// The knowledge base.
    pub knowledge: Knowledge,
    /// Channels guest messages use.
    pub notify_channels: Vec<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A room (unit) of a property.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Room {
    /// Identifier.
    pub id: Uuid,
    /// Its property.
    pub property_id: Uuid,
    /// Name such as `101`.
    pub name: String,
    /// Entry instructions of its own, beside the property's.
    pub entry_instructions: Option<String>,
}

/// Creates a property.
#[tracing::instrument(skip_all, fields(property.name = %new.name))]
pub async fn create_property(db: impl PgExecutor<'_>, new: &NewProperty) -> AccessResult<Property> {
    let k = &new.knowledge;
    let id = sqlx::query_scalar!(
        "INSERT INTO properties (name, timezone, address, check_in_time, check_out_time, code_release_hours,
             requires_verification, entry_instructions, wifi_name, wifi_password, parking, directions,
             checkout_instructions, house_rules, notify_channels)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         RETURNING id",
        new.name,
        new.timezone.name(),
        new.address,
        new.check_in_time,
        new.check_out_time,
        new.code_release_hours,
        new.requires_verification,
        k.entry_instructions,
        k.wifi_name,
        k.wifi_password,
        k.parking,
        k.directions,
        k.checkout_instructions,
        k.house_rules,
        &new.notify_channels,
    )
    .fetch_one(db)
    .await?;
    Ok(Property {
        id,
        name: new.name.clone(),
        timezone: new.timezone,
        address: new.address.clone(),
        check_in_time: new.check_in_time,
        check_out_time: new.check_out_time,
        code_release_hours: new.code_release_hours,
        requires_verification: new.requires_verification,
        knowledge: new.knowledge.clone(),
        notify_channels: new.notify_channels.clone(),
        created_at: Utc::now(),
    })
}

/// A property by id.
pub async fn get_property(db: impl PgExecutor<'_>, id: Uuid) -> AccessResult<Property> {
    let row = sqlx::query!(
        r#"SELECT id, name, timezone AS "timezone: Timezone", address, check_in_time, check_out_time,
               code_release_hours, requires_verification, entry_instructions, wifi_name, wifi_password,
               parking, directions, checkout_instructions, house_rules, notify_channels, created_at
           FROM properties WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AccessError::NotFound { entity: "property" })?;
    Ok(Property {
        id: row.id,
        name: row.name,
        timezone: row.timezone,
        address: row.address,
        check_in_time: row.check_in_time,
        check_out_time: row.check_out_time,
        code_release_hours: row.code_release_hours,
        requires_verification: row.requires_verification,
        knowledge: Knowledge {
            entry_instructions: row.entry_instructions,
            wifi_name: row.wifi_name,
            wifi_password: row.wifi_password,
            parking: row.parking,
            directions: row.directions,
            checkout_instructions: row.checkout_instructions,
            house_rules: row.house_rules,
        },
        notify_channels: row.notify_channels,
        created_at: row.created_at,
    })
}

/// Finds a property by its exact name (the demo's idempotent seeding).
pub async fn find_property_by_name(db: impl PgExecutor<'_>, name: &str) -> AccessResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!("SELECT id FROM properties WHERE name = $1 ORDER BY created_at LIMIT 1", name)
        .fetch_optional(db)
        .await?)
}

/// Adds a room to a property. Room names are unique within a property.
#[tracing::instrument(skip_all, fields(%property_id, room = %name))]
pub async fn create_room(
    conn: &mut PgConnection,
    property_id: Uuid,
    name: &RoomName,
    entry_instructions: Option<&str>,
) -> AccessResult<Room> {
    get_property(&mut *conn, property_id).await?;
    let id = sqlx::query_scalar!(
        "INSERT INTO rooms (property_id, name, entry_instructions) VALUES ($1, $2, $3) RETURNING id",
        property_id,
        name.as_str(),
        entry_instructions,
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(Room {
        id,
        property_id,
        name: name.as_str().to_owned(),
        entry_instructions: entry_instructions.map(str::to_owned),
    })
}

/// The rooms of a property, by name.
pub async fn list_rooms(db: impl PgExecutor<'_>, property_id: Uuid) -> AccessResult<Vec<Room>> {
    Ok(sqlx::query_as!(
        Room,
        "SELECT id, property_id, name, entry_instructions FROM rooms WHERE property_id = $1 ORDER BY name",
        property_id
    )
    .fetch_all(db)
    .await?)
}

/// A room of a property by name, if there is one.
pub async fn find_room(db: impl PgExecutor<'_>, property_id: Uuid, name: &RoomName) -> AccessResult<Option<Room>> {
    Ok(sqlx::query_as!(
        Room,
        "SELECT id, property_id, name, entry_instructions FROM rooms WHERE property_id = $1 AND name = $2",
        property_id,
        name.as_str()
    )
    .fetch_optional(db)
    .await?)
}

/// Serializes local times as `HH:MM`.
pub mod hh_mm {
    use chrono::NaiveTime;
    use serde::Serializer;

    /// `15:00`.
    pub fn serialize<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&time.format("%H:%M"))
    }

    /// Parses `15:00` or `15:00:00`.
    pub fn parse(raw: &str) -> Option<NaiveTime> {
        NaiveTime::parse_from_str(raw.trim(), "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(raw.trim(), "%H:%M:%S"))
            .ok()
    }
}
