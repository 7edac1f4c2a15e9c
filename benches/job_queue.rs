//! The job queue under load: throughput (jobs/s dispatched by one instance)
//! and enqueue-to-start latency (p50/p99) at a steady rate.
//!
//!     cargo bench --bench job_queue
//!
//! Uses `DATABASE_URL`'s server (a fresh database on it, dropped at the
//! end), or starts a local PostgreSQL with durable settings. Jobs are
//! `ping`s, which do nothing: this measures the queue, not a lock.
//!
//! Baseline, in the same run and database: the bare minimum of a
//! PostgreSQL queue, one `DELETE ... FOR UPDATE SKIP LOCKED ... RETURNING`
//! per job from 32 connections, no claim, lease or outcome; doorman's
//! figure reads as a ratio to it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use doorman::channels::outbox::Senders;
use doorman::context::JobContext;
use doorman::db::{LocalOptions, LocalPostgres, MIGRATOR};
use doorman::jobs::Ping;
use doorman::jobs::{queue, Worker, WorkerSettings};
use doorman::lock_providers::simulated::{SimulatedProvider, SimulatedSettings};
use doorman::lock_providers::Providers;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

const THROUGHPUT_JOBS: u64 = 20_000;
const LATENCY_JOBS: u64 = 2_000;
const LATENCY_INTERVAL: Duration = Duration::from_millis(5);

fn main() -> anyhow::Result<()> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install()?;
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
    let result = runtime.block_on(run(server, snapshotter));
    drop(local);
    result
}

async fn run(server: PgConnectOptions, snapshotter: Snapshotter) -> anyhow::Result<()> {
    let name = format!("doorman_bench_{}", uuid::Uuid::new_v4().simple());
    let mut admin = server.clone().connect().await?;
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let db = PgPoolOptions::new().max_connections(40).connect_with(server.clone().database(&name)).await?;
    MIGRATOR.run(&db).await?;
    let providers = Providers::new(Arc::new(SimulatedProvider::new(db.clone(), SimulatedSettings::default())));
    let ctx = JobContext {
        db: db.clone(),
        providers,
        senders: Senders::default(),
        llm: None,
        inbound_per_minute: 30,
        feeds: doorman::feeds::FeedFetcher::new(chrono::Duration::minutes(10), doorman::feeds::fetch::FETCH_TIMEOUT),
        channel_managers: doorman::integrations::Clients::default(),
        public_base_url: "http://127.0.0.1:8080".into(),
    };

    println!("job queue benchmark: {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));
    let (jobs_per_s, elapsed) = throughput(&ctx).await?;
    println!(
        "throughput: {THROUGHPUT_JOBS} jobs in {:.2} s = {jobs_per_s:.0} jobs/s (one instance, concurrency 32)",
        elapsed.as_secs_f64()
    );
    let (baseline, _) = bare_queue(&db).await?;
    println!(
        "baseline, bare SKIP LOCKED dequeue: {baseline:.0} jobs/s; doorman's queue runs at {:.0} % of it",
        100.0 * jobs_per_s / baseline
    );
    snapshotter.snapshot(); // forget the lag of the bulk-enqueued jobs
    let (p50, p99, max) = latency(&ctx, &snapshotter).await?;
    println!(
        "enqueue-to-start latency at {:.0} jobs/s: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({LATENCY_JOBS} jobs)",
        1.0 / LATENCY_INTERVAL.as_secs_f64(),
        p50 * 1e3,
        p99 * 1e3,
        max * 1e3
    );

    db.close().await;
    sqlx::raw_sql(&format!("DROP DATABASE {name}")).execute(&mut admin).await?;
    Ok(())
}

/// Enqueues `THROUGHPUT_JOBS` pings, then times one worker draining them.
async fn throughput(ctx: &JobContext) -> anyhow::Result<(f64, Duration)> {
    for chunk in 0..THROUGHPUT_JOBS / 1000 {
        let mut tx = ctx.db.begin().await?;
        for seq in chunk * 1000..(chunk + 1) * 1000 {
            queue::enqueue(&mut tx, &Ping { seq }, Utc::now()).await?;
        }
        tx.commit().await?;
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = WorkerSettings { concurrency: 32, ..WorkerSettings::default() };
    let started = Instant::now();
    let worker = tokio::spawn(Worker::new(doorman::app::runner(ctx.clone()), settings).run(stopped));
    wait_until_empty(&ctx.db).await?;
    let elapsed = started.elapsed();
    stop.send(true)?;
    worker.await?;
    Ok((THROUGHPUT_JOBS as f64 / elapsed.as_secs_f64(), elapsed))
}

/// The same number of rows in a bare table, drained one `DELETE` per job
/// by 32 concurrent connections.
async fn bare_queue(db: &PgPool) -> anyhow::Result<(f64, Duration)> {
    sqlx::raw_sql("CREATE TABLE bench_bare_queue (id bigserial PRIMARY KEY, payload jsonb NOT NULL)")
        .execute(db)
        .await?;
    sqlx::query(
        "INSERT INTO bench_bare_queue (payload) SELECT jsonb_build_object('seq', n) FROM generate_series(1, $1) n",
    )
    .bind(THROUGHPUT_JOBS as i64)
    .execute(db)
    .await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let taken: Option<i64> = sqlx::query_scalar(
                    "DELETE FROM bench_bare_queue WHERE id = (
                         SELECT id FROM bench_bare_queue ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
                     RETURNING id",
                )
                .fetch_optional(&db)
                .await?;
                if taken.is_none() {
                    return anyhow::Ok(());
                }
            }
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    Ok((THROUGHPUT_JOBS as f64 / elapsed.as_secs_f64(), elapsed))
}

/// Enqueues one ping per transaction at a steady rate while a worker runs,
/// and reads the start lag the worker recorded for each.
async fn latency(ctx: &JobContext, snapshotter: &Snapshotter) -> anyhow::Result<(f64, f64, f64)> {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = WorkerSettings { concurrency: 16, ..WorkerSettings::default() };
    let worker = tokio::spawn(Worker::new(doorman::app::runner(ctx.clone()), settings).run(stopped));
    tokio::time::sleep(Duration::from_millis(200)).await; // LISTEN is up
    let mut ticker = tokio::time::interval(LATENCY_INTERVAL);
    for seq in 0..LATENCY_JOBS {
        ticker.tick().await;
        let mut tx = ctx.db.begin().await?;
        queue::enqueue(&mut tx, &Ping { seq }, Utc::now()).await?;
        tx.commit().await?;
    }
    wait_until_empty(&ctx.db).await?;
    stop.send(true)?;
    worker.await?;

    let mut lags: Vec<f64> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == "doorman_job_start_lag_seconds")
        .flat_map(|(.., value)| match value {
            DebugValue::Histogram(values) => values.into_iter().map(|v| v.into_inner()).collect(),
            _ => Vec::new(),
        })
        .collect();
    anyhow::ensure!(!lags.is_empty(), "no lag was recorded");
    lags.sort_by(f64::total_cmp);
    let at = |q: f64| lags[((lags.len() as f64 * q) as usize).min(lags.len() - 1)];
    Ok((at(0.50), at(0.99), lags[lags.len() - 1]))
}

async fn wait_until_empty(db: &PgPool) -> anyhow::Result<()> {
    loop {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state <> 'dead'").fetch_one(db).await?;
        if left == 0 {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
