//! The morning burst of the guest's journey (SPEC §11): 2,000 check-out
//! reminders due at 08:00 local go out through WhatsApp at the configured
//! provider rate (`WHATSAPP_RATE_PER_SECOND`, 80), with no rate-limit error
//! from the provider, the first within one second of 08:00.
//!
//!     cargo bench --bench journey_burst
//!
//! Uses `DATABASE_URL`'s server (a fresh database on it, dropped at the
//! end), or starts a local PostgreSQL. The bookings are planned by the real
//! `journey::schedule_for_booking`; "08:00" is then moved to 20 seconds
//! from now and the reminders' jobs run at once, as they do a minute before
//! their time (`schedule::WRITE_AHEAD`): they write the messages, due at
//! 08:00. Meta is a mock that answers 130429 (rate limit hit) to any
//! message past the rate in a sliding second, as Meta's throughput limit
//! does.
//!
//! Baseline, in the same run: the same 2,000 messages put straight into the
//! outbox (one `send_message` job each, due at once), the bare sending
//! path without the rule's job in front of it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use doorman::app::Application;
use doorman::config::Config;
use doorman::db::{LocalOptions, LocalPostgres, MIGRATOR};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const REMINDERS: usize = 2_000;
const RATE: usize = 80;

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

/// What the mock Meta saw.
#[derive(Default)]
struct Seen {
    accepted: Vec<DateTime<Utc>>,
    window: VecDeque<DateTime<Utc>>,
    refused: usize,
}

