//! The outbox: every outbound message is a row of the notification log,
//! queued in the caller's transaction and sent by a job, once per dedupe
//! key, within each provider's rate limits.

use std::num::NonZeroU32;
use std::sync::Arc;

use backon::{BackoffBuilder, ExponentialBuilder};
use chrono::{DateTime, Duration, Utc};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::email::{EmailClient, EmailError};
use super::sms::{SmsClient, SmsError};
use super::telegram::client::{TelegramClient, TelegramError};
use super::whatsapp::client::{WhatsappClient, WhatsappError, WhatsappMessage};
use super::{Channel, DeliveryStatus, Outgoing, Template};
use crate::access::audit::{self, Actor, Subject};
use crate::access::model::CodeState;
use crate::context::JobContext;
use crate::jobs::{queue, Job, JobError, Run};

/// The channel `doorman chat` listens on for console replies.
pub const CONSOLE_CHANNEL: &str = "doorman_console";
/// WhatsApp's customer-service window.
const SERVICE_WINDOW: Duration = Duration::hours(24);
/// The purpose of a guest answer from the knowledge base (wifi, parking,
/// directions, check-out instructions), which may hold a secret.
pub const KNOWLEDGE: &str = "knowledge";
/// The purpose of a reply to a staff command, which may show a full code.
pub const STAFF_REPLY: &str = "staff_reply";
/// Stands in a queued message for the Telegram deep link: the token is
/// minted when the message is sent, so that it is never stored in clear.
pub const TELEGRAM_LINK: &str = "⟦telegram-link⟧";

/// WhatsApp, when configured, with its throughput limit.
#[derive(Clone)]
pub struct WhatsappSender {
    /// The Cloud API client.
    pub client: WhatsappClient,
    /// Messages per second of the business number.
    pub limiter: Arc<DefaultDirectRateLimiter>,
    /// Language code of the approved templates.
    pub template_language: String,
}

impl WhatsappSender {
    /// A sender limited to `per_second` messages, evenly spaced (no burst
    /// above the rate, so no one-second window ever holds more).
    pub fn new(client: WhatsappClient, per_second: u32, template_language: String) -> Self {
        let rate = NonZeroU32::new(per_second.max(1)).expect("at least one");
        let quota = Quota::per_second(rate).allow_burst(NonZeroU32::new(1).expect("one"));
        Self { client, limiter: Arc::new(RateLimiter::direct(quota)), template_language }
    }
}

/// Telegram, when configured, with its global and per-chat limits.
#[derive(Clone)]
pub struct TelegramSender {
    /// The Bot API client.
    pub client: TelegramClient,
    /// 30 messages a second overall.
    pub global: Arc<DefaultDirectRateLimiter>,
    /// One message a second per chat.
    pub per_chat: Arc<DefaultKeyedRateLimiter<i64>>,
    /// The bot's username, for `https://t.me/<bot>?start=<token>` links.
    pub bot_username: Option<String>,
}

impl TelegramSender {
    /// A sender with Telegram's documented limits.
    pub fn new(client: TelegramClient, bot_username: Option<String>) -> Self {
        Self {
            client,
            global: Arc::new(RateLimiter::direct(
                Quota::per_second(NonZeroU32::new(30).expect("30")).allow_burst(NonZeroU32::new(1).expect("1")),
            )),
            per_chat: Arc::new(RateLimiter::keyed(Quota::per_second(NonZeroU32::new(1).expect("1")))),
            bot_username,
        }
    }
}

/// The configured chat providers.
#[derive(Clone, Default)]
pub struct Senders {
    /// WhatsApp, when its credentials are set.
    pub whatsapp: Option<WhatsappSender>,
    /// Telegram, when its token is set.
    pub telegram: Option<TelegramSender>,
    /// SMS, when Africa's Talking is configured.
    pub sms: Option<SmsClient>,
    /// Email, when SMTP is configured.
    pub email: Option<EmailClient>,
}

impl Senders {
    /// Whether no real provider is configured (the demo): the console stands in.
    pub fn none_configured(&self) -> bool {
        self.whatsapp.is_none() && self.telegram.is_none() && self.sms.is_none() && self.email.is_none()
    }
}

/// Send one queued notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMessage {
    /// The `notifications` row.
    pub notification_id: Uuid,
}

impl Job for SendMessage {
    const KIND: &'static str = "send_message";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.notification_id))
    }
}

