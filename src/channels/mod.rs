//! Chat channels: they turn a provider's payload into a channel-neutral
//! [`InboundEvent`], and an [`Outgoing`] message into the provider's call.
//! Nothing else: the conversation decides what to say.

pub mod console;
pub mod email;
pub mod inbox;
pub mod outbox;
pub mod sms;
pub mod telegram;
pub mod text;
pub mod whatsapp;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a message comes from or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// WhatsApp Cloud API.
    Whatsapp,
    /// Telegram Bot API.
    Telegram,
    /// `doorman chat` on a terminal.
    Console,
    /// SMS through Africa's Talking.
    Sms,
    /// Email through SMTP.
    Email,
}

impl Channel {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Whatsapp => "whatsapp",
            Self::Telegram => "telegram",
            Self::Console => "console",
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "whatsapp" => Ok(Self::Whatsapp),
            "telegram" => Ok(Self::Telegram),
            "console" => Ok(Self::Console),
            "sms" => Ok(Self::Sms),
            "email" => Ok(Self::Email),
            other => Err(format!("unknown channel {other:?}")),
        }
    }
}

/// One thing a provider told us.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum InboundEvent {
    /// A person wrote.
    Message(InboundMessage),
    /// What became of a message we sent.
    Status(DeliveryStatus),
}

impl InboundEvent {
    /// The provider's unique id of this event: a redelivery has the same.
    pub fn provider_id(&self) -> String {
        match self {
            Self::Message(m) => m.provider_id.clone(),
            Self::Status(s) => format!("status:{}:{}", s.provider_message_id, s.status.as_str()),
        }
    }

    /// `message` or `status`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Message(_) => "message",
            Self::Status(_) => "status",
        }
    }
}

/// A message from a person, whatever the channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Which channel.
    pub channel: Channel,
    /// The provider's id (WhatsApp message id, Telegram `update_id`).
    pub provider_id: String,
    /// Where replies go: an E.164 phone (WhatsApp, console) or a chat id
    /// (Telegram).
    pub address: String,
    /// The sender's phone, when the channel tells it.
    pub phone: Option<String>,
    /// WhatsApp's business-scoped user id, or the Telegram user id.
    pub user_id: Option<String>,
    /// The sender's profile name.
    pub display_name: Option<String>,
    /// What they sent.
    pub content: Content,
    /// When they sent it.
    pub sent_at: DateTime<Utc>,
    /// Written in a group chat (a Telegram group, supergroup or channel),
    /// where everyone present would read the answer: never linked to a
    /// guest, never answered with anything about a stay.
    #[serde(default)]
    pub group: bool,
}

/// What a message carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Content {
    /// Typed text.
    Text {
        /// The text.
        body: String,
    },
    /// A tapped button or list row (interactive replies, template quick
    /// replies).
    Choice {
        /// Our id of the option.
        id: String,
        /// What it said.
        title: String,
    },
    /// A shared contact card (Telegram's `request_contact`).
    Contact {
        /// The contact's phone.
        phone: String,
        /// The contact's Telegram user id, when it is a Telegram user.
        user_id: Option<String>,
    },
    /// Telegram's `/start <token>` from a deep link.
    Start {
        /// The token, if the link had one.
        token: Option<String>,
    },
    /// Anything else (images, stickers, locations…): stored, not answered.
    Unsupported {
        /// The provider's type name.
        kind: String,
    },
}

impl Content {
    /// The text to route, for text and choices.
    pub fn text(&self) -> Option<&str> {
        match self {
            Self::Text { body } => Some(body),
            Self::Choice { title, .. } => Some(title),
            _ => None,
        }
    }
}

/// A delivery report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryStatus {
    /// The provider's id of our message.
    pub provider_message_id: String,
    /// Sent, delivered, read or failed.
    pub status: Delivery,
    /// The provider's error code, when it failed.
    pub error_code: Option<i64>,
    /// The provider's error, when it failed.
    pub error: Option<String>,
    /// When it happened.
    pub at: DateTime<Utc>,
}

/// How far a message got. Later stages win over earlier ones, whatever
/// order the reports arrive in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Handed to the provider.
    Sent,
    /// On the recipient's device.
    Delivered,
    /// Seen.
    Read,
    /// Will not arrive.
    Failed,
}

impl Delivery {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
        }
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// Which channel.
    pub channel: Channel,
    /// The recipient's address on it.
    pub address: String,
    /// What it is for: `reply`, `pre_arrival`, `alert`, ...
    pub purpose: String,
    /// The text, in doorman's light markup (`*bold*`, `` `code` ``).
    pub body: String,
    /// The approved WhatsApp template to use outside the 24-hour window.
    pub template: Option<Template>,
    /// The language of the text and template.
    pub language: String,
    /// The booking it is about.
    pub booking_id: Option<uuid::Uuid>,
    /// One message per key, ever (e.g. `pre_arrival:<booking>:whatsapp`).
    pub dedupe_key: Option<String>,
    /// Email only: the subject.
    pub subject: Option<String>,
    /// Email only: the HTML part (the body is the text part).
    pub html: Option<String>,
}

/// An approved WhatsApp message template and its body parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    /// Its name at Meta.
    pub name: String,
    /// Body parameters `{{1}}`, `{{2}}`, ... (single lines).
    pub params: Vec<String>,
}
