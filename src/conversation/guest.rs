//! Who is writing, and the booking their question is about.

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::access::links::{self, ContactKind};
use crate::access::model::BookingStatus;
use crate::access::release::{Release, ReleaseTerms};
use crate::access::timezone::Timezone;
use crate::access::AccessResult;
use crate::channels::{Channel, InboundMessage};

/// A guest recognised by their channel identity.
#[derive(Debug, Clone)]
pub struct GuestContext {
    /// The guest.
    pub guest_id: Uuid,
    /// Full name.
    pub name: String,
    /// Preferred language.
    pub language: String,
    /// The stay the conversation is about: the current or next one, else
    /// the latest.
    pub booking: Option<BookingContext>,
}

impl GuestContext {
    /// First name, for greetings.
    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or_default()
    }
}

/// A booking with what the conversation answers from.
#[derive(Debug, Clone)]
pub struct BookingContext {
    /// The booking.
    pub id: Uuid,
    /// Its guest.
    pub guest_id: Uuid,
    /// The PMS reference.
    pub external_ref: String,
    /// Pending, confirmed, cancelled.
    pub status: BookingStatus,
    /// Whether the PMS reported the guest verified.
    pub verified: bool,
    /// Check-in instant.
    pub check_in_at: DateTime<Utc>,
    /// Check-out instant.
    pub check_out_at: DateTime<Utc>,
    /// The property.
    pub property_id: Uuid,
    /// Its name.
    pub property: String,
    /// Its timezone.
    pub timezone: Timezone,
    /// Its street address.
    pub address: String,
    /// Whether a booking must be verified before the code is released.
    pub requires_verification: bool,
    /// Hours before check-in the code may be released.
    pub release_hours: i32,
    /// Default local check-in time.
    pub check_in_time: NaiveTime,
    /// Default local check-out time.
    pub check_out_time: NaiveTime,
    /// The room's name.
    pub room: String,
    /// Entry instructions: the room's own, else the property's.
    pub entry_instructions: Option<String>,
    /// Wifi network.
    pub wifi_name: Option<String>,
    /// Wifi password.
    pub wifi_password: Option<String>,
    /// Parking.
    pub parking: Option<String>,
    /// Directions.
    pub directions: Option<String>,
    /// What to do when leaving.
    pub checkout_instructions: Option<String>,
    /// Whether the entry instructions are the room's own (which have no
    /// other languages).
    pub room_instructions: bool,
    /// The knowledge base's entries in other languages (SPEC §11).
    pub knowledge_translations: serde_json::Value,
}

impl BookingContext {
    /// The same booking with its knowledge in `language` where the property
    /// wrote it in that language (the guest's language wins over English).
    pub fn in_language(&self, language: &str) -> Self {
        let base = language.split(['-', '_']).next().unwrap_or(language);
        let text = |entry: &str, own: &Option<String>| {
            let translated = self.knowledge_translations.get(entry).and_then(|t| t.get(base)).and_then(|t| t.as_str());
            own.as_ref().and(translated.map(str::to_owned)).or_else(|| own.clone())
        };
        let mut localized = self.clone();
        if !self.room_instructions {
            localized.entry_instructions = text("entry_instructions", &self.entry_instructions);
        }
        localized.parking = text("parking", &self.parking);
        localized.directions = text("directions", &self.directions);
        localized.checkout_instructions = text("checkout_instructions", &self.checkout_instructions);
        localized
    }

    /// What the release rule reads.
    pub fn terms(&self) -> ReleaseTerms {
        ReleaseTerms {
            status: self.status,
            verified: self.verified,
            requires_verification: self.requires_verification,
            check_in_at: self.check_in_at,
            check_out_at: self.check_out_at,
            release_hours: self.release_hours,
        }
    }

    /// Whether the code may be given now, and if not, why.
    pub fn release(&self, now: DateTime<Utc>) -> Release {
        self.terms().at(now)
    }