/// The notification log holds the failure of a message.
impl Run<JobContext> for SendMessage {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        send(ctx, self.notification_id).await
    }
}

/// Queues a message in the caller's transaction; with a dedupe key it is
/// queued once, ever. Returns the notification's id when it was queued now.
pub async fn enqueue(conn: &mut PgConnection, message: &Outgoing) -> sqlx::Result<Option<Uuid>> {
    enqueue_at(conn, message, Utc::now()).await
}

/// [`enqueue`], sent at `at` (a message rule's, written a minute before it
/// is due so that a morning's burst goes out from its first second).
pub async fn enqueue_at(conn: &mut PgConnection, message: &Outgoing, at: DateTime<Utc>) -> sqlx::Result<Option<Uuid>> {
    let params = message.template.as_ref().map(|t| serde_json::to_value(t).expect("templates serialize"));
    let id = sqlx::query_scalar!(
        "INSERT INTO notifications (booking_id, channel, recipient, template, body, template_params, language, dedupe_key,
             subject, html)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
        message.booking_id,
        message.channel.as_str(),
        message.address,
        message.purpose,
        message.body,
        params,
        message.language,
        message.dedupe_key,
        message.subject,
        message.html,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(notification_id) = id {
        queue::enqueue(conn, &SendMessage { notification_id }, at).await?;
    }
    Ok(id)
}

/// Applies a delivery report: later stages win (`sent` < `delivered` <
/// `read`; `failed` is final), whatever order reports arrive in. `false`
/// when no message has this provider id (yet).
pub async fn apply_status(conn: &mut PgConnection, channel: Channel, status: &DeliveryStatus) -> sqlx::Result<bool> {
    let known = sqlx::query_scalar!(
        r#"WITH ranked AS (
               SELECT id, CASE status WHEN 'queued' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
                                      WHEN 'read' THEN 3 ELSE 4 END AS rank
               FROM notifications WHERE channel = $1 AND provider_message_id = $2
           ), updated AS (
               -- Delivered or failed: a text that carried a secret is forgotten (M8).
               UPDATE notifications n SET status = $3, error = COALESCE($4, n.error), updated_at = now(),
                   body = CASE WHEN $3 <> 'sent' AND n.template = ANY($5) THEN NULL ELSE n.body END,
                   template_params = CASE WHEN $3 <> 'sent' AND n.template = ANY($5) THEN NULL ELSE n.template_params END,
                   html = CASE WHEN $3 <> 'sent' AND n.template = ANY($5) THEN NULL ELSE n.html END,
                   body_cleared_at = CASE WHEN $3 <> 'sent' AND n.template = ANY($5)
                                          THEN COALESCE(n.body_cleared_at, now()) ELSE n.body_cleared_at END
               FROM ranked
               WHERE n.id = ranked.id
                 AND ranked.rank < CASE $3 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 4 END
               RETURNING n.id
           )
           SELECT count(*) AS "n!" FROM ranked"#,
        channel.as_str(),
        status.provider_message_id,
        status.status.as_str(),
        status.error.as_ref().map(|e| match status.error_code {
            // Meta's own style, "(#131026) ...", which the log redaction keeps.
            Some(code) => format!("(#{code}) {e}"),
            None => e.clone(),
        }),
        &SECRET_PURPOSES.map(str::to_owned)[..],
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(known > 0)
}

struct Queued {
    id: Uuid,
    booking_id: Option<Uuid>,
    channel: String,
    recipient: String,
    purpose: String,
    body: Option<String>,
    template: Option<Template>,
    subject: Option<String>,
    html: Option<String>,
}

