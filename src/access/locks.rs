//! Locks: a room's door or a property-wide entrance.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
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
    /// Display name, e.g. "Room 101 door": the English one, the fallback.
    pub name: String,
    /// Its name in other languages (`{"de": "Haustür"}`), told to a guest
    /// of that language.
    pub name_translations: LockNames,
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
    /// Display name: the English one, and every language not in
    /// `name_translations`.
    pub name: String,
    /// Its name in other languages, e.g. `{"de": "Haustür"}`.
    #[schema(value_type = BTreeMap<String, String>)]
    pub name_translations: Json<LockNames>,
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
    /// The provider account the device belongs to: Seam's
    /// `connected_account_id` (learned from device reads and discovery),
    /// `api_token` for every Nuki lock; absent when not known yet.
    pub provider_account_id: Option<String>,
    /// Whether that account works, when doorman has heard about it:
    /// `connected`, `disconnected`, `reauthorization_requested` (Seam) or
    /// `refused` (Nuki refused `NUKI_API_TOKEN`). A lock of an account that
    /// does not work is not called; its codes wait (SPEC §12).
    pub account_state: Option<String>,
    /// Since when the account is in that state.
    pub account_since: Option<DateTime<Utc>>,
}

/// The shortest guest code a property-wide entrance may use.
pub const ENTRANCE_MIN_LENGTH: usize = 6;
/// The most codes a lock may be said to hold.
pub const MAX_CAPACITY: i32 = 10_000;
/// The most backup codes doorman keeps on one lock.
pub const MAX_BACKUP_CODES: i32 = 10;
/// The longest display name of a lock, in characters.
pub const MAX_LOCK_NAME: usize = 100;

/// A lock's names by language (ISO 639), besides its English `name`.
pub type LockNames = BTreeMap<String, String>;

/// A lock's display name: trimmed, 1 to 100 characters.
pub fn parse_lock_name(raw: &str) -> AccessResult<String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_LOCK_NAME {
        return Err(AccessError::invalid("name", "1 to 100 characters"));
    }
    Ok(name.to_owned())
}

/// A lock's names in other languages: each key a language (`de`, `pt-BR`
/// is `pt`), each name 1 to 100 characters; English is `name` itself.
pub fn parse_lock_names(raw: BTreeMap<String, String>) -> AccessResult<LockNames> {
    let mut names = LockNames::new();
    for (language, name) in raw {
        let field = format!("name_translations.{language}");
        let language = super::model::Language::parse(&language).map_err(|e| AccessError::invalid(&field, e))?;
        if language.as_str() == "en" {
            return Err(AccessError::invalid(&field, "the English name is `name` itself"));
        }
        let name = parse_lock_name(&name).map_err(|_| AccessError::invalid(&field, "1 to 100 characters"))?;
        names.insert(language.as_str().to_owned(), name);
    }
    Ok(names)
}

/// A lock's name in `language` when it has one, else its own.
pub fn name_in<'a>(name: &'a str, translations: &'a LockNames, language: &str) -> &'a str {
    let base = language.split(['-', '_']).next().unwrap_or(language);
    translations.get(base).map_or(name, String::as_str)
}

/// A lock to register as its caller wrote it (the admin API's body, the
/// console's form), before the checks of [`NewLock::parse`].
#[derive(Debug, Clone)]
pub struct LockInput {
    /// Its property.
    pub property_id: Uuid,
    /// Its room; none for a property-wide entrance.
    pub room_id: Option<Uuid>,
    /// Display name.
    pub name: String,
    /// Its name in other languages, unchecked.
    pub name_translations: BTreeMap<String, String>,
    /// Manufacturer.
    pub brand: String,
    /// Model.
    pub model: String,
    /// None for a pin pad.
    pub kind: Option<LockKind>,
    /// Who programs it.
    pub provider: ProviderKind,
    /// The provider's id of the device; generated for a simulated lock.
    pub provider_device_id: Option<String>,
    /// None for numeric.
    pub code_format: Option<CodeFormat>,
    /// None for 6.
    pub code_length: Option<i64>,
    /// None for 100.
    pub capacity: Option<i32>,
    /// None for active.
    pub status: Option<LockStatus>,
    /// None for 0.
    pub backup_codes: Option<i32>,
}

