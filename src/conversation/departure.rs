//! A guest who says they have left (SPEC §11), during the last days of
//! their stay: asked to confirm, in their language; on yes their code stops
//! working 15 minutes later, exactly as staff's `/checkout`
//! (`access::windows::record_departure`: staff are told, the turnover can
//! start). A no, or anything else, leaves everything as it was; access is
//! never ended without the guest's yes.
//!
//! Like the early and late requests (`stay_change`), the phrases are folded
//! (`model::fold`: lower case, no accents, punctuation as spaces) and match
//! whole words.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

use super::catalog::{self, text};
use super::guest::{BookingContext, GuestContext};
use super::model::fold;
use crate::access::audit::Actor;
use crate::access::model::BookingStatus;
use crate::access::windows;
use crate::channels::{InboundMessage, Outgoing};
use crate::jobs::JobError;

/// "We have left", per language.
const LEFT: &[&str] = &[
    "we have left",
    "we ve left",
    "we left the apartment",
    "we left the flat",
    "we have checked out",
    "we ve checked out",
    "we checked out",
    "we are gone",
    "we re gone",
    "we just left",
    "just checked out", // en
    "wir sind abgereist",
    "wir sind weg",
    "wir haben ausgecheckt",
    "wir sind ausgecheckt", // de
    "nous sommes partis",
    "nous avons quitte",
    "on est partis", // fr
    "ya nos fuimos",
    "hemos salido",
    "hemos dejado el apartamento",
    "nos hemos ido", // es
    "siamo partiti",
    "abbiamo lasciato l appartamento", // it
    "odisli sme",
    "uz sme odisli",
    "odcestovali sme", // sk
    "odjeli jsme",
    "uz jsme odjeli",
    "odesli jsme", // cs
    "wyjechalismy",
    "juz wyjechalismy",
    "wymeldowalismy sie", // pl
    "ja saimos",
    "nos saimos",
    "fizemos check out", // pt
    "we zijn vertrokken",
    "we zijn weg",
    "wij zijn vertrokken", // nl
    "tumeondoka",
    "tumeshaondoka", // sw
];

/// Words of someone who forgot something or still is there: never a
/// departure.
const NOT_GONE: &[&str] = &[
    "forgot",
    "forgotten",
    "left my",
    "left our",
    "left a",
    "left something",
    "not yet",
    "vergessen",
    "oublie",
    "olvidado",
    "olvidamos",
    "dimenticato",
    "zabudli",
    "zapomneli",
    "zapomnielismy",
    "esquecemos",
    "vergeten",
    "tumesahau",
];

/// A yes, per language (the first word of the answer).
const YES: &[&str] =
    &["yes", "y", "yeah", "yep", "confirm", "ja", "oui", "si", "ano", "tak", "sim", "ndiyo", "ndio", "jo"];

/// A no, per language (the first word of the answer).
const NO: &[&str] = &["no", "nope", "nein", "non", "nie", "ne", "nao", "nee", "hapana", "not"];

/// How close to check-out "we have left" is read as a departure.
pub const LAST_DAYS: Duration = Duration::hours(48);

/// Whether the message says the guest has left.
pub fn says_left(body: &str) -> bool {
    let folded = format!(" {} ", fold(body));
    let has = |words: &[&str]| words.iter().any(|w| folded.contains(&format!(" {w} ")));
    has(LEFT) && !has(NOT_GONE)
}

/// A yes (`Some(true)`), a no (`Some(false)`), or neither.
fn answer_of(body: &str) -> Option<bool> {
    let folded = fold(body);
    let first = folded.split_whitespace().next()?;
    match (YES.contains(&first), NO.contains(&first)) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// Whether the stay is in progress and ends within [`LAST_DAYS`].
pub fn in_last_days(b: &BookingContext, now: DateTime<Utc>) -> bool {
    b.status == BookingStatus::Confirmed
        && b.check_in_at <= now
        && now < b.check_out_at
        && b.check_out_at - now <= LAST_DAYS
}

/// "We have left" in the stay's last days: the question, in `language`;
/// nothing changes.
pub async fn ask(tx: &mut PgConnection, b: &BookingContext, language: &str) -> Result<String, JobError> {
    windows::ask_departure(tx, b.id, language, Utc::now()).await?;
    Ok(text(language, "departure_ask", &[]))
}

/// The guest's answer to the departure question, if one is open: a yes
/// ends their access 15 minutes later, a no keeps it (both answered); any
/// other message drops the question and is answered as usual (`None`).
pub async fn answer_pending(
    tx: &mut PgConnection,
    message: &InboundMessage,
    guest: &GuestContext,
    body: &str,
) -> Result<Option<Vec<Outgoing>>, JobError> {
    let Some(b) = guest.booking.as_ref() else { return Ok(None) };
    let now = Utc::now();
    let Some(language) = windows::take_departure_question(tx, b.id, now).await? else {
        return Ok(None);
    };
    let language = catalog::pick(&[Some(language.as_str())]);
    let say = |body: String| Outgoing { language: language.to_owned(), ..super::reply(message, body) };
    match answer_of(body) {
        Some(true) => match windows::record_departure(tx, b.id, Actor::Guest(guest.guest_id), now).await? {
            Ok(moved) => {
                let until = catalog::local_time(language, moved.check_out_at.with_timezone(&b.timezone.tz()));
                Ok(Some(vec![say(text(language, "departure_confirmed", &[("time", &until)]))]))
            }
            Err(_) => Ok(None),
        },
        Some(false) => Ok(Some(vec![say(text(language, "departure_kept", &[]))])),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn departures_in_the_eleven_languages() {
        for text in [
            "We have left, thanks for everything!",
            "we checked out, bye",
            "Wir sind abgereist, danke!",
            "Nous sommes partis, merci",
            "Ya nos fuimos, gracias",
            "Siamo partiti",
            "Už sme odišli, ďakujeme",
            "Odjeli jsme",
            "Wyjechaliśmy, dziękujemy",
            "Já saímos",
            "We zijn vertrokken",
            "Tumeondoka, asante",
        ] {
            assert!(says_left(text), "{text}");
        }
    }

    #[test]
    fn forgetting_something_or_asking_is_not_leaving() {
        for text in [
            "We have left my charger in the room",
            "we forgot a jacket, we have left already",
            "When do we have to leave?",
            "we left",
            "Can we check out later?",
            "not yet, we have left the keys on the table later",
        ] {
            assert!(!says_left(text), "{text}");
        }
    }

    #[test]
    fn yes_and_no_in_several_languages() {
        for yes in ["Yes", "yes!", "Ja, danke", "Oui", "Sí", "Áno", "ano", "Tak", "Sim", "Ndiyo"] {
            assert_eq!(answer_of(yes), Some(true), "{yes}");
        }
        for no in ["No", "nope", "Nein", "Non", "Nie", "ne", "Não", "Nee", "Hapana", "not yet"] {
            assert_eq!(answer_of(no), Some(false), "{no}");
        }
        for other in ["what is the wifi?", "", "maybe"] {
            assert_eq!(answer_of(other), None, "{other}");
        }
    }
}
