//! The booking page's stay forms (SPEC §11): early check-in and late
//! check-out (managers, as `/early` and `/late`), and an early departure
//! (as `/checkout`, after a confirmation like revoke's). Each goes through
//! the core call the chat command makes (`access::windows`); a refusal
//! (an overlap names the other booking) is shown as the form's problem.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveTime, Utc};
use serde::Deserialize;

use super::booking::{ask, find, href};
use super::error::ConsoleError;
use super::session::{NoFields, Posted, Session};
use super::Console;
use crate::access::confirmations::Pending;
use crate::access::windows::{self, MoveRefused, StayEdge};
use crate::access::AccessError;

/// The time of an early check-in or a late check-out, `HH:MM` local.
#[derive(Debug, Deserialize)]
pub struct StayTime {
    time: String,
}

/// `POST …/early`: the check-in at that time on the arrival day.
pub async fn early(
    State(console): State<Arc<Console>>,
    Path(reference): Path<String>,
    posted: Posted<StayTime>,
) -> Result<Response, ConsoleError> {
    move_edge(&console, &reference, posted, StayEdge::CheckIn).await
}

/// `POST …/late`: the check-out at that time on the departure day.
pub async fn late(
    State(console): State<Arc<Console>>,
    Path(reference): Path<String>,
    posted: Posted<StayTime>,
) -> Result<Response, ConsoleError> {
    move_edge(&console, &reference, posted, StayEdge::CheckOut).await
}

async fn move_edge(
    console: &Console,
    reference: &str,
    posted: Posted<StayTime>,
    edge: StayEdge,
) -> Result<Response, ConsoleError> {
    let (session, form) = (posted.session, posted.form);
    let time = NaiveTime::parse_from_str(form.time.trim(), "%H:%M")
        .map_err(|_| ConsoleError::BadForm("The time is not a time: write it as 14:00.".into()))?;
    let mut tx = console.db().begin().await?;
    let (booking, _) = find(&mut tx, &session, reference).await?;
    let command = if edge == StayEdge::CheckIn { "early" } else { "late" };
    session.require(booking.property_id, Session::command_role(command))?;
    let moved = windows::move_booking_edge(&mut tx, booking.id, edge, time, session.member.actor(), Utc::now()).await?;
    moved.map_err(refusal)?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}?done=moved", href(&booking))).into_response())
}

/// `POST …/depart`: the guest has left; confirmed first, as `/checkout`.
pub async fn depart(
    State(console): State<Arc<Console>>,
    Path(reference): Path<String>,
    posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let mut tx = console.db().begin().await?;
    let (booking, _) = find(&mut tx, &session, &reference).await?;
    session.require(booking.property_id, Session::command_role("checkout"))?;
    let now = Utc::now();
    let refused = match () {
        () if booking.status.as_str() == "cancelled" => Some(MoveRefused::Cancelled),
        () if booking.check_out_at <= now => Some(MoveRefused::Ended),
        () if booking.check_in_at > now => Some(MoveRefused::NotBegun),
        () => None,
    };
    if let Some(refused) = refused {
        return Err(refusal(refused));
    }
    let pending = Pending::Depart { booking_id: booking.id, room: booking.room.clone() };
    let summary = format!(
        "{} ({}, room {}) has left: their code stops working {} minutes after you confirm, and staff are told.",
        booking.external_ref,
        booking.guest.name,
        booking.room,
        windows::DEPARTURE_GRACE.num_minutes()
    );
    let response = ask(&mut tx, &session, &pending, &summary, &href(&booking), "The guest has left").await?;
    tx.commit().await?;
    Ok(response)
}

/// A refused move, as the form's problem (an overlap names the booking).
fn refusal(refused: MoveRefused) -> ConsoleError {
    match refused {
        MoveRefused::Overlap { .. } => ConsoleError::BadForm(format!("Refused: {refused}.")),
        other => ConsoleError::Core(AccessError::Invalid(format!("Refused: {other}."))),
    }
}
