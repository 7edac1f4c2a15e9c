//! iCal feeds per room (SPEC §9): what a good fetch changes, and the
//! safety rules that keep a bad one from changing anything.
//!
//! - A fetch that fails, is not a calendar, or suddenly shows no stay where
//!   the last good one showed some changes nothing; staff hear of a feed
//!   failing for an hour.
//! - A stay missing from a feed is cancelled only once it has been missing
//!   from three good fetches in a row, and never once it has begun (then it
//!   is held, audited and told to staff, like any cancellation in a stay).
//! - A stay that moved keeps its booking, so its code keeps its value.
//!
//! Reading the calendar is `feeds::ical`; fetching it is `feeds::fetch`.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::alerts::{alert_staff, StaffAlert};
use super::audit::{self, Actor, Subject};
use super::bookings::{self, BookingRef, BookingUpsert, GuestDetails, StayInput, UpsertOutcome};
use super::error::{AccessError, AccessResult};
use super::model::{BookingStatus, FeedSource, RoomName};
use super::stay::Stay;
use super::timezone::Timezone;

/// Good fetches in a row a stay must be missing from before it is cancelled.
pub const MISSING_FETCHES_TO_CANCEL: i32 = 3;
/// The name a booking gets when the feed has none: what the guest is
/// greeted with ("Hello Guest!") until someone knows better.
pub const PLACEHOLDER_NAME: &str = "Guest";
/// How long a feed fails before staff are told.
pub const FAILING_BEFORE_ALERT: Duration = Duration::hours(1);

/// A room's calendar feed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Feed {
    /// Identifier.
    pub id: Uuid,
    /// Its property.
    pub property_id: Uuid,
    /// Its room.
    pub room_id: Uuid,
    /// The calendar's address (it often carries a secret: never logged).
    pub url: String,
    /// `airbnb`, `booking`, `vrbo` or `other`.
    pub source: FeedSource,
    /// The last fetch, successful or not.
    pub last_fetched_at: Option<DateTime<Utc>>,
    /// `ok`, `unchanged`, `failed` or `empty` (no stay where it had some:
    /// not trusted).
    pub last_status: Option<String>,
    /// Why the last fetch failed.
    pub last_error: Option<String>,
    /// Since when it has been failing.
    pub failing_since: Option<DateTime<Utc>>,
    /// Stays in the last good fetch.
    pub events: i32,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// The last `ETag`, for a conditional request.
    #[serde(skip)]
    pub etag: Option<String>,
    /// The last `Last-Modified`, for a conditional request.
    #[serde(skip)]
    pub last_modified: Option<String>,
    /// The room's name.
    #[serde(skip)]
    pub room: String,
    /// The property's timezone.
    #[serde(skip)]
    pub timezone: Timezone,
    /// The property's check-in time, for all-day stays.
    #[serde(skip)]
    pub check_in_time: NaiveTime,
    /// The property's check-out time.
    #[serde(skip)]
    pub check_out_time: NaiveTime,
}

impl Feed {
    /// The address as logs and alerts show it: scheme and host only (the
    /// path and query of an OTA export link are its secret).
    pub fn masked_url(&self) -> String {
        mask_url(&self.url)
    }
}

/// `https://www.airbnb.com/…`.
pub fn mask_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
    format!("{scheme}://{host}/…")
}

/// One stay a feed shows, read by `feeds::ical`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedStay {
    /// The event's `UID` (the smallest of a stay shown several times).
    pub uid: String,
    /// The booking's reference for a new booking: Airbnb's `HM…` code, else
    /// `ical-` and the `UID`.
    pub reference: BookingRef,
    /// The guest's name, where the feed has one.
    pub guest: Option<String>,
    /// Airbnb's "Phone Number (Last 4 Digits)".
    pub phone_last4: Option<String>,
    /// When.
    pub stay: StayInput,
    /// What the event says, hashed: an unchanged event costs no write.
    pub fingerprint: String,
}

