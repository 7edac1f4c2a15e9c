//! The durable inbox: every accepted update is stored before the webhook
//! answers, with a job that processes it after. The provider's id is unique,
//! so a redelivered update is stored once and handled once.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::PgPool;

use super::{Channel, InboundEvent, InboundMessage};
use crate::access::phone::Phone;
use crate::jobs::{queue, Job};

/// Handle a stored inbound update (a message or a delivery report). Its
/// row is written with the update (`accept`); `conversation::inbound` runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInbound {
    /// The `inbound_updates` row.
    pub update_id: i64,
}

impl Job for ProcessInbound {
    const KIND: &'static str = "process_inbound";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.update_id))
    }
}

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
        // The update, its `ProcessInbound` job (the row `queue::enqueue` would
        // write; a unit test below compares them) and the wake-up, in one
        // statement.
        let stored = sqlx::query_scalar!(
            r#"WITH stored AS (
                   INSERT INTO inbound_updates (channel, provider_id, kind, payload) VALUES ($1, $2, $3, $4)
                   ON CONFLICT (channel, provider_id) DO NOTHING RETURNING id
               ), queued AS (
                   INSERT INTO jobs (kind, payload, dedupe_key, run_at, max_attempts)
                   SELECT $5, jsonb_build_object('update_id', id), $5 || ':' || id, now(), $6
                   FROM stored RETURNING id
               )
               SELECT count(*) AS "n!" FROM (SELECT pg_notify($7, '') FROM queued) woken"#,
            channel.as_str(),
            event.provider_id().replace('\0', ""),
            event.kind(),
            payload,
            ProcessInbound::KIND,
            ProcessInbound::MAX_ATTEMPTS,
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

/// The sender's phone as doorman stores phones, when the channel gave one.
pub fn sender_phone(message: &InboundMessage) -> Option<Phone> {
    message.phone.as_deref().and_then(|p| Phone::parse(p).ok())
}

/// The stored payload of an inbound update, for a job that answers it
/// later (`None`: no such row).
pub async fn stored_payload(db: &PgPool, update_id: i64) -> sqlx::Result<Option<Value>> {
    sqlx::query_scalar!("SELECT payload FROM inbound_updates WHERE id = $1", update_id).fetch_optional(db).await
}

#[cfg(test)]
mod tests {
    use super::ProcessInbound;
    use crate::jobs::Job;

    /// `accept` writes this job in SQL (`jsonb_build_object('update_id', id)`
    /// and `kind || ':' || id`): keep the shapes equal.
    #[test]
    fn process_inbound_has_the_shape_the_inbox_writes() {
        let job = ProcessInbound { update_id: 42 };
        assert_eq!(serde_json::to_value(&job).unwrap(), serde_json::json!({ "update_id": 42 }));
        assert_eq!(job.dedupe_key().as_deref(), Some("process_inbound:42"));
        // Rows written before jobs were structs carry their kind in the payload.
        let old: ProcessInbound =
            serde_json::from_value(serde_json::json!({ "kind": "process_inbound", "update_id": 7 })).unwrap();
        assert_eq!(old, ProcessInbound { update_id: 7 });
    }
}
