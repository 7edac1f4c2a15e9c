//! Turning a property's local dates and times into UTC instants (SPEC §3.13).

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A check-in and check-out pair of instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stay {
    /// When the guest may enter.
    pub check_in_at: DateTime<Utc>,
    /// When the guest must have left.
    pub check_out_at: DateTime<Utc>,
}

/// Why a stay was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidStay {
    /// Check-out is not after check-in.
    #[error("check-out must be after check-in")]
    NotAfterCheckIn,
    /// Longer than a year: almost certainly a typo in the dates.
    #[error("a stay is at most 366 days long")]
    TooLong,
}

impl Stay {
    /// The longest stay doorman accepts.
    pub const MAX_NIGHTS: i64 = 366;

    /// Checks that check-out follows check-in within a year.
    pub fn new(check_in_at: DateTime<Utc>, check_out_at: DateTime<Utc>) -> Result<Self, InvalidStay> {
        if check_out_at <= check_in_at {
            return Err(InvalidStay::NotAfterCheckIn);
        }
        if check_out_at - check_in_at > Duration::days(Self::MAX_NIGHTS) {
            return Err(InvalidStay::TooLong);
        }
        Ok(Self { check_in_at, check_out_at })
    }

    /// A stay from local dates, with the property's local check-in and
    /// check-out times applied in its timezone. Each end gets its own UTC
    /// offset, so a stay across a daylight-saving change keeps its local
    /// times.
    pub fn from_local_dates(
        tz: Tz,
        check_in: NaiveDate,
        check_in_time: NaiveTime,
        check_out: NaiveDate,
        check_out_time: NaiveTime,
    ) -> Result<Self, InvalidStay> {
        Self::new(
            local_instant(tz, check_in.and_time(check_in_time)),
            local_instant(tz, check_out.and_time(check_out_time)),
        )
    }
}

/// The window a guest's code has on the lock: the stay widened by the
/// property's `code_valid_before_minutes` and `code_valid_after_minutes`
/// (SPEC §11). The times told to the guest stay the stay's own.
pub fn lock_window(
    check_in_at: DateTime<Utc>,
    check_out_at: DateTime<Utc>,
    before_minutes: i32,
    after_minutes: i32,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        check_in_at - Duration::minutes(i64::from(before_minutes.max(0))),
        check_out_at + Duration::minutes(i64::from(after_minutes.max(0))),
    )
}

/// The instant a wall-clock time in `tz` stands for. An ambiguous time (the
/// hour repeated when clocks go back) is its first occurrence; a time that
/// does not exist (skipped when clocks go forward) moves forward by the gap,
/// as a guest's watch would.
pub fn local_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    if let Some(instant) = tz.from_local_datetime(&local).earliest() {
        return instant.with_timezone(&Utc);
    }
    // A gap is at most a few hours: read the wall clock with the offset in
    // force just before it, which lands that far past the gap. At the ends
    // of chrono's calendar (a typed year such as +262142) the shifts would
    // overflow: such a time is read as UTC.
    (1..=24)
        .filter_map(|hours| local.checked_sub_signed(Duration::hours(hours)))
        .find_map(|earlier| tz.from_local_datetime(&earlier).earliest())
        .and_then(|before| local.checked_sub_offset(before.offset().fix()))
        .map(|utc| Utc.from_utc_datetime(&utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn time(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn stay_across_autumn_change_keeps_local_times() {
        let tz: Tz = "Europe/Bratislava".parse().unwrap();
        let stay =
            Stay::from_local_dates(tz, date(2026, 10, 24), time(15, 0), date(2026, 10, 27), time(11, 0)).unwrap();
        assert_eq!(stay.check_in_at.to_rfc3339(), "2026-10-24T13:00:00+00:00");
        assert_eq!(stay.check_out_at.to_rfc3339(), "2026-10-27T10:00:00+00:00");
    }

    #[test]
    fn skipped_local_time_moves_forward() {
        let tz: Tz = "Europe/Bratislava".parse().unwrap();
        // 2026-03-29 02:30 does not exist in Bratislava: it is 03:30 CEST.
        let instant = local_instant(tz, date(2026, 3, 29).and_time(time(2, 30)));
        assert_eq!(instant.to_rfc3339(), "2026-03-29T01:30:00+00:00");
    }

    #[test]
    fn repeated_local_time_is_its_first_occurrence() {
        let tz: Tz = "Europe/Bratislava".parse().unwrap();
        let instant = local_instant(tz, date(2026, 10, 25).and_time(time(2, 30)));
        assert_eq!(instant.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }

    #[test]
    fn dates_at_the_ends_of_the_calendar_do_not_panic() {
        // Found by the staff_command fuzz target: `/issue 1 +262142-12-31 13:00 0:00 x`
        // and `/issue 1 -262143-01-01 0:00 0:00 x` in a zone behind or ahead of UTC.
        for tz in chrono_tz::TZ_VARIANTS {
            for local in [
                NaiveDateTime::MAX,
                NaiveDate::MAX.and_time(time(13, 0)),
                NaiveDateTime::MIN,
                NaiveDate::MIN.and_time(time(12, 0)),
            ] {
                local_instant(tz, local);
            }
        }
    }

    #[test]
    fn check_out_must_follow_check_in_within_a_year() {
        let tz: Tz = "UTC".parse().unwrap();
        let same_day = Stay::from_local_dates(tz, date(2026, 5, 1), time(15, 0), date(2026, 5, 1), time(11, 0));
        assert_eq!(same_day, Err(InvalidStay::NotAfterCheckIn));
        let too_long = Stay::from_local_dates(tz, date(2026, 5, 1), time(15, 0), date(2027, 6, 1), time(11, 0));
        assert_eq!(too_long, Err(InvalidStay::TooLong));
    }
}
