//! Who may write about a booking besides the phone on it: a Telegram chat
//! linked by a deep link or a shared contact, a number staff linked with
//! `/link`. Every link belongs to one booking and ends at that booking's
//! check-out (security review H1): a later booking with the same phone is
//! never reachable from an earlier booking's chat.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::{self, Actor, Subject};
use super::error::AccessResult;
use super::phone::Phone;

/// What kind of address a link names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactKind {
    /// An E.164 number writing on WhatsApp (or the console).
    Phone,
    /// A private Telegram chat.
    Telegram,
}

impl ContactKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Telegram => "telegram",
        }
    }
}

/// How a link came about; stored as `linked_by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkedBy {
    /// The single-use `/start <token>` deep link of the booking's message.
    TelegramLink,
    /// A Telegram contact that is the sender's own and has the booking's phone.
    TelegramContact,
    /// A staff member's `/link`.
    Staff(Uuid),
    /// The guest's own claim: the booking reference and the last four
    /// digits of its phone, or its surname (`access::claims`).
    Claim,
}

impl LinkedBy {
    fn to_db(self) -> String {
        match self {
            Self::TelegramLink => "telegram_link".to_owned(),
            Self::TelegramContact => "telegram_contact".to_owned(),
            Self::Claim => "claim".to_owned(),
            Self::Staff(id) => Actor::Staff(id).to_db(),
        }
    }

    fn actor(self) -> Actor {
        match self {
            Self::Staff(id) => Actor::Staff(id),
            Self::TelegramLink | Self::TelegramContact | Self::Claim => Actor::System,
        }
    }
}

/// Links `address` to one booking until its check-out. Linking again is a
/// no-op; returns whether a link was made now.
pub async fn link_contact(
    conn: &mut PgConnection,
    booking_id: Uuid,
    kind: ContactKind,
    address: &str,
    linked_by: LinkedBy,
) -> AccessResult<bool> {
    let made = sqlx::query_scalar!(
        "INSERT INTO booking_contacts (booking_id, kind, address, linked_by) VALUES ($1, $2, $3, $4)
         ON CONFLICT (booking_id, kind, address) WHERE ended_at IS NULL DO NOTHING RETURNING id",
        booking_id,
        kind.as_str(),
        address,
        linked_by.to_db(),
    )
    .fetch_optional(&mut *conn)
    .await?
    .is_some();
    if made {
        let shown = match kind {
            ContactKind::Phone => super::phone::mask(address),
            ContactKind::Telegram => "a Telegram chat".to_owned(),
        };
        let subject = Subject { booking_id: Some(booking_id), ..Default::default() };
        let details = json!({ "kind": kind.as_str(), "contact": shown, "linked_by": linked_by.to_db() });
        audit::record(&mut *conn, linked_by.actor(), "guest.contact_linked", subject, details).await?;
    }
    Ok(made)
}

/// The bookings an address is linked to now: links not ended, of bookings
/// not cancelled whose check-out is still ahead.
pub async fn linked_bookings(conn: &mut PgConnection, kind: ContactKind, address: &str) -> AccessResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT b.id FROM booking_contacts bc JOIN bookings b ON b.id = bc.booking_id
         WHERE bc.kind = $1 AND bc.address = $2 AND bc.ended_at IS NULL
           AND b.status <> 'cancelled' AND b.check_out_at > now()
         ORDER BY b.check_in_at",
        kind.as_str(),
        address
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// The Telegram chat linked to a booking now (the first linked), where its
/// messages go.
pub async fn telegram_chat_of(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<Option<String>> {
    Ok(sqlx::query_scalar!(
        "SELECT bc.address FROM booking_contacts bc JOIN bookings b ON b.id = bc.booking_id
         WHERE bc.booking_id = $1 AND bc.kind = 'telegram' AND bc.ended_at IS NULL AND b.check_out_at > now()
         ORDER BY bc.created_at LIMIT 1",
        booking_id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// The number a guest claimed this booking from (the first), where its
/// messages go when the booking has no phone of its own.
pub async fn claimed_phone_of(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<Option<String>> {
    Ok(sqlx::query_scalar!(
        "SELECT bc.address FROM booking_contacts bc JOIN bookings b ON b.id = bc.booking_id
         WHERE bc.booking_id = $1 AND bc.kind = 'phone' AND bc.linked_by = 'claim' AND bc.ended_at IS NULL
           AND b.check_out_at > now()
         ORDER BY bc.created_at LIMIT 1",
        booking_id
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// A link that was ended.
#[derive(Debug, Clone)]
pub struct EndedLink {
    /// The booking it was for.
    pub booking_id: Uuid,
    /// Its reference.
    pub external_ref: String,
    /// The address, masked.
    pub contact: String,
}

/// Ends the live links a staff member made (their deactivation, M3), audited.
pub async fn end_links_made_by(
    conn: &mut PgConnection,
    staff_id: Uuid,
    actor: Actor,
    reason: &str,
) -> AccessResult<Vec<EndedLink>> {
    let rows = sqlx::query!(
        "UPDATE booking_contacts bc SET ended_at = now(), end_reason = $2
         FROM bookings b
         WHERE b.id = bc.booking_id AND bc.linked_by = $1 AND bc.ended_at IS NULL
         RETURNING bc.booking_id, b.external_ref, bc.kind, bc.address",
        Actor::Staff(staff_id).to_db(),
        reason
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut ended = Vec::with_capacity(rows.len());
    for row in rows {
        let contact = if row.kind == "phone" { super::phone::mask(&row.address) } else { "a Telegram chat".into() };
        let subject = Subject { booking_id: Some(row.booking_id), ..Default::default() };
        let details = json!({ "kind": row.kind, "contact": contact, "reason": reason });
        audit::record(&mut *conn, actor, "guest.contact_unlinked", subject, details).await?;
        ended.push(EndedLink { booking_id: row.booking_id, external_ref: row.external_ref, contact });
    }
    Ok(ended)
}

/// Whether a number is the guest's own phone on some booking other than
/// this one (a `/link` of it changes nothing for that other stay).
pub async fn is_another_guests_phone(conn: &mut PgConnection, phone: &Phone, booking_id: Uuid) -> AccessResult<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM guests g JOIN bookings b ON b.guest_id = g.id
                          WHERE g.phone = $1 AND b.id <> $2 AND b.check_out_at > now()) AS "exists!""#,
        phone.as_str(),
        booking_id
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Creates a token for `https://t.me/<bot>?start=<token>` that links a chat
/// to this booking, once, until its check-out. Only its hash is stored.
pub async fn issue_telegram_token(
    conn: &mut PgConnection,
    booking_id: Uuid,
    expires_at: DateTime<Utc>,
) -> AccessResult<String> {
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sqlx::query!(
        "INSERT INTO telegram_link_tokens (token_hash, guest_id, booking_id, expires_at)
         SELECT $1, guest_id, id, $3 FROM bookings WHERE id = $2",
        token_hash(&token),
        booking_id,
        expires_at,
    )
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// Spends a deep-link token: the booking it links to, once, before it
/// expires; `None` for an unknown, used or expired token.
pub async fn redeem_telegram_token(conn: &mut PgConnection, token: &str) -> AccessResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "UPDATE telegram_link_tokens SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING booking_id",
        token_hash(token)
    )
    .fetch_optional(&mut *conn)
    .await?)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}