/// `SendMessage`: sends one queued notification.
pub async fn send(ctx: &JobContext, notification_id: Uuid) -> Result<(), JobError> {
    let Some(mut queued) = claim_attempt(ctx, notification_id).await? else {
        return Ok(());
    };
    if let Some(reason) = withdrawn(ctx, &queued).await? {
        // Security review L11: a code message waiting behind a rate limit or
        // a retry is not sent to someone who is no longer the guest.
        tracing::info!(notification = %queued.id, purpose = %queued.purpose, reason, "a queued code message is withdrawn");
        mark_failed(ctx, &queued, &format!("withdrawn: {reason}")).await?;
        return Ok(());
    }
    insert_telegram_link(ctx, &mut queued).await?;
    let sent = match queued.channel.parse::<Channel>() {
        Ok(Channel::Whatsapp) => send_whatsapp(ctx, &queued).await,
        Ok(Channel::Telegram) => send_telegram(ctx, &queued).await,
        Ok(Channel::Console) => Ok((format!("console-{}", queued.id.simple()), "text")),
        Ok(Channel::Sms) => send_sms(ctx, &queued).await,
        Ok(Channel::Email) => send_email(ctx, &queued).await,
        Err(e) => Err(JobError::permanent(e)),
    };
    match sent {
        Ok((provider_message_id, sent_as)) => record_sent(ctx, &queued, &provider_message_id, sent_as).await,
        Err(error @ JobError::Permanent(_)) => {
            mark_failed(ctx, &queued, &format!("{error:#}")).await?;
            if undeliverable_on_whatsapp(&error) {
                fall_back_to_sms(ctx, &queued).await?;
            }
            Err(error)
        }
        Err(retry) => {
            sqlx::query!(
                "UPDATE notifications SET error = $2, updated_at = now() WHERE id = $1",
                queued.id,
                retry.to_string()
            )
            .execute(&ctx.db)
            .await?;
            Err(retry)
        }
    }
}

/// The queued message, its attempt counted before the call (see
/// `send_attempts` in the migrations); `None` once it is no longer queued.
async fn claim_attempt(ctx: &JobContext, notification_id: Uuid) -> Result<Option<Queued>, JobError> {
    let row = sqlx::query!(
        "UPDATE notifications SET send_attempts = send_attempts + 1 WHERE id = $1 AND status = 'queued'
         RETURNING id, booking_id, channel, recipient, template, body, template_params, subject, html, send_attempts,
                   error",
        notification_id
    )
    .fetch_optional(&ctx.db)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    if row.send_attempts > 1 && row.error.is_none() {
        tracing::warn!(notification = %row.id, channel = %row.channel, purpose = %row.template,
            "sending again after an attempt that was cut off: the recipient may get it twice");
    }
    Ok(Some(Queued {
        id: row.id,
        booking_id: row.booking_id,
        channel: row.channel,
        recipient: row.recipient,
        purpose: row.template,
        body: row.body,
        template: row.template_params.and_then(|p| serde_json::from_value(p).ok()),
        subject: row.subject,
        html: row.html,
    }))
}

