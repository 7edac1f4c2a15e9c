//! Properties (`/admin/properties`, `/admin/properties/{id}`): settings,
//! the knowledge base and the times (managers edit them), rooms with their
//! locks, calendar feeds and channel managers, staff. The wifi password is
//! shown to managers only; feed addresses are masked; webhook tokens and
//! credentials are never read.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::error::ConsoleError;
use super::session::{Posted, Session};
use super::view::{self, Chrome, Done};
use super::{render, Console};
use crate::access::locks::list_property_locks;
use crate::access::model::{ProviderKind, Role};
use crate::access::properties::{
    check_notify_channels, check_release_hours, get_property, list_rooms, parse_local_time, parse_property_name,
    update_property, KnowledgeChanges, NewProperty, PropertyChanges,
};
use crate::access::settings;
use crate::devices::discovery::discover;

/// Who edits a property: its managers (and admins).
pub(super) const EDITOR: Role = Role::Manager;

/// `GET /admin/properties`.
pub async fn list(
    State(console): State<Arc<Console>>,
    session: Session,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    let mut properties = Vec::new();
    for id in &session.member.property_ids {
        let property = get_property(console.db(), *id).await?;
        properties.push(minijinja::context! { id => property.id, name => property.name, address => property.address,
        timezone => property.timezone.name() });
    }
    render::page(
        "properties.html",
        minijinja::context! { chrome => Chrome::new(&session, "properties", &done), properties },
    )
}

pub(super) fn parse_id(id: &str) -> Result<Uuid, ConsoleError> {
    id.parse().map_err(|_| ConsoleError::NotFound)
}

/// `GET /admin/properties/{id}`.
pub async fn page(
    State(console): State<Arc<Console>>,
    session: Session,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    let id = parse_id(&id)?;
    show(&console, &session, id, &done, None).await
}

/// A form the core or the console refused: the page again with the reason
/// and what was typed (never a feed's address: its path is a secret).
#[derive(Debug)]
pub(super) struct Refused {
    status: StatusCode,
    message: String,
    posted: serde_json::Value,
}

/// What a form on the property page ends in: the page with a note, or
/// the page again with the problem when the form is at fault (422, 409).
pub(super) async fn outcome(
    console: &Console,
    session: &Session,
    id: Uuid,
    result: Result<&'static str, ConsoleError>,
    posted: &impl serde::Serialize,
) -> Result<Response, ConsoleError> {
    let e = match result {
        Ok(done) => return Ok(Redirect::to(&format!("/admin/properties/{id}?done={done}")).into_response()),
        Err(e) => e,
    };
    let Some((status, message)) = e.form_problem() else {
        return Err(e);
    };
    let posted = serde_json::to_value(posted).unwrap_or_default();
    show(console, session, id, &Done::default(), Some(Refused { status, message, posted })).await
}

/// The property page, with a refused form's problem when there is one.
async fn show(
    console: &Console,
    session: &Session,
    id: Uuid,
    done: &Done,
    refused: Option<Refused>,
) -> Result<Response, ConsoleError> {
    let role = session.role_at(id)?;
    let editor = role.at_least(EDITOR);
    let mut conn = console.db().acquire().await?;
    let property = get_property(&mut *conn, id).await?;
    let rooms = list_rooms(&mut *conn, id).await?;
    let locks = list_property_locks(&mut *conn, id).await?;
    let setup = settings::setup(&mut conn, id).await?;
    let tz = property.timezone;
    let lock_rows = |room: Option<Uuid>| -> Vec<minijinja::Value> {
        locks.iter().filter(|l| l.room_id == room).map(|l| minijinja::context! { id => l.id, name => l.name }).collect()
    };
    let mut knowledge = property.knowledge.clone();
    if !editor {
        // A cleaner does not need the guests' wifi password.
        knowledge.wifi_password = knowledge.wifi_password.map(|_| "hidden".to_owned());
    }
    let discovered = if editor { unmapped_devices(console).await } else { Vec::new() };
    let (status, problem, posted) = match refused {
        Some(r) => (r.status, Some(r.message), r.posted),
        None => (StatusCode::OK, None, serde_json::Value::Null),
    };
    let mut page = render::page(
        "property.html",
        minijinja::context! {
            chrome => Chrome::new(session, "properties", done), problem, posted,
            id, editor, name => property.name, address => property.address, timezone => tz.name(),
            check_in => property.check_in_time.format("%H:%M").to_string(),
            check_out => property.check_out_time.format("%H:%M").to_string(),
            release_hours => property.code_release_hours,
            verification => property.requires_verification, channels => property.notify_channels,
            all_channels => NewProperty::CHANNELS,
            knowledge,
            entrances => lock_rows(None),
            rooms => rooms.iter().map(|r| minijinja::context! { id => r.id, name => r.name, locks => lock_rows(Some(r.id)) }).collect::<Vec<_>>(),
            feeds => setup.feeds.iter().map(|f| minijinja::context! { id => f.id, room => f.room, source => f.source, url => f.masked_url,
                status => f.last_status, fetched => f.last_fetched_at.map(|at| view::local(tz, at)), events => f.events }).collect::<Vec<_>>(),
            integrations => setup.integrations.iter().map(|i| minijinja::context! { kind => i.kind, units => i.units,
                since => view::local(tz, i.created_at) }).collect::<Vec<_>>(),
            staff => setup.staff.iter().map(|s| minijinja::context! { name => s.name, role => s.role.as_str(), active => s.active, cleaner => s.cleaner }).collect::<Vec<_>>(),
            discovered,
        },
    )?;
    *page.status_mut() = status;
    Ok(page)
}

