//! The messages of the guest's journey (SPEC §11): what a message rule's
//! template says for one booking, in the guest's language (English as the
//! fallback), escaped for each channel, and the `SendRuleMessage` job that
//! sends it (or shows a draft to staff). When it goes is the core's
//! (`access::journey`).

use std::collections::BTreeMap;

use chrono::Utc;
use sqlx::PgConnection;
use uuid::Uuid;

use super::catalog;
use super::pre_arrival::{self, BookingForMessage};
use super::replies::CodeLine;
use crate::access::alerts::{alert_staff, StaffAlert};
use crate::access::jobs::SendRuleMessage;
use crate::access::journey::template::{self, Placeholder, Segment};
use crate::access::journey::{self, schedule, MessageRule, Mode};
use crate::access::model::BookingStatus;
use crate::access::release::Release;
use crate::channels::text::{code, html, literal, plain};
use crate::channels::{outbox, Channel, Outgoing, Template};
use crate::context::JobContext;
use crate::jobs::{JobError, Run};

impl Run<JobContext> for SendRuleMessage {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        send(ctx, self.booking_id, &self.rule).await
    }
}

/// The values a template's placeholders take for one booking.
#[derive(Debug, Clone, Default)]
pub struct Values {
    /// Guest's first name.
    pub guest_first_name: String,
    /// Property.
    pub property: String,
    /// Room.
    pub room: String,
    /// Local check-in, in the guest's language.
    pub check_in: String,
    /// Local check-out.
    pub check_out: String,
    /// Wifi network.
    pub wifi_name: String,
    /// Wifi password (empty before the release time).
    pub wifi_password: String,
    /// How to get in.
    pub entry_instructions: String,
    /// What to do when leaving.
    pub checkout_instructions: String,
    /// Codes and the locks each opens (empty before the release time).
    pub codes: Vec<(String, String)>,
}

/// How a channel takes text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// doorman markup (WhatsApp, Telegram, the console; the outbox escapes
    /// it for Telegram): values are literal, codes are code.
    Markup,
    /// Plain text (SMS, an e-mail's text part).
    Plain,
}

/// A template's text for these values.
pub fn render(segments: &[Segment], values: &Values, style: Style) -> String {
    let value = |text: &str| if style == Style::Markup { literal(text) } else { text.to_owned() };
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Text(text) if style == Style::Plain => out.push_str(&plain(text)),
            Segment::Text(text) => out.push_str(text),
            Segment::Value(Placeholder::Codes) => {
                let codes: Vec<String> = values
                    .codes
                    .iter()
                    .map(|(value_of, locks)| match style {
                        Style::Markup => format!("{} ({})", code(value_of), literal(locks)),
                        Style::Plain => format!("{value_of} ({locks})"),
                    })
                    .collect();
                out.push_str(&codes.join("; "));
            }
            Segment::Value(placeholder) => out.push_str(&value(value_of(values, *placeholder))),
        }
    }
    out.trim().to_owned()
}

fn value_of(values: &Values, placeholder: Placeholder) -> &str {
    match placeholder {
        Placeholder::GuestFirstName => &values.guest_first_name,
        Placeholder::Property => &values.property,
        Placeholder::Room => &values.room,
        Placeholder::CheckIn => &values.check_in,
        Placeholder::CheckOut => &values.check_out,
        Placeholder::WifiName => &values.wifi_name,
        Placeholder::WifiPassword => &values.wifi_password,
        Placeholder::EntryInstructions => &values.entry_instructions,
        Placeholder::CheckoutInstructions => &values.checkout_instructions,
        Placeholder::Codes => "",
    }
}

/// A rule's text in `language`: its own template in that language, else
/// its English one; a default rule's (no templates) is the catalogue's
/// `journey_<rule>` text in the language.
pub fn template_text<'a>(rule: &'a MessageRule, language: &str) -> std::borrow::Cow<'a, str> {
    if let Some(text) = rule.templates.get(language).or_else(|| rule.templates.get("en")) {
        return text.as_str().into();
    }
    catalog::text(catalog::pick(&[Some(language)]), &format!("journey_{}", rule.name), &[]).into()
}

/// The rules with a default rule's texts filled in from the catalogue in
/// every language, as an operator edits them (the pre-arrival rule keeps
/// none: its built-in message carries the codes).
pub fn with_default_texts(mut rules: Vec<MessageRule>) -> Vec<MessageRule> {
    for rule in &mut rules {
        if rule.templates.is_empty() && rule.name != journey::PRE_ARRIVAL {
            let key = format!("journey_{}", rule.name);
            rule.templates = catalog::LANGUAGES
                .iter()
                .map(|l| (l.to_string(), catalog::text(l, &key, &[])))
                .filter(|(_, text)| *text != key)
                .collect::<BTreeMap<_, _>>();
        }
    }
    rules
}

