//! The readiness checks of a busy hour (SPEC §12): 500 arrivals within the
//! same hour, in 10 properties of 50 rooms (a lock per room and an entrance
//! per property: 510 locks, 1,000 lock checks), each arrival checked as its
//! `CheckReadiness` job does it (the stale lock statuses read from the
//! provider, then the arrival judged and stored), four at a time.
//!
//!     cargo bench --bench readiness
//!
//! Uses `DATABASE_URL`'s server (a fresh database on it, dropped at the
//! end), or starts a local PostgreSQL. The simulated provider keeps its
//! devices in PostgreSQL, so its status reads count as database time too.
//! "Database time" is the sum of what sqlx reports for each statement
//! (`elapsed` of its `sqlx::query` event). Baseline, in the same run: the
//! same 500 checks again a minute later, when every status is fresh and no
//! provider is asked. Fails when the first pass takes more than 5 s of
//! database time or reads a lock's status more than once.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Duration, Utc};
use doorman::access::audit::Actor;
use doorman::access::bookings::{upsert_booking, BookingRef, BookingUpsert, GuestDetails, StayInput};
use doorman::access::locks::{create_lock, NewLock};
use doorman::access::model::{
    BookingStatus, CodeFormat, CodeLength, Language, LockKind, LockStatus, ProviderKind, RoomName,
};
use doorman::access::phone::Phone;
use doorman::access::properties::{create_property, create_room, Knowledge, NewProperty};
use doorman::access::readiness::{self, Outcome};
use doorman::access::stay::Stay;
use doorman::access::timezone::Timezone;
use doorman::db::{LocalOptions, LocalPostgres, MIGRATOR};
use doorman::devices::locks::refresh_status;
use doorman::lock_providers::simulated::{SimulatedProvider, SimulatedSettings};
use doorman::lock_providers::Providers;
use futures_util::stream::{self, StreamExt};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;
use uuid::Uuid;

const PROPERTIES: usize = 10;
const ROOMS: usize = 50;
const CONCURRENCY: usize = 4;
const DB_TIME_LIMIT: f64 = 5.0;

/// Database time in nanoseconds and statements, from sqlx's events.
static DB_NANOS: AtomicU64 = AtomicU64::new(0);
static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

struct DatabaseTime;

/// The simulated provider's own statements: the provider's time, not
/// doorman's database time.
static PROVIDER_NANOS: AtomicU64 = AtomicU64::new(0);

#[derive(Default)]
struct Statement {
    elapsed: Option<f64>,
    provider: bool,
}

impl tracing::field::Visit for Statement {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        if field.name() == "elapsed_secs" {
            self.elapsed = Some(value);
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "db.statement" || field.name() == "summary" {
            self.provider |= value.contains("simulated_devices") || value.contains("simulated_codes");
        }
    }

    fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
}

