//! The conversation's last turn: what the bot last answered a chat, so that
//! a short reply is read after it ("thanks" after a lock guide closes the
//! problem, "still no" reports it again).

use chrono::Duration;
use sqlx::PgConnection;

use super::router::Intent;
use crate::channels::InboundMessage;

/// A reply older than this no longer answers the bot's last message.
pub const CONTEXT_WITHIN: Duration = Duration::hours(2);

/// The intent the bot last answered this chat, if it did within
/// [`CONTEXT_WITHIN`].
pub async fn previous_intent(tx: &mut PgConnection, message: &InboundMessage) -> sqlx::Result<Option<Intent>> {
    let last = sqlx::query_scalar!(
        r#"SELECT last_intent AS "last_intent!" FROM chat_contacts
           WHERE channel = $1 AND address = $2 AND last_intent IS NOT NULL
             AND last_intent_at > now() - make_interval(secs => $3)"#,
        message.channel.as_str(),
        message.address,
        CONTEXT_WITHIN.num_seconds() as f64
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(last.as_deref().and_then(Intent::parse))
}

/// Remembers that the bot answered this chat's message as `intent`.
pub async fn remember(tx: &mut PgConnection, message: &InboundMessage, intent: Intent) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE chat_contacts SET last_intent = $3, last_intent_at = now() WHERE channel = $1 AND address = $2",
        message.channel.as_str(),
        message.address,
        intent.as_str()
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}
