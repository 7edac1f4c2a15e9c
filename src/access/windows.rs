//! Stays whose start or end staff move (SPEC §11): `/early room 101 12:00`,
//! `/late room 101 14:00` and `PATCH /api/v1/bookings/{ref}`. The stay's
//! times move, so its codes' windows move on every lock it uses and its
//! messages are planned again (`lifecycle::sync_booking_codes`); the guest
//! is told. A move that would bring the stay closer to the room's previous
//! or next stay than the property's `turnover_minutes` is refused.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::alerts::{alert_staff, BookingRef, StaffAlert};
use super::audit::{self, Actor, Subject};
use super::error::{AccessError, AccessResult};
use super::jobs::TellStayMoved;
use super::stay::{local_instant, Stay};
use super::timezone::Timezone;
use crate::jobs::queue;

/// Which end of a stay a command moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StayEdge {
    /// `/early`: the check-in, on the day of arrival.
    CheckIn,
    /// `/late`: the check-out, on the day of departure.
    CheckOut,
}

/// Why a stay was not moved; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveRefused {
    /// The room has no stay that this command can move.
    #[error("no current or upcoming stay to move")]
    NoStay,
    /// The stay is over.
    #[error("the stay has ended")]
    Ended,
    /// An early departure of a stay that has not begun.
    #[error("the stay has not begun")]
    NotBegun,
    /// The booking is cancelled.
    #[error("the booking is cancelled")]
    Cancelled,
    /// The check-in of a stay that has begun cannot move.
    #[error("the stay has begun: its check-in cannot move")]
    Begun,
    /// The new times make no stay (check-out not after check-in, or too long).
    #[error("{0}")]
    NotAStay(String),
    /// The new end is in the past.
    #[error("the new check-out is in the past")]
    InPast,
    /// The stay would come too close to another stay of the room.
    #[error("it would overlap booking {reference} (the room needs {turnover_minutes} minutes between stays)")]
    Overlap {
        /// The other booking's reference.
        reference: String,
        /// The property's `turnover_minutes`.
        turnover_minutes: i32,
    },
}

impl From<MoveRefused> for AccessError {
    /// The admin API's view: an overlap is a conflict, the rest invalid.
    fn from(refused: MoveRefused) -> Self {
        match refused {
            MoveRefused::Overlap { .. } => AccessError::Conflict(refused.to_string()),
            other => AccessError::Invalid(other.to_string()),
        }
    }
}

/// A stay after its move.
#[derive(Debug, Clone)]
pub struct MovedStay {
    /// The booking.
    pub booking_id: Uuid,
    /// Its reference.
    pub reference: String,
    /// Its room's name.
    pub room: String,
    /// Its property's timezone.
    pub timezone: Timezone,
    /// Check-in and check-out before the move.
    pub before: (DateTime<Utc>, DateTime<Utc>),
    /// Check-in and check-out now.
    pub check_in_at: DateTime<Utc>,
    /// Check-out now.
    pub check_out_at: DateTime<Utc>,
}

