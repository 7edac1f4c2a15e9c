//! Telling a property's staff that something needs a person. An alert is
//! a value, [`StaffAlert`]: the core, the device jobs and the conversation
//! say what happened, with the facts; `conversation::alerts::render` words
//! it (the one place); the `AlertStaff` job routes it to each staff member.
//! Each alert goes out once per [`StaffAlert::problem`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::jobs::AlertStaff;
use super::timezone::Timezone;
use crate::jobs::queue;

/// Something staff need to know, with what they need to act on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alert", rename_all = "snake_case")]
pub enum StaffAlert {
    /// A booking was cancelled (or otherwise ended) during its stay; the
    /// guest's code is held, not revoked.
    HeldDuringStay { booking_id: Uuid, reference: String, status: String, what: String, room: String },
    /// A booking moved to another room.
    RoomChanged {
        booking_id: Uuid,
        reference: String,
        room_id: Uuid,
        room: String,
        old_locks: Vec<String>,
        new_code: bool,
    },
    /// An alert queued by a version before alerts were values, as it was
    /// worded then.
    Worded { problem: String, text: String },
    /// A staff member was deactivated; what was taken away with them.
    StaffDeactivated { staff_id: Uuid, name: String, removed: Vec<Removed> },
    /// A guest asked for the door code and the booking has none live.
    AskedWithoutCode { booking: BookingRef },
    /// A guest is due their access details, but staff revoked the codes.
    CodesRevoked { booking: BookingRef },
    /// The access details could not be sent: the booking never got a code.
    NoCodeToSend { booking_id: Uuid, reference: String, room: String },
    /// A guest reports the lock does not work; `escalation` counts the
    /// earlier reports within the escalation window (`None`: the first,
    /// told because a code is not on the lock).
    LockProblem { booking: BookingRef, stay: StayTimes, codes: Vec<(String, String)>, escalation: Option<i64> },
    /// A guest asked something the property's knowledge base cannot answer.
    KnowledgeMissing { booking_id: Uuid, property: String, topic: String },
    /// A guest wants a person; automatic replies are paused.
    Handoff { handoff_id: Option<Uuid>, booking: BookingRef, reason: String, channel: String, recent: Vec<String> },
    /// A hand-off is still open.
    HandoffReminder { handoff_id: Uuid, guest: Option<String> },
    /// What guests wrote for the team (already quoted and folded).
    GuestWrote { property_id: Uuid, guest_id: Uuid, batch: i32, text: String },
    /// A guest arrives soon (or now: `reminder`) and a code is not on the lock.
    CodeNotOnLock { booking: BookingRef, unset: String, reminder: bool },
    /// A code job gave up.
    CodeJobFailed {
        code_id: Uuid,
        step: FailedStep,
        kind: String,
        masked: String,
        booking: Option<String>,
        lock: String,
        error: String,
    },
    /// A lock cannot be reached; `codes_waiting`: codes wait to go on it.
    LockUnreachable { lock_id: Uuid, lock: String, day: NaiveDate, error: String, codes_waiting: bool },
    /// A lock is offline.
    LockOffline { lock_id: Uuid, lock: String, day: NaiveDate },
    /// A lock's battery is low.
    LowBattery { lock_id: Uuid, lock: String, day: NaiveDate, percent: Option<i32> },
    /// A keypad's battery is low.
    LowKeypadBattery { lock_id: Uuid, lock: String, day: NaiveDate },
    /// The provider says a code stopped working.
    CodeFailedOnDevice { code_id: Uuid, lock: String, reason: String },
    /// A lock was opened with a code nobody should have.
    SuspiciousUse { lock_id: Uuid, lock: String, event_id: String, what: Suspicious, at: DateTime<Utc> },
    /// A lock is too full to keep its backup codes.
    BackupsDoNotFit { lock_id: Uuid, lock: String },
    /// A draft rule's message is due: staff send it (`/send <id>`) or drop
    /// it (`/drop <id>`). `preview` is the text the guest would get, with
    /// any code masked.
    DraftReady { draft_id: i64, reference: String, room: String, rule: String, preview: String },
    /// A guest checks in within 48 hours and doorman has no way to reach
    /// them (no phone, no e-mail, no linked chat): staff are to send them
    /// the claim link (`doorman claim-link --property <id>`).
    GuestUnreachable { booking: BookingRef, property_id: Uuid, check_in_at: DateTime<Utc>, timezone: Timezone },
    /// A readiness check before an arrival failed (SPEC §12).
    NotReady {
        booking: BookingRef,
        check_in_at: DateTime<Utc>,
        timezone: Timezone,
        problems: Vec<super::readiness::Problem>,
    },
    /// A readiness check passed after a failure was told.
    ReadyAgain { booking: BookingRef, lead_hours: i32 },
    /// A guest's code was not on the lock in time; they got a backup code.
    BackupGiven { code_id: Uuid, guest: String, reference: String, lock: String, masked: String, source: String },
    /// A room's calendar feed has failed (or shown nothing) since `since`;
    /// its bookings are kept as they were.
    FeedFailing { feed_id: Uuid, room: String, url: String, since: DateTime<Utc>, error: String },
    /// A stay in progress vanished from its feed: held, not cancelled.
    VanishedDuringStay { booking_id: Uuid, reference: String, room: String },
    /// A channel manager has a reservation for a unit the integration maps
    /// to no room: no booking was made.
    UnknownUnit { integration_id: Uuid, channel_manager: String, unit: String, reference: String },
    /// A booking's contact data did not parse (`fields`: `phone`, `email`):
    /// the booking and its codes were stored without it.
    ContactRejected { booking_id: Uuid, reference: String, room: String, fields: Vec<String> },
    /// A guest asked to come earlier (`edge` `check_in`) or leave later
    /// (`check_out`); `command` approves it. Told to managers only.
    StayChangeRequested { booking: BookingRef, stay: StayTimes, edge: String, command: String, wrote: String },
    /// A guest has left early; their access ends at `access_until`.
    GuestDeparted { booking: BookingRef, access_until: DateTime<Utc>, timezone: Timezone },
    /// Wrong codes at a lock during an arrival (SPEC §12): `count` refused
    /// entries, and what doorman did about them.
    WrongCodes { booking: BookingRef, lock: String, count: i64, outcome: super::arrivals::WrongCodesOutcome },
    /// The guest's code has not been used by the property's
    /// `no_show_alert_time` (SPEC §12).
    NoShow { booking: BookingRef, check_in_at: DateTime<Utc>, timezone: Timezone },
    /// The guest arrived (first use of their code) late at night, after the
    /// property's `late_arrival_alert_after`.
    LateArrival { booking: BookingRef, arrived_at: DateTime<Utc>, timezone: Timezone },
    /// A lock provider's account stopped working (`state`, an
    /// `AccountState`) at `since`: every lock of `locks` (name, property)
    /// is out of reach and its codes wait (SPEC §12).
    AccountDown {
        provider: String,
        account_id: String,
        state: String,
        since: DateTime<Utc>,
        locks: Vec<(String, String)>,
    },
    /// The account that stopped working at `down_since` works again.
    AccountBack { provider: String, account_id: String, down_since: DateTime<Utc>, locks: Vec<(String, String)> },
}

