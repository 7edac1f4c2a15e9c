//! The console channel: type messages as a sender, see doorman's replies.
//! It goes through the same inbox, jobs and outbox as WhatsApp and Telegram;
//! a console "send" is a notification on [`CONSOLE_CHANNEL`].

use std::time::Duration;

use chrono::Utc;
use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};
use uuid::Uuid;

use super::outbox::CONSOLE_CHANNEL;
use super::text::plain;
use super::{inbox, Channel, Content, InboundEvent, InboundMessage};

/// How long, after the input ends, replies are still waited for.
const LINGER: Duration = Duration::from_secs(3);

/// Reads lines from `input` as messages from `address` (an E.164 phone) and
/// writes the replies addressed to it to `output`, until the input ends.
pub async fn run(
    db: &PgPool,
    address: &str,
    input: impl AsyncBufRead + Unpin,
    mut output: impl AsyncWrite + Unpin,
) -> anyhow::Result<()> {
    let mut listener = PgListener::connect_with(db).await?;
    listener.listen(CONSOLE_CHANNEL).await?;
    // What was sent to this address before we listened (the demo's
    // pre-arrival message, say), then everything new.
    let mut shown = std::collections::HashSet::new();
    for (id, body) in recent_replies(db, address).await? {
        print_reply(&mut output, &body).await?;
        shown.insert(id);
    }
    let mut lines = input.lines();
    let mut input_open = true;
    loop {
        tokio::select! {
            line = lines.next_line(), if input_open => match line? {
                Some(line) if !line.trim().is_empty() => {
                    inbox::accept(db, &[InboundEvent::Message(message(address, line.trim()))]).await?;
                }
                Some(_) => {}
                None => input_open = false,
            },
            notification = listener.recv() => {
                let Ok(id) = notification?.payload().parse::<Uuid>() else { continue };
                if !shown.insert(id) {
                    continue;
                }
                if let Some(body) = reply_for(db, id, address).await? {
                    print_reply(&mut output, &body).await?;
                }
            }
            () = tokio::time::sleep(LINGER), if !input_open => return Ok(()),
        }
    }
}

/// A console message from `address`.
pub fn message(address: &str, text: &str) -> InboundMessage {
    InboundMessage {
        channel: Channel::Console,
        provider_id: format!("console-{}", Uuid::new_v4().simple()),
        address: address.to_owned(),
        phone: Some(address.to_owned()),
        user_id: None,
        display_name: None,
        content: Content::Text { body: text.to_owned() },
        sent_at: Utc::now(),
        group: false,
    }
}

async fn print_reply(output: &mut (impl AsyncWrite + Unpin), body: &str) -> std::io::Result<()> {
    output.write_all(format!("doorman> {}\n", plain(body).replace('\n', "\n         ")).as_bytes()).await?;
    output.flush().await
}

/// Console messages sent to `address` in the last hour, oldest first (at
/// most five).
async fn recent_replies(db: &PgPool, address: &str) -> sqlx::Result<Vec<(Uuid, String)>> {
    let mut rows = sqlx::query!(
        "SELECT id, body FROM notifications
         WHERE channel = 'console' AND recipient = $1 AND status = 'sent' AND sent_at > now() - interval '1 hour'
         ORDER BY sent_at DESC LIMIT 5",
        address
    )
    .fetch_all(db)
    .await?;
    rows.reverse();
    Ok(rows.into_iter().filter_map(|r| r.body.map(|body| (r.id, body))).collect())
}

async fn reply_for(db: &PgPool, id: Uuid, address: &str) -> sqlx::Result<Option<String>> {
    let body = sqlx::query_scalar!(
        "SELECT body FROM notifications WHERE id = $1 AND channel = 'console' AND recipient = $2",
        id,
        address
    )
    .fetch_optional(db)
    .await?;
    Ok(body.flatten())
}
