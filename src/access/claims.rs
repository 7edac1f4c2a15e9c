//! A guest with no phone on file claims the stay in chat (SPEC §9): the
//! booking reference and the last four digits of the phone on the booking
//! (or, where no digits are known, the guest's surname) link that chat or
//! number to that one booking until its check-out. Five wrong tries per
//! sender a day, counted in the database so they hold across instances;
//! after that the sender gets silence.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use super::alerts::BookingRef;
use super::audit::{self, Actor, Subject};
use super::error::AccessResult;
use super::links::{self, ContactKind, LinkedBy};
use super::timezone::Timezone;

/// Wrong tries a sender has in a day; the next message gets no answer.
pub const DAILY_TRIES: i64 = 5;
/// How long before check-in staff are told a guest cannot be reached.
pub const UNREACHABLE_LEAD: Duration = Duration::hours(48);

/// What a message offers as proof, as the guest wrote it (parsed at the
/// edge, compared here).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claim {
    /// Tokens that may be a booking reference.
    pub references: Vec<String>,
    /// Groups of exactly four digits.
    pub last4: Vec<String>,
    /// Words that may be a surname.
    pub words: Vec<String>,
}

/// Who claims: the channel identity a link would name.
#[derive(Debug, Clone, Copy)]
pub struct Claimant<'a> {
    /// A phone number (WhatsApp, console) or a Telegram chat.
    pub kind: ContactKind,
    /// The number or chat id.
    pub address: &'a str,
}

/// How a claim ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The address is linked to this booking now.
    Linked {
        /// The booking.
        booking_id: Uuid,
    },
    /// Nothing matched; counted as a wrong try.
    Wrong,
    /// Too many wrong tries today: not even looked at.
    Silenced,
}

/// Whether the sender has used up today's wrong tries.
pub async fn is_silenced(conn: &mut PgConnection, claimant: Claimant<'_>) -> AccessResult<bool> {
    Ok(wrong_tries(conn, &sender_hash(claimant)).await? >= DAILY_TRIES)
}

/// Links the claimant to the confirmed, not yet ended booking the claim
/// proves (audited `guest.linked`, `{"by":"claim"}`), or counts a wrong try.
#[tracing::instrument(skip_all, fields(kind = claimant.kind.as_str()))]
pub async fn claim(conn: &mut PgConnection, claimant: Claimant<'_>, claim: &Claim) -> AccessResult<ClaimOutcome> {
    let sender = sender_hash(claimant);
    // One sender's tries are counted one at a time, whichever instance.
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", sender).execute(&mut *conn).await?;
    if wrong_tries(conn, &sender).await? >= DAILY_TRIES {
        return Ok(ClaimOutcome::Silenced);
    }
    let proven = candidates(conn, claim).await?.into_iter().find(|c| proves(c, claim));
    let Some(booking) = proven else {
        sqlx::query!("INSERT INTO claim_attempts (sender_hash) VALUES ($1)", sender).execute(&mut *conn).await?;
        tracing::info!("a claim matched no booking");
        return Ok(ClaimOutcome::Wrong);
    };
    links::link_contact(conn, booking.id, claimant.kind, claimant.address, LinkedBy::Claim).await?;
    let subject = Subject { booking_id: Some(booking.id), ..Default::default() };
    audit::record(&mut *conn, Actor::Guest(booking.guest_id), "guest.linked", subject, json!({ "by": "claim" }))
        .await?;
    tracing::info!(booking_id = %booking.id, "a guest claimed their stay");
    Ok(ClaimOutcome::Linked { booking_id: booking.id })
}

/// A confirmed booking whose check-out is ahead and whose guest doorman
/// cannot reach: no phone, no e-mail, no linked chat or number. Staff are
/// to send that guest the claim link.
#[derive(Debug, Clone)]
pub struct Unreachable {
    /// Its property.
    pub property_id: Uuid,
    /// The booking.
    pub booking: BookingRef,
    /// Check-in.
    pub check_in_at: DateTime<Utc>,
    /// The property's timezone.
    pub timezone: Timezone,
}

/// The booking, when its guest cannot be reached now (`None` otherwise).
pub async fn unreachable(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<Option<Unreachable>> {
    let row = sqlx::query!(
        r#"SELECT b.id, b.property_id, b.external_ref, b.check_in_at, g.name AS guest, r.name AS room,
               p.timezone AS "timezone: Timezone"
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id
           JOIN properties p ON p.id = b.property_id
           WHERE b.id = $1 AND b.status = 'confirmed' AND b.check_out_at > now()
             AND g.phone IS NULL AND g.email IS NULL AND b.guest_email IS NULL
             AND NOT EXISTS (SELECT 1 FROM booking_contacts bc WHERE bc.booking_id = b.id AND bc.ended_at IS NULL)"#,
        booking_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| Unreachable {
        property_id: r.property_id,
        booking: BookingRef { booking_id: r.id, guest: r.guest, reference: r.external_ref, room: r.room },
        check_in_at: r.check_in_at,
        timezone: r.timezone,
    }))
}

