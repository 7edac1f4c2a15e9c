//! Properties, their knowledge base, and their rooms.

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};
use std::collections::BTreeMap;
use uuid::Uuid;

use super::error::{AccessError, AccessResult};
use super::model::RoomName;
use super::timezone::Timezone;

/// What the guest conversation answers from. Every entry is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Knowledge {
    /// How to get in: door, keypad, floor.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub entry_instructions: Option<String>,
    /// The wifi network's name.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub wifi_name: Option<String>,
    /// The wifi password; given only to a current guest.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub wifi_password: Option<String>,
    /// Where and how to park.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub parking: Option<String>,
    /// How to find the property.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub directions: Option<String>,
    /// What to do when leaving.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub checkout_instructions: Option<String>,
    /// Rules of the house.
    #[schema(pattern = "^[^\\u0000]*$")]
    pub house_rules: Option<String>,
    /// Entries in other languages than the text above, which is the one for
    /// English and for every language not here (SPEC §11):
    /// `{"entry_instructions": {"de": "…"}}`. Set by giving an entry as
    /// `{"en": "…", "de": "…"}` in `PATCH /properties/{id}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: Translations,
}

/// Knowledge-base entries by name, then language.
pub type Translations = BTreeMap<String, BTreeMap<String, String>>;

/// The entries that may have a text per language.
pub const TRANSLATED_ENTRIES: [&str; 5] =
    ["entry_instructions", "parking", "directions", "checkout_instructions", "house_rules"];

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
    /// The local check-in time when none is given.
    pub const DEFAULT_CHECK_IN: NaiveTime = match NaiveTime::from_hms_opt(15, 0, 0) {
        Some(time) => time,
        None => NaiveTime::MIN,
    };
    /// The local check-out time when none is given.
    pub const DEFAULT_CHECK_OUT: NaiveTime = match NaiveTime::from_hms_opt(11, 0, 0) {
        Some(time) => time,
        None => NaiveTime::MIN,
    };
}

/// A property to create as its caller wrote it (the admin API's body, the
/// console's form), before the checks of [`NewProperty::parse`].
#[derive(Debug, Clone, Default)]
pub struct PropertyInput {
    /// Display name.
    pub name: String,
    /// IANA timezone.
    pub timezone: String,
    /// Street address.
    pub address: String,
    /// `HH:MM`; none for [`NewProperty::DEFAULT_CHECK_IN`].
    pub check_in_time: Option<String>,
    /// `HH:MM`; none for [`NewProperty::DEFAULT_CHECK_OUT`].
    pub check_out_time: Option<String>,
    /// Hours before check-in; none for 24.
    pub code_release_hours: Option<i32>,
    /// Whether a booking must be verified first.
    pub requires_verification: bool,
    /// The knowledge base.
    pub knowledge: Knowledge,
    /// Channel names; none for every channel.
    pub notify_channels: Option<Vec<String>>,
}

