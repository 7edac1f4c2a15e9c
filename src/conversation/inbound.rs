//! Handling an inbound update: the `ProcessInbound` job applies a delivery
//! report or answers a message (flood control, then linking or the
//! conversation), and the jobs that answer a message later, outside the
//! inbound transaction: `StaffCommand` and `LlmFallback`.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;

use crate::channels::inbox::ProcessInbound;
use crate::channels::{outbox, Channel, Content, InboundEvent, InboundMessage};
use crate::context::JobContext;
use crate::jobs::{Job, JobError, Run};

impl Run<JobContext> for ProcessInbound {
    /// An unprocessable update stays in the inbox unprocessed.
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        process(ctx, self.update_id).await
    }
}

/// A staff command that asks the locks (`/status`, `/audit`), run apart
/// from the inbound transaction so no row lock waits on a provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffCommand {
    /// The `inbound_updates` row.
    pub update_id: i64,
}

impl Job for StaffCommand {
    const KIND: &'static str = "staff_command";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.update_id))
    }
}

impl Run<JobContext> for StaffCommand {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        super::staff::run_deferred(ctx, self.update_id).await
    }
}

/// Ask the LLM about a message the router was unsure of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LlmFallback {
    /// The `inbound_updates` row.
    pub update_id: i64,
}

impl Job for LlmFallback {
    const KIND: &'static str = "llm_fallback";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.update_id))
    }
}

impl Run<JobContext> for LlmFallback {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        super::llm::fallback(ctx, self.update_id).await
    }
}

/// `ProcessInbound`: applies a delivery report, or answers a message.
/// Processing and the replies it queues commit together, once.
async fn process(ctx: &JobContext, update_id: i64) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    let row = sqlx::query!(
        "SELECT payload FROM inbound_updates WHERE id = $1 AND processed_at IS NULL FOR UPDATE",
        update_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(());
    };
    let event: InboundEvent = serde_json::from_value(row.payload)
        .map_err(|e| JobError::permanent(format!("stored update {update_id} is unreadable: {e}")))?;
    match event {
        InboundEvent::Status(status) => {
            if !outbox::apply_status(&mut tx, Channel::Whatsapp, &status).await? {
                // Meta can report on a message before our send committed.
                return Err(JobError::retry("no sent message with this id yet"));
            }
        }
        InboundEvent::Message(message) => answer(ctx, &mut tx, update_id, &message).await?,
    }
    sqlx::query!("UPDATE inbound_updates SET processed_at = now() WHERE id = $1", update_id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}

async fn answer(
    ctx: &JobContext,
    tx: &mut PgConnection,
    update_id: i64,
    message: &InboundMessage,
) -> Result<(), JobError> {
    let in_the_last_minute = touch_contact(tx, message).await?;
    if in_the_last_minute > i64::from(ctx.inbound_per_minute) {
        metrics::counter!("doorman_inbound_messages_total", "channel" => message.channel.as_str(), "intent" => "flood")
            .increment(1);
        if in_the_last_minute == i64::from(ctx.inbound_per_minute) + 1 {
            tracing::warn!(channel = %message.channel, address = %message.address, limit = ctx.inbound_per_minute,
                "a sender passed the per-minute limit: their messages are stored, not answered, for the rest of the minute");
        }
        return Ok(());
    }
    let replies = match &message.content {
        Content::Start { token } => super::identity::redeem_start(tx, message, token.as_deref()).await?,
        Content::Contact { phone, user_id } => {
            super::identity::link_by_contact(tx, message, phone, user_id.as_deref()).await?
        }
        Content::Unsupported { .. } if message.channel == Channel::Telegram => Vec::new(),
        _ => super::respond(ctx, tx, update_id, message).await?,
    };
    for (n, mut reply) in replies.into_iter().enumerate() {
        reply.dedupe_key.get_or_insert_with(|| format!("reply:{update_id}:{n}"));
        outbox::enqueue(tx, &reply).await?;
    }
    Ok(())
}

/// Remembers when an address last wrote (WhatsApp's 24-hour window) and
/// counts its messages in the current one-minute window; returns that count.
async fn touch_contact(tx: &mut PgConnection, message: &InboundMessage) -> sqlx::Result<i64> {
    // A message's own timestamp can be old (redelivered late); never more
    // recent than now.
    let at = message.sent_at.min(Utc::now() + Duration::seconds(5));
    let count = sqlx::query_scalar!(
        "INSERT INTO chat_contacts (channel, address, user_id, display_name, last_inbound_at, window_started_at,
                                    window_count)
         VALUES ($1, $2, $3, $4, $5, now(), 1)
         ON CONFLICT (channel, address) DO UPDATE SET
             user_id = COALESCE(EXCLUDED.user_id, chat_contacts.user_id),
             display_name = COALESCE(EXCLUDED.display_name, chat_contacts.display_name),
             last_inbound_at = GREATEST(chat_contacts.last_inbound_at, EXCLUDED.last_inbound_at),
             window_count = CASE WHEN chat_contacts.window_started_at > now() - interval '1 minute'
                                 THEN chat_contacts.window_count + 1 ELSE 1 END,
             window_started_at = CASE WHEN chat_contacts.window_started_at > now() - interval '1 minute'
                                      THEN chat_contacts.window_started_at ELSE now() END
         RETURNING window_count",
        message.channel.as_str(),
        message.address,
        message.user_id,
        message.display_name,
        at,
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(i64::from(count))
}
