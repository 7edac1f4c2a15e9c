//! A standalone code with a window (`/issue` in chat): for a contractor or
//! a cleaner, on a room's locks and the shared entrances.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::error::ConsoleError;
use super::session::{Posted, Session};
use super::view::{Chrome, Done};
use super::{render, Console};
use crate::access::codes::manual::{self, Issued};
use crate::access::lifecycle::ManualCode;
use crate::access::model::CodeKind;
use crate::access::rooms::{self, RoomLookup};

/// The properties the staff member may issue codes at: `(id, name)`.
async fn issuing_properties(console: &Console, session: &Session) -> Result<Vec<minijinja::Value>, ConsoleError> {
    let scoped = session.member.scoped_to(Session::command_role("issue"));
    let mut properties = Vec::new();
    for id in &scoped.property_ids {
        let property = crate::access::properties::get_property(console.db(), *id).await?;
        properties.push(minijinja::context! { id => property.id, name => property.name });
    }
    Ok(properties)
}

/// `?room=` to fill in.
#[derive(Debug, Default, Deserialize)]
pub struct Prefill {
    room: Option<String>,
}

/// `GET /admin/codes/new`.
pub async fn form(
    State(console): State<Arc<Console>>,
    session: Session,
    Query(prefill): Query<Prefill>,
) -> Result<Response, ConsoleError> {
    let properties = issuing_properties(&console, &session).await?;
    let today = Utc::now().date_naive().to_string();
    render::page(
        "issue.html",
        minijinja::context! {
            chrome => Chrome::new(&session, "locks", &Done::default()),
            properties, room => prefill.room, today,
        },
    )
}

/// The form's fields, read at the edge.
#[derive(Debug, Deserialize)]
pub struct IssueForm {
    property: String,
    room: String,
    date: String,
    from: String,
    until: String,
    label: String,
}

struct Parsed {
    property_id: Uuid,
    room: String,
    date: NaiveDate,
    from: NaiveTime,
    until: NaiveTime,
    label: String,
}

fn parse(form: IssueForm) -> Result<Parsed, ConsoleError> {
    let bad = |what: &str| ConsoleError::BadForm(format!("Check the {what}."));
    let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad("times (HH:MM)"));
    let label = form.label.trim().to_owned();
    if label.is_empty() || label.chars().count() > 60 {
        return Err(bad("label (1–60 characters)"));
    }
    Ok(Parsed {
        property_id: form.property.parse().map_err(|_| bad("property"))?,
        room: form.room.trim().to_owned(),
        date: NaiveDate::parse_from_str(form.date.trim(), "%Y-%m-%d").map_err(|_| bad("date (YYYY-MM-DD)"))?,
        from: time(&form.from)?,
        until: time(&form.until)?,
        label,
    })
}

/// `POST /admin/codes`: the code on each lock, shown once in full (as
/// `/issue` answers in chat); each code audited by the core.
pub async fn issue(State(console): State<Arc<Console>>, posted: Posted<IssueForm>) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let form = parse(posted.form)?;
    session.require(form.property_id, Session::command_role("issue"))?;
    let mut tx = console.db().begin().await?;
    let room = match rooms::find_room_in(&mut tx, &[form.property_id], &form.room).await? {
        RoomLookup::Found(room) => room,
        _ => return Err(ConsoleError::BadForm(format!("There is no room {} at this property.", form.room))),
    };
    let (valid_from, valid_until) = manual::standalone_window(
        room.timezone.tz(),
        form.date,
        (form.from, form.until),
        Utc::now(),
    )
    .map_err(|_| {
        ConsoleError::BadForm(format!("A code may start at most {} days ahead.", manual::ISSUE_AHEAD.num_days()))
    })?;
    let manual = ManualCode {
        kind: CodeKind::Standalone,
        booking_ref: None,
        staff_id: None,
        valid_from: Some(valid_from),
        valid_until: Some(valid_until),
        label: Some(form.label.clone()),
    };
    let locks = rooms::code_locks(&mut tx, &room, true).await?;
    let issued = manual::issue_on_locks(&mut tx, &locks, &manual, session.member.actor(), Utc::now()).await?;
    tx.commit().await?;
    let tz = room.timezone;
    render::page(
        "issued.html",
        minijinja::context! {
            chrome => Chrome::new(&session, "locks", &Done::default()),
            room => room.room, property => room.property, label => form.label,
            from => super::view::local(tz, valid_from), until => super::view::local(tz, valid_until),
            codes => issued.iter().map(outcome).collect::<Vec<_>>(),
        },
    )
}

fn outcome(issued: &Issued) -> minijinja::Value {
    match &issued.outcome {
        Ok(code) => minijinja::context! { lock => issued.lock, code => code },
        Err(e) => minijinja::context! { lock => issued.lock, refused => super::error::core_words(e) },
    }
}
