//! Setting a property up from the console: a new property, its rooms, its
//! locks, its calendar feeds, its staff. Every form goes through the admin API's core
//! (`NewProperty::parse`, `RoomName::parse`, `NewLock::parse`,
//! `create_feed`), and a refused one comes back with the reason and what
//! was typed; each action is audited with the staff member as the actor.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::ConsoleError;
use super::properties::{outcome, parse_id, EDITOR};
use super::session::{NoFields, Posted, Session};
use super::view::{Chrome, Done};
use super::{render, Console};
use crate::access::audit::{self, Subject};
use crate::access::feeds::{self, NewFeed};
use crate::access::locks::{LockInput, NewLock};
use crate::access::model::{Role, RoomName};
use crate::access::properties::{self, NewProperty, PropertyInput};
use crate::access::staff::{self, StaffRoles};
use crate::devices::discovery::find_device;
use crate::devices::locks::{check_new_device, store_new_lock};
use crate::devices::observe::ObserveError;
use crate::lock_providers::DeviceStatus;

/// Who creates a property: a manager (of any property) or an admin.
const CREATOR: Role = Role::Manager;

/// The new property form.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct PropertyForm {
    name: String,
    timezone: String,
    address: String,
    check_in: String,
    check_out: String,
    release_hours: String,
}

fn creator(session: &Session) -> Result<(), ConsoleError> {
    match session.member.role.at_least(CREATOR) {
        true => Ok(()),
        false => Err(ConsoleError::NeedsRole(CREATOR)),
    }
}

