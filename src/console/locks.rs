//! Locks (`/admin/locks`, `/admin/locks/{id}`): online, battery, codes by
//! state (masked), what is on the device and the orphans doorman did not
//! set (adopt, or remove after a confirmation), reconcile now.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::booking::ask;
use super::error::ConsoleError;
use super::session::{NoFields, Posted, Session};
use super::view::{self, Badge, Chrome, Done};
use super::{render, Console};
use crate::access::audit::{self, Subject};
use crate::access::codes::{list_lock_codes, AccessCode};
use crate::access::confirmations::Pending;
use crate::access::lifecycle::adopt_device_code;
use crate::access::locks::{get_lock, list_property_locks, Lock};
use crate::access::model::CodeState;
use crate::access::properties::{get_property, list_rooms};
use crate::access::rooms::RoomCode;
use crate::access::timezone::Timezone;
use crate::devices::observe::{observe_device_codes, ObservedCode};

/// Online and battery as badges.
fn health(lock: &Lock) -> (Badge, Badge) {
    let online = match lock.device_online {
        Some(true) => Badge::ready("online"),
        Some(false) => Badge::action("offline"),
        None => Badge::past("not checked yet"),
    };
    let low = lock.battery_low.unwrap_or(false) || lock.keypad_battery_low.unwrap_or(false);
    let battery = match (lock.battery_percent, low) {
        (Some(p), true) => Badge::action(format!("battery {p} %, low")),
        (None, true) => Badge::action("battery low"),
        (Some(p), false) => Badge::ready(format!("battery {p} %")),
        (None, false) => Badge::past("battery not reported"),
    };
    (online, battery)
}

/// `GET /admin/locks`: every lock of the staff member's properties.
pub async fn list(
    State(console): State<Arc<Console>>,
    session: Session,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    let mut conn = console.db().acquire().await?;
    let mut properties = Vec::new();
    for property_id in &session.member.property_ids {
        let property = get_property(&mut *conn, *property_id).await?;
        let rooms = list_rooms(&mut *conn, *property_id).await?;
        let locks = list_property_locks(&mut *conn, *property_id).await?;
        let rows: Vec<minijinja::Value> = locks
            .iter()
            .map(|lock| {
                let (online, battery) = health(lock);
                let room = lock.room_id.and_then(|id| rooms.iter().find(|r| r.id == id)).map(|r| r.name.clone());
                minijinja::context! { id => lock.id, name => lock.name, room, provider => lock.provider.as_str(),
                status => lock.status.as_str(), online, battery }
            })
            .collect();
        properties.push(minijinja::context! { name => property.name, locks => rows });
    }
    render::page("locks.html", minijinja::context! { chrome => Chrome::new(&session, "locks", &done), properties })
}

/// The lock `id`, if the staff member works at its property.
async fn find(console: &Console, session: &Session, id: &str) -> Result<Lock, ConsoleError> {
    let id: Uuid = id.parse().map_err(|_| ConsoleError::NotFound)?;
    let lock = get_lock(console.db(), id).await?;
    session.role_at(lock.property_id)?;
    Ok(lock)
}

/// `GET /admin/locks/{id}`: the lock asked now for what is on it.
pub async fn page(
    State(console): State<Arc<Console>>,
    session: Session,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    let lock = find(&console, &session, &id).await?;
    let property = get_property(console.db(), lock.property_id).await?;
    let manager = session.require(lock.property_id, Session::command_role("audit")).is_ok();
    let codes: Vec<AccessCode> = list_lock_codes(console.db(), lock.id).await?;
    let visible = |c: &AccessCode| listed(&lock, c).visible_to(&session.member, manager);
    let (live, past): (Vec<&AccessCode>, Vec<&AccessCode>) =
        codes.iter().filter(|c| visible(c)).partition(|c| CodeState::LISTED.contains(&c.state));
    let tz = property.timezone;
    let device = observe_device_codes(console.db(), &console.jobs.providers, lock.id).await;
    let (orphans, on_device, unreadable) = match &device {
        Ok(found) => (found.iter().filter(|c| !c.managed).map(orphan_row).collect::<Vec<_>>(), found.len(), false),
        Err(e) => {
            tracing::warn!(lock_id = %lock.id, error = %e, "console: the lock could not be read");
            (Vec::new(), 0, true)
        }
    };
    let (online, battery) = health(&lock);
    render::page(
        "lock.html",
        minijinja::context! {
            chrome => Chrome::new(&session, "locks", &done),
            id => lock.id, name => lock.name, property => property.name,
            provider => lock.provider.as_str(), brand => lock.brand, model => lock.model,
            status => lock.status.as_str(), capacity => lock.capacity, code_length => lock.code_length,
            checked => lock.status_checked_at.map(|at| view::local(tz, at)),
            reconciled => lock.reconciled_at.map(|at| view::local(tz, at)),
            online, battery, on_device, unreadable,
            live => live.iter().map(|c| code_row(c, tz)).collect::<Vec<_>>(),
            past => past.iter().take(20).map(|c| code_row(c, tz)).collect::<Vec<_>>(),
            orphans => if manager { orphans } else { Vec::new() },
            manager,
        },
    )
}

