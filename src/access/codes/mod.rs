//! Access codes: the secrets on the locks, and where each one stands.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::audit::Subject;
use super::error::{AccessError, AccessResult};
use super::model::{CodeKind, CodeState};

pub mod drift;
pub mod manual;
pub mod reveal;

pub use reveal::{record_api_reveal, record_device_reveal};
pub mod state;
pub mod stay;

/// A stored access code. The admin API shows it in full; chat listings use
/// [`mask`].
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct AccessCode {
    /// Identifier.
    pub id: Uuid,
    /// The lock it opens.
    pub lock_id: Uuid,
    /// The secret.
    pub code: String,
    /// Why it exists.
    pub kind: CodeKind,
    /// Where it stands on its way to or from the lock.
    pub state: CodeState,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity; absent for persistent staff codes.
    pub valid_until: Option<DateTime<Utc>>,
    /// Its booking, for guest codes.
    pub booking_id: Option<Uuid>,
    /// Its staff member, for staff codes.
    pub staff_id: Option<Uuid>,
    /// Free text, e.g. "plumber".
    pub label: Option<String>,
    /// The provider's id of the code on the device.
    pub provider_ref: Option<String>,
    /// The provider's last error.
    pub last_error: Option<String>,
    /// Who created it.
    pub created_by: String,
    /// Who revoked it.
    pub revoked_by: Option<String>,
    /// Why it was revoked.
    pub revoke_reason: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When its state last changed.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessCode")
            .field("id", &self.id)
            .field("lock_id", &self.lock_id)
            .field("code", &mask(&self.code))
            .field("kind", &self.kind)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

/// A code as listings show it (SPEC §3.12): four dots and its last two
/// characters, `••••91`, whatever its length.
pub fn mask(code: &str) -> String {
    let chars: Vec<char> = code.chars().collect();
    if chars.len() <= 2 {
        return "••••".to_owned();
    }
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("••••{tail}")
}

/// Keeps a provider's last error on a code (no state change). Returns what
/// the code's audit rows are about: its lock and booking when it exists.
pub async fn note_error(conn: &mut PgConnection, code_id: Uuid, error: &str) -> AccessResult<Subject> {
    let row = sqlx::query!(
        "UPDATE access_codes SET last_error = $2, updated_at = now() WHERE id = $1 RETURNING lock_id, booking_id",
        code_id,
        error
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(Subject {
        lock_id: row.as_ref().map(|r| r.lock_id),
        code_id: Some(code_id),
        booking_id: row.and_then(|r| r.booking_id),
        ..Default::default()
    })
}

/// A code by id.
pub async fn get_code(db: impl PgExecutor<'_>, id: Uuid) -> AccessResult<AccessCode> {
    sqlx::query_as!(
        AccessCode,
        r#"SELECT id, lock_id, code, kind AS "kind: CodeKind", state AS "state: CodeState", valid_from, valid_until,
               booking_id, staff_id, label, provider_ref, last_error, created_by, revoked_by, revoke_reason,
               created_at, updated_at
           FROM access_codes WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AccessError::NotFound { entity: "code" })
}

/// Every code of a booking, newest first.
pub async fn list_booking_codes(db: impl PgExecutor<'_>, booking_id: Uuid) -> AccessResult<Vec<AccessCode>> {
    Ok(sqlx::query_as!(
        AccessCode,
        r#"SELECT id, lock_id, code, kind AS "kind: CodeKind", state AS "state: CodeState", valid_from, valid_until,
               booking_id, staff_id, label, provider_ref, last_error, created_by, revoked_by, revoke_reason,
               created_at, updated_at
           FROM access_codes WHERE booking_id = $1
           ORDER BY created_at DESC, id"#,
        booking_id
    )
    .fetch_all(db)
    .await?)
}

/// Every code of a lock, live and past, newest first.
pub async fn list_lock_codes(db: impl PgExecutor<'_>, lock_id: Uuid) -> AccessResult<Vec<AccessCode>> {
    Ok(sqlx::query_as!(
        AccessCode,
        r#"SELECT id, lock_id, code, kind AS "kind: CodeKind", state AS "state: CodeState", valid_from, valid_until,
               booking_id, staff_id, label, provider_ref, last_error, created_by, revoked_by, revoke_reason,
               created_at, updated_at
           FROM access_codes WHERE lock_id = $1
           ORDER BY created_at DESC, id"#,
        lock_id
    )
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn shows_the_last_two_characters_only() {
        assert_eq!(mask("849391"), "••••91");
        assert_eq!(mask("1234"), "••••34");
        assert_eq!(mask("ABCDEFGHJK"), "••••JK");
        assert_eq!(mask("12"), "••••");
    }
}