impl NewProperty {
    /// Checks a property to create and fills in the defaults: the one set
    /// of rules the admin API and the console apply.
    pub fn parse(input: PropertyInput) -> AccessResult<Self> {
        let time = |field: &str, raw: Option<String>, default: NaiveTime| match raw {
            None => Ok(default),
            Some(raw) => parse_local_time(field, &raw),
        };
        let notify_channels = match input.notify_channels {
            None => Self::CHANNELS.map(str::to_owned).to_vec(),
            Some(channels) => check_notify_channels(channels)?,
        };
        Ok(Self {
            notify_channels,
            name: parse_property_name(&input.name)?,
            timezone: Timezone::parse(&input.timezone).map_err(|e| AccessError::invalid("timezone", e))?,
            address: input.address.trim().to_owned(),
            check_in_time: time("check_in_time", input.check_in_time, Self::DEFAULT_CHECK_IN)?,
            check_out_time: time("check_out_time", input.check_out_time, Self::DEFAULT_CHECK_OUT)?,
            code_release_hours: check_release_hours(input.code_release_hours.unwrap_or(24))?,
            requires_verification: input.requires_verification,
            knowledge: input.knowledge,
        })
    }
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
    /// Quiet hours, `HH:MM-HH:MM` local (SPEC §11); none: messages go when due.
    #[schema(example = "21:00-08:00")]
    pub quiet_hours: Option<String>,
    /// A lock under this battery level (percent) is not ready for an
    /// arrival (SPEC §12; default 25).
    pub battery_alert_percent: i32,
    /// Minutes the guest's code opens the lock before check-in (SPEC §11);
    /// the guest is still told the check-in time.
    pub code_valid_before_minutes: i32,
    /// Minutes the guest's code still opens the lock after check-out.
    pub code_valid_after_minutes: i32,
    /// The least gap between two stays of a room that `/early` and `/late`
    /// keep, for the turnover.
    pub turnover_minutes: i32,
    /// Local time on the arrival day by which a guest whose code has not
    /// been used is an alert to staff (SPEC §12; default 23:00); none: off.
    #[serde(serialize_with = "hh_mm::serialize_option")]
    #[schema(value_type = Option<String>, example = "23:00")]
    pub no_show_alert_time: Option<NaiveTime>,
    /// Staff are told of an arrival (the first use of the guest's code)
    /// after this local time or before 06:00; none: never.
    #[serde(serialize_with = "hh_mm::serialize_option")]
    #[schema(value_type = Option<String>, example = "22:00")]
    pub late_arrival_alert_after: Option<NaiveTime>,
    /// How long a cleaner's turnover code is valid after a check-out when
    /// no stay follows (SPEC §11; default 240).
    pub cleaning_window_minutes: i32,
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
    let row = sqlx::query!(
        "INSERT INTO properties (name, timezone, address, check_in_time, check_out_time, code_release_hours,
             requires_verification, entry_instructions, wifi_name, wifi_password, parking, directions,
             checkout_instructions, house_rules, notify_channels, knowledge_translations)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         RETURNING id, quiet_hours, battery_alert_percent, code_valid_before_minutes, code_valid_after_minutes,
             turnover_minutes, no_show_alert_time, late_arrival_alert_after, cleaning_window_minutes",
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
        serde_json::to_value(&k.translations).unwrap_or_default(),
    )
    .fetch_one(db)
    .await?;
    Ok(Property {
        id: row.id,
        name: new.name.clone(),
        timezone: new.timezone,
        address: new.address.clone(),
        check_in_time: new.check_in_time,
        check_out_time: new.check_out_time,
        code_release_hours: new.code_release_hours,
        requires_verification: new.requires_verification,
        knowledge: new.knowledge.clone(),
        notify_channels: new.notify_channels.clone(),
        quiet_hours: row.quiet_hours,
        battery_alert_percent: row.battery_alert_percent,
        code_valid_before_minutes: row.code_valid_before_minutes,
        code_valid_after_minutes: row.code_valid_after_minutes,
        turnover_minutes: row.turnover_minutes,
        no_show_alert_time: row.no_show_alert_time,
        late_arrival_alert_after: row.late_arrival_alert_after,
        cleaning_window_minutes: row.cleaning_window_minutes,
        created_at: Utc::now(),
    })
}

/// A property by id.
pub async fn get_property(db: impl PgExecutor<'_>, id: Uuid) -> AccessResult<Property> {
    let row = sqlx::query_as!(
        PropertyRow,
        r#"SELECT id, name, timezone AS "timezone: Timezone", address, check_in_time, check_out_time,
               code_release_hours, requires_verification, entry_instructions, wifi_name, wifi_password,
               parking, directions, checkout_instructions, house_rules, notify_channels, quiet_hours, knowledge_translations,
               battery_alert_percent, code_valid_before_minutes, code_valid_after_minutes, turnover_minutes,
               no_show_alert_time, late_arrival_alert_after, cleaning_window_minutes, created_at
           FROM properties WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AccessError::NotFound { entity: "property" })?;
    Ok(row.into())
}

