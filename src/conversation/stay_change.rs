//! A guest asking to come earlier or leave later (SPEC §11): a small,
//! precise rule on top of the router. The router says `checkin_time` or
//! `checkout` (or is unsure); words for "earlier" or "later" in the eleven
//! languages make it a request. The guest is told the team was asked, the
//! property's managers get the command that approves it, and nothing
//! changes until one of them runs it: no model ever moves a stay.
//!
//! The words are folded (`model::fold`: lower case, no accents, punctuation
//! as spaces) and match whole words.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use super::model::fold;
use super::router::Intent;
use crate::access::timezone::Timezone;
use crate::access::windows::StayEdge;

/// "Earlier", "early", "sooner", per language.
const EARLIER: &[&str] = &[
    "early",
    "earlier",
    "sooner", // en
    "fruher",
    "fruh",
    "eher", // de
    "plus tot",
    "en avance",
    "tot", // fr
    "temprano",
    "antes", // es, pt
    "prima",
    "in anticipo", // it
    "skor",
    "skorej",
    "skorsie",
    "skoro", // sk
    "driv",
    "drivejsi",
    "brzy", // cs
    "wczesniej",
    "wczesnie", // pl
    "mais cedo",
    "cedo", // pt
    "eerder",
    "vroeger",
    "vroeg",  // nl
    "mapema", // sw
];

/// "Later", "late", "longer", per language.
const LATER: &[&str] = &[
    "late",
    "later",
    "longer", // en, nl
    "spater",
    "spat",
    "langer", // de, nl
    "plus tard",
    "tard",
    "tardif", // fr
    "mas tarde",
    "tarde", // es, pt
    "piu tardi",
    "tardi", // it
    "neskor",
    "neskorej",
    "neskorsie",
    "dlhsie", // sk
    "pozdeji",
    "pozde",
    "dele", // cs
    "pozniej",
    "dluzej",     // pl
    "mais tarde", // pt
    "baadaye",
    "kuchelewa", // sw
];

/// Arriving, for a message the router left unsure.
const ARRIVING: &[&str] = &[
    "check in",
    "checkin",
    "arrive",
    "arrival",
    "come", // en
    "anreise",
    "ankommen",
    "ankunft",
    "einchecken", // de
    "arriver",
    "arrivee",
    "arrivons", // fr
    "llegar",
    "llegada",
    "entrada", // es, pt
    "arrivare",
    "arrivo", // it
    "prist",
    "prichod",
    "prijst",
    "prijezd",
    "prijet", // sk, cs
    "przyjazd",
    "przyjechac",
    "zameldowanie", // pl
    "chegar",
    "chegada", // pt
    "aankomst",
    "aankomen",
    "inchecken", // nl
    "kufika",
    "kuingia", // sw
];

/// Leaving or staying on, for a message the router left unsure.
const LEAVING: &[&str] = &[
    "check out",
    "checkout",
    "leave",
    "stay",
    "departure", // en
    "abreise",
    "auschecken",
    "abfahren",
    "bleiben", // de
    "partir",
    "depart",
    "rester", // fr
    "salir",
    "salida",
    "quedarnos",
    "quedarnos", // es
    "partire",
    "partenza",
    "restare", // it
    "odist",
    "odchod",
    "odjezd",
    "zostat",
    "zustat", // sk, cs
    "wyjazd",
    "wymeldowanie",
    "zostac", // pl
    "sair",
    "saida",
    "ficar", // pt
    "vertrek",
    "vertrekken",
    "uitchecken",
    "blijven", // nl
    "kuondoka",
    "kukaa", // sw
];

/// Which end of the stay the guest asks to move, if the message asks.
pub fn asks_to_move(intent: Intent, body: &str) -> Option<StayEdge> {
    let folded = format!(" {} ", fold(body));
    let has = |words: &[&str]| words.iter().any(|w| folded.contains(&format!(" {w} ")));
    let (earlier, later) = (has(EARLIER), has(LATER));
    match intent {
        Intent::CheckinTime if earlier => Some(StayEdge::CheckIn),
        Intent::Checkout if later => Some(StayEdge::CheckOut),
        Intent::Unknown | Intent::CheckinTime | Intent::Checkout if earlier && has(ARRIVING) => Some(StayEdge::CheckIn),
        Intent::Unknown | Intent::CheckinTime | Intent::Checkout if later && has(LEAVING) => Some(StayEdge::CheckOut),
        _ => None,
    }
}

/// The local time the guest named (`12:00`, `12.30`, `14h`, `2pm`), if any.
pub fn time_named(body: &str) -> Option<NaiveTime> {
    let words: Vec<String> =
        body.split_whitespace().map(|w| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_lowercase()).collect();
    words.iter().enumerate().find_map(|(i, word)| {
        let next = words.get(i + 1).map(String::as_str).unwrap_or_default();
        clock_time(word).or_else(|| meridiem(word, next))
    })
}

/// `12:00`, `12.30`, `14h`, `14h30`, `14uhr`.
fn clock_time(word: &str) -> Option<NaiveTime> {
    for separator in [':', '.', 'h'] {
        if let Some((hour, minute)) = word.split_once(separator) {
            let minute = if minute.is_empty() || minute == "uhr" { "00" } else { minute };
            if hour.len() <= 2 && minute.len() == 2 {
                return NaiveTime::from_hms_opt(hour.parse().ok()?, minute.parse().ok()?, 0);
            }
        }
    }
    let hour = word.strip_suffix("uhr")?;
    NaiveTime::from_hms_opt(hour.parse().ok()?, 0, 0)
}

