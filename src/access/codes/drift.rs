//! What reconciliation concludes about one code (SPEC §3.10), decided
//! without a database or a provider: doorman's view of the code and what the
//! lock shows go in, the drift comes out. `devices::locks::reconcile` acts on
//! it through the state changes in [`super::state`].

use chrono::{DateTime, Duration, Utc};

use crate::access::model::CodeState;

/// A device window within this of doorman's is the same window (providers
/// round to the minute).
pub const WINDOW_TOLERANCE: Duration = Duration::minutes(1);

/// doorman's side of a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ours {
    /// Its state.
    pub state: CodeState,
    /// From when it opens.
    pub valid_from: DateTime<Utc>,
    /// Until when it opens; `None` for persistent codes.
    pub valid_until: Option<DateTime<Utc>>,
}

/// The lock's side of a code, as its provider lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDevice {
    /// The provider's id of the code.
    pub provider_ref: String,
    /// It opens the lock (now or in its window).
    pub on_lock: bool,
    /// The provider could not keep it on the device, and why.
    pub failed: Option<String>,
    /// The window the device holds, when the provider reports one.
    pub valid_from: Option<DateTime<Utc>>,
    /// The end of that window.
    pub valid_until: Option<DateTime<Utc>>,
}

/// What to do about one code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// Lock and doorman agree (or the difference is not doorman's to fix).
    None,
    /// `set` and still valid, but gone from the lock: program it again.
    Missing,
    /// `set`, and the provider reports it could not keep it: `failed`.
    FailedOnDevice(String),
    /// On the lock with another window than doorman's: update it.
    Window,
    /// Being programmed (or given up on) and on the lock after all: `set`,
    /// with the provider's id.
    Landed(String),
    /// Taken off, and on the lock again (a late landing): remove it again.
    Returned(String),
}

/// The drift of one code at `now`.
pub fn drift(ours: &Ours, found: Option<&OnDevice>, now: DateTime<Utc>) -> Drift {
    let still_valid = ours.valid_until.is_none_or(|until| until > now);
    match (ours.state, found) {
        (CodeState::Set, None) if still_valid => Drift::Missing,
        (CodeState::Set, Some(device)) if still_valid => match &device.failed {
            Some(reason) => Drift::FailedOnDevice(reason.clone()),
            None if device.on_lock && window_differs(ours, device) => Drift::Window,
            None => Drift::None,
        },
        (CodeState::Programming | CodeState::Failed, Some(device)) if device.on_lock => {
            Drift::Landed(device.provider_ref.clone())
        }
        (CodeState::Removed, Some(device)) => Drift::Returned(device.provider_ref.clone()),
        _ => Drift::None,
    }
}

fn window_differs(ours: &Ours, device: &OnDevice) -> bool {
    off(Some(ours.valid_from), device.valid_from) || off(ours.valid_until, device.valid_until)
}

fn off(ours: Option<DateTime<Utc>>, theirs: Option<DateTime<Utc>>) -> bool {
    match (ours, theirs) {
        (Some(a), Some(b)) => (a - b).abs() > WINDOW_TOLERANCE,
        // A provider that does not report the window is not drift.
        (_, None) => false,
        (None, Some(_)) => true,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap()
    }

    fn ours(state: CodeState) -> Ours {
        Ours { state, valid_from: now() - Duration::hours(2), valid_until: Some(now() + Duration::days(2)) }
    }

    fn on_lock(o: &Ours) -> OnDevice {
        OnDevice {
            provider_ref: "ref-1".into(),
            on_lock: true,
            failed: None,
            valid_from: Some(o.valid_from),
            valid_until: o.valid_until,
        }
    }

    #[test]
    fn a_set_code_gone_from_the_lock_is_missing_until_it_expires() {
        let code = ours(CodeState::Set);
        assert_eq!(drift(&code, None, now()), Drift::Missing);
        let expired = Ours { valid_until: Some(now() - Duration::minutes(1)), ..code.clone() };
        assert_eq!(drift(&expired, None, now()), Drift::None);
        let persistent = Ours { valid_until: None, ..code };
        assert_eq!(drift(&persistent, None, now()), Drift::Missing);
    }

    #[test]
    fn a_set_code_the_provider_could_not_keep_has_failed_on_the_device() {
        let code = ours(CodeState::Set);
        let device = OnDevice { failed: Some("keypad full".into()), on_lock: false, ..on_lock(&code) };
        assert_eq!(drift(&code, Some(&device), now()), Drift::FailedOnDevice("keypad full".into()));
    }

    #[test]
    fn a_window_is_drift_only_beyond_the_tolerance_and_only_when_reported() {
        let code = ours(CodeState::Set);
        assert_eq!(drift(&code, Some(&on_lock(&code)), now()), Drift::None);
        let within = OnDevice { valid_from: Some(code.valid_from + WINDOW_TOLERANCE), ..on_lock(&code) };
        assert_eq!(drift(&code, Some(&within), now()), Drift::None);
        let beyond = OnDevice {
            valid_until: code.valid_until.map(|u| u + WINDOW_TOLERANCE + Duration::seconds(1)),
            ..on_lock(&code)
        };
        assert_eq!(drift(&code, Some(&beyond), now()), Drift::Window);
        let unreported = OnDevice { valid_from: None, valid_until: None, ..on_lock(&code) };
        assert_eq!(drift(&code, Some(&unreported), now()), Drift::None);
        let persistent = Ours { valid_until: None, ..code.clone() };
        assert_eq!(drift(&persistent, Some(&on_lock(&code)), now()), Drift::Window, "ours has no end, the lock's has");
        let scheduled_elsewhere = OnDevice { on_lock: false, ..beyond };
        assert_eq!(drift(&code, Some(&scheduled_elsewhere), now()), Drift::None);
    }

    #[test]
    fn a_code_that_landed_late_is_set_and_one_that_came_back_is_removed_again() {
        for state in [CodeState::Programming, CodeState::Failed] {
            let code = ours(state);
            assert_eq!(drift(&code, Some(&on_lock(&code)), now()), Drift::Landed("ref-1".into()));
            let pending = OnDevice { on_lock: false, ..on_lock(&code) };
            assert_eq!(drift(&code, Some(&pending), now()), Drift::None);
        }
        let removed = ours(CodeState::Removed);
        assert_eq!(drift(&removed, Some(&on_lock(&removed)), now()), Drift::Returned("ref-1".into()));
        assert_eq!(drift(&removed, None, now()), Drift::None);
    }

    #[test]
    fn codes_on_their_way_are_left_alone() {
        for state in [CodeState::Pending, CodeState::Removing] {
            let code = ours(state);
            assert_eq!(drift(&code, None, now()), Drift::None);
            assert_eq!(drift(&code, Some(&on_lock(&code)), now()), Drift::None);
        }
    }
}
