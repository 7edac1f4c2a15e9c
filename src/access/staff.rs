//! Staff members: who may run chat commands, on which properties, with
//! which role at each (security review M4: a manager at one property can be
//! housekeeping at another).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::alerts::{alert_staff, Removed, StaffAlert};
use super::audit::{self, Actor, Subject};
use super::codes::mask;
use super::error::{AccessError, AccessResult};
use super::model::{CodeState, Role};
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
    /// Where they work and as what.
    pub roles: StaffRoles,
    /// Whether they clean (SPEC §11) at every property of `roles`.
    pub cleaner: bool,
}

/// Where a staff member may act, and as what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffRoles {
    /// Every property, every command.
    Admin,
    /// A role per property (`manager` or `staff`).
    PerProperty(BTreeMap<Uuid, Role>),
}

impl StaffRoles {
    /// The same role at each of these properties (the API's `role` with
    /// `property_ids`).
    pub fn same(role: Role, property_ids: &[Uuid]) -> Self {
        match role {
            Role::Admin => Self::Admin,
            role => Self::PerProperty(property_ids.iter().map(|p| (*p, role)).collect()),
        }
    }

    /// A map of property to role; `admin` is refused here (it is global).
    pub fn per_property(roles: BTreeMap<Uuid, Role>) -> AccessResult<Self> {
        if roles.values().any(|r| *r == Role::Admin) {
            return Err(AccessError::invalid("roles", "admin is global: use \"role\": \"admin\""));
        }
        Ok(Self::PerProperty(roles))
    }

    /// The stored `staff.role`: `admin`, else the highest role held.
    fn summary(&self) -> Role {
        match self {
            Self::Admin => Role::Admin,
            Self::PerProperty(roles) if roles.values().any(|r| *r == Role::Manager) => Role::Manager,
            Self::PerProperty(_) => Role::Staff,
        }
    }
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
    /// `admin` (every property), else their highest role at any property.
    pub role: Role,
    /// Whether they may act at all.
    pub active: bool,
    /// The properties they may act on (empty for an admin: all of them).
    pub property_ids: Vec<Uuid>,
    /// Their role at each property (empty for an admin).
    pub roles: BTreeMap<Uuid, Role>,
    /// The properties where they are a cleaner: the turnovers' codes
    /// between stays go to them (SPEC §11).
    pub cleaner_property_ids: Vec<Uuid>,
    /// When they were registered.
    pub created_at: DateTime<Utc>,
}

/// Registers a staff member with their roles.
#[tracing::instrument(skip_all)]
pub async fn create_staff(conn: &mut PgConnection, new: &NewStaff) -> AccessResult<Staff> {
    if new.phone.is_none() && new.telegram_user_id.is_none() {
        return Err(AccessError::Invalid("a staff member needs a phone or a telegram_user_id".into()));
    }
    let row = sqlx::query!(
        "INSERT INTO staff (name, phone, telegram_user_id, role) VALUES ($1, $2, $3, $4) RETURNING id",
        new.name,
        new.phone.as_ref().map(Phone::as_str),
        new.telegram_user_id,
        new.roles.summary().as_str(),
    )
    .fetch_one(&mut *conn)
    .await?;
    write_roles(conn, row.id, &new.roles).await?;
    if new.cleaner {
        if new.roles == StaffRoles::Admin {
            return Err(AccessError::invalid("cleaner", "an admin works at no property of their own: give them roles"));
        }
        let properties = sqlx::query_scalar!(
            "UPDATE staff_properties SET cleaner = true WHERE staff_id = $1 RETURNING property_id",
            row.id
        )
        .fetch_all(&mut *conn)
        .await?;
        super::turnovers::await_cleaner(conn, &properties, Utc::now()).await?;
    }
    get_staff(conn, row.id).await
}

/// The first operator of a new install (`doorman admin-link
/// --first-admin`): registered as the admin only while no active admin
/// exists, so the command cannot make a second one. Audited. Run it in a
/// transaction: its lock makes two first admins at once wait for each other.
pub async fn register_first_admin(conn: &mut PgConnection, new: &NewStaff) -> AccessResult<Staff> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended('doorman:first-admin', 0))")
        .execute(&mut *conn)
        .await?;
    let exists = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM staff WHERE role = 'admin' AND active) AS "e!""#)
        .fetch_one(&mut *conn)
        .await?;
    if exists {
        return Err(AccessError::Conflict(
            "this install has an admin already: ask them for a sign-in link, or use --staff alone".into(),
        ));
    }
    let admin = create_staff(conn, new).await?;
    let details = json!({ "staff_id": admin.id, "role": "admin", "via": "admin-link --first-admin" });
    audit::record(&mut *conn, Actor::System, "staff.created", Subject::default(), details).await?;
    Ok(admin)
}

