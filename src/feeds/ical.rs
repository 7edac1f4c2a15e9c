//! Reading an OTA calendar (iCalendar, RFC 5545, parsed by the `icalendar`
//! crate) into the stays it shows. Pure: no database, no network.
//!
//! What real feeds look like (`../shared/reviews/operators.md` §5):
//! Airbnb writes `SUMMARY:Reserved` with the reservation URL (its `HM…`
//! confirmation code) and the guest's last four phone digits in the
//! description, and `Airbnb (Not available)` for blocks; Booking.com writes
//! `CLOSED - <guest name>` or `CLOSED - Not available`; VRBO bare events or
//! `Blocked`. Some channel managers emit one stay several times.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use icalendar::{CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, EventStatus};
use regex::Regex;
use sha2::{Digest, Sha256};

use crate::access::bookings::{BookingRef, StayInput};
use crate::access::feeds::ImportedStay;
use crate::access::model::FeedSource;
use crate::access::stay::{local_instant, Stay};

/// Why a feed's body is not a calendar doorman can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// Not iCalendar at all (an HTML error page served with status 200).
    #[error("the feed is not an iCalendar file")]
    NotICalendar,
    /// iCalendar that does not parse.
    #[error("the feed does not parse: {0}")]
    Unparseable(String),
}

/// The stays a feed shows, and how many of its events are not stays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedFeed {
    /// One per stay, however many times the feed repeats it.
    pub stays: Vec<ImportedStay>,
    /// Blocks, cancelled and past events, events without usable dates.
    pub skipped: usize,
}

/// Reads a feed's body; all-day dates are kept as dates (the property's
/// check-in and check-out times apply later), timed events become instants
/// (`TZID` honoured; floating times are the property's `tz`). Stays that
/// ended before `now` are skipped.
pub fn parse_feed(body: &str, source: FeedSource, tz: Tz, now: DateTime<Utc>) -> Result<ParsedFeed, FeedError> {
    if !body.trim_start_matches('\u{feff}').trim_start().to_ascii_uppercase().starts_with("BEGIN:VCALENDAR") {
        return Err(FeedError::NotICalendar);
    }
    let calendar: icalendar::Calendar = body.parse().map_err(FeedError::Unparseable)?;
    let mut skipped = 0;
    let mut by_dates: BTreeMap<(i64, i64), Vec<Event>> = BTreeMap::new();
    for component in &calendar.components {
        let CalendarComponent::Event(event) = component else {
            continue;
        };
        match read_event(event, source, tz) {
            Some(read) if read.ends_after(now, tz) => by_dates.entry(read.key(tz)).or_default().push(read),
            _ => skipped += 1,
        }
    }
    let stays = by_dates.into_values().map(fold).collect();
    Ok(ParsedFeed { stays, skipped })
}

/// One event that is a stay.
#[derive(Debug, Clone)]
struct Event {
    uid: String,
    airbnb_code: Option<String>,
    guest: Option<String>,
    phone_last4: Option<String>,
    stay: StayInput,
}

impl Event {
    /// The stay's instants, for ordering and folding (dates at midnight).
    fn bounds(&self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        match self.stay {
            StayInput::Instants(stay) => (stay.check_in_at, stay.check_out_at),
            StayInput::LocalDates { check_in, check_out } => {
                (local_instant(tz, check_in.into()), local_instant(tz, check_out.into()))
            }
        }
    }

    fn key(&self, tz: Tz) -> (i64, i64) {
        let (start, end) = self.bounds(tz);
        (start.timestamp(), end.timestamp())
    }

    /// A stay that ends on `now`'s day or later (its check-out time is not
    /// known here, so a date counts until the day is over).
    fn ends_after(&self, now: DateTime<Utc>, tz: Tz) -> bool {
        match self.stay {
            StayInput::Instants(stay) => stay.check_out_at > now,
            StayInput::LocalDates { check_out, .. } => check_out >= now.with_timezone(&tz).date_naive(),
        }
    }
}

