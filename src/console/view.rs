//! What every page shares: the staff member's bar, the semantic colours
//! (green ready, amber in progress, red needs action, grey past; always
//! with a word beside them), local times and the notes after an action.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::session::Session;
use crate::access::codes::mask;
use crate::access::timezone::Timezone;

/// A coloured label: `tone` is `ready`, `progress`, `action` or `past`.
#[derive(Debug, Clone, Serialize)]
pub struct Badge {
    /// The colour's meaning.
    pub tone: &'static str,
    /// The words beside it.
    pub label: String,
}

impl Badge {
    /// Green: ready.
    pub fn ready(label: impl Into<String>) -> Self {
        Self { tone: "ready", label: label.into() }
    }
    /// Amber: in progress.
    pub fn progress(label: impl Into<String>) -> Self {
        Self { tone: "progress", label: label.into() }
    }
    /// Red: needs action.
    pub fn action(label: impl Into<String>) -> Self {
        Self { tone: "action", label: label.into() }
    }
    /// Grey: past, or nothing to do.
    pub fn past(label: impl Into<String>) -> Self {
        Self { tone: "past", label: label.into() }
    }
}

/// A code's state as a badge.
pub fn code_state(state: &str) -> Badge {
    match state {
        "set" => Badge::ready("on the lock"),
        "pending" | "programming" => Badge::progress(state.to_owned()),
        "failed" => Badge::action("failed"),
        "removing" => Badge::progress("removing"),
        other => Badge::past(other.to_owned()),
    }
}

/// A message's delivery status as a badge.
pub fn delivery(status: &str) -> Badge {
    match status {
        "delivered" | "read" => Badge::ready(status.to_owned()),
        "queued" | "sent" => Badge::progress(status.to_owned()),
        "failed" => Badge::action("failed"),
        other => Badge::past(other.to_owned()),
    }
}

/// A scheduled message's state as a badge.
pub fn scheduled(state: &str) -> Badge {
    match state {
        "sent" => Badge::ready("sent"),
        "scheduled" | "approved" => Badge::progress(state.to_owned()),
        "draft" => Badge::action("draft: send or drop"),
        "waiting" => Badge::past("waiting for its trigger"),
        other => Badge::past(other.to_owned()),
    }
}

/// An instant in a property's time: `Tue 5 Dec 15:00`.
pub fn local(timezone: Timezone, at: DateTime<Utc>) -> String {
    at.with_timezone(&timezone.tz()).format("%a %-d %b %H:%M").to_string()
}

/// An instant's time of day there: `15:00`.
pub fn time(timezone: Timezone, at: DateTime<Utc>) -> String {
    at.with_timezone(&timezone.tz()).format("%H:%M").to_string()
}

/// A code as listings show it: `••••91`.
pub fn masked(code: &str) -> String {
    mask(code)
}

/// The bar at the top of every page.
#[derive(Debug, Clone, Serialize)]
pub struct Chrome {
    /// The staff member's name.
    pub staff: String,
    /// Their highest role.
    pub role: &'static str,
    /// The CSRF token for this page's forms.
    pub csrf: String,
    /// Which screen is open: `today`, `locks`, `properties`, `alerts`, `audit`.
    pub nav: &'static str,
    /// The note after an action (`?done=`), when it is one of ours.
    pub note: Option<&'static str>,
}

impl Chrome {
    /// The bar for `session` on screen `nav`.
    pub fn new(session: &Session, nav: &'static str, done: &Done) -> Self {
        Self {
            staff: session.member.name.clone(),
            role: session.member.role.as_str(),
            csrf: session.csrf.clone(),
            nav,
            note: done.note(),
        }
    }
}

/// `?done=`: which action just happened (a fixed word, never free text).
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

impl Done {
    fn note(&self) -> Option<&'static str> {
        Some(match self.done.as_deref()? {
            "revoked" => "The stay's codes are being removed from the locks.",
            "regenerated" => "New codes are on their way to the locks and the guest.",
            "resent" => "The codes were sent to the guest again, where the release rule allows it.",
            "nothing" => "Nothing to revoke: the stay has no live code.",
            "reconciled" => "The lock was compared with doorman's codes.",
            "adopted" => "The code is now managed by doorman.",
            "removing" => "The code is being removed from the lock.",
            "resolved" => "The hand-off is resolved: automatic replies resume.",
            "saved" => "Saved.",
            "created" => "The property is created: add its rooms, locks and calendar feeds below.",
            "added" => "Added.",
            "removed" => "Removed.",
            "cancelled" => "Nothing was done.",
            "sent" => "The draft is on its way to the guest.",
            "dropped" => "The draft was dropped: the guest gets nothing.",
            "moved" => "The stay moved on every lock it uses; the guest is told.",
            "departed" => "The guest has left: their code stops working in 15 minutes; staff are told.",
            _ => return None,
        })
    }
}
