//! Faults under load: the service killed with SIGKILL while signed webhooks
//! arrive, and PostgreSQL restarted under it. Meta is a mock server; each
//! message comes from its own number, so the replies Meta receives can be
//! counted per message. A message Meta got no 200 for is delivered again,
//! as Meta does.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use doorman::channels::whatsapp::sign;
use serde_json::{json, Value};
use sqlx::PgPool;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{fresh_database, TestApp, LOG_DIR};
use doorman::devices::CheckLocks;

const APP_SECRET: &str = "fault-app-secret";
const PHONE_NUMBER_ID: &str = "106540352242922";

/// Meta, accepting every message.
async fn meta() -> MockServer {
    let meta = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v26.0/{PHONE_NUMBER_ID}/messages")))
        .respond_with(|request: &wiremock::Request| {
            let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
            ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{ "input": body["to"], "wa_id": body["to"] }],
                "messages": [{ "id": format!("wamid.{}", uuid::Uuid::new_v4().simple()) }]
            }))
        })
        .mount(&meta)
        .await;
    meta
}

/// The sender of message `n`.
fn sender(n: usize) -> String {
    format!("4477009{n:05}")
}

fn webhook(n: usize) -> Vec<u8> {
    let from = sender(n);
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "102290129340398", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": { "display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID },
            "contacts": [{ "profile": { "name": "Guest" }, "wa_id": from }],
            "messages": [{ "from": from, "id": format!("wamid.FAULT{n:05}"), "timestamp": chrono::Utc::now().timestamp().to_string(),
                           "type": "text", "text": { "body": "hello" } }]
        }}]}]
    }))
    .unwrap()
}

