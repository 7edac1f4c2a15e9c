//! WhatsApp Cloud API: webhook signature, webhook payloads, and the client
//! that sends text and template messages.

pub mod click_to_chat;
pub mod client;

use chrono::{DateTime, Duration, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::{Channel, Content, Delivery, DeliveryStatus, InboundEvent, InboundMessage};

/// Whether `X-Hub-Signature-256` (`sha256=<hex>`) is the HMAC-SHA256 of the
/// raw body with the app secret, compared in constant time.
pub fn signature_is_valid(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_digest) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

/// The signature Meta would send for `body` (tests and the load tool).
pub fn sign(app_secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Inbound messages sent longer ago than this are dropped. Meta retries a
/// webhook for at most 7 days, so an older message is a replay of a
/// captured body (its signature covers the body only), never a delivery;
/// the inbox keeps its deduplication keys 30 days, longer than this.
pub const MAX_MESSAGE_AGE_DAYS: i64 = 7;

/// What a webhook holds for doorman's business number.
#[derive(Debug, Default)]
pub struct Received {
    /// The messages and delivery reports to store.
    pub events: Vec<InboundEvent>,
    /// Messages dropped as older than [`MAX_MESSAGE_AGE_DAYS`].
    pub stale: usize,
    /// Changes for another business number (`metadata.phone_number_id`),
    /// ignored.
    pub other_number: usize,
}

/// The webhook's top level. Unknown fields are ignored everywhere.
#[derive(Debug, Deserialize)]
pub struct Webhook {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    #[serde(default)]
    value: Value,
}

#[derive(Debug, Default, Deserialize)]
struct Value {
    metadata: Option<Metadata>,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    /// The business number the change is for.
    phone_number_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Contact {
    wa_id: Option<String>,
    /// The business-scoped user id.
    user_id: Option<String>,
    profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    id: String,
    from: Option<String>,
    from_user_id: Option<String>,
    timestamp: Option<String>,
    #[serde(rename = "type", default)]
    kind: String,
    text: Option<TextBody>,
    interactive: Option<Interactive>,
    button: Option<QuickReply>,
}

#[derive(Debug, Deserialize)]
struct TextBody {
    body: String,
}

#[derive(Debug, Deserialize)]
struct Interactive {
    button_reply: Option<Reply>,
    list_reply: Option<Reply>,
}

#[derive(Debug, Deserialize)]
struct Reply {
    id: String,
    title: String,
}

#[derive(Debug, Deserialize)]
struct QuickReply {
    payload: Option<String>,
    text: String,
}

#[derive(Debug, Deserialize)]
struct Status {
    id: String,
    status: String,
    timestamp: Option<String>,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Debug, Deserialize)]
struct StatusError {
    code: Option<i64>,
    title: Option<String>,
    message: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Debug, Deserialize)]
struct ErrorData {
    details: Option<String>,
}

impl Webhook {
    /// The messages and delivery reports in the payload for the business
    /// number `phone_number_id`, as of `now`. Changes for another number
    /// (or none) and messages older than [`MAX_MESSAGE_AGE_DAYS`] are
    /// counted and left out; messages of types doorman does not read are
    /// kept as `Unsupported`; statuses it does not know are skipped.
    pub fn into_events(self, phone_number_id: &str, now: DateTime<Utc>) -> Received {
        let oldest = now.checked_sub_signed(Duration::days(MAX_MESSAGE_AGE_DAYS)).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let mut received = Received::default();
        for value in self.entry.into_iter().flat_map(|e| e.changes).map(|c| c.value) {
            let number = value.metadata.as_ref().and_then(|m| m.phone_number_id.as_deref());
            if number != Some(phone_number_id) {
                received.other_number += 1;
                continue;
            }
            for message in value.messages {
                match message_event(message, &value.contacts) {
                    Some(InboundEvent::Message(m)) if m.sent_at < oldest => received.stale += 1,
                    Some(event) => received.events.push(event),
                    None => {}
                }
            }
            received.events.extend(value.statuses.into_iter().filter_map(status_event));
        }
        received
    }
}

/// Only the sender's own contact entry may name them: in a batched webhook
/// another entry is another person.
fn message_event(message: Message, contacts: &[Contact]) -> Option<InboundEvent> {
    let contact = contacts
        .iter()
        .find(|c| c.wa_id.is_some() && c.wa_id == message.from)
        .or_else(|| contacts.iter().find(|c| c.user_id.is_some() && c.user_id == message.from_user_id));
    let phone = message.from.as_deref().map(|digits| format!("+{}", digits.trim_start_matches('+')));
    let user_id = message.from_user_id.clone().or_else(|| contact.and_then(|c| c.user_id.clone()));
    // Replies go to the phone when Meta gives one, else to the BSUID.
    let address = phone.clone().or_else(|| user_id.clone())?;
    let content = match (message.kind.as_str(), message.text, message.interactive, message.button) {
        ("text", Some(text), _, _) => Content::Text { body: text.body },
        ("interactive", _, Some(interactive), _) => match interactive.button_reply.or(interactive.list_reply) {
            Some(reply) => Content::Choice { id: reply.id, title: reply.title },
            None => Content::Unsupported { kind: "interactive".into() },
        },
        ("button", _, _, Some(button)) => {
            Content::Choice { id: button.payload.unwrap_or_else(|| button.text.clone()), title: button.text }
        }
        (other, ..) => Content::Unsupported { kind: other.to_owned() },
    };
    Some(InboundEvent::Message(InboundMessage {
        channel: Channel::Whatsapp,
        provider_id: message.id,
        address,
        phone,
        user_id,
        display_name: contact.and_then(|c| c.profile.as_ref()).and_then(|p| p.name.clone()),
        content,
        sent_at: timestamp(message.timestamp.as_deref()),
        group: false,
    }))
}

fn status_event(status: Status) -> Option<InboundEvent> {
    let delivery = match status.status.as_str() {
        "sent" => Delivery::Sent,
        "delivered" => Delivery::Delivered,
        "read" => Delivery::Read,
        "failed" => Delivery::Failed,
        _ => return None,
    };
    let error = status.errors.first();
    Some(InboundEvent::Status(DeliveryStatus {
        provider_message_id: status.id,
        status: delivery,
        error_code: error.and_then(|e| e.code),
        error: error.map(|e| {
            let detail = e.error_data.as_ref().and_then(|d| d.details.clone());
            [e.title.clone(), e.message.clone(), detail].into_iter().flatten().collect::<Vec<_>>().join(": ")
        }),
        at: timestamp(status.timestamp.as_deref()),
    }))
}

fn timestamp(unix: Option<&str>) -> DateTime<Utc> {
    unix.and_then(|t| t.parse::<i64>().ok())
        .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
        .unwrap_or_else(Utc::now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked_against_the_raw_body() {
        let body = br#"{"object":"whatsapp_business_account"}"#;
        let header = sign(b"app-secret", body);
        assert!(signature_is_valid(b"app-secret", body, Some(&header)));
        assert!(!signature_is_valid(b"other-secret", body, Some(&header)));
        assert!(!signature_is_valid(b"app-secret", b"{}", Some(&header)));
        assert!(!signature_is_valid(b"app-secret", body, None));
        assert!(!signature_is_valid(b"app-secret", body, Some("sha256=zz")));
        assert!(!signature_is_valid(b"app-secret", body, Some(header.trim_start_matches("sha256="))));
    }

    #[test]
    fn messages_of_every_readable_kind_become_events() {
        let payload = serde_json::json!({
            "object": "whatsapp_business_account",
            "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": { "display_phone_number": "15550001111", "phone_number_id": "123" },
                "contacts": [{ "profile": { "name": "Anna" }, "wa_id": "421900000001", "user_id": "SK.1349120865530" }],
                "messages": [
                    { "from": "421900000001", "id": "wamid.1", "timestamp": "1767225600", "type": "text", "text": { "body": "how do I get in?" } },
                    { "from": "421900000001", "id": "wamid.2", "timestamp": "1767225601", "type": "interactive",
                      "interactive": { "type": "button_reply", "button_reply": { "id": "resend", "title": "Resend code" } } },
                    { "from": "421900000001", "id": "wamid.3", "timestamp": "1767225602", "type": "button",
                      "button": { "payload": "lock_problem", "text": "The code doesn't work" } },
                    { "from": "421900000001", "id": "wamid.4", "timestamp": "1767225603", "type": "sticker", "sticker": { "id": "9" } }
                ]
            }}]}]
        });
        let now = Utc.timestamp_opt(1_767_225_700, 0).unwrap();
        let events = serde_json::from_value::<Webhook>(payload).unwrap().into_events("123", now).events;
        assert_eq!(events.len(), 4);
        let InboundEvent::Message(first) = &events[0] else { panic!("a message") };
        assert_eq!(first.address, "+421900000001");
        assert_eq!(first.user_id.as_deref(), Some("SK.1349120865530"));
        assert_eq!(first.display_name.as_deref(), Some("Anna"));
        assert_eq!(first.content, Content::Text { body: "how do I get in?".into() });
        assert_eq!(first.sent_at.timestamp(), 1_767_225_600);
        let kinds: Vec<Content> = events
            .into_iter()
            .skip(1)
            .map(|e| match e {
                InboundEvent::Message(m) => m.content,
                InboundEvent::Status(_) => panic!("a message"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                Content::Choice { id: "resend".into(), title: "Resend code".into() },
                Content::Choice { id: "lock_problem".into(), title: "The code doesn't work".into() },
                Content::Unsupported { kind: "sticker".into() },
            ]
        );
    }

    fn batch(phone_number_id: Option<&str>, contacts: serde_json::Value, messages: serde_json::Value) -> Webhook {
        let mut value =
            serde_json::json!({ "messaging_product": "whatsapp", "contacts": contacts, "messages": messages });
        if let Some(id) = phone_number_id {
            value["metadata"] = serde_json::json!({ "display_phone_number": "15550001111", "phone_number_id": id });
        }
        serde_json::from_value(
            serde_json::json!({ "entry": [{ "changes": [{ "field": "messages", "value": value }] }] }),
        )
        .unwrap()
    }

    fn text(from: Option<&str>, id: &str, sent_at: DateTime<Utc>) -> serde_json::Value {
        serde_json::json!({ "from": from, "id": id, "timestamp": sent_at.timestamp().to_string(), "type": "text",
                            "text": { "body": "hello" } })
    }

    #[test]
    fn changes_for_another_business_number_are_left_out() {
        let now = Utc::now();
        let messages = serde_json::json!([text(Some("421900000001"), "wamid.1", now)]);
        for number in [Some("999"), None] {
            let received = batch(number, serde_json::json!([]), messages.clone()).into_events("123", now);
            assert!(received.events.is_empty(), "{number:?}");
            assert_eq!(received.other_number, 1);
        }
        assert_eq!(batch(Some("123"), serde_json::json!([]), messages).into_events("123", now).events.len(), 1);
    }

    #[test]
    fn messages_older_than_seven_days_are_left_out() {
        let now = Utc::now();
        let messages = serde_json::json!([
            text(Some("421900000001"), "wamid.old", now - Duration::days(7) - Duration::minutes(1)),
            text(Some("421900000001"), "wamid.late", now - Duration::days(7) + Duration::minutes(1)),
        ]);
        let received = batch(Some("123"), serde_json::json!([]), messages).into_events("123", now);
        assert_eq!(received.stale, 1);
        let ids: Vec<String> = received.events.iter().map(InboundEvent::provider_id).collect();
        assert_eq!(ids, ["wamid.late"], "Meta still retries a message up to 7 days old");
    }

    #[test]
    fn only_the_senders_own_contact_names_them() {
        let now = Utc::now();
        let contacts =
            serde_json::json!([{ "wa_id": "421900000001", "user_id": "SK.1", "profile": { "name": "Anna" } }]);
        let messages = serde_json::json!([
            text(Some("421900000001"), "wamid.anna", now),
            text(Some("421900000005"), "wamid.other", now),
            text(None, "wamid.nobody", now),
        ]);
        let events = batch(Some("123"), contacts, messages).into_events("123", now).events;
        let senders: Vec<(&str, Option<&str>, Option<&str>)> = events
            .iter()
            .map(|e| match e {
                InboundEvent::Message(m) => (m.address.as_str(), m.user_id.as_deref(), m.display_name.as_deref()),
                InboundEvent::Status(_) => panic!("a message"),
            })
            .collect();
        assert_eq!(
            senders,
            [("+421900000001", Some("SK.1"), Some("Anna")), ("+421900000005", None, None)],
            "a message with no sender of its own has no address to answer"
        );
    }

    #[test]
    fn failed_statuses_carry_metas_error() {
        let payload = serde_json::json!({ "entry": [{ "changes": [{ "value": {
            "metadata": { "phone_number_id": "123" }, "statuses": [{
            "id": "wamid.9", "status": "failed", "timestamp": "1767225600", "recipient_id": "421900000001",
            "errors": [{ "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                         "error_data": { "details": "Message could not be delivered" } }]
        }, { "id": "wamid.9", "status": "deleted", "timestamp": "1767225601" }] } }] }] });
        let events = serde_json::from_value::<Webhook>(payload).unwrap().into_events("123", Utc::now()).events;
        assert_eq!(events.len(), 1, "unknown statuses are skipped");
        let InboundEvent::Status(status) = &events[0] else { panic!("a status") };
        assert_eq!(status.status, Delivery::Failed);
        assert_eq!(status.error_code, Some(131026));
        assert!(status.error.as_deref().unwrap().contains("could not be delivered"));
    }
}
