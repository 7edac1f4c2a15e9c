//! The job queue itself: claims, dedupe, retries, release, leases.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use doorman::app::run_pending_jobs;
use doorman::context::JobContext;
use doorman::jobs::{queue, Worker, WorkerSettings};
use doorman::lock_providers::{
    CodeRequest, Created, Device, DeviceCode, DeviceStatus, LockProvider, ProviderResult, Providers,
};
use uuid::Uuid;

use crate::helpers::{codes_of, fresh_database, TestApp};
use doorman::access::jobs::ExpireCode;
use doorman::db::housekeeping::Prune;
use doorman::jobs::Ping;

async fn enqueue_pings(db: &sqlx::PgPool, n: u64) {
    let mut tx = db.begin().await.unwrap();
    for seq in 0..n {
        queue::enqueue(&mut tx, &Ping { seq }, Utc::now()).await.unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn two_workers_never_claim_the_same_job() {
    let db = fresh_database().await;
    enqueue_pings(&db, 300).await;
    let claim_all = |worker: &'static str| {
        let db = db.clone();
        tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let batch = queue::claim(&db, worker, 7, Duration::from_secs(60)).await.unwrap();
                if batch.is_empty() {
                    return ids;
                }
                ids.extend(batch.iter().map(|c| c.id));
            }
        })
    };
    let (a, b) = tokio::join!(claim_all("a"), claim_all("b"));
    let (a, b) = (a.unwrap(), b.unwrap());
    let a_set: HashSet<i64> = a.iter().copied().collect();
    let b_set: HashSet<i64> = b.iter().copied().collect();
    assert!(a_set.is_disjoint(&b_set), "a job was claimed twice");
    assert_eq!(a_set.len() + b_set.len(), 300);
    assert!(!a.is_empty() && !b.is_empty(), "both workers got work");
}