fn new_property_page(session: &Session, form: &PropertyForm, problem: Option<(StatusCode, String)>) -> Response {
    let (status, problem) = problem.map_or((StatusCode::OK, None), |(s, p)| (s, Some(p)));
    let context = minijinja::context! {
        chrome => Chrome::new(session, "properties", &Done::default()), form, problem,
    };
    match render::page("property_new.html", context) {
        Ok(mut page) => {
            *page.status_mut() = status;
            page
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /admin/properties/new` (managers).
pub async fn new_property(session: Session) -> Result<Response, ConsoleError> {
    creator(&session)?;
    let form = PropertyForm {
        check_in: "15:00".into(),
        check_out: "11:00".into(),
        release_hours: "24".into(),
        ..Default::default()
    };
    Ok(new_property_page(&session, &form, None))
}

/// An optional whole number of a form: empty is none.
fn number<T: std::str::FromStr>(what: &str, raw: &str) -> Result<Option<T>, ConsoleError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse().map(Some).map_err(|_| ConsoleError::BadForm(format!("{what}: a whole number.")))
}

fn text(raw: &str) -> Option<String> {
    Some(raw.trim().to_owned()).filter(|t| !t.is_empty())
}

/// `POST /admin/properties` (managers): creates the property, audited
/// (`property.created`); its creator becomes its manager.
pub async fn create_property(
    State(console): State<Arc<Console>>,
    posted: Posted<PropertyForm>,
) -> Result<Response, ConsoleError> {
    let (session, f) = (posted.session, posted.form);
    creator(&session)?;
    let created = async {
        let new = NewProperty::parse(PropertyInput {
            name: f.name.clone(),
            timezone: f.timezone.trim().to_owned(),
            address: f.address.clone(),
            check_in_time: text(&f.check_in),
            check_out_time: text(&f.check_out),
            code_release_hours: number("Release", &f.release_hours)?,
            ..Default::default()
        })?;
        let mut tx = console.db().begin().await?;
        let property = properties::create_property(&mut *tx, &new).await?;
        let subject = Subject { property_id: Some(property.id), ..Default::default() };
        let details = json!({ "name": property.name, "timezone": property.timezone.name() });
        audit::record(&mut *tx, session.member.actor(), "property.created", subject, details).await?;
        manage(&mut tx, &session, property.id).await?;
        tx.commit().await?;
        Ok::<_, ConsoleError>(property.id)
    }
    .await;
    match created {
        Ok(id) => Ok(Redirect::to(&format!("/admin/properties/{id}?done=created")).into_response()),
        Err(e) => match e.form_problem() {
            Some(problem) => Ok(new_property_page(&session, &f, Some(problem))),
            None => Err(e),
        },
    }
}

/// Makes the staff member a manager of a new property (an admin already
/// is); audited by the core (`staff.roles_changed`).
async fn manage(conn: &mut PgConnection, session: &Session, property_id: Uuid) -> Result<(), ConsoleError> {
    let member = &session.member;
    if member.role == Role::Admin {
        return Ok(());
    }
    let mut roles = staff::get_staff(&mut *conn, member.id).await?.roles;
    roles.insert(property_id, Role::Manager);
    staff::set_roles(&mut *conn, member.id, &StaffRoles::PerProperty(roles), member.actor()).await?;
    Ok(())
}

/// The add-a-room form.
#[derive(Debug, Deserialize, Serialize)]
pub struct RoomForm {
    room_name: String,
}

/// `POST /admin/properties/{id}/rooms` (managers); audited `room.created`.
pub async fn add_room(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<RoomForm>,
) -> Result<Response, ConsoleError> {
    let (session, f) = (posted.session, posted.form);
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let result = async {
        let name = RoomName::parse(&f.room_name).map_err(|e| crate::access::AccessError::invalid("Room name", e))?;
        let mut tx = console.db().begin().await?;
        let room = properties::create_room(&mut tx, id, &name, None).await?;
        let subject = Subject { property_id: Some(id), ..Default::default() };
        let details = json!({ "room_id": room.id, "name": room.name });
        audit::record(&mut *tx, session.member.actor(), "room.created", subject, details).await?;
        tx.commit().await?;
        Ok("added")
    }
    .await;
    outcome(&console, &session, id, result, &f).await
}

/// The add-a-staff-member form.
#[derive(Debug, Deserialize, Serialize)]
pub struct StaffForm {
    staff_name: String,
    staff_phone: String,
    staff_role: String,
}

/// `POST /admin/properties/{id}/staff` (managers): a staff member or a
/// manager of this property, by their WhatsApp number; audited
/// `staff.created`. Nobody becomes an admin here.
pub async fn add_staff(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<StaffForm>,
) -> Result<Response, ConsoleError> {
    let (session, f) = (posted.session, posted.form);
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let result = async {
        use crate::access::AccessError;
        let name = text(&f.staff_name).ok_or_else(|| AccessError::invalid("Name", "required"))?;
        let phone = crate::access::phone::Phone::parse(&f.staff_phone)
            .map_err(|e| AccessError::invalid("WhatsApp number", e.to_string()))?;
        let (role, cleaner) = match f.staff_role.as_str() {
            "staff" => (Role::Staff, false),
            "cleaner" => (Role::Staff, true),
            "manager" => (Role::Manager, false),
            _ => return Err(AccessError::invalid("Role", "staff, cleaner or manager").into()),
        };
        let roles = StaffRoles::PerProperty([(id, role)].into_iter().collect());
        let new = staff::NewStaff { name, phone: Some(phone), telegram_user_id: None, roles, cleaner };
        let mut tx = console.db().begin().await?;
        let member = staff::create_staff(&mut tx, &new).await?;
        let subject = Subject { property_id: Some(id), ..Default::default() };
        let details = json!({ "staff_id": member.id, "role": role.as_str() });
        audit::record(&mut *tx, session.member.actor(), "staff.created", subject, details).await?;
        tx.commit().await?;
        Ok::<_, ConsoleError>("added")
    }
    .await;
    outcome(&console, &session, id, result, &f).await
}

/// The add-a-lock form.
#[derive(Debug, Deserialize, Serialize)]
pub struct LockForm {
    lock_name: String,
    /// A room's id, or empty for a property-wide entrance.
    lock_room: String,
    provider: String,
    device_id: String,
    code_format: String,
    code_length: String,
    capacity: String,
}

fn choice<T: std::str::FromStr>(what: &str, raw: &str) -> Result<T, ConsoleError> {
    raw.trim().parse().map_err(|_| ConsoleError::BadForm(format!("{what}: choose one of the list.")))
}

fn lock_input(property_id: Uuid, f: &LockForm) -> Result<LockInput, ConsoleError> {
    let room_id = match f.lock_room.trim() {
        "" => None,
        raw => Some(raw.parse().map_err(|_| ConsoleError::BadForm("Room: choose one of the list.".into()))?),
    };
    Ok(LockInput {
        property_id,
        room_id,
        name: f.lock_name.clone(),
        name_translations: Default::default(),
        brand: String::new(),
        model: String::new(),
        kind: None,
        provider: choice("Provider", &f.provider)?,
        provider_device_id: text(&f.device_id),
        code_format: Some(choice("Code format", &f.code_format)?),
        code_length: number("Code length", &f.code_length)?,
        capacity: number("Capacity", &f.capacity)?,
        status: None,
        backup_codes: None,
    })
}

/// `POST /admin/properties/{id}/locks` (managers): registers a lock as
/// the admin API does (a real device is asked about first); audited
/// `lock.created`.
pub async fn add_lock(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<LockForm>,
) -> Result<Response, ConsoleError> {
    let (session, f) = (posted.session, posted.form);
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let result = async {
        let mut input = lock_input(id, &f)?;
        let found = from_discovery(&console, &mut input).await?;
        let new = NewLock::parse(input)?;
        let status = match found {
            Some(status) => Some(status),
            None => check_new_device(&console.jobs.providers, &new).await?,
        };
        let mut tx = console.db().begin().await?;
        let lock = store_new_lock(&mut tx, &new, status.as_ref()).await?;
        let subject = Subject { property_id: Some(id), lock_id: Some(lock.id), ..Default::default() };
        let details = json!({ "name": lock.name, "room_id": lock.room_id, "provider": lock.provider });
        audit::record(&mut *tx, session.member.actor(), "lock.created", subject, details).await?;
        tx.commit().await?;
        Ok("added")
    }
    .await;
    outcome(&console, &session, id, result, &f).await
}

/// A lock without a name but with a device id takes the device from the
/// provider's list, as the admin API does: its name, model and status.
async fn from_discovery(console: &Console, input: &mut LockInput) -> Result<Option<DeviceStatus>, ConsoleError> {
    let Some(device_id) = input.provider_device_id.clone().filter(|_| input.name.trim().is_empty()) else {
        return Ok(None);
    };
    let device = match find_device(console.db(), &console.jobs.providers, input.provider, &device_id).await {
        Ok(device) => device,
        Err(ObserveError::Access(e)) => return Err(e.into()),
        Err(other) => return Err(ConsoleError::BadForm(format!("Device id: {other}"))),
    };
    input.name = device.name;
    input.model = device.model.unwrap_or_default();
    Ok(Some(device.status))
}

/// The add-a-feed form. Its address is never shown again, not even when
/// the form is refused: the path of an export link is its secret.
#[derive(Debug, Deserialize)]
pub struct FeedForm {
    feed_room: String,
    feed_url: String,
    feed_source: String,
}

/// What of a feed form may be shown again: all but the address.
#[derive(Debug, Serialize)]
struct FeedShown<'a> {
    feed_room: &'a str,
    feed_source: &'a str,
}

/// `POST /admin/properties/{id}/feeds` (managers): adds a feed to one of
/// the property's rooms and fetches it at once; audited by the core
/// (`feed.added`, the address masked).
pub async fn add_feed(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<FeedForm>,
) -> Result<Response, ConsoleError> {
    let (session, f) = (posted.session, posted.form);
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let result = async {
        let room_id: Uuid = choice("Room", &f.feed_room)?;
        let source = choice("Source", &f.feed_source)?;
        let mut tx = console.db().begin().await?;
        if !properties::list_rooms(&mut *tx, id).await?.iter().any(|r| r.id == room_id) {
            return Err(ConsoleError::BadForm("Room: choose one of the list.".into()));
        }
        let new = NewFeed { room_id, url: f.feed_url.clone(), source };
        let feed = feeds::create_feed(&mut tx, &new, session.member.actor()).await?;
        crate::jobs::queue::enqueue(&mut tx, &crate::feeds::SyncFeed { feed_id: feed.id }, chrono::Utc::now()).await?;
        tx.commit().await?;
        Ok("added")
    }
    .await;
    let shown = FeedShown { feed_room: &f.feed_room, feed_source: &f.feed_source };
    outcome(&console, &session, id, result, &shown).await
}

/// `POST /admin/properties/{id}/feeds/{feed}/delete` (managers): stops
/// reading a feed; its bookings stay. Audited by the core.
pub async fn delete_feed(
    State(console): State<Arc<Console>>,
    Path((id, feed)): Path<(String, String)>,
    posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let feed_id = parse_id(&feed)?;
    let mut tx = console.db().begin().await?;
    if feeds::get_feed(&mut *tx, feed_id).await?.property_id != id {
        return Err(ConsoleError::NotFound);
    }
    feeds::delete_feed(&mut tx, feed_id, session.member.actor()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/properties/{id}?done=removed")).into_response())
}