/// The same stay shown several times is one: its identity is the smallest
/// `UID` of the group (stable however the feed orders them), the rest is
/// whatever any of them says.
fn fold(group: Vec<Event>) -> ImportedStay {
    let uid = group.iter().map(|e| e.uid.clone()).min().unwrap_or_default();
    let airbnb_code = group.iter().find_map(|e| e.airbnb_code.clone());
    let guest = group.iter().find_map(|e| e.guest.clone());
    let phone_last4 = group.iter().find_map(|e| e.phone_last4.clone());
    let stay = group[0].stay;
    let reference = airbnb_code.and_then(|c| BookingRef::parse(&c).ok()).unwrap_or_else(|| uid_reference(&uid));
    let fingerprint = fingerprint(&[&reference.as_str(), &guest, &phone_last4, &format!("{stay:?}")]);
    ImportedStay { uid, reference, guest, phone_last4, stay, fingerprint }
}

/// `ical-` and the `UID`, made a valid reference (at most 64 printable
/// characters, no `/ ? #`); a longer one is shortened with a hash.
fn uid_reference(uid: &str) -> BookingRef {
    let clean: String = uid.chars().map(|c| if c.is_ascii_graphic() && !"/?#".contains(c) { c } else { '-' }).collect();
    let candidate = format!("ical-{clean}");
    let reference = if candidate.len() <= 64 { candidate } else { format!("ical-{}", &fingerprint(&[&uid])[..32]) };
    BookingRef::parse(&reference).unwrap_or_else(|_| {
        BookingRef::parse(&format!("ical-{}", &fingerprint(&[&uid])[..32])).expect("hex is a valid reference")
    })
}

fn fingerprint(parts: &[&dyn std::fmt::Debug]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(format!("{part:?}\u{1f}").as_bytes());
    }
    hex::encode(hash.finalize())
}

/// Words that mark a block, not a stay.
fn is_block(summary: &str) -> bool {
    let lower = summary.to_lowercase();
    ["not available", "unavailable", "blocked", "closed period"].iter().any(|w| lower.contains(w))
}

static AIRBNB_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"reservations/details/([A-Z0-9]{6,20})").expect("a valid pattern"));
static LAST_FOUR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)last\s*4\s*digits\)?\s*:\s*([0-9]{4})\b").expect("a valid pattern"));

fn read_event(event: &icalendar::Event, source: FeedSource, tz: Tz) -> Option<Event> {
    if event.get_status() == Some(EventStatus::Cancelled) {
        return None;
    }
    let summary = event.get_summary().unwrap_or_default().trim();
    if is_block(summary) {
        return None;
    }
    let uid = event.get_uid()?.trim().to_owned();
    let description = event.get_description().unwrap_or_default();
    let stay = read_stay(event.get_start()?, event.get_end()?, tz)?;
    Some(Event {
        airbnb_code: AIRBNB_CODE.captures(description).map(|c| c[1].to_owned()),
        phone_last4: LAST_FOUR.captures(description).map(|c| c[1].to_owned()),
        guest: guest_name(summary, source),
        uid,
        stay,
    })
}

/// The guest's name where the feed gives one: `CLOSED - Jane Doe`,
/// `Reserved - Jane`; never the placeholder words themselves.
fn guest_name(summary: &str, source: FeedSource) -> Option<String> {
    let name = match source {
        FeedSource::Booking => summary.strip_prefix("CLOSED - ").unwrap_or(summary),
        _ => summary.split_once(" - ").map_or(summary, |(_, name)| name),
    }
    .trim();
    let placeholder = ["reserved", "booked", "reservation", "closed", "airbnb", "booking", ""];
    (!placeholder.contains(&name.to_lowercase().as_str()) && name.chars().count() <= 100).then(|| name.to_owned())
}

fn read_stay(start: DatePerhapsTime, end: DatePerhapsTime, tz: Tz) -> Option<StayInput> {
    match (start, end) {
        (DatePerhapsTime::Date(check_in), DatePerhapsTime::Date(check_out)) => {
            (check_out > check_in).then_some(StayInput::LocalDates { check_in, check_out })
        }
        (start, end) => {
            let stay = Stay::new(instant(start, tz), instant(end, tz)).ok()?;
            Some(StayInput::Instants(stay))
        }
    }
}