#[tokio::test]
async fn waiting_jobs_with_one_key_are_merged_and_take_the_latest_time() {
    let db = fresh_database().await;
    let code_id = Uuid::new_v4();
    let later = Utc::now() + chrono::Duration::hours(3);
    let mut tx = db.begin().await.unwrap();
    queue::enqueue(&mut tx, &ExpireCode { code_id }, Utc::now() + chrono::Duration::hours(1)).await.unwrap();
    queue::enqueue(&mut tx, &ExpireCode { code_id }, later).await.unwrap();
    tx.commit().await.unwrap();
    let rows: Vec<(chrono::DateTime<Utc>,)> = sqlx::query_as("SELECT run_at FROM jobs").fetch_all(&db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].0.timestamp(), later.timestamp());
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let db = fresh_database().await;
    let mut tx = db.begin().await.unwrap();
    queue::enqueue(&mut tx, &Ping { seq: 1 }, Utc::now()).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(queue::claim(&db, "w", 10, Duration::from_secs(60)).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_dead_workers_jobs_are_claimed_again_after_its_lease() {
    let db = fresh_database().await;
    enqueue_pings(&db, 1).await;
    let first = queue::claim(&db, "crashed", 1, Duration::from_millis(1)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(queue::claim(&db, "other", 1, Duration::from_secs(60)).await.unwrap().is_empty());
    sqlx::query("UPDATE jobs SET locked_until = now() - interval '1 second'").execute(&db).await.unwrap();
    assert_eq!(queue::reclaim_expired(&db).await.unwrap(), 1);
    let again = queue::claim(&db, "other", 1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again[0].id, first[0].id);
    assert_eq!(again[0].attempt, 2);
}

#[tokio::test]
async fn the_worker_runs_notified_jobs_and_releases_claims_when_stopped() {
    let app = TestApp::spawn().await;
    let ctx: JobContext = app.jobs.clone();
    let settings = WorkerSettings { tick: Duration::from_secs(30), ..WorkerSettings::default() };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(Worker::new(doorman::app::runner(ctx), settings).run(stopped));
    enqueue_pings(&app.db, 50).await;
    // The tick is 30 s: only LISTEN/NOTIFY can get these done quickly.
    let done = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let left: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&app.db).await.unwrap();
            if left == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(done.is_ok(), "the notified worker ran the jobs");
    stop.send(true).unwrap();
    worker.await.unwrap();

    // A job a stopped worker held goes back to the queue.
    enqueue_pings(&app.db, 1).await;
    queue::claim(&app.db, "stopping", 1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(queue::release(&app.db, "stopping").await.unwrap(), 1);
    let state: String = sqlx::query_scalar("SELECT state FROM jobs").fetch_one(&app.db).await.unwrap();
    assert_eq!(state, "queued");
}

#[tokio::test]
async fn the_nightly_clean_up_deletes_old_processed_webhooks_and_dead_jobs_only() {
    let app = TestApp::spawn().await;
    let insert = "INSERT INTO inbound_updates (channel, provider_id, kind, payload, received_at, processed_at)
                  VALUES ('whatsapp', $1, 'message', '{}', now() - make_interval(days => $2), $3)";
    for (id, age, processed) in [("old-done", 40, true), ("old-stuck", 40, false), ("recent-done", 3, true)] {
        let processed_at = processed.then(|| chrono::Utc::now() - chrono::Duration::days(age.into()));
        sqlx::query(insert).bind(id).bind(age).bind(processed_at).execute(&app.db).await.unwrap();
    }
    sqlx::query(
        "INSERT INTO jobs (kind, payload, state, updated_at) VALUES
             ('ping', '{\"kind\":\"ping\",\"seq\":1}', 'dead', now() - interval '40 days'),
             ('ping', '{\"kind\":\"ping\",\"seq\":2}', 'dead', now() - interval '2 days')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    doorman::jobs::queue::enqueue(&mut conn, &Prune {}, chrono::Utc::now()).await.unwrap();
    app.run_jobs().await;

    let left: Vec<String> = sqlx::query_scalar("SELECT provider_id FROM inbound_updates ORDER BY provider_id")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(left, ["old-stuck", "recent-done"], "an update never processed is kept for people to look at");
    let dead: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'dead'").fetch_one(&app.db).await.unwrap();
    assert_eq!(dead, 1, "the recent dead job stays");
    let next: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT run_at FROM jobs WHERE kind = 'prune' AND state = 'queued'")
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert!(next > chrono::Utc::now() && next < chrono::Utc::now() + chrono::Duration::days(1), "{next}");
}

/// A lock provider with a bug: every call panics, its message quoting a code.
struct Panicking;

#[async_trait::async_trait]
impl LockProvider for Panicking {
    async fn create_code(&self, _: &Device, _: &CodeRequest) -> ProviderResult<Created> {
        panic!("index out of range while sending code 4829 to the lock")
    }
    async fn update_code(&self, _: &Device, _: &str, _: &CodeRequest) -> ProviderResult<()> {
        panic!("update_code")
    }
    async fn remove_code(&self, _: &Device, _: &str) -> ProviderResult<()> {
        panic!("remove_code")
    }
    async fn list_codes(&self, _: &Device) -> ProviderResult<Vec<DeviceCode>> {
        panic!("list_codes")
    }
    async fn device_status(&self, _: &Device) -> ProviderResult<DeviceStatus> {
        panic!("device_status")
    }
}

/// A confirmed booking of room 101 from tomorrow: its codes' programming
/// jobs are due now.
async fn book_room_101(app: &TestApp, reference: &str) {
    let fixture = app.seed_property().await;
    let check_in = Utc::now() + chrono::Duration::days(1);
    let booking = serde_json::json!({
        "property_id": fixture.property_id, "room": "101",
        "guest": { "name": "Anna Novak", "phone": "+421900000001" },
        "check_in_at": check_in, "check_out_at": check_in + chrono::Duration::days(2), "status": "confirmed",
    });
    assert!(app.put(&format!("/api/v1/bookings/{reference}"), &booking).await.status().is_success());
}

async fn program_code_jobs(db: &sqlx::PgPool) -> Vec<(String, i32, String)> {
    sqlx::query_as("SELECT state, attempts, coalesce(last_error, '') FROM jobs WHERE kind = 'program_code'")
        .fetch_all(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_job_that_panics_is_dead_at_once_and_its_on_dead_handling_runs() {
    let app = TestApp::spawn().await;
    book_room_101(&app, "BK-PANIC").await;
    let buggy = JobContext { providers: Providers::new(Arc::new(Panicking)), ..app.jobs.clone() };
    run_pending_jobs(&buggy).await;

    let jobs = program_code_jobs(&app.db).await;
    assert_eq!(jobs.len(), 2, "one code for the entrance, one for room 101");
    for (state, attempts, error) in &jobs {
        assert_eq!((state.as_str(), *attempts), ("dead", 1), "buried after its first attempt");
        assert!(error.starts_with("the job panicked: index out of range"), "{error}");
        assert!(!error.contains("4829"), "the stored message is redacted: {error}");
    }
    let codes = codes_of(&app, "BK-PANIC").await;
    assert!(codes.iter().all(|c| c["state"] == "failed"), "gave_up_programming ran: {codes:?}");
}

#[tokio::test]
async fn a_job_whose_every_attempt_was_started_and_never_finished_is_buried_not_run() {
    let app = TestApp::spawn().await;
    book_room_101(&app, "BK-CRASHES").await;
    // As if the process had died during each of the twelve attempts.
    sqlx::query(
        "UPDATE jobs SET state = 'running', attempts = max_attempts, locked_by = 'crashed',
             locked_until = now() - interval '1 second'
         WHERE kind = 'program_code'",
    )
    .execute(&app.db)
    .await
    .unwrap();
    assert_eq!(queue::reclaim_expired(&app.db).await.unwrap(), 2);
    app.run_jobs().await;

    for (state, attempts, error) in program_code_jobs(&app.db).await {
        assert_eq!((state.as_str(), attempts), ("dead", 13));
        assert_eq!(error, "none of its 12 attempts finished");
    }
    let codes = codes_of(&app, "BK-CRASHES").await;
    assert!(codes.iter().all(|c| c["state"] == "failed"), "never programmed, and on_dead ran: {codes:?}");
}

#[tokio::test]
async fn the_nightly_clean_up_deletes_replies_outside_a_booking_after_30_days() {
    let app = TestApp::spawn().await;
    let insert = "INSERT INTO notifications (channel, recipient, template, body, status, created_at)
                  VALUES ('whatsapp', '+421900000009', $1, $2, $3, now() - make_interval(days => $4))";
    for (template, body, status, age) in [
        ("reply", "old answer to a stranger", "sent", 40),
        ("reply", "old failed answer", "failed", 40),
        ("reply", "recent answer", "sent", 3),
        ("reply", "old answer still waiting to go", "queued", 40),
        ("alert", "old staff alert", "sent", 40),
        ("pre_arrival", "old pre-arrival", "delivered", 40),
    ] {
        sqlx::query(insert).bind(template).bind(body).bind(status).bind(age).execute(&app.db).await.unwrap();
    }
    let mut conn = app.db.acquire().await.unwrap();
    queue::enqueue(&mut conn, &Prune {}, Utc::now()).await.unwrap();
    app.run_jobs().await;

    let left: Vec<Option<String>> = sqlx::query_scalar("SELECT body FROM notifications ORDER BY body NULLS FIRST")
        .fetch_all(&app.db)
        .await
        .unwrap();
    let left: Vec<Option<&str>> = left.iter().map(Option::as_deref).collect();
    assert_eq!(
        left,
        [None, Some("old answer still waiting to go"), Some("old staff alert"), Some("recent answer")],
        "the old pre-arrival message is kept as a record, without its text (security review M8)"
    );
}