impl<S: tracing::Subscriber> Layer<S> for DatabaseTime {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            let mut statement = Statement::default();
            event.record(&mut statement);
            let nanos = (statement.elapsed.unwrap_or(0.0) * 1e9) as u64;
            if statement.provider {
                PROVIDER_NANOS.fetch_add(nanos, Ordering::SeqCst);
            } else {
                STATEMENTS.fetch_add(1, Ordering::SeqCst);
                DB_NANOS.fetch_add(nanos, Ordering::SeqCst);
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::new("sqlx::query=trace");
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(DatabaseTime.with_filter(filter)))?;
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

async fn run(server: PgConnectOptions) -> anyhow::Result<()> {
    let name = format!("doorman_bench_{}", Uuid::new_v4().simple());
    let mut admin = server.clone().connect().await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let db = PgPoolOptions::new().max_connections(16).connect_with(server.clone().database(&name)).await?;
    MIGRATOR.run(&db).await?;
    let result = measure(&db).await;
    db.close().await;
    sqlx::raw_sql(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    result
}

/// One pass: wall time, database time, statements, provider reads.
struct Pass {
    wall: f64,
    database: f64,
    provider: f64,
    problems: std::collections::BTreeMap<String, usize>,
    statements: usize,
    reads: usize,
    ready: usize,
}

async fn measure(db: &PgPool) -> anyhow::Result<()> {
    let seeded = Instant::now();
    let mut bookings = Vec::with_capacity(PROPERTIES * ROOMS);
    for p in 0..PROPERTIES {
        bookings.extend(seed(db, p).await?);
    }
    let locks: i64 = sqlx::query_scalar("SELECT count(*) FROM locks").fetch_one(db).await?;
    println!(
        "readiness benchmark: {} arrivals within one hour, {locks} locks; seeded in {:.1} s",
        bookings.len(),
        seeded.elapsed().as_secs_f64()
    );
    let providers = Providers::new(Arc::new(SimulatedProvider::new(db.clone(), SimulatedSettings::default())));
    let first = pass(db, &providers, &bookings).await?;
    let again = pass(db, &providers, &bookings).await?;
    report("first pass (every status read from the provider)", &first);
    report("baseline: the same checks, every status fresh", &again);
    anyhow::ensure!(first.ready == bookings.len(), "{} of {} arrivals ready", first.ready, bookings.len());
    anyhow::ensure!(first.reads as i64 == locks, "{} status reads for {locks} locks", first.reads);
    anyhow::ensure!(
        first.database <= DB_TIME_LIMIT,
        "{:.2} s of database time, over {DB_TIME_LIMIT} s",
        first.database
    );
    Ok(())
}

fn report(title: &str, pass: &Pass) {
    println!(
        "{title}: {:.2} s of database time in {} statements, {:.2} s wall; {} provider status reads ({:.2} s in the \
         simulated provider); {} ready{}",
        pass.database,
        pass.statements,
        pass.wall,
        pass.reads,
        pass.provider,
        pass.ready,
        if pass.problems.is_empty() { String::new() } else { format!(", problems: {:?}", pass.problems) }
    );
}

async fn pass(db: &PgPool, providers: &Providers, bookings: &[Uuid]) -> anyhow::Result<Pass> {
    let (nanos, statements) = (DB_NANOS.load(Ordering::SeqCst), STATEMENTS.load(Ordering::SeqCst));
    let provider_nanos = PROVIDER_NANOS.load(Ordering::SeqCst);
    let started = Instant::now();
    let results: Vec<anyhow::Result<(usize, Vec<String>)>> =
        stream::iter(bookings).map(|id| check(db, providers, *id)).buffer_unordered(CONCURRENCY).collect().await;
    let wall = started.elapsed().as_secs_f64();
    let (mut reads, mut ready, mut problems) = (0, 0, std::collections::BTreeMap::new());
    for result in results {
        let (read, found) = result?;
        reads += read;
        ready += usize::from(found.is_empty());
        for problem in found {
            *problems.entry(problem).or_default() += 1;
        }
    }
    Ok(Pass {
        wall,
        database: (DB_NANOS.load(Ordering::SeqCst) - nanos) as f64 / 1e9,
        provider: (PROVIDER_NANOS.load(Ordering::SeqCst) - provider_nanos) as f64 / 1e9,
        problems,
        statements: STATEMENTS.load(Ordering::SeqCst) - statements,
        reads,
        ready,
    })
}

/// What `CheckReadiness` does for one arrival.
async fn check(db: &PgPool, providers: &Providers, booking_id: Uuid) -> anyhow::Result<(usize, Vec<String>)> {
    let now = Utc::now();
    let stale = {
        let mut conn = db.acquire().await?;
        readiness::claim_stale_locks(&mut conn, booking_id, now).await?
    };
    for (lock_id, _) in &stale {
        refresh_status(db, providers, *lock_id).await?;
    }
    let mut tx = db.begin().await?;
    let outcome = readiness::assess(&mut tx, booking_id, 3, now).await?;
    tx.commit().await?;
    let found = match outcome {
        Outcome::Checked(r) => r.problems.iter().map(|p| format!("{:?}", p.problem)).collect(),
        other => vec![format!("{other:?}")],
    };
    Ok((stale.len(), found))
}

/// A property of 50 rooms (a lock each, and an entrance), one arrival a
/// room within the same hour, two to three hours from now; the codes on
/// the locks, the guests reachable.
async fn seed(db: &PgPool, p: usize) -> anyhow::Result<Vec<Uuid>> {
    let mut tx = db.begin().await?;
    let property = create_property(
        &mut *tx,
        &NewProperty {
            name: format!("Bench House {p}"),
            timezone: Timezone::parse("Europe/Bratislava").expect("valid"),
            address: "Panská 12".into(),
            check_in_time: chrono::NaiveTime::from_hms_opt(15, 0, 0).expect("valid"),
            check_out_time: chrono::NaiveTime::from_hms_opt(11, 0, 0).expect("valid"),
            code_release_hours: 24,
            requires_verification: false,
            knowledge: Knowledge::default(),
            notify_channels: vec!["whatsapp".into()],
        },
    )
    .await?;
    create_lock(&mut tx, &lock(property.id, None, "Entrance")).await?;
    let mut ids = Vec::with_capacity(ROOMS);
    for i in 0..ROOMS {
        let room_name = format!("{}", 100 + i);
        let room = create_room(&mut tx, property.id, &RoomName::parse(&room_name).expect("valid"), None).await?;
        create_lock(&mut tx, &lock(property.id, Some(room.id), &format!("Room {room_name}"))).await?;
        let check_in = Utc::now() + Duration::minutes(120 + i as i64);
        let booking = BookingUpsert {
            external_ref: BookingRef::parse(&format!("BK-{p}-{i}"))?,
            property_id: property.id,
            room: RoomName::parse(&room_name).expect("valid"),
            guest: GuestDetails {
                name: format!("Guest {p} {i}"),
                phone: Some(Phone::parse(&format!("+4219{:08}", p * ROOMS + i)).expect("valid")),
                email: None,
                language: Some(Language::english()),
            },
            stay: StayInput::Instants(Stay::new(check_in, check_in + Duration::days(2)).expect("valid")),
            status: BookingStatus::Confirmed,
            verified: Some(true),
        };
        ids.push(upsert_booking(&mut tx, &booking, Actor::System).await?.booking_id);
    }
    // The lock jobs do not run here: the codes are on the locks.
    sqlx::query("UPDATE access_codes c SET state = 'set' FROM locks l WHERE l.id = c.lock_id AND l.property_id = $1")
        .bind(property.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ids)
}

fn lock(property_id: Uuid, room_id: Option<Uuid>, name: &str) -> NewLock {
    NewLock {
        property_id,
        room_id,
        name: name.into(),
        name_translations: Default::default(),
        brand: "Simulated".into(),
        model: "Keypad".into(),
        kind: LockKind::PinPad,
        provider: ProviderKind::Simulated,
        provider_device_id: format!("bench-{}", Uuid::new_v4().simple()),
        code_format: CodeFormat::Numeric,
        code_length: CodeLength::new(6).expect("valid"),
        capacity: 100,
        status: LockStatus::Active,
        backup_codes: 0,
    }
}