/// Every property, by name (`GET /api/v1/properties`).
pub async fn list_properties(db: impl PgExecutor<'_>) -> AccessResult<Vec<Property>> {
    let rows = sqlx::query_as!(
        PropertyRow,
        r#"SELECT id, name, timezone AS "timezone: Timezone", address, check_in_time, check_out_time,
               code_release_hours, requires_verification, entry_instructions, wifi_name, wifi_password,
               parking, directions, checkout_instructions, house_rules, notify_channels, quiet_hours, knowledge_translations,
               battery_alert_percent, code_valid_before_minutes, code_valid_after_minutes, turnover_minutes,
               no_show_alert_time, late_arrival_alert_after, cleaning_window_minutes, created_at
           FROM properties ORDER BY name, created_at"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(Property::from).collect())
}

/// A `properties` row as stored, the knowledge base in its own columns.
struct PropertyRow {
    id: Uuid,
    name: String,
    timezone: Timezone,
    address: String,
    check_in_time: NaiveTime,
    check_out_time: NaiveTime,
    code_release_hours: i32,
    requires_verification: bool,
    entry_instructions: Option<String>,
    wifi_name: Option<String>,
    wifi_password: Option<String>,
    parking: Option<String>,
    directions: Option<String>,
    checkout_instructions: Option<String>,
    house_rules: Option<String>,
    notify_channels: Vec<String>,
    quiet_hours: Option<String>,
    knowledge_translations: serde_json::Value,
    battery_alert_percent: i32,
    code_valid_before_minutes: i32,
    code_valid_after_minutes: i32,
    turnover_minutes: i32,
    no_show_alert_time: Option<NaiveTime>,
    late_arrival_alert_after: Option<NaiveTime>,
    cleaning_window_minutes: i32,
    created_at: DateTime<Utc>,
}

impl From<PropertyRow> for Property {
    fn from(row: PropertyRow) -> Self {
        Self {
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
                translations: serde_json::from_value(row.knowledge_translations).unwrap_or_default(),
            },
            notify_channels: row.notify_channels,
            quiet_hours: row.quiet_hours,
            battery_alert_percent: row.battery_alert_percent,
            code_valid_before_minutes: row.code_valid_before_minutes,
            code_valid_after_minutes: row.code_valid_after_minutes,
            turnover_minutes: row.turnover_minutes,
            no_show_alert_time: row.no_show_alert_time,
            late_arrival_alert_after: row.late_arrival_alert_after,
            cleaning_window_minutes: row.cleaning_window_minutes,
            created_at: row.created_at,
        }
    }
}

/// Changes to a property (`PATCH /api/v1/properties/{id}`), already
/// parsed; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct PropertyChanges {
    /// Display name.
    pub name: Option<String>,
    /// Where local times are computed.
    pub timezone: Option<Timezone>,
    /// Street address.
    pub address: Option<String>,
    /// Local check-in time.
    pub check_in_time: Option<NaiveTime>,
    /// Local check-out time.
    pub check_out_time: Option<NaiveTime>,
    /// Hours before check-in a code may be released.
    pub code_release_hours: Option<i32>,
    /// Whether a booking must be verified before its code is released.
    pub requires_verification: Option<bool>,
    /// Knowledge base entries: `Some(None)` clears one.
    pub knowledge: KnowledgeChanges,
    /// Channels guest messages use.
    pub notify_channels: Option<Vec<String>>,
    /// Quiet hours: `Some(None)` turns them off.
    pub quiet_hours: Option<Option<super::journey::QuietHours>>,
    /// The battery level under which a lock is not ready for an arrival.
    pub battery_alert_percent: Option<i32>,
    /// Minutes before check-in the code opens the lock, 0 to 1440.
    pub code_valid_before_minutes: Option<i32>,
    /// Minutes after check-out the code still opens the lock, 0 to 1440.
    pub code_valid_after_minutes: Option<i32>,
    /// The least gap between two stays of a room, 0 to 1440.
    pub turnover_minutes: Option<i32>,
    /// The no-show alert's local time: `Some(None)` turns it off.
    pub no_show_alert_time: Option<Option<NaiveTime>>,
    /// The late-arrival message's local time: `Some(None)` turns it off.
    pub late_arrival_alert_after: Option<Option<NaiveTime>>,
    /// A turnover's length when no stay follows, 15 to 1440.
    pub cleaning_window_minutes: Option<i32>,
}