/// It went out. A database that is away for a moment (a restart) must not
/// make the job run again and send it twice: keep trying to record it for
/// about 40 s.
async fn record_sent(
    ctx: &JobContext,
    queued: &Queued,
    provider_message_id: &str,
    sent_as: &str,
) -> Result<(), JobError> {
    let mut delays = ExponentialBuilder::default()
        .with_min_delay(std::time::Duration::from_millis(200))
        .with_max_delay(std::time::Duration::from_secs(5))
        .with_max_times(12)
        .build();
    loop {
        match mark_sent(ctx, queued, provider_message_id, sent_as).await {
            Ok(()) => return Ok(()),
            Err(e) => match delays.next() {
                Some(delay) => {
                    tracing::warn!(notification = %queued.id, error = %e, "recording a sent message; retrying");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(e),
            },
        }
    }
}

async fn send_whatsapp(ctx: &JobContext, queued: &Queued) -> Result<(String, &'static str), JobError> {
    let sender = ctx.senders.whatsapp.as_ref().ok_or_else(|| {
        JobError::permanent("WhatsApp is off: set WHATSAPP_TOKEN, WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_APP_SECRET")
    })?;
    let last_inbound = sqlx::query_scalar!(
        "SELECT last_inbound_at FROM chat_contacts WHERE channel = 'whatsapp' AND address = $1",
        queued.recipient
    )
    .fetch_optional(&ctx.db)
    .await?
    .flatten();
    let in_window = last_inbound.is_some_and(|at| Utc::now() - at < SERVICE_WINDOW);
    if in_window {
        if let Some(body) = &queued.body {
            sender.limiter.until_ready().await;
            match sender.client.send(&queued.recipient, &WhatsappMessage::Text { body }).await {
                Ok(id) => return Ok((id, "text")),
                // The window closed after all: fall back to the template.
                Err(WhatsappError::WindowClosed(_)) => {}
                Err(e) => return Err(whatsapp_error(e)),
            }
        }
    }
    let Some(template) = &queued.template else {
        return Err(JobError::permanent("outside WhatsApp's 24-hour window and the message has no approved template"));
    };
    sender.limiter.until_ready().await;
    let message = WhatsappMessage::Template {
        name: &template.name,
        language: &sender.template_language,
        params: &template.params,
    };
    sender.client.send(&queued.recipient, &message).await.map(|id| (id, "template")).map_err(whatsapp_error)
}

/// Meta's error for a number that is not on WhatsApp.
const NOT_ON_WHATSAPP: i64 = 131026;

fn whatsapp_error(error: WhatsappError) -> JobError {
    match error {
        WhatsappError::Retryable { after: Some(after), .. } => JobError::RetryAfter(error.into(), after),
        WhatsappError::Retryable { after: None, .. } => JobError::Retry(error.into()),
        WhatsappError::WindowClosed(_) | WhatsappError::Permanent { .. } => JobError::Permanent(error.into()),
    }
}

/// Whether WhatsApp refused the message because the number is not on it
/// (decided on Meta's error code, not on its text).
fn undeliverable_on_whatsapp(error: &JobError) -> bool {
    matches!(
        error.cause().downcast_ref::<WhatsappError>(),
        Some(WhatsappError::Permanent { code: Some(NOT_ON_WHATSAPP), .. })
    )
}

async fn send_telegram(ctx: &JobContext, queued: &Queued) -> Result<(String, &'static str), JobError> {
    let sender =
        ctx.senders.telegram.as_ref().ok_or_else(|| JobError::permanent("Telegram is off: set TELEGRAM_BOT_TOKEN"))?;
    let chat_id: i64 = queued
        .recipient
        .parse()
        .map_err(|_| JobError::permanent(format!("{:?} is not a Telegram chat id", queued.recipient)))?;
    sender.global.until_ready().await;
    sender.per_chat.until_key_ready(&chat_id).await;
    let body = queued.body.as_deref().unwrap_or_default();
    match sender.client.send(chat_id, body).await {
        Ok(id) => Ok((id, "text")),
        Err(e @ TelegramError::Retryable { after: Some(after), .. }) => Err(JobError::RetryAfter(e.into(), after)),
        Err(e @ TelegramError::Retryable { after: None, .. }) => Err(JobError::Retry(e.into())),
        Err(e @ TelegramError::Permanent(_)) => Err(JobError::Permanent(e.into())),
    }
}

async fn send_sms(ctx: &JobContext, queued: &Queued) -> Result<(String, &'static str), JobError> {
    let client =
        ctx.senders.sms.as_ref().ok_or_else(|| JobError::permanent("SMS is off: set AT_USERNAME and AT_API_KEY"))?;
    let text = super::text::plain(queued.body.as_deref().unwrap_or_default());
    match client.send(&queued.recipient, &text).await {
        Ok(id) => Ok((id, "text")),
        Err(e @ SmsError::Retryable(_)) => Err(JobError::Retry(e.into())),
        Err(e @ SmsError::Permanent(_)) => Err(JobError::Permanent(e.into())),
    }
}

async fn send_email(ctx: &JobContext, queued: &Queued) -> Result<(String, &'static str), JobError> {
    let client =
        ctx.senders.email.as_ref().ok_or_else(|| JobError::permanent("email is off: set SMTP_URL and SMTP_FROM"))?;
    let text = super::text::plain(queued.body.as_deref().unwrap_or_default());
    let subject = queued.subject.as_deref().unwrap_or("Your stay");
    let html = queued.html.clone().unwrap_or_else(|| format!("<pre>{}</pre>", text.replace('<', "&lt;")));
    match client.send(&queued.recipient, subject, &text, &html).await {
        Ok(id) => Ok((id, "html")),
        Err(e @ EmailError::Retryable(_)) => Err(JobError::Retry(e.into())),
        Err(e @ EmailError::Permanent(_)) => Err(JobError::Permanent(e.into())),
    }
}

/// Replaces [`TELEGRAM_LINK`] with a fresh deep link to the message's
/// booking (valid until its check-out), or drops the line when Telegram is
/// off or the booking is gone.
async fn insert_telegram_link(ctx: &JobContext, queued: &mut Queued) -> Result<(), JobError> {
    let wanted = queued.body.as_deref().is_some_and(|b| b.contains(TELEGRAM_LINK))
        || queued.template.as_ref().is_some_and(|t| t.params.iter().any(|p| p.contains(TELEGRAM_LINK)));
    if !wanted {
        return Ok(());
    }
    let bot = ctx.senders.telegram.as_ref().and_then(|t| t.bot_username.clone());
    let mut link = None;
    if let (Some(bot), Some(booking_id)) = (bot, queued.booking_id) {
        let mut tx = ctx.db.begin().await?;
        let check_out = sqlx::query_scalar!(
            "SELECT check_out_at FROM bookings WHERE id = $1 AND check_out_at > now() AND status = 'confirmed'",
            booking_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(check_out) = check_out {
            let token = crate::access::links::issue_telegram_token(&mut tx, booking_id, check_out).await?;
            link = Some(format!("https://t.me/{bot}?start={token}"));
        }
        tx.commit().await?;
    }
    let fill = |text: &str| match &link {
        Some(link) => text.replace(TELEGRAM_LINK, link),
        None => text.lines().filter(|l| !l.contains(TELEGRAM_LINK)).collect::<Vec<_>>().join("\n"),
    };
    queued.body = queued.body.as_deref().map(fill);
    if let Some(template) = &mut queued.template {
        template.params = template.params.iter().map(|p| fill(p)).collect();
    }
    Ok(())
}

/// Why a queued message with a code must not go out any more: its booking
/// is no longer confirmed, has ended or has no live code, or the recipient
/// is no longer one of its guest's addresses. `None` when it may go.
async fn withdrawn(ctx: &JobContext, queued: &Queued) -> Result<Option<&'static str>, JobError> {
    let Some(booking_id) = queued.booking_id.filter(|_| delivers_a_code(&queued.purpose)) else {
        return Ok(None);
    };
    let row = sqlx::query!(
        r#"SELECT b.status = 'confirmed' AND b.check_out_at > now() AS "open!",
               EXISTS (SELECT 1 FROM access_codes c WHERE c.booking_id = b.id AND c.kind = 'guest'
                       AND c.state = ANY($3)) AS "has_code!",
               COALESCE(g.phone = $2 OR b.guest_email = $2, false)
                 OR EXISTS (SELECT 1 FROM booking_contacts bc WHERE bc.booking_id = b.id AND bc.address = $2
                            AND bc.ended_at IS NULL) AS "recipient!"
           FROM bookings b JOIN guests g ON g.id = b.guest_id WHERE b.id = $1"#,
        booking_id,
        queued.recipient,
        CodeState::WORKING as &[CodeState]
    )
    .fetch_optional(&ctx.db)
    .await?;
    Ok(match row {
        None => Some("the booking is gone"),
        Some(r) if !r.open => Some("the booking is no longer confirmed or has ended"),
        Some(r) if !r.has_code => Some("the booking has no live code"),
        Some(r) if !r.recipient => Some("the recipient is no longer the booking's guest"),
        Some(_) => None,
    })
}

/// Messages whose text may hold a code, a wifi password or a link token.
fn carries_secrets(purpose: &str) -> bool {
    delivers_a_code(purpose) || matches!(purpose, KNOWLEDGE | STAFF_REPLY)
}

/// Whether a channel reports delivery after `sent` (only WhatsApp does).
fn reports_delivery(channel: &str) -> bool {
    channel == Channel::Whatsapp.as_str()
}

/// Forgets the text of a message that carried a secret (security review
/// M8), keeping its record: recipient, purpose, status and times.
async fn clear_secrets(conn: &mut PgConnection, notification_id: Uuid) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE notifications SET body = NULL, template_params = NULL, html = NULL, body_cleared_at = now()
         WHERE id = $1 AND body_cleared_at IS NULL",
        notification_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// WhatsApp says the number cannot receive messages (131026): the same
/// message goes by SMS, once, when SMS is configured.
async fn fall_back_to_sms(ctx: &JobContext, queued: &Queued) -> Result<(), JobError> {
    if ctx.senders.sms.is_none() || !queued.recipient.starts_with('+') {
        return Ok(());
    }
    let already = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM notifications WHERE channel = 'sms' AND recipient = $1 AND template = $2
               AND booking_id IS NOT DISTINCT FROM $3) AS "exists!""#,
        queued.recipient,
        queued.purpose,
        queued.booking_id
    )
    .fetch_one(&ctx.db)
    .await?;
    if already {
        return Ok(());
    }
    let fallback = Outgoing {
        channel: Channel::Sms,
        address: queued.recipient.clone(),
        purpose: queued.purpose.clone(),
        body: queued.body.clone().unwrap_or_default(),
        template: None,
        language: "en".into(),
        booking_id: queued.booking_id,
        dedupe_key: Some(format!("sms_fallback:{}", queued.id)),
        subject: None,
        html: None,
    };
    let mut tx = ctx.db.begin().await?;
    enqueue(&mut tx, &fallback).await?;
    tx.commit().await?;
    Ok(())
}