/// Replaces a staff member's roles (`PATCH /staff/{id}` with `roles` or
/// `role`); audited.
pub async fn set_roles(conn: &mut PgConnection, staff_id: Uuid, roles: &StaffRoles, actor: Actor) -> AccessResult<()> {
    let updated = sqlx::query!(
        "UPDATE staff SET role = $2, updated_at = now() WHERE id = $1",
        staff_id,
        roles.summary().as_str()
    )
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AccessError::NotFound { entity: "staff member" });
    }
    let cleaning = sqlx::query_scalar!(
        "DELETE FROM staff_properties WHERE staff_id = $1 RETURNING CASE WHEN cleaner THEN property_id END",
        staff_id
    )
    .fetch_all(&mut *conn)
    .await?;
    write_roles(conn, staff_id, roles).await?;
    // Where they still work, they still clean.
    let cleaning: Vec<Uuid> = cleaning.into_iter().flatten().collect();
    sqlx::query!(
        "UPDATE staff_properties SET cleaner = true WHERE staff_id = $1 AND property_id = ANY($2)",
        staff_id,
        &cleaning
    )
    .execute(&mut *conn)
    .await?;
    let details = match roles {
        StaffRoles::Admin => json!({ "staff_id": staff_id, "role": "admin" }),
        StaffRoles::PerProperty(map) => json!({ "staff_id": staff_id, "roles": map }),
    };
    audit::record(&mut *conn, actor, "staff.roles_changed", Subject::default(), details).await
}

async fn write_roles(conn: &mut PgConnection, staff_id: Uuid, roles: &StaffRoles) -> AccessResult<()> {
    let StaffRoles::PerProperty(map) = roles else {
        return Ok(());
    };
    let property_ids: Vec<Uuid> = map.keys().copied().collect();
    let role_names: Vec<String> = map.values().map(|r| r.as_str().to_owned()).collect();
    let known = sqlx::query_scalar!("SELECT count(*) AS \"n!\" FROM properties WHERE id = ANY($1)", &property_ids)
        .fetch_one(&mut *conn)
        .await?;
    if known != property_ids.len() as i64 {
        return Err(AccessError::NotFound { entity: "property" });
    }
    sqlx::query!(
        "INSERT INTO staff_properties (staff_id, property_id, role) SELECT $1, * FROM unnest($2::uuid[], $3::text[])",
        staff_id,
        &property_ids,
        &role_names
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A staff member by id, with their roles.
pub async fn get_staff(conn: &mut PgConnection, staff_id: Uuid) -> AccessResult<Staff> {
    let row = sqlx::query!(
        r#"SELECT id, name, phone AS "phone: Phone", telegram_user_id, role AS "role: Role", active, created_at
           FROM staff WHERE id = $1"#,
        staff_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "staff member" })?;
    let rows = sqlx::query!(
        r#"SELECT property_id, role AS "role: Role", cleaner FROM staff_properties WHERE staff_id = $1
           ORDER BY property_id"#,
        staff_id
    )
    .fetch_all(&mut *conn)
    .await?;
    let admin = row.role == Role::Admin;
    let roles: BTreeMap<Uuid, Role> = rows.iter().filter(|_| !admin).map(|r| (r.property_id, r.role)).collect();
    let cleaner_property_ids = rows.iter().filter(|r| r.cleaner && !admin).map(|r| r.property_id).collect();
    Ok(Staff {
        id: row.id,
        name: row.name,
        phone: row.phone,
        telegram_user_id: row.telegram_user_id,
        role: row.role,
        active: row.active,
        property_ids: roles.keys().copied().collect(),
        roles,
        cleaner_property_ids,
        created_at: row.created_at,
    })
}

/// Flags a staff member as a cleaner (or not) at every property they work
/// at (SPEC §11); audited as `staff.cleaner_changed`. Turnovers of those
/// properties waiting for a cleaner get one now. An admin works at no
/// property of their own: refused.
pub async fn set_cleaner(conn: &mut PgConnection, staff_id: Uuid, cleaner: bool, actor: Actor) -> AccessResult<()> {
    let role = sqlx::query_scalar!(r#"SELECT role AS "role: Role" FROM staff WHERE id = $1"#, staff_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AccessError::NotFound { entity: "staff member" })?;
    if role == Role::Admin && cleaner {
        return Err(AccessError::invalid("cleaner", "an admin works at no property of their own: give them roles"));
    }
    let properties = sqlx::query_scalar!(
        "UPDATE staff_properties SET cleaner = $2 WHERE staff_id = $1 RETURNING property_id",
        staff_id,
        cleaner
    )
    .fetch_all(&mut *conn)
    .await?;
    let details = json!({ "staff_id": staff_id, "cleaner": cleaner, "property_ids": properties });
    audit::record(&mut *conn, actor, "staff.cleaner_changed", Subject::default(), details).await?;
    match cleaner {
        true => super::turnovers::await_cleaner(conn, &properties, Utc::now()).await?,
        false => super::turnovers::release_cleaner(conn, staff_id, &properties, actor, Utc::now()).await?,
    }
    Ok(())
}

/// Finds an active staff member by phone (the demo's idempotent seeding and
/// chat identity).
pub async fn find_staff_by_phone(conn: &mut PgConnection, phone: &Phone) -> AccessResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!("SELECT id FROM staff WHERE phone = $1", phone.as_str()).fetch_optional(&mut *conn).await?)
}

