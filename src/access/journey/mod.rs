//! The guest's journey (SPEC §11): a property's message rules, checked and
//! stored here; the messages they schedule for each booking
//! ([`schedule`]); quiet hours ([`quiet`]); the templates' placeholders
//! ([`template`]). What a message says and how it is escaped for a channel
//! is `conversation::journey`'s: the core holds no words.

pub mod quiet;
pub mod schedule;
pub mod template;

use std::collections::BTreeMap;

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::{self, Actor, Subject};
use super::error::{AccessError, AccessResult};
use super::model::Language;
use super::timezone::Timezone;
use crate::jobs::queue;
pub use quiet::QuietHours;
pub use schedule::{cancel_for_booking, schedule_for_booking};

/// The rule that sends the codes: the pre-arrival message.
pub const PRE_ARRIVAL: &str = "pre_arrival";
/// The most rules a property may have.
pub const MAX_RULES: usize = 20;
/// The longest template, in characters.
pub const MAX_TEMPLATE_CHARS: usize = 2000;
/// The longest offset: 30 days.
pub const MAX_OFFSET_MINUTES: i32 = 43_200;

/// What starts a rule's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// The booking was confirmed.
    BookingConfirmed,
    /// The booking's dates moved.
    DatesChanged,
    /// `offset_minutes` before check-in.
    BeforeCheckIn,
    /// `offset_minutes` after check-in.
    AfterCheckIn,
    /// `offset_minutes` after the guest's code first opened a door.
    Arrived,
    /// `offset_minutes` before check-out.
    BeforeCheckOut,
    /// `offset_minutes` after check-out.
    AfterCheckOut,
}

impl Trigger {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BookingConfirmed => "booking_confirmed",
            Self::DatesChanged => "dates_changed",
            Self::BeforeCheckIn => "before_check_in",
            Self::AfterCheckIn => "after_check_in",
            Self::Arrived => "arrived",
            Self::BeforeCheckOut => "before_check_out",
            Self::AfterCheckOut => "after_check_out",
        }
    }

    /// Every trigger.
    pub const ALL: [Trigger; 7] = [
        Self::BookingConfirmed,
        Self::DatesChanged,
        Self::BeforeCheckIn,
        Self::AfterCheckIn,
        Self::Arrived,
        Self::BeforeCheckOut,
        Self::AfterCheckOut,
    ];

    /// The trigger of a stored name.
    pub fn parse(raw: &str) -> AccessResult<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|t| t.as_str()).collect();
            AccessError::invalid("trigger", format!("{raw:?} is not one of {}", names.join(", ")))
        })
    }

    /// The earliest the message can go, in minutes from check-in (negative:
    /// before), for an offset; `None` when it can go at any time.
    fn earliest_from_check_in(self, offset: i32) -> Option<i32> {
        match self {
            Self::BookingConfirmed | Self::DatesChanged => None,
            // A stay can be short: its check-out is only known to be after
            // check-in.
            Self::BeforeCheckIn | Self::BeforeCheckOut => Some(-offset),
            Self::AfterCheckIn | Self::Arrived | Self::AfterCheckOut => Some(offset),
        }
    }
}

/// Whether a rule's messages go by themselves or wait for staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Sent when due.
    Auto,
    /// Shown to staff when due (chat and console), sent or dropped by them.
    Draft,
}

impl Mode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Draft => "draft",
        }
    }
}

/// A message rule, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageRule {
    /// Its name, unique in the property: `[a-z0-9_]`, 1 to 64 characters.
    pub name: String,
    /// What starts its clock.
    pub trigger: Trigger,
    /// Minutes before or after the trigger.
    pub offset_minutes: i32,
    /// When set: this local time, on the day the offset lands on.
    pub local_time: Option<NaiveTime>,
    /// The channels it uses (among the property's).
    pub channels: Vec<String>,
    /// Sent by itself or a draft for staff.
    pub mode: Mode,
    /// Its text per language; English is the fallback. Empty for a default
    /// rule: the built-in text in every language.
    pub templates: BTreeMap<String, String>,
    /// The approved WhatsApp template used outside the 24-hour window.
    pub whatsapp_template: Option<String>,
}

impl MessageRule {
    /// Whether it helps the guest get in (its codes or entry instructions),
    /// which quiet hours let through close to check-in.
    pub fn about_getting_in(&self) -> bool {
        use template::Placeholder::{Codes, EntryInstructions};
        self.name == PRE_ARRIVAL
            || self.templates.values().any(|text| {
                template::parse(text)
                    .map(|s| template::placeholders(&s).any(|p| p == Codes || p == EntryInstructions))
                    .unwrap_or(false)
            })
    }
}

