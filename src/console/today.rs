//! Today (`/admin`): per property, today's and tomorrow's arrivals and
//! departures and who is in the house, each with its codes on the locks,
//! the pre-arrival message, verification and arrival; what needs action
//! and the open hand-offs at the top.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

use super::error::ConsoleError;
use super::session::Session;
use super::view::{self, Badge, Chrome, Done};
use super::{render, Console};
use crate::access::readiness::{Problem, ProblemKind};
use crate::access::today::{self, Board, BoardProperty, BoardStay, LockAttention};
use crate::access::turnovers::{self, TurnoverRow};
use crate::conversation::handoffs::{self, OpenHandoff};

/// How many things that need action Today lists before "and N more".
const ATTENTION_ON_TODAY: usize = 15;

/// One stay's row.
#[derive(Debug, Serialize)]
pub struct Row {
    reference: String,
    href: String,
    guest: String,
    room: String,
    /// The time that matters on this list (check-in or check-out).
    when: String,
    /// The codes' states on the locks.
    codes: Vec<Badge>,
    /// Pre-arrival message (arrivals only), verification, arrival.
    badges: Vec<Badge>,
    /// The readiness check found something wrong: a red row.
    not_ready: bool,
}

#[derive(Debug, Serialize)]
struct DayView {
    title: String,
    sections: Vec<Section>,
}

#[derive(Debug, Serialize)]
struct Section {
    title: &'static str,
    rows: Vec<Row>,
}

#[derive(Debug, Serialize)]
struct PropertyView {
    id: uuid::Uuid,
    name: String,
    days: Vec<DayView>,
}

/// Something that needs a person, with where to fix it.
#[derive(Debug, Serialize)]
pub struct Attention {
    /// What is wrong.
    pub text: String,
    /// The page that fixes it.
    pub href: String,
    /// Its colour.
    pub badge: Badge,
}

/// `GET /admin`.
pub async fn page(
    State(console): State<Arc<Console>>,
    session: Session,
    Query(done): Query<Done>,
) -> Result<Response, ConsoleError> {
    let now = Utc::now();
    let mut conn = console.db().acquire().await?;
    let board = today::board(&mut conn, &session.member.property_ids, now).await?;
    let handoffs = handoffs::list_open(&mut conn, &session.member.property_ids).await?;
    let turnovers = turnovers::list_around(&mut conn, &session.member.property_ids, now).await?;
    let mut attention = attention(&board, now);
    // The top of the page stays short; the Alerts screen lists them all.
    let more = attention.len().saturating_sub(ATTENTION_ON_TODAY);
    attention.truncate(ATTENTION_ON_TODAY);
    let properties: Vec<PropertyView> =
        board.properties.iter().map(|p| property_view(p, &board.stays, &turnovers, now)).collect();
    render::page(
        "today.html",
        minijinja::context! {
            chrome => Chrome::new(&session, "today", &done),
            properties,
            attention,
            more,
            handoffs => handoff_views(&handoffs),
        },
    )
}

/// The open hand-offs, for the templates.
pub fn handoff_views(handoffs: &[OpenHandoff]) -> Vec<minijinja::Value> {
    handoffs
        .iter()
        .map(|h| {
            minijinja::context! {
                id => h.id,
                guest => h.guest.clone().unwrap_or_else(|| "A guest".into()),
                room => h.room.clone(),
            }
        })
        .collect()
}

fn property_view(
    property: &BoardProperty,
    stays: &[BoardStay],
    turnovers: &[TurnoverRow],
    now: DateTime<Utc>,
) -> PropertyView {
    let today = property.today(now);
    let mine: Vec<&BoardStay> = stays.iter().filter(|s| s.property_id == property.id).collect();
    let days = [("Today", today), ("Tomorrow", today + Days::new(1))]
        .into_iter()
        .map(|(name, date)| {
            let mut day = day_view(property, &mine, name, date, now);
            let rows = turnovers
                .iter()
                .filter(|t| t.property_id == property.id && t.touches(date))
                .map(|t| turnover_row(t, now))
                .collect();
            day.sections.push(Section { title: "Turnovers", rows });
            day
        })
        .collect();
    PropertyView { id: property.id, name: property.name.clone(), days }
}

