//! Two-step actions: a staff member asks for something that leaves a guest
//! at the door or touches codes doorman did not set; it is stored with a
//! short token, done only when they confirm it in time (SPEC §5).

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::{AccessError, AccessResult};

/// How long a confirmation token works.
pub const CONFIRM_WITHIN: Duration = Duration::minutes(5);

/// What a confirmation will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Pending {
    /// Revoke a stay's guest codes.
    Revoke {
        /// The booking.
        booking_id: Uuid,
        /// The room's name, for the answer.
        room: String,
    },
    /// Replace a stay's guest codes and send the new ones.
    Regen {
        /// The booking.
        booking_id: Uuid,
        /// The room's name.
        room: String,
    },
    /// The guest has left: their access ends 15 minutes later.
    Depart {
        /// The booking.
        booking_id: Uuid,
        /// The room's name.
        room: String,
    },
    /// Remove codes doorman did not set: `(lock, provider's code id)`.
    Purge {
        /// The codes.
        orphans: Vec<(Uuid, String)>,
        /// The room's name.
        room: String,
    },
}

/// Stores `pending` for `staff_id`; returns the token to confirm it with.
pub async fn ask(
    conn: &mut PgConnection,
    staff_id: Uuid,
    pending: &Pending,
    summary: &str,
    now: DateTime<Utc>,
) -> AccessResult<String> {
    let mut bytes = [0u8; 3];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let action = serde_json::to_value(pending).map_err(|e| AccessError::Invalid(e.to_string()))?;
    sqlx::query!(
        "INSERT INTO confirmations (token_hash, staff_id, action, summary, expires_at) VALUES ($1, $2, $3, $4, $5)",
        hash(&token),
        staff_id,
        action,
        summary,
        now + CONFIRM_WITHIN,
    )
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// The action behind `token`, once: `None` when it is unknown, used,
/// expired or someone else's.
pub async fn redeem(conn: &mut PgConnection, staff_id: Uuid, token: &str) -> AccessResult<Option<Pending>> {
    let action = sqlx::query_scalar!(
        "UPDATE confirmations SET used_at = now()
         WHERE token_hash = $1 AND staff_id = $2 AND used_at IS NULL AND expires_at > now()
         RETURNING action",
        hash(token),
        staff_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    // A stored action that no longer reads (written by another version) is
    // treated as unknown: nothing is done that was not confirmed as such.
    Ok(action.and_then(|a| serde_json::from_value(a).ok()))
}

/// Drops the staff member's open confirmations; whether there was one.
pub async fn cancel_open(conn: &mut PgConnection, staff_id: Uuid) -> AccessResult<bool> {
    let dropped = sqlx::query!(
        "UPDATE confirmations SET used_at = now() WHERE staff_id = $1 AND used_at IS NULL AND expires_at > now()",
        staff_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(dropped.rows_affected() > 0)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().to_lowercase().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tokens are typed by hand: case and spaces around them do not matter.
    #[test]
    fn a_token_hashes_the_same_however_it_is_typed() {
        assert_eq!(hash("a1b2c3"), hash(" A1B2C3 "));
        assert_ne!(hash("a1b2c3"), hash("a1b2c4"));
    }

    /// Actions stored before this version still read.
    #[test]
    fn stored_actions_keep_their_shape() {
        let id = Uuid::nil();
        let stored = serde_json::json!({ "action": "revoke", "booking_id": id, "room": "101" });
        let read: Pending = serde_json::from_value(stored).expect("reads");
        assert_eq!(read, Pending::Revoke { booking_id: id, room: "101".into() });
    }
}
