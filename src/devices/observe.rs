//! What a provider says is on a lock, matched against doorman's live codes
//! (SPEC §3.10): each device code is `managed` or an `orphan`. Orphans are
//! stored, so their values are never handed out again, and reported; they
//! are never removed automatically.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::codes::code_name;
use crate::access::audit::{self, Actor, Subject};
use crate::access::codes::mask;
use crate::access::locks::get_lock;
use crate::access::model::ProviderKind;
use crate::access::AccessError;
use crate::lock_providers::{Device, DeviceCode, DeviceCodeStatus, ProviderError, Providers};

/// A code on the device, as the admin API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ObservedCode {
    /// The value, when the provider reveals it.
    pub code: Option<String>,
    /// The provider's id of the code.
    pub provider_ref: String,
    /// Its name on the device.
    pub name: String,
    /// `managed` (a live doorman code) or `orphan`.
    pub status: &'static str,
    /// Whether doorman manages it.
    pub managed: bool,
    /// doorman's code, when managed.
    pub code_id: Option<Uuid>,
    /// Start of validity on the device.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity on the device.
    pub valid_until: Option<DateTime<Utc>>,
    /// Where the code stands on the device: `set`, `setting`, `removing`
    /// or `failed`.
    pub on_device: &'static str,
    /// Why the provider could not put it on the device, when `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_error: Option<String>,
}

/// Why the device could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    /// A lock or database problem.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The provider failed.
    #[error("the lock provider failed: {0}")]
    Provider(#[from] ProviderError),
    /// This instance has no credentials for the lock's provider.
    #[error("the {0} provider is not configured on this instance")]
    NotConfigured(ProviderKind),
}

impl From<sqlx::Error> for ObserveError {
    fn from(err: sqlx::Error) -> Self {
        Self::Access(err.into())
    }
}

/// Lists the device, marks each code, stores the result and audits orphans
/// seen for the first time.
#[tracing::instrument(skip_all, fields(%lock_id))]
pub async fn observe_device_codes(
    db: &PgPool,
    providers: &Providers,
    lock_id: Uuid,
) -> Result<Vec<ObservedCode>, ObserveError> {
    let lock = get_lock(db, lock_id).await?;
    let provider = providers.get(lock.provider).map_err(|_| ObserveError::NotConfigured(lock.provider))?;
    let device = Device { lock_id, device_id: lock.provider_device_id.clone() };
    let listed = provider.list_codes(&device).await?;
    record_listing(db, lock_id, listed).await
}

/// Marks each listed code `managed` or `orphan`, stores the result and
/// audits orphans seen for the first time.
pub async fn record_listing(
    db: &PgPool,
    lock_id: Uuid,
    listed: Vec<DeviceCode>,
) -> Result<Vec<ObservedCode>, ObserveError> {
    let lock = get_lock(db, lock_id).await?;
    let live = sqlx::query!(
        r#"SELECT c.id, c.code, c.provider_ref, b.external_ref AS "booking_ref?"
           FROM access_codes c LEFT JOIN bookings b ON b.id = c.booking_id
           WHERE c.lock_id = $1 AND c.state <> 'removed'"#,
        lock_id
    )
    .fetch_all(db)
    .await?;
    let observed: Vec<ObservedCode> = listed
        .into_iter()
        .map(|device_code| {
            let owner = live.iter().find(|c| {
                c.provider_ref.as_deref() == Some(device_code.provider_ref.as_str())
                    || device_code.name == code_name(c.booking_ref.as_deref(), c.id)
                    || device_code.code.as_deref() == Some(c.code.as_str())
            });
            ObservedCode {
                code: device_code.code,
                provider_ref: device_code.provider_ref,
                name: device_code.name,
                status: if owner.is_some() { "managed" } else { "orphan" },
                managed: owner.is_some(),
                code_id: owner.map(|c| c.id),
                valid_from: device_code.valid_from,
                valid_until: device_code.valid_until,
                on_device: device_code.status.as_str(),
                device_error: match device_code.status {
                    DeviceCodeStatus::Failed(reason) => Some(reason),
                    _ => None,
                },
            }
        })
        .collect();

    let mut tx = db.begin().await?;
    let known_orphans: HashSet<String> =
        sqlx::query_scalar!("SELECT provider_ref FROM device_codes WHERE lock_id = $1 AND NOT managed", lock_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    sqlx::query!("DELETE FROM device_codes WHERE lock_id = $1", lock_id).execute(&mut *tx).await?;
    for code in &observed {
        sqlx::query!(
            "INSERT INTO device_codes (lock_id, provider_ref, code, name, managed) VALUES ($1, $2, $3, $4, $5)",
            lock_id,
            code.provider_ref,
            code.code,
            code.name,
            code.managed,
        )
        .execute(&mut *tx)
        .await?;
        if !code.managed && !known_orphans.contains(&code.provider_ref) {
            let subject = Subject { property_id: Some(lock.property_id), lock_id: Some(lock_id), ..Default::default() };
            let details = json!({
                "provider_ref": code.provider_ref,
                "name": code.name,
                "code": code.code.as_deref().map(mask),
            });
            audit::record(&mut *tx, Actor::System, "lock.orphan_found", subject, details).await?;
        }
    }
    tx.commit().await?;
    Ok(observed)
}