/// What a deactivation took away.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Deactivation {
    /// Their persistent and master codes, and the standalone codes they
    /// issued that were still live, now being removed from the locks.
    pub codes_removing: usize,
    /// The numbers they linked to bookings with `/link`, now unlinked.
    pub links_ended: usize,
}

/// Deactivates a staff member (review M3): their commands stop working;
/// every code of theirs, every master code they made and every standalone
/// code they issued that is still live leaves the locks, end to end; the
/// numbers they linked to bookings are unlinked; the staff of the
/// properties concerned are told what was removed.
#[tracing::instrument(skip_all, fields(%staff_id))]
pub async fn deactivate_staff(conn: &mut PgConnection, staff_id: Uuid, actor: Actor) -> AccessResult<Deactivation> {
    let name = sqlx::query_scalar!(
        "UPDATE staff SET active = false, updated_at = now() WHERE id = $1 RETURNING name",
        staff_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "staff member" })?;
    let codes = sqlx::query!(
        "SELECT c.id, c.kind, c.code, l.name AS lock, l.property_id FROM access_codes c JOIN locks l ON l.id = c.lock_id
         WHERE (c.staff_id = $1 OR (c.kind IN ('master', 'standalone') AND c.created_by = $2))
           AND c.state = ANY($3)
         ORDER BY l.property_id, l.name",
        staff_id,
        Actor::Staff(staff_id).to_db(),
        CodeState::LIVE as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut told: BTreeMap<Uuid, Vec<Removed>> = BTreeMap::new();
    for code in &codes {
        super::lifecycle::begin_removal(&mut *conn, code.id, actor, "staff member deactivated").await?;
        let removed = Removed::Code { kind: code.kind.clone(), masked: mask(&code.code), lock: code.lock.clone() };
        told.entry(code.property_id).or_default().push(removed);
    }
    // Their turnovers go to the property's other cleaner.
    let all_properties = sqlx::query_scalar!("SELECT id FROM properties").fetch_all(&mut *conn).await?;
    super::turnovers::release_cleaner(conn, staff_id, &all_properties, actor, chrono::Utc::now()).await?;
    let links = super::links::end_links_made_by(&mut *conn, staff_id, actor, "staff member deactivated").await?;
    for link in &links {
        let property_id = sqlx::query_scalar!("SELECT property_id FROM bookings WHERE id = $1", link.booking_id)
            .fetch_one(&mut *conn)
            .await?;
        let removed = Removed::Link { contact: link.contact.clone(), reference: link.external_ref.clone() };
        told.entry(property_id).or_default().push(removed);
    }
    for (property_id, removed) in told {
        let alert = StaffAlert::StaffDeactivated { staff_id, name: name.clone(), removed };
        alert_staff(conn, property_id, alert).await?;
    }
    Ok(Deactivation { codes_removing: codes.len(), links_ended: links.len() })
}