impl NewLock {
    /// Checks a lock to register and fills in the defaults: the one set of
    /// rules the admin API and the console apply.
    pub fn parse(input: LockInput) -> AccessResult<Self> {
        let provider_device_id = match (input.provider_device_id.map(|d| d.trim().to_owned()), input.provider) {
            (Some(id), _) if !id.is_empty() && id.chars().count() <= 200 => id,
            (None, ProviderKind::Simulated) => format!("sim-{}", Uuid::new_v4().simple()),
            _ => {
                return Err(AccessError::invalid("provider_device_id", "1 to 200 characters, required for real locks"))
            }
        };
        let capacity = input.capacity.unwrap_or(100);
        let code_length =
            CodeLength::new(input.code_length.unwrap_or(6)).map_err(|e| AccessError::invalid("code_length", e))?;
        let backup_codes = input.backup_codes.unwrap_or(0);
        check_lock_settings(input.room_id, code_length, capacity, backup_codes)?;
        Ok(Self {
            property_id: input.property_id,
            room_id: input.room_id,
            name: parse_lock_name(&input.name)?,
            name_translations: parse_lock_names(input.name_translations)?,
            brand: input.brand.trim().to_owned(),
            model: input.model.trim().to_owned(),
            kind: input.kind.unwrap_or(LockKind::PinPad),
            provider: input.provider,
            provider_device_id,
            code_format: input.code_format.unwrap_or(CodeFormat::Numeric),
            code_length,
            capacity,
            status: input.status.unwrap_or(LockStatus::Active),
            backup_codes,
        })
    }
}

/// The rules a lock's settings obey together, on registration and on every
/// change: a capacity of 1 to 10000; on a property-wide entrance (no room)
/// guest codes of at least 6 characters; 0 to 10 backup codes, fewer than
/// the capacity.
pub fn check_lock_settings(
    room_id: Option<Uuid>,
    code_length: CodeLength,
    capacity: i32,
    backup_codes: i32,
) -> AccessResult<()> {
    if !(1..=MAX_CAPACITY).contains(&capacity) {
        return Err(AccessError::invalid("capacity", "between 1 and 10000"));
    }
    if room_id.is_none() && code_length.get() < ENTRANCE_MIN_LENGTH {
        // A shared entrance holds every guest's code: with 4 or 5
        // characters a few hundred live codes make guessing easy.
        return Err(AccessError::invalid(
            "code_length",
            format!("at least {ENTRANCE_MIN_LENGTH} for a property-wide entrance (a lock without room_id)"),
        ));
    }
    if !(0..=MAX_BACKUP_CODES).contains(&backup_codes) || backup_codes >= capacity {
        return Err(AccessError::invalid("backup_codes", "between 0 and 10, and below the capacity"));
    }
    Ok(())
}

/// Changes to a lock (`PATCH /api/v1/locks/{id}`); `None` keeps a field.
/// Its property, room, provider and device are what the lock *is*: to
/// change them, register another lock.
#[derive(Debug, Clone, Default)]
pub struct LockChanges {
    /// Display name.
    pub name: Option<String>,
    /// Its names in other languages: the whole set, replacing the stored one.
    pub name_translations: Option<LockNames>,
    /// Manufacturer.
    pub brand: Option<String>,
    /// Model.
    pub model: Option<String>,
    /// How a guest operates it.
    pub kind: Option<LockKind>,
    /// Characters its new codes use.
    pub code_format: Option<CodeFormat>,
    /// Length of its new guest codes.
    pub code_length: Option<CodeLength>,
    /// How many codes it holds.
    pub capacity: Option<i32>,
    /// Whether doorman programs codes on it.
    pub status: Option<LockStatus>,
    /// How many backup codes doorman keeps on it.
    pub backup_codes: Option<i32>,
}

