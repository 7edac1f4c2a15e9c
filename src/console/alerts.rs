//! Alerts and hand-offs (`/admin/alerts`): what needs a person now, and
//! the guests waiting for one, each hand-off resolved with a button.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use uuid::Uuid;

use super::error::ConsoleError;
use super::session::{NoFields, Posted, Session};
use super::today::{attention, handoff_views};
use super::view::{Chrome, Done};
use super::{render, Console};
use crate::access::audit::{self, Subject};
use crate::access::journey::schedule as journey;
use crate::access::today;
use crate::conversation::handoffs;

/// `GET /admin/alerts`.
pub async fn page(
    State(console): State<Arc<Console>>,
    session: Session,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    let mut conn = console.db().acquire().await?;
    let board = today::board(&mut conn, &session.member.property_ids, Utc::now()).await?;
    let open = handoffs::list_open(&mut conn, &session.member.property_ids).await?;
    let resolver = session.member.scoped_to(Session::command_role("resolve"));
    let may_resolve = !resolver.property_ids.is_empty();
    let sender = session.member.scoped_to(Session::command_role("send"));
    let drafts = journey::list_drafts(&mut *conn, &sender.property_ids).await?;
    render::page(
        "alerts.html",
        minijinja::context! {
            chrome => Chrome::new(&session, "alerts", &done),
            attention => attention(&board, Utc::now()),
            handoffs => handoff_views(&open),
            may_resolve,
            drafts => drafts.iter().map(|d| minijinja::context! {
                id => d.id, rule => d.rule, guest => d.guest, room => d.room, reference => d.reference,
                href => format!("/admin/bookings/{}", super::today::urlencode(&d.reference)),
            }).collect::<Vec<_>>(),
        },
    )
}

/// `POST /admin/handoffs/{id}/resolve`: automatic replies resume for that
/// guest (as `/resolve`); audited.
pub async fn resolve(
    State(console): State<Arc<Console>>,
    Path(id): Path<String>,
    posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let id: Uuid = id.parse().map_err(|_| ConsoleError::NotFound)?;
    let resolver = session.member.scoped_to(Session::command_role("resolve"));
    let mut tx = console.db().begin().await?;
    // Only a hand-off open at a property where they may resolve.
    let open = handoffs::list_open(&mut tx, &resolver.property_ids).await?;
    let Some(handoff) = open.iter().find(|h| h.id == id) else {
        let anywhere = handoffs::list_open(&mut tx, &session.member.property_ids).await?;
        return Err(match anywhere.iter().any(|h| h.id == id) {
            true => ConsoleError::NeedsRole(Session::command_role("resolve")),
            false => ConsoleError::NotFound,
        });
    };
    handoffs::resolve(&mut tx, id, session.member.actor()).await?;
    let details = serde_json::json!({ "handoff_id": id });
    let subject = Subject { property_id: handoff.property_id, ..Default::default() };
    audit::record(&mut *tx, session.member.actor(), "handoff.resolved", subject, details).await?;
    tx.commit().await?;
    Ok(Redirect::to("/admin/alerts?done=resolved").into_response())
}
