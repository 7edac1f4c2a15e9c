//! A property's set-up as the console's Properties screen shows it (rooms,
//! locks, calendar feeds, channel managers, staff: a fixed number of
//! queries). Its edits go through `properties::update_property`, as the
//! admin API's do.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::AccessResult;
use super::feeds::mask_url;
use super::model::Role;

/// A calendar feed, its address masked (the path is the OTA's secret).
#[derive(Debug, Clone)]
pub struct FeedLine {
    /// Identifier.
    pub id: Uuid,
    /// The room's name.
    pub room: String,
    /// `airbnb`, `booking`, `vrbo`, `other`.
    pub source: String,
    /// Scheme and host only.
    pub masked_url: String,
    /// `ok`, `unchanged`, `failed`, `empty`.
    pub last_status: Option<String>,
    /// The last fetch.
    pub last_fetched_at: Option<DateTime<Utc>>,
    /// Stays in the last good fetch.
    pub events: i32,
}

/// A channel manager connected to the property (its credentials and
/// webhook token are never read here).
#[derive(Debug, Clone)]
pub struct IntegrationLine {
    /// `smoobu`, `beds24`, `hostaway`.
    pub kind: String,
    /// Units mapped to rooms.
    pub units: i64,
    /// Since when.
    pub created_at: DateTime<Utc>,
}

/// A staff member who works at the property.
#[derive(Debug, Clone)]
pub struct StaffLine {
    /// Name.
    pub name: String,
    /// Their role there.
    pub role: Role,
    /// Whether they may act.
    pub active: bool,
    /// Whether they clean there (turnovers' codes go to them).
    pub cleaner: bool,
}

/// What the Properties screen lists besides the property itself.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Calendar feeds, by room.
    pub feeds: Vec<FeedLine>,
    /// Channel managers.
    pub integrations: Vec<IntegrationLine>,
    /// Staff, admins included, by name.
    pub staff: Vec<StaffLine>,
}

/// The feeds, integrations and staff of a property: three queries.
pub async fn setup(conn: &mut PgConnection, property_id: Uuid) -> AccessResult<Setup> {
    let feeds = sqlx::query!(
        "SELECT f.id, r.name AS room, f.source, f.url, f.last_status, f.last_fetched_at, f.events
         FROM feeds f JOIN rooms r ON r.id = f.room_id WHERE f.property_id = $1 ORDER BY r.name, f.created_at",
        property_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|f| FeedLine {
        id: f.id,
        room: f.room,
        source: f.source,
        masked_url: mask_url(&f.url),
        last_status: f.last_status,
        last_fetched_at: f.last_fetched_at,
        events: f.events,
    })
    .collect();
    let integrations = sqlx::query_as!(
        IntegrationLine,
        r#"SELECT kind, (SELECT count(*) FROM jsonb_object_keys(rooms)) AS "units!", created_at
           FROM integrations WHERE property_id = $1 ORDER BY created_at"#,
        property_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let staff = sqlx::query_as!(
        StaffLine,
        r#"SELECT s.name, CASE WHEN s.role = 'admin' THEN 'admin' ELSE sp.role END AS "role!: Role", s.active,
               coalesce(sp.cleaner, false) AS "cleaner!"
           FROM staff s LEFT JOIN staff_properties sp ON sp.staff_id = s.id AND sp.property_id = $1
           WHERE s.role = 'admin' OR sp.property_id IS NOT NULL
           ORDER BY s.name"#,
        property_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Setup { feeds, integrations, staff })
}
