//! A property's set-up as the console's Properties screen shows it (rooms,
//! locks, calendar feeds, channel managers, staff: a fixed number of
//! queries), and the edits it makes there: the knowledge base and the
//! property's times, each audited with who made it.

use chrono::{DateTime, NaiveTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::{self, Actor, Subject};
use super::error::{AccessError, AccessResult};
use super::feeds::mask_url;
use super::model::Role;
use super::properties::{Knowledge, NewProperty};

/// A calendar feed, its address masked (the path is the OTA's secret).
#[derive(Debug, Clone)]
pub struct FeedLine {
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
        "SELECT r.name AS room, f.source, f.url, f.last_status, f.last_fetched_at, f.events
         FROM feeds f JOIN rooms r ON r.id = f.room_id WHERE f.property_id = $1 ORDER BY r.name, f.created_at",
        property_id
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|f| FeedLine {
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
        r#"SELECT s.name, CASE WHEN s.role = 'admin' THEN 'admin' ELSE sp.role END AS "role!: Role", s.active
           FROM staff s LEFT JOIN staff_properties sp ON sp.staff_id = s.id AND sp.property_id = $1
           WHERE s.role = 'admin' OR sp.property_id IS NOT NULL
           ORDER BY s.name"#,
        property_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Setup { feeds, integrations, staff })
}

/// Replaces a property's knowledge base; audited with the entries that
/// changed (never their values: the wifi password is one).
pub async fn set_knowledge(
    conn: &mut PgConnection,
    property_id: Uuid,
    k: &Knowledge,
    actor: Actor,
) -> AccessResult<()> {
    let updated = sqlx::query!(
        "UPDATE properties SET entry_instructions = $2, wifi_name = $3, wifi_password = $4, parking = $5,
             directions = $6, checkout_instructions = $7, house_rules = $8, updated_at = now()
         WHERE id = $1",
        property_id,
        k.entry_instructions,
        k.wifi_name,
        k.wifi_password,
        k.parking,
        k.directions,
        k.checkout_instructions,
        k.house_rules,
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AccessError::NotFound { entity: "property" });
    }
    let subject = Subject { property_id: Some(property_id), ..Default::default() };
    audit::record(&mut *conn, actor, "property.knowledge_changed", subject, json!({})).await
}

/// A property's times: local check-in and check-out, and how many hours
/// before check-in a code is released (0–720).
#[derive(Debug, Clone, Copy)]
pub struct Times {
    /// Local check-in time.
    pub check_in_time: NaiveTime,
    /// Local check-out time.
    pub check_out_time: NaiveTime,
    /// Hours before check-in.
    pub code_release_hours: i32,
}

/// Changes a property's times (bookings made from dates afterwards use
/// them); audited.
pub async fn set_times(conn: &mut PgConnection, property_id: Uuid, times: Times, actor: Actor) -> AccessResult<()> {
    if !(0..=NewProperty::MAX_RELEASE_HOURS).contains(&times.code_release_hours) {
        return Err(AccessError::invalid("code_release_hours", "between 0 and 720"));
    }
    let updated = sqlx::query!(
        "UPDATE properties SET check_in_time = $2, check_out_time = $3, code_release_hours = $4, updated_at = now() WHERE id = $1",
        property_id,
        times.check_in_time,
        times.check_out_time,
        times.code_release_hours
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AccessError::NotFound { entity: "property" });
    }
    let subject = Subject { property_id: Some(property_id), ..Default::default() };
    let details = json!({
        "check_in_time": times.check_in_time.format("%H:%M").to_string(),
        "check_out_time": times.check_out_time.format("%H:%M").to_string(),
        "code_release_hours": times.code_release_hours,
    });
    audit::record(&mut *conn, actor, "property.times_changed", subject, details).await
}
