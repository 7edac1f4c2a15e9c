//! A stranger claims a stay in chat (SPEC §9): "hi, my booking is
//! HMABCD1234, phone ends 4048", in any language. The message is not parsed
//! as a sentence: [`parse`] picks the tokens that look like a booking
//! reference, the groups of four digits and the words that could be a
//! surname; `access::claims` decides. A wrong claim gets the reply any
//! stranger gets; after five in a day, nothing.

use chrono::Utc;
use sqlx::PgConnection;

use super::{catalog, reply, router, staff};
use crate::access::claims::{self, Claim, ClaimOutcome, Claimant};
use crate::access::jobs::PreArrival;
use crate::access::links::ContactKind;
use crate::channels::{inbox, Channel, InboundMessage, Outgoing};
use crate::jobs::{queue, JobError};

/// The message `doorman claim-link` begins for the guest: they add their
/// booking reference and the last four digits of their phone.
pub const CLAIM_LINK_TEXT: &str = "Check-in: my booking reference and the last 4 digits of my phone are ";

/// References one message may name: more would try many bookings at once.
const MAX_REFERENCES: usize = 2;
/// Groups of four digits one message may offer, for the same reason.
const MAX_DIGIT_GROUPS: usize = 2;
/// Words read as a possible surname: the last ones of the message.
const MAX_WORDS: usize = 12;

/// The answer to a stranger's message when it is a claim, or when the
/// sender has used up today's tries (no reply: `Some(vec![])`); `None`
/// when the message is answered as any stranger's (not a claim, or a wrong one).
pub async fn answer(
    tx: &mut PgConnection,
    message: &InboundMessage,
    body: &str,
) -> Result<Option<Vec<Outgoing>>, JobError> {
    let Some(address) = claimant_address(message) else {
        return Ok(None);
    };
    let claimant = Claimant { kind: contact_kind(message.channel), address: &address };
    if staff::identify(tx, message).await?.is_some() {
        return Ok(None);
    }
    if claims::is_silenced(tx, claimant).await? {
        return Ok(Some(Vec::new()));
    }
    let Some(offer) = parse(body) else {
        return Ok(None);
    };
    match claims::claim(tx, claimant, &offer).await? {
        ClaimOutcome::Silenced => Ok(Some(Vec::new())),
        ClaimOutcome::Wrong => Ok(None),
        ClaimOutcome::Linked { booking_id } => {
            // The code follows when the release window allows, like any guest's.
            queue::enqueue(tx, &PreArrival { booking_id }, Utc::now()).await?;
            Ok(Some(vec![confirmation(tx, message, booking_id, body).await?]))
        }
    }
}

/// The proof a message offers; `None` when nothing in it looks like a
/// booking reference.
pub fn parse(text: &str) -> Option<Claim> {
    let mut claim = Claim::default();
    let mut words = Vec::new();
    for token in tokens(text) {
        if let Some(digits) = four_digits(token) {
            claim.last4.push(digits.to_owned());
        } else if is_reference(token) {
            claim.references.push(token.to_owned());
        } else if is_word(token) {
            words.push(token.to_owned());
        }
    }
    if claim.references.is_empty() {
        return None;
    }
    claim.references.truncate(MAX_REFERENCES);
    claim.last4.truncate(MAX_DIGIT_GROUPS);
    claim.words = words.split_off(words.len().saturating_sub(MAX_WORDS));
    Some(claim)
}

/// Runs of letters, digits and the marks references and names contain
/// (`BK-10234`, `ical-…@airbnb.com`, `O'Brien`), without marks at their ends.
fn tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '\'' | '’')))
        .map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()))
        .filter(|t| !t.is_empty())
}

