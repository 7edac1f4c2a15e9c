//! The notification log: every outbound message and its delivery status.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::error::AccessResult;

/// One outbound message.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Notification {
    /// Identifier.
    pub id: Uuid,
    /// The booking it concerns.
    pub booking_id: Option<Uuid>,
    /// `whatsapp`, `telegram`, `sms`, `email`, `console`.
    pub channel: String,
    /// Who it went to (phone, chat id or address).
    pub recipient: String,
    /// Which message it was, e.g. `pre_arrival`.
    pub template: String,
    /// The provider's id of the message.
    pub provider_message_id: Option<String>,
    /// `queued`, `sent`, `delivered`, `read` or `failed`.
    pub status: String,
    /// The provider's error when it failed.
    pub error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When its status last changed.
    pub updated_at: DateTime<Utc>,
}

/// Filters of `GET /api/v1/notifications`.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    /// Only messages about this booking.
    pub booking_id: Option<Uuid>,
    /// Only messages about bookings with a code on this lock.
    pub lock_id: Option<Uuid>,
    /// At most this many, newest last.
    pub limit: i64,
}

/// The latest `filter.limit` messages matching the filter, oldest first.
pub async fn list(db: impl PgExecutor<'_>, filter: &NotificationFilter) -> AccessResult<Vec<Notification>> {
    let mut rows = sqlx::query_as!(
        Notification,
        "SELECT n.id, n.booking_id, n.channel, n.recipient, n.template, n.provider_message_id, n.status, n.error,
             n.created_at, n.updated_at
         FROM notifications n
         WHERE ($1::uuid IS NULL OR n.booking_id = $1)
           AND ($2::uuid IS NULL OR EXISTS (
               SELECT 1 FROM access_codes c WHERE c.booking_id = n.booking_id AND c.lock_id = $2))
         ORDER BY n.created_at DESC, n.id DESC
         LIMIT $3",
        filter.booking_id,
        filter.lock_id,
        filter.limit,
    )
    .fetch_all(db)
    .await?;
    rows.reverse();
    Ok(rows)
}
