//! Booking (`/admin/bookings/{ref}`): the guest, the stay, its codes
//! (masked; reveal is a button, audited by the core), its messages with
//! their delivery, its audit trail; resend, regenerate and revoke, with the
//! confirmation chat asks for (`access::confirmations`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::ConsoleError;
use super::session::{NoFields, Posted, Session};
use super::today::urlencode;
use super::view::{self, Badge, Chrome, Done};
use super::{render, Console};
use crate::access::audit::{self, AuditFilter, Subject};
use crate::access::bookings::{get_booking_by_ref, Booking};
use crate::access::codes::reveal::{reveal_booking_codes, Audience, Revealed};
use crate::access::codes::stay::{replace_stay_codes, revoke_stay_codes};
use crate::access::codes::{list_booking_codes, AccessCode};
use crate::access::confirmations::{self, Pending};
use crate::access::locks::list_property_locks;
use crate::access::notifications::{self, NotificationFilter};
use crate::access::properties::{get_property, Property};
use crate::access::rooms::Stay;

/// The booking `reference`, if the staff member works at its property.
pub(super) async fn find(
    conn: &mut PgConnection,
    session: &Session,
    reference: &str,
) -> Result<(Booking, Property), ConsoleError> {
    let booking = get_booking_by_ref(&mut *conn, reference).await?;
    session.role_at(booking.property_id)?;
    let property = get_property(&mut *conn, booking.property_id).await?;
    Ok((booking, property))
}

pub(super) fn href(booking: &Booking) -> String {
    format!("/admin/bookings/{}", urlencode(&booking.external_ref))
}

/// `GET /admin/bookings/{ref}`.
pub async fn page(
    State(console): State<Arc<Console>>,
    session: Session,
    Path(reference): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    let mut conn = console.db().acquire().await?;
    render_page(&mut conn, &session, &reference, &done, &[]).await
}

/// The booking page; `revealed` codes shown in full (a reveal's answer).
async fn render_page(
    conn: &mut PgConnection,
    session: &Session,
    reference: &str,
    done: &Done,
    revealed: &[Revealed],
) -> Result<Response, ConsoleError> {
    let (booking, property) = find(conn, session, reference).await?;
    let locks: HashMap<Uuid, String> =
        list_property_locks(&mut *conn, property.id).await?.into_iter().map(|l| (l.id, l.name)).collect();
    let codes = list_booking_codes(&mut *conn, booking.id).await?;
    let filter = NotificationFilter { booking_id: Some(booking.id), limit: 100, ..Default::default() };
    let messages = notifications::list(&mut *conn, &filter).await?;
    let scheduled = crate::access::journey::schedule::timeline(&mut *conn, booking.id).await?;
    let trail =
        audit::list(&mut *conn, &AuditFilter { booking_id: Some(booking.id), limit: 100, ..Default::default() })
            .await?;
    let tz = property.timezone;
    let may = |command: &str| session.require(property.id, Session::command_role(command)).is_ok();
    render::page(
        "booking.html",
        minijinja::context! {
            chrome => Chrome::new(session, "today", done),
            href => href(&booking),
            reference => booking.external_ref,
            property => property.name,
            room => booking.room,
            guest => booking.guest.name,
            phone => booking.guest.phone.as_ref().map(|p| p.masked()),
            email => booking.guest.email,
            language => booking.guest.language,
            status => status_badge(booking.status.as_str()),
            verified => booking.verified,
            check_in => view::local(tz, booking.check_in_at),
            check_out => view::local(tz, booking.check_out_at),
            arrived => booking.arrived_at.map(|at| view::local(tz, at)),
            codes => codes.iter().map(|c| code_row(c, &locks, tz)).collect::<Vec<_>>(),
            revealed => revealed.iter().map(|r| minijinja::context! { lock => r.lock, code => r.code, state => view::code_state(&r.state) }).collect::<Vec<_>>(),
            messages => messages.iter().map(|m| minijinja::context! {
                at => view::local(tz, m.created_at), template => m.template, channel => m.channel,
                recipient => crate::access::phone::mask(&m.recipient), status => view::delivery(&m.status), error => m.error,
            }).collect::<Vec<_>>(),
            scheduled => scheduled.iter().map(|s| minijinja::context! {
                id => s.id, rule => s.rule, at => view::local(tz, s.send_at),
                held => (s.send_at != s.due_at).then(|| view::local(tz, s.due_at)),
                channels => s.channels.join(", "), state => view::scheduled(&s.state), draft => s.state == "draft",
            }).collect::<Vec<_>>(),
            may_send => may("send"),
            trail => trail.iter().map(|e| minijinja::context! {
                at => view::local(tz, e.occurred_at), actor => e.actor, action => e.action,
            }).collect::<Vec<_>>(),
            may_reveal => may("code"),
            may_revoke => may("revoke"),
            may_regen => may("regen"),
            may_move => may("late"),
            may_depart => may("checkout") && booking.status.as_str() == "confirmed"
                && booking.check_in_at <= Utc::now() && Utc::now() < booking.check_out_at,
            open => booking.status.as_str() != "cancelled" && Utc::now() < booking.check_out_at,
        },
    )
}

