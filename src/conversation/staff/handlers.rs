//! One function per staff command: find what it names, make the one core
//! call, word the answer (`replies`).

use chrono::{NaiveDate, NaiveTime, Utc};
use uuid::Uuid;

use sqlx::PgConnection;

use super::error::StaffError;
use super::replies;
use super::StaffMember;
use crate::access::codes::manual::{self, Issued};
use crate::access::codes::reveal::{reveal_booking_codes, Audience};
use crate::access::codes::stay::{replace_stay_codes, revoke_stay_codes};
use crate::access::confirmations::{self, Pending};
use crate::access::journey::schedule as journey;
use crate::access::lifecycle::ManualCode;
use crate::access::links::{self, ContactKind, LinkedBy};
use crate::access::model::CodeKind;
use crate::access::overview::{self, Day};
use crate::access::phone::Phone;
use crate::access::rooms::{self, RoomLookup, RoomRef, Stay};
use crate::access::windows::{self, MoveRefused, StayEdge};
use crate::access::AccessError;
use crate::context::JobContext;
use crate::conversation::commands::{self, Command};
use crate::conversation::handoffs;
use crate::devices::observe::observe_device_codes;

type Answer = Result<String, StaffError>;

/// Runs one command for a sender already scoped to its role.
pub(super) async fn perform(ctx: &JobContext, tx: &mut PgConnection, staff: &StaffMember, command: Command) -> Answer {
    match command {
        Command::Help => Ok(commands::help(staff.role)),
        Command::Codes { room } => codes(tx, staff, &room).await,
        Command::CodeShow { room } => show(tx, staff, &room).await,
        Command::Revoke { room } => revoke(tx, staff, &room).await,
        Command::Regen { room } => regen(tx, staff, &room).await,
        Command::Issue { room, date, from, until, label } => issue(tx, staff, &room, date, (from, until), &label).await,
        Command::Master { room } => master(tx, staff, &room).await,
        Command::Booking { reference } => booking(tx, staff, &reference).await,
        Command::Arrivals { day } => arrivals(tx, staff, day).await,
        Command::Status { room } => status(ctx, tx, staff, &room).await,
        Command::Audit { room } => orphans(ctx, tx, staff, &room).await,
        Command::Link { reference, phone } => link(tx, staff, &reference, &phone).await,
        Command::MyCode { property } => my_code(tx, staff, &property).await,
        Command::Resolve { room } => resolve(tx, staff, room.as_deref()).await,
        Command::Confirm { token } => confirm(ctx, tx, staff, &token).await,
        Command::Cancel => Ok(replies::cancelled(confirmations::cancel_open(tx, staff.id).await?)),
        Command::Login => login(ctx, tx, staff).await,
        Command::SendDraft { id } => decide_draft(tx, staff, id, true).await,
        Command::DropDraft { id } => decide_draft(tx, staff, id, false).await,
        Command::Early { room, time } => move_stay(tx, staff, &room, StayEdge::CheckIn, time).await,
        Command::Late { room, time } => move_stay(tx, staff, &room, StayEdge::CheckOut, time).await,
        Command::Checkout { room } => checkout(tx, staff, &room).await,
        Command::Assign { room, staff: name } => assign(tx, staff, &room, &name).await,
        Command::Turnovers { day } => {
            let turnovers = crate::access::turnovers::list_day(tx, &staff.property_ids, day, Utc::now()).await?;
            Ok(replies::turnovers(&turnovers, Utc::now()))
        }
    }
}

/// `/checkout room 101`: the stay in progress ends 15 minutes after the
/// confirmation.
async fn checkout(tx: &mut PgConnection, staff: &StaffMember, name: &str) -> Answer {
    let (room, stay) = find_stay(tx, staff, name).await?;
    let now = Utc::now();
    let refused = match &stay {
        None => Some(MoveRefused::NoStay),
        Some(stay) if stay.check_in_at > now => Some(MoveRefused::NotBegun),
        Some(_) => None,
    };
    let spec = commands::spec("checkout").ok_or(StaffError::Unreadable(commands::Unreadable(None)))?;
    if let Some(refused) = refused {
        return Err(StaffError::StayNotMoved { spec, room: room.room, refused });
    }
    let Some(stay) = stay else { return Err(StaffError::NoStay(room.room)) };
    let pending = Pending::Depart { booking_id: stay.booking_id, room: room.room.clone() };
    ask(tx, staff, &pending, &replies::depart_summary(&room, &stay)).await
}