/// `2pm`, `2 pm`, `11am`.
fn meridiem(word: &str, next: &str) -> Option<NaiveTime> {
    let (hour, half) = match (word.strip_suffix("pm"), word.strip_suffix("am")) {
        (Some(hour), _) => (hour, 12),
        (_, Some(hour)) => (hour, 0),
        _ if next == "pm" => (word, 12),
        _ if next == "am" => (word, 0),
        _ => return None,
    };
    let hour: u32 = hour.parse().ok().filter(|h| (1..=12).contains(h))?;
    NaiveTime::from_hms_opt(hour % 12 + half, 0, 0)
}

/// The command that approves the request: the time the guest named, else a
/// suggestion (three hours earlier, or later) for staff to change.
pub fn approving_command(
    edge: StayEdge,
    room: &str,
    current: DateTime<Utc>,
    timezone: Timezone,
    named: Option<NaiveTime>,
) -> String {
    let suggested = match edge {
        StayEdge::CheckIn => current - Duration::hours(3),
        StayEdge::CheckOut => current + Duration::hours(3),
    };
    let time = named.unwrap_or_else(|| suggested.with_timezone(&timezone.tz()).time());
    let name = if edge == StayEdge::CheckIn { "early" } else { "late" };
    format!("/{name} room {room} {}", time.format("%H:%M"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_and_late_requests_in_the_eleven_languages() {
        for (intent, text) in [
            (Intent::CheckinTime, "Can we check in earlier?"),
            (Intent::CheckinTime, "Können wir früher einchecken?"),
            (Intent::CheckinTime, "Pouvons-nous arriver plus tôt ?"),
            (Intent::CheckinTime, "¿Podemos hacer el check-in antes?"),
            (Intent::CheckinTime, "Possiamo fare il check-in prima?"),
            (Intent::CheckinTime, "Môžeme prísť skôr?"),
            (Intent::CheckinTime, "Můžeme přijet dřív?"),
            (Intent::CheckinTime, "Czy możemy przyjechać wcześniej?"),
            (Intent::CheckinTime, "Podemos fazer check-in mais cedo?"),
            (Intent::CheckinTime, "Kunnen we eerder inchecken?"),
            (Intent::CheckinTime, "Tunaweza kufika mapema?"),
            (Intent::Unknown, "We land at 9, could we arrive early?"),
        ] {
            assert_eq!(asks_to_move(intent, text), Some(StayEdge::CheckIn), "{text}");
        }
        for (intent, text) in [
            (Intent::Checkout, "Could we have a late check-out?"),
            (Intent::Checkout, "Können wir später auschecken?"),
            (Intent::Checkout, "Pouvons-nous partir plus tard ?"),
            (Intent::Checkout, "¿Podemos salir más tarde?"),
            (Intent::Checkout, "Possiamo partire più tardi?"),
            (Intent::Checkout, "Môžeme odísť neskôr?"),
            (Intent::Checkout, "Můžeme odjet později?"),
            (Intent::Checkout, "Czy możemy wymeldować się później?"),
            (Intent::Checkout, "Podemos sair mais tarde?"),
            (Intent::Checkout, "Kunnen we later uitchecken?"),
            (Intent::Checkout, "Tunaweza kuondoka baadaye?"),
            (Intent::Unknown, "is it possible to stay longer on sunday"),
        ] {
            assert_eq!(asks_to_move(intent, text), Some(StayEdge::CheckOut), "{text}");
        }
    }

    #[test]
    fn questions_about_the_times_are_not_requests() {
        for (intent, text) in [
            (Intent::CheckinTime, "What time is check-in?"),
            (Intent::Checkout, "When do we have to leave?"),
            (Intent::Checkout, "Wann ist der Check-out?"),
            (Intent::Wifi, "the wifi is late to connect"),
            (Intent::Unknown, "the heating is late"),
            (Intent::Access, "can I get the code earlier"),
        ] {
            assert_eq!(asks_to_move(intent, text), None, "{text}");
        }
    }

    #[test]
    fn a_named_time_is_read_in_the_usual_ways() {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(time_named("could we leave at 14:00?"), at(14, 0));
        assert_eq!(time_named("bis 13.30 bleiben"), at(13, 30));
        assert_eq!(time_named("vers 14h"), at(14, 0));
        assert_eq!(time_named("um 12 Uhr"), None, "a bare hour before a word is not read");
        assert_eq!(time_named("um 12uhr"), at(12, 0));
        assert_eq!(time_named("around 2pm"), at(14, 0));
        assert_eq!(time_named("around 11 am"), at(11, 0));
        assert_eq!(time_named("can we come earlier"), None);
        assert_eq!(time_named("at 25:00"), None);
    }

    #[test]
    fn the_command_names_the_room_and_the_time() {
        let tz = Timezone::parse("Europe/Bratislava").unwrap();
        let out: DateTime<Utc> = "2026-12-06T10:00:00Z".parse().unwrap();
        let named = NaiveTime::from_hms_opt(14, 0, 0);
        assert_eq!(approving_command(StayEdge::CheckOut, "101", out, tz, named), "/late room 101 14:00");
        assert_eq!(approving_command(StayEdge::CheckOut, "101", out, tz, None), "/late room 101 14:00");
        let check_in: DateTime<Utc> = "2026-12-04T14:00:00Z".parse().unwrap();
        assert_eq!(approving_command(StayEdge::CheckIn, "7", check_in, tz, None), "/early room 7 12:00");
    }
}
