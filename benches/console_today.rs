//! The console's Today page at a hotel's scale: a property with 200 rooms
//! (a lock each, and a shared entrance) and 400 bookings this week, each
//! with its codes; Today rendered through the whole service (session
//! cookie, router, SQL, template) again and again.
//!
//!     cargo bench --bench console_today
//!
//! The codes are all on the locks (a day as it runs; a day of failures
//! lists at most 15 of them at the top, the rest on the Alerts screen).
//!
//! Uses `DATABASE_URL`'s server (a fresh database on it, dropped at the
//! end), or starts a local PostgreSQL. Prints p50/p99, the page's weight,
//! and the SQL statements one page takes for 20 rooms and for 200 (they
//! must be the same); the baseline, in the same run, is the admin API's
//! JSON for one booking. Fails when p99 > 50 ms, the page > 100 KB, or the
//! statement count grows with the rooms.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{Days, Utc};
use doorman::access::audit::Actor;
use doorman::access::bookings::{upsert_booking, BookingRef, BookingUpsert, GuestDetails, StayInput};
use doorman::access::locks::{create_lock, NewLock};
use doorman::access::model::{
    BookingStatus, CodeFormat, CodeLength, Language, LockKind, LockStatus, ProviderKind, Role, RoomName,
};
use doorman::access::phone::Phone;
use doorman::access::properties::{create_property, create_room, Knowledge, NewProperty};
use doorman::access::staff::{create_staff, NewStaff, StaffRoles};
use doorman::access::timezone::Timezone;
use doorman::app::Application;
use doorman::config::Config;
use doorman::db::{LocalOptions, LocalPostgres, MIGRATOR};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::Layer;
use uuid::Uuid;

const REQUESTS: usize = 300;
const P99_LIMIT: Duration = Duration::from_millis(50);
const WEIGHT_LIMIT: usize = 100 * 1024;

/// Every SQL statement sqlx runs, counted from its `sqlx::query` event.
static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

struct CountStatements;

impl<S: tracing::Subscriber> Layer<S> for CountStatements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::new("sqlx::query=trace");
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(CountStatements.with_filter(filter)))?;
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
    let db = PgPoolOptions::new().max_connections(20).connect_with(server.clone().database(&name)).await?;
    MIGRATOR.run(&db).await?;
    let result = measure(&db).await;
    db.close().await;
    sqlx::raw_sql(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    result
}

async fn measure(db: &PgPool) -> anyhow::Result<()> {
    let seeded = Instant::now();
    let small = seed(db, "Small House", 20, "+421900100001").await?;
    let large = seed(db, "Grand Hotel", 200, "+421900100002").await?;
    println!("seeded 220 rooms and 440 bookings in {:.1} s", seeded.elapsed().as_secs_f64());

    let env =
        [("ADMIN_API_TOKEN", "bench-token-0123456789"), ("BIND_ADDR", "127.0.0.1:0"), ("SCHEDULER_ENABLED", "false")];
    let config = Config::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned()))?;
    let app = Application::build(&config, db.clone()).await?;
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;

    let small_cookie = sign_in(db, &client, &base, small).await?;
    let large_cookie = sign_in(db, &client, &base, large).await?;
    let (small_statements, small_bytes) = one_page(&client, &base, &small_cookie).await?;
    let (large_statements, large_bytes) = one_page(&client, &base, &large_cookie).await?;
    println!("SQL statements for one Today: {small_statements} with 20 rooms, {large_statements} with 200 rooms");
    println!(
        "page weight: {small_bytes} bytes with 20 rooms, {large_bytes} bytes with 200 rooms (limit {WEIGHT_LIMIT})"
    );

    let today = latencies(&client, &format!("{base}/admin"), Some(&large_cookie)).await?;
    let api = latencies(&client, &format!("{base}/api/v1/bookings/BK-Grand-Hotel-1"), None).await?;
    report("Today, 200 rooms, 400 bookings", &today);
    report("baseline: GET /api/v1/bookings/{ref} (JSON)", &api);

    anyhow::ensure!(small_statements == large_statements, "the statements grow with the rooms");
    anyhow::ensure!(large_bytes <= WEIGHT_LIMIT, "Today weighs {large_bytes} bytes, over {WEIGHT_LIMIT}");
    let p99 = percentile(&today, 99.0);
    anyhow::ensure!(p99 <= P99_LIMIT, "Today's p99 is {p99:?}, over {P99_LIMIT:?}");
    Ok(())
}