/// A booking a claim may name.
#[derive(Debug, Clone)]
struct Candidate {
    id: Uuid,
    guest_id: Uuid,
    phone_last4: Option<String>,
    has_phone: bool,
    guest_name: String,
}

async fn candidates(conn: &mut PgConnection, claim: &Claim) -> sqlx::Result<Vec<Candidate>> {
    let references: Vec<String> = claim.references.iter().map(|r| r.to_lowercase()).collect();
    if references.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as!(
        Candidate,
        r#"SELECT b.id, b.guest_id, b.phone_last4, g.phone IS NOT NULL AS "has_phone!", g.name AS guest_name
           FROM bookings b JOIN guests g ON g.id = b.guest_id
           WHERE lower(b.external_ref) = ANY($1) AND b.status = 'confirmed' AND b.check_out_at > now()"#,
        &references
    )
    .fetch_all(&mut *conn)
    .await
}

/// The rule: the booking's last four digits when it has them; the surname
/// only when the booking knows neither those digits nor a phone.
fn proves(candidate: &Candidate, claim: &Claim) -> bool {
    match &candidate.phone_last4 {
        Some(digits) => claim.last4.iter().any(|d| d == digits),
        None if candidate.has_phone => false,
        None => surname(&candidate.guest_name).is_some_and(|s| claim.words.iter().any(|w| fold_name(w) == s)),
    }
}

/// The last word of a name, folded; `None` when too short to prove anything.
fn surname(name: &str) -> Option<String> {
    name.split_whitespace().last().map(fold_name).filter(|s| s.chars().count() >= 2)
}

/// A name for comparison: lower case, accents stripped, letters and digits only.
pub fn fold_name(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    for c in name.to_lowercase().nfkd().filter(|c| canonical_combining_class(*c) == 0) {
        match c {
            'ł' => folded.push('l'),
            'ø' => folded.push('o'),
            'đ' => folded.push('d'),
            'ß' => folded.push_str("ss"),
            c if c.is_alphanumeric() => folded.push(c),
            _ => {}
        }
    }
    folded
}

async fn wrong_tries(conn: &mut PgConnection, sender: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM claim_attempts WHERE sender_hash = $1 AND attempted_at > now() - interval '1 day'"#,
        sender
    )
    .fetch_one(&mut *conn)
    .await
}

/// The sender as stored: a hash, so the table holds no phone number.
fn sender_hash(claimant: Claimant<'_>) -> String {
    hex::encode(Sha256::digest(format!("{}:{}", claimant.kind.as_str(), claimant.address).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(phone_last4: Option<&str>, has_phone: bool) -> Candidate {
        Candidate {
            id: Uuid::nil(),
            guest_id: Uuid::nil(),
            phone_last4: phone_last4.map(str::to_owned),
            has_phone,
            guest_name: "Zoë Anna Dvořák".into(),
        }
    }

    fn offer(last4: &[&str], words: &[&str]) -> Claim {
        Claim {
            references: vec!["HM1".into()],
            last4: last4.iter().map(|s| s.to_string()).collect(),
            words: words.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_digits_prove_a_booking_that_has_them_and_the_surname_does_not() {
        let with_digits = candidate(Some("4048"), false);
        assert!(proves(&with_digits, &offer(&["1234", "4048"], &[])));
        assert!(!proves(&with_digits, &offer(&["4049"], &["Dvořák"])));
    }

    #[test]
    fn the_surname_proves_only_a_booking_with_no_digits_and_no_phone() {
        assert!(proves(&candidate(None, false), &offer(&[], &["hi", "DVORAK"])));
        assert!(!proves(&candidate(None, false), &offer(&[], &["Anna"])), "the last word of the name");
        assert!(!proves(&candidate(None, true), &offer(&[], &["Dvořák"])), "a phone on file: not by surname");
        assert!(!proves(&candidate(None, false), &offer(&["4048"], &[])));
    }

    #[test]
    fn names_fold_case_accents_and_letters_nfkd_keeps() {
        assert_eq!(fold_name("Dvořák"), "dvorak");
        assert_eq!(fold_name("Wałęsa"), fold_name("walesa"));
        assert_eq!(fold_name("O'Brien"), "obrien");
        assert_eq!(fold_name("Strauß"), "strauss");
        assert_eq!(surname("Ana"), Some("ana".into()));
        assert_eq!(surname("   "), None);
    }
}
