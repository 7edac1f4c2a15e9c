//! Sending through the Telegram Bot API with teloxide's typed client.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use teloxide_core::payloads::{SendMessageSetters, SetWebhookSetters};
use teloxide_core::requests::{Request, Requester};
use teloxide_core::types::{ChatId, ParseMode};
use teloxide_core::{ApiError, Bot, RequestError};

use crate::channels::text::telegram_markdown_v2;

/// Why a send failed, by what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramError {
    /// Flood control or a network problem: try again, after `after` if set.
    #[error("{message}")]
    Retryable {
        /// What happened.
        message: String,
        /// Telegram's `retry_after`.
        after: Option<Duration>,
    },
    /// The user blocked the bot, the chat is gone, the token is wrong.
    #[error("{0}")]
    Permanent(String),
}

/// A bot.
#[derive(Clone)]
pub struct TelegramClient {
    bot: Bot,
}

impl TelegramClient {
    /// A client for the Bot API at `api_base` (Telegram's by default).
    pub fn new(token: &SecretString, api_base: Option<&str>) -> Result<Self, String> {
        let mut bot = Bot::new(token.expose_secret());
        if let Some(base) = api_base {
            let url = reqwest::Url::parse(base).map_err(|e| format!("TELEGRAM_API_BASE: {e}"))?;
            bot = bot.set_api_url(url);
        }
        Ok(Self { bot })
    }

    /// Sends doorman markup as MarkdownV2; returns `<chat>:<message id>`
    /// (Telegram numbers messages per chat).
    pub async fn send(&self, chat_id: i64, markup: &str) -> Result<String, TelegramError> {
        let sent = self
            .bot
            .send_message(ChatId(chat_id), telegram_markdown_v2(markup))
            .parse_mode(ParseMode::MarkdownV2)
            .send()
            .await
            .map_err(classify)?;
        Ok(format!("{chat_id}:{}", sent.id.0))
    }

    /// Registers `url` as the bot's webhook with the secret Telegram will
    /// send back in `X-Telegram-Bot-Api-Secret-Token`, for the update kinds
    /// doorman reads only. Idempotent.
    pub async fn set_webhook(&self, url: &str, secret: &SecretString) -> Result<(), String> {
        let url = reqwest::Url::parse(url).map_err(|e| format!("webhook URL: {e}"))?;
        self.bot
            .set_webhook(url)
            .secret_token(secret.expose_secret().to_owned())
            .allowed_updates(super::READ_UPDATES)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }
}

fn classify(error: RequestError) -> TelegramError {
    match error {
        RequestError::RetryAfter(seconds) => {
            TelegramError::Retryable { message: "flood control".into(), after: Some(seconds.duration()) }
        }
        RequestError::Network(e) => TelegramError::Retryable { message: format!("network: {}", e), after: None },
        RequestError::Api(
            api @ (ApiError::BotBlocked
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::UserDeactivated
            | ApiError::ChatNotFound
            | ApiError::CantInitiateConversation
            | ApiError::InvalidToken),
        ) => TelegramError::Permanent(api.to_string()),
        RequestError::Api(ApiError::Unknown(message)) if message.contains("Too Many Requests") => {
            TelegramError::Retryable { message, after: None }
        }
        RequestError::Api(api) => TelegramError::Permanent(api.to_string()),
        other => TelegramError::Retryable { message: other.to_string(), after: None },
    }
}
