//! WhatsApp Cloud API: webhook signature, webhook payloads, and the client
//! that sends text and template messages.

pub mod client;

use chrono::{DateTime, TimeZone, Utc};
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
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<Message>,
    #[serde(default)]
    statuses: Vec<Status>,
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
    /// The messages and delivery reports in the payload. Messages of types
    /// doorman does not read are kept as `Unsupported`; statuses it does
    /// not know are skipped.
    pub fn into_events(self) -> Vec<InboundEvent> {
        let mut events = Vec::new();
        for value in self.entry.into_iter().flat_map(|e| e.changes).map(|c| c.value) {
            for message in value.messages {
                if let Some(event) = message_event(message, &value.contacts) {
                    events.push(event);
                }
            }
            events.extend(value.statuses.into_iter().filter_map(status_event));
        }
        events
    }
}

fn message_event(message: Message, contacts: &[Contact]) -> Option<InboundEvent> {
    let contact = contacts
        .iter()
        .find(|c| c.wa_id.is_some() && c.wa_id == message.from)
        .or_else(|| contacts.iter().find(|c| c.user_id.is_some() && c.user_id == message.from_user_id))
        .or(contacts.first());
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
        let events = serde_json::from_value::<Webhook>(payload).unwrap().into_events();
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

    #[test]
    fn failed_statuses_carry_metas_error() {
        let payload = serde_json::json!({ "entry": [{ "changes": [{ "value": { "statuses": [{
            "id": "wamid.9", "status": "failed", "timestamp": "1767225600", "recipient_id": "421900000001",
            "errors": [{ "code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                         "error_data": { "details": "Message could not be delivered" } }]
        }, { "id": "wamid.9", "status": "deleted", "timestamp": "1767225601" }] } }] }] });
        let events = serde_json::from_value::<Webhook>(payload).unwrap().into_events();
        assert_eq!(events.len(), 1, "unknown statuses are skipped");
        let InboundEvent::Status(status) = &events[0] else { panic!("a status") };
        assert_eq!(status.status, Delivery::Failed);
        assert_eq!(status.error_code, Some(131026));
        assert!(status.error.as_deref().unwrap().contains("could not be delivered"));
    }
}
