//! A channel manager's webhook, accepted: the integration found by the
//! URL's token, the delivery stored once, and for a reservation the
//! [`SyncReservation`] job queued in the same transaction.

use chrono::Utc;
use sqlx::PgPool;

use super::{beds24, hostaway, smoobu, SyncReservation};
use crate::access::integrations::{find_by_token, record_delivery};
use crate::access::model::IntegrationKind;
use crate::access::AccessError;
use crate::jobs::queue;

/// What became of an accepted delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// New, about this reservation: its sync is queued.
    Queued(String),
    /// New, about no reservation (a message, an event doorman does not use).
    Ignored,
    /// Delivered before: nothing more to do.
    Redelivered,
}

/// Why a delivery was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// No integration has this token.
    #[error("unknown webhook token")]
    UnknownToken,
    /// The body is not JSON.
    #[error("the body is not JSON: {0}")]
    Malformed(#[from] serde_json::Error),
    /// It could not be stored; the channel manager will deliver it again.
    #[error("storing the delivery")]
    Unavailable(#[from] AccessError),
}

/// Accepts the delivery `raw` to the webhook URL with `token`.
pub async fn accept(db: &PgPool, token: &str, raw: &[u8]) -> Result<Accepted, Refused> {
    let mut tx = db.begin().await.map_err(AccessError::from)?;
    let integration = find_by_token(&mut *tx, token).await?.ok_or(Refused::UnknownToken)?;
    let body: serde_json::Value = serde_json::from_slice(raw)?;
    let reservation = reservation_id(integration.kind, &body);
    if !record_delivery(&mut tx, integration.id, raw, &body, reservation.as_deref()).await? {
        return Ok(Accepted::Redelivered);
    }
    let Some(reservation_id) = reservation else {
        tx.commit().await.map_err(AccessError::from)?;
        return Ok(Accepted::Ignored);
    };
    let job = SyncReservation { integration_id: integration.id, reservation_id: reservation_id.clone() };
    queue::enqueue(&mut tx, &job, Utc::now()).await.map_err(AccessError::from)?;
    tx.commit().await.map_err(AccessError::from)?;
    Ok(Accepted::Queued(reservation_id))
}

/// The reservation a body is about, in its channel manager's shape.
pub fn reservation_id(kind: IntegrationKind, body: &serde_json::Value) -> Option<String> {
    match kind {
        IntegrationKind::Smoobu => smoobu::reservation_id(body),
        IntegrationKind::Beds24 => beds24::reservation_id(body),
        IntegrationKind::Hostaway => hostaway::reservation_id(body),
    }
}