/// The devices of the configured providers that are no doorman lock yet,
/// offered by the add-a-lock form; a provider that does not answer within
/// three seconds offers none.
async fn unmapped_devices(console: &Console) -> Vec<minijinja::Value> {
    let providers = &console.jobs.providers;
    let mut offered = Vec::new();
    for kind in ProviderKind::ALL.iter().copied().filter(|kind| providers.get(*kind).is_ok()) {
        let listed = tokio::time::timeout(std::time::Duration::from_secs(3), discover(console.db(), providers, kind));
        let Ok(Ok(devices)) = listed.await else { continue };
        offered.extend(devices.into_iter().filter(|d| d.lock.is_none()).map(|d| {
            minijinja::context! { provider => kind.as_str(), device_id => d.device_id, name => d.name }
        }));
    }
    offered
}

/// The knowledge base form: every entry, empty meaning none.
#[derive(Debug, Deserialize, Serialize)]
pub struct KnowledgeForm {
    entry_instructions: String,
    wifi_name: String,
    wifi_password: String,
    parking: String,
    directions: String,
    checkout_instructions: String,
    house_rules: String,
}

/// The longest entry accepted, in characters.
const MAX_ENTRY: usize = 4000;

fn entry(name: &str, raw: &str) -> Result<Option<String>, ConsoleError> {
    let text = raw.trim().replace("\r\n", "\n");
    if text.chars().count() > MAX_ENTRY || text.contains('\0') {
        return Err(ConsoleError::BadForm(format!("{name}: at most {MAX_ENTRY} characters.")));
    }
    Ok(Some(text).filter(|t| !t.is_empty()))
}

/// `POST …/knowledge` (managers); audited by the core.
pub async fn knowledge(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<KnowledgeForm>,
) -> Result<Response, ConsoleError> {
    let (session, f) = (posted.session, posted.form);
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let result = async {
        let knowledge = KnowledgeChanges {
            entry_instructions: Some(entry("Entry instructions", &f.entry_instructions)?),
            wifi_name: Some(entry("Wifi name", &f.wifi_name)?),
            wifi_password: Some(entry("Wifi password", &f.wifi_password)?),
            parking: Some(entry("Parking", &f.parking)?),
            directions: Some(entry("Directions", &f.directions)?),
            checkout_instructions: Some(entry("Check-out instructions", &f.checkout_instructions)?),
            house_rules: Some(entry("House rules", &f.house_rules)?),
            // The form edits the English (or only) text; other languages stay.
            translations: Default::default(),
        };
        change(&console, &session, id, PropertyChanges { knowledge, ..Default::default() }).await
    }
    .await;
    outcome(&console, &session, id, result, &f).await
}

/// The times form.
#[derive(Debug, Deserialize, Serialize)]
pub struct TimesForm {
    check_in: String,
    check_out: String,
    release_hours: String,
}

/// `POST …/times` (managers); audited by the core.
pub async fn times(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<TimesForm>,
) -> Result<Response, ConsoleError> {
    let (session, f) = (posted.session, posted.form);
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let result = async {
        let hours = f.release_hours.trim().parse().map_err(|_| bad("Release: a number of hours, 0 to 720."))?;
        let changes = PropertyChanges {
            check_in_time: Some(parse_local_time("Check-in", f.check_in.trim())?),
            check_out_time: Some(parse_local_time("Check-out", f.check_out.trim())?),
            code_release_hours: Some(check_release_hours(hours)?),
            ..Default::default()
        };
        change(&console, &session, id, changes).await
    }
    .await;
    outcome(&console, &session, id, result, &f).await
}

fn bad(message: &str) -> ConsoleError {
    ConsoleError::BadForm(message.to_owned())
}

/// Changes the property through the admin API's core; audited there
/// (`property.updated`) with the staff member as the actor.
async fn change(
    console: &Console,
    session: &Session,
    id: Uuid,
    changes: PropertyChanges,
) -> Result<&'static str, ConsoleError> {
    let mut tx = console.db().begin().await?;
    update_property(&mut tx, id, &changes, session.member.actor()).await?;
    tx.commit().await?;
    Ok("saved")
}

/// The settings form: name, address, the channels guest messages use.
#[derive(Debug, Deserialize, Serialize)]
pub struct SettingsForm {
    name: String,
    address: String,
    #[serde(default)]
    whatsapp: Option<String>,
    #[serde(default)]
    telegram: Option<String>,
    #[serde(default)]
    sms: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// `POST …/settings` (managers); audited by the core.
pub async fn edit_settings(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<SettingsForm>,
) -> Result<Response, ConsoleError> {
    let (session, f) = (posted.session, posted.form);
    let id = parse_id(&id)?;
    session.require(id, EDITOR)?;
    let result = async {
        let ticked = [("whatsapp", &f.whatsapp), ("telegram", &f.telegram), ("sms", &f.sms), ("email", &f.email)];
        let channels = ticked.iter().filter(|(_, on)| on.is_some()).map(|(c, _)| (*c).to_owned()).collect();
        let changes = PropertyChanges {
            name: Some(parse_property_name(&f.name)?),
            address: Some(f.address.trim().to_owned()),
            notify_channels: Some(check_notify_channels(channels)?),
            ..Default::default()
        };
        change(&console, &session, id, changes).await
    }
    .await;
    outcome(&console, &session, id, result, &f).await
}
