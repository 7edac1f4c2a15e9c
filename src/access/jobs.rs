//! The follow-up jobs the core enqueues in the transaction of a change.
//! They are data here; what runs them lives with the code that can:
//! `devices::codes` puts codes on locks and takes them off, and
//! `conversation` sends the guest and staff messages. `app::registry`
//! lists them all.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::alerts::StaffAlert;
use crate::jobs::{Job, Merge};

/// Put a code on its lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramCode {
    /// The code.
    pub code_id: Uuid,
}

impl Job for ProgramCode {
    const KIND: &'static str = "program_code";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.code_id))
    }
}

/// Poll the provider until an accepted code shows on the lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmCode {
    /// The code.
    pub code_id: Uuid,
}

impl Job for ConfirmCode {
    const KIND: &'static str = "confirm_code";
    /// Confirmation polls are cheap and wait for a slow lock.
    const MAX_ATTEMPTS: i32 = 15;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.code_id))
    }
}

/// Move a code's validity window on its lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateCode {
    /// The code.
    pub code_id: Uuid,
}

impl Job for UpdateCode {
    const KIND: &'static str = "update_code";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.code_id))
    }
}

/// Take a code off its lock, and poll until it is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveCode {
    /// The code.
    pub code_id: Uuid,
}

impl Job for RemoveCode {
    const KIND: &'static str = "remove_code";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.code_id))
    }
}

/// At the end of a code's validity (check-out), start its removal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpireCode {
    /// The code.
    pub code_id: Uuid,
}

impl Job for ExpireCode {
    const KIND: &'static str = "expire_code";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.code_id))
    }
}

/// Send a booking's pre-arrival message with its codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreArrival {
    /// The booking.
    pub booking_id: Uuid,
}

impl Job for PreArrival {
    const KIND: &'static str = "pre_arrival";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.booking_id))
    }
}

/// Tell the guest their booking is confirmed, on every channel they have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingConfirmed {
    /// The booking.
    pub booking_id: Uuid,
}

impl Job for BookingConfirmed {
    const KIND: &'static str = "booking_confirmed";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.booking_id))
    }
}

/// Shortly before check-in: alert staff when a code is not on its lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckCodesSet {
    /// The booking.
    pub booking_id: Uuid,
}

impl Job for CheckCodesSet {
    const KIND: &'static str = "check_codes_set";
    /// Re-sending a booking must not postpone the check for ever.
    const MERGE: Merge = Merge::KeepEarliest;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.booking_id))
    }
}

/// 24 and 3 hours before check-in (SPEC §12): is every lock the booking
/// needs online, charged and holding the guest's code, and can the guest be
/// reached? Moves with the booking's dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReadiness {
    /// The booking.
    pub booking_id: Uuid,
    /// Hours before check-in: 24 or 3.
    pub lead_hours: i32,
}

impl Job for CheckReadiness {
    const KIND: &'static str = "check_readiness";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.booking_id, self.lead_hours))
    }
}

/// 48 hours before check-in: tell staff when doorman has no way to reach
/// the guest, so that they send the claim link (SPEC §9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckGuestReachable {
    /// The booking.
    pub booking_id: Uuid,
}

impl Job for CheckGuestReachable {
    const KIND: &'static str = "check_guest_reachable";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.booking_id))
    }
}

/// Send a booking's live codes to its guest again, once per `key` (the stay moved to another room, a backup code replaced one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverCodes {
    /// The booking.
    pub booking_id: Uuid,
    /// Makes the message once.
    pub key: String,
}

impl Job for DeliverCodes {
    const KIND: &'static str = "deliver_codes";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.booking_id, self.key))
    }
}

/// Tell a booking's guest that staff moved their stay (SPEC §11), once per
/// `key` (the new times).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TellStayMoved {
    /// The booking.
    pub booking_id: Uuid,
    /// Makes the message once.
    pub key: String,
}

impl Job for TellStayMoved {
    const KIND: &'static str = "tell_stay_moved";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.booking_id, self.key))
    }
}

/// Tell a property's staff something: one alert per problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredAlertStaff")]
pub struct AlertStaff {
    /// The property.
    pub property_id: Uuid,
    /// What happened.
    pub alert: StaffAlert,
}

/// `AlertStaff` as stored now, or as a version before alerts were values
/// stored it (a problem key and a sentence).
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredAlertStaff {
    Now { property_id: Uuid, alert: StaffAlert },
    Worded { property_id: Uuid, problem: String, text: String },
}

impl From<StoredAlertStaff> for AlertStaff {
    fn from(stored: StoredAlertStaff) -> Self {
        match stored {
            StoredAlertStaff::Now { property_id, alert } => Self { property_id, alert },
            StoredAlertStaff::Worded { property_id, problem, text } => {
                Self { property_id, alert: StaffAlert::Worded { problem, text } }
            }
        }
    }
}

impl Job for AlertStaff {
    const KIND: &'static str = "alert_staff";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.property_id, self.alert.problem()))
    }
}

/// Remove a code doorman did not set from a lock (staff confirmed it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveDeviceCode {
    /// The lock.
    pub lock_id: Uuid,
    /// The provider's id of the code.
    pub provider_ref: String,
}

impl Job for RemoveDeviceCode {
    const KIND: &'static str = "remove_device_code";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.lock_id, self.provider_ref))
    }
}

/// Send (or, for a draft rule, show staff) one message rule's message to a
/// booking's guest (SPEC §11); once per booking and rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRuleMessage {
    /// The booking.
    pub booking_id: Uuid,
    /// The rule's name.
    pub rule: String,
}

impl Job for SendRuleMessage {
    const KIND: &'static str = "send_rule_message";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.booking_id, self.rule))
    }
}

/// A burst of wrong codes at a lock during the booking's arrival (SPEC
/// §12): the guest gets their code again with the troubleshooting guide,
/// where the release rule allows it, and staff are told. Once per booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResendAfterWrongCodes {
    /// The booking.
    pub booking_id: Uuid,
    /// The lock that refused the entries.
    pub lock_id: Uuid,
    /// Refused entries within the burst's five minutes.
    pub count: i64,
}

impl Job for ResendAfterWrongCodes {
    const KIND: &'static str = "resend_after_wrong_codes";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.booking_id))
    }
}

/// The guest's code is `set` and still refused after it was sent again: a
/// backup code replaces it where the lock has one, and staff are told.
/// Once per booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupAfterWrongCodes {
    /// The booking.
    pub booking_id: Uuid,
    /// The lock that refused the entries.
    pub lock_id: Uuid,
    /// Refused entries since the code was sent again.
    pub count: i64,
}

impl Job for BackupAfterWrongCodes {
    const KIND: &'static str = "backup_after_wrong_codes";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.booking_id))
    }
}

/// At the property's `no_show_alert_time` on the arrival day: staff are
/// told when the guest's code has not been used (SPEC §12). Moves with the
/// booking's dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckArrived {
    /// The booking.
    pub booking_id: Uuid,
}

impl Job for CheckArrived {
    const KIND: &'static str = "check_arrived";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.booking_id))
    }
}

/// Draw a turnover's code and tell its cleaner (SPEC §11): the lead before
/// its window opens, and again when its window moves or it is cancelled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TurnoverDue {
    /// The turnover.
    pub turnover_id: Uuid,
}

impl Job for TurnoverDue {
    const KIND: &'static str = "turnover";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.turnover_id))
    }
}