/// The booking an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRef {
    /// The booking.
    pub booking_id: Uuid,
    /// The guest's name.
    pub guest: String,
    /// Its PMS reference.
    pub reference: String,
    /// Its room's name.
    pub room: String,
}

/// A stay's dates, shown in the property's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StayTimes {
    /// Check-in.
    pub check_in_at: DateTime<Utc>,
    /// Check-out.
    pub check_out_at: DateTime<Utc>,
    /// The property's timezone.
    pub timezone: Timezone,
}

/// Something a deactivation took away.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "removed", rename_all = "snake_case")]
pub enum Removed {
    /// A code, masked.
    Code { kind: String, masked: String, lock: String },
    /// A number they linked to a booking.
    Link { contact: String, reference: String },
}

/// Which step of a code's life gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailedStep {
    /// Programming it.
    Program,
    /// Programming its new window (the programming job of an update).
    Reprogram,
    /// Updating its window.
    Update,
    /// Removing it.
    Remove,
}

/// Why a code's use is suspicious.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suspicious {
    /// A backup code nobody was given.
    Backup,
    /// A code that was revoked or expired.
    Revoked,
}

impl StaffAlert {
    /// Whether only the property's managers (and admins) are told: what
    /// only a manager can act on.
    pub fn managers_only(&self) -> bool {
        matches!(self, Self::StayChangeRequested { .. })
    }

