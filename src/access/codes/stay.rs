//! A stay's guest codes as a whole: revoked (`/revoke`), or replaced by new
//! ones (`/regen`).

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::access::audit::Actor;
use crate::access::error::AccessResult;
use crate::access::lifecycle;
use crate::access::model::CodeState;

/// Revokes every live guest code of a booking, even during the stay (staff
/// confirmed it); returns how many. They leave the locks through the
/// removal jobs.
pub async fn revoke_stay_codes(
    conn: &mut PgConnection,
    booking_id: Uuid,
    reason: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<usize> {
    let live = live_guest_codes(conn, booking_id).await?;
    for code_id in &live {
        lifecycle::revoke_code(&mut *conn, *code_id, reason, true, actor, now).await?;
    }
    Ok(live.len())
}

/// The booking's live guest codes.
pub async fn live_guest_codes(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM access_codes WHERE booking_id = $1 AND kind = 'guest' AND state = ANY($2)",
        booking_id,
        CodeState::LIVE as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Replaces a booking's guest codes: the old ones are revoked, new ones
/// drawn and queued for the locks. Sending them is the caller's.
pub async fn replace_stay_codes(
    conn: &mut PgConnection,
    booking_id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<usize> {
    let revoked = revoke_stay_codes(conn, booking_id, "replaced by staff", actor, now).await?;
    crate::access::bookings::clear_revocation(&mut *conn, booking_id).await?;
    lifecycle::sync_booking_codes(&mut *conn, booking_id, actor, now).await?;
    Ok(revoked)
}
