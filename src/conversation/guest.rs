//! Who is writing, and the booking their question is about.

use chrono::{DateTime, NaiveTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::access::model::BookingStatus;
use crate::access::timezone::Timezone;
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
}

impl BookingContext {
    /// When the code may be released.
    pub fn release_at(&self) -> DateTime<Utc> {
        self.check_in_at - chrono::Duration::hours(i64::from(self.release_hours))
    }

    /// From release until check-out: the guest may have the code and the wifi.
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        self.status == BookingStatus::Confirmed && self.release_at() <= now && now < self.check_out_at
    }

    /// A date in the property's local time, e.g. `Mon 23 Nov`.
    pub fn local_date(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.timezone.tz()).format("%a %-d %b").to_string()
    }

    /// An instant in the property's local time, e.g. `Mon 23 Nov 15:00`.
    pub fn local(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.timezone.tz()).format("%a %-d %b %H:%M").to_string()
    }
}

/// The guest behind a message: the WhatsApp (or console) sender's phone, or
/// the Telegram chat linked to a guest. `None` for anyone else.
pub async fn identify(tx: &mut PgConnection, message: &InboundMessage) -> sqlx::Result<Option<GuestContext>> {
    let guest = match message.channel {
        // SMS and email are outbound only: nothing arrives on them.
        Channel::Sms | Channel::Email => return Ok(None),
        Channel::Telegram => {
            let Ok(chat) = message.address.parse::<i64>() else {
                return Ok(None);
            };
            sqlx::query!("SELECT id, name, language FROM guests WHERE telegram_chat_id = $1", chat)
                .fetch_optional(&mut *tx)
                .await?
                .map(|g| (g.id, g.name, g.language))
        }
        Channel::Whatsapp | Channel::Console => {
            let Some(phone) = crate::channels::inbox::sender_phone(message) else {
                return Ok(None);
            };
            let own = sqlx::query!("SELECT id, name, language FROM guests WHERE phone = $1", phone.as_str())
                .fetch_optional(&mut *tx)
                .await?;
            match own {
                Some(g) => Some((g.id, g.name, g.language)),
                // A number staff linked with /link: that booking only, and
                // only until its check-out.
                None => {
                    let linked = sqlx::query!(
                        "SELECT g.id, g.name, g.language, gp.booking_id FROM guest_phones gp
                         JOIN guests g ON g.id = gp.guest_id JOIN bookings b ON b.id = gp.booking_id
                         WHERE gp.phone = $1 AND b.check_out_at > now()",
                        phone.as_str()
                    )
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some(linked) = linked else {
                        return Ok(None);
                    };
                    let booking = load_booking(tx, linked.id, linked.booking_id).await?;
                    return Ok(Some(GuestContext {
                        guest_id: linked.id,
                        name: linked.name,
                        language: linked.language,
                        booking,
                    }));
                }
            }
        }
    };
    let Some((guest_id, name, language)) = guest else {
        return Ok(None);
    };
    let booking = load_booking(tx, guest_id, None).await?;
    Ok(Some(GuestContext { guest_id, name, language, booking }))
}

/// The guest's current or next stay (or `only` that booking), else their
/// latest.
async fn load_booking(
    tx: &mut PgConnection,
    guest_id: Uuid,
    only: Option<Uuid>,
) -> sqlx::Result<Option<BookingContext>> {
    sqlx::query_as!(
        BookingContext,
        r#"SELECT b.id, b.external_ref, b.status AS "status: BookingStatus", b.verified, b.check_in_at, b.check_out_at,
               p.id AS property_id, p.name AS property, p.timezone AS "timezone: Timezone", p.address,
               p.requires_verification, p.code_release_hours AS release_hours, p.check_in_time, p.check_out_time,
               r.name AS room, COALESCE(r.entry_instructions, p.entry_instructions) AS entry_instructions,
               p.wifi_name, p.wifi_password, p.parking, p.directions, p.checkout_instructions
           FROM bookings b
           JOIN properties p ON p.id = b.property_id
           JOIN rooms r ON r.id = b.room_id
           WHERE b.guest_id = $1 AND ($2::uuid IS NULL OR b.id = $2)
           ORDER BY (b.status <> 'cancelled' AND b.check_out_at > now()) DESC,
                    CASE WHEN b.check_out_at > now() THEN b.check_in_at END ASC,
                    b.check_out_at DESC
           LIMIT 1"#,
        guest_id,
        only
    )
    .fetch_optional(&mut *tx)
    .await
}