/// A rule as the API or the console gives it, unchecked.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    /// Name.
    pub name: String,
    /// Trigger name.
    pub trigger: String,
    /// Minutes.
    pub offset_minutes: i64,
    /// `HH:MM`, optional.
    pub local_time: Option<String>,
    /// Channel names.
    pub channels: Vec<String>,
    /// `auto` or `draft`.
    pub mode: String,
    /// Text per language.
    pub templates: BTreeMap<String, String>,
    /// Approved WhatsApp template name.
    pub whatsapp_template: Option<String>,
}

/// What the rules of a property depend on.
#[derive(Debug, Clone)]
pub struct JourneyTerms {
    /// The property.
    pub property_id: Uuid,
    /// Its timezone.
    pub timezone: Timezone,
    /// `code_release_hours`.
    pub release_hours: i32,
    /// Its quiet hours, if any.
    pub quiet_hours: Option<QuietHours>,
    /// Channels its guests hear on.
    pub notify_channels: Vec<String>,
    /// Whether its rules were saved (else the defaults apply).
    pub saved: bool,
}

/// The rules a property has before it saves its own (SPEC §11): the
/// pre-arrival message, a check-out reminder at 08:00 local on the day of
/// departure, and a thank-you two hours after check-out.
pub fn default_rules(terms: &JourneyTerms) -> Vec<MessageRule> {
    // A property that names no channels reaches its guests wherever they
    // can be reached (the guest's own channels limit it when sending).
    let channels: Vec<String> = if terms.notify_channels.is_empty() {
        super::properties::NewProperty::CHANNELS.iter().map(|c| (*c).to_owned()).collect()
    } else {
        terms.notify_channels.clone()
    };
    let rule = |name: &str, trigger, offset_minutes, local_time| MessageRule {
        name: name.to_owned(),
        trigger,
        offset_minutes,
        local_time,
        channels: channels.clone(),
        mode: Mode::Auto,
        templates: BTreeMap::new(),
        whatsapp_template: Some(format!("doorman_{name}")),
    };
    vec![
        rule(PRE_ARRIVAL, Trigger::BeforeCheckIn, terms.release_hours * 60, None),
        rule("check_out_reminder", Trigger::BeforeCheckOut, 0, NaiveTime::from_hms_opt(8, 0, 0)),
        rule("thank_you", Trigger::AfterCheckOut, 120, None),
    ]
}

/// The property's terms; `NotFound` when there is no such property.
pub async fn terms_of(conn: &mut PgConnection, property_id: Uuid) -> AccessResult<JourneyTerms> {
    let row = sqlx::query!(
        r#"SELECT timezone AS "timezone: Timezone", code_release_hours, quiet_hours, notify_channels,
               message_rules_saved
           FROM properties WHERE id = $1"#,
        property_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "property" })?;
    Ok(JourneyTerms {
        property_id,
        timezone: row.timezone,
        release_hours: row.code_release_hours,
        quiet_hours: row.quiet_hours.as_deref().and_then(|q| QuietHours::parse(q).ok()),
        notify_channels: row.notify_channels,
        saved: row.message_rules_saved,
    })
}