/// A property with `rooms` rooms (a lock each and a shared entrance), two
/// stays a room this week, and its manager; returns the manager's id.
async fn seed(db: &PgPool, name: &str, rooms: usize, manager: &str) -> anyhow::Result<Uuid> {
    let mut tx = db.begin().await?;
    let property = create_property(
        &mut *tx,
        &NewProperty {
            name: name.into(),
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
    let today = Utc::now().date_naive();
    for i in 0..rooms {
        let room_name = format!("{}", 100 + i);
        let room = create_room(&mut tx, property.id, &RoomName::parse(&room_name).expect("valid"), None).await?;
        create_lock(&mut tx, &lock(property.id, Some(room.id), &format!("Room {room_name}"))).await?;
        // Two stays of three nights back to back, spread over the week:
        // arrivals, departures and guests in the house every day.
        let first = today - Days::new(3) + Days::new((i % 5) as u64);
        for (n, check_in) in [(0, first), (1, first + Days::new(3))] {
            let reference = format!("BK-{}-{}", name.replace(' ', "-"), i * 2 + n + 1);
            let booking = BookingUpsert {
                external_ref: BookingRef::parse(&reference)?,
                property_id: property.id,
                room: RoomName::parse(&room_name).expect("valid"),
                guest: GuestDetails {
                    name: format!("Guest {i} {n}"),
                    phone: Some(Phone::parse(&format!("+4219{:08}", i * 2 + n)).expect("valid")),
                    email: None,
                    language: Some(Language::english()),
                },
                stay: StayInput::LocalDates { check_in, check_out: check_in + Days::new(3) },
                status: BookingStatus::Confirmed,
                verified: Some(true),
            };
            upsert_booking(&mut tx, &booking, Actor::System).await?;
        }
    }
    let staff = NewStaff {
        name: format!("Manager of {name}"),
        phone: Some(Phone::parse(manager).expect("valid")),
        telegram_user_id: None,
        roles: StaffRoles::same(Role::Manager, &[property.id]),
        cleaner: false,
    };
    let staff = create_staff(&mut tx, &staff).await?;
    // A day as it runs: the codes are on the locks (the lock jobs do not
    // run here).
    sqlx::query("UPDATE access_codes c SET state = 'set' FROM locks l WHERE l.id = c.lock_id AND l.property_id = $1")
        .bind(property.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(staff.id)
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

/// A session cookie for the staff member, through the login link.
async fn sign_in(db: &PgPool, client: &reqwest::Client, base: &str, staff_id: Uuid) -> anyhow::Result<String> {
    let mut conn = db.acquire().await?;
    let token = doorman::access::sessions::issue_login_link(&mut conn, staff_id, Actor::System, Utc::now()).await?;
    let response = client.post(format!("{base}/admin/login")).form(&[("token", token)]).send().await?;
    let cookie = response.headers().get("set-cookie").ok_or_else(|| anyhow::anyhow!("no session cookie"))?;
    Ok(cookie.to_str()?.split(';').next().unwrap_or_default().to_owned())
}

/// The statements and bytes of one Today.
async fn one_page(client: &reqwest::Client, base: &str, cookie: &str) -> anyhow::Result<(usize, usize)> {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let response = client.get(format!("{base}/admin")).header("cookie", cookie).send().await?;
    anyhow::ensure!(response.status() == 200, "Today answered {}", response.status());
    let bytes = response.bytes().await?.len();
    Ok((STATEMENTS.load(Ordering::SeqCst) - before, bytes))
}

async fn latencies(client: &reqwest::Client, url: &str, cookie: Option<&str>) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        let mut request = client.get(url).bearer_auth("bench-token-0123456789");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let started = Instant::now();
        let response = request.send().await?;
        anyhow::ensure!(response.status() == 200, "{url} answered {}", response.status());
        response.bytes().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(what: &str, sorted: &[Duration]) {
    println!(
        "{what}: {REQUESTS} requests, p50 {:.1} ms, p99 {:.1} ms",
        percentile(sorted, 50.0).as_secs_f64() * 1000.0,
        percentile(sorted, 99.0).as_secs_f64() * 1000.0
    );
}
