//! Properties (`/admin/properties`, `/admin/properties/{id}`): settings,
//! the knowledge base and the times (managers edit them), rooms with their
//! locks, calendar feeds and channel managers, staff. The wifi password is
//! shown to managers only; feed addresses are masked; webhook tokens and
//! credentials are never read.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::error::ConsoleError;
use super::session::{Posted, Session};
use super::view::{self, Chrome, Done};
use super::{render, Console};
use crate::access::locks::list_property_locks;
use crate::access::model::Role;
use crate::access::properties::{get_property, list_rooms, Knowledge};
use crate::access::settings::{self, Times};

/// Who edits a property: its managers (and admins).
const EDITOR: Role = Role::Manager;

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

fn parse_id(id: &str) -> Result<Uuid, ConsoleError> {
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
    render::page(
        "property.html",
        minijinja::context! {
            chrome => Chrome::new(&session, "properties", &done),
            id, editor, name => property.name, address => property.address, timezone => tz.name(),
            check_in => property.check_in_time.format("%H:%M").to_string(),
            check_out => property.check_out_time.format("%H:%M").to_string(),
            release_hours => property.code_release_hours,
            verification => property.requires_verification, channels => property.notify_channels.join(", "),
            knowledge,
            entrances => lock_rows(None),
            rooms => rooms.iter().map(|r| minijinja::context! { name => r.name, locks => lock_rows(Some(r.id)) }).collect::<Vec<_>>(),
            feeds => setup.feeds.iter().map(|f| minijinja::context! { room => f.room, source => f.source, url => f.masked_url,
                status => f.last_status, fetched => f.last_fetched_at.map(|at| view::local(tz, at)), events => f.events }).collect::<Vec<_>>(),
            integrations => setup.integrations.iter().map(|i| minijinja::context! { kind => i.kind, units => i.units,
                since => view::local(tz, i.created_at) }).collect::<Vec<_>>(),
            staff => setup.staff.iter().map(|s| minijinja::context! { name => s.name, role => s.role.as_str(), active => s.active }).collect::<Vec<_>>(),
        },
    )
}

/// The knowledge base form: every entry, empty meaning none.
#[derive(Debug, Deserialize)]
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
    let knowledge = Knowledge {
        entry_instructions: entry("Entry instructions", &f.entry_instructions)?,
        wifi_name: entry("Wifi name", &f.wifi_name)?,
        wifi_password: entry("Wifi password", &f.wifi_password)?,
        parking: entry("Parking", &f.parking)?,
        directions: entry("Directions", &f.directions)?,
        checkout_instructions: entry("Check-out instructions", &f.checkout_instructions)?,
        house_rules: entry("House rules", &f.house_rules)?,
    };
    let mut conn = console.db().acquire().await?;
    settings::set_knowledge(&mut conn, id, &knowledge, session.member.actor()).await?;
    Ok(Redirect::to(&format!("/admin/properties/{id}?done=saved")).into_response())
}

/// The times form.
#[derive(Debug, Deserialize)]
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
    let time = |raw: &str, what: &str| {
        chrono::NaiveTime::parse_from_str(raw.trim(), "%H:%M")
            .map_err(|_| ConsoleError::BadForm(format!("{what}: a time such as 15:00.")))
    };
    let times = Times {
        check_in_time: time(&f.check_in, "Check-in")?,
        check_out_time: time(&f.check_out, "Check-out")?,
        code_release_hours: f
            .release_hours
            .trim()
            .parse()
            .map_err(|_| ConsoleError::BadForm("Release: a number of hours, 0 to 720.".into()))?,
    };
    let mut conn = console.db().acquire().await?;
    settings::set_times(&mut conn, id, times, session.member.actor()).await?;
    Ok(Redirect::to(&format!("/admin/properties/{id}?done=saved")).into_response())
}