fn day_view(
    property: &BoardProperty,
    stays: &[&BoardStay],
    name: &str,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> DayView {
    let tz = property.timezone;
    let on = |at: DateTime<Utc>| property.date_of(at) == date;
    let arrivals =
        stays.iter().filter(|s| on(s.check_in_at)).map(|s| row(property, s, view::time(tz, s.check_in_at), now, true));
    let departures = stays
        .iter()
        .filter(|s| on(s.check_out_at))
        .map(|s| row(property, s, view::time(tz, s.check_out_at), now, false));
    // In the house on the day: arrived before it, leaving after it.
    let in_house = stays
        .iter()
        .filter(|s| property.date_of(s.check_in_at) < date && property.date_of(s.check_out_at) > date)
        .map(|s| row(property, s, format!("until {}", view::local(tz, s.check_out_at)), now, false));
    let mut sections = vec![
        Section { title: "Arrivals", rows: arrivals.collect() },
        Section { title: "Departures", rows: departures.collect() },
    ];
    // Tomorrow's guests in the house are today's, less who leaves, plus
    // who arrives: listed once, today.
    if date == property.today(now) {
        sections.push(Section { title: "In house", rows: in_house.collect() });
    }
    DayView { title: format!("{name}, {}", date.format("%a %-d %b")), sections }
}

fn row(property: &BoardProperty, stay: &BoardStay, when: String, now: DateTime<Utc>, arriving: bool) -> Row {
    // An arrival shows everything; a stay under way only what still matters.
    let mut badges = Vec::with_capacity(3);
    if arriving {
        badges.push(message(stay));
    }
    if arriving || (property.requires_verification && !stay.verified) {
        badges.push(verification(property, stay));
    }
    badges.push(arrival(property, stay, now));
    if arriving {
        badges.extend(stay.not_ready.iter().map(|p| Badge::action(readiness_label(p))));
    }
    Row {
        reference: stay.reference.clone(),
        href: format!("/admin/bookings/{}", urlencode(&stay.reference)),
        guest: stay.guest.clone(),
        room: stay.room.clone(),
        when,
        codes: codes(stay),
        badges,
        not_ready: arriving && !stay.not_ready.is_empty(),
    }
}

/// A turnover's row: the room, the window, the cleaner, the code's state
/// (never its value); it links to the stay that ends before it.
fn turnover_row(t: &TurnoverRow, now: DateTime<Utc>) -> Row {
    let tz = t.timezone;
    let code = match (t.codes.as_deref(), t.ends_at <= now) {
        (_, true) => Badge::past("over"),
        (Some("set"), false) => Badge::ready("cleaner's code on the locks"),
        (Some(states), false) => Badge::progress(format!("cleaner's code {states}")),
        (None, false) => Badge::progress("code not drawn yet"),
    };
    let cleaner = match &t.cleaner {
        Some(name) => Badge::ready(format!("cleaner {name}")),
        None => Badge::progress("no cleaner flagged"),
    };
    let next = t.next_reference.as_deref().map_or("no stay follows".to_owned(), |r| format!("next {r}"));
    Row {
        reference: t.reference.clone(),
        href: format!("/admin/bookings/{}", urlencode(&t.reference)),
        guest: format!("after {}, {next}", t.reference),
        room: t.room.clone(),
        when: format!("{}–{}", view::time(tz, t.starts_at), view::local(tz, t.ends_at)),
        codes: vec![code],
        badges: vec![cleaner],
        not_ready: false,
    }
}

/// `Room 101 offline`, `guest unreachable`.
fn readiness_label(problem: &Problem) -> String {
    let what = match problem.problem {
        ProblemKind::LockOffline => "offline",
        ProblemKind::BatteryLow => "battery low",
        ProblemKind::KeypadBatteryLow => "keypad battery low",
        ProblemKind::CodeNotSet => "code not on the lock",
        ProblemKind::GuestUnreachable => "guest unreachable",
        ProblemKind::AccountDisconnected => "provider account disconnected",
    };
    match &problem.lock {
        Some(lock) => format!("not ready: {lock} {what}"),
        None => format!("not ready: {what}"),
    }
}

/// One green badge when every code is on its lock, else one per lock
/// that is not there yet.
fn codes(stay: &BoardStay) -> Vec<Badge> {
    if stay.codes.is_empty() {
        return vec![Badge::action("no code")];
    }
    if stay.codes.iter().all(|c| c.state == "set") {
        let locks = stay.codes.len();
        return vec![Badge::ready(if locks == 1 {
            "code on the lock".to_owned()
        } else {
            format!("code on {locks} locks")
        })];
    }
    stay.codes
        .iter()
        .filter(|c| c.state != "set")
        .map(|c| {
            let badge = view::code_state(&c.state);
            Badge { label: format!("{}: {}", c.lock, badge.label), ..badge }
        })
        .collect()
}

fn message(stay: &BoardStay) -> Badge {
    let statuses: Vec<&str> = stay.pre_arrival.iter().map(|d| d.status.as_str()).collect();
    let best = ["read", "delivered", "sent", "queued", "failed"].into_iter().find(|s| statuses.contains(s));
    match best {
        Some(status) => {
            let channels: Vec<&str> = stay.pre_arrival.iter().map(|d| d.channel.as_str()).collect();
            let badge = view::delivery(status);
            Badge { label: format!("message {} ({})", badge.label, channels.join(", ")), ..badge }
        }
        None => Badge::past("message not sent yet"),
    }
}

fn verification(property: &BoardProperty, stay: &BoardStay) -> Badge {
    match (property.requires_verification, stay.verified) {
        (_, true) => Badge::ready("verified"),
        (true, false) => Badge::action("not verified"),
        (false, false) => Badge::past("no verification needed"),
    }
}

fn arrival(property: &BoardProperty, stay: &BoardStay, now: DateTime<Utc>) -> Badge {
    let tz = property.timezone;
    match stay.arrived_at {
        _ if stay.check_out_at <= now => Badge::past("left"),
        Some(at) => Badge::ready(format!("arrived {}", view::time(tz, at))),
        None if stay.check_in_at <= now => Badge::progress("not arrived yet"),
        None => Badge::past(format!("expected {}", view::time(tz, stay.check_in_at))),
    }
}

/// What needs a person now: codes not on the locks for stays that have
/// begun or begin today, failed messages, unverified arrivals, locks
/// offline or low on battery.
pub fn attention(board: &Board, now: DateTime<Utc>) -> Vec<Attention> {
    let mut items = Vec::new();
    for stay in &board.stays {
        let Some(property) = board.properties.iter().find(|p| p.id == stay.property_id) else {
            continue;
        };
        if stay.check_out_at <= now || property.date_of(stay.check_in_at) > property.today(now) {
            continue;
        }
        items.extend(stay_attention(property, stay));
    }
    items.extend(board.locks.iter().map(lock_attention));
    items
}

fn stay_attention(property: &BoardProperty, stay: &BoardStay) -> Vec<Attention> {
    let href = format!("/admin/bookings/{}", urlencode(&stay.reference));
    let who = format!("{} ({}, room {})", stay.reference, stay.guest, stay.room);
    let mut items = Vec::new();
    let unset: Vec<&str> = stay.codes.iter().filter(|c| c.state != "set").map(|c| c.lock.as_str()).collect();
    if stay.codes.is_empty() {
        items.push(Attention { text: format!("{who}: no code"), href: href.clone(), badge: Badge::action("no code") });
    } else if !unset.is_empty() {
        let failed = stay.codes.iter().any(|c| c.state == "failed");
        let badge = if failed { Badge::action("code failed") } else { Badge::progress("code not on the lock yet") };
        items.push(Attention { text: format!("{who}: {}", unset.join(", ")), href: href.clone(), badge });
    }
    if stay.pre_arrival.iter().any(|d| d.status == "failed") && !stay.pre_arrival.iter().any(|d| d.status != "failed") {
        items.push(Attention {
            text: format!("{who}: message failed"),
            href: href.clone(),
            badge: Badge::action("message failed"),
        });
    }
    if property.requires_verification && !stay.verified {
        items.push(Attention {
            text: format!("{who}: not verified"),
            href: href.clone(),
            badge: Badge::action("not verified"),
        });
    }
    for problem in &stay.not_ready {
        let label = readiness_label(problem);
        items.push(Attention {
            text: format!("{who}: {}", problem.detail),
            href: href.clone(),
            badge: Badge::action(label),
        });
    }
    items
}

fn lock_attention(lock: &LockAttention) -> Attention {
    let href = format!("/admin/locks/{}", lock.id);
    let badge = match (lock.online, lock.battery_low) {
        (Some(false), _) => Badge::action("offline"),
        _ => Badge::action("battery low"),
    };
    let battery = lock.battery_percent.map(|p| format!(", battery {p} %")).unwrap_or_default();
    Attention { text: format!("Lock {}{battery}", lock.name), href, badge }
}

/// A path segment, percent-encoded.
pub fn urlencode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
