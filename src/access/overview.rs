//! What staff look up about bookings: one booking with its codes and
//! messages (`/booking`), a day's arrivals (`/arrivals`), a current or
//! upcoming booking by reference (`/link`). Read-only.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::AccessResult;
use super::model::{CodeKind, CodeState};
use super::timezone::Timezone;

/// A booking as staff see it.
#[derive(Debug, Clone)]
pub struct BookingOverview {
    /// Its PMS reference.
    pub reference: String,
    /// The guest's name.
    pub guest: String,
    /// The room's name.
    pub room: String,
    /// `confirmed`, `cancelled`, ...
    pub status: String,
    /// Check-in.
    pub check_in_at: DateTime<Utc>,
    /// Check-out.
    pub check_out_at: DateTime<Utc>,
    /// The property's timezone.
    pub timezone: Timezone,
    /// `(lock, value, state)` of every code it ever had (mask before showing).
    pub codes: Vec<(String, String, String)>,
    /// `(template, channel, status)` of every message sent for it.
    pub messages: Vec<(String, String, String)>,
}

/// The booking `reference` among `property_ids`, with its codes and messages.
pub async fn booking_overview(
    conn: &mut PgConnection,
    property_ids: &[Uuid],
    reference: &str,
) -> AccessResult<Option<BookingOverview>> {
    let row = sqlx::query!(
        r#"SELECT b.id, b.status, b.check_in_at, b.check_out_at, g.name AS guest, r.name AS room, p.timezone AS "timezone: Timezone"
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id JOIN properties p ON p.id = b.property_id
           WHERE b.external_ref = $1 AND b.property_id = ANY($2)"#,
        reference,
        property_ids
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(b) = row else {
        return Ok(None);
    };
    let codes = sqlx::query!(
        "SELECT l.name AS lock, c.code, c.state FROM access_codes c JOIN locks l ON l.id = c.lock_id WHERE c.booking_id = $1 ORDER BY c.created_at",
        b.id
    )
    .fetch_all(&mut *conn)
    .await?;
    let messages = sqlx::query!(
        "SELECT channel, template, status FROM notifications WHERE booking_id = $1 ORDER BY created_at",
        b.id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Some(BookingOverview {
        reference: reference.to_owned(),
        guest: b.guest,
        room: b.room,
        status: b.status,
        check_in_at: b.check_in_at,
        check_out_at: b.check_out_at,
        timezone: b.timezone,
        codes: codes.into_iter().map(|c| (c.lock, c.code, c.state)).collect(),
        messages: messages.into_iter().map(|m| (m.template, m.channel, m.status)).collect(),
    }))
}

/// Which day's arrivals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Day {
    /// Today in the property's timezone.
    Today,
    /// Tomorrow there.
    Tomorrow,
    /// A date.
    Date(NaiveDate),
}

impl Day {
    /// The date this is, where today is `today`.
    pub fn date(self, today: NaiveDate) -> NaiveDate {
        match self {
            Self::Today => today,
            Self::Tomorrow => today + chrono::Days::new(1),
            Self::Date(date) => date,
        }
    }
}

/// One arrival.
#[derive(Debug, Clone)]
pub struct Arrival {
    /// The booking's reference.
    pub reference: String,
    /// The guest's name.
    pub guest: String,
    /// The room's name.
    pub room: String,
    /// Check-in.
    pub check_in_at: DateTime<Utc>,
    /// The property's timezone.
    pub timezone: Timezone,
    /// When the guest first opened the door, if they did.
    pub arrived_at: Option<DateTime<Utc>>,
    /// The states of its guest codes, `set/pending`; `None`: no code.
    pub codes: Option<String>,
    /// `whatsapp sent, sms queued`; `None`: not sent yet.
    pub pre_arrival: Option<String>,
}

/// The confirmed arrivals among `property_ids` on `day`, each property's
/// day in its own timezone, by check-in time.
pub async fn arrivals(
    conn: &mut PgConnection,
    property_ids: &[Uuid],
    day: Day,
    now: DateTime<Utc>,
) -> AccessResult<Vec<Arrival>> {
    let rows = sqlx::query_as!(
        Arrival,
        r#"SELECT b.external_ref AS reference, g.name AS guest, r.name AS room, b.check_in_at,
               p.timezone AS "timezone: Timezone", b.arrived_at,
               (SELECT string_agg(DISTINCT c.state, '/') FROM access_codes c WHERE c.booking_id = b.id AND c.kind = $2
                  AND c.state = ANY($3)) AS codes,
               (SELECT string_agg(n.channel || ' ' || n.status, ', ') FROM notifications n
                  WHERE n.booking_id = b.id AND n.template = 'pre_arrival') AS pre_arrival
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id JOIN properties p ON p.id = b.property_id
           WHERE b.property_id = ANY($1) AND b.status = 'confirmed'
             AND b.check_in_at BETWEEN now() - interval '2 days' AND now() + interval '400 days'
           ORDER BY b.check_in_at"#,
        property_ids,
        CodeKind::Guest.as_str(),
        CodeState::LISTED as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|a| {
            let tz = a.timezone.tz();
            a.check_in_at.with_timezone(&tz).date_naive() == day.date(now.with_timezone(&tz).date_naive())
        })
        .collect())
}

/// A current or upcoming booking `reference` among `property_ids`.
pub async fn find_current_booking(
    conn: &mut PgConnection,
    property_ids: &[Uuid],
    reference: &str,
) -> AccessResult<Option<Uuid>> {
    Ok(sqlx::query_scalar!(
        "SELECT id FROM bookings WHERE external_ref = $1 AND property_id = ANY($2) AND check_out_at > now()",
        reference,
        property_ids
    )
    .fetch_optional(&mut *conn)
    .await?)
}
