//! The words of every staff alert: [`render`] is the one place a
//! [`StaffAlert`] becomes a sentence. Alerts are English, like the staff
//! commands they point to; codes in them are already masked.

use super::alerts::quote;
use crate::access::alerts::{BookingRef, FailedStep, Removed, StaffAlert, StayTimes, Suspicious};

/// The alert's text.
pub fn render(alert: &StaffAlert) -> String {
    use StaffAlert::*;
    match alert {
        Worded { text, .. } => text.clone(),
        HeldDuringStay { reference, what, room, .. } => format!(
            "{reference} was {what} during the stay: the guest's code still works (held, a stay in progress is never \
             revoked without staff). To take it off the locks: /revoke room {room}"
        ),
        RoomChanged { reference, room, old_locks, new_code, .. } => format!(
            "{reference} now uses room {room}: its code on {} is being removed{}.",
            old_locks.join(", "),
            if *new_code { ", and the new room's locks get a code" } else { "" }
        ),
        StaffDeactivated { name, removed, .. } => {
            let removed: Vec<String> = removed.iter().map(removed_item).collect();
            format!("{name} was deactivated. Removed: {}.", removed.join("; "))
        }
        AskedWithoutCode { booking } => {
            format!("{} asked for the door code, but the booking has no live code.", who(booking))
        }
        CodesRevoked { booking } => format!(
            "{} is due their access details, but their codes were revoked. /regen room {} issues new ones.",
            who(booking),
            booking.room
        ),
        NoCodeToSend { reference, room, .. } => format!(
            "{reference} (room {room}) has no live code, so its access details could not be sent. /regen room {room} \
             issues one."
        ),
        LockProblem { booking, stay, codes, .. } => lock_problem(booking, stay, codes),
        KnowledgeMissing { property, topic, .. } => {
            format!("A guest of {property} asked about {topic}; the property's knowledge base has no answer.")
        }
        Handoff { booking, reason, channel, recent, .. } => {
            let recent: Vec<String> = recent.iter().map(|r| quote(r)).collect();
            format!("{} {reason} on {channel}. Recent: {}. Reply to them directly, then /resolve.", who(booking), recent.join(" | "))
        }
        HandoffReminder { guest, .. } => format!(
            "Reminder: {} is still waiting for the team (automatic replies are paused). /resolve when done.",
            guest.as_deref().unwrap_or("a guest")
        ),
        GuestWrote { text, .. } => text.clone(),
        CodeNotOnLock { booking, unset, reminder } => {
            let lead = if *reminder { "is arriving now: reminder," } else { "arrives soon and" };
            format!("{} {lead} a code is not on the lock: {unset}.", who(booking))
        }
        CodeJobFailed { step, kind, masked, booking, lock, error, .. } => format!(
            "The {kind} code {masked} ({}) {} lock {lock}: {error}",
            booking.as_deref().unwrap_or("no booking"),
            failed(*step)
        ),
        LockUnreachable { lock, error, codes_waiting, .. } => lock_unreachable(lock, error, *codes_waiting),
        LockOffline { lock, .. } => format!("Lock {lock} is offline."),
        LowBattery { lock, percent, .. } => low_battery(lock, percent.map(|b| b.to_string())),
        LowKeypadBattery { lock, .. } => format!("The keypad of lock {lock} has a low battery."),
        CodeFailedOnDevice { lock, reason, .. } => format!("A code on lock {lock} stopped working at the provider: {reason}"),
        SuspiciousUse { lock, what, at, .. } => {
            format!("Lock {lock} was opened with {} at {}.", suspicious(*what), at.format("%Y-%m-%d %H:%M UTC"))
        }
        BackupsDoNotFit { lock, .. } => format!("Lock {lock} is full: its backup codes cannot be kept on it."),
        DraftReady { draft_id, reference, room, rule, preview } => format!(
            "Draft {draft_id} ({rule}) for {reference}, room {room}:\n{}\n/send {draft_id} sends it, /drop {draft_id} drops it.",
            quote(preview)
        ),
        FeedFailing { room, url, since, error, .. } => feed_failing(room, url, *since, error),
        VanishedDuringStay { reference, room, .. } => vanished(reference, room),
        BackupGiven { guest, reference, lock, masked, source, .. } => format!(
            "{guest} ({reference}): their code was not on lock {lock} in time, so they got backup code {masked} ({source}) \
             instead."
        ),
        UnknownUnit { channel_manager, unit, reference, .. } => unknown_unit(channel_manager, unit, reference),
        ContactRejected { reference, room, fields, .. } => contact_rejected(reference, room, fields),
        GuestDeparted { booking, access_until, timezone } => departed(booking, timezone.short_time(*access_until)),
        StayChangeRequested { booking, stay, edge, command, wrote } => stay_change(booking, stay, edge, command, wrote),
        GuestUnreachable { booking, property_id, check_in_at, timezone } => unreachable(booking, *property_id, *check_in_at, *timezone),
        NotReady { booking, check_in_at, timezone, problems } => not_ready(booking, *check_in_at, *timezone, problems),
        ReadyAgain { booking, .. } => format!("{} is ready again: every lock online, charged and holding the code.", who(booking)),
        WrongCodes { .. } | NoShow { .. } | LateArrival { .. } | AccountDown { .. } | AccountBack { .. } => ready(alert),
    }
}

