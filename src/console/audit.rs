//! Audit (`/admin/audit`): who did what, newest first, within the staff
//! member's properties; filtered by booking, lock or actor.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::error::ConsoleError;
use super::session::Session;
use super::view::{Chrome, Done};
use super::{render, Console};
use crate::access::audit::{list_scoped, ScopedFilter};
use crate::access::bookings::find_booking_id;

/// The filters, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    booking: Option<String>,
    lock: Option<String>,
    actor: Option<String>,
}

fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// `GET /admin/audit?booking=&lock=&actor=`.
pub async fn page(
    State(console): State<Arc<Console>>,
    session: Session,
    Query(filters): Query<Filters>,
) -> Result<Response, ConsoleError> {
    let mut conn = console.db().acquire().await?;
    let booking_id = match given(&filters.booking) {
        // A booking of another property is filtered out by the scope.
        Some(reference) => Some(
            find_booking_id(&mut *conn, reference)
                .await
                .map_err(|_| ConsoleError::BadForm(format!("There is no booking {reference}.")))?,
        ),
        None => None,
    };
    let lock_id = match given(&filters.lock) {
        Some(id) => Some(id.parse().map_err(|_| ConsoleError::BadForm("A lock is named by its id.".into()))?),
        None => None,
    };
    let filter = ScopedFilter {
        property_ids: session.member.property_ids.clone(),
        booking_id,
        lock_id,
        actor: given(&filters.actor).map(str::to_owned),
        limit: 200,
    };
    let events = list_scoped(&mut conn, &filter).await?;
    let rows: Vec<minijinja::Value> = events
        .iter()
        .map(|e| {
            minijinja::context! {
                at => e.occurred_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                actor => e.actor, action => e.action, lock_id => e.lock_id,
                details => summary(&e.details),
            }
        })
        .collect();
    render::page(
        "audit.html",
        minijinja::context! {
            chrome => Chrome::new(&session, "audit", &Done::default()),
            events => rows,
            booking => given(&filters.booking), lock => given(&filters.lock), actor => given(&filters.actor),
        },
    )
}

/// The details' plain fields, `key: value`, short (they never hold a full
/// code: the core writes masked values only).
fn summary(details: &serde_json::Value) -> String {
    let Some(map) = details.as_object() else {
        return String::new();
    };
    map.iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::String(s) => Some(format!("{k}: {s}")),
            serde_json::Value::Number(n) => Some(format!("{k}: {n}")),
            serde_json::Value::Bool(b) => Some(format!("{k}: {b}")),
            _ => None,
        })
        .take(6)
        .collect::<Vec<_>>()
        .join(", ")
}
