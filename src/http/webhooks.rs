//! `GET/POST /webhooks/whatsapp`, `POST /webhooks/telegram`, `POST /webhooks/seam`: check the
//! provider's proof, store every update, answer 200. The work happens after,
//! in jobs.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::AppState;
use crate::access::jobs::{ConfirmCode, RemoveCode};
use crate::channels::whatsapp::{signature_is_valid, Webhook};
use crate::channels::{inbox, telegram, Channel};
use crate::devices::locks::record_usage;
use crate::devices::{CheckLocks, ReconcileLock};
use crate::jobs::queue;
use crate::lock_providers::seam::{verify_webhook as verify_seam, SeamEvent, WebhookError as SeamWebhookError};
use crate::lock_providers::UsageEvent;

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
}

/// Seam's events, signed by Svix: a faster path than polling. An unlock
/// with a code is recorded at once (deduplicated by Seam's event id); a
/// code or device event queues the job that asks Seam about it.
async fn seam_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(secret) = &state.webhooks.seam_secret else {
        return channel_off("Seam", "SEAM_WEBHOOK_SECRET");
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return too_large_or_bad("seam", rejection),
    };
    let event = match verify_seam(secret.expose_secret(), &headers, &body, chrono::Utc::now()) {
        Ok(event) => event,
        Err(SeamWebhookError::BadPayload(reason)) => {
            rejected("seam", "malformed");
            return ApiError::new(StatusCode::BAD_REQUEST, "malformed_event", reason).into_response();
        }
        Err(e) => {
            // Why is for the log: the answer says nothing about the secret.
            tracing::warn!(reason = %e, "a Seam webhook was refused");
            rejected("seam", "signature");
            return ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", "missing or wrong webhook signature")
                .into_response();
        }
    };
    match handle_seam_event(&state, &event).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => unavailable(e),
    }
}

async fn handle_seam_event(state: &AppState, event: &SeamEvent) -> sqlx::Result<()> {
    let Some(device_id) = &event.device_id else {
        return Ok(());
    };
    let lock_id =
        sqlx::query_scalar!("SELECT id FROM locks WHERE provider = 'seam' AND provider_device_id = $1", device_id)
            .fetch_optional(&state.db)
            .await?;
    let Some(lock_id) = lock_id else {
        tracing::info!(event_type = %event.event_type, "a Seam event for a device doorman does not know");
        return Ok(());
    };
    let now = chrono::Utc::now();
    let mut conn = state.db.acquire().await?;
    match event.event_type.as_str() {
        "lock.unlocked" if event.access_code_id.is_some() => {
            let usage = UsageEvent {
                event_id: event.event_id.clone(),
                provider_ref: event.access_code_id.clone(),
                occurred_at: event.occurred_at,
            };
            if let Err(e) = record_usage(&state.db, lock_id, &[usage]).await {
                return Err(match e {
                    crate::access::AccessError::Database(e) => e,
                    other => sqlx::Error::Protocol(other.to_string()),
                });
            }
        }
        kind if kind.starts_with("access_code.") => {
            let code = sqlx::query!(
                r#"SELECT id, state AS "state: crate::access::model::CodeState" FROM access_codes
                   WHERE lock_id = $1 AND provider_ref = $2 ORDER BY created_at DESC LIMIT 1"#,
                lock_id,
                event.access_code_id
            )
            .fetch_optional(&mut *conn)
            .await?;
            use crate::access::model::CodeState;
            match code {
                Some(c) if c.state == CodeState::Programming => {
                    queue::enqueue(&mut conn, &ConfirmCode { code_id: c.id }, now).await?
                }
                Some(c) if c.state == CodeState::Removing => {
                    queue::enqueue(&mut conn, &RemoveCode { code_id: c.id }, now).await?
                }
                // A change to a code doorman believes settled, or to one it
                // does not know: look at the whole lock.
                _ => queue::enqueue(&mut conn, &ReconcileLock { lock_id }, now).await?,
            }
        }
        kind if kind.starts_with("device.") => queue::enqueue(&mut conn, &CheckLocks {}, now).await?,
        _ => {}
    }
    Ok(())
}

