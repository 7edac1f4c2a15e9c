//! Showing a code in full: the one place that does it for a guest or a
//! staff member, and the one place every reveal is audited
//! (`code.revealed`), the admin API's included. Listings mask.

use serde_json::json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::AccessCode;
use crate::access::audit::{self, Actor, Subject};
use crate::access::error::AccessResult;
use crate::access::model::CodeState;

/// Who a booking's codes are shown to.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// The booking's guest, on a channel: their working codes.
    Guest {
        /// The guest.
        guest_id: Uuid,
        /// The channel's name (`whatsapp`, `telegram`, ...).
        channel: &'a str,
    },
    /// A staff member (`/code … show`): every live code, failed ones too.
    Staff(Uuid),
    /// The message doorman sends the guest by itself (`pre_arrival`, or the
    /// new code after `/regen`): their working codes.
    Message(&'a str),
}

impl Audience<'_> {
    fn actor(self) -> Actor {
        match self {
            Self::Guest { guest_id, .. } => Actor::Guest(guest_id),
            Self::Staff(staff_id) => Actor::Staff(staff_id),
            Self::Message(_) => Actor::System,
        }
    }

    fn states(self) -> &'static [CodeState] {
        match self {
            Self::Guest { .. } | Self::Message(_) => CodeState::WORKING,
            Self::Staff(_) => CodeState::LIVE,
        }
    }

    fn details(self) -> serde_json::Value {
        match self {
            Self::Guest { channel, .. } => json!({ "channel": channel, "to": "guest" }),
            Self::Staff(_) => json!({ "to": "staff" }),
            Self::Message(purpose) => json!({ "to": "guest", "in": purpose }),
        }
    }
}

/// A code shown in full.
#[derive(Debug, Clone)]
pub struct Revealed {
    /// The code.
    pub code_id: Uuid,
    /// Its lock's name.
    pub lock: String,
    /// Its lock's name in other languages.
    pub lock_names: sqlx::types::Json<crate::access::locks::LockNames>,
    /// The value.
    pub code: String,
    /// Its state.
    pub state: String,
}

impl Revealed {
    /// Its lock's name in `language`, else the lock's own (English) name.
    pub fn lock_in(&self, language: &str) -> &str {
        crate::access::locks::name_in(&self.lock, &self.lock_names, language)
    }
}

/// A booking's guest codes that `audience` may see, shared doors first,
/// each reveal audited. Whether the moment allows it (the release rule) is
/// the caller's question, asked before.
pub async fn reveal_booking_codes(
    conn: &mut PgConnection,
    property_id: Uuid,
    booking_id: Uuid,
    audience: Audience<'_>,
) -> AccessResult<Vec<Revealed>> {
    let codes = sqlx::query_as!(
        Revealed,
        r#"SELECT c.id AS code_id, l.name AS lock, l.name_translations AS "lock_names: _", c.code, c.state
           FROM access_codes c JOIN locks l ON l.id = c.lock_id
           WHERE c.booking_id = $1 AND c.kind = 'guest' AND c.state = ANY($2)
           ORDER BY l.room_id IS NOT NULL, l.name"#,
        booking_id,
        audience.states() as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    for code in &codes {
        let subject = Subject {
            property_id: Some(property_id),
            code_id: Some(code.code_id),
            booking_id: Some(booking_id),
            ..Default::default()
        };
        audit::record(&mut *conn, audience.actor(), "code.revealed", subject, audience.details()).await?;
    }
    Ok(codes)
}

/// Records that the admin API answered with these codes in full (security
/// review L9): a leaked token used only to read codes leaves a trace. One
/// event per answer; live codes only (a removed value opens nothing).
pub async fn record_api_reveal(db: impl PgExecutor<'_>, subject: Subject, codes: &[AccessCode]) -> AccessResult<()> {
    let live: Vec<Uuid> = codes.iter().filter(|c| c.state != CodeState::Removed).map(|c| c.id).collect();
    if live.is_empty() {
        return Ok(());
    }
    let details = serde_json::json!({ "to": "api", "code_ids": live });
    audit::record(db, Actor::Api, "code.revealed", subject, details).await
}

/// Records that the admin API answered with `count` values read off a
/// lock (`device-codes`): one event per answer.
pub async fn record_device_reveal(db: impl PgExecutor<'_>, lock_id: Uuid, count: usize) -> AccessResult<()> {
    if count == 0 {
        return Ok(());
    }
    let subject = Subject { lock_id: Some(lock_id), ..Default::default() };
    let details = json!({ "to": "api", "device_codes": count });
    audit::record(db, Actor::Api, "code.revealed", subject, details).await
}
