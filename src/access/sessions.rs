//! The console's login (SPEC §10): a one-time link, valid 15 minutes, from
//! the `/login` chat command or `doorman admin-link`, traded for a session
//! of 12 hours. Both tokens are random, handed out once and stored as
//! their SHA-256 only; every login and logout is audited.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::{self, Actor, Subject};
use super::error::AccessResult;
use super::staff::{member_by_id, StaffMember};

/// How long a login link works.
pub const LINK_VALID: Duration = Duration::minutes(15);

/// How long a session lasts.
pub const SESSION_LENGTH: Duration = Duration::hours(12);

/// Stores a new login link for `staff_id`; returns its token (shown once).
pub async fn issue_login_link(
    conn: &mut PgConnection,
    staff_id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<String> {
    let token = random_token();
    sqlx::query!(
        "INSERT INTO console_links (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)",
        hash(&token),
        staff_id,
        now + LINK_VALID
    )
    .execute(&mut *conn)
    .await?;
    let details = json!({ "staff_id": staff_id, "valid_minutes": LINK_VALID.num_minutes() });
    audit::record(&mut *conn, actor, "console.link_issued", Subject::default(), details).await?;
    Ok(token)
}

/// Trades a login link for a session, once: the session's token, or `None`
/// when the link is unknown, used, expired or its staff member inactive.
pub async fn redeem_login_link(
    conn: &mut PgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> AccessResult<Option<String>> {
    let staff_id = sqlx::query_scalar!(
        "UPDATE console_links l SET used_at = $2
         FROM staff s
         WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > $2 AND s.id = l.staff_id AND s.active
         RETURNING l.staff_id",
        hash(token),
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(staff_id) = staff_id else {
        return Ok(None);
    };
    let session = random_token();
    sqlx::query!(
        "INSERT INTO console_sessions (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)",
        hash(&session),
        staff_id,
        now + SESSION_LENGTH
    )
    .execute(&mut *conn)
    .await?;
    audit::record(&mut *conn, Actor::Staff(staff_id), "console.login", Subject::default(), json!({})).await?;
    Ok(Some(session))
}

/// The active staff member of a live session, with their roles now.
pub async fn session_member(
    conn: &mut PgConnection,
    token: &str,
    now: DateTime<Utc>,
) -> AccessResult<Option<StaffMember>> {
    let staff_id = sqlx::query_scalar!(
        "SELECT staff_id FROM console_sessions WHERE token_hash = $1 AND ended_at IS NULL AND expires_at > $2",
        hash(token),
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    match staff_id {
        Some(staff_id) => member_by_id(conn, staff_id).await,
        None => Ok(None),
    }
}

/// Ends a session (logout); audited when there was one.
pub async fn end_session(conn: &mut PgConnection, token: &str) -> AccessResult<()> {
    let ended = sqlx::query_scalar!(
        "UPDATE console_sessions SET ended_at = now() WHERE token_hash = $1 AND ended_at IS NULL RETURNING staff_id",
        hash(token)
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(staff_id) = ended {
        audit::record(&mut *conn, Actor::Staff(staff_id), "console.logout", Subject::default(), json!({})).await?;
    }
    Ok(())
}

/// The session's CSRF token: derived from the session's own secret, so it
/// is per session, needs no storage, and cannot be guessed without the
/// cookie.
pub fn csrf_token(session_token: &str) -> String {
    hex::encode(Sha256::digest(format!("csrf:{session_token}").as_bytes()))
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CSRF token differs per session and from the stored hash.
    #[test]
    fn csrf_tokens_are_per_session() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert_ne!(csrf_token(&a), hash(&a));
        assert_eq!(csrf_token(&a), csrf_token(&a));
    }
}
