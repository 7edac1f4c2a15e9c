//! Codes for many new bookings of one room at once (a calendar's first
//! sync): the outcome of [`sync_booking_codes`] for each of them, the codes
//! in a handful of statements instead of a dozen per booking (the guest's
//! messages are still planned booking by booking).
//!
//! The set path only takes the common case: every lock of the room can
//! share one value, and no lock reaches its capacity or its warning on the
//! way. Anything else (a lock filling up, rules that do not share, a value
//! taken meanwhile by another writer) goes through [`sync_booking_codes`],
//! booking by booking, so the rules live in one place.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{
    booking_locks, generate, mask, no_free_value, occupancy, schedule_pre_arrival, sync_booking_codes, BookingWindow,
    LockSlot, Occupancy, NEARLY_FULL,
};
use crate::access::audit::{self, Actor, Subject};
use crate::access::error::AccessResult;
use crate::access::jobs::{ExpireCode, ProgramCode};
use crate::access::model::{BookingStatus, CodeKind};
use crate::access::timezone::Timezone;
use crate::jobs::queue;

/// A confirmed booking just inserted, with no code yet.
#[derive(Debug, Clone)]
pub struct NewBooking {
    /// Its id.
    pub id: Uuid,
    /// Its reference.
    pub external_ref: String,
    /// Its property.
    pub property_id: Uuid,
    /// Its room.
    pub room_id: Uuid,
    /// Check-in.
    pub check_in_at: DateTime<Utc>,
    /// Check-out.
    pub check_out_at: DateTime<Utc>,
    /// The property's `code_release_hours`.
    pub release_hours: i32,
}

impl NewBooking {
    fn window(&self, buffers: (i32, i32), arrival: &ArrivalSettings) -> BookingWindow {
        BookingWindow {
            id: self.id,
            external_ref: self.external_ref.clone(),
            property_id: self.property_id,
            room_id: self.room_id,
            check_in_at: self.check_in_at,
            check_out_at: self.check_out_at,
            status: BookingStatus::Confirmed,
            release_hours: self.release_hours,
            codes_revoked_at: None,
            has_live_codes: false,
            before_minutes: buffers.0,
            after_minutes: buffers.1,
            timezone: arrival.timezone,
            no_show_alert_time: arrival.no_show_alert_time,
        }
    }
}

/// The property's settings of an arrival's checks.
struct ArrivalSettings {
    timezone: Timezone,
    no_show_alert_time: Option<chrono::NaiveTime>,
}

