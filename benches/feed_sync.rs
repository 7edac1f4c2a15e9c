//! Calendar sync at an operator's scale and beyond: 200 iCal feeds of 50
//! stays each (one feed per room, a simulated lock per room), served from
//! loopback; the first sync of all of them (10,000 bookings and their
//! codes), then a second with nothing changed (conditional requests: every
//! feed answers `304`).
//!
//!     cargo bench --bench feed_sync
//!
//! Uses `DATABASE_URL`'s server (a fresh database on it, dropped at the
//! end), or starts a local PostgreSQL. Feeds are synced 16 at a time, as
//! the scheduler's default concurrency runs them.
//!
//! Baseline, in the same run: fetching and parsing the same 200 feeds with
//! the same client and parser, writing nothing: the floor of any sync.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{Days, NaiveTime, Utc};
use doorman::access::feeds::{self, NewFeed, Validators};
use doorman::access::locks::{create_lock, NewLock};
use doorman::access::model::{CodeFormat, CodeLength, FeedSource, LockKind, LockStatus, ProviderKind, RoomName};
use doorman::access::properties::{create_property, create_room, Knowledge, NewProperty};
use doorman::access::timezone::Timezone;
use doorman::db::{LocalOptions, LocalPostgres, MIGRATOR};
use doorman::feeds::fetch::{Fetched, FETCH_TIMEOUT};
use doorman::feeds::FeedFetcher;
use futures_util::stream::{self, StreamExt};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use uuid::Uuid;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const FEEDS: usize = 200;
const STAYS_PER_FEED: usize = 50;
fn concurrency() -> usize {
    std::env::var("FEED_SYNC_CONCURRENCY").ok().and_then(|v| v.parse().ok()).unwrap_or(16)
}