/// Changes to a knowledge base, entry by entry: `None` keeps an entry,
/// `Some(None)` clears it, `Some(Some(text))` sets it.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeChanges {
    /// How to get in.
    pub entry_instructions: Option<Option<String>>,
    /// The wifi network's name.
    pub wifi_name: Option<Option<String>>,
    /// The wifi password.
    pub wifi_password: Option<Option<String>>,
    /// Where and how to park.
    pub parking: Option<Option<String>>,
    /// How to find the property.
    pub directions: Option<Option<String>>,
    /// What to do when leaving.
    pub checkout_instructions: Option<Option<String>>,
    /// Rules of the house.
    pub house_rules: Option<Option<String>>,
    /// Entries given per language: their other languages (an entry given
    /// here with none has none any more; one not here keeps its own).
    pub translations: BTreeMap<String, BTreeMap<String, String>>,
}

impl KnowledgeChanges {
    /// Applies the changes, returning the names of the entries that changed.
    fn apply(&self, knowledge: &mut Knowledge) -> Vec<&'static str> {
        let entries = [
            ("knowledge.entry_instructions", &self.entry_instructions, &mut knowledge.entry_instructions),
            ("knowledge.wifi_name", &self.wifi_name, &mut knowledge.wifi_name),
            ("knowledge.wifi_password", &self.wifi_password, &mut knowledge.wifi_password),
            ("knowledge.parking", &self.parking, &mut knowledge.parking),
            ("knowledge.directions", &self.directions, &mut knowledge.directions),
            ("knowledge.checkout_instructions", &self.checkout_instructions, &mut knowledge.checkout_instructions),
            ("knowledge.house_rules", &self.house_rules, &mut knowledge.house_rules),
        ];
        let mut changed = Vec::new();
        for (name, change, entry) in entries {
            if let Some(value) = change {
                if entry != value {
                    entry.clone_from(value);
                    changed.push(name);
                }
            }
        }
        let given = [
            ("knowledge.entry_instructions", &self.entry_instructions),
            ("knowledge.parking", &self.parking),
            ("knowledge.directions", &self.directions),
            ("knowledge.checkout_instructions", &self.checkout_instructions),
            ("knowledge.house_rules", &self.house_rules),
        ];
        for (name, change) in given {
            let entry = name.trim_start_matches("knowledge.");
            // An entry the change gives no languages for keeps them.
            let Some(texts) = self.translations.get(entry).filter(|_| change.is_some()).cloned() else { continue };
            let before = knowledge.translations.get(entry).cloned().unwrap_or_default();
            if texts == before {
                continue;
            }
            if texts.is_empty() {
                knowledge.translations.remove(entry);
            } else {
                knowledge.translations.insert(entry.to_owned(), texts);
            }
            if !changed.contains(&name) {
                changed.push(name);
            }
        }
        changed
    }
}

/// The longest display name of a property, in characters.
pub const MAX_PROPERTY_NAME: usize = 200;

/// A property's display name: trimmed, 1 to 200 characters.
pub fn parse_property_name(raw: &str) -> AccessResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_PROPERTY_NAME {
        return Err(AccessError::invalid("name", "1 to 200 characters"));
    }
    Ok(name.to_owned())
}