async fn mark_sent(
    ctx: &JobContext,
    queued: &Queued,
    provider_message_id: &str,
    sent_as: &str,
) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    // It went out: record it whatever happens, so it is never sent twice. A
    // provider id already on another row (a provider's bug) is not kept.
    let recorded = sqlx::query!(
        "UPDATE notifications SET status = 'sent', provider_message_id = $2, sent_as = $3, sent_at = now(), error = NULL,
             updated_at = now()
         WHERE id = $1 AND status = 'queued'
           AND NOT EXISTS (SELECT 1 FROM notifications o WHERE o.channel = $4 AND o.provider_message_id = $2)",
        queued.id,
        provider_message_id,
        sent_as,
        queued.channel,
    )
    .execute(&mut *tx)
    .await?;
    if recorded.rows_affected() == 0 {
        tracing::warn!(notification = %queued.id, "the provider reused a message id; delivery reports cannot be matched");
        sqlx::query!(
            "UPDATE notifications SET status = 'sent', sent_as = $2, sent_at = now(), error = NULL, updated_at = now()
             WHERE id = $1 AND status = 'queued'",
            queued.id,
            sent_as,
        )
        .execute(&mut *tx)
        .await?;
    }
    if queued.channel == Channel::Console.as_str() {
        // The terminal reads the text after this notification; it is local.
        sqlx::query!("SELECT pg_notify($1, $2)", CONSOLE_CHANNEL, queued.id.to_string()).execute(&mut *tx).await?;
    } else if carries_secrets(&queued.purpose) && !reports_delivery(&queued.channel) {
        // No delivery report follows: `sent` is as far as it goes.
        clear_secrets(&mut tx, queued.id).await?;
    }
    if delivers_a_code(&queued.purpose) {
        let subject = Subject { booking_id: queued.booking_id, ..Default::default() };
        let details = json!({ "channel": queued.channel, "purpose": queued.purpose, "notification_id": queued.id });
        audit::record(&mut *tx, Actor::System, "code.delivered", subject, details).await?;
    }
    tx.commit().await?;
    count_outbound(queued, "sent");
    Ok(())
}