    /// Names the problem: staff get one alert per problem (the keys are the
    /// ones alerts always had, so none repeats across an upgrade).
    pub fn problem(&self) -> String {
        match self {
            Self::Worded { problem, .. } => problem.clone(),
            Self::HeldDuringStay { booking_id, status, .. } => format!("held:{booking_id}:{status}"),
            Self::RoomChanged { booking_id, room_id, .. } => format!("moved:{booking_id}:{room_id}"),
            Self::StaffDeactivated { staff_id, .. } => format!("deactivated:{staff_id}"),
            Self::AskedWithoutCode { booking } | Self::CodesRevoked { booking } => {
                format!("no_code:{}", booking.booking_id)
            }
            Self::NoCodeToSend { booking_id, .. } => format!("no_code:{booking_id}"),
            Self::LockProblem { booking, escalation: Some(n), .. } => {
                format!("lock_problem:{}:{n}", booking.booking_id)
            }
            Self::LockProblem { booking, escalation: None, .. } => format!("code_not_set:{}", booking.booking_id),
            Self::KnowledgeMissing { booking_id, topic, .. } => format!("missing:{topic}:{booking_id}"),
            Self::Handoff { handoff_id, .. } => {
                format!("handoff:{}", handoff_id.map_or("open".into(), |id| id.to_string()))
            }
            Self::HandoffReminder { handoff_id, .. } => format!("handoff_reminder:{handoff_id}"),
            Self::GuestWrote { property_id, guest_id, batch, .. } => {
                format!("guest_text:{property_id}:{guest_id}:{batch}")
            }
            Self::CodeNotOnLock { booking, reminder: false, .. } => format!("not_set:{}", booking.booking_id),
            Self::CodeNotOnLock { booking, reminder: true, .. } => format!("not_set_reminder:{}", booking.booking_id),
            Self::CodeJobFailed { code_id, step, .. } => format!("{}:{code_id}", step.key()),
            Self::LockUnreachable { lock_id, day, .. } => format!("lock_unreachable:{lock_id}:{day}"),
            Self::LockOffline { lock_id, day, .. } => format!("lock_offline:{lock_id}:{day}"),
            Self::LowBattery { lock_id, day, .. } => format!("lock_battery:{lock_id}:{day}"),
            Self::LowKeypadBattery { lock_id, day, .. } => format!("lock_keypad_battery:{lock_id}:{day}"),
            Self::CodeFailedOnDevice { code_id, .. } => format!("drift_failed:{code_id}"),
            Self::SuspiciousUse { lock_id, event_id, .. } => format!("suspicious_use:{lock_id}:{event_id}"),
            Self::BackupsDoNotFit { lock_id, .. } => format!("backup_full:{lock_id}"),
            Self::DraftReady { draft_id, .. } => format!("draft:{draft_id}"),
            Self::BackupGiven { code_id, .. } => format!("backup:{code_id}"),
            Self::FeedFailing { feed_id, since, .. } => format!("feed_failed:{feed_id}:{}", since.timestamp()),
            Self::VanishedDuringStay { booking_id, .. } => format!("vanished:{booking_id}"),
            Self::UnknownUnit { integration_id, unit, .. } => format!("unknown_unit:{integration_id}:{unit}"),
            Self::ContactRejected { booking_id, .. } => format!("bad_contact:{booking_id}"),
            Self::GuestDeparted { booking, .. } => format!("departed:{}", booking.booking_id),
            Self::StayChangeRequested { booking, edge, command, .. } => {
                format!("stay_change:{}:{edge}:{command}", booking.booking_id)
            }
            Self::GuestUnreachable { booking, .. } => format!("unreachable:{}", booking.booking_id),
            // The same problems are told once, whichever check finds them.
            Self::NotReady { booking, problems, .. } => {
                let mut what: Vec<String> = problems
                    .iter()
                    .map(|p| format!("{:?}@{}", p.problem, p.lock_id.map_or(String::new(), |l| l.to_string())))
                    .collect();
                what.sort();
                format!("not_ready:{}:{}", booking.booking_id, what.join(","))
            }
            Self::ReadyAgain { booking, lead_hours } => format!("ready_again:{}:{lead_hours}", booking.booking_id),
            Self::WrongCodes { booking, outcome, .. } if outcome.after_resend() => {
                format!("wrong_codes_again:{}", booking.booking_id)
            }
            Self::WrongCodes { booking, .. } => format!("wrong_codes:{}", booking.booking_id),
            Self::NoShow { booking, .. } => format!("no_show:{}", booking.booking_id),
            Self::LateArrival { booking, .. } => format!("late_arrival:{}", booking.booking_id),
            Self::AccountDown { provider, account_id, since, .. } => {
                format!("provider.account_disconnected:{provider}:{account_id}:{}", since.timestamp())
            }
            Self::AccountBack { provider, account_id, down_since, .. } => {
                format!("provider.account_back:{provider}:{account_id}:{}", down_since.timestamp())
            }
        }
    }
}