/// `SendRuleMessage`, a minute before the message's time: a scheduled (or
/// approved) message is written for every channel of the rule the guest
/// has, once per channel, and sent at its time; a draft rule's is shown to
/// staff first. Nothing for a booking no longer confirmed, or a
/// message cancelled, dropped or sent meanwhile.
pub async fn send(ctx: &JobContext, booking_id: Uuid, rule_name: &str) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    let Some((state, send_at)) = schedule::state_of(&mut tx, booking_id, rule_name).await? else { return Ok(()) };
    if state != "scheduled" && state != "approved" {
        return Ok(());
    }
    let Some(booking) = pre_arrival::load(&mut tx, booking_id).await? else { return Ok(()) };
    if booking.status != BookingStatus::Confirmed {
        return Ok(());
    }
    let terms = journey::terms_of(&mut tx, booking.property_id).await?;
    let rules = journey::rules_of(&mut tx, &terms).await?;
    let Some(rule) = rules.into_iter().find(|r| r.name == rule_name) else {
        return Ok(());
    };
    let language = language_of(&booking, &rule);
    let segments = template::parse(&template_text(&rule, &language)).map_err(JobError::permanent)?;
    if state == "scheduled" && rule.mode == Mode::Draft {
        show_draft(&mut tx, &booking, &rule, &segments, &language).await?;
        tx.commit().await?;
        return Ok(());
    }
    let values = values(&mut tx, &booking, &segments, &language, true).await?;
    let secret = template::placeholders(&segments).any(Placeholder::is_secret);
    // Written ahead (`schedule::WRITE_AHEAD`): sent at its time; a draft
    // staff approved goes at once.
    let at = if state == "approved" { Utc::now() } else { send_at.max(Utc::now()) };
    for (channel, address) in pre_arrival::channels(ctx, &booking) {
        if !rule.channels.iter().any(|c| c == channel.as_str()) && channel != Channel::Console {
            continue;
        }
        let outgoing = outgoing(&booking, &rule, &segments, &values, channel, address, secret);
        outbox::enqueue_at(&mut tx, &outgoing, at).await?;
    }
    schedule::mark_sent(&mut tx, booking_id, rule_name, &[state.as_str()]).await?;
    tx.commit().await?;
    Ok(())
}

/// The guest's language when the rule has a text in it (or it is a default
/// rule and the catalogue has it), else English.
fn language_of(booking: &BookingForMessage, rule: &MessageRule) -> String {
    let wanted = booking.language.as_str();
    let has = if rule.templates.is_empty() {
        catalog::LANGUAGES.contains(&wanted)
    } else {
        rule.templates.contains_key(wanted)
    };
    if has {
        wanted.to_owned()
    } else {
        "en".to_owned()
    }
}

async fn show_draft(
    tx: &mut PgConnection,
    booking: &BookingForMessage,
    rule: &MessageRule,
    segments: &[Segment],
    language: &str,
) -> Result<(), JobError> {
    let Some(draft_id) = schedule::hold_as_draft(tx, booking.id, &rule.name).await? else { return Ok(()) };
    let mut values = values(tx, booking, segments, language, false).await?;
    values.wifi_password = "••••".into();
    let preview = render(segments, &values, Style::Plain);
    let alert = StaffAlert::DraftReady {
        draft_id,
        reference: booking.external_ref.clone(),
        room: booking.room.clone(),
        rule: rule.name.clone(),
        preview,
    };
    alert_staff(tx, booking.property_id, alert).await?;
    Ok(())
}

/// The booking's values in `language`; the codes and the wifi password
/// only from the release time (`reveal`: the codes are read, and audited as
/// revealed, only for a message that goes to the guest).
async fn values(
    tx: &mut PgConnection,
    booking: &BookingForMessage,
    segments: &[Segment],
    language: &str,
    reveal: bool,
) -> Result<Values, JobError> {
    let released = booking.terms().at(Utc::now()) == Release::Allowed;
    let uses_codes = template::placeholders(segments).any(|p| p == Placeholder::Codes);
    let codes = if uses_codes && released && reveal {
        pre_arrival::live_codes(tx, booking, "rule_message").await?
    } else {
        Vec::new()
    };
    let mut values = values_with(booking, language, &codes, released);
    if uses_codes && !reveal {
        values.codes = vec![("••••••".into(), String::new())];
    }
    Ok(values)
}

