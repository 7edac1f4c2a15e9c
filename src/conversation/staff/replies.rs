//! Every sentence a staff member reads in answer to a command. Staff
//! replies are English: commands, room names and references are the
//! team's own shorthand. Codes are masked except where a command exists
//! to show one (and that reveal was audited).

use chrono::{DateTime, Utc};

use super::error::StaffError;
use crate::access::codes::manual::Issued;
use crate::access::codes::mask;
use crate::access::codes::reveal::Revealed;
use crate::access::confirmations::CONFIRM_WITHIN;
use crate::access::overview::{Arrival, BookingOverview};
use crate::access::phone::Phone;
use crate::access::rooms::{RoomCode, RoomRef, Stay};
use crate::access::timezone::Timezone;
use crate::access::turnovers::{Assigned, TurnoverRow};
use crate::access::windows::{MoveRefused, MovedStay, StayEdge};
use crate::conversation::commands::{self, Spec, Unreadable};
use crate::conversation::handoffs::OpenHandoff;
use crate::devices::observe::{ObserveError, ObservedCode};
use crate::lock_providers::{DeviceStatus, ProviderError};

/// `Fri 4 Dec 15:00` in the property's time.
fn when(at: DateTime<Utc>, timezone: Timezone) -> String {
    timezone.short_time(at)
}

/// `15:00` in the property's time.
fn clock(at: DateTime<Utc>, timezone: Timezone) -> String {
    at.with_timezone(&timezone.tz()).format("%H:%M").to_string()
}

/// The answer to a command that stopped early (the one place each reason
/// is worded).
pub fn stopped(error: &StaffError) -> String {
    match error {
        StaffError::Unreadable(unreadable) => unreadable.reply(),
        StaffError::NeedsRole { spec, role } => format!("{} needs the {} role; you are {role}.", spec.usage, spec.role),
        StaffError::NoRoom(room) => format!("No room {room} in your properties."),
        StaffError::AmbiguousRoom { room, properties } => {
            format!("Room {room} exists in {}; ask the admin to rename one of them.", properties.join(" and "))
        }
        StaffError::NoStay(room) => format!("Room {room}: no current or upcoming stay."),
        StaffError::NoStayToRevoke(room) => format!("Room {room}: no current or upcoming stay to revoke."),
        StaffError::NoBooking(reference) => format!("No booking {reference} in your properties."),
        StaffError::NoCurrentBooking(reference) => {
            format!("No current or upcoming booking {reference} in your properties.")
        }
        StaffError::NoProperty(property) => format!("No property \"{property}\" among yours."),
        StaffError::TooFarAhead(days) => format!("Codes can be issued up to {days} days ahead."),
        StaffError::UnknownConfirmation => "That confirmation is unknown, used or expired.".to_owned(),
        StaffError::NoDraft(id) => format!("There is no draft {id} waiting in your properties."),
        StaffError::StayNotMoved { spec, room, refused } => stay_not_moved(spec, room, refused),
        StaffError::NotAssigned { room, refused } => {
            let usage = commands::spec("assign").map(|s| Unreadable(Some(s)).reply()).unwrap_or_default();
            format!("Room {room}: {refused}. {usage}")
        }
        StaffError::Failed(e) => format!("That did not work ({}); try again in a moment.", e.cause()),
    }
}

/// `/early`, `/late` refused: a stay that is not there or over gets the
/// usage line, an overlap its reason and the other booking.
fn stay_not_moved(spec: &'static Spec, room: &str, refused: &MoveRefused) -> String {
    match refused {
        MoveRefused::NoStay | MoveRefused::Ended | MoveRefused::Cancelled | MoveRefused::NotBegun => {
            format!("Room {room}: {refused}. {}", Unreadable(Some(spec)).reply())
        }
        MoveRefused::Overlap { .. } => format!("Refused: room {room}'s stay would move, but {refused}."),
        _ => format!("Room {room}: not moved, {refused}."),
    }
}

