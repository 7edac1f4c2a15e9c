//! `GET/POST /webhooks/whatsapp`, `POST /webhooks/telegram`, `POST /webhooks/seam`,
//! `POST /webhooks/integrations/{token}`: check the provider's proof, store
//! every update, answer 200. The work happens after, in jobs.

use std::borrow::Cow;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::AppState;
use crate::channels::whatsapp::{signature_is_valid, Webhook};
use crate::channels::{inbox, telegram, Channel};
use crate::devices::events::handle_seam_event;
use crate::integrations::webhook::{self as channel_manager, Refused};
use crate::lock_providers::seam::{verify_webhook as verify_seam, WebhookError as SeamWebhookError};

/// The secrets that prove a webhook comes from its provider.
#[derive(Clone, Default)]
pub struct WebhookSecrets {
    /// `WHATSAPP_APP_SECRET`: the key of `X-Hub-Signature-256`.
    pub whatsapp_app_secret: Option<SecretString>,
    /// `WHATSAPP_VERIFY_TOKEN`: Meta's subscription handshake.
    pub whatsapp_verify_token: Option<SecretString>,
    /// `WHATSAPP_PHONE_NUMBER_ID`: changes for another business number of
    /// the same app are acknowledged and ignored.
    pub whatsapp_phone_number_id: Option<String>,
    /// `TELEGRAM_WEBHOOK_SECRET`: `X-Telegram-Bot-Api-Secret-Token`.
    pub telegram_secret: Option<SecretString>,
    /// `SEAM_WEBHOOK_SECRET`: the Svix secret Seam signs its events with.
    pub seam_secret: Option<SecretString>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/whatsapp", get(whatsapp_handshake).post(whatsapp_update))
        .route("/webhooks/telegram", post(telegram_update))
        .route("/webhooks/seam", post(seam_event))
        .route(&format!("{INTEGRATION_WEBHOOKS}{{token}}"), post(integration_event))
}

/// Where channel managers post; the rest of the path is the integration's token.
const INTEGRATION_WEBHOOKS: &str = "/webhooks/integrations/";

/// The path as it may be logged: a channel manager's webhook token is cut
/// to its first four characters.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    match path.strip_prefix(INTEGRATION_WEBHOOKS) {
        Some(token) => Cow::Owned(format!("{INTEGRATION_WEBHOOKS}{}…", token.chars().take(4).collect::<String>())),
        None => Cow::Borrowed(path),
    }
}

