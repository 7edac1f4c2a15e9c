//! Webhook ingest under load: signed WhatsApp webhooks sent to a running
//! doorman (in this process, on port 0), measuring sustained messages per
//! second at full speed and the ack latency (p50/p99) at a fixed rate.
//!
//!     cargo bench --bench webhook_ingest
//!
//! The ack path is what is measured: signature check, parse, store in the
//! inbox with its job, 200. The scheduler is off so that the replies'
//! processing does not compete (it is measured by `job_queue`).
//!
//! Baseline, in the same run and database: a bare axum handler that does
//! one `INSERT` of the body and answers 200, under the same load; doorman's
//! figures read as a ratio to it. Memory: the release `doorman serve`
//! binary in a process of its own, its resident set idle and at the peak
//! of the same burst (from `/proc`).

use std::time::{Duration, Instant};

use doorman::app::Application;
use doorman::channels::whatsapp::sign;
use doorman::config::Config;
use doorman::db::{LocalOptions, LocalPostgres, MIGRATOR};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions;

const SECRET: &str = "bench-app-secret";
const BURST: usize = 20_000;
const BURST_CONCURRENCY: usize = 64;
const STEADY_RATE: u64 = 80;
const STEADY_SECONDS: u64 = 15;

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

async fn run(server: PgConnectOptions) -> anyhow::Result<()> {
    let name = format!("doorman_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = server.clone().connect().await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let db = PgPoolOptions::new().max_connections(40).connect_with(server.clone().database(&name)).await?;
    MIGRATOR.run(&db).await?;
    let vars = [
        ("BIND_ADDR", "127.0.0.1:0"),
        ("SCHEDULER_ENABLED", "false"),
        ("WHATSAPP_TOKEN", "bench"),
        ("WHATSAPP_PHONE_NUMBER_ID", "1"),
        ("WHATSAPP_APP_SECRET", SECRET),
    ];
    let config = Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()))?;
    let app = Application::build(&config, db.clone()).await?;
    let url = format!("http://{}/webhooks/whatsapp", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::builder().pool_max_idle_per_host(BURST_CONCURRENCY).build()?;

    println!("webhook ingest benchmark: {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
    let started = Instant::now();
    let mut latencies = burst(&client, &url).await?;
    let elapsed = started.elapsed();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates").fetch_one(&db).await?;
    anyhow::ensure!(stored as usize == BURST, "{stored} of {BURST} updates stored");
    println!(
        "full speed: {BURST} signed webhooks, {BURST_CONCURRENCY} in flight: {:.0} msgs/s sustained, ack p50 {:.2} ms, p99 {:.2} ms",
        BURST as f64 / elapsed.as_secs_f64(),
        percentile(&mut latencies, 0.50),
        percentile(&mut latencies, 0.99),
    );

    let mut latencies = steady(&client, &url, "doorman").await?;
    println!(
        "steady {STEADY_RATE} msgs/s for {STEADY_SECONDS} s: ack p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&mut latencies, 0.50),
        percentile(&mut latencies, 0.99),
        percentile(&mut latencies, 1.0),
    );
    let doorman_rate = BURST as f64 / elapsed.as_secs_f64();

    // The baseline: the same load on a bare handler with one INSERT.
    sqlx::raw_sql("CREATE TABLE bench_bare_inbox (id bigserial PRIMARY KEY, body bytea NOT NULL)").execute(&db).await?;
    let bare_db = db.clone();
    let bare = axum::Router::new().route(
        "/webhooks/whatsapp",
        axum::routing::post(move |body: axum::body::Bytes| {
            let db = bare_db.clone();
            async move {
                match sqlx::query("INSERT INTO bench_bare_inbox (body) VALUES ($1)")
                    .bind(body.to_vec())
                    .execute(&db)
                    .await
                {
                    Ok(_) => axum::http::StatusCode::OK,
                    Err(_) => axum::http::StatusCode::SERVICE_UNAVAILABLE,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let bare_url = format!("http://{}/webhooks/whatsapp", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, bare).await });
    let started = Instant::now();
    let mut latencies = burst(&client, &bare_url).await?;
    let bare_rate = BURST as f64 / started.elapsed().as_secs_f64();
    println!(
        "baseline, bare axum + one INSERT, full speed: {bare_rate:.0} msgs/s, ack p50 {:.2} ms, p99 {:.2} ms; \
         doorman ingests at {:.0} % of it",
        percentile(&mut latencies, 0.50),
        percentile(&mut latencies, 0.99),
        100.0 * doorman_rate / bare_rate
    );
    let mut latencies = steady(&client, &bare_url, "bare").await?;
    println!(
        "baseline, steady {STEADY_RATE} msgs/s: ack p50 {:.2} ms, p99 {:.2} ms",
        percentile(&mut latencies, 0.50),
        percentile(&mut latencies, 0.99),
    );

    memory(&server, &name, &client).await?;

    db.close().await;
    sqlx::raw_sql(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).await?;
    Ok(())
}

async fn burst(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<f64>> {
    burst_with(client, url, "burst").await
}

/// `BURST` webhooks, `BURST_CONCURRENCY` in flight, ids prefixed with `run`.
async fn burst_with(client: &reqwest::Client, url: &str, run: &str) -> anyhow::Result<Vec<f64>> {
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..BURST_CONCURRENCY {
        let (client, url, next, run) = (client.clone(), url.to_owned(), next.clone(), run.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= BURST {
                    return anyhow::Ok(latencies);
                }
                latencies.push(post(&client, &url, &format!("wamid.{run}.{n}")).await?);
            }
        }));
    }
    let mut all = Vec::with_capacity(BURST);
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

async fn steady(client: &reqwest::Client, url: &str, run: &str) -> anyhow::Result<Vec<f64>> {
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / STEADY_RATE));
    let mut tasks = Vec::new();
    for n in 0..STEADY_RATE * STEADY_SECONDS {
        ticker.tick().await;
        let (client, url) = (client.clone(), url.to_owned());
        let id = format!("wamid.steady.{run}.{n}");
        tasks.push(tokio::spawn(async move { post(&client, &url, &id).await }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.push(task.await??);
    }
    Ok(all)
}

/// Sends one signed text message; returns the ack latency in ms.
async fn post(client: &reqwest::Client, url: &str, id: &str) -> anyhow::Result<f64> {
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "1", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550001111", "phone_number_id": "1" },
            "contacts": [{ "profile": { "name": "Load" }, "wa_id": "421900000001" }],
            "messages": [{ "from": "421900000001", "id": id, "timestamp": chrono::Utc::now().timestamp().to_string(), "type": "text",
                           "text": { "body": "how do I get in?" } }]
        }}]}]
    }))?;
    let signature = sign(SECRET.as_bytes(), &body);
    let started = Instant::now();
    let response = client.post(url).header("x-hub-signature-256", signature).body(body).send().await?;
    let latency = started.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(response.status() == 200, "status {}", response.status());
    Ok(latency)
}