/// A property's rules: its own once saved, else the defaults.
pub async fn rules_of(conn: &mut PgConnection, terms: &JourneyTerms) -> AccessResult<Vec<MessageRule>> {
    if !terms.saved {
        return Ok(default_rules(terms));
    }
    let rows = sqlx::query!(
        "SELECT name, trigger, offset_minutes, local_time, channels, mode, templates, whatsapp_template
         FROM message_rules WHERE property_id = $1 ORDER BY position",
        terms.property_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut rules = Vec::with_capacity(rows.len());
    for row in rows {
        rules.push(MessageRule {
            name: row.name,
            trigger: Trigger::parse(&row.trigger)?,
            offset_minutes: row.offset_minutes,
            local_time: row.local_time,
            channels: row.channels,
            mode: if row.mode == "draft" { Mode::Draft } else { Mode::Auto },
            templates: serde_json::from_value(row.templates).unwrap_or_default(),
            whatsapp_template: row.whatsapp_template,
        });
    }
    Ok(rules)
}

/// Checks a property's new rules (SPEC §11): known triggers, channels and
/// placeholders, an English text, no `{codes}` or `{wifi_password}` where
/// the rule could fire before the release time, and the pre-arrival rule
/// kept at the release time.
pub fn parse_rules(inputs: Vec<RuleInput>, terms: &JourneyTerms) -> AccessResult<Vec<MessageRule>> {
    if inputs.len() > MAX_RULES {
        return Err(AccessError::invalid("rules", format!("at most {MAX_RULES}")));
    }
    let mut rules: Vec<MessageRule> = Vec::with_capacity(inputs.len());
    for input in inputs {
        let rule = parse_rule(input, terms)?;
        if rules.iter().any(|r| r.name == rule.name) {
            return Err(AccessError::invalid("name", format!("{:?} is used twice", rule.name)));
        }
        rules.push(rule);
    }
    if !rules.iter().any(|r| r.name == PRE_ARRIVAL) {
        return Err(AccessError::invalid(
            PRE_ARRIVAL,
            "the rule that sends the codes cannot be removed (keep it, with empty templates for the built-in text)",
        ));
    }
    Ok(rules)
}

fn parse_rule(input: RuleInput, terms: &JourneyTerms) -> AccessResult<MessageRule> {
    let name = input.name.trim().to_owned();
    let valid_name = (1..=64).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid_name {
        return Err(AccessError::invalid("name", "1 to 64 of a-z, 0-9 and _"));
    }
    let field = |what: &str| format!("{name}.{what}");
    let offset_minutes = i32::try_from(input.offset_minutes)
        .ok()
        .filter(|m| (0..=MAX_OFFSET_MINUTES).contains(m))
        .ok_or_else(|| AccessError::invalid(&field("offset_minutes"), format!("0 to {MAX_OFFSET_MINUTES}")))?;
    let local_time = match input.local_time.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(raw) => Some(
            NaiveTime::parse_from_str(raw, "%H:%M")
                .ok()
                .filter(|_| raw.len() == 5)
                .ok_or_else(|| AccessError::invalid(&field("local_time"), "HH:MM, such as 08:00"))?,
        ),
    };
    let mode = match input.mode.as_str() {
        "auto" => Mode::Auto,
        "draft" => Mode::Draft,
        other => return Err(AccessError::invalid(&field("mode"), format!("{other:?} is not auto or draft"))),
    };
    let rule = MessageRule {
        trigger: Trigger::parse(&input.trigger)
            .map_err(|_| AccessError::invalid(&field("trigger"), format!("{:?} is not a trigger", input.trigger)))?,
        channels: parse_channels(&field("channels"), input.channels)?,
        templates: parse_templates(&field("templates"), input.templates, name == PRE_ARRIVAL)?,
        whatsapp_template: parse_whatsapp_template(&field("whatsapp_template"), input.whatsapp_template)?,
        name,
        offset_minutes,
        local_time,
        mode,
    };
    check_release(&rule, terms)?;
    Ok(rule)
}

fn parse_channels(field: &str, channels: Vec<String>) -> AccessResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for channel in channels {
        if !super::properties::NewProperty::CHANNELS.contains(&channel.as_str()) {
            return Err(AccessError::invalid(
                field,
                format!("{channel:?} is not one of whatsapp, telegram, sms, email"),
            ));
        }
        if !out.contains(&channel) {
            out.push(channel);
        }
    }
    if out.is_empty() {
        return Err(AccessError::invalid(field, "at least one channel"));
    }
    Ok(out)
}

fn parse_templates(
    field: &str,
    templates: BTreeMap<String, String>,
    built_in: bool,
) -> AccessResult<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (language, text) in templates {
        let language = Language::parse(&language).map_err(|e| AccessError::invalid(field, e))?;
        let place = format!("{field}.{}", language.as_str());
        if text.trim().is_empty() || text.chars().count() > MAX_TEMPLATE_CHARS || text.contains('\0') {
            return Err(AccessError::invalid(&place, format!("1 to {MAX_TEMPLATE_CHARS} characters")));
        }
        template::parse(&text).map_err(|e| AccessError::invalid(&place, e))?;
        out.insert(language.as_str().to_owned(), text);
    }
    if !out.is_empty() && !out.contains_key("en") {
        return Err(AccessError::invalid(field, "an English text (\"en\") is needed: it is the fallback"));
    }
    if out.is_empty() && !built_in {
        return Err(AccessError::invalid(field, "at least an English text (\"en\")"));
    }
    Ok(out)
}

fn parse_whatsapp_template(field: &str, name: Option<String>) -> AccessResult<Option<String>> {
    let Some(name) = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let valid = name.len() <= 512 && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(AccessError::invalid(field, "a Meta template name: a-z, 0-9 and _"));
    }
    Ok(Some(name))
}

