//! When a guest may have their code (SPEC §3, §4 `access`): one rule, used
//! by the chat, the pre-arrival message, `/regen` and the scheduler.

use chrono::{DateTime, Duration, Utc};

use super::model::BookingStatus;

/// The facts of a booking the release rule reads.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseTerms {
    /// Pending, confirmed or cancelled.
    pub status: BookingStatus,
    /// Whether the PMS reported the guest verified.
    pub verified: bool,
    /// Whether the property requires it before the code is released.
    pub requires_verification: bool,
    /// Check-in instant.
    pub check_in_at: DateTime<Utc>,
    /// Check-out instant.
    pub check_out_at: DateTime<Utc>,
    /// The property's `code_release_hours`.
    pub release_hours: i32,
}

/// Whether the code may be given now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Yes: from the release time until check-out.
    Allowed,
    /// Not before `at` (`code_release_hours` before check-in).
    NotYet {
        /// The release time.
        at: DateTime<Utc>,
    },
    /// The property requires verification and the PMS has not reported it.
    AwaitingVerification,
    /// The stay is over.
    Ended,
    /// The booking is pending or cancelled.
    NotConfirmed,
}

/// The moment a code may be released: `release_hours` before check-in.
pub fn release_time(check_in_at: DateTime<Utc>, release_hours: i32) -> DateTime<Utc> {
    check_in_at - Duration::hours(i64::from(release_hours))
}

impl ReleaseTerms {
    /// The moment the code may be released.
    pub fn release_at(&self) -> DateTime<Utc> {
        release_time(self.check_in_at, self.release_hours)
    }

    /// The release rule, in this order: confirmed, not ended, verified where
    /// required, then the release time.
    pub fn at(&self, now: DateTime<Utc>) -> Release {
        if self.status != BookingStatus::Confirmed {
            return Release::NotConfirmed;
        }
        if now >= self.check_out_at {
            return Release::Ended;
        }
        if self.requires_verification && !self.verified {
            return Release::AwaitingVerification;
        }
        if now < self.release_at() {
            return Release::NotYet { at: self.release_at() };
        }
        Release::Allowed
    }

    /// Whether the guest is in the house now (and may have the wifi): the
    /// code is released and check-in has passed.
    pub fn in_stay(&self, now: DateTime<Utc>) -> bool {
        self.at(now) == Release::Allowed && self.check_in_at <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(status: BookingStatus, verified: bool) -> ReleaseTerms {
        let check_in_at = DateTime::parse_from_rfc3339("2026-12-10T14:00:00Z").unwrap().with_timezone(&Utc);
        ReleaseTerms {
            status,
            verified,
            requires_verification: true,
            check_in_at,
            check_out_at: check_in_at + Duration::days(3),
            release_hours: 24,
        }
    }

    #[test]
    fn confirmed_then_not_ended_then_verified_then_the_release_time() {
        let confirmed = terms(BookingStatus::Confirmed, true);
        let release_at = confirmed.check_in_at - Duration::hours(24);
        assert_eq!(confirmed.at(release_at - Duration::seconds(1)), Release::NotYet { at: release_at });
        assert_eq!(confirmed.at(release_at), Release::Allowed);
        assert_eq!(confirmed.at(confirmed.check_out_at), Release::Ended);
        assert_eq!(terms(BookingStatus::Confirmed, false).at(release_at), Release::AwaitingVerification);
        assert_eq!(terms(BookingStatus::Pending, true).at(release_at), Release::NotConfirmed);
        assert_eq!(terms(BookingStatus::Cancelled, true).at(release_at), Release::NotConfirmed);
    }

    #[test]
    fn the_stay_itself_starts_at_check_in() {
        let confirmed = terms(BookingStatus::Confirmed, true);
        assert!(!confirmed.in_stay(confirmed.check_in_at - Duration::minutes(1)));
        assert!(confirmed.in_stay(confirmed.check_in_at));
        assert!(!confirmed.in_stay(confirmed.check_out_at));
        assert!(!terms(BookingStatus::Confirmed, false).in_stay(confirmed.check_in_at));
    }
}