/// What a sync did (`POST /feeds/{id}/sync`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SyncCounts {
    /// New bookings.
    pub created: usize,
    /// Bookings whose dates or guest changed.
    pub changed: usize,
    /// Stays as they were.
    pub unchanged: usize,
    /// Stays cancelled after missing from three good fetches.
    pub disappeared: usize,
    /// Blocks, past and unreadable events, and stays that are not this
    /// room's to change.
    pub skipped: usize,
}

/// A feed to add, already parsed.
#[derive(Debug, Clone)]
pub struct NewFeed {
    /// Its room.
    pub room_id: Uuid,
    /// `http(s)://…`.
    pub url: String,
    /// Where it comes from.
    pub source: FeedSource,
}

/// Adds a feed to a room; audited (`feed.added`, the address masked) as
/// `actor`.
pub async fn create_feed(conn: &mut PgConnection, new: &NewFeed, actor: Actor) -> AccessResult<Feed> {
    let url = new.url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2048 {
        return Err(AccessError::invalid("url", "an http(s) address of at most 2048 characters"));
    }
    let property_id = sqlx::query_scalar!("SELECT property_id FROM rooms WHERE id = $1", new.room_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AccessError::NotFound { entity: "room" })?;
    let id = sqlx::query_scalar!(
        "INSERT INTO feeds (property_id, room_id, url, source) VALUES ($1, $2, $3, $4) RETURNING id",
        property_id,
        new.room_id,
        url,
        new.source.as_str()
    )
    .fetch_one(&mut *conn)
    .await?;
    let details = json!({ "feed_id": id, "url": mask_url(url), "source": new.source });
    let subject = Subject { property_id: Some(property_id), ..Default::default() };
    audit::record(&mut *conn, actor, "feed.added", subject, details).await?;
    get_feed(&mut *conn, id).await
}

/// A feed by id.
pub async fn get_feed(db: impl PgExecutor<'_>, id: Uuid) -> AccessResult<Feed> {
    sqlx::query_as!(
        Feed,
        r#"SELECT f.id, f.property_id, f.room_id, f.url, f.source AS "source: FeedSource", f.last_fetched_at,
               f.last_status, f.last_error, f.failing_since, f.events, f.created_at, f.etag, f.last_modified,
               r.name AS room, p.timezone AS "timezone: Timezone", p.check_in_time, p.check_out_time
           FROM feeds f JOIN rooms r ON r.id = f.room_id JOIN properties p ON p.id = f.property_id
           WHERE f.id = $1"#,
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AccessError::NotFound { entity: "feed" })
}

/// A room's feeds, oldest first.
pub async fn list_room_feeds(db: impl PgExecutor<'_>, room_id: Uuid) -> AccessResult<Vec<Feed>> {
    Ok(sqlx::query_as!(
        Feed,
        r#"SELECT f.id, f.property_id, f.room_id, f.url, f.source AS "source: FeedSource", f.last_fetched_at,
               f.last_status, f.last_error, f.failing_since, f.events, f.created_at, f.etag, f.last_modified,
               r.name AS room, p.timezone AS "timezone: Timezone", p.check_in_time, p.check_out_time
           FROM feeds f JOIN rooms r ON r.id = f.room_id JOIN properties p ON p.id = f.property_id
           WHERE f.room_id = $1 ORDER BY f.created_at"#,
        room_id
    )
    .fetch_all(db)
    .await?)
}