/// A lock's code as the chat's listings see it, for their visibility rule.
fn listed(lock: &Lock, code: &AccessCode) -> RoomCode {
    RoomCode {
        lock: lock.name.clone(),
        code: String::new(),
        kind: code.kind,
        staff_id: code.staff_id,
        state: code.state.as_str().to_owned(),
        valid_until: code.valid_until,
        booking: None,
        label: code.label.clone(),
    }
}

fn code_row(code: &AccessCode, tz: Timezone) -> minijinja::Value {
    minijinja::context! {
        masked => view::masked(&code.code), kind => code.kind.as_str(), label => code.label,
        state => view::code_state(code.state.as_str()),
        from => view::local(tz, code.valid_from), until => code.valid_until.map(|at| view::local(tz, at)),
        error => code.last_error,
    }
}

fn orphan_row(code: &ObservedCode) -> minijinja::Value {
    minijinja::context! {
        provider_ref => code.provider_ref, name => code.name,
        masked => code.code.as_deref().map(view::masked), adoptable => code.code.is_some(),
    }
}

/// `POST …/reconcile`: compares the lock with doorman's codes now; audited.
pub async fn reconcile(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let lock = find(&console, &session, &id).await?;
    session.require(lock.property_id, Session::command_role("audit"))?;
    let report =
        crate::devices::locks::reconcile(console.db(), &console.jobs.providers, lock.id).await.map_err(|e| {
            ConsoleError::BadForm(format!("The lock could not be read now ({}). Try again later.", short(&e)))
        })?;
    let subject = Subject { property_id: Some(lock.property_id), lock_id: Some(lock.id), ..Default::default() };
    let details = serde_json::json!({ "on_device": report.on_device, "orphans": report.orphans.len(),
        "reprogrammed": report.reprogrammed.len(), "window_fixed": report.window_fixed.len() });
    audit::record(console.db(), session.member.actor(), "lock.reconciled", subject, details).await?;
    Ok(Redirect::to(&format!("/admin/locks/{}?done=reconciled", lock.id)).into_response())
}

fn short(e: &crate::devices::observe::ObserveError) -> &'static str {
    match e {
        crate::devices::observe::ObserveError::Provider(_) => "the provider did not answer",
        crate::devices::observe::ObserveError::Access(_) => "a database problem",
        crate::devices::observe::ObserveError::NotConfigured(_) => "its provider is not configured on this instance",
    }
}

/// An orphan, by the provider's id.
#[derive(Debug, Deserialize)]
pub struct Orphan {
    provider_ref: String,
}

/// `POST …/adopt`: the orphan becomes the staff member's own persistent
/// code (the core audits it).
pub async fn adopt(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<Orphan>,
) -> Result<Response, ConsoleError> {
    let (session, form) = (posted.session, posted.form);
    let lock = find(&console, &session, &id).await?;
    session.require(lock.property_id, Session::command_role("audit"))?;
    let mut tx = console.db().begin().await?;
    adopt_device_code(&mut tx, lock.id, &form.provider_ref, session.member.id, session.member.actor()).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/locks/{}?done=adopted", lock.id)).into_response())
}

/// `POST …/remove`: asks to confirm, as `/audit` does; confirmed, the core
/// queues the removal and audits it.
pub async fn remove(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<Orphan>,
) -> Result<Response, ConsoleError> {
    let (session, form) = (posted.session, posted.form);
    let lock = find(&console, &session, &id).await?;
    session.require(lock.property_id, Session::command_role("audit"))?;
    let mut tx = console.db().begin().await?;
    let pending = Pending::Purge { orphans: vec![(lock.id, form.provider_ref.clone())], room: lock.name.clone() };
    let summary = format!("Remove a code doorman did not set ({}) from lock {}.", form.provider_ref, lock.name);
    let back = format!("/admin/locks/{}", lock.id);
    let response = ask(&mut tx, &session, &pending, &summary, &back, "Remove it from the lock").await?;
    tx.commit().await?;
    Ok(response)
}