/// `/assign room 101 Eva`: the room's next turnover to that staff member.
async fn assign(tx: &mut PgConnection, staff: &StaffMember, name: &str, cleaner: &str) -> Answer {
    let room = find_room(tx, staff, name).await?;
    let done = crate::access::turnovers::assign_room_turnover(tx, room.room_id, cleaner, staff.actor(), Utc::now());
    match done.await? {
        Ok(assigned) => Ok(replies::assigned(&room.room, &assigned)),
        Err(refused) => Err(StaffError::NotAssigned { room: room.room, refused }),
    }
}

/// `/early room 101 12:00`, `/late room 101 14:00`: the stay's start or
/// end moves on every lock, its messages with it; the guest is told.
async fn move_stay(tx: &mut PgConnection, staff: &StaffMember, name: &str, edge: StayEdge, time: NaiveTime) -> Answer {
    let room = find_room(tx, staff, name).await?;
    let name_of = if edge == StayEdge::CheckIn { "early" } else { "late" };
    let spec = commands::spec(name_of).ok_or(StaffError::Unreadable(commands::Unreadable(None)))?;
    match windows::move_room_stay(tx, room.room_id, edge, time, staff.actor(), Utc::now()).await? {
        Ok(moved) => Ok(replies::stay_moved(&moved, edge)),
        Err(refused) => Err(StaffError::StayNotMoved { spec, room: room.room, refused }),
    }
}

/// `/send 42`, `/drop 42`: a draft of one of the sender's properties goes
/// to its guest, or never does.
async fn decide_draft(tx: &mut PgConnection, staff: &StaffMember, id: i64, send: bool) -> Answer {
    let draft = match journey::find_draft(&mut *tx, id).await {
        Ok(draft) if staff.property_ids.contains(&draft.property_id) => draft,
        Ok(_) | Err(AccessError::NotFound { .. }) => return Err(StaffError::NoDraft(id)),
        Err(e) => return Err(e.into()),
    };
    journey::decide_draft(tx, &draft, send, staff.actor()).await?;
    Ok(replies::draft_decided(&draft, send))
}

/// `/login`: a one-time link to the console, in the sender's own chat.
async fn login(ctx: &JobContext, tx: &mut PgConnection, staff: &StaffMember) -> Answer {
    let token = crate::access::sessions::issue_login_link(tx, staff.id, staff.actor(), Utc::now()).await?;
    let link = format!("{}/admin/login?token={token}", ctx.public_base_url.trim_end_matches('/'));
    Ok(replies::login_link(&link, crate::access::sessions::LINK_VALID.num_minutes()))
}

/// The room `name` among the sender's properties.
async fn find_room(tx: &mut PgConnection, staff: &StaffMember, name: &str) -> Result<RoomRef, StaffError> {
    match rooms::find_room_in(tx, &staff.property_ids, name).await? {
        RoomLookup::Found(room) => Ok(room),
        RoomLookup::Missing => Err(StaffError::NoRoom(name.to_owned())),
        RoomLookup::Ambiguous(properties) => Err(StaffError::AmbiguousRoom { room: name.to_owned(), properties }),
    }
}

/// The room and its stay now, else its next one.
async fn find_stay(
    tx: &mut PgConnection,
    staff: &StaffMember,
    name: &str,
) -> Result<(RoomRef, Option<Stay>), StaffError> {
    let room = find_room(tx, staff, name).await?;
    let stay = rooms::current_stay(tx, room.room_id).await?;
    Ok((room, stay))
}

/// `/codes 101`: the room's codes, masked, as far as the sender may see.
async fn codes(tx: &mut PgConnection, staff: &StaffMember, name: &str) -> Answer {
    let room = find_room(tx, staff, name).await?;
    let codes = rooms::room_codes(tx, room.room_id).await?;
    let manager = staff.manages(room.property_id);
    let (shown, hidden): (Vec<_>, Vec<_>) = codes.into_iter().partition(|c| c.visible_to(staff, manager));
    Ok(replies::room_codes(&room, &shown, hidden.len()))
}

/// `/code 101 show`: the stay's codes in full, audited.
async fn show(tx: &mut PgConnection, staff: &StaffMember, name: &str) -> Answer {
    let (room, stay) = find_stay(tx, staff, name).await?;
    let stay = stay.ok_or(StaffError::NoStay(room.room.clone()))?;
    let revealed = reveal_booking_codes(tx, room.property_id, stay.booking_id, Audience::Staff(staff.id)).await?;
    Ok(replies::revealed(&room, &stay, &revealed))
}

/// `/revoke room 101`: at once before the release time, else confirmed.
async fn revoke(tx: &mut PgConnection, staff: &StaffMember, name: &str) -> Answer {
    let (room, stay) = find_stay(tx, staff, name).await?;
    let stay = stay.ok_or(StaffError::NoStayToRevoke(room.room.clone()))?;
    let pending = Pending::Revoke { booking_id: stay.booking_id, room: room.room.clone() };
    if stay.released(Utc::now()) {
        return ask(tx, staff, &pending, &replies::revoke_summary(&room, &stay)).await;
    }
    carry_out(tx, staff, &pending, None).await
}

