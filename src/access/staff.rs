//! Staff members: who may run chat commands, on which properties.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::audit::Actor;
use super::error::{AccessError, AccessResult};
use super::model::Role;
use super::phone::Phone;

/// A staff member to register, already parsed.
#[derive(Debug, Clone)]
pub struct NewStaff {
    /// Full name.
    pub name: String,
    /// WhatsApp number.
    pub phone: Option<Phone>,
    /// Telegram user id.
    pub telegram_user_id: Option<i64>,
    /// What they may do.
    pub role: Role,
    /// The properties they may act on.
    pub property_ids: Vec<Uuid>,
}

/// A stored staff member.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Staff {
    /// Identifier.
    pub id: Uuid,
    /// Full name.
    pub name: String,
    /// WhatsApp number, E.164.
    #[schema(value_type = Option<String>, example = "+421900000002")]
    pub phone: Option<Phone>,
    /// Telegram user id.
    pub telegram_user_id: Option<i64>,
    /// What they may do.
    pub role: Role,
    /// Whether they may act at all.
    pub active: bool,
    /// The properties they may act on.
    pub property_ids: Vec<Uuid>,
    /// When they were registered.
    pub created_at: DateTime<Utc>,
}

/// Registers a staff member with access to the given properties.
#[tracing::instrument(skip_all, fields(role = %new.role))]
pub async fn create_staff(conn: &mut PgConnection, new: &NewStaff) -> AccessResult<Staff> {
    if new.phone.is_none() && new.telegram_user_id.is_none() {
        return Err(AccessError::Invalid("a staff member needs a phone or a telegram_user_id".into()));
    }
    let known = sqlx::query_scalar!("SELECT count(*) AS \"n!\" FROM properties WHERE id = ANY($1)", &new.property_ids)
        .fetch_one(&mut *conn)
        .await?;
    let mut wanted = new.property_ids.clone();
    wanted.sort();
    wanted.dedup();
    if known != wanted.len() as i64 {
        return Err(AccessError::invalid("property_ids", "one or more properties do not exist"));
    }
    let row = sqlx::query!(
        "INSERT INTO staff (name, phone, telegram_user_id, role) VALUES ($1, $2, $3, $4) RETURNING id, created_at",
        new.name,
        new.phone.as_ref().map(Phone::as_str),
        new.telegram_user_id,
        new.role.as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!("INSERT INTO staff_properties (staff_id, property_id) SELECT $1, unnest($2::uuid[])", row.id, &wanted)
        .execute(&mut *conn)
        .await?;
    Ok(Staff {
        id: row.id,
        name: new.name.clone(),
        phone: new.phone.clone(),
        telegram_user_id: new.telegram_user_id,
        role: new.role,
        active: true,
        property_ids: wanted,
        created_at: row.created_at,
    })
}

/// Finds an active staff member by phone (the demo's idempotent seeding and
/// chat identity).
pub async fn find_staff_by_phone(conn: &mut PgConnection, phone: &Phone) -> AccessResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!("SELECT id FROM staff WHERE phone = $1", phone.as_str()).fetch_optional(&mut *conn).await?)
}

/// Deactivates a staff member: their commands stop working and every code
/// of theirs leaves the locks, end to end. Returns how many codes are being
/// removed.
#[tracing::instrument(skip_all, fields(%staff_id))]
pub async fn deactivate_staff(conn: &mut PgConnection, staff_id: Uuid, actor: Actor) -> AccessResult<usize> {
    let updated = sqlx::query!("UPDATE staff SET active = false, updated_at = now() WHERE id = $1", staff_id)
        .execute(&mut *conn)
        .await?;
    if updated.rows_affected() == 0 {
        return Err(AccessError::NotFound { entity: "staff member" });
    }
    let codes = sqlx::query_scalar!(
        "SELECT id FROM access_codes
         WHERE (staff_id = $1 OR (kind = 'master' AND created_by = $2)) AND state NOT IN ('removing', 'removed')",
        staff_id,
        Actor::Staff(staff_id).to_db()
    )
    .fetch_all(&mut *conn)
    .await?;
    for code_id in &codes {
        super::lifecycle::begin_removal(&mut *conn, *code_id, actor, "staff member deactivated").await?;
    }
    Ok(codes.len())
}