/// Posts message `n`; whether it got a 200.
async fn deliver(client: &reqwest::Client, base: &str, n: usize) -> bool {
    let body = webhook(n);
    let response = client
        .post(format!("{base}/webhooks/whatsapp"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(APP_SECRET.as_bytes(), &body))
        .body(body)
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    response.is_ok_and(|r| r.status() == 200)
}

/// Sends new messages one after another for `duration`; `next` is the next
/// message number; the ones that got no 200 go to `unacked`.
async fn load(client: &reqwest::Client, base: &str, next: &mut usize, duration: Duration, unacked: &mut Vec<usize>) {
    let until = Instant::now() + duration;
    while Instant::now() < until {
        if !deliver(client, base, *next).await {
            unacked.push(*next);
        }
        *next += 1;
    }
}

/// Sends new messages for at least `duration` and until `accepted` of them
/// got a 200 (at most a minute): a slow machine, whose database stalls for
/// a second while a freshly started service warms up, still puts the
/// service under load before it is killed.
async fn load_until_accepted(
    client: &reqwest::Client,
    base: &str,
    next: &mut usize,
    duration: Duration,
    accepted: usize,
    unacked: &mut Vec<usize>,
) {
    let (first, deadline) = (*next, Instant::now() + Duration::from_secs(60));
    load(client, base, next, duration, unacked).await;
    while *next - first - unacked.iter().filter(|n| **n >= first).count() < accepted && Instant::now() < deadline {
        load(client, base, next, Duration::from_millis(100), unacked).await;
    }
}

/// Delivers `unacked` again until each gets a 200, as Meta retries.
async fn redeliver(client: &reqwest::Client, base: &str, unacked: &mut Vec<usize>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !unacked.is_empty() {
        assert!(Instant::now() < deadline, "messages {unacked:?} were never accepted");
        let mut still = Vec::new();
        for &n in unacked.iter() {
            if !deliver(client, base, n).await {
                still.push(n);
            }
        }
        *unacked = still;
        if !unacked.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Replies Meta received, by recipient, once every one of `messages`
/// senders has one (or a minute has passed), plus a second for strays.
async fn replies(meta: &MockServer, messages: usize) -> HashMap<String, usize> {
    let count = |requests: Vec<wiremock::Request>| {
        let mut by_recipient: HashMap<String, usize> = HashMap::new();
        for request in requests {
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            *by_recipient.entry(body["to"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
        }
        by_recipient
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if count(meta.received_requests().await.unwrap()).len() >= messages {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    count(meta.received_requests().await.unwrap())
}

/// Attempts made to send the reply to each recipient.
async fn send_attempts(db: &PgPool) -> HashMap<String, i32> {
    let rows: Vec<(String, i32)> =
        sqlx::query_as("SELECT recipient, send_attempts FROM notifications").fetch_all(db).await.unwrap();
    rows.into_iter().map(|(to, attempts)| (to.trim_start_matches('+').to_owned(), attempts)).collect()
}

/// `postgres://` URL of the database behind `db`.
fn database_url(db: &PgPool) -> String {
    let options = db.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().expect("a test database name")
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The real `doorman serve` binary, its logs appended to the test logs.
async fn start_binary(database_url: &str, port: u16, meta: &MockServer) -> tokio::process::Child {
    std::fs::create_dir_all(LOG_DIR).unwrap();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(Path::new(LOG_DIR).join(format!("serve-{}.log", std::process::id())))
        .unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_doorman"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("WHATSAPP_TOKEN", "fault-wa-token")
        .env("WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID)
        .env("WHATSAPP_APP_SECRET", APP_SECRET)
        .env("WHATSAPP_API_BASE", format!("{}/v26.0", meta.uri()))
        .env("WHATSAPP_RATE_PER_SECOND", "1000")
        .env("SCHEDULER_TICK_MS", "50")
        .env("SCHEDULER_LEASE_SECS", "3")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info,sqlx=warn")
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("starting the doorman binary");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return child;
        }
        assert!(Instant::now() < deadline, "doorman serve did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn killed_with_sigkill_under_load_every_accepted_message_is_answered_once() {
    let db = fresh_database().await;
    let meta = meta().await;
    let url = database_url(&db);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let (mut next, mut unacked) = (0, Vec::new());

    let mut service = start_binary(&url, port, &meta).await;
    load_until_accepted(&client, &base, &mut next, Duration::from_millis(1500), 40, &mut unacked).await;
    service.start_kill().unwrap(); // SIGKILL: no shutdown, no release of claimed jobs
    service.wait().await.unwrap();
    let accepted_before_the_kill = next - unacked.len();
    load(&client, &base, &mut next, Duration::from_millis(300), &mut unacked).await;

    let _service = start_binary(&url, port, &meta).await;
    load(&client, &base, &mut next, Duration::from_millis(1000), &mut unacked).await;
    let refused = unacked.len();
    redeliver(&client, &base, &mut unacked).await;

    let messages = next;
    assert!(accepted_before_the_kill >= 20, "the load reached the service: {accepted_before_the_kill}");
    assert!(refused > 0, "some messages arrived while the service was down");
    let replies = replies(&meta, messages).await;
    let attempts = send_attempts(&db).await;
    let mut resent_after_the_kill = 0;
    for n in 0..messages {
        let to = sender(n);
        let got = replies.get(&to).copied().unwrap_or(0);
        let tries = attempts.get(&to).copied().unwrap_or(0);
        match got {
            1 => {}
            // The send was under way when the process died: Meta may have
            // taken it, and doorman sends again rather than lose it.
            2 if tries >= 2 => resent_after_the_kill += 1,
            _ => panic!("message {n} got {got} replies ({tries} send attempts)"),
        }
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates").fetch_one(&db).await.unwrap();
    assert_eq!(stored, messages as i64, "each message stored once");
    let notifications: i64 = sqlx::query_scalar("SELECT count(*) FROM notifications").fetch_one(&db).await.unwrap();
    assert_eq!(notifications, messages as i64, "each message answered once");
    assert!(resent_after_the_kill <= 16, "at most the sends in flight at the kill: {resent_after_the_kill}");
    println!(
        "{messages} messages, {accepted_before_the_kill} accepted before the kill, {refused} refused and \
         redelivered, {resent_after_the_kill} replies sent twice (in flight at the kill)"
    );
}

#[tokio::test]
async fn postgresql_restarted_under_load_the_service_recovers_by_itself_and_answers_each_message_once() {
    // A server of this test's own, to restart.
    let dir = std::env::temp_dir().join(format!("doorman-fault-pg-{}", uuid::Uuid::new_v4().simple()));
    let server_dir = dir.clone();
    let server = tokio::task::spawn_blocking(move || {
        doorman::db::LocalPostgres::start(&server_dir, doorman::db::LocalOptions { ephemeral: true })
    })
    .await
    .unwrap()
    .expect("starting a PostgreSQL of the test's own with the installed binaries");
    doorman::db::ensure_database(&server.url("postgres"), "doorman").await.unwrap();
    let db = doorman::db::pool(&server.url("doorman")).unwrap();
    doorman::db::migrate(&db).await.unwrap();

    let meta = meta().await;
    let meta_base = format!("{}/v26.0", meta.uri());
    let app = TestApp::spawn_on(
        db.clone(),
        &[
            ("WHATSAPP_TOKEN", "fault-wa-token"),
            ("WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID),
            ("WHATSAPP_APP_SECRET", APP_SECRET),
            ("WHATSAPP_API_BASE", &meta_base),
            ("WHATSAPP_RATE_PER_SECOND", "1000"),
            ("SCHEDULER_ENABLED", "true"),
            ("SCHEDULER_TICK_MS", "50"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let (mut next, mut unacked) = (0, Vec::new());
    load(&client, &app.address, &mut next, Duration::from_millis(1000), &mut unacked).await;

    let restart = tokio::task::spawn_blocking(move || {
        server.restart().expect("restarting PostgreSQL");
        server
    });
    load(&client, &app.address, &mut next, Duration::from_millis(1500), &mut unacked).await;
    let server = restart.await.unwrap();
    let restarted = Instant::now();
    let ready = loop {
        let response = client.get(app.url("/readyz")).send().await.unwrap();
        if response.status() == 200 {
            break restarted.elapsed();
        }
        assert!(restarted.elapsed() < Duration::from_secs(30), "/readyz never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    load(&client, &app.address, &mut next, Duration::from_millis(1000), &mut unacked).await;
    let refused = unacked.len();
    redeliver(&client, &app.address, &mut unacked).await;

    let messages = next;
    let replies = replies(&meta, messages).await;
    for n in 0..messages {
        let got = replies.get(&sender(n)).copied().unwrap_or(0);
        assert_eq!(got, 1, "message {n} got {got} replies");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_updates").fetch_one(&db).await.unwrap();
    assert_eq!(stored, messages as i64);
    println!("{messages} messages, {refused} refused during the restart; ready again {ready:?} after it");
    db.close().await;
    let mut server = server;
    tokio::task::spawn_blocking(move || server.stop()).await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// A TCP proxy to PostgreSQL that can cut every connection and refuse new
/// ones, as a network partition would.
struct Partition {
    port: u16,
    cut: tokio::sync::watch::Sender<bool>,
}

impl Partition {
    async fn start(upstream: String) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (cut, cuts) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                if *cuts.borrow() {
                    continue; // dropped: refused
                }
                let upstream = upstream.clone();
                let mut cuts = cuts.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Self { port, cut }
    }
}

#[tokio::test]
async fn readyz_fails_while_the_database_is_unreachable_and_recovers_by_itself() {
    let db = fresh_database().await;
    let options = db.connect_options();
    let upstream = format!("{}:{}", options.get_host(), options.get_port());
    let partition = Partition::start(upstream).await;
    let through = doorman::db::pool(&format!(
        "postgres://{}@127.0.0.1:{}/{}",
        options.get_username(),
        partition.port,
        options.get_database().unwrap()
    ))
    .unwrap();
    let app = TestApp::spawn_on(through, &[("SCHEDULER_ENABLED", "true"), ("SCHEDULER_TICK_MS", "50")]).await;
    let client = reqwest::Client::new();
    let ready = || async { client.get(app.url("/readyz")).send().await.unwrap().status().as_u16() };
    assert_eq!(ready().await, 200);

    partition.cut.send(true).unwrap();
    assert_eq!(ready().await, 503, "the database cannot be reached");
    assert_eq!(client.get(app.url("/healthz")).send().await.unwrap().status(), 200, "the process is alive");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(ready().await, 503);

    partition.cut.send(false).unwrap();
    let healed = Instant::now();
    while ready().await != 200 {
        assert!(healed.elapsed() < Duration::from_secs(10), "/readyz did not recover by itself");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And the scheduler works again: a job enqueued now runs.
    let mut conn = db.acquire().await.unwrap();
    doorman::jobs::queue::enqueue(&mut conn, &CheckLocks {}, chrono::Utc::now()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE run_at <= now() AND state = 'queued'")
            .fetch_one(&db)
            .await
            .unwrap();
        if waiting == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the scheduler did not pick up work after the partition");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
