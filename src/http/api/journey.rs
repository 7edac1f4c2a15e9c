//! `GET /properties/{id}/message-rules` and `PUT` (SPEC §11).

use std::collections::BTreeMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::properties::NotifyChannel;
use super::schema;
use crate::access::audit::Actor;
use crate::access::journey::{self, MessageRule, Mode, RuleInput, Trigger};
use crate::access::AccessError;
use crate::conversation::journey::with_default_texts;
use crate::http::error::{ApiError, Json, Path};
use crate::http::AppState;

/// A message rule: what goes to the guest, when, on which channels.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "name": "check_out_reminder", "trigger": "before_check_out", "offset_minutes": 0, "local_time": "08:00",
    "channels": ["whatsapp", "sms"], "mode": "auto",
    "templates": {"en": "Good morning {guest_first_name}! Check-out is {check_out}.",
                  "de": "Guten Morgen {guest_first_name}! Abreise ist {check_out}."},
    "whatsapp_template": "doorman_check_out_reminder"
}))]
pub struct RuleBody {
    /// Unique in the property: 1 to 64 of `a-z`, `0-9`, `_`. `pre_arrival` is
    /// the message with the codes, and cannot be removed.
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_]+$")]
    pub name: String,
    /// What starts the clock.
    pub trigger: Trigger,
    /// Minutes before (`before_*`) or after the trigger, 0 to 43200 (default 0).
    #[serde(default, deserialize_with = "schema::whole_number")]
    #[schema(minimum = 0, maximum = 43200)]
    pub offset_minutes: Option<i64>,
    /// `HH:MM`: this local time, on the day the offset lands on (a check-out
    /// reminder at 08:00 on the day of departure).
    #[schema(example = "08:00", pattern = "^(([01][0-9]|2[0-3]):[0-5][0-9])?$")]
    pub local_time: Option<String>,
    /// Channels it uses, where the property uses them and the guest has them.
    #[schema(min_items = 1)]
    pub channels: Vec<NotifyChannel>,
    /// `auto`, or `draft`: shown to staff, who send or drop it.
    pub mode: Mode,
    /// Text per language (`en` required, the fallback), with placeholders
    /// `{guest_first_name}`, `{property}`, `{room}`, `{check_in}`,
    /// `{check_out}`, `{wifi_name}`, `{wifi_password}`,
    /// `{entry_instructions}`, `{checkout_instructions}`, `{codes}`; `{{` is
    /// a brace. Empty only for `pre_arrival`: its built-in message.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
    /// The approved WhatsApp template used outside the 24-hour window (body
    /// parameters: `{{1}}` property, `{{2}}` the message on one line).
    #[schema(pattern = "^[a-z0-9_]*$", max_length = 512)]
    pub whatsapp_template: Option<String>,
}

impl From<MessageRule> for RuleBody {
    fn from(rule: MessageRule) -> Self {
        let channel = |c: &str| match c {
            "telegram" => NotifyChannel::Telegram,
            "sms" => NotifyChannel::Sms,
            "email" => NotifyChannel::Email,
            _ => NotifyChannel::Whatsapp,
        };
        Self {
            name: rule.name,
            trigger: rule.trigger,
            offset_minutes: Some(i64::from(rule.offset_minutes)),
            local_time: rule.local_time.map(|t| t.format("%H:%M").to_string()),
            channels: rule.channels.iter().map(|c| channel(c)).collect(),
            mode: rule.mode,
            templates: rule.templates,
            whatsapp_template: rule.whatsapp_template,
        }
    }
}

impl From<RuleBody> for RuleInput {
    fn from(body: RuleBody) -> Self {
        Self {
            name: body.name,
            trigger: body.trigger.as_str().to_owned(),
            offset_minutes: body.offset_minutes.unwrap_or(0),
            local_time: body.local_time,
            channels: body.channels.into_iter().map(|c| c.as_str().to_owned()).collect(),
            mode: body.mode.as_str().to_owned(),
            templates: body.templates,
            whatsapp_template: body.whatsapp_template,
        }
    }
}

/// A property's message rules: its own once saved, else the defaults (the
/// pre-arrival message, a check-out reminder at 08:00 on the day of
/// departure, a thank-you two hours after check-out) with their texts in
/// every language.
#[utoipa::path(get, path = "/api/v1/properties/{id}/message-rules", tag = "properties",
    operation_id = "list_message_rules", params(schema::PropertyId),
    responses((status = 200, description = "The rules, in order.", body = Vec<RuleBody>), schema::NotFound),
    security(("bearer" = [])))]
pub async fn list(State(state): State<AppState>, Path(id): Path<Uuid>) -> Result<Json<Vec<RuleBody>>, ApiError> {
    let mut conn = state.db.acquire().await.map_err(AccessError::from)?;
    let terms = journey::terms_of(&mut conn, id).await?;
    let rules = journey::rules_of(&mut conn, &terms).await?;
    Ok(Json(with_default_texts(rules).into_iter().map(RuleBody::from).collect()))
}

/// Replace a property's message rules (audited as `message_rules.updated`).
/// Upcoming bookings get the new schedule at once; a removed rule's waiting
/// messages are cancelled. 422 for an unknown placeholder (named), a
/// `{codes}` or `{wifi_password}` in a rule that could fire before the
/// code's release time, or a missing English text.
#[utoipa::path(put, path = "/api/v1/properties/{id}/message-rules", tag = "properties",
    operation_id = "replace_message_rules", params(schema::PropertyId), request_body = Vec<RuleBody>,
    responses((status = 200, description = "The rules as saved.", body = Vec<RuleBody>), schema::NotFound,
        schema::Invalid),
    security(("bearer" = [])))]
pub async fn replace(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Json(body): Json<Vec<RuleBody>>,
) -> Result<Json<Vec<RuleBody>>, ApiError> {
    let mut tx = state.db.begin().await.map_err(AccessError::from)?;
    let inputs = body.into_iter().map(RuleInput::from).collect();
    let rules = journey::replace_rules(&mut tx, id, inputs, Actor::Api).await?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok(Json(with_default_texts(rules).into_iter().map(RuleBody::from).collect()))
}
