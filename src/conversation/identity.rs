//! Telegram identities: a chat is linked to a guest by a single-use,
//! expiring deep-link token (never the booking reference), or by a shared
//! contact that is the sender's own and matches the guest's phone.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{replies, reply};
use crate::access::phone::Phone;
use crate::channels::{InboundMessage, Outgoing};
use crate::jobs::{queue, Job, JobError};

/// Creates a token for `https://t.me/<bot>?start=<token>`; only its hash is
/// stored. It works once, until `expires_at`.
pub async fn issue_telegram_token(
    conn: &mut PgConnection,
    guest_id: Uuid,
    booking_id: Option<Uuid>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<String> {
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sqlx::query!(
        "INSERT INTO telegram_link_tokens (token_hash, guest_id, booking_id, expires_at) VALUES ($1, $2, $3, $4)",
        hash(&token),
        guest_id,
        booking_id,
        expires_at,
    )
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// `/start <token>`: links the chat to the token's guest, once.
pub async fn redeem_start(
    tx: &mut PgConnection,
    message: &InboundMessage,
    token: Option<&str>,
) -> Result<Vec<Outgoing>, JobError> {
    let Some(token) = token else {
        return Ok(vec![reply(message, replies::telegram_welcome())]);
    };
    let redeemed = sqlx::query!(
        "UPDATE telegram_link_tokens SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING guest_id, booking_id",
        hash(token)
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(redeemed) = redeemed else {
        return Ok(vec![reply(message, replies::telegram_link_invalid())]);
    };
    let first_name = link_chat(tx, redeemed.guest_id, &message.address).await?;
    if let Some(booking_id) = redeemed.booking_id {
        // Send the access details here too, when it is time.
        queue::enqueue(tx, &Job::PreArrival { booking_id }, Utc::now()).await?;
    }
    Ok(vec![reply(message, replies::telegram_linked(&first_name))])
}

/// A shared contact: linked only when it is the sender's own (Telegram's
/// `user_id` equals the sender) and its phone is a guest's.
pub async fn link_by_contact(
    tx: &mut PgConnection,
    message: &InboundMessage,
    phone: &str,
    contact_user_id: Option<&str>,
) -> Result<Vec<Outgoing>, JobError> {
    let own = contact_user_id.is_some() && contact_user_id == message.user_id.as_deref();
    let phone = Phone::parse(&format!("+{}", phone.trim_start_matches('+'))).ok();
    let guest = match (own, phone) {
        (true, Some(phone)) => {
            sqlx::query_scalar!("SELECT id FROM guests WHERE phone = $1", phone.as_str())
                .fetch_optional(&mut *tx)
                .await?
        }
        _ => None,
    };
    let Some(guest_id) = guest else {
        return Ok(vec![reply(message, replies::contact_not_linked())]);
    };
    let first_name = link_chat(tx, guest_id, &message.address).await?;
    let upcoming = sqlx::query_scalar!(
        "SELECT id FROM bookings WHERE guest_id = $1 AND status = 'confirmed' AND check_out_at > now()
         ORDER BY check_in_at",
        guest_id
    )
    .fetch_all(&mut *tx)
    .await?;
    for booking_id in upcoming {
        queue::enqueue(tx, &Job::PreArrival { booking_id }, Utc::now()).await?;
    }
    Ok(vec![reply(message, replies::telegram_linked(&first_name))])
}

/// Moves the chat to this guest (a chat belongs to one guest at a time) and
/// returns the guest's first name.
async fn link_chat(tx: &mut PgConnection, guest_id: Uuid, chat: &str) -> Result<String, JobError> {
    let chat_id: i64 = chat.parse().map_err(|_| JobError::Permanent(format!("{chat:?} is not a Telegram chat id")))?;
    sqlx::query!(
        "UPDATE guests SET telegram_chat_id = NULL WHERE telegram_chat_id = $1 AND id <> $2",
        chat_id,
        guest_id
    )
    .execute(&mut *tx)
    .await?;
    let name = sqlx::query_scalar!(
        "UPDATE guests SET telegram_chat_id = $2, updated_at = now() WHERE id = $1 RETURNING name",
        guest_id,
        chat_id
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(name.split_whitespace().next().unwrap_or_default().to_owned())
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}
