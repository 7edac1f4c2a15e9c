//! Locks: a room's door or a property-wide entrance.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::error::{AccessError, AccessResult};
use super::model::{CodeFormat, CodeLength, LockKind, LockStatus, ProviderKind};

/// A lock to register, already parsed.
#[derive(Debug, Clone)]
pub struct NewLock {
    /// Its property.
    pub property_id: Uuid,
    /// Its room; `None` for an entrance shared by every room.
    pub room_id: Option<Uuid>,
    /// Display name, e.g. "Room 101 door".
    pub name: String,
    /// Manufacturer, e.g. "Nuki".
    pub brand: String,
    /// Model, e.g. "Keypad 2.0".
    pub model: String,
    /// How a guest operates it.
    pub kind: LockKind,
    /// Who programs it.
    pub provider: ProviderKind,
    /// The provider's id of the device.
    pub provider_device_id: String,
    /// Characters its codes use.
    pub code_format: CodeFormat,
    /// Length of its guest codes.
    pub code_length: CodeLength,
    /// How many codes it holds.
    pub capacity: i32,
    /// Whether doorman programs codes on it.
    pub status: LockStatus,
    /// How many backup codes doorman keeps on it (0–10).
    pub backup_codes: i32,
}

/// A stored lock.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Lock {
    /// Identifier.
    pub id: Uuid,
    /// Its property.
    pub property_id: Uuid,
    /// Its room; absent for a property-wide entrance.
    pub room_id: Option<Uuid>,
    /// Display name.
    pub name: String,
    /// Manufacturer.
    pub brand: String,
    /// Model.
    pub model: String,
    /// How a guest operates it.
    pub kind: LockKind,
    /// Who programs it.
    pub provider: ProviderKind,
    /// The provider's id of the device.
    pub provider_device_id: String,
    /// Characters its codes use.
    pub code_format: CodeFormat,
    /// Length of its guest codes.
    pub code_length: i32,
    /// How many codes it holds.
    pub capacity: i32,
    /// Whether doorman programs codes on it.
    pub status: LockStatus,
    /// How many backup codes doorman keeps on it, for a guest whose own
    /// code does not get on the lock in time.
    pub backup_codes: i32,
    /// Online at the last check; absent before the first.
    pub device_online: Option<bool>,
    /// Battery charge at the last check, when the provider reports it.
    pub battery_percent: Option<i32>,
    /// The battery was low at the last check.
    pub battery_low: Option<bool>,
    /// The keypad's battery was low at the last check.
    pub keypad_battery_low: Option<bool>,
    /// When the device was last checked.
    pub status_checked_at: Option<DateTime<Utc>>,
    /// When what is on the device was last compared with doorman's codes.
    pub reconciled_at: Option<DateTime<Utc>>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// Registers a lock. The room, when given, must belong to the property.
#[tracing::instrument(skip_all, fields(property_id = %new.property_id, lock.name = %new.name))]
pub async fn create_lock(conn: &mut PgConnection, new: &NewLock) -> AccessResult<Lock> {
    super::properties::get_property(&mut *conn, new.property_id).await?;
    if let Some(room_id) = new.room_id {
        let room_property = sqlx::query_scalar!("SELECT property_id FROM rooms WHERE id = $1", room_id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AccessError::NotFound { entity: "room" })?;
        if room_property != new.property_id {
            return Err(AccessError::invalid("room_id", "the room belongs to another property"));
        }
    }
    let id = sqlx::query_scalar!(
        "INSERT INTO locks (property_id, room_id, name, brand, model, kind, provider, provider_device_id,
             code_format, code_length, capacity, status, backup_codes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         RETURNING id",
        new.property_id,
        new.room_id,
        new.name,
        new.brand,
        new.model,
        new.kind.as_str(),
        new.provider.as_str(),
        new.provider_device_id,
        new.code_format.as_str(),
        new.code_length.get() as i32,
        new.capacity,
        new.status.as_str(),
        new.backup_codes,
    )
    .fetch_one(&mut *conn)
    .await?;
    get_lock(&mut *conn, id).await
}

/// A lock by id.
pub async fn get_lock(db: impl PgExecutor<'_>, id: Uuid) -> AccessResult<Lock> {
    sqlx::query_as!(
        Lock,
        r#"SELECT id, property_id, room_id, name, brand, model, kind AS "kind: LockKind",
               provider AS "provider: ProviderKind", provider_device_id,
               code_format AS "code_format: CodeFormat", code_length, capacity,
               status AS "status: LockStatus", backup_codes, device_online, battery_percent, battery_low,
               keypad_battery_low, status_checked_at, reconciled_at, created_at
           FROM locks WHERE id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AccessError::NotFound { entity: "lock" })
}

/// Every lock of a property, entrances first, then by name.
pub async fn list_property_locks(db: impl PgExecutor<'_>, property_id: Uuid) -> AccessResult<Vec<Lock>> {
    Ok(sqlx::query_as!(
        Lock,
        r#"SELECT id, property_id, room_id, name, brand, model, kind AS "kind: LockKind",
               provider AS "provider: ProviderKind", provider_device_id,
               code_format AS "code_format: CodeFormat", code_length, capacity,
               status AS "status: LockStatus", backup_codes, device_online, battery_percent, battery_low,
               keypad_battery_low, status_checked_at, reconciled_at, created_at
           FROM locks WHERE property_id = $1
           ORDER BY room_id IS NOT NULL, name"#,
        property_id
    )
    .fetch_all(db)
    .await?)
}

/// Queues the removal of a code doorman did not set from a lock, after
/// staff confirmed it (`/audit`); audited. It is never removed on its own.
pub async fn request_orphan_removal(
    conn: &mut PgConnection,
    lock_id: Uuid,
    provider_ref: &str,
    actor: super::audit::Actor,
) -> AccessResult<()> {
    let job = super::jobs::RemoveDeviceCode { lock_id, provider_ref: provider_ref.to_owned() };
    crate::jobs::queue::enqueue(&mut *conn, &job, Utc::now()).await?;
    let subject = super::audit::Subject { lock_id: Some(lock_id), ..Default::default() };
    let details = serde_json::json!({ "provider_ref": provider_ref });
    super::audit::record(&mut *conn, actor, "lock.orphan_purge_requested", subject, details).await
}