/// `/early`, `/late`: what moved.
pub fn stay_moved(moved: &MovedStay, edge: StayEdge) -> String {
    let (what, was, now) = match edge {
        StayEdge::CheckIn => ("Check-in", moved.before.0, moved.check_in_at),
        StayEdge::CheckOut => ("Check-out", moved.before.1, moved.check_out_at),
    };
    if was == now {
        return format!("Room {} ({}): {what} is already {}.", moved.room, moved.reference, when(now, moved.timezone));
    }
    format!(
        "Room {} ({}): {what} moved to {} (was {}) on every lock; the guest is told.",
        moved.room,
        moved.reference,
        when(now, moved.timezone),
        clock(was, moved.timezone)
    )
}

/// `/codes`: the listing, masked.
pub fn room_codes(room: &RoomRef, shown: &[RoomCode], hidden: usize) -> String {
    if shown.is_empty() && hidden == 0 {
        return format!("Room {}: no live codes.", room.room);
    }
    let mut lines: Vec<String> = shown
        .iter()
        .map(|c| {
            let until = c.valid_until.map_or("no end".to_owned(), |u| format!("until {}", when(u, room.timezone)));
            let whose = c.booking.clone().or(c.label.clone()).unwrap_or_default();
            format!("{}: {} {} {} {} {until}", c.lock, mask(&c.code), c.kind, whose, c.state)
        })
        .collect();
    if hidden > 0 {
        lines.push(format!("and {hidden} more code(s) that only managers see"));
    }
    format!("Room {} ({}):\n{}", room.room, room.property, lines.join("\n"))
}

/// `/code … show`: the stay's codes in full.
pub fn revealed(room: &RoomRef, stay: &Stay, codes: &[Revealed]) -> String {
    let lines: Vec<String> = codes.iter().map(|c| format!("{}: `{}` ({})", c.lock, c.code, c.state)).collect();
    format!("{} ({}), room {}:\n{}", stay.guest, stay.reference, room.room, lines.join("\n"))
}

/// What `/revoke` asks to confirm once the guest may have the code.
pub fn revoke_summary(room: &RoomRef, stay: &Stay) -> String {
    format!(
        "This revokes the codes of {} in room {}, whose stay runs until {}; they may have the code already.",
        stay.first_name(),
        room.room,
        when(stay.check_out_at, room.timezone)
    )
}

/// What `/checkout` asks to confirm.
pub fn depart_summary(room: &RoomRef, stay: &Stay) -> String {
    format!(
        "This ends the access of {} in room {} ({}, booked until {}) {} minutes after you confirm.",
        stay.first_name(),
        room.room,
        stay.reference,
        when(stay.check_out_at, room.timezone),
        crate::access::windows::DEPARTURE_GRACE.num_minutes()
    )
}

/// `/checkout` confirmed.
pub fn departed(moved: &MovedStay) -> String {
    format!(
        "Room {} ({}): the code stops working at {} on every lock; staff are told and the turnover can start.",
        moved.room,
        moved.reference,
        clock(moved.check_out_at, moved.timezone)
    )
}

/// What `/regen` asks to confirm.
pub fn regen_summary(room: &RoomRef, stay: &Stay) -> String {
    format!(
        "This replaces the code of {} in room {} (stay until {}) and sends the new one.",
        stay.first_name(),
        room.room,
        when(stay.check_out_at, room.timezone)
    )
}

/// A summary and how to confirm it.
pub fn confirm_with(summary: &str, token: &str) -> String {
    format!("{summary}\nReply /confirm {token} within {} minutes, or /cancel.", CONFIRM_WITHIN.num_minutes())
}

/// `/cancel`.
pub fn cancelled(any: bool) -> String {
    if any { "Cancelled." } else { "Nothing to cancel." }.to_owned()
}

/// `/login`: the console's one-time link.
pub fn login_link(link: &str, minutes: i64) -> String {
    format!("Your console sign-in link (works once, for {minutes} minutes; do not forward it):\n{link}")
}

/// A confirmed `/audit` purge.
pub fn purging(count: usize, room: &str) -> String {
    format!("Removing {count} unknown code(s) from room {room}'s locks.")
}

/// A done `/revoke`.
pub fn revoked(count: usize, room: &str) -> String {
    format!("Revoked {count} code(s) of room {room}; they leave the locks shortly.")
}