/// Wrong codes, no-shows, late arrivals and provider accounts (SPEC §12).
fn ready(alert: &StaffAlert) -> String {
    use crate::access::arrivals::WrongCodesOutcome::*;
    match alert {
        StaffAlert::WrongCodes { booking, lock, count, outcome } => {
            let what = match outcome {
                CodeResent => "They were sent their code again with the troubleshooting guide.".to_owned(),
                NotReleased => "Their code was not sent: the release rules do not allow it now.".to_owned(),
                SeveralArrivals { references } => format!(
                    "Several arrivals use this lock ({}), so no guest was written to: call them.",
                    references.join(", ")
                ),
                BackupGiven { masked } => {
                    format!("Their code is on the lock and still refused: they got backup code {masked} instead.")
                }
                BackupNotReleased => {
                    "Their code is on the lock and still refused; no backup code was given: the release rules do not \
                     allow it now."
                        .to_owned()
                }
                NoBackup => "Their code is on the lock and still refused, and the lock has no backup code: call \
                             them."
                    .to_owned(),
            };
            let attempts = if outcome.after_resend() { "more wrong codes since" } else { "wrong codes within" };
            let span = if outcome.after_resend() { "the code was sent again" } else { "five minutes" };
            format!("{}: {count} {attempts} {span} at lock {lock}. {what}", who(booking))
        }
        StaffAlert::NoShow { booking, check_in_at, timezone } => format!(
            "{} (check-in {}) has not arrived: their code has not been used yet. Try to reach them.",
            who(booking),
            timezone.short_time(*check_in_at)
        ),
        StaffAlert::LateArrival { booking, arrived_at, timezone } => {
            format!(
                "{} arrived late: their code opened the door at {}.",
                who(booking),
                timezone.short_time(*arrived_at)
            )
        }
        StaffAlert::AccountDown { .. } | StaffAlert::AccountBack { .. } => account(alert),
        _ => render(alert),
    }
}

/// A provider account stopped working, or works again.
fn account(alert: &StaffAlert) -> String {
    match alert {
        StaffAlert::AccountDown { provider, account_id, state, since, locks } => {
            account_down(provider, account_id, state, *since, locks)
        }
        StaffAlert::AccountBack { provider, account_id, locks, .. } => account_back(provider, account_id, locks),
        _ => String::new(),
    }
}

/// One line per lock: "- Room 201 door (Riverside)".
fn named_locks(locks: &[(String, String)]) -> String {
    let named: Vec<String> = locks.iter().map(|(lock, property)| format!("- {lock} ({property})")).collect();
    named.join("\n")
}

fn account_down(
    provider: &str,
    account_id: &str,
    state: &str,
    since: chrono::DateTime<chrono::Utc>,
    locks: &[(String, String)],
) -> String {
    use crate::access::accounts::{account_name, what_to_do};
    use crate::access::model::{AccountState, ProviderKind};
    let kind = provider.parse().unwrap_or(ProviderKind::Seam);
    let state = state.parse().unwrap_or(AccountState::Disconnected);
    let what = match state {
        AccountState::Refused => "refuses the API token",
        AccountState::ReauthorizationRequested => "asks to be authorized again",
        _ => "is disconnected",
    };
    let mut name = account_name(kind, account_id);
    name[..1].make_ascii_uppercase();
    format!(
        "{name} {what} (since {} UTC): doorman cannot reach its {} lock{}:\n{}\nTo do: {}. Their codes wait and go on \
         when the account works again.",
        since.format("%Y-%m-%d %H:%M"),
        locks.len(),
        if locks.len() == 1 { "" } else { "s" },
        named_locks(locks),
        what_to_do(kind, state)
    )
}