fn code_row(
    code: &AccessCode,
    locks: &HashMap<Uuid, String>,
    tz: crate::access::timezone::Timezone,
) -> minijinja::Value {
    minijinja::context! {
        lock => locks.get(&code.lock_id).cloned().unwrap_or_else(|| "another lock".into()),
        masked => view::masked(&code.code),
        kind => code.kind.as_str(),
        state => view::code_state(code.state.as_str()),
        from => view::local(tz, code.valid_from),
        until => code.valid_until.map(|at| view::local(tz, at)),
        error => code.last_error,
    }
}

/// `POST …/reveal`: the booking page with its live codes in full; each
/// reveal audited by the core with the staff member as the actor.
pub async fn reveal(
    State(console): State<Arc<Console>>,
    Path(reference): Path<String>,
    posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let mut tx = console.db().begin().await?;
    let (booking, _) = find(&mut tx, &session, &reference).await?;
    session.require(booking.property_id, Session::command_role("code"))?;
    let revealed =
        reveal_booking_codes(&mut tx, booking.property_id, booking.id, Audience::Staff(session.member.id)).await?;
    let page = render_page(&mut tx, &session, &reference, &Done::default(), &revealed).await?;
    tx.commit().await?;
    Ok(page)
}

/// `POST …/resend`: the stay's working codes sent to the guest again (when
/// the release rule allows, as after `/regen`); audited.
pub async fn resend(
    State(console): State<Arc<Console>>,
    Path(reference): Path<String>,
    posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let mut tx = console.db().begin().await?;
    let (booking, _) = find(&mut tx, &session, &reference).await?;
    session.require(booking.property_id, Session::command_role("code"))?;
    let key = format!("resend:{}", Uuid::new_v4().simple());
    crate::conversation::deliver_codes(&console.jobs, &mut tx, booking.id, &key).await?;
    let subject =
        Subject { property_id: Some(booking.property_id), booking_id: Some(booking.id), ..Default::default() };
    audit::record(&mut *tx, session.member.actor(), "booking.codes_resent", subject, serde_json::json!({})).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{}?done=resent", href(&booking))).into_response())
}

/// The stay of a booking, as the chat's confirmation rule reads it.
fn stay_of(booking: &Booking, property: &Property) -> Stay {
    Stay {
        booking_id: booking.id,
        reference: booking.external_ref.clone(),
        guest: booking.guest.name.clone(),
        check_in_at: booking.check_in_at,
        check_out_at: booking.check_out_at,
        release_hours: property.code_release_hours,
    }
}

/// `POST …/revoke`: at once before the release time, else after a
/// confirmation (the guest may have the code already), as `/revoke`.
pub async fn revoke(
    State(console): State<Arc<Console>>,
    Path(reference): Path<String>,
    posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let mut tx = console.db().begin().await?;
    let (booking, property) = find(&mut tx, &session, &reference).await?;
    session.require(booking.property_id, Session::command_role("revoke"))?;
    let pending = Pending::Revoke { booking_id: booking.id, room: booking.room.clone() };
    let stay = stay_of(&booking, &property);
    let response = if stay.released(Utc::now()) {
        let summary = format!(
            "Revoke the codes of {} ({}, room {}): the guest may have them already{}.",
            booking.external_ref,
            booking.guest.name,
            booking.room,
            if booking.check_in_at <= Utc::now() { " and the stay is in progress" } else { "" }
        );
        ask(&mut tx, &session, &pending, &summary, &href(&booking), "Revoke the codes").await?
    } else {
        let revoked =
            revoke_stay_codes(&mut tx, booking.id, "revoked by staff", session.member.actor(), Utc::now()).await?;
        let done = if revoked == 0 { "nothing" } else { "revoked" };
        Redirect::to(&format!("{}?done={done}", href(&booking))).into_response()
    };
    tx.commit().await?;
    Ok(response)
}