    /// From release until check-out: the guest may have the code, parking,
    /// directions and check-out instructions (an operator writes gate and
    /// key-safe codes there).
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.release(now) == Release::Allowed
    }

    /// From check-in until check-out, released: the wifi password is for
    /// guests in the house.
    pub fn in_stay(&self, now: DateTime<Utc>) -> bool {
        self.terms().in_stay(now)
    }

    /// A date in the property's local time, e.g. `Mon 23 Nov`.
    pub fn local_date(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.timezone.tz()).format("%a %-d %b").to_string()
    }

    /// An instant in the property's local time, e.g. `Mon 23 Nov 15:00`.
    pub fn local(&self, at: DateTime<Utc>) -> String {
        self.timezone.short_time(at)
    }
}

/// The guest behind a message: the sender's phone on WhatsApp (or the
/// console) when it is the guest's on a booking, or an address linked to a
/// booking (a Telegram chat, a number staff linked) until that booking's
/// check-out. `None` for anyone else, and for every group chat.
pub async fn identify(tx: &mut PgConnection, message: &InboundMessage) -> AccessResult<Option<GuestContext>> {
    if message.group {
        return Ok(None);
    }
    let mut bookings = Vec::new();
    match message.channel {
        // SMS and email are outbound only: nothing arrives on them.
        Channel::Sms | Channel::Email => return Ok(None),
        Channel::Telegram => {
            bookings.extend(links::linked_bookings(tx, ContactKind::Telegram, &message.address).await?);
        }
        Channel::Whatsapp | Channel::Console => {
            let Some(phone) = crate::channels::inbox::sender_phone(message) else {
                return Ok(None);
            };
            bookings.extend(
                sqlx::query_scalar!(
                    "SELECT b.id FROM bookings b JOIN guests g ON g.id = b.guest_id WHERE g.phone = $1",
                    phone.as_str()
                )
                .fetch_all(&mut *tx)
                .await?,
            );
            bookings.extend(links::linked_bookings(tx, ContactKind::Phone, phone.as_str()).await?);
        }
    }
    let Some(booking) = load_booking(tx, &bookings).await? else {
        return Ok(None);
    };
    let guest = sqlx::query!("SELECT id, name, language FROM guests WHERE id = $1", booking.guest_id)
        .fetch_one(&mut *tx)
        .await?;
    Ok(Some(GuestContext { guest_id: guest.id, name: guest.name, language: guest.language, booking: Some(booking) }))
}

/// Of these bookings, the current or next stay, else the latest.
async fn load_booking(tx: &mut PgConnection, bookings: &[Uuid]) -> sqlx::Result<Option<BookingContext>> {
    if bookings.is_empty() {
        return Ok(None);
    }
    sqlx::query_as!(
        BookingContext,
        r#"SELECT b.id, b.guest_id, b.external_ref, b.status AS "status: BookingStatus", b.verified, b.check_in_at,
               b.check_out_at, p.id AS property_id, p.name AS property, p.timezone AS "timezone: Timezone", p.address,
               p.requires_verification, p.code_release_hours AS release_hours, p.check_in_time, p.check_out_time,
               r.name AS room, COALESCE(r.entry_instructions, p.entry_instructions) AS entry_instructions,
               p.wifi_name, p.wifi_password, p.parking, p.directions, p.checkout_instructions,
               r.entry_instructions IS NOT NULL AS "room_instructions!", p.knowledge_translations
           FROM bookings b
           JOIN properties p ON p.id = b.property_id
           JOIN rooms r ON r.id = b.room_id
           WHERE b.id = ANY($1)
           ORDER BY (b.status <> 'cancelled' AND b.check_out_at > now()) DESC,
                    CASE WHEN b.check_out_at > now() THEN b.check_in_at END ASC,
                    b.check_out_at DESC
           LIMIT 1"#,
        bookings
    )
    .fetch_optional(&mut *tx)
    .await
}