/// A local time of day, `HH:MM` or `HH:MM:SS`, for the field `field`.
pub fn parse_local_time(field: &str, raw: &str) -> AccessResult<NaiveTime> {
    hh_mm::parse(raw).ok_or_else(|| AccessError::invalid(field, format!("{raw:?} is not HH:MM")))
}

/// Hours before check-in a code may be released: 0 to 720.
pub fn check_release_hours(hours: i32) -> AccessResult<i32> {
    if !(0..=NewProperty::MAX_RELEASE_HOURS).contains(&hours) {
        return Err(AccessError::invalid("code_release_hours", "between 0 and 720"));
    }
    Ok(hours)
}

/// The most minutes a buffer or a turnover may be: a day.
pub const MAX_WINDOW_MINUTES: i32 = 1440;

/// Minutes of a buffer or a turnover for the field `field`: 0 to 1440.
pub fn check_window_minutes(field: &str, minutes: i32) -> AccessResult<i32> {
    if !(0..=MAX_WINDOW_MINUTES).contains(&minutes) {
        return Err(AccessError::invalid(field, "between 0 and 1440 minutes"));
    }
    Ok(minutes)
}

/// The channels guest messages use: each one of [`NewProperty::CHANNELS`].
pub fn check_notify_channels(channels: Vec<String>) -> AccessResult<Vec<String>> {
    if let Some(bad) = channels.iter().find(|c| !NewProperty::CHANNELS.contains(&c.as_str())) {
        return Err(AccessError::invalid(
            "notify_channels",
            format!("{bad:?} is not one of whatsapp, telegram, sms, email"),
        ));
    }
    Ok(channels)
}

/// Changes a property, audited as `property.updated` with the names of the
/// fields that changed (never their values: one may be the wifi password).
/// A change that changes nothing is no event.
#[tracing::instrument(skip_all, fields(%id))]
pub async fn update_property(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &PropertyChanges,
    actor: super::audit::Actor,
) -> AccessResult<Property> {
    sqlx::query_scalar!("SELECT id FROM properties WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AccessError::NotFound { entity: "property" })?;
    let mut property = get_property(&mut *conn, id).await?;
    let changed = apply_property_changes(&mut property, changes);
    if changed.is_empty() {
        return Ok(property);
    }
    store_property(&mut *conn, &property).await?;
    let subject = super::audit::Subject { property_id: Some(id), ..Default::default() };
    let details = serde_json::json!({ "changed": changed });
    super::audit::record(&mut *conn, actor, "property.updated", subject, details).await?;
    if changed.iter().any(|c| c.starts_with("code_valid_")) {
        // SPEC §11: the live codes of stays not yet over follow the buffers.
        super::lifecycle::move_property_windows(&mut *conn, id, actor, Utc::now()).await?;
    }
    if changed.iter().any(|c| *c == "no_show_alert_time" || *c == "timezone") {
        // SPEC §12: the no-show checks still to come move to the new time.
        super::arrivals::reschedule_no_shows(&mut *conn, id, Utc::now()).await?;
    }
    if changed.iter().any(|c| c.starts_with("code_valid_") || *c == "cleaning_window_minutes") {
        // The turnovers between stays follow the buffers and the window.
        super::turnovers::sync_property(&mut *conn, id, actor, Utc::now()).await?;
    }
    Ok(property)
}

fn apply_property_changes(property: &mut Property, changes: &PropertyChanges) -> Vec<&'static str> {
    fn set<T: PartialEq + Clone>(changed: &mut Vec<&'static str>, name: &'static str, field: &mut T, to: &Option<T>) {
        if let Some(value) = to {
            if field != value {
                field.clone_from(value);
                changed.push(name);
            }
        }
    }
    let mut changed = Vec::new();
    set(&mut changed, "name", &mut property.name, &changes.name);
    set(&mut changed, "timezone", &mut property.timezone, &changes.timezone);
    set(&mut changed, "address", &mut property.address, &changes.address);
    set(&mut changed, "check_in_time", &mut property.check_in_time, &changes.check_in_time);
    set(&mut changed, "check_out_time", &mut property.check_out_time, &changes.check_out_time);
    set(&mut changed, "code_release_hours", &mut property.code_release_hours, &changes.code_release_hours);
    let verification = &changes.requires_verification;
    set(&mut changed, "requires_verification", &mut property.requires_verification, verification);
    set(&mut changed, "notify_channels", &mut property.notify_channels, &changes.notify_channels);
    let quiet = changes.quiet_hours.map(|q| q.map(|q| q.to_string()));
    set(&mut changed, "quiet_hours", &mut property.quiet_hours, &quiet);
    let battery = &changes.battery_alert_percent;
    set(&mut changed, "battery_alert_percent", &mut property.battery_alert_percent, battery);
    let before = &changes.code_valid_before_minutes;
    set(&mut changed, "code_valid_before_minutes", &mut property.code_valid_before_minutes, before);
    let after = &changes.code_valid_after_minutes;
    set(&mut changed, "code_valid_after_minutes", &mut property.code_valid_after_minutes, after);
    set(&mut changed, "turnover_minutes", &mut property.turnover_minutes, &changes.turnover_minutes);
    let no_show = &changes.no_show_alert_time;
    set(&mut changed, "no_show_alert_time", &mut property.no_show_alert_time, no_show);
    let late = &changes.late_arrival_alert_after;
    set(&mut changed, "late_arrival_alert_after", &mut property.late_arrival_alert_after, late);
    let cleaning = &changes.cleaning_window_minutes;
    set(&mut changed, "cleaning_window_minutes", &mut property.cleaning_window_minutes, cleaning);
    changed.extend(changes.knowledge.apply(&mut property.knowledge));
    changed
}