/// A channel manager's webhook (Smoobu, Beds24, Hostaway), proved by the
/// random token in its URL: stored once, and the reservation it names is
/// read back from the channel manager's API by a job.
async fn integration_event(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, WebhookRejection> {
    let channel = "integrations";
    let body = body.map_err(|rejection| WebhookRejection::Body { channel, rejection })?;
    match channel_manager::accept(&state.db, &token, &body).await {
        Ok(accepted) => {
            tracing::debug!(?accepted, "channel manager webhook");
            Ok(StatusCode::OK)
        }
        Err(Refused::UnknownToken) => Err(WebhookRejection::BadSecret { channel, proof: "webhook URL" }),
        Err(Refused::Malformed(error)) => Err(WebhookRejection::MalformedJson { channel, error }),
        Err(Refused::Unavailable(error)) => Err(WebhookRejection::Unavailable(error.into())),
    }
}

/// Seam's events, signed by Svix: a faster path than polling. An unlock
/// with a code is recorded at once (deduplicated by Seam's event id); a
/// code or device event queues the job that asks Seam about it.
async fn seam_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, WebhookRejection> {
    let secret = state.webhooks.seam_secret.as_ref().ok_or(WebhookRejection::off("Seam", "SEAM_WEBHOOK_SECRET"))?;
    let body = body.map_err(|rejection| WebhookRejection::Body { channel: "seam", rejection })?;
    let event = verify_seam(secret.expose_secret(), &headers, &body, chrono::Utc::now()).map_err(|e| match e {
        SeamWebhookError::BadPayload(reason) => WebhookRejection::MalformedEvent { channel: "seam", reason },
        other => {
            // Why is for the log: the answer says nothing about the secret.
            tracing::warn!(reason = %other, "a Seam webhook was refused");
            WebhookRejection::BadSignature { channel: "seam", proof: "webhook signature" }
        }
    })?;
    handle_seam_event(&state.db, &event).await.map_err(|e| WebhookRejection::Unavailable(e.into()))?;
    Ok(StatusCode::OK)
}

/// Meta's verification: echo `hub.challenge` when `hub.verify_token` matches.
async fn whatsapp_handshake(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let Some(expected) = &state.webhooks.whatsapp_verify_token else {
        return WebhookRejection::off("WhatsApp", "WHATSAPP_VERIFY_TOKEN").into_response();
    };
    let token = query.get("hub.verify_token").map(String::as_str).unwrap_or_default();
    let subscribe = query.get("hub.mode").is_some_and(|m| m == "subscribe");
    if subscribe && equal(token, expected) {
        let challenge = query.get("hub.challenge").cloned().unwrap_or_default();
        return (StatusCode::OK, challenge).into_response();
    }
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", "verification token mismatch").into_response()
}

/// Signed updates from Meta: messages and delivery reports.
async fn whatsapp_update(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, WebhookRejection> {
    let secret =
        state.webhooks.whatsapp_app_secret.as_ref().ok_or(WebhookRejection::off("WhatsApp", "WHATSAPP_APP_SECRET"))?;
    let body = body.map_err(|rejection| WebhookRejection::Body { channel: "whatsapp", rejection })?;
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !signature_is_valid(secret.expose_secret().as_bytes(), &body, signature) {
        return Err(WebhookRejection::BadSignature { channel: "whatsapp", proof: "X-Hub-Signature-256" });
    }
    let webhook: Webhook = serde_json::from_slice(&body)
        .map_err(|error| WebhookRejection::MalformedJson { channel: "whatsapp", error })?;
    let number = state.webhooks.whatsapp_phone_number_id.as_deref().unwrap_or_default();
    let received = webhook.into_events(number, chrono::Utc::now());
    if received.other_number > 0 {
        tracing::info!(changes = received.other_number, "WhatsApp changes for another business number: ignored");
        rejected_n("whatsapp", "other_number", received.other_number);
    }
    if received.stale > 0 {
        tracing::warn!(messages = received.stale, "signed WhatsApp messages older than 7 days (a replay?): dropped");
        rejected_n("whatsapp", "stale", received.stale);
    }
    store(&state, &received.events).await
}

/// Updates from Telegram, checked by the secret set with `setWebhook`.
async fn telegram_update(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, WebhookRejection> {
    let secret =
        state.webhooks.telegram_secret.as_ref().ok_or(WebhookRejection::off("Telegram", "TELEGRAM_WEBHOOK_SECRET"))?;
    let presented = headers.get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !equal(presented, secret) {
        return Err(WebhookRejection::BadSecret { channel: "telegram", proof: "X-Telegram-Bot-Api-Secret-Token" });
    }
    let body = body.map_err(|rejection| WebhookRejection::Body { channel: "telegram", rejection })?;
    let raw: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|error| WebhookRejection::MalformedJson { channel: "telegram", error })?;
    let Some(update_id) = raw.get("update_id").and_then(serde_json::Value::as_u64) else {
        return Err(WebhookRejection::MalformedUpdate { channel: "telegram", reason: "an update needs an update_id" });
    };
    // From the bytes: teloxide reads update kinds from borrowed keys.
    let event = serde_json::from_slice::<teloxide_core::types::Update>(&body)
        .ok()
        .and_then(|update| telegram::update_event(&update));
    match event {
        Some(event) => store(&state, &[event]).await,
        None => {
            let id = update_id.to_string();
            inbox::accept_ignored(&state.db, Channel::Telegram, &id, &raw)
                .await
                .map_err(WebhookRejection::unavailable)?;
            Ok(StatusCode::OK)
        }
    }
}

async fn store(state: &AppState, events: &[crate::channels::InboundEvent]) -> Result<StatusCode, WebhookRejection> {
    let new = inbox::accept(&state.db, events).await.map_err(WebhookRejection::unavailable)?;
    metrics::counter!("doorman_inbound_updates_total").increment(new as u64);
    Ok(StatusCode::OK)
}

fn equal(presented: &str, expected: &SecretString) -> bool {
    !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.expose_secret().as_bytes()))
}