fn main() -> anyhow::Result<()> {
    let mut local = None;
    let server: PgConnectOptions = match std::env::var("DATABASE_URL") {
        Ok(url) => url.parse()?,
        Err(_) => {
            let pg = LocalPostgres::start(std::path::Path::new("target/bench-pg"), LocalOptions::default())?;
            let url = pg.url("postgres");
            local = Some(pg);
            url.parse()?
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let result = runtime.block_on(run(server));
    drop(local);
    result
}

/// Serves each feed's body, and `304` to a request that has its `ETag`.
struct Calendars(HashMap<String, String>);

impl Respond for Calendars {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some(body) = self.0.get(request.url.path()) else {
            return ResponseTemplate::new(404);
        };
        let etag = format!("\"{}\"", body.len());
        if request.headers.get("if-none-match").is_some_and(|v| v.to_str().ok() == Some(etag.as_str())) {
            return ResponseTemplate::new(304);
        }
        ResponseTemplate::new(200).insert_header("etag", etag.as_str()).set_body_string(body.clone())
    }
}

fn calendar(feed: usize) -> String {
    let today = Utc::now().date_naive();
    let mut body = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Airbnb Inc//Hosting Calendar 1.0//EN\r\n");
    for stay in 0..STAYS_PER_FEED {
        let start = today + Days::new(2 + 4 * stay as u64);
        let end = start + Days::new(3);
        body.push_str(&format!(
            "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:Reserved\r\nUID:{feed}-{stay}@airbnb.com\r\n\
DESCRIPTION:Reservation URL: https://www.airbnb.com/hosting/reservations/details/HMB{feed:04}{stay:03}\\nPhone Number (Last 4 Digits): {:04}\r\nEND:VEVENT\r\n",
            start.format("%Y%m%d"),
            end.format("%Y%m%d"),
            (feed * 7 + stay) % 10_000
        ));
    }
    body.push_str("END:VCALENDAR\r\n");
    body
}

async fn run(server: PgConnectOptions) -> anyhow::Result<()> {
    let name = format!("doorman_bench_{}", Uuid::new_v4().simple());
    let mut admin = server.clone().connect().await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let db = PgPoolOptions::new().max_connections(32).connect_with(server.clone().database(&name)).await?;
    MIGRATOR.run(&db).await?;
    let ota = MockServer::start().await;
    let bodies: HashMap<String, String> = (0..FEEDS).map(|f| (format!("/ical/{f}.ics"), calendar(f))).collect();
    Mock::given(wiremock::matchers::method("GET")).respond_with(Calendars(bodies)).mount(&ota).await;
    let feed_ids = seed(&db, &ota.uri()).await?;
    let fetcher = FeedFetcher::new(chrono::Duration::minutes(10), FETCH_TIMEOUT);
    println!("feed sync benchmark: {} cores, {FEEDS} feeds of {STAYS_PER_FEED} stays", num_cores());

    let (baseline, _) = timed(fetch_and_parse(&db, &fetcher, &feed_ids)).await?;
    let (first, created) = timed(sync_all(&db, &fetcher, &feed_ids)).await?;
    let (again, unchanged) = timed(sync_all(&db, &fetcher, &feed_ids)).await?;
    let bookings: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings").fetch_one(&db).await?;
    let codes: i64 = sqlx::query_scalar("SELECT count(*) FROM access_codes").fetch_one(&db).await?;
    println!("baseline, fetch and parse only: {baseline:.2} s");
    println!("first sync: {first:.2} s ({created} bookings created; {bookings} bookings, {codes} codes stored)");
    println!("unchanged sync: {again:.2} s ({unchanged} stays unchanged, every feed answered 304)");
    drop(db);
    sqlx::raw_sql(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    Ok(())
}

fn num_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

async fn timed<T>(work: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<(f64, T)> {
    let started = Instant::now();
    let value = work.await?;
    Ok((started.elapsed().as_secs_f64(), value))
}

/// A property with one room, one lock and one feed per calendar.
async fn seed(db: &PgPool, base: &str) -> anyhow::Result<Vec<Uuid>> {
    let mut conn = db.acquire().await?;
    let property = create_property(
        &mut *conn,
        &NewProperty {
            name: "Bench Flats".into(),
            timezone: Timezone::parse("Europe/Bratislava")?,
            address: "Bench street 1".into(),
            check_in_time: NaiveTime::from_hms_opt(15, 0, 0).expect("valid"),
            check_out_time: NaiveTime::from_hms_opt(11, 0, 0).expect("valid"),
            code_release_hours: 24,
            requires_verification: false,
            knowledge: Knowledge::default(),
            notify_channels: vec!["whatsapp".into()],
        },
    )
    .await?;
    let mut ids = Vec::with_capacity(FEEDS);
    for f in 0..FEEDS {
        let room = create_room(&mut conn, property.id, &RoomName::parse(&format!("{f}"))?, None).await?;
        create_lock(&mut conn, &lock(property.id, room.id, f)).await?;
        let new = NewFeed { room_id: room.id, url: format!("{base}/ical/{f}.ics"), source: FeedSource::Airbnb };
        ids.push(feeds::create_feed(&mut conn, &new, doorman::access::audit::Actor::Api).await?.id);
    }
    Ok(ids)
}

fn lock(property_id: Uuid, room_id: Uuid, n: usize) -> NewLock {
    NewLock {
        property_id,
        room_id: Some(room_id),
        name: format!("Room {n}"),
        name_translations: Default::default(),
        brand: "Simulated".into(),
        model: "Keypad".into(),
        kind: LockKind::PinPad,
        provider: ProviderKind::Simulated,
        provider_device_id: format!("bench-{n}"),
        code_format: CodeFormat::Numeric,
        code_length: CodeLength::new(6).expect("6 is a valid length"),
        capacity: 100,
        status: LockStatus::Active,
        backup_codes: 0,
    }
}

/// Every feed synced through doorman's path; the stays created (first
/// round) or unchanged (second).
async fn sync_all(db: &PgPool, fetcher: &FeedFetcher, ids: &[Uuid]) -> anyhow::Result<usize> {
    let results: Vec<_> = stream::iter(ids)
        .map(|id| doorman::feeds::sync(db, fetcher, *id))
        .buffer_unordered(concurrency())
        .collect()
        .await;
    let mut total = 0;
    for counts in results {
        let counts = counts.map_err(|e| anyhow::anyhow!("{e:#}"))?.ok_or_else(|| anyhow::anyhow!("a feed vanished"))?;
        total += counts.created + counts.unchanged;
    }
    Ok(total)
}

/// The same fetches and parses, nothing written.
async fn fetch_and_parse(db: &PgPool, fetcher: &FeedFetcher, ids: &[Uuid]) -> anyhow::Result<usize> {
    let feeds = Arc::new(stream::iter(ids).then(|id| feeds::get_feed(db, *id)).collect::<Vec<_>>().await);
    let results: Vec<_> = stream::iter(feeds.iter())
        .map(|feed| async move {
            let feed = feed.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
            match fetcher.fetch(&feed.url, &Validators::default()).await? {
                Fetched::Body { text, .. } => {
                    let parsed = doorman::feeds::ical::parse_feed(&text, feed.source, feed.timezone.tz(), Utc::now())?;
                    Ok::<usize, anyhow::Error>(parsed.stays.len())
                }
                Fetched::Unchanged => Ok(0),
            }
        })
        .buffer_unordered(concurrency())
        .collect()
        .await;
    results.into_iter().sum()
}