fn account_back(provider: &str, account_id: &str, locks: &[(String, String)]) -> String {
    let kind = provider.parse().unwrap_or(crate::access::model::ProviderKind::Seam);
    let mut name = crate::access::accounts::account_name(kind, account_id);
    name[..1].make_ascii_uppercase();
    format!(
        "{name} is back: doorman reaches its locks again, and the codes that waited are going on now:\n{}",
        named_locks(locks)
    )
}

fn lock_unreachable(lock: &str, error: &str, codes_waiting: bool) -> String {
    if codes_waiting {
        format!("Lock {lock} cannot be reached: {error}. Its codes are waiting and go on when it answers again.")
    } else {
        format!("Lock {lock} cannot be reached: {error}")
    }
}

fn feed_failing(room: &str, url: &str, since: chrono::DateTime<chrono::Utc>, error: &str) -> String {
    format!(
        "The calendar feed of room {room} ({url}) has not worked since {} UTC: {error}. Its bookings are kept as \
         they were; check the link in the channel's settings.",
        since.format("%Y-%m-%d %H:%M")
    )
}

fn vanished(reference: &str, room: &str) -> String {
    format!(
        "{reference} vanished from the calendar of room {room} during the stay: the guest's code still works. If \
         the stay was cancelled: /revoke room {room}"
    )
}

fn unknown_unit(channel_manager: &str, unit: &str, reference: &str) -> String {
    format!(
        "{channel_manager} has reservation {reference} for its unit {unit}, which the integration maps to no room: \
         no booking was made. Map unit {unit} to a room to import it."
    )
}

fn contact_rejected(reference: &str, room: &str, fields: &[String]) -> String {
    format!(
        "{reference} (room {room}) was imported without the guest's {}, which did not parse. The booking and its \
         codes are stored; correct the contact in the channel manager to reach the guest.",
        fields.join(" and ")
    )
}

fn unreachable(
    booking: &BookingRef,
    property_id: uuid::Uuid,
    check_in_at: chrono::DateTime<chrono::Utc>,
    timezone: crate::access::timezone::Timezone,
) -> String {
    format!(
        "{} checks in {} and doorman has no phone, e-mail or chat for them: send them the claim link through the \
         booking platform's messages (doorman claim-link --property {property_id}).",
        who(booking),
        timezone.short_time(check_in_at)
    )
}

fn not_ready(
    booking: &BookingRef,
    check_in_at: chrono::DateTime<chrono::Utc>,
    timezone: crate::access::timezone::Timezone,
    problems: &[crate::access::readiness::Problem],
) -> String {
    use crate::access::readiness::ProblemKind::*;
    let lines: Vec<String> = problems
        .iter()
        .map(|p| {
            let lock = p.lock.as_deref().unwrap_or("");
            let todo = match p.problem {
                LockOffline => format!(
                    "check its power and connection, or have a backup code or key ready (/status room {})",
                    booking.room
                ),
                BatteryLow => "change its batteries before the guest arrives".to_owned(),
                KeypadBatteryLow => "change the keypad's batteries".to_owned(),
                CodeNotSet => {
                    format!("the guest's code is not on it: /regen room {} or give a backup code", booking.room)
                }
                GuestUnreachable => "send the claim link through the booking platform (doorman claim-link)".to_owned(),
                AccountDisconnected => {
                    "its codes wait until the account works again; have a backup code or key ready meanwhile".to_owned()
                }
            };
            match p.lock {
                Some(_) => format!("- {lock}: {}: {todo}", p.detail),
                None => format!("- the guest: {}: {todo}", p.detail),
            }
        })
        .collect();
    format!("{} checks in {} and is not ready:\n{}", who(booking), timezone.short_time(check_in_at), lines.join("\n"))
}

fn low_battery(lock: &str, percent: Option<String>) -> String {
    format!("Lock {lock} has a low battery{}.", percent.map_or(String::new(), |b| format!(" ({b} %)")))
}

fn departed(booking: &BookingRef, until: String) -> String {
    format!(
        "{} has left: their code stops working at {until}. The turnover of room {} can start.",
        who(booking),
        booking.room
    )
}