/// `/regen room 101`: always confirmed.
async fn regen(tx: &mut PgConnection, staff: &StaffMember, name: &str) -> Answer {
    let (room, stay) = find_stay(tx, staff, name).await?;
    let stay = stay.ok_or(StaffError::NoStay(room.room.clone()))?;
    let summary = replies::regen_summary(&room, &stay);
    ask(tx, staff, &Pending::Regen { booking_id: stay.booking_id, room: room.room }, &summary).await
}

/// Stores the action and asks for the token back.
async fn ask(tx: &mut PgConnection, staff: &StaffMember, pending: &Pending, summary: &str) -> Answer {
    let token = confirmations::ask(tx, staff.id, pending, summary, Utc::now()).await?;
    Ok(replies::confirm_with(summary, &token))
}

/// `/confirm <token>`: the stored action, once.
async fn confirm(ctx: &JobContext, tx: &mut PgConnection, staff: &StaffMember, token: &str) -> Answer {
    let pending = confirmations::redeem(tx, staff.id, token).await?.ok_or(StaffError::UnknownConfirmation)?;
    carry_out(tx, staff, &pending, Some(ctx)).await
}

/// Does a confirmed (or unconfirmable) action; with `ctx`, a regenerated
/// code is sent to the guest.
async fn carry_out(tx: &mut PgConnection, staff: &StaffMember, pending: &Pending, ctx: Option<&JobContext>) -> Answer {
    let (actor, now) = (staff.actor(), Utc::now());
    match pending {
        Pending::Purge { orphans, room } => {
            for (lock_id, provider_ref) in orphans {
                crate::access::locks::request_orphan_removal(tx, *lock_id, provider_ref, actor).await?;
            }
            Ok(replies::purging(orphans.len(), room))
        }
        Pending::Revoke { booking_id, room } => {
            let revoked = revoke_stay_codes(tx, *booking_id, "revoked by staff", actor, now).await?;
            Ok(replies::revoked(revoked, room))
        }
        Pending::Depart { booking_id, room } => match windows::record_departure(tx, *booking_id, actor, now).await? {
            Ok(moved) => Ok(replies::departed(&moved)),
            Err(refused) => {
                let spec = commands::spec("checkout").ok_or(StaffError::Unreadable(commands::Unreadable(None)))?;
                Err(StaffError::StayNotMoved { spec, room: room.clone(), refused })
            }
        },
        Pending::Regen { booking_id, room } => {
            replace_stay_codes(tx, *booking_id, actor, now).await?;
            if let Some(ctx) = ctx {
                let key = format!("regen:{}", Uuid::new_v4().simple());
                crate::conversation::deliver_codes(ctx, tx, *booking_id, &key).await?;
            }
            Ok(replies::regenerated(room))
        }
    }
}

/// `/issue room date from-until label`: a standalone code for that window
/// (past midnight: until the next day).
async fn issue(
    tx: &mut PgConnection,
    staff: &StaffMember,
    name: &str,
    date: NaiveDate,
    (from, until): (NaiveTime, NaiveTime),
    label: &str,
) -> Answer {
    let room = find_room(tx, staff, name).await?;
    let (valid_from, valid_until) = manual::standalone_window(room.timezone.tz(), date, (from, until), Utc::now())
        .map_err(|_| StaffError::TooFarAhead(manual::ISSUE_AHEAD.num_days()))?;
    let manual = ManualCode {
        kind: CodeKind::Standalone,
        booking_ref: None,
        staff_id: None,
        valid_from: Some(valid_from),
        valid_until: Some(valid_until),
        label: Some(label.to_owned()),
    };
    let issued = issue_on_room(tx, staff, &room, &manual, true).await?;
    Ok(replies::issued(&room, &format!("{label}, {date} {from}–{until}"), &issued))
}

/// `/master room 101`: a persistent master code on the room's locks.
async fn master(tx: &mut PgConnection, staff: &StaffMember, name: &str) -> Answer {
    let room = find_room(tx, staff, name).await?;
    let manual = ManualCode {
        kind: CodeKind::Master,
        booking_ref: None,
        staff_id: None,
        valid_from: None,
        valid_until: None,
        label: Some(format!("master by {}", staff.name)),
    };
    let issued = issue_on_room(tx, staff, &room, &manual, false).await?;
    Ok(replies::issued(&room, "master", &issued))
}

async fn issue_on_room(
    tx: &mut PgConnection,
    staff: &StaffMember,
    room: &RoomRef,
    manual: &ManualCode,
    entrances: bool,
) -> Result<Vec<Issued>, StaffError> {
    let locks = rooms::code_locks(tx, room, entrances).await?;
    Ok(manual::issue_on_locks(tx, &locks, manual, staff.actor(), Utc::now()).await?)
}