/// Changes a lock's settings, checked together with what is stored
/// ([`check_lock_settings`]), audited as `lock.updated` with each changed
/// field's old and new value. Codes already issued keep their format and
/// length; new ones follow the change.
#[tracing::instrument(skip_all, fields(%id))]
pub async fn update_lock(
    conn: &mut PgConnection,
    id: Uuid,
    changes: &LockChanges,
    actor: super::audit::Actor,
) -> AccessResult<Lock> {
    sqlx::query_scalar!("SELECT id FROM locks WHERE id = $1 FOR UPDATE", id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AccessError::NotFound { entity: "lock" })?;
    let mut lock = get_lock(&mut *conn, id).await?;
    let changed = apply_lock_changes(&mut lock, changes)?;
    if changed.is_empty() {
        return Ok(lock);
    }
    sqlx::query!(
        "UPDATE locks SET name = $2, brand = $3, model = $4, kind = $5, code_format = $6, code_length = $7,
             capacity = $8, status = $9, backup_codes = $10, name_translations = $11
         WHERE id = $1",
        id,
        lock.name,
        lock.brand,
        lock.model,
        lock.kind.as_str(),
        lock.code_format.as_str(),
        lock.code_length,
        lock.capacity,
        lock.status.as_str(),
        lock.backup_codes,
        serde_json::to_value(&lock.name_translations.0).unwrap_or_default(),
    )
    .execute(&mut *conn)
    .await?;
    let subject =
        super::audit::Subject { property_id: Some(lock.property_id), lock_id: Some(id), ..Default::default() };
    let details = serde_json::Value::Object(changed);
    super::audit::record(&mut *conn, actor, "lock.updated", subject, details).await?;
    get_lock(&mut *conn, id).await
}

/// Applies `changes` to `lock` after checking the result; returns each
/// changed field with `{"from", "to"}`.
fn apply_lock_changes(
    lock: &mut Lock,
    changes: &LockChanges,
) -> AccessResult<serde_json::Map<String, serde_json::Value>> {
    let code_length = changes.code_length.map_or(lock.code_length, |l| l.get() as i32);
    let stored_length = CodeLength::new(i64::from(code_length)).map_err(|e| AccessError::invalid("code_length", e))?;
    let capacity = changes.capacity.unwrap_or(lock.capacity);
    let backup_codes = changes.backup_codes.unwrap_or(lock.backup_codes);
    check_lock_settings(lock.room_id, stored_length, capacity, backup_codes)?;
    let mut changed = serde_json::Map::new();
    let mut note = |name: &str, from: serde_json::Value, to: serde_json::Value| {
        if from != to {
            changed.insert(name.to_owned(), serde_json::json!({ "from": from, "to": to }));
        }
    };
    let new = Lock {
        name: changes.name.clone().unwrap_or_else(|| lock.name.clone()),
        name_translations: changes.name_translations.clone().map_or_else(|| lock.name_translations.clone(), Json),
        brand: changes.brand.clone().unwrap_or_else(|| lock.brand.clone()),
        model: changes.model.clone().unwrap_or_else(|| lock.model.clone()),
        kind: changes.kind.unwrap_or(lock.kind),
        code_format: changes.code_format.unwrap_or(lock.code_format),
        code_length,
        capacity,
        status: changes.status.unwrap_or(lock.status),
        backup_codes,
        ..lock.clone()
    };
    let old = serde_json::to_value(&*lock).unwrap_or_default();
    let now = serde_json::to_value(&new).unwrap_or_default();
    for field in [
        "name",
        "name_translations",
        "brand",
        "model",
        "kind",
        "code_format",
        "code_length",
        "capacity",
        "status",
        "backup_codes",
    ] {
        note(field, old[field].clone(), now[field].clone());
    }
    *lock = new;
    Ok(changed)
}

/// Registers a lock. The room, when given, must belong to the property.
#[tracing::instrument(skip_all, fields(property_id = %new.property_id, lock.name = %new.name))]
pub async fn create_lock(conn: &mut PgConnection, new: &NewLock) -> AccessResult<Lock> {
    super::properties::get_property(&mut *conn, new.property_id).await?;
    check_device_free(&mut *conn, new.provider, &new.provider_device_id).await?;
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
             code_format, code_length, capacity, status, backup_codes, name_translations)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
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
        serde_json::to_value(&new.name_translations).unwrap_or_default(),
    )
    .fetch_one(&mut *conn)
    .await?;
    get_lock(&mut *conn, id).await
}