/// Issues the codes of new confirmed bookings of one room, and queues their
/// stays' jobs, as [`sync_booking_codes`] would for each.
pub async fn issue_for_new_bookings(
    conn: &mut PgConnection,
    bookings: &[NewBooking],
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    let Some(first) = bookings.first() else {
        return Ok(());
    };
    let one_room = bookings.iter().all(|b| b.property_id == first.property_id && b.room_id == first.room_id);
    let locks = booking_locks(conn, first.property_id, first.room_id).await?;
    let settings = sqlx::query!(
        r#"SELECT code_valid_before_minutes, code_valid_after_minutes, timezone AS "timezone: Timezone",
               no_show_alert_time
           FROM properties WHERE id = $1"#,
        first.property_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let buffers = (settings.code_valid_before_minutes, settings.code_valid_after_minutes);
    let arrival = ArrivalSettings { timezone: settings.timezone, no_show_alert_time: settings.no_show_alert_time };
    let windows: Vec<BookingWindow> = bookings.iter().map(|b| b.window(buffers, &arrival)).collect();
    let plan = match (one_room, locks.is_empty()) {
        (false, _) => None,
        (true, true) => Some(Vec::new()),
        (true, false) => plan_values(conn, &locks, &windows).await?,
    };
    let Some(values) = plan else {
        return one_by_one(conn, bookings.iter().map(|b| b.id), actor, now).await;
    };
    let mut jobs = queue::Batch::default();
    let incomplete = insert_codes(conn, &windows, &locks, &values, actor, &mut jobs).await?;
    for window in windows.iter().filter(|w| !incomplete.contains(&w.id)) {
        // The guest's messages (SPEC §11), as `sync_booking_codes` plans them.
        jobs.append(crate::access::journey::schedule_for_booking(conn, window.id, now).await?);
        schedule_pre_arrival(window, now, &mut jobs)?;
    }
    jobs.enqueue(conn).await?;
    // The room's turnovers between the new stays (SPEC §11): one room here.
    crate::access::turnovers::sync_for_booking(conn, first.id, actor, now).await?;
    // A value another writer took meanwhile: those bookings' missing codes
    // are drawn again the usual way.
    one_by_one(conn, incomplete.into_iter(), actor, now).await
}

async fn one_by_one(
    conn: &mut PgConnection,
    ids: impl Iterator<Item = Uuid>,
    actor: Actor,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    for id in ids {
        sync_booking_codes(conn, id, actor, now).await?;
    }
    Ok(())
}

/// One value per booking, shared by all the room's locks, distinct from
/// each other and from what the locks hold; `None` when the set path does
/// not apply (see the module's documentation).
async fn plan_values(
    conn: &mut PgConnection,
    locks: &[LockSlot],
    windows: &[BookingWindow],
) -> AccessResult<Option<Vec<String>>> {
    let lock_ids: Vec<Uuid> = locks.iter().map(|l| l.id).collect();
    let Occupancy { live, mut taken } = occupancy(conn, &lock_ids).await?;
    let added = i64::try_from(windows.len()).unwrap_or(i64::MAX);
    let room_left = locks.iter().all(|lock| {
        let live = live.get(&lock.id).copied().unwrap_or(0);
        let warning = (f64::from(lock.capacity) * NEARLY_FULL).ceil() as i64;
        live + added < warning && live + added <= i64::from(lock.capacity)
    });
    let shared = locks[1..]
        .iter()
        .try_fold(locks[0].rules(CodeKind::Guest), |acc, lock| acc.shared_with(&lock.rules(CodeKind::Guest)));
    let Some(rules) = shared.filter(|_| room_left) else {
        return Ok(None);
    };
    let mut values = Vec::with_capacity(windows.len());
    for _ in windows {
        let value = generate(&rules, &taken).ok_or_else(no_free_value)?;
        taken.insert(value.clone());
        values.push(value);
    }
    Ok(Some(values))
}

/// Inserts every booking's code on every lock in one statement, then their
/// audit events; queues their jobs. Returns the bookings that did not get
/// all their codes (a value taken meanwhile).
async fn insert_codes(
    conn: &mut PgConnection,
    windows: &[BookingWindow],
    locks: &[LockSlot],
    values: &[String],
    actor: Actor,
    jobs: &mut queue::Batch,
) -> AccessResult<HashSet<Uuid>> {
    if locks.is_empty() {
        return Ok(HashSet::new());
    }
    let rows = windows.len() * locks.len();
    let (mut lock_ids, mut codes, mut booking_ids, mut from, mut until) = (
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
        Vec::with_capacity(rows),
    );
    for (window, value) in windows.iter().zip(values) {
        for lock in locks {
            lock_ids.push(lock.id);
            codes.push(value.clone());
            booking_ids.push(window.id);
            from.push(window.lock_from());
            until.push(window.lock_until());
        }
    }
    // As `insert_code`: a value the device holds unmanaged, or live on the
    // lock, is taken; the trigger and the unique index stay the backstop.
    let inserted = sqlx::query!(
        r#"INSERT INTO access_codes (lock_id, code, kind, booking_id, valid_from, valid_until, created_by)
           SELECT c.lock_id, c.code, 'guest', c.booking_id, c.valid_from, c.valid_until, $6
           FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[])
               AS c (lock_id, code, booking_id, valid_from, valid_until)
           WHERE NOT EXISTS (SELECT 1 FROM device_codes d
                             WHERE d.lock_id = c.lock_id AND d.code = c.code AND NOT d.managed)
           ON CONFLICT DO NOTHING
           RETURNING id, lock_id, booking_id AS "booking_id!", code"#,
        &lock_ids,
        &codes,
        &booking_ids,
        &from,
        &until,
        actor.to_db(),
    )
    .fetch_all(&mut *conn)
    .await?;
    let by_id: HashMap<Uuid, &BookingWindow> = windows.iter().map(|w| (w.id, w)).collect();
    let by_lock: HashMap<Uuid, &LockSlot> = locks.iter().map(|l| (l.id, l)).collect();
    let mut got: HashMap<Uuid, usize> = HashMap::new();
    let mut events = audit::Batch::default();
    for row in inserted {
        let (Some(window), Some(lock)) = (by_id.get(&row.booking_id), by_lock.get(&row.lock_id)) else {
            continue;
        };
        *got.entry(window.id).or_default() += 1;
        let subject = Subject {
            property_id: Some(lock.property_id),
            lock_id: Some(lock.id),
            code_id: Some(row.id),
            booking_id: Some(window.id),
        };
        let details = json!({
            "kind": CodeKind::Guest,
            "lock": lock.name,
            "booking_ref": window.external_ref,
            "code": mask(&row.code),
            "valid_from": window.lock_from(),
            "valid_until": window.lock_until(),
        });
        events.add(actor, "code.created", subject, details);
        jobs.add(&ProgramCode { code_id: row.id }, Utc::now())?;
        jobs.add(&ExpireCode { code_id: row.id }, window.lock_until())?;
    }
    events.write(conn).await?;
    Ok(windows.iter().filter(|w| got.get(&w.id).copied().unwrap_or(0) < locks.len()).map(|w| w.id).collect())
}