/// `doorman_outbound_messages_total`: replies and notifications by channel,
/// purpose and outcome (`sent`, `failed`).
fn count_outbound(queued: &Queued, outcome: &'static str) {
    metrics::counter!("doorman_outbound_messages_total", "channel" => queued.channel.clone(),
        "purpose" => queued.purpose.clone(), "outcome" => outcome)
    .increment(1);
}

async fn mark_failed(ctx: &JobContext, queued: &Queued, error: &str) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    sqlx::query!(
        "UPDATE notifications SET status = 'failed', error = $2, updated_at = now() WHERE id = $1",
        queued.id,
        error
    )
    .execute(&mut *tx)
    .await?;
    if carries_secrets(&queued.purpose) {
        clear_secrets(&mut tx, queued.id).await?;
    }
    if delivers_a_code(&queued.purpose) {
        let subject = Subject { booking_id: queued.booking_id, ..Default::default() };
        let details = json!({ "channel": queued.channel, "purpose": queued.purpose, "error": error });
        audit::record(&mut *tx, Actor::System, "code.delivery_failed", subject, details).await?;
    }
    tx.commit().await?;
    count_outbound(queued, "failed");
    tracing::error!(channel = %queued.channel, purpose = %queued.purpose, error, "a message could not be delivered");
    Ok(())
}

/// Messages that carry an access code: their deliveries are audited.
fn delivers_a_code(purpose: &str) -> bool {
    matches!(purpose, "pre_arrival" | "code" | "code_resend")
}

/// Every purpose [`carries_secrets`] is true of, for SQL.
const SECRET_PURPOSES: [&str; 5] = ["pre_arrival", "code", "code_resend", KNOWLEDGE, STAFF_REPLY];