/// A lock by id.
pub async fn get_lock(db: impl PgExecutor<'_>, id: Uuid) -> AccessResult<Lock> {
    sqlx::query_as!(
        Lock,
        r#"SELECT id, property_id, room_id, name, name_translations AS "name_translations: Json<LockNames>", brand, model, kind AS "kind: LockKind",
               provider AS "provider: ProviderKind", provider_device_id,
               code_format AS "code_format: CodeFormat", code_length, capacity,
               status AS "status: LockStatus", backup_codes, device_online, battery_percent, battery_low,
               keypad_battery_low, status_checked_at, reconciled_at, created_at, account_key AS provider_account_id,
               (SELECT a.state FROM provider_accounts a WHERE a.provider = locks.provider AND a.account_id = locks.account_key)
                   AS account_state,
               (SELECT a.since FROM provider_accounts a WHERE a.provider = locks.provider AND a.account_id = locks.account_key)
                   AS account_since
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
        r#"SELECT id, property_id, room_id, name, name_translations AS "name_translations: Json<LockNames>", brand, model, kind AS "kind: LockKind",
               provider AS "provider: ProviderKind", provider_device_id,
               code_format AS "code_format: CodeFormat", code_length, capacity,
               status AS "status: LockStatus", backup_codes, device_online, battery_percent, battery_low,
               keypad_battery_low, status_checked_at, reconciled_at, created_at, account_key AS provider_account_id,
               (SELECT a.state FROM provider_accounts a WHERE a.provider = locks.provider AND a.account_id = locks.account_key)
                   AS account_state,
               (SELECT a.since FROM provider_accounts a WHERE a.provider = locks.provider AND a.account_id = locks.account_key)
                   AS account_since
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

/// A doorman lock a provider's device is mapped to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MappedLock {
    /// The lock's id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its property.
    pub property_id: Uuid,
}

/// A conflict naming the lock when `provider`'s device `device_id` is
/// already a doorman lock.
pub async fn check_device_free(db: impl PgExecutor<'_>, provider: ProviderKind, device_id: &str) -> AccessResult<()> {
    let taken = sqlx::query!(
        "SELECT id, name FROM locks WHERE provider = $1 AND provider_device_id = $2",
        provider.as_str(),
        device_id.trim()
    )
    .fetch_optional(db)
    .await?;
    match taken {
        Some(lock) => Err(AccessError::Conflict(format!(
            "the {provider} device {:?} is already the lock \"{}\" ({})",
            device_id.trim(),
            lock.name,
            lock.id
        ))),
        None => Ok(()),
    }
}

/// The locks of a provider, by the provider's device id (discovery).
pub async fn locks_by_device(
    db: impl PgExecutor<'_>,
    provider: ProviderKind,
) -> AccessResult<std::collections::HashMap<String, MappedLock>> {
    let rows = sqlx::query!(
        "SELECT id, name, property_id, provider_device_id FROM locks WHERE provider = $1 ORDER BY created_at",
        provider.as_str()
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.provider_device_id, MappedLock { id: r.id, name: r.name, property_id: r.property_id }))
        .collect())
}

/// The locks of one property (404 when it does not exist), or of every
/// property: by property, entrances first, then by name.
pub async fn list_locks(conn: &mut PgConnection, property_id: Option<Uuid>) -> AccessResult<Vec<Lock>> {
    if let Some(property_id) = property_id {
        super::properties::get_property(&mut *conn, property_id).await?;
        return list_property_locks(&mut *conn, property_id).await;
    }
    Ok(sqlx::query_as!(
        Lock,
        r#"SELECT id, property_id, room_id, name, name_translations AS "name_translations: Json<LockNames>", brand, model, kind AS "kind: LockKind",
               provider AS "provider: ProviderKind", provider_device_id,
               code_format AS "code_format: CodeFormat", code_length, capacity,
               status AS "status: LockStatus", backup_codes, device_online, battery_percent, battery_low,
               keypad_battery_low, status_checked_at, reconciled_at, created_at, account_key AS provider_account_id,
               (SELECT a.state FROM provider_accounts a WHERE a.provider = locks.provider AND a.account_id = locks.account_key)
                   AS account_state,
               (SELECT a.since FROM provider_accounts a WHERE a.provider = locks.provider AND a.account_id = locks.account_key)
                   AS account_since
           FROM locks ORDER BY property_id, room_id IS NOT NULL, name, id"#
    )
    .fetch_all(&mut *conn)
    .await?)
}
