//! Hand-offs: a guest's chat handed to a person. While one is open the
//! bot stays quiet on that chat; staff end it with `/resolve` (or, later,
//! from the console), or it lapses.

use chrono::Duration;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::access::audit::Actor;
use crate::channels::InboundMessage;

/// How long a hand-off pauses automatic replies when staff do not resolve it.
pub const HANDOFF_TIMEOUT: Duration = Duration::hours(24);

/// An open hand-off in a staff member's properties.
#[derive(Debug, Clone)]
pub struct OpenHandoff {
    /// The hand-off.
    pub id: Uuid,
    /// The guest's name, when known.
    pub guest: Option<String>,
    /// The room of their current (else latest) stay, when known.
    pub room: Option<String>,
    /// The property it was opened at.
    pub property_id: Option<Uuid>,
}

/// Opens a hand-off for the chat of `message`; `None` when one is open.
pub async fn open(
    conn: &mut PgConnection,
    message: &InboundMessage,
    guest_id: Uuid,
    property_id: Uuid,
    reason: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar!(
        "INSERT INTO handoffs (channel, address, guest_id, property_id, reason, expires_at)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
         ON CONFLICT (channel, address) WHERE resolved_at IS NULL DO NOTHING RETURNING id",
        message.channel.as_str(),
        message.address,
        guest_id,
        property_id,
        reason,
        HANDOFF_TIMEOUT.num_seconds() as f64,
    )
    .fetch_optional(&mut *conn)
    .await
}

/// The property of the open hand-off of this chat, if one is open (`Some(None)`:
/// open, with no property).
pub async fn open_for(conn: &mut PgConnection, message: &InboundMessage) -> sqlx::Result<Option<Option<Uuid>>> {
    let open = sqlx::query!(
        "SELECT property_id FROM handoffs
         WHERE channel = $1 AND address = $2 AND resolved_at IS NULL AND expires_at > now()",
        message.channel.as_str(),
        message.address
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(open.map(|o| o.property_id))
}

/// The open hand-offs among `property_ids`, newest first.
pub async fn list_open(conn: &mut PgConnection, property_ids: &[Uuid]) -> sqlx::Result<Vec<OpenHandoff>> {
    sqlx::query_as!(
        OpenHandoff,
        r#"SELECT h.id, g.name AS "guest?", r.name AS "room?", h.property_id AS "property_id?" FROM handoffs h
           LEFT JOIN guests g ON g.id = h.guest_id
           LEFT JOIN LATERAL (SELECT b.room_id FROM bookings b WHERE b.guest_id = h.guest_id AND b.property_id = h.property_id
                              ORDER BY (b.check_out_at > now()) DESC, b.check_in_at LIMIT 1) stay ON true
           LEFT JOIN rooms r ON r.id = stay.room_id
           WHERE h.resolved_at IS NULL AND h.expires_at > now() AND h.property_id = ANY($1)
           ORDER BY h.opened_at DESC"#,
        property_ids
    )
    .fetch_all(&mut *conn)
    .await
}

/// Ends a hand-off: automatic replies to that chat resume.
pub async fn resolve(conn: &mut PgConnection, handoff_id: Uuid, by: Actor) -> sqlx::Result<()> {
    sqlx::query!(
        "UPDATE handoffs SET resolved_at = now(), resolved_by = $2 WHERE id = $1 AND resolved_at IS NULL",
        handoff_id,
        by.to_db()
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