async fn store_property(conn: &mut PgConnection, property: &Property) -> AccessResult<()> {
    let k = &property.knowledge;
    sqlx::query!(
        "UPDATE properties SET name = $2, timezone = $3, address = $4, check_in_time = $5, check_out_time = $6,
             code_release_hours = $7, requires_verification = $8, entry_instructions = $9, wifi_name = $10,
             wifi_password = $11, parking = $12, directions = $13, checkout_instructions = $14,
             house_rules = $15, notify_channels = $16, quiet_hours = $17, knowledge_translations = $18,
             battery_alert_percent = $19, code_valid_before_minutes = $20, code_valid_after_minutes = $21,
             turnover_minutes = $22, no_show_alert_time = $23, late_arrival_alert_after = $24, cleaning_window_minutes = $25
         WHERE id = $1",
        property.id,
        property.name,
        property.timezone.name(),
        property.address,
        property.check_in_time,
        property.check_out_time,
        property.code_release_hours,
        property.requires_verification,
        k.entry_instructions,
        k.wifi_name,
        k.wifi_password,
        k.parking,
        k.directions,
        k.checkout_instructions,
        k.house_rules,
        &property.notify_channels,
        property.quiet_hours,
        serde_json::to_value(&k.translations).unwrap_or_default(),
        property.battery_alert_percent,
        property.code_valid_before_minutes,
        property.code_valid_after_minutes,
        property.turnover_minutes,
        property.no_show_alert_time,
        property.late_arrival_alert_after,
        property.cleaning_window_minutes,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
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

    /// `15:00`, or `null`.
    pub fn serialize_option<S: Serializer>(time: &Option<NaiveTime>, serializer: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serialize(time, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Parses `15:00` or `15:00:00`.
    pub fn parse(raw: &str) -> Option<NaiveTime> {
        NaiveTime::parse_from_str(raw.trim(), "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(raw.trim(), "%H:%M:%S"))
            .ok()
    }
}