impl FailedStep {
    fn key(self) -> &'static str {
        match self {
            Self::Program => "code.failed",
            Self::Reprogram => "code.update_failed",
            Self::Update => "update_failed",
            Self::Remove => "removal_failed",
        }
    }
}

/// Queues `alert` to the staff of `property_id`, once per problem.
pub async fn alert_staff(conn: &mut PgConnection, property_id: Uuid, alert: StaffAlert) -> sqlx::Result<()> {
    queue::enqueue(conn, &AlertStaff { property_id, alert }, Utc::now()).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::Job;

    fn booking(id: Uuid) -> BookingRef {
        BookingRef { booking_id: id, guest: "Ana Novak".into(), reference: "BK-1".into(), room: "101".into() }
    }

    /// An `AlertStaff` row written before alerts were values still runs,
    /// with the words and the once-only key it was queued with.
    #[test]
    fn an_alert_queued_by_the_previous_version_still_reads() {
        let property_id = Uuid::new_v4();
        let stored = serde_json::json!({ "property_id": property_id, "problem": "no_code:x", "text": "Hello" });
        let job: AlertStaff = serde_json::from_value(stored).expect("reads");
        assert_eq!(job.alert, StaffAlert::Worded { problem: "no_code:x".into(), text: "Hello".into() });
        assert_eq!(job.dedupe_key(), Some(format!("alert_staff:{property_id}:no_code:x")));
        let again: AlertStaff = serde_json::from_value(serde_json::to_value(&job).unwrap()).expect("round trip");
        assert_eq!(again, job);
    }

    /// The keys are derived from the facts: the same problem told from two
    /// places is one alert; a second report is a new one.
    #[test]
    fn the_same_problem_is_one_alert_whoever_tells_it() {
        let id = Uuid::new_v4();
        let asked = StaffAlert::AskedWithoutCode { booking: booking(id) };
        let revoked = StaffAlert::CodesRevoked { booking: booking(id) };
        let unsent = StaffAlert::NoCodeToSend { booking_id: id, reference: "BK-1".into(), room: "101".into() };
        assert_eq!(asked.problem(), format!("no_code:{id}"));
        assert_eq!(asked.problem(), revoked.problem());
        assert_eq!(asked.problem(), unsent.problem());
        let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
        let unreachable = |codes_waiting| StaffAlert::LockUnreachable {
            lock_id: id,
            lock: "Door".into(),
            day,
            error: "timeout".into(),
            codes_waiting,
        };
        assert_eq!(unreachable(true).problem(), unreachable(false).problem());
        assert_eq!(unreachable(true).problem(), format!("lock_unreachable:{id}:2026-12-02"));
        let stay =
            StayTimes { check_in_at: Utc::now(), check_out_at: Utc::now(), timezone: Timezone::parse("UTC").unwrap() };
        let report = |escalation| StaffAlert::LockProblem {
            booking: booking(id),
            stay: stay.clone(),
            codes: vec![],
            escalation,
        };
        assert_eq!(report(None).problem(), format!("code_not_set:{id}"));
        assert_eq!(report(Some(1)).problem(), format!("lock_problem:{id}:1"));
        assert_ne!(report(Some(1)).problem(), report(Some(2)).problem());
    }
}
