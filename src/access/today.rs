//! What the console's Today board reads (SPEC §10): the stays around now
//! of a staff member's properties, each with its codes' states on the
//! locks, its pre-arrival messages, verification and arrival; and the
//! locks that need a look. A fixed number of queries, whatever the number
//! of rooms. Read-only; colours and words are the console's.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::types::Json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::error::AccessResult;
use super::model::{CodeKind, CodeState};
use super::timezone::Timezone;

/// A property on the board.
#[derive(Debug, Clone)]
pub struct BoardProperty {
    /// Identifier.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Its timezone: the board's days are its local days.
    pub timezone: Timezone,
    /// Whether its bookings must be verified before a code is released.
    pub requires_verification: bool,
}

impl BoardProperty {
    /// Today's date there.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.timezone.tz()).date_naive()
    }

    /// The local date of an instant there.
    pub fn date_of(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.timezone.tz()).date_naive()
    }
}

/// The state of one guest code on one lock.
#[derive(Debug, Clone, Deserialize)]
pub struct LockCode {
    /// The lock's name.
    pub lock: String,
    /// `pending`, `programming`, `set`, `failed`, `removing`.
    pub state: String,
}

/// One message sent for a stay: `(channel, status)`.
#[derive(Debug, Clone, Deserialize)]
pub struct Delivery {
    /// `whatsapp`, `telegram`, `sms`, `email`.
    pub channel: String,
    /// `queued`, `sent`, `delivered`, `read`, `failed`.
    pub status: String,
}

/// A confirmed stay around now.
#[derive(Debug, Clone)]
pub struct BoardStay {
    /// Its property.
    pub property_id: Uuid,
    /// Its PMS reference.
    pub reference: String,
    /// The guest's name.
    pub guest: String,
    /// The room's name.
    pub room: String,
    /// Check-in.
    pub check_in_at: DateTime<Utc>,
    /// Check-out.
    pub check_out_at: DateTime<Utc>,
    /// Whether the PMS reported the guest verified.
    pub verified: bool,
    /// When the guest's code first opened a door.
    pub arrived_at: Option<DateTime<Utc>>,
    /// Its guest codes not yet gone from the locks, shared doors first.
    pub codes: Vec<LockCode>,
    /// Its pre-arrival messages, oldest first.
    pub pre_arrival: Vec<Delivery>,
    /// What the latest readiness check found wrong (SPEC §12); empty when
    /// ready or not checked yet.
    pub not_ready: Vec<super::readiness::Problem>,
}

/// A lock that needs a look: offline or with a low battery.
#[derive(Debug, Clone)]
pub struct LockAttention {
    /// The lock.
    pub id: Uuid,
    /// Its property.
    pub property_id: Uuid,
    /// Its name.
    pub name: String,
    /// Online at the last check.
    pub online: Option<bool>,
    /// Battery charge, when reported.
    pub battery_percent: Option<i32>,
    /// The lock's or its keypad's battery was low.
    pub battery_low: bool,
}

/// The board's data for some properties at `now`.
#[derive(Debug, Clone)]
pub struct Board {
    /// The properties, by name.
    pub properties: Vec<BoardProperty>,
    /// Confirmed stays from yesterday to the day after tomorrow, by check-in.
    pub stays: Vec<BoardStay>,
    /// Active locks offline or low on battery.
    pub locks: Vec<LockAttention>,
}

/// Reads the board of `property_ids`: three queries, whatever their size.
pub async fn board(conn: &mut PgConnection, property_ids: &[Uuid], now: DateTime<Utc>) -> AccessResult<Board> {
    let properties = sqlx::query_as!(
        BoardProperty,
        r#"SELECT id, name, timezone AS "timezone: Timezone", requires_verification
           FROM properties WHERE id = ANY($1) ORDER BY name"#,
        property_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    let stays = stays(conn, property_ids, now).await?;
    let locks = sqlx::query_as!(
        LockAttention,
        r#"SELECT id, property_id, name, device_online AS online, battery_percent,
               (coalesce(battery_low, false) OR coalesce(keypad_battery_low, false)) AS "battery_low!"
           FROM locks
           WHERE property_id = ANY($1) AND status = 'active'
             AND (device_online = false OR battery_low OR keypad_battery_low)
           ORDER BY name"#,
        property_ids
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(Board { properties, stays, locks })
}

async fn stays(conn: &mut PgConnection, property_ids: &[Uuid], now: DateTime<Utc>) -> AccessResult<Vec<BoardStay>> {
    let rows = sqlx::query!(
        r#"SELECT b.property_id, b.external_ref AS reference, g.name AS guest, r.name AS room, b.check_in_at, b.check_out_at,
               b.verified, b.arrived_at,
               (SELECT coalesce(json_agg(json_build_object('lock', l.name, 'state', c.state)
                                ORDER BY l.room_id IS NOT NULL, l.name), '[]')
                  FROM access_codes c JOIN locks l ON l.id = c.lock_id
                  WHERE c.booking_id = b.id AND c.kind = $3 AND c.state = ANY($4)) AS "codes!: Json<Vec<LockCode>>",
               (SELECT coalesce(json_agg(json_build_object('channel', n.channel, 'status', n.status) ORDER BY n.created_at), '[]')
                  FROM notifications n WHERE n.booking_id = b.id AND n.template = 'pre_arrival') AS "pre_arrival!: Json<Vec<Delivery>>",
               (SELECT br.problems FROM booking_readiness br WHERE br.booking_id = b.id AND b.check_in_at > $2::timestamptz)
                 AS "not_ready: Json<Vec<super::readiness::Problem>>"
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id
           WHERE b.property_id = ANY($1) AND b.status = 'confirmed'
             AND b.check_in_at < $2::timestamptz + interval '3 days' AND b.check_out_at > $2::timestamptz - interval '1 day'
           ORDER BY b.check_in_at, r.name"#,
        property_ids,
        now,
        CodeKind::Guest.as_str(),
        CodeState::LISTED as &[CodeState]
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| BoardStay {
            property_id: r.property_id,
            reference: r.reference,
            guest: r.guest,
            room: r.room,
            check_in_at: r.check_in_at,
            check_out_at: r.check_out_at,
            verified: r.verified,
            arrived_at: r.arrived_at,
            codes: r.codes.0,
            pre_arrival: r.pre_arrival.0,
            not_ready: r.not_ready.map(|p| p.0).unwrap_or_default(),
        })
        .collect())
}
