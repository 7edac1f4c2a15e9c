//! Quiet hours (SPEC §11): a message due inside them waits for their end,
//! except one about getting in within three hours of check-in.

use std::fmt;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// How close to check-in a message about getting in goes even in quiet hours.
pub const GETTING_IN_WINDOW: Duration = Duration::hours(3);

/// A daily window in the property's local time, `21:00-08:00` by default;
/// one whose start is after its end runs across midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// When it begins.
    pub start: NaiveTime,
    /// When it ends (not included).
    pub end: NaiveTime,
}

impl QuietHours {
    /// What a property gets unless it says otherwise.
    pub const DEFAULT: &'static str = "21:00-08:00";

    /// Parses `HH:MM-HH:MM` (two different times).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = || format!("{raw:?} is not HH:MM-HH:MM, such as \"{}\"", Self::DEFAULT);
        let (start, end) = raw.trim().split_once('-').ok_or_else(bad)?;
        let time = |s: &str| {
            let s = s.trim();
            (s.len() == 5).then(|| NaiveTime::parse_from_str(s, "%H:%M").ok()).flatten().ok_or_else(bad)
        };
        let (start, end) = (time(start)?, time(end)?);
        if start == end {
            return Err(format!("{raw:?}: the start and the end are the same time"));
        }
        Ok(Self { start, end })
    }

    /// Whether the local time `time` is inside.
    pub fn contains(self, time: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// When a message due at `due` may go: `due` itself outside quiet hours,
    /// else their end (the next local `end` after `due`).
    pub fn release(self, due: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let local = due.with_timezone(&tz);
        if !self.contains(local.time()) {
            return due;
        }
        let mut day = local.date_naive();
        if local.time() >= self.end {
            day = day.succ_opt().unwrap_or(day);
        }
        // A DST gap at the end time: the first instant after it.
        let end = day.and_time(self.end);
        tz.from_local_datetime(&end)
            .earliest()
            .or_else(|| tz.from_local_datetime(&(end + Duration::hours(1))).earliest())
            .map_or(due, |at| at.with_timezone(&Utc))
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start.format("%H:%M"), self.end.format("%H:%M"))
    }
}

/// When a message due at `due` goes, given the property's quiet hours (none:
/// at once) and whether it is about getting in for a check-in at `check_in`.
pub fn send_at(
    due: DateTime<Utc>,
    quiet: Option<QuietHours>,
    tz: Tz,
    about_getting_in: bool,
    check_in: DateTime<Utc>,
) -> DateTime<Utc> {
    let Some(quiet) = quiet else { return due };
    if about_getting_in && (due - check_in).abs() <= GETTING_IN_WINDOW {
        return due;
    }
    quiet.release(due, tz)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(tz: Tz, local: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        tz.from_local_datetime(&naive).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_late_message_waits_for_the_morning() {
        let tz: Tz = "Europe/Bratislava".parse().unwrap();
        let quiet = QuietHours::parse("21:00-08:00").unwrap();
        let check_in = at(tz, "2026-12-20 15:00");
        assert_eq!(send_at(at(tz, "2026-12-18 23:00"), Some(quiet), tz, false, check_in), at(tz, "2026-12-19 08:00"));
        assert_eq!(send_at(at(tz, "2026-12-19 06:30"), Some(quiet), tz, false, check_in), at(tz, "2026-12-19 08:00"));
        assert_eq!(send_at(at(tz, "2026-12-19 08:00"), Some(quiet), tz, false, check_in), at(tz, "2026-12-19 08:00"));
        assert_eq!(send_at(at(tz, "2026-12-19 20:59"), Some(quiet), tz, false, check_in), at(tz, "2026-12-19 20:59"));
        assert_eq!(send_at(at(tz, "2026-12-18 23:00"), None, tz, false, check_in), at(tz, "2026-12-18 23:00"));
    }

    #[test]
    fn getting_in_close_to_check_in_is_not_held() {
        let tz: Tz = "Europe/Bratislava".parse().unwrap();
        let quiet = QuietHours::parse("21:00-08:00").unwrap();
        let check_in = at(tz, "2026-12-18 23:30");
        let due = at(tz, "2026-12-18 22:00");
        assert_eq!(send_at(due, Some(quiet), tz, true, check_in), due);
        assert_eq!(send_at(due, Some(quiet), tz, false, check_in), at(tz, "2026-12-19 08:00"));
        let day_before = at(tz, "2026-12-17 23:30");
        assert_eq!(send_at(day_before, Some(quiet), tz, true, check_in), at(tz, "2026-12-18 08:00"));
    }

    #[test]
    fn a_daytime_window_and_bad_input() {
        let quiet = QuietHours::parse("13:00-15:00").unwrap();
        assert!(quiet.contains(NaiveTime::from_hms_opt(14, 0, 0).unwrap()));
        assert!(!quiet.contains(NaiveTime::from_hms_opt(15, 0, 0).unwrap()));
        assert!(QuietHours::parse("8:00-9:00").is_err());
        assert!(QuietHours::parse("08:00-08:00").is_err());
        assert!(QuietHours::parse("25:00-08:00").is_err());
        assert_eq!(quiet.to_string(), "13:00-15:00");
    }
}