/// Removes a feed; the bookings it brought stay as they are. Audited
/// (`feed.removed`) as `actor`.
pub async fn delete_feed(conn: &mut PgConnection, id: Uuid, actor: Actor) -> AccessResult<()> {
    let property_id = sqlx::query_scalar!("DELETE FROM feeds WHERE id = $1 RETURNING property_id", id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(AccessError::NotFound { entity: "feed" })?;
    let subject = Subject { property_id: Some(property_id), ..Default::default() };
    audit::record(&mut *conn, actor, "feed.removed", subject, json!({ "feed_id": id })).await
}

/// The ids of every feed (the scheduler's start).
pub async fn all_feed_ids(db: impl PgExecutor<'_>) -> AccessResult<Vec<Uuid>> {
    Ok(sqlx::query_scalar!("SELECT id FROM feeds ORDER BY created_at").fetch_all(db).await?)
}

/// The server said the feed has not changed (`304`): nothing to read.
pub async fn record_unchanged(conn: &mut PgConnection, feed_id: Uuid, now: DateTime<Utc>) -> AccessResult<()> {
    sqlx::query!(
        "UPDATE feeds SET last_fetched_at = $2, last_status = 'unchanged', last_error = NULL, failing_since = NULL
         WHERE id = $1",
        feed_id,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A fetch that failed, or that is not trusted (`status` `failed` or
/// `empty`): nothing changes but the feed's state; an hour into a run of
/// failures, staff are told once.
pub async fn record_failure(
    conn: &mut PgConnection,
    feed: &Feed,
    status: &str,
    error: &str,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    tracing::warn!(feed_id = %feed.id, url = %feed.masked_url(), error, "a calendar feed could not be used");
    let since = sqlx::query_scalar!(
        r#"UPDATE feeds SET last_fetched_at = $2, last_status = $3, last_error = $4,
               failing_since = COALESCE(failing_since, $2)
           WHERE id = $1 RETURNING failing_since AS "since!""#,
        feed.id,
        now,
        status,
        error
    )
    .fetch_optional(&mut *conn)
    .await?;
    // Removed while it was being fetched: there is nothing left to record.
    let Some(since) = since else {
        return Ok(());
    };
    if now - since >= FAILING_BEFORE_ALERT {
        let alert = StaffAlert::FeedFailing {
            feed_id: feed.id,
            room: feed.room.clone(),
            url: feed.masked_url(),
            since,
            error: error.to_owned(),
        };
        alert_staff(conn, feed.property_id, alert).await?;
    }
    Ok(())
}

/// What the server said to send next time.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
}

/// A good fetch: each stay becomes (or stays) a confirmed booking of the
/// room; stays that are gone count towards their cancellation.
pub async fn apply_fetch(
    conn: &mut PgConnection,
    feed: &Feed,
    stays: &[ImportedStay],
    skipped: usize,
    validators: &Validators,
    now: DateTime<Utc>,
) -> AccessResult<SyncCounts> {
    if stays.is_empty() && feed.events > 0 {
        let error = format!("no stays where the last good fetch had {}", feed.events);
        record_failure(conn, feed, "empty", &error, now).await?;
        return Ok(SyncCounts { skipped, ..Default::default() });
    }
    let mut known = known_events(conn, feed.id).await?;
    let mut counts = SyncCounts { skipped, ..Default::default() };
    let mut sights = first_sights(conn, feed, stays.iter().filter(|s| !known.contains_key(&s.uid))).await?;
    let (mut applied, mut new) = (Vec::new(), Vec::new());
    for stay in stays {
        let previously = match known.remove(&stay.uid) {
            Some(known) => Previously::Seen(known),
            None => Previously::New(sights.remove(&stay.uid).unwrap_or_default()),
        };
        match apply_stay(conn, feed, stay, previously, &mut counts).await? {
            Step::Written(written) => applied.extend(written),
            Step::Create(input) => new.push((stay, input)),
        }
    }
    applied.extend(create_new(conn, new, &mut counts).await?);
    remember(conn, feed.id, applied).await?;
    for (uid, gone) in known {
        counts.disappeared += usize::from(missing(conn, feed, &uid, gone, now).await?);
    }
    record_success(conn, feed.id, stays.len(), validators, now).await?;
    Ok(counts)
}

/// What the feed showed before, by `UID`.
#[derive(Debug, Clone)]
struct Known {
    booking_id: Uuid,
    fingerprint: String,
    missing_fetches: i32,
}

async fn known_events(conn: &mut PgConnection, feed_id: Uuid) -> AccessResult<HashMap<String, Known>> {
    let rows = sqlx::query!(
        "SELECT uid, booking_id, fingerprint, missing_fetches FROM feed_events WHERE feed_id = $1",
        feed_id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (r.uid, Known { booking_id: r.booking_id, fingerprint: r.fingerprint, missing_fetches: r.missing_fetches })
        })
        .collect())
}

/// What became of a stay the feed shows.
enum Step {
    /// Written to its booking, or nothing to write (`None`).
    Written(Option<Applied>),
    /// A new booking, written with the fetch's other new ones.
    Create(BookingUpsert),
}

async fn apply_stay(
    conn: &mut PgConnection,
    feed: &Feed,
    stay: &ImportedStay,
    previously: Previously,
    counts: &mut SyncCounts,
) -> AccessResult<Step> {
    let (seen, sight) = match previously {
        Previously::Seen(known) => (Some(known), None),
        Previously::New(sight) => (None, Some(sight)),
    };
    if let Some(known) = seen.as_ref().filter(|k| k.fingerprint == stay.fingerprint) {
        if known.missing_fetches > 0 {
            set_missing(conn, feed.id, &stay.uid, 0).await?;
        }
        counts.unchanged += 1;
        return Ok(Step::Written(None));
    }
    let existing = match (&seen, sight) {
        (Some(known), _) => Some(booking_row(conn, known.booking_id).await?),
        (None, sight) => match first_sight(conn, feed, sight.unwrap_or_default()).await? {
            FirstSight::SameStay(booking) => Some(booking),
            FirstSight::New => None,
            FirstSight::OtherRoom => {
                counts.skipped += 1;
                return Ok(Step::Written(None));
            }
        },
    };
    let reference = existing.as_ref().map_or(stay.reference.clone(), |b| b.reference.clone());
    if seen.is_some() && !ours_to_change(conn, feed, &reference).await? {
        counts.skipped += 1;
        return Ok(Step::Written(None));
    }
    let first_sight = existing.is_none();
    let guest = stay.guest.clone().or(existing.map(|b| b.guest)).unwrap_or_else(|| PLACEHOLDER_NAME.to_owned());
    let input = booking_input(feed, stay, &reference, guest)?;
    if first_sight {
        return Ok(Step::Create(input));
    }
    let outcome = bookings::upsert_booking(conn, &input, Actor::System).await?;
    Ok(Step::Written(Some(applied(stay, &outcome, counts))))
}

/// The fetch's new stays, written together.
async fn create_new(
    conn: &mut PgConnection,
    new: Vec<(&ImportedStay, BookingUpsert)>,
    counts: &mut SyncCounts,
) -> AccessResult<Vec<Applied>> {
    let (stays, inputs): (Vec<&ImportedStay>, Vec<BookingUpsert>) = new.into_iter().unzip();
    let outcomes = bookings::upsert_bookings(conn, &inputs, Actor::System).await?;
    Ok(stays.into_iter().zip(&outcomes).map(|(stay, outcome)| applied(stay, outcome, counts)).collect())
}

/// The stay as written, counted.
fn applied(stay: &ImportedStay, outcome: &UpsertOutcome, counts: &mut SyncCounts) -> Applied {
    if outcome.created() {
        counts.created += 1;
    } else {
        counts.changed += 1;
    }
    Applied {
        uid: stay.uid.clone(),
        booking_id: outcome.booking_id,
        fingerprint: stay.fingerprint.clone(),
        created: outcome.created(),
        phone_last4: stay.phone_last4.clone(),
    }
}

/// A stay written to its booking by this fetch.
struct Applied {
    uid: String,
    booking_id: Uuid,
    fingerprint: String,
    created: bool,
    phone_last4: Option<String>,
}

/// The feed's own facts on the bookings it wrote, and its events
/// remembered, in one statement at the end of the fetch.
async fn remember(conn: &mut PgConnection, feed_id: Uuid, applied: Vec<Applied>) -> AccessResult<()> {
    // One row per event: a statement cannot change one row twice.
    let by_uid: HashMap<String, Applied> = applied.into_iter().map(|a| (a.uid.clone(), a)).collect();
    if by_uid.is_empty() {
        return Ok(());
    }
    let mut uids = Vec::with_capacity(by_uid.len());
    let mut bookings = Vec::with_capacity(by_uid.len());
    let mut fingerprints = Vec::with_capacity(by_uid.len());
    let mut created = Vec::with_capacity(by_uid.len());
    let mut last4 = Vec::with_capacity(by_uid.len());
    for (uid, a) in by_uid {
        uids.push(uid);
        bookings.push(a.booking_id);
        fingerprints.push(a.fingerprint);
        created.push(a.created);
        last4.push(a.phone_last4);
    }
    sqlx::query!(
        "WITH seen AS (
             SELECT * FROM UNNEST($2::text[], $3::uuid[], $4::text[], $5::bool[], $6::text[])
                 AS s (uid, booking_id, fingerprint, created, phone_last4)
         ),
         booking AS (
             UPDATE bookings b SET source = CASE WHEN b.source = 'api' AND s.created THEN 'ical' ELSE b.source END,
                 phone_last4 = COALESCE(s.phone_last4, b.phone_last4)
             FROM seen s WHERE b.id = s.booking_id
         )
         INSERT INTO feed_events (feed_id, uid, booking_id, fingerprint)
         SELECT $1, uid, booking_id, fingerprint FROM seen
         ON CONFLICT (feed_id, uid) DO UPDATE SET booking_id = EXCLUDED.booking_id,
             fingerprint = EXCLUDED.fingerprint, missing_fetches = 0, last_seen_at = now()",
        feed_id,
        &uids,
        &bookings,
        &fingerprints,
        &created,
        &last4 as &[Option<String>],
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The booking a stay of the feed's room becomes.
fn booking_input(
    feed: &Feed,
    stay: &ImportedStay,
    reference: &BookingRef,
    guest: String,
) -> AccessResult<BookingUpsert> {
    Ok(BookingUpsert {
        external_ref: reference.clone(),
        property_id: feed.property_id,
        room: RoomName::parse(&feed.room).map_err(|e| AccessError::invalid("room", e))?,
        guest: GuestDetails { name: guest, phone: None, email: None, language: None },
        stay: stay.stay,
        status: BookingStatus::Confirmed,
        verified: None,
    })
}

/// A booking as the feed code needs it.
struct BookingRow {
    reference: BookingRef,
    guest: String,
}

async fn booking_row(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<BookingRow> {
    let row = sqlx::query!(
        "SELECT b.external_ref, g.name FROM bookings b JOIN guests g ON g.id = b.guest_id WHERE b.id = $1",
        booking_id
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(BookingRow { reference: BookingRef::parse(&row.external_ref)?, guest: row.name })
}

/// What the feed showed of a stay before.
enum Previously {
    /// The event, by its `UID`.
    Seen(Known),
    /// Nothing: what the database holds of such a stay.
    New(Sight),
}

/// What the database holds of a stay the feed shows for the first time.
#[derive(Debug, Default)]
struct Sight {
    /// The same stay brought by another feed of this room.
    same_stay: Option<Uuid>,
    /// The booking that has the stay's reference already, and its room.
    reference: Option<(Uuid, Uuid)>,
}

/// The [`Sight`] of every stay the feed shows for the first time, by
/// `UID`, in one query.
async fn first_sights<'a>(
    conn: &mut PgConnection,
    feed: &Feed,
    stays: impl Iterator<Item = &'a ImportedStay>,
) -> AccessResult<HashMap<String, Sight>> {
    let (mut uids, mut check_ins, mut check_outs, mut references) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for stay in stays {
        let (check_in_at, check_out_at) = instants(feed, stay.stay)?;
        uids.push(stay.uid.clone());
        check_ins.push(check_in_at);
        check_outs.push(check_out_at);
        references.push(stay.reference.as_str().to_owned());
    }
    if uids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = sqlx::query!(
        r#"SELECT s.uid AS "uid!",
               (SELECT b.id FROM bookings b JOIN feed_events e ON e.booking_id = b.id
                WHERE b.room_id = $1 AND b.check_in_at = s.check_in_at AND b.check_out_at = s.check_out_at
                  AND e.feed_id <> $2
                LIMIT 1) AS same_stay,
               b.id AS "reference_booking?", b.room_id AS "reference_room?"
           FROM UNNEST($3::text[], $4::timestamptz[], $5::timestamptz[], $6::text[])
               AS s (uid, check_in_at, check_out_at, reference)
           LEFT JOIN bookings b ON b.external_ref = s.reference"#,
        feed.room_id,
        feed.id,
        &uids,
        &check_ins,
        &check_outs,
        &references
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let reference = r.reference_booking.zip(r.reference_room);
            (r.uid, Sight { same_stay: r.same_stay, reference })
        })
        .collect())
}

/// A stay the feed shows for the first time.
enum FirstSight {
    /// The same stay brought by another feed of this room (Airbnb's own
    /// feed and a channel manager's, say): same dates, one booking; or the
    /// room's booking of the stay's reference.
    SameStay(BookingRow),
    /// A booking to create.
    New,
    /// Its reference is a booking of another room or property: not the
    /// feed's to move.
    OtherRoom,
}

async fn first_sight(conn: &mut PgConnection, feed: &Feed, sight: Sight) -> AccessResult<FirstSight> {
    if let Some(booking_id) = sight.same_stay {
        return Ok(FirstSight::SameStay(booking_row(conn, booking_id).await?));
    }
    match sight.reference {
        // The room's booking already (pushed by the PMS, say): it keeps
        // what doorman knows of its guest.
        Some((booking_id, room_id)) if room_id == feed.room_id => {
            Ok(FirstSight::SameStay(booking_row(conn, booking_id).await?))
        }
        Some(_) => {
            tracing::warn!(feed_id = %feed.id, "a feed's stay has the reference of another room's booking: skipped");
            Ok(FirstSight::OtherRoom)
        }
        None => Ok(FirstSight::New),
    }
}

/// A reference already used by a booking of another room or property is
/// not the feed's to move.
async fn ours_to_change(conn: &mut PgConnection, feed: &Feed, reference: &BookingRef) -> AccessResult<bool> {
    let room = sqlx::query_scalar!("SELECT room_id FROM bookings WHERE external_ref = $1", reference.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let ours = room.is_none_or(|room_id| room_id == feed.room_id);
    if !ours {
        tracing::warn!(feed_id = %feed.id, "a feed's stay has the reference of another room's booking: skipped");
    }
    Ok(ours)
}

fn instants(feed: &Feed, stay: StayInput) -> AccessResult<(DateTime<Utc>, DateTime<Utc>)> {
    match stay {
        StayInput::Instants(stay) => Ok((stay.check_in_at, stay.check_out_at)),
        StayInput::LocalDates { check_in, check_out } => {
            let tz = feed.timezone.tz();
            let stay = Stay::from_local_dates(tz, check_in, feed.check_in_time, check_out, feed.check_out_time)
                .map_err(|e| AccessError::invalid("check_out", e))?;
            Ok((stay.check_in_at, stay.check_out_at))
        }
    }
}

/// A stay the feed no longer shows: one more missing fetch; the third
/// cancels a stay not yet begun, and holds one in progress for staff.
/// Returns whether it was cancelled now.
async fn missing(
    conn: &mut PgConnection,
    feed: &Feed,
    uid: &str,
    gone: Known,
    now: DateTime<Utc>,
) -> AccessResult<bool> {
    let booking = sqlx::query!(
        r#"SELECT external_ref, check_in_at, check_out_at, status AS "status: BookingStatus" FROM bookings WHERE id = $1"#,
        gone.booking_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if booking.check_out_at <= now || booking.status == BookingStatus::Cancelled {
        // Past stays leave the feed as a matter of course.
        sqlx::query!("DELETE FROM feed_events WHERE feed_id = $1 AND uid = $2", feed.id, uid)
            .execute(&mut *conn)
            .await?;
        return Ok(false);
    }
    let missing_fetches = gone.missing_fetches + 1;
    set_missing(conn, feed.id, uid, missing_fetches).await?;
    if missing_fetches != MISSING_FETCHES_TO_CANCEL {
        return Ok(false);
    }
    let subject =
        Subject { property_id: Some(feed.property_id), booking_id: Some(gone.booking_id), ..Default::default() };
    let begun = booking.check_in_at <= now;
    let details = json!({ "feed_id": feed.id, "missing_fetches": missing_fetches, "held": begun });
    audit::record(&mut *conn, Actor::System, "booking.disappeared", subject, details).await?;
    if begun {
        let alert = StaffAlert::VanishedDuringStay {
            booking_id: gone.booking_id,
            reference: booking.external_ref,
            room: feed.room.clone(),
        };
        alert_staff(conn, feed.property_id, alert).await?;
        return Ok(false);
    }
    cancel(conn, &booking.external_ref).await?;
    sqlx::query!("DELETE FROM feed_events WHERE feed_id = $1 AND uid = $2", feed.id, uid).execute(&mut *conn).await?;
    Ok(true)
}

/// Cancels an imported booking through the same upsert the API uses.
async fn cancel(conn: &mut PgConnection, reference: &str) -> AccessResult<()> {
    let stored = bookings::get_booking_by_ref(&mut *conn, reference).await?;
    let input = BookingUpsert {
        external_ref: BookingRef::parse(reference)?,
        property_id: stored.property_id,
        room: RoomName::parse(&stored.room).map_err(|e| AccessError::invalid("room", e))?,
        guest: GuestDetails {
            name: stored.guest.name,
            phone: stored.guest.phone,
            email: stored.guest.email,
            language: None,
        },
        stay: StayInput::Instants(Stay { check_in_at: stored.check_in_at, check_out_at: stored.check_out_at }),
        status: BookingStatus::Cancelled,
        verified: None,
    };
    bookings::upsert_booking(conn, &input, Actor::System).await?;
    Ok(())
}

async fn set_missing(conn: &mut PgConnection, feed_id: Uuid, uid: &str, missing_fetches: i32) -> AccessResult<()> {
    sqlx::query!(
        "UPDATE feed_events SET missing_fetches = $3 WHERE feed_id = $1 AND uid = $2",
        feed_id,
        uid,
        missing_fetches
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn record_success(
    conn: &mut PgConnection,
    feed_id: Uuid,
    stays: usize,
    validators: &Validators,
    now: DateTime<Utc>,
) -> AccessResult<()> {
    sqlx::query!(
        "UPDATE feeds SET last_fetched_at = $2, last_status = 'ok', last_error = NULL, failing_since = NULL,
             events = $3, etag = $4, last_modified = $5
         WHERE id = $1",
        feed_id,
        now,
        i32::try_from(stays).unwrap_or(i32::MAX),
        validators.etag,
        validators.last_modified
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OTA export link's path and query are its secret: logs and alerts
    /// show the host only.
    #[test]
    fn a_feed_address_is_shown_without_its_secret() {
        let url = "https://www.airbnb.com/calendar/ical/12345.ics?s=0123456789abcdef";
        assert_eq!(mask_url(url), "https://www.airbnb.com/…");
        assert_eq!(mask_url("http://127.0.0.1:8081/feeds/a.ics"), "http://127.0.0.1:8081/…");
        assert!(!mask_url("garbage").contains("secret"));
    }
}