/// `/mycode Old Town Flats`: the sender's own code on each lock there.
async fn my_code(tx: &mut PgConnection, staff: &StaffMember, property: &str) -> Answer {
    let (property_id, property_name) = crate::access::staff::find_property_in(tx, &staff.property_ids, property)
        .await?
        .ok_or_else(|| StaffError::NoProperty(property.to_owned()))?;
    let locks = rooms::property_locks(tx, property_id).await?;
    let issued = manual::staff_codes(tx, &locks, staff, Utc::now()).await?;
    Ok(replies::own_codes(&property_name, &issued))
}

/// `/booking BK-10234`.
async fn booking(tx: &mut PgConnection, staff: &StaffMember, reference: &str) -> Answer {
    let found = overview::booking_overview(tx, &staff.property_ids, reference).await?;
    let booking = found.ok_or_else(|| StaffError::NoBooking(reference.to_owned()))?;
    Ok(replies::booking(&booking))
}

/// `/arrivals today`.
async fn arrivals(tx: &mut PgConnection, staff: &StaffMember, day: Day) -> Answer {
    let arrivals = overview::arrivals(tx, &staff.property_ids, day, Utc::now()).await?;
    Ok(replies::arrivals(&arrivals))
}

/// `/status room 101`: each lock asked now.
async fn status(ctx: &JobContext, tx: &mut PgConnection, staff: &StaffMember, name: &str) -> Answer {
    let room = find_room(tx, staff, name).await?;
    let mut lines = Vec::new();
    for lock in rooms::room_locks(tx, room.room_id).await? {
        let state = crate::devices::locks::refresh_status(&ctx.db, &ctx.providers, lock.id).await;
        let on_lock = observe_device_codes(&ctx.db, &ctx.providers, lock.id).await;
        lines.push(replies::lock_status(&lock.name, &state, &on_lock));
    }
    Ok(replies::room_status(&room, &lines))
}

/// `/audit room 101`: codes on the locks doorman did not set, and a
/// confirmation to remove them.
async fn orphans(ctx: &JobContext, tx: &mut PgConnection, staff: &StaffMember, name: &str) -> Answer {
    let room = find_room(tx, staff, name).await?;
    let mut lines = Vec::new();
    let mut orphans = Vec::new();
    for lock in rooms::room_locks(tx, room.room_id).await? {
        match observe_device_codes(&ctx.db, &ctx.providers, lock.id).await {
            Ok(codes) => {
                for code in codes.iter().filter(|c| !c.managed) {
                    lines.push(replies::orphan(&lock.name, code));
                    orphans.push((lock.id, code.provider_ref.clone()));
                }
            }
            Err(e) => lines.push(replies::unreadable_lock(&lock.name, &e)),
        }
    }
    if orphans.is_empty() {
        return Ok(replies::no_orphans(&room, &lines));
    }
    let summary = replies::orphans_summary(&room, &lines);
    ask(tx, staff, &Pending::Purge { orphans, room: room.room.clone() }, &summary).await
}

/// `/link BK-10234 +421900000000`.
async fn link(tx: &mut PgConnection, staff: &StaffMember, reference: &str, phone: &str) -> Answer {
    let phone =
        Phone::parse(phone).map_err(|_| StaffError::Unreadable(commands::Unreadable(commands::spec("link"))))?;
    let booking_id = overview::find_current_booking(tx, &staff.property_ids, reference)
        .await?
        .ok_or_else(|| StaffError::NoCurrentBooking(reference.to_owned()))?;
    links::link_contact(tx, booking_id, ContactKind::Phone, phone.as_str(), LinkedBy::Staff(staff.id)).await?;
    let shared = links::is_another_guests_phone(tx, &phone, booking_id).await?;
    Ok(replies::linked(&phone, reference, shared))
}

/// `/resolve [room]`: ends a guest hand-off: the only one open in the
/// sender's properties, or the one of the named room when several are
/// (never someone else's by accident).
async fn resolve(tx: &mut PgConnection, staff: &StaffMember, room: Option<&str>) -> Answer {
    let open = handoffs::list_open(tx, &staff.property_ids).await?;
    let chosen: Vec<_> = match room {
        Some(room) => open.iter().filter(|h| h.room.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(room))).collect(),
        None => open.iter().collect(),
    };
    match chosen.as_slice() {
        [] => Ok(replies::no_handoff()),
        [one] => {
            handoffs::resolve(tx, one.id, staff.actor()).await?;
            Ok(replies::resolved(one))
        }
        many => Ok(replies::several_handoffs(many)),
    }
}