/// The stay of `room_id` that `/early` (the next one not yet begun) or
/// `/late` (the current one, else the next) moves to the local `time` of
/// its arrival or departure day.
#[tracing::instrument(skip_all, fields(%room_id, ?edge))]
pub async fn move_room_stay(
    conn: &mut PgConnection,
    room_id: Uuid,
    edge: StayEdge,
    time: NaiveTime,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<Result<MovedStay, MoveRefused>> {
    let booking_id = sqlx::query_scalar!(
        "SELECT id FROM bookings
         WHERE room_id = $1 AND status = 'confirmed' AND check_out_at > $2 AND (NOT $3 OR check_in_at > $2)
         ORDER BY check_in_at LIMIT 1",
        room_id,
        now,
        edge == StayEdge::CheckIn,
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(booking_id) = booking_id else {
        return Ok(Err(MoveRefused::NoStay));
    };
    move_booking_edge(conn, booking_id, edge, time, actor, now).await
}

/// Moves a booking's check-in (`/early`) or check-out (`/late`) to the
/// local `time` of its arrival or departure day, as [`move_stay`] does (the
/// console's booking page).
#[tracing::instrument(skip_all, fields(%booking_id, ?edge))]
pub async fn move_booking_edge(
    conn: &mut PgConnection,
    booking_id: Uuid,
    edge: StayEdge,
    time: NaiveTime,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<Result<MovedStay, MoveRefused>> {
    let stay = load_stay(conn, booking_id).await?;
    let tz = stay.timezone.tz();
    let (check_in_at, check_out_at) = match edge {
        StayEdge::CheckIn => {
            let day = stay.check_in_at.with_timezone(&tz).date_naive();
            (Some(local_instant(tz, day.and_time(time))), None)
        }
        StayEdge::CheckOut => {
            let day = stay.check_out_at.with_timezone(&tz).date_naive();
            (None, Some(local_instant(tz, day.and_time(time))))
        }
    };
    move_stay(conn, booking_id, check_in_at, check_out_at, actor, now).await
}

/// Moves a booking's check-in and/or check-out (`None` keeps one). Its
/// codes follow on every lock, its messages are planned again, the guest is
/// told and the move is audited as `booking.stay_moved`. Refused, changing
/// nothing, for a stay that has ended or been cancelled, a check-in of a
/// stay that has begun, and a stay that would come closer than
/// `turnover_minutes` to another stay of the room.
#[tracing::instrument(skip_all, fields(%booking_id))]
pub async fn move_stay(
    conn: &mut PgConnection,
    booking_id: Uuid,
    check_in_at: Option<DateTime<Utc>>,
    check_out_at: Option<DateTime<Utc>>,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<Result<MovedStay, MoveRefused>> {
    let stay = load_stay(conn, booking_id).await?;
    let (new_in, new_out) = (check_in_at.unwrap_or(stay.check_in_at), check_out_at.unwrap_or(stay.check_out_at));
    if let Err(refused) = check_move(&stay, new_in, new_out, now) {
        return Ok(Err(refused));
    }
    let moved = MovedStay {
        booking_id,
        reference: stay.reference.clone(),
        room: stay.room.clone(),
        timezone: stay.timezone,
        before: (stay.check_in_at, stay.check_out_at),
        check_in_at: new_in,
        check_out_at: new_out,
    };
    if (new_in, new_out) == moved.before {
        return Ok(Ok(moved));
    }
    if let Some(reference) = neighbour_in_the_way(conn, &stay, new_in, new_out).await? {
        return Ok(Err(MoveRefused::Overlap { reference, turnover_minutes: stay.turnover_minutes }));
    }
    sqlx::query!(
        "UPDATE bookings SET check_in_at = $2, check_out_at = $3, departed_at = NULL, updated_at = now(),
             upstream_check_in_at = CASE WHEN $2 <> check_in_at THEN COALESCE(upstream_check_in_at, check_in_at)
                                         ELSE upstream_check_in_at END,
             upstream_check_out_at = CASE WHEN $3 <> check_out_at THEN COALESCE(upstream_check_out_at, check_out_at)
                                          ELSE upstream_check_out_at END
         WHERE id = $1",
        booking_id,
        new_in,
        new_out
    )
    .execute(&mut *conn)
    .await?;
    let subject = Subject { property_id: Some(stay.property_id), booking_id: Some(booking_id), ..Default::default() };
    let details = json!({ "from": [stay.check_in_at, stay.check_out_at], "to": [new_in, new_out] });
    audit::record(&mut *conn, actor, "booking.stay_moved", subject, details).await?;
    super::lifecycle::sync_booking_codes(conn, booking_id, actor, now).await?;
    let key = format!("{}:{}", new_in.timestamp(), new_out.timestamp());
    queue::enqueue(conn, &TellStayMoved { booking_id, key }, now).await?;
    Ok(Ok(moved))
}

/// A calendar or PMS sends a stay staff have moved (`/early`, `/late`,
/// `PATCH /bookings/{ref}`, a departure): an edge upstream still gives as
/// it was before the move keeps the staff's time, so a resend does not undo
/// a late check-out or give a guest who has left their access back. An
/// edge upstream has changed since wins, and the staff's move of it is
/// forgotten; a guest who has left keeps the shortened check-out whatever
/// upstream says, until staff move it.
pub async fn keep_staff_moves(conn: &mut PgConnection, booking_id: Uuid, sent: Stay) -> AccessResult<Stay> {
    let row = sqlx::query!(
        "SELECT check_in_at, check_out_at, upstream_check_in_at, upstream_check_out_at, departed_at
         FROM bookings WHERE id = $1",
        booking_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let edge = |sent: DateTime<Utc>, ours: DateTime<Utc>, upstream: Option<DateTime<Utc>>| match upstream {
        Some(before) if before == sent => (ours, upstream),
        _ => (sent, None),
    };
    let (check_in_at, upstream_in) = edge(sent.check_in_at, row.check_in_at, row.upstream_check_in_at);
    let (mut check_out_at, mut upstream_out) = edge(sent.check_out_at, row.check_out_at, row.upstream_check_out_at);
    if row.departed_at.is_some() && check_out_at > row.check_out_at {
        (check_out_at, upstream_out) = (row.check_out_at, Some(sent.check_out_at));
    }
    if check_in_at >= check_out_at {
        return Ok(sent);
    }
    if (upstream_in, upstream_out) != (row.upstream_check_in_at, row.upstream_check_out_at) {
        sqlx::query!(
            "UPDATE bookings SET upstream_check_in_at = $2, upstream_check_out_at = $3 WHERE id = $1",
            booking_id,
            upstream_in,
            upstream_out
        )
        .execute(&mut *conn)
        .await?;
    }
    Ok(Stay { check_in_at, check_out_at })
}

/// How long a guest who has left keeps access (SPEC §11): time to come
/// back for what they forgot.
pub const DEPARTURE_GRACE: Duration = Duration::minutes(15);

/// The guest has left early (they said so and confirmed, or staff ran
/// `/checkout room 101` and confirmed): the stay ends [`DEPARTURE_GRACE`]
/// from now, its codes' windows end then on every lock (the after buffer no
/// longer applies), and staff are told the turnover can start. Audited as
/// `booking.departed`.
#[tracing::instrument(skip_all, fields(%booking_id))]
pub async fn record_departure(
    conn: &mut PgConnection,
    booking_id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<Result<MovedStay, MoveRefused>> {
    let stay = load_stay(conn, booking_id).await?;
    let refused = match () {
        () if stay.status == "cancelled" => Some(MoveRefused::Cancelled),
        () if stay.check_out_at <= now => Some(MoveRefused::Ended),
        () if stay.check_in_at > now => Some(MoveRefused::NotBegun),
        () => None,
    };
    if let Some(refused) = refused {
        return Ok(Err(refused));
    }
    let until = (now + DEPARTURE_GRACE).min(stay.check_out_at);
    sqlx::query!(
        "UPDATE bookings SET check_out_at = $2, departed_at = $3, updated_at = now(),
             upstream_check_out_at = COALESCE(upstream_check_out_at, check_out_at)
         WHERE id = $1",
        booking_id,
        until,
        now
    )
    .execute(&mut *conn)
    .await?;
    let subject = Subject { property_id: Some(stay.property_id), booking_id: Some(booking_id), ..Default::default() };
    let details = json!({ "booked_until": stay.check_out_at, "access_until": until });
    audit::record(&mut *conn, actor, "booking.departed", subject, details).await?;
    super::lifecycle::sync_booking_codes(conn, booking_id, actor, now).await?;
    super::lifecycle::end_guest_codes_by(conn, booking_id, until, actor).await?;
    let booking = BookingRef {
        booking_id,
        guest: stay.guest.clone(),
        reference: stay.reference.clone(),
        room: stay.room.clone(),
    };
    let alert = StaffAlert::GuestDeparted { booking, access_until: until, timezone: stay.timezone };
    alert_staff(conn, stay.property_id, alert).await?;
    Ok(Ok(MovedStay {
        booking_id,
        reference: stay.reference,
        room: stay.room,
        timezone: stay.timezone,
        before: (stay.check_in_at, stay.check_out_at),
        check_in_at: stay.check_in_at,
        check_out_at: until,
    }))
}

/// How long a guest's "we have left" waits for their yes (SPEC §11).
pub const DEPARTURE_QUESTION_VALID: Duration = Duration::minutes(30);

/// The guest said they have left: their next message within
/// [`DEPARTURE_QUESTION_VALID`] answers the question, asked in `language`.
/// Nothing else changes.
pub async fn ask_departure(
    conn: &mut PgConnection,
    booking_id: Uuid,
    language: &str,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    sqlx::query!(
        "UPDATE bookings SET departure_asked_at = $2, departure_asked_language = $3 WHERE id = $1",
        booking_id,
        now,
        language
    )
    .execute(&mut *conn)
    .await?;
    let subject = Subject { booking_id: Some(booking_id), ..Default::default() };
    audit::record(&mut *conn, Actor::System, "booking.departure_asked", subject, json!({})).await
}

/// The open departure question of a booking, taken (whatever the answer,
/// it is asked once): the language it was asked in.
pub async fn take_departure_question(
    conn: &mut PgConnection,
    booking_id: Uuid,
    now: DateTime<Utc>,
) -> AccessResult<Option<String>> {
    let asked = sqlx::query!(
        "UPDATE bookings b SET departure_asked_at = NULL, departure_asked_language = NULL
         FROM bookings old
         WHERE b.id = $1 AND old.id = b.id AND old.departure_asked_at IS NOT NULL
         RETURNING old.departure_asked_at AS \"asked_at!\", old.departure_asked_language",
        booking_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(asked
        .filter(|a| now - a.asked_at <= DEPARTURE_QUESTION_VALID)
        .map(|a| a.departure_asked_language.unwrap_or_else(|| "en".to_owned())))
}

/// A booking as a move sees it, its row locked.
struct StayRow {
    guest: String,
    property_id: Uuid,
    room_id: Uuid,
    room: String,
    reference: String,
    status: String,
    check_in_at: DateTime<Utc>,
    check_out_at: DateTime<Utc>,
    timezone: Timezone,
    turnover_minutes: i32,
}

async fn load_stay(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<StayRow> {
    sqlx::query_as!(
        StayRow,
        r#"SELECT g.name AS guest, b.property_id, b.room_id, r.name AS room, b.external_ref AS reference, b.status,
               b.check_in_at, b.check_out_at, p.timezone AS "timezone: Timezone", p.turnover_minutes
           FROM bookings b JOIN properties p ON p.id = b.property_id JOIN rooms r ON r.id = b.room_id
               JOIN guests g ON g.id = b.guest_id
           WHERE b.id = $1
           FOR UPDATE OF b"#,
        booking_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "booking" })
}

fn check_move(
    stay: &StayRow,
    new_in: DateTime<Utc>,
    new_out: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), MoveRefused> {
    if stay.status == "cancelled" {
        return Err(MoveRefused::Cancelled);
    }
    if stay.check_out_at <= now {
        return Err(MoveRefused::Ended);
    }
    if new_in != stay.check_in_at && stay.check_in_at <= now {
        return Err(MoveRefused::Begun);
    }
    Stay::new(new_in, new_out).map_err(|e| MoveRefused::NotAStay(e.to_string()))?;
    if new_out <= now {
        return Err(MoveRefused::InPast);
    }
    Ok(())
}

/// The reference of another stay of the room that the moved stay would
/// come closer to than the turnover, and was not already that close to (a
/// move never fails over a neighbour it leaves as it was), or would overlap.
async fn neighbour_in_the_way(
    conn: &mut PgConnection,
    stay: &StayRow,
    new_in: DateTime<Utc>,
    new_out: DateTime<Utc>,
) -> AccessResult<Option<String>> {
    let gap = Duration::minutes(i64::from(stay.turnover_minutes));
    Ok(sqlx::query_scalar!(
        "SELECT external_ref FROM bookings
         WHERE room_id = $1 AND external_ref <> $2 AND status <> 'cancelled'
           AND ((check_in_at < $4 AND check_out_at > $3 AND NOT (check_in_at < $6 AND check_out_at > $5))
                OR (check_in_at < $8 AND check_out_at > $7))
         ORDER BY check_in_at LIMIT 1",
        stay.room_id,
        stay.reference,
        new_in - gap,
        new_out + gap,
        stay.check_in_at - gap,
        stay.check_out_at + gap,
        new_in,
        new_out,
    )
    .fetch_optional(&mut *conn)
    .await?)
}
