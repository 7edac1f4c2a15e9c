//! Telegram Bot API: updates parsed with teloxide's types behind doorman's
//! own webhook handler, and the client that sends messages.

pub mod client;

use teloxide_core::types::{AllowedUpdate, Update, UpdateKind};

use super::{Channel, Content, InboundEvent, InboundMessage};

/// The update kinds [`update_event`] reads: the only ones `setWebhook` asks
/// Telegram for, so that edits, reactions and membership changes are not
/// even sent.
pub const READ_UPDATES: [AllowedUpdate; 2] = [AllowedUpdate::Message, AllowedUpdate::CallbackQuery];

/// The channel-neutral event of an update; `None` for updates doorman does
/// not read (edits, channel posts, ...: kinds outside [`READ_UPDATES`]),
/// which are stored all the same, as processed.
pub fn update_event(update: &Update) -> Option<InboundEvent> {
    let provider_id = update.id.0.to_string();
    let (chat, group, from, content, sent_at) = match &update.kind {
        UpdateKind::Message(message) => {
            let content = if let Some(contact) = message.contact() {
                Content::Contact {
                    phone: contact.phone_number.clone(),
                    user_id: contact.user_id.map(|id| id.0.to_string()),
                }
            } else if let Some(text) = message.text() {
                match text.strip_prefix("/start") {
                    Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
                        Content::Start { token: Some(rest.trim()).filter(|t| !t.is_empty()).map(str::to_owned) }
                    }
                    _ => Content::Text { body: text.to_owned() },
                }
            } else {
                Content::Unsupported { kind: "message".into() }
            };
            (message.chat.id.0, !message.chat.is_private(), message.from.clone(), content, message.date)
        }
        UpdateKind::CallbackQuery(query) => {
            let chat = query.message.as_ref().map(|m| m.chat().id.0).unwrap_or(query.from.id.0 as i64);
            let group = query.message.as_ref().is_some_and(|m| !m.chat().is_private());
            let data = query.data.clone().unwrap_or_default();
            let choice = Content::Choice { id: data.clone(), title: data };
            (chat, group, Some(query.from.clone()), choice, chrono::Utc::now())
        }
        _ => return None,
    };
    Some(InboundEvent::Message(InboundMessage {
        channel: Channel::Telegram,
        provider_id,
        address: chat.to_string(),
        phone: None,
        user_id: from.as_ref().map(|u| u.id.0.to_string()),
        display_name: from.map(|u| u.full_name()),
        content,
        sent_at,
        group,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(message: serde_json::Value) -> Update {
        // teloxide reads update kinds from borrowed keys: parse from text, as
        // the webhook does, not from a `Value`.
        serde_json::from_str(&serde_json::json!({ "update_id": 10000, "message": message }).to_string()).unwrap()
    }

    fn base(extra: serde_json::Value) -> serde_json::Value {
        let mut message = serde_json::json!({
            "message_id": 1365, "date": 1767225600,
            "chat": { "id": 1111111, "type": "private", "first_name": "Anna" },
            "from": { "id": 1111111, "is_bot": false, "first_name": "Anna", "last_name": "Novak", "language_code": "de" }
        });
        message.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        message
    }

    fn content(update: &Update) -> Content {
        match update_event(update) {
            Some(InboundEvent::Message(m)) => m.content,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn text_start_and_contact_messages() {
        let text = update(base(serde_json::json!({ "text": "Wie lautet der Türcode?" })));
        let Some(InboundEvent::Message(message)) = update_event(&text) else { panic!("{:?}", text.kind) };
        assert_eq!(message.provider_id, "10000");
        assert_eq!(message.address, "1111111");
        assert_eq!(message.user_id.as_deref(), Some("1111111"));
        assert_eq!(message.display_name.as_deref(), Some("Anna Novak"));
        assert_eq!(message.content, Content::Text { body: "Wie lautet der Türcode?".into() });

        let start = update(base(
            serde_json::json!({ "text": "/start tok123", "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }] }),
        ));
        assert_eq!(content(&start), Content::Start { token: Some("tok123".into()) });
        let bare = update(base(serde_json::json!({ "text": "/start" })));
        assert_eq!(content(&bare), Content::Start { token: None });
        let starter = update(base(serde_json::json!({ "text": "/starters" })));
        assert_eq!(content(&starter), Content::Text { body: "/starters".into() });

        let contact = update(base(
            serde_json::json!({ "contact": { "phone_number": "421900000001", "first_name": "Anna", "user_id": 1111111 } }),
        ));
        assert_eq!(
            content(&contact),
            Content::Contact { phone: "421900000001".into(), user_id: Some("1111111".into()) }
        );
    }
}