/// Meta's verification: echo `hub.challenge` when `hub.verify_token` matches.
async fn whatsapp_handshake(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let Some(expected) = &state.webhooks.whatsapp_verify_token else {
        return channel_off("WhatsApp", "WHATSAPP_VERIFY_TOKEN");
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
) -> Response {
    let Some(secret) = &state.webhooks.whatsapp_app_secret else {
        return channel_off("WhatsApp", "WHATSAPP_APP_SECRET");
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return too_large_or_bad("whatsapp", rejection),
    };
    let signature = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok());
    if !signature_is_valid(secret.expose_secret().as_bytes(), &body, signature) {
        rejected("whatsapp", "signature");
        return ApiError::new(StatusCode::UNAUTHORIZED, "bad_signature", "missing or wrong X-Hub-Signature-256")
            .into_response();
    }
    let webhook: Webhook = match serde_json::from_slice(&body) {
        Ok(webhook) => webhook,
        Err(e) => return malformed("whatsapp", e),
    };
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
) -> Response {
    let Some(secret) = &state.webhooks.telegram_secret else {
        return channel_off("Telegram", "TELEGRAM_WEBHOOK_SECRET");
    };
    let presented = headers.get("x-telegram-bot-api-secret-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !equal(presented, secret) {
        rejected("telegram", "secret");
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad_secret",
            "missing or wrong X-Telegram-Bot-Api-Secret-Token",
        )
        .into_response();
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return too_large_or_bad("telegram", rejection),
    };
    let raw: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(raw) => raw,
        Err(e) => return malformed("telegram", e),
    };
    let Some(update_id) = raw.get("update_id").and_then(serde_json::Value::as_u64) else {
        rejected("telegram", "malformed");
        return ApiError::new(StatusCode::BAD_REQUEST, "malformed_update", "an update needs an update_id")
            .into_response();
    };
    // From the bytes: teloxide reads update kinds from borrowed keys.
    let event = serde_json::from_slice::<teloxide_core::types::Update>(&body)
        .ok()
        .and_then(|update| telegram::update_event(&update));
    match event {
        Some(event) => store(&state, &[event]).await,
        None => match inbox::accept_ignored(&state.db, Channel::Telegram, &update_id.to_string(), &raw).await {
            Ok(()) => StatusCode::OK.into_response(),
            Err(e) => unavailable(e),
        },
    }
}

async fn store(state: &AppState, events: &[crate::channels::InboundEvent]) -> Response {
    match inbox::accept(&state.db, events).await {
        Ok(new) => {
            metrics::counter!("doorman_inbound_updates_total").increment(new as u64);
            StatusCode::OK.into_response()
        }
        Err(e) => unavailable(e),
    }
}

fn equal(presented: &str, expected: &SecretString) -> bool {
    !presented.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.expose_secret().as_bytes()))
}

/// The provider retries a 503: nothing accepted is lost.
fn unavailable(error: sqlx::Error) -> Response {
    tracing::error!(error = %error, "storing a webhook update");
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the update could not be stored; retry")
        .into_response()
}

/// `doorman_webhook_rejections_total{channel, reason}`.
fn rejected(channel: &'static str, reason: &'static str) {
    rejected_n(channel, reason, 1);
}

fn rejected_n(channel: &'static str, reason: &'static str, n: usize) {
    metrics::counter!("doorman_webhook_rejections_total", "channel" => channel, "reason" => reason)
        .increment(u64::try_from(n).unwrap_or(u64::MAX));
}

fn malformed(channel: &'static str, error: serde_json::Error) -> Response {
    rejected(channel, "malformed");
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not a valid update: {error}"))
        .into_response()
}

fn too_large_or_bad(channel: &'static str, rejection: BytesRejection) -> Response {
    let code = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE { "payload_too_large" } else { "bad_request" };
    rejected(channel, code);
    ApiError::new(rejection.status(), code, rejection.body_text()).into_response()
}

fn channel_off(channel: &str, variable: &str) -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "channel_off", format!("{channel} is off: set {variable}")).into_response()
}
