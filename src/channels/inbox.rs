//! The durable inbox: every accepted update is stored before the webhook
//! answers, with a job that processes it after. The provider's id is unique,
//! so a redelivered update is stored once and handled once.

use chrono::{Duration, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::{outbox, Channel, Content, InboundEvent, InboundMessage};
use crate::access::phone::Phone;
use crate::jobs::{queue, Job, JobContext, JobError};

/// Stores events and queues their processing. Returns how many were new
/// (the rest were redeliveries). Each event is one atomic statement: the
/// webhook's answer waits for a single round trip per event.
pub async fn accept(db: &PgPool, events: &[InboundEvent]) -> sqlx::Result<usize> {
    let mut new = 0;
    for event in events {
        let channel = match event {
            InboundEvent::Message(m) => m.channel,
            InboundEvent::Status(_) => Channel::Whatsapp,
        };
        let mut payload = serde_json::to_value(event).expect("events serialize");
        without_nul(&mut payload);
        // The update, its `ProcessInbound` job (the same row `queue::enqueue`
        // writes) and the wake-up, in one statement.
        let stored = sqlx::query_scalar!(
            r#"WITH stored AS (
                   INSERT INTO inbound_updates (channel, provider_id, kind, payload) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (channel, provider_id) DO NOTHING RETURNING id
               ), queued AS (
                   INSERT INTO jobs (kind, payload, dedupe_key, run_at, max_attempts)
                   SELECT 'process_inbound', jsonb_build_object('kind', 'process_inbound', 'update_id', id),
                          'process_inbound:' || id, now(), $5
                   FROM stored RETURNING id
               )
               SELECT count(*) AS "n!" FROM (SELECT pg_notify($6, '') FROM queued) woken"#,
            channel.as_str(),
            event.provider_id().replace('\0', ""),
            event.kind(),
            payload,
            Job::ProcessInbound { update_id: 0 }.max_attempts(),
            queue::CHANNEL,
        )
        .fetch_one(db)
        .await?;
        new += usize::try_from(stored).unwrap_or(0);
    }
    Ok(new)
}

/// Stores an update doorman does not act on, as processed: kept for the
/// record until the nightly prune, and a redelivery is still a no-op.
pub async fn accept_ignored(db: &PgPool, channel: Channel, provider_id: &str, payload: &Value) -> sqlx::Result<()> {
    let mut payload = payload.clone();
    without_nul(&mut payload);
    sqlx::query!(
        "INSERT INTO inbound_updates (channel, provider_id, kind, payload, processed_at)
         VALUES ($1, $2, 'ignored', $3, now())
         ON CONFLICT (channel, provider_id) DO NOTHING",
        channel.as_str(),
        provider_id.replace('\0', ""),
        payload
    )
    .execute(db)
    .await?;
    Ok(())
}

/// `ProcessInbound`: applies a delivery report, or answers a message.
/// Processing and the replies it queues commit together, once.
pub async fn process(ctx: &JobContext, update_id: i64) -> Result<(), JobError> {
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
        .map_err(|e| JobError::Permanent(format!("stored update {update_id} is unreadable: {e}")))?;
    match event {
        InboundEvent::Status(status) => {
            if !outbox::apply_status(&mut tx, Channel::Whatsapp, &status).await? {
                // Meta can report on a message before our send committed.
                return Err(JobError::Retry("no sent message with this id yet".into()));
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
        Content::Start { token } => crate::conversation::identity::redeem_start(tx, message, token.as_deref()).await?,
        Content::Contact { phone, user_id } => {
            crate::conversation::identity::link_by_contact(tx, message, phone, user_id.as_deref()).await?
        }
        Content::Unsupported { .. } if message.channel == Channel::Telegram => Vec::new(),
        _ => crate::conversation::respond(ctx, tx, update_id, message).await?,
    };
    for (n, mut reply) in replies.into_iter().enumerate() {
        reply.dedupe_key.get_or_insert_with(|| format!("reply:{update_id}:{n}"));
        outbox::enqueue(tx, &reply).await?;
    }
    Ok(())
}

/// Drops U+0000 from every string (keys included): PostgreSQL's `jsonb`
/// refuses it, and a message carrying one would otherwise be refused on
/// every redelivery.
fn without_nul(value: &mut Value) {
    match value {
        Value::String(text) if text.contains('\0') => text.retain(|c| c != '\0'),
        Value::Array(items) => items.iter_mut().for_each(without_nul),
        Value::Object(fields) if fields.keys().any(|k| k.contains('\0')) => {
            let cleaned = std::mem::take(fields)
                .into_iter()
                .map(|(key, mut item)| {
                    without_nul(&mut item);
                    (key.replace('\0', ""), item)
                })
                .collect();
            *fields = cleaned;
        }
        Value::Object(fields) => fields.values_mut().for_each(without_nul),
        _ => {}
    }
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

/// The sender's phone as doorman stores phones, when the channel gave one.
pub fn sender_phone(message: &InboundMessage) -> Option<Phone> {
    message.phone.as_deref().and_then(|p| Phone::parse(p).ok())
}