/// The release `doorman serve` in its own process on the bench database:
/// resident memory idle, then at the peak of a burst of the same webhooks.
async fn memory(server: &PgConnectOptions, database: &str, client: &reqwest::Client) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = format!("postgres://{}@{}:{}/{database}", server.get_username(), server.get_host(), server.get_port());
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_doorman"))
        .arg("serve")
        .env_clear()
        .env("DATABASE_URL", url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("SCHEDULER_ENABLED", "false")
        .env("WHATSAPP_TOKEN", "bench")
        .env("WHATSAPP_PHONE_NUMBER_ID", "1")
        .env("WHATSAPP_APP_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or_else(|| anyhow::anyhow!("doorman serve exited"))?;
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
        anyhow::ensure!(Instant::now() < deadline, "doorman serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = status_kib(pid, "VmRSS:")?;
    let url = format!("{base}/webhooks/whatsapp");
    // New message ids: the earlier ones are already in the inbox.
    let started = Instant::now();
    burst_with(client, &url, "rss").await?;
    let rate = BURST as f64 / started.elapsed().as_secs_f64();
    let peak = status_kib(pid, "VmHWM:")?;
    let after = status_kib(pid, "VmRSS:")?;
    println!(
        "memory of doorman serve (its own process): idle {:.1} MiB; {BURST} webhooks at {rate:.0} msgs/s: \
         peak {:.1} MiB, {:.1} MiB after",
        idle as f64 / 1024.0,
        peak as f64 / 1024.0,
        after as f64 / 1024.0
    );
    child.start_kill()?;
    child.wait().await?;
    Ok(())
}

/// A field of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with(field)).ok_or_else(|| anyhow::anyhow!("{field} missing"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * q) as usize).min(values.len() - 1)]
}
