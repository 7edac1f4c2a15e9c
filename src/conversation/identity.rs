//! Telegram identities: a private chat is linked to one booking by a
//! single-use, expiring deep-link token (never the booking reference), or
//! by a shared contact that is the sender's own and matches the phone of a
//! current or upcoming booking. The link ends at that booking's check-out.
//! Group chats are never linked (security review M2).

use chrono::Utc;
use sqlx::PgConnection;

use super::{catalog, reply};
use crate::access::jobs::PreArrival;
use crate::access::links::{self, ContactKind, LinkedBy};
use crate::access::phone::Phone;
use crate::channels::{InboundMessage, Outgoing};
use crate::jobs::{queue, JobError};

/// `/start <token>`: links the chat to the token's booking, once. From a
/// group chat the token is not spent.
pub async fn redeem_start(
    tx: &mut PgConnection,
    message: &InboundMessage,
    token: Option<&str>,
) -> Result<Vec<Outgoing>, JobError> {
    if message.group {
        return Ok(vec![private_chat_only(message)]);
    }
    let Some(token) = token else {
        return Ok(vec![reply(message, catalog::text("en", "telegram_welcome", &[]))]);
    };
    let Some(booking_id) = links::redeem_telegram_token(tx, token).await? else {
        return Ok(vec![reply(message, catalog::text("en", "telegram_link_invalid", &[]))]);
    };
    links::link_contact(tx, booking_id, ContactKind::Telegram, &message.address, LinkedBy::TelegramLink).await?;
    // Send the access details here too, when it is time.
    queue::enqueue(tx, &PreArrival { booking_id }, Utc::now()).await?;
    Ok(vec![linked(tx, message, booking_id).await?])
}

/// A shared contact: linked only when it is the sender's own (Telegram's
/// `user_id` equals the sender), in a private chat, and its phone is the
/// guest's on a current or upcoming confirmed booking; then to that one
/// booking (the current, else the next).
pub async fn link_by_contact(
    tx: &mut PgConnection,
    message: &InboundMessage,
    phone: &str,
    contact_user_id: Option<&str>,
) -> Result<Vec<Outgoing>, JobError> {
    if message.group {
        return Ok(vec![private_chat_only(message)]);
    }
    let own = contact_user_id.is_some() && contact_user_id == message.user_id.as_deref();
    let phone = Phone::parse(&format!("+{}", phone.trim_start_matches('+'))).ok();
    let booking = match (own, phone) {
        (true, Some(phone)) => {
            sqlx::query_scalar!(
                "SELECT b.id FROM bookings b JOIN guests g ON g.id = b.guest_id
                 WHERE g.phone = $1 AND b.status = 'confirmed' AND b.check_out_at > now()
                 ORDER BY b.check_in_at LIMIT 1",
                phone.as_str()
            )
            .fetch_optional(&mut *tx)
            .await?
        }
        _ => None,
    };
    let Some(booking_id) = booking else {
        return Ok(vec![reply(message, catalog::text("en", "telegram_contact_not_linked", &[]))]);
    };
    links::link_contact(tx, booking_id, ContactKind::Telegram, &message.address, LinkedBy::TelegramContact).await?;
    queue::enqueue(tx, &PreArrival { booking_id }, Utc::now()).await?;
    Ok(vec![linked(tx, message, booking_id).await?])
}

/// The answer to a guest writing in a group chat: nothing about any stay,
/// only where to write instead.
pub fn private_chat_only(message: &InboundMessage) -> Outgoing {
    reply(message, catalog::text("en", "private_chat_only", &[]))
}

/// "This chat is now linked", in the guest's language, by first name.
async fn linked(tx: &mut PgConnection, message: &InboundMessage, booking_id: uuid::Uuid) -> sqlx::Result<Outgoing> {
    let guest = sqlx::query!(
        "SELECT g.name, g.language FROM bookings b JOIN guests g ON g.id = b.guest_id WHERE b.id = $1",
        booking_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let language = catalog::pick(&[Some(&guest.language)]);
    let first_name = guest.name.split_whitespace().next().unwrap_or_default();
    let mut answer = reply(message, catalog::text(language, "telegram_linked", &[("name", first_name)]));
    answer.language = language.to_owned();
    Ok(answer)
}