/// A done `/regen`.
pub fn regenerated(room: &str) -> String {
    format!("Room {room}: new code issued and sent to the guest; the old one is being removed.")
}

/// One line per lock: the code in full, or why that lock has none.
fn issued_lines(issued: &[Issued]) -> String {
    let lines: Vec<String> = issued
        .iter()
        .map(|i| match &i.outcome {
            Ok(value) => format!("{}: `{value}`", i.lock),
            Err(e) => format!("{}: {e}", i.lock),
        })
        .collect();
    lines.join("\n")
}

/// `/issue` and `/master`.
pub fn issued(room: &RoomRef, what: &str, issued: &[Issued]) -> String {
    format!("Room {} ({what}):\n{}", room.room, issued_lines(issued))
}

/// `/mycode`.
pub fn own_codes(property: &str, issued: &[Issued]) -> String {
    format!("Your codes at {property}:\n{}", issued_lines(issued))
}

/// `/booking`.
pub fn booking(b: &BookingOverview) -> String {
    let mut lines = vec![format!(
        "{}: {} in room {}, {} – {}, {}",
        b.reference,
        b.guest,
        b.room,
        when(b.check_in_at, b.timezone),
        when(b.check_out_at, b.timezone),
        b.status
    )];
    lines.extend(b.codes.iter().map(|(lock, code, state)| format!("code {lock}: {} {state}", mask(code))));
    lines.extend(
        b.messages.iter().map(|(template, channel, status)| format!("message {template} on {channel}: {status}")),
    );
    lines.join("\n")
}

/// `/arrivals`.
pub fn arrivals(arrivals: &[Arrival]) -> String {
    if arrivals.is_empty() {
        return "No arrivals.".to_owned();
    }
    let lines: Vec<String> = arrivals
        .iter()
        .map(|a| {
            let arrived = a.arrived_at.map_or(String::new(), |at| format!(", arrived {}", clock(at, a.timezone)));
            format!(
                "{} {} room {} {}: codes {}, pre-arrival {}{arrived}",
                clock(a.check_in_at, a.timezone),
                a.guest,
                a.room,
                a.reference,
                a.codes.as_deref().unwrap_or("none"),
                a.pre_arrival.as_deref().unwrap_or("not sent yet")
            )
        })
        .collect();
    format!("Arrivals:\n{}", lines.join("\n"))
}

/// `/assign`: who has the turnover now.
pub fn assigned(room: &str, a: &Assigned) -> String {
    format!(
        "Turnover of room {room} ({} – {}) assigned to {}: the cleaner's code goes to them {} hours ahead (now, if sooner).",
        a.timezone.short_time(a.starts_at),
        a.timezone.short_time(a.ends_at),
        a.cleaner,
        crate::access::turnovers::TURNOVER_LEAD.num_hours()
    )
}

/// `/turnovers today`: each turnover's room, window, cleaner and the state
/// of its code (never its value: the list may be read in a group).
pub fn turnovers(turnovers: &[TurnoverRow], now: DateTime<Utc>) -> String {
    if turnovers.is_empty() {
        return "No turnovers.".to_owned();
    }
    // Several properties: each line names its own.
    let several = turnovers.iter().any(|t| t.property_id != turnovers[0].property_id);
    let lines: Vec<String> = turnovers
        .iter()
        .map(|t| {
            let place = if several { format!(" ({})", t.property) } else { String::new() };
            let next = t.next_reference.as_deref().map_or("no stay follows".to_owned(), |r| format!("next {r}"));
            let cleaner = t.cleaner.as_deref().unwrap_or("no cleaner yet");
            let code = match (&t.codes, t.ends_at <= now) {
                (_, true) => "over".to_owned(),
                (Some(states), false) => format!("code {states}"),
                (None, false) => "code not drawn yet".to_owned(),
            };
            let tz = t.timezone.tz();
            let same_day = t.starts_at.with_timezone(&tz).date_naive() == t.ends_at.with_timezone(&tz).date_naive();
            let until = if same_day { clock(t.ends_at, t.timezone) } else { t.timezone.short_time(t.ends_at) };
            format!(
                "room {}{place} {}–{until} (after {}, {next}): {cleaner}, {code}",
                t.room,
                clock(t.starts_at, t.timezone),
                t.reference
            )
        })
        .collect();
    format!("Turnovers:\n{}", lines.join("\n"))
}