async fn meta(seen: Arc<Mutex<Seen>>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(move |_: &wiremock::Request| {
            let now = Utc::now();
            let mut seen = seen.lock().unwrap();
            while seen.window.front().is_some_and(|t| now - *t >= chrono::Duration::seconds(1)) {
                seen.window.pop_front();
            }
            if seen.window.len() >= RATE {
                seen.refused += 1;
                return ResponseTemplate::new(400).set_body_json(json!({ "error": {
                    "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429, "fbtrace_id": "x" } }));
            }
            seen.window.push_back(now);
            seen.accepted.push(now);
            ResponseTemplate::new(200).set_body_json(json!({ "messaging_product": "whatsapp",
                "messages": [{ "id": format!("wamid.{}", uuid::Uuid::new_v4().simple()) }] }))
        })
        .mount(&server)
        .await;
    server
}

async fn database(server: &PgConnectOptions) -> anyhow::Result<(String, PgPool)> {
    let name = format!("doorman_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = server.clone().connect().await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let db = PgPoolOptions::new().max_connections(40).connect_with(server.clone().database(&name)).await?;
    MIGRATOR.run(&db).await?;
    Ok((name, db))
}

async fn run(server: PgConnectOptions) -> anyhow::Result<()> {
    println!(
        "journey burst benchmark: {REMINDERS} check-out reminders, WhatsApp at {RATE}/s, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let reminders = burst(&server, true).await?;
    let baseline = burst(&server, false).await?;
    for (label, figures) in [("check-out reminders (rule jobs)", reminders), ("baseline: outbox only", baseline)] {
        println!(
            "{label}: {} sent in {:.1} s ({:.1}/s, ideal {:.1} s at {RATE}/s), first {} ms after 08:00, {} refused by the rate limit",
            figures.sent, figures.seconds, figures.sent as f64 / figures.seconds, REMINDERS as f64 / RATE as f64,
            figures.first_ms, figures.refused
        );
    }
    Ok(())
}

struct Figures {
    sent: usize,
    seconds: f64,
    first_ms: i64,
    refused: usize,
}

/// One burst: the reminders planned by the rules (`rules`), or the same
/// messages put into the outbox directly.
async fn burst(server: &PgConnectOptions, rules: bool) -> anyhow::Result<Figures> {
    let (name, db) = database(server).await?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let mock = meta(seen.clone()).await;
    seed(&db).await?;
    if rules {
        plan(&db).await?;
    }
    let base = format!("{}/v26.0", mock.uri());
    let rate = RATE.to_string();
    let vars = [
        ("BIND_ADDR", "127.0.0.1:0"),
        ("WHATSAPP_TOKEN", "bench"),
        ("WHATSAPP_PHONE_NUMBER_ID", "1"),
        ("WHATSAPP_APP_SECRET", "bench-secret"),
        ("WHATSAPP_API_BASE", base.as_str()),
        ("WHATSAPP_RATE_PER_SECOND", rate.as_str()),
    ];
    let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))?;
    let app = Application::build(&config, db.clone()).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    // "08:00" is 20 seconds from now; the reminders' jobs run now, as they
    // do a minute before 08:00 (`schedule::WRITE_AHEAD`), and write the
    // messages due at 08:00.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let eight: DateTime<Utc> = sqlx::query_scalar("SELECT now() + interval '20 seconds'").fetch_one(&db).await?;
    if rules {
        sqlx::query("UPDATE scheduled_messages SET due_at = $1, send_at = $1 WHERE rule = 'check_out_reminder'")
            .bind(eight)
            .execute(&db)
            .await?;
        sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'send_rule_message'").execute(&db).await?;
        let written = wait_until_written(&db).await?;
        println!("wrote {REMINDERS} reminders (text, outbox rows, jobs) in {written:.1} s, before 08:00");
    } else {
        enqueue_directly(&db, eight).await?;
    }
    wait_until_sent(&db).await?;
    let _ = stop.send(());
    let _ = running.await;
    let figures = {
        let seen = seen.lock().unwrap();
        let (first, last) = (seen.accepted.first().copied(), seen.accepted.last().copied());
        Figures {
            sent: seen.accepted.len(),
            seconds: first.zip(last).map_or(0.0, |(f, l)| (l - f).num_milliseconds() as f64 / 1000.0),
            first_ms: first.map_or(-1, |f| (f - eight).num_milliseconds()),
            refused: seen.refused,
        }
    };
    drop(db);
    let mut admin = server.clone().connect().await?;
    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
    Ok(figures)
}

/// A property with 50 rooms and 2,000 confirmed stays checking out
/// tomorrow, each guest with a phone.
async fn seed(db: &PgPool) -> anyhow::Result<()> {
    sqlx::raw_sql(&format!(
        "INSERT INTO properties (id, name, timezone, notify_channels)
             VALUES ('00000000-0000-0000-0000-000000000001', 'Old Town Flats', 'Europe/Bratislava', ARRAY['whatsapp']);
         INSERT INTO rooms (property_id, name)
             SELECT '00000000-0000-0000-0000-000000000001', n::text FROM generate_series(1, 50) n;
         INSERT INTO guests (name, phone, language)
             SELECT 'Guest ' || n, '+4219' || lpad(n::text, 8, '0'), 'en' FROM generate_series(1, {REMINDERS}) n;
         INSERT INTO bookings (external_ref, property_id, room_id, guest_id, check_in_at, check_out_at, status)
             SELECT 'BK-' || g.n, '00000000-0000-0000-0000-000000000001',
                    (SELECT id FROM rooms ORDER BY name OFFSET (g.n % 50) LIMIT 1), g.id,
                    now() - interval '2 days', (date_trunc('day', now()) + interval '1 day 10 hours'), 'confirmed'
             FROM (SELECT id, row_number() OVER (ORDER BY phone) AS n FROM guests) g;"
    ))
    .execute(db)
    .await?;
    Ok(())
}

/// Plans every booking's messages through the real hook, as the booking
/// lifecycle does, and keeps only the check-out reminders' jobs.
async fn plan(db: &PgPool) -> anyhow::Result<()> {
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM bookings").fetch_all(db).await?;
    let started = std::time::Instant::now();
    for chunk in ids.chunks(200) {
        let mut tx = db.begin().await?;
        let mut jobs = doorman::jobs::queue::Batch::default();
        for id in chunk {
            jobs.append(doorman::access::journey::schedule_for_booking(&mut tx, *id, Utc::now()).await?);
        }
        jobs.enqueue(&mut tx).await?;
        tx.commit().await?;
    }
    println!("planned {} bookings' messages in {:.1} s", ids.len(), started.elapsed().as_secs_f64());
    sqlx::query("DELETE FROM jobs WHERE NOT (kind = 'send_rule_message' AND payload->>'rule' = 'check_out_reminder')")
        .execute(db)
        .await?;
    let reminders: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(db).await?;
    anyhow::ensure!(reminders as usize == REMINDERS, "{reminders} reminders planned");
    Ok(())
}

/// The baseline: the same messages as outbox rows with their jobs.
async fn enqueue_directly(db: &PgPool, at: DateTime<Utc>) -> anyhow::Result<()> {
    sqlx::query(
        "WITH n AS (
             INSERT INTO notifications (booking_id, channel, recipient, template, body, template_params, language, dedupe_key)
             SELECT b.id, 'whatsapp', g.phone, 'check_out_reminder', 'Good morning!',
                    '{\"name\": \"doorman_check_out_reminder\", \"params\": [\"Old Town Flats\", \"Good morning!\"]}', 'en',
                    'bench:' || b.id
             FROM bookings b JOIN guests g ON g.id = b.guest_id RETURNING id)
         INSERT INTO jobs (kind, payload, dedupe_key, run_at, max_attempts)
         SELECT 'send_message', json_build_object('notification_id', id), 'send_message:' || id, $1, 12 FROM n",
    )
    .bind(at)
    .execute(db)
    .await?;
    Ok(())
}

async fn wait_until_written(db: &PgPool) -> anyhow::Result<f64> {
    let started = std::time::Instant::now();
    loop {
        let written: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications").fetch_one(db).await?;
        if written as usize >= REMINDERS {
            return Ok(started.elapsed().as_secs_f64());
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(19), "only {written} written before 08:00");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_until_sent(db: &PgPool) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let sent: i64 =
            sqlx::query_scalar("SELECT count(*) FROM notifications WHERE status <> 'queued'").fetch_one(db).await?;
        if sent as usize >= REMINDERS {
            return Ok(());
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "only {sent} of {REMINDERS} sent in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