fn stay_change(booking: &BookingRef, stay: &StayTimes, edge: &str, command: &str, wrote: &str) -> String {
    let asks = match edge {
        "check_in" => format!("to check in earlier than {}", stay.timezone.short_time(stay.check_in_at)),
        _ => format!("to check out later than {}", stay.timezone.short_time(stay.check_out_at)),
    };
    format!("{} asks {asks}: \"{}\". Nothing changes until you approve it: {command}", who(booking), quote(wrote))
}

/// `Ana Novak (BK-1, room 101)`.
fn who(booking: &BookingRef) -> String {
    format!("{} ({}, room {})", booking.guest, booking.reference, booking.room)
}

fn lock_problem(booking: &BookingRef, stay: &StayTimes, codes: &[(String, String)]) -> String {
    let codes: Vec<String> = codes.iter().map(|(lock, state)| format!("{lock}: {state}")).collect();
    format!(
        "{} ({}, room {}, {} – {}) reports the lock does not work. Codes: {}.",
        booking.guest,
        booking.reference,
        booking.room,
        stay.timezone.short_time(stay.check_in_at),
        stay.timezone.short_time(stay.check_out_at),
        if codes.is_empty() { "none".to_owned() } else { codes.join(", ") }
    )
}

fn removed_item(removed: &Removed) -> String {
    match removed {
        Removed::Code { kind, masked, lock } => format!("{kind} code {masked} on {lock}"),
        Removed::Link { contact, reference } => format!("{contact} linked to {reference}"),
    }
}

fn failed(step: FailedStep) -> &'static str {
    match step {
        FailedStep::Program => "could not be put on",
        FailedStep::Reprogram | FailedStep::Update => "could not get its new dates on",
        FailedStep::Remove => "could not be removed from (it may still open)",
    }
}

fn suspicious(what: Suspicious) -> &'static str {
    match what {
        Suspicious::Backup => "a backup code nobody was given",
        Suspicious::Revoked => "a code that was revoked or expired",
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use uuid::Uuid;

    use crate::access::timezone::Timezone;

    use super::*;

    fn booking() -> BookingRef {
        BookingRef { booking_id: Uuid::nil(), guest: "Ana Novak".into(), reference: "BK-1".into(), room: "101".into() }
    }

    /// A report names the guest, the stay in the property's time and the
    /// state of each code, so staff can act without looking anything up.
    #[test]
    fn a_lock_problem_says_who_when_and_what_the_codes_are() {
        let stay = StayTimes {
            check_in_at: Utc.with_ymd_and_hms(2026, 11, 23, 14, 0, 0).unwrap(),
            check_out_at: Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap(),
            timezone: Timezone::parse("Europe/Bratislava").unwrap(),
        };
        let codes = vec![("Entrance".into(), "set".into()), ("Room 101".into(), "pending".into())];
        let alert = StaffAlert::LockProblem { booking: booking(), stay, codes, escalation: Some(1) };
        assert_eq!(
            render(&alert),
            "Ana Novak (BK-1, room 101, Mon 23 Nov 15:00 – Wed 25 Nov 10:00) reports the lock does not work. \
             Codes: Entrance: set, Room 101: pending."
        );
    }

    /// Every alert that points to a command names the room it needs.
    #[test]
    fn alerts_name_the_command_that_fixes_them() {
        assert!(render(&StaffAlert::CodesRevoked { booking: booking() }).contains("/regen room 101"));
        let held = StaffAlert::HeldDuringStay {
            booking_id: Uuid::nil(),
            reference: "BK-1".into(),
            status: "cancelled".into(),
            what: "cancelled".into(),
            room: "101".into(),
        };
        assert!(render(&held).starts_with("BK-1 was cancelled during the stay"));
        assert!(render(&held).ends_with("/revoke room 101"));
    }

    /// A guest's words are quoted on one line, however they were typed.
    #[test]
    fn a_hand_off_quotes_the_recent_messages() {
        let alert = StaffAlert::Handoff {
            handoff_id: None,
            booking: booking(),
            reason: "asked for a person".into(),
            channel: "whatsapp".into(),
            recent: vec!["hello\n\nanyone?".into(), "please call".into()],
        };
        assert_eq!(
            render(&alert),
            "Ana Novak (BK-1, room 101) asked for a person on whatsapp. Recent: hello anyone? | please call. \
             Reply to them directly, then /resolve."
        );
    }
}