/// The booking's values in `language` with these codes, already revealed
/// (empty before the release time); the wifi password once `released`.
pub(super) fn values_with(booking: &BookingForMessage, language: &str, codes: &[CodeLine], released: bool) -> Values {
    let catalogue = catalog::pick(&[Some(language)]);
    let local = |at: chrono::DateTime<Utc>| catalog::local_time(catalogue, at.with_timezone(&booking.timezone.tz()));
    let mut grouped: Vec<(String, String)> = Vec::new();
    for line in codes {
        match grouped.iter_mut().find(|(value, _)| *value == line.code) {
            Some((_, locks)) => {
                locks.push_str(", ");
                locks.push_str(&line.lock);
            }
            None => grouped.push((line.code.clone(), line.lock.clone())),
        }
    }
    let entry = booking.room_instructions.clone().or_else(|| translated(booking, "entry_instructions", language));
    Values {
        guest_first_name: booking.guest_name.split_whitespace().next().unwrap_or_default().to_owned(),
        property: booking.property.clone(),
        room: booking.room.clone(),
        check_in: local(booking.check_in_at),
        check_out: local(booking.check_out_at),
        wifi_name: booking.wifi_name.clone().unwrap_or_default(),
        wifi_password: if released { booking.wifi_password.clone().unwrap_or_default() } else { String::new() },
        entry_instructions: entry.unwrap_or_default(),
        checkout_instructions: translated(booking, "checkout_instructions", language).unwrap_or_default(),
        codes: grouped,
    }
}

/// The operator's own text of the pre-arrival message, when they wrote one
/// (SPEC §11: the pre-arrival message is the first rule): parsed, in the
/// guest's language or English. `None`: the built-in message.
pub(super) async fn own_pre_arrival(
    tx: &mut PgConnection,
    booking: &BookingForMessage,
) -> Result<Option<(Vec<Segment>, String)>, JobError> {
    let terms = journey::terms_of(tx, booking.property_id).await?;
    let rules = journey::rules_of(tx, &terms).await?;
    let Some(rule) = rules.into_iter().find(|r| r.name == journey::PRE_ARRIVAL && !r.templates.is_empty()) else {
        return Ok(None);
    };
    let language = language_of(booking, &rule);
    // Saved templates were checked on save; one that no longer parses
    // falls back to the built-in message rather than sending nothing.
    Ok(template::parse(&template_text(&rule, &language)).ok().map(|segments| (segments, language)))
}

/// A knowledge-base entry in the guest's language when the property has it,
/// else as stored (SPEC §11: the guest's language wins over English).
pub(super) fn translated(booking: &BookingForMessage, entry: &str, language: &str) -> Option<String> {
    let own = booking.knowledge_translations.get(entry).and_then(|t| t.get(language)).and_then(|t| t.as_str());
    if let Some(text) = own {
        return Some(text.to_owned());
    }
    match entry {
        "entry_instructions" => booking.entry_instructions.clone(),
        "checkout_instructions" => booking.checkout_instructions.clone(),
        _ => None,
    }
}

/// A template's text for one channel: body, e-mail subject and HTML part.
pub(super) fn rendered(
    booking: &BookingForMessage,
    segments: &[Segment],
    values: &Values,
    channel: Channel,
) -> (String, Option<String>, Option<String>) {
    let markup = render(segments, values, Style::Markup);
    let text = render(segments, values, Style::Plain);
    match channel {
        Channel::Sms => (text, None, None),
        Channel::Email => (text, Some(booking.property.clone()), Some(format!("<p>{}</p>", html(&markup)))),
        _ => (markup, None, None),
    }
}

fn outgoing(
    booking: &BookingForMessage,
    rule: &MessageRule,
    segments: &[Segment],
    values: &Values,
    channel: Channel,
    address: String,
    secret: bool,
) -> Outgoing {
    let (body, subject, html_part) = rendered(booking, segments, values, channel);
    let one_line = render(segments, values, Style::Plain).split_whitespace().collect::<Vec<_>>().join(" ");
    Outgoing {
        channel,
        address,
        // A message with a secret is cleared once delivered, as the code
        // messages are.
        purpose: if secret { "code".into() } else { rule.name.clone() },
        body,
        template: rule
            .whatsapp_template
            .clone()
            .map(|name| Template { name, params: vec![booking.property.clone(), one_line] }),
        language: booking.language.clone(),
        booking_id: Some(booking.id),
        dedupe_key: Some(format!("rule:{}:{}:{channel}", rule.name, booking.id)),
        subject,
        html: html_part,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        Values {
            guest_first_name: "An*na".into(),
            property: "Old <Town>".into(),
            codes: vec![("12#4".into(), "Entrance".into())],
            ..Values::default()
        }
    }

    #[test]
    fn values_are_escaped_for_each_style() {
        let segments = template::parse("*Hi* {guest_first_name} of {property}: {codes}").unwrap();
        let markup = render(&segments, &values(), Style::Markup);
        assert_eq!(markup, "*Hi* An\u{2217}na of Old <Town>: `12#4` (Entrance)");
        assert_eq!(
            crate::channels::text::telegram_markdown_v2(&markup),
            "*Hi* An\u{2217}na of Old <Town\\>: `12#4` \\(Entrance\\)"
        );
        assert_eq!(html(&markup), "<strong>Hi</strong> An\u{2217}na of Old &lt;Town&gt;: <code>12#4</code> (Entrance)");
        assert_eq!(render(&segments, &values(), Style::Plain), "Hi An*na of Old <Town>: 12#4 (Entrance)");
    }
}