/// A staff member acting (a chat command, the console), with the
/// properties the action at hand may touch.
#[derive(Debug, Clone)]
pub struct StaffMember {
    /// Identifier.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// The highest role they hold anywhere (`admin`: every property).
    pub role: Role,
    /// Their role at each property they may act on (review M4).
    pub roles: Vec<(Uuid, Role)>,
    /// The properties the action at hand may act on: those where their
    /// role is at least the action's (see [`StaffMember::scoped_to`]).
    pub property_ids: Vec<Uuid>,
}

impl StaffMember {
    /// Their role at a property, if they work there.
    pub fn role_at(&self, property_id: Uuid) -> Option<Role> {
        self.roles.iter().find(|(p, _)| *p == property_id).map(|(_, r)| *r)
    }

    /// Whether they are a manager (or admin) at this property.
    pub fn manages(&self, property_id: Uuid) -> bool {
        self.role_at(property_id).is_some_and(|r| r.at_least(Role::Manager))
    }

    /// The same person acting only where they hold at least `least`.
    pub fn scoped_to(&self, least: Role) -> Self {
        let property_ids = self.roles.iter().filter(|(_, role)| role.at_least(least)).map(|(p, _)| *p).collect();
        Self { property_ids, ..self.clone() }
    }

    /// Who they are in the audit trail.
    pub fn actor(&self) -> Actor {
        Actor::Staff(self.id)
    }
}

/// The active staff member with this WhatsApp (or console) number or this
/// Telegram user id, with their role at each property.
pub async fn find_member(
    conn: &mut PgConnection,
    phone: Option<&str>,
    telegram_user_id: Option<i64>,
) -> AccessResult<Option<StaffMember>> {
    if phone.is_none() && telegram_user_id.is_none() {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"SELECT s.id, s.name, s.role = 'admin' AS "admin!" FROM staff s
           WHERE s.active AND (s.phone = $1 OR s.telegram_user_id = $2)"#,
        phone,
        telegram_user_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(member(conn, row.id, row.name, row.admin).await?))
}

/// The active staff member with this id, with their role at each property
/// (the console's session).
pub async fn member_by_id(conn: &mut PgConnection, staff_id: Uuid) -> AccessResult<Option<StaffMember>> {
    let row = sqlx::query!(
        r#"SELECT s.id, s.name, s.role = 'admin' AS "admin!" FROM staff s WHERE s.active AND s.id = $1"#,
        staff_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    Ok(Some(member(conn, row.id, row.name, row.admin).await?))
}

async fn member(conn: &mut PgConnection, id: Uuid, name: String, admin: bool) -> AccessResult<StaffMember> {
    let roles = member_roles(conn, id, admin).await?;
    let role = match admin {
        true => Role::Admin,
        false => roles.iter().map(|(_, r)| *r).max_by_key(|r| r.rank()).unwrap_or(Role::Staff),
    };
    let property_ids = roles.iter().map(|(p, _)| *p).collect();
    Ok(StaffMember { id, name, role, roles, property_ids })
}

/// An admin's role at every property, else the roles they were given.
async fn member_roles(conn: &mut PgConnection, staff_id: Uuid, admin: bool) -> AccessResult<Vec<(Uuid, Role)>> {
    if admin {
        let all = sqlx::query_scalar!("SELECT id FROM properties").fetch_all(&mut *conn).await?;
        return Ok(all.into_iter().map(|p| (p, Role::Admin)).collect());
    }
    let rows =
        sqlx::query!(r#"SELECT property_id, role AS "role: Role" FROM staff_properties WHERE staff_id = $1"#, staff_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().map(|r| (r.property_id, r.role)).collect())
}

/// A property among `property_ids` by its name, any case: `(id, name)`.
pub async fn find_property_in(
    conn: &mut PgConnection,
    property_ids: &[Uuid],
    name: &str,
) -> AccessResult<Option<(Uuid, String)>> {
    let found = sqlx::query!(
        "SELECT id, name FROM properties WHERE lower(name) = lower($1) AND id = ANY($2)",
        name.trim(),
        property_ids
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.map(|p| (p.id, p.name)))
}