/// A rule that could put a secret in front of the guest before the release
/// time is refused; the pre-arrival rule goes at the release time.
fn check_release(rule: &MessageRule, terms: &JourneyTerms) -> AccessResult<()> {
    let release = terms.release_hours * 60;
    if rule.name == PRE_ARRIVAL {
        let at_release =
            rule.trigger == Trigger::BeforeCheckIn && rule.offset_minutes == release && rule.local_time.is_none();
        if !at_release || rule.mode != Mode::Auto {
            return Err(AccessError::invalid(
                PRE_ARRIVAL,
                format!(
                    "the code message goes at the release time: trigger before_check_in, offset_minutes {release} \
                     (code_release_hours × 60), no local_time, mode auto"
                ),
            ));
        }
        // The operator's own words still carry the code: without it the
        // guest would arrive with nothing.
        for (language, text) in &rule.templates {
            let segments = template::parse(text).map_err(|e| AccessError::invalid(PRE_ARRIVAL, e))?;
            if !template::placeholders(&segments).any(|p| p == template::Placeholder::Codes) {
                return Err(AccessError::invalid(
                    &format!("{PRE_ARRIVAL}.templates.{language}"),
                    "the pre-arrival message carries the guest's codes: put {codes} in it",
                ));
            }
        }
        return Ok(());
    }
    // A local time can land up to a day before the offset's instant.
    let slack = if rule.local_time.is_some() { 24 * 60 } else { 0 };
    let early = rule.trigger.earliest_from_check_in(rule.offset_minutes).is_none_or(|m| m - slack < -release);
    if !early {
        return Ok(());
    }
    for (language, text) in &rule.templates {
        let segments = template::parse(text).map_err(|e| AccessError::invalid(&rule.name, e))?;
        let secret = template::placeholders(&segments).find(|p| p.is_secret());
        if let Some(secret) = secret {
            return Err(AccessError::invalid(
                &format!("{}.templates.{language}", rule.name),
                format!(
                    "{{{}}} could reach the guest before the code's release time ({} h before check-in)",
                    secret.name(),
                    terms.release_hours
                ),
            ));
        }
    }
    Ok(())
}

/// Checks and saves a property's new rules, and schedules them for its
/// upcoming bookings: the one function the admin API and the console call.
pub async fn replace_rules(
    conn: &mut PgConnection,
    property_id: Uuid,
    inputs: Vec<RuleInput>,
    actor: Actor,
) -> AccessResult<Vec<MessageRule>> {
    let terms = terms_of(conn, property_id).await?;
    let rules = parse_rules(inputs, &terms)?;
    let mut jobs = queue::Batch::default();
    save_rules(conn, property_id, &rules, actor, &mut jobs).await?;
    jobs.enqueue(conn).await?;
    Ok(rules)
}

/// Saves a property's rules, audited as `message_rules.updated` with their
/// names, and schedules them for the property's upcoming bookings (the jobs
/// are added to `jobs`). Messages of a rule that is gone are cancelled.
#[tracing::instrument(skip_all, fields(%property_id))]
pub async fn save_rules(
    conn: &mut PgConnection,
    property_id: Uuid,
    rules: &[MessageRule],
    actor: Actor,
    jobs: &mut queue::Batch,
) -> AccessResult<()> {
    store_rules(conn, property_id, rules).await?;
    let names: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
    sqlx::query!(
        "UPDATE scheduled_messages SET state = 'cancelled', updated_at = now()
         WHERE property_id = $1 AND rule <> ALL($2) AND state IN ('scheduled', 'waiting', 'draft', 'approved')",
        property_id,
        &names
    )
    .execute(&mut *conn)
    .await?;
    let subject = Subject { property_id: Some(property_id), ..Default::default() };
    audit::record(&mut *conn, actor, "message_rules.updated", subject, json!({ "rules": names })).await?;
    let upcoming = sqlx::query_scalar!(
        "SELECT id FROM bookings WHERE property_id = $1 AND status = 'confirmed' AND check_out_at > now() - interval '1 day'",
        property_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let now = chrono::Utc::now();
    for booking_id in upcoming {
        jobs.append(schedule_for_booking(conn, booking_id, now).await?);
    }
    Ok(())
}

async fn store_rules(conn: &mut PgConnection, property_id: Uuid, rules: &[MessageRule]) -> AccessResult<()> {
    sqlx::query!("DELETE FROM message_rules WHERE property_id = $1", property_id).execute(&mut *conn).await?;
    for (position, rule) in rules.iter().enumerate() {
        sqlx::query!(
            "INSERT INTO message_rules (property_id, position, name, trigger, offset_minutes, local_time, channels,
                 mode, templates, whatsapp_template)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            property_id,
            i32::try_from(position).unwrap_or(i32::MAX),
            rule.name,
            rule.trigger.as_str(),
            rule.offset_minutes,
            rule.local_time,
            &rule.channels,
            rule.mode.as_str(),
            serde_json::to_value(&rule.templates).unwrap_or_default(),
            rule.whatsapp_template,
        )
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query!("UPDATE properties SET message_rules_saved = true, updated_at = now() WHERE id = $1", property_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