/// One lock of `/status`: how it is, and what codes are on it.
pub fn lock_status(
    lock: &str,
    state: &Result<DeviceStatus, ProviderError>,
    on_lock: &Result<Vec<ObservedCode>, ObserveError>,
) -> String {
    let state = match state {
        Ok(s) => {
            let mut state = format!(
                "{}, battery {}{}",
                if s.online { "online" } else { "OFFLINE" },
                s.battery_percent.map_or("unknown".into(), |b| format!("{b} %")),
                if s.battery_low { " (LOW)" } else { "" }
            );
            if s.keypad_battery_low == Some(true) {
                state.push_str(", keypad battery LOW");
            }
            state
        }
        Err(e) => format!("unreachable ({e})"),
    };
    let on_lock = match on_lock {
        Ok(codes) => match codes.iter().filter(|c| !c.managed).count() {
            0 => format!("{} code(s) on the lock", codes.len()),
            n => format!("{} code(s) on the lock, {n} not set by doorman (/audit)", codes.len()),
        },
        Err(e) => format!("codes unknown ({e})"),
    };
    format!("{lock}: {state}; {on_lock}")
}

/// `/status`.
pub fn room_status(room: &RoomRef, lines: &[String]) -> String {
    format!("Room {}:\n{}", room.room, lines.join("\n"))
}

/// A code `/audit` found that doorman did not set.
pub fn orphan(lock: &str, code: &ObservedCode) -> String {
    let value = code.code.as_deref().map_or("••••".into(), mask);
    format!("{lock}: {value} \"{}\" (not set by doorman)", code.name)
}

/// A lock `/audit` could not read.
pub fn unreadable_lock(lock: &str, error: &ObserveError) -> String {
    format!("{lock}: could not read the lock ({error})")
}

/// `/audit` with nothing unknown on the locks.
pub fn no_orphans(room: &RoomRef, lines: &[String]) -> String {
    let mut reply = format!("Room {}: no codes on the locks that doorman does not know.", room.room);
    for line in lines {
        reply.push_str(&format!("\n{line}"));
    }
    reply
}

/// What `/audit` asks to confirm.
pub fn orphans_summary(room: &RoomRef, lines: &[String]) -> String {
    format!(
        "Room {}, codes doorman did not set (never removed automatically):\n{}\nTo remove them from the locks:",
        room.room,
        lines.join("\n")
    )
}

/// `/link`.
pub fn linked(phone: &Phone, reference: &str, another_guests: bool) -> String {
    let mut reply = format!("{} is now linked to {reference} until its check-out.", phone.masked());
    if another_guests {
        reply.push_str(
            " It is also a guest's own number on another booking: it gets answers about whichever stay is current.",
        );
    }
    reply
}

/// `/resolve` with none open.
pub fn no_handoff() -> String {
    "No open hand-off.".to_owned()
}

/// `/resolve` with several open and none named.
pub fn several_handoffs(open: &[&OpenHandoff]) -> String {
    let list: Vec<String> = open
        .iter()
        .map(|h| format!("{} (room {})", h.guest.as_deref().unwrap_or("a guest"), h.room.as_deref().unwrap_or("?")))
        .collect();
    format!("Several hand-offs are open: {}. Say which: /resolve 101", list.join(", "))
}

/// A resolved hand-off.
pub fn resolved(handoff: &OpenHandoff) -> String {
    format!("Resolved: automatic replies to {} are back on.", handoff.guest.as_deref().unwrap_or("the guest"))
}

/// `/send`, `/drop`: what became of the draft.
pub fn draft_decided(draft: &crate::access::journey::schedule::Draft, sent: bool) -> String {
    let what = if sent { "is on its way to" } else { "was dropped: nothing goes to" };
    format!("Draft {} ({}) {what} {} ({}, room {}).", draft.id, draft.rule, draft.guest, draft.reference, draft.room)
}