/// A `DTSTART`/`DTEND` as an instant: UTC as is, a `TZID` in that zone
/// (an unknown `TZID`, or a floating time, in the property's).
fn instant(value: DatePerhapsTime, tz: Tz) -> DateTime<Utc> {
    let local = |naive: NaiveDateTime, zone: Tz| local_instant(zone, naive);
    match value {
        DatePerhapsTime::Date(date) => local(midnight(date), tz),
        DatePerhapsTime::DateTime(CalendarDateTime::Utc(at)) => at,
        DatePerhapsTime::DateTime(CalendarDateTime::Floating(naive)) => local(naive, tz),
        DatePerhapsTime::DateTime(CalendarDateTime::WithTimezone { date_time, tzid }) => {
            local(date_time, tzid.trim_matches('"').parse::<Tz>().unwrap_or(tz))
        }
    }
}

fn midnight(date: NaiveDate) -> NaiveDateTime {
    date.into()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    const BRATISLAVA: Tz = chrono_tz::Europe::Bratislava;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap()
    }

    fn calendar(events: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{events}END:VCALENDAR\r\n")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    const AIRBNB: &str = "BEGIN:VEVENT\r\nDTEND;VALUE=DATE:20261208\r\nDTSTART;VALUE=DATE:20261205\r\n\
UID:1418fb94e984-c6ef2cf6b0e0edcbd3eca0ea3af5dcd0@airbnb.com\r\n\
DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/details/HMABCD1234\\nPhone Number (Last 4 Digits): 4048\r\n\
SUMMARY:Reserved\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nDTEND;VALUE=DATE:20270301\r\nDTSTART;VALUE=DATE:20261220\r\nUID:7f662ec65913-ff@airbnb.com\r\nSUMMARY:Airbnb (Not available)\r\nEND:VEVENT\r\n";

    /// Airbnb's stay: its confirmation code is the reference, the last four
    /// digits are kept, the dates stay dates; its block is skipped.
    #[test]
    fn an_airbnb_feed_gives_the_confirmation_code_and_the_last_four_digits() {
        let parsed = parse_feed(&calendar(AIRBNB), FeedSource::Airbnb, BRATISLAVA, now()).unwrap();
        assert_eq!(parsed.skipped, 1);
        let [stay] = parsed.stays.as_slice() else { panic!("{parsed:?}") };
        assert_eq!(stay.reference.as_str(), "HMABCD1234");
        assert_eq!(stay.phone_last4.as_deref(), Some("4048"));
        assert_eq!(stay.guest, None);
        assert!(matches!(stay.stay, StayInput::LocalDates { check_in, check_out }
            if check_in == date(2026, 12, 5) && check_out == date(2026, 12, 8)));
    }

    /// Booking.com: the guest's name from `CLOSED - …`; no code in the
    /// feed, so the reference is `ical-` and the UID.
    #[test]
    fn a_booking_com_feed_gives_the_guests_name() {
        let events = "BEGIN:VEVENT\r\nUID:2a8b1c@booking.com\r\nDTSTART;VALUE=DATE:20261210\r\nDTEND;VALUE=DATE:20261212\r\nSUMMARY:CLOSED - Jana Nováková\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:2a8b1d@booking.com\r\nDTSTART;VALUE=DATE:20261213\r\nDTEND;VALUE=DATE:20261214\r\nSUMMARY:CLOSED - Not available\r\nEND:VEVENT\r\n";
        let parsed = parse_feed(&calendar(events), FeedSource::Booking, BRATISLAVA, now()).unwrap();
        assert_eq!(parsed.skipped, 1);
        assert_eq!(parsed.stays[0].guest.as_deref(), Some("Jana Nováková"));
        assert_eq!(parsed.stays[0].reference.as_str(), "ical-2a8b1c@booking.com");
    }

    /// A stay a channel manager emits three times is one stay, whatever
    /// order the copies come in.
    #[test]
    fn a_stay_emitted_three_times_is_one() {
        let copy = |uid: &str, summary: &str| {
            format!("BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTART;VALUE=DATE:20261210\r\nDTEND;VALUE=DATE:20261212\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n")
        };
        let one = calendar(&[copy("b", "Reserved"), copy("a", "Reserved - Eva"), copy("c", "Reserved")].concat());
        let other = calendar(&[copy("c", "Reserved"), copy("b", "Reserved"), copy("a", "Reserved - Eva")].concat());
        let first = parse_feed(&one, FeedSource::Other, BRATISLAVA, now()).unwrap();
        let second = parse_feed(&other, FeedSource::Other, BRATISLAVA, now()).unwrap();
        assert_eq!(first.stays.len(), 1);
        assert_eq!(first.stays, second.stays);
        assert_eq!(first.stays[0].uid, "a");
        assert_eq!(first.stays[0].guest.as_deref(), Some("Eva"));
    }

    /// A timed event keeps its time, in its `TZID`, across a daylight
    /// saving change; a UTC one is UTC.
    #[test]
    fn timed_events_keep_their_time_and_zone() {
        let events = "BEGIN:VEVENT\r\nUID:t1\r\nDTSTART;TZID=America/New_York:20270313T160000\r\nDTEND;TZID=America/New_York:20270315T100000\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:t2\r\nDTSTART:20261215T140000Z\r\nDTEND:20261216T090000Z\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n";
        let parsed = parse_feed(&calendar(events), FeedSource::Other, BRATISLAVA, now()).unwrap();
        let instants: Vec<(DateTime<Utc>, DateTime<Utc>)> = parsed
            .stays
            .iter()
            .map(|s| match s.stay {
                StayInput::Instants(stay) => (stay.check_in_at, stay.check_out_at),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(instants.contains(&(
            Utc.with_ymd_and_hms(2026, 12, 15, 14, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 12, 16, 9, 0, 0).unwrap()
        )));
        // 16:00 EST (UTC-5) in, and 10:00 EDT (UTC-4) out: the clocks went
        // forward on 14 March 2027.
        assert!(instants.contains(&(
            Utc.with_ymd_and_hms(2027, 3, 13, 21, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2027, 3, 15, 14, 0, 0).unwrap()
        )));
    }

    /// What is not a calendar is refused as such, never read as empty.
    #[test]
    fn an_html_page_or_garbage_is_not_a_calendar() {
        let html = "<!DOCTYPE html><html><body>Something went wrong</body></html>";
        assert_eq!(parse_feed(html, FeedSource::Airbnb, BRATISLAVA, now()), Err(FeedError::NotICalendar));
        assert!(parse_feed("", FeedSource::Airbnb, BRATISLAVA, now()).is_err());
        let broken = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:2026\r\n";
        assert!(parse_feed(broken, FeedSource::Airbnb, BRATISLAVA, now()).map_or(true, |p| p.stays.is_empty()));
    }

    /// Past stays, cancelled events and events without an end are skipped.
    #[test]
    fn past_cancelled_and_incomplete_events_are_skipped() {
        let events = "BEGIN:VEVENT\r\nUID:p\r\nDTSTART;VALUE=DATE:20261101\r\nDTEND;VALUE=DATE:20261103\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:c\r\nSTATUS:CANCELLED\r\nDTSTART;VALUE=DATE:20261210\r\nDTEND;VALUE=DATE:20261212\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:n\r\nDTSTART;VALUE=DATE:20261210\r\nSUMMARY:Reserved\r\nEND:VEVENT\r\n";
        let parsed = parse_feed(&calendar(events), FeedSource::Vrbo, BRATISLAVA, now()).unwrap();
        assert!(parsed.stays.is_empty());
        assert_eq!(parsed.skipped, 3);
    }

    /// A UID of any length or alphabet still gives a valid reference.
    #[test]
    fn any_uid_gives_a_valid_reference() {
        assert_eq!(uid_reference("abc@vrbo.com").as_str(), "ical-abc@vrbo.com");
        assert_eq!(uid_reference("a b/c").as_str(), "ical-a-b-c");
        let long = uid_reference(&"x".repeat(200));
        assert!(long.as_str().len() <= 64 && long.as_str().starts_with("ical-"));
        assert_ne!(uid_reference(&"x".repeat(200)), uid_reference(&"y".repeat(200)));
    }
}