/// Why a webhook was refused. Each variant has one status and one body,
/// and counts `doorman_webhook_rejections_total{channel, reason}` where the
/// request came from someone (not for a channel that is off or a database
/// that is away).
#[derive(Debug)]
pub enum WebhookRejection {
    /// The channel is not configured (404).
    ChannelOff {
        /// The channel's name.
        channel: &'static str,
        /// The variable that turns it on.
        variable: &'static str,
    },
    /// The body could not be read: too large (413) or broken (400).
    Body {
        /// The channel.
        channel: &'static str,
        /// What axum said.
        rejection: BytesRejection,
    },
    /// The signature is missing or wrong (401).
    BadSignature {
        /// The channel.
        channel: &'static str,
        /// What proves the sender, as the answer names it.
        proof: &'static str,
    },
    /// The shared secret is missing or wrong (401).
    BadSecret {
        /// The channel.
        channel: &'static str,
        /// The header that carries it.
        proof: &'static str,
    },
    /// Signed, but not JSON of the expected shape (400).
    MalformedJson {
        /// The channel.
        channel: &'static str,
        /// What the parser said.
        error: serde_json::Error,
    },
    /// A provider's event that says too little (400).
    MalformedEvent {
        /// The channel.
        channel: &'static str,
        /// Why.
        reason: String,
    },
    /// An update without what every update has (400).
    MalformedUpdate {
        /// The channel.
        channel: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The update could not be stored (503): the provider retries, and
    /// nothing accepted is lost.
    Unavailable(anyhow::Error),
}

impl WebhookRejection {
    fn off(channel: &'static str, variable: &'static str) -> Self {
        Self::ChannelOff { channel, variable }
    }

    fn unavailable(error: sqlx::Error) -> Self {
        Self::Unavailable(error.into())
    }

    /// The channel and the metric's reason, when it is counted.
    fn counted(&self) -> Option<(&'static str, &'static str)> {
        match self {
            Self::ChannelOff { .. } | Self::Unavailable(_) => None,
            Self::Body { channel, rejection } => Some((channel, body_code(rejection))),
            Self::BadSignature { channel, .. } => Some((channel, "signature")),
            Self::BadSecret { channel, .. } => Some((channel, "secret")),
            Self::MalformedJson { channel, .. }
            | Self::MalformedEvent { channel, .. }
            | Self::MalformedUpdate { channel, .. } => Some((channel, "malformed")),
        }
    }

    fn error(self) -> ApiError {
        match self {
            Self::ChannelOff { channel, variable } => {
                ApiError::new(StatusCode::NOT_FOUND, "channel_off", format!("{channel} is off: set {variable}"))
            }
            Self::Body { rejection, .. } => {
                ApiError::new(rejection.status(), body_code(&rejection), rejection.body_text())
            }
            Self::BadSignature { proof, .. } => {
                ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", format!("missing or wrong {proof}"))
            }
            Self::BadSecret { proof, .. } => {
                ApiError::new(StatusCode::UNAUTHORIZED, "bad_secret", format!("missing or wrong {proof}"))
            }
            Self::MalformedJson { error, .. } => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not a valid update: {error}"),
            ),
            Self::MalformedEvent { reason, .. } => ApiError::new(StatusCode::BAD_REQUEST, "malformed_event", reason),
            Self::MalformedUpdate { reason, .. } => ApiError::new(StatusCode::BAD_REQUEST, "malformed_update", reason),
            Self::Unavailable(error) => {
                tracing::error!(error = format!("{error:#}"), "storing a webhook update");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the update could not be stored; retry")
            }
        }
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        if let Some((channel, reason)) = self.counted() {
            rejected_n(channel, reason, 1);
        }
        self.error().into_response()
    }
}

fn body_code(rejection: &BytesRejection) -> &'static str {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        "payload_too_large"
    } else {
        "bad_request"
    }
}

fn rejected_n(channel: &'static str, reason: &'static str, n: usize) {
    metrics::counter!("doorman_webhook_rejections_total", "channel" => channel, "reason" => reason)
        .increment(u64::try_from(n).unwrap_or(u64::MAX));
}