/// `POST …/regen`: always confirmed, as `/regen`.
pub async fn regen(
    State(console): State<Arc<Console>>,
    Path(reference): Path<String>,
    posted: Posted<NoFields>,
) -> Result<Response, ConsoleError> {
    let session = posted.session;
    let mut tx = console.db().begin().await?;
    let (booking, _) = find(&mut tx, &session, &reference).await?;
    session.require(booking.property_id, Session::command_role("regen"))?;
    let pending = Pending::Regen { booking_id: booking.id, room: booking.room.clone() };
    let summary = format!(
        "Replace the codes of {} ({}, room {}) and send the new ones to the guest: the old ones stop working.",
        booking.external_ref, booking.guest.name, booking.room
    );
    let response = ask(&mut tx, &session, &pending, &summary, &href(&booking), "Replace the codes").await?;
    tx.commit().await?;
    Ok(response)
}

/// Stores the action (`access::confirmations`, as chat does) and shows
/// the confirmation page; `back` is where both answers return to.
pub async fn ask(
    tx: &mut PgConnection,
    session: &Session,
    pending: &Pending,
    summary: &str,
    back: &str,
    button: &str,
) -> Result<Response, ConsoleError> {
    let token = confirmations::ask(tx, session.member.id, pending, summary, Utc::now()).await?;
    render::page(
        "confirm.html",
        minijinja::context! {
            chrome => Chrome::new(session, "today", &Done::default()),
            summary, token, back, button,
            minutes => confirmations::CONFIRM_WITHIN.num_minutes(),
        },
    )
}

/// The confirmation form.
#[derive(Debug, Deserialize)]
pub struct Confirmation {
    token: String,
    back: String,
}

/// `POST /admin/confirm`: the stored action, once, by whoever asked.
pub async fn confirm(
    State(console): State<Arc<Console>>,
    posted: Posted<Confirmation>,
) -> Result<Response, ConsoleError> {
    let (session, form) = (posted.session, posted.form);
    // Only back to a console page: never an open redirect.
    let back = if form.back.starts_with("/admin/") && !form.back.starts_with("/admin//") {
        form.back
    } else {
        "/admin".into()
    };
    let mut tx = console.db().begin().await?;
    let Some(pending) = confirmations::redeem(&mut tx, session.member.id, &form.token).await? else {
        return Err(ConsoleError::BadForm("This confirmation was used already or has expired. Start again.".into()));
    };
    let done = carry_out(&console, &mut tx, &session, &pending).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("{back}?done={done}")).into_response())
}

/// Does a confirmed action with the core calls chat makes for it.
async fn carry_out(
    console: &Console,
    tx: &mut PgConnection,
    session: &Session,
    pending: &Pending,
) -> Result<&'static str, ConsoleError> {
    let (actor, now) = (session.member.actor(), Utc::now());
    match pending {
        Pending::Revoke { booking_id, .. } => {
            revoke_stay_codes(tx, *booking_id, "revoked by staff", actor, now).await?;
            Ok("revoked")
        }
        Pending::Regen { booking_id, .. } => {
            replace_stay_codes(tx, *booking_id, actor, now).await?;
            let key = format!("regen:{}", Uuid::new_v4().simple());
            crate::conversation::deliver_codes(&console.jobs, tx, *booking_id, &key).await?;
            Ok("regenerated")
        }
        Pending::Purge { orphans, .. } => {
            for (lock_id, provider_ref) in orphans {
                crate::access::locks::request_orphan_removal(tx, *lock_id, provider_ref, actor).await?;
            }
            Ok("removing")
        }
        Pending::Depart { booking_id, .. } => {
            crate::access::windows::record_departure(tx, *booking_id, actor, now)
                .await?
                .map_err(crate::access::AccessError::from)?;
            Ok("departed")
        }
    }
}

/// A badge for a booking's status.
pub fn status_badge(status: &str) -> Badge {
    match status {
        "confirmed" => Badge::ready("confirmed"),
        "pending" => Badge::progress("pending"),
        _ => Badge::past(status.to_owned()),
    }
}