/// `4048`, also written `x4048` or `XX4048` (as booking sites mask numbers).
fn four_digits(token: &str) -> Option<&str> {
    let digits = token.trim_start_matches(['x', 'X']);
    (digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

/// A reference: letters and digits (`HM…` codes, `BK-10234`, numeric
/// Booking.com ids, `ical-` and an event's UID), or an Airbnb code without digits.
fn is_reference(token: &str) -> bool {
    let plain = token.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    let lower = token.to_ascii_lowercase();
    let airbnb = lower.starts_with("hm") && token.len() == 10 && token.chars().all(|c| c.is_ascii_alphanumeric());
    let has_digit = token.chars().any(|c| c.is_ascii_digit());
    plain && (5..=128).contains(&token.len()) && (has_digit || airbnb || lower.starts_with("ical-"))
}

/// A word that could be a surname: letters, with hyphens or apostrophes.
fn is_word(token: &str) -> bool {
    token.chars().filter(|c| c.is_alphabetic()).count() >= 2
        && token.chars().all(|c| c.is_alphabetic() || matches!(c, '-' | '\'' | '’'))
}

/// Only senders a link can name: a phone on WhatsApp or the console, a
/// private Telegram chat.
fn claimant_address(message: &InboundMessage) -> Option<String> {
    match message.channel {
        Channel::Telegram => Some(message.address.clone()),
        Channel::Whatsapp | Channel::Console => inbox::sender_phone(message).map(|p| p.as_str().to_owned()),
        Channel::Sms | Channel::Email => None,
    }
}

fn contact_kind(channel: Channel) -> ContactKind {
    match channel {
        Channel::Telegram => ContactKind::Telegram,
        _ => ContactKind::Phone,
    }
}

/// "This chat is now linked", in the language of the claim (else the
/// guest's), by first name.
async fn confirmation(
    tx: &mut PgConnection,
    message: &InboundMessage,
    booking_id: uuid::Uuid,
    body: &str,
) -> sqlx::Result<Outgoing> {
    let guest = sqlx::query!(
        "SELECT g.name, g.language FROM bookings b JOIN guests g ON g.id = b.guest_id WHERE b.id = $1",
        booking_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let language = catalog::pick(&[router::classify(body).language, Some(&guest.language)]);
    let first_name = guest.name.split_whitespace().next().unwrap_or_default();
    let text = catalog::text(language, "claim_linked", &[("name", first_name)]);
    Ok(Outgoing { language: language.to_owned(), ..reply(message, text) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(text: &str) -> Claim {
        parse(text).unwrap_or_else(|| panic!("no claim in {text:?}"))
    }

    #[test]
    fn the_bare_form_gives_a_reference_and_four_digits() {
        let c = claim("HMABCD1234 4048");
        assert_eq!(c.references, ["HMABCD1234"]);
        assert_eq!(c.last4, ["4048"]);
        assert!(c.words.is_empty());
    }

    #[test]
    fn a_sentence_in_any_language_gives_the_same() {
        for text in [
            "hi, my booking is HMABCD1234, phone ends 4048",
            "Hallo! Meine Buchung: HMABCD1234 – Telefon endet auf 4048.",
            "Dobrý deň, rezervácia #HMABCD1234, telefón končí na ...4048",
            "Bonjour, réservation «HMABCD1234», les 4 derniers chiffres : x4048 merci",
            "habari, nambari ya booking HMABCD1234 simu 4048!",
            "HMABCD1234\n4048",
        ] {
            let c = claim(text);
            assert_eq!(c.references, ["HMABCD1234"], "{text}");
            assert_eq!(c.last4, ["4048"], "{text}");
        }
    }

    #[test]
    fn references_of_every_source_are_read() {
        assert_eq!(claim("ref BK-10234, 4048").references, ["BK-10234"]);
        assert_eq!(claim("Booking.com 4012345678 and 4048").references, ["4012345678"]);
        assert_eq!(claim("ical-7f3a9c21@airbnb.com 4048").references, ["ical-7f3a9c21@airbnb.com"]);
        assert_eq!(claim("code hmqwertyui please").references, ["hmqwertyui"], "an Airbnb code without digits");
    }

    #[test]
    fn a_surname_is_one_of_the_words() {
        let c = claim("Grüß Gott, Buchung PMS-77, Nachname Müller-Lüdenscheidt");
        assert_eq!(c.references, ["PMS-77"]);
        assert!(c.last4.is_empty());
        assert!(c.words.iter().any(|w| w == "Müller-Lüdenscheidt"), "{:?}", c.words);
        assert!(claim("BK-1x O'Brien").words.iter().any(|w| w == "O'Brien"));
    }

    #[test]
    fn a_message_without_a_reference_is_no_claim() {
        for text in ["hello", "what is the door code?", "4048", "my phone ends 4048", "", "!!! ???", "x"] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn one_message_tries_few_references_and_digit_groups() {
        let many = "HMAAAA1111 HMBBBB2222 HMCCCC3333 0000 0001 0002 0003";
        let c = claim(many);
        assert_eq!(c.references.len(), MAX_REFERENCES);
        assert_eq!(c.last4, ["0000", "0001"]);
        let long = format!("HM12345678 {}", "word ".repeat(500));
        assert_eq!(claim(&long).words.len(), MAX_WORDS);
    }

    #[test]
    fn odd_input_never_panics() {
        for text in ["\u{0}", "🙂🙂 HM😀1234", "ß".repeat(10_000).as_str(), "-- .. @@ ''", "x4048x"] {
            let _ = parse(text);
        }
    }
}
