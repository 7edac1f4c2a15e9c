//! Spawns the real service on its own database, on port 0.
//!
//! The PostgreSQL server is `DATABASE_URL` when set; otherwise a throwaway
//! server is started with the installed binaries for this test run and
//! stopped when it ends. Every test gets a fresh database.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use doorman::app::run_pending_jobs;
use doorman::app::Application;
use doorman::config::Config;
use doorman::context::JobContext;
use doorman::db::{LocalOptions, LocalPostgres, MIGRATOR};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use uuid::Uuid;

pub const TOKEN: &str = "test-admin-token-0123456789";

static SERVER: OnceLock<PgConnectOptions> = OnceLock::new();
static LOCAL: Mutex<Option<LocalPostgres>> = Mutex::new(None);

extern "C" fn stop_local_server() {
    if let Ok(mut local) = LOCAL.lock() {
        if let Some(mut server) = local.take() {
            let dir = std::env::temp_dir().join(format!("doorman-test-pg-{}", std::process::id()));
            server.stop();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// The server every test database is created on.
fn server() -> &'static PgConnectOptions {
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            let options: PgConnectOptions = url.parse().expect("DATABASE_URL is a PostgreSQL URL");
            drop_leftover_databases(&options);
            return options;
        }
        let dir = std::env::temp_dir().join(format!("doorman-test-pg-{}", std::process::id()));
        let local = LocalPostgres::start(&dir, LocalOptions { ephemeral: true })
            .expect("DATABASE_URL is unset, so the tests start their own PostgreSQL, which failed");
        let url = local.url("postgres");
        *LOCAL.lock().unwrap() = Some(local);
        // SAFETY: registers a plain extern "C" function; the test harness
        // exits through `exit`, which runs it once.
        unsafe { libc::atexit(stop_local_server) };
        url.parse().expect("a valid local URL")
    })
}

/// Drops the databases earlier runs left on a shared server (those nobody is
/// connected to), so that repeated runs do not fill its disk.
fn drop_leftover_databases(server: &PgConnectOptions) {
    let server = server.clone();
    let cleanup = async move {
        let mut admin = server.connect().await.expect("connecting to DATABASE_URL");
        let leftovers: Vec<String> = sqlx::query_scalar(
            r"SELECT datname FROM pg_database d WHERE datname LIKE 'doorman\_test\_%'
              AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
        )
        .fetch_all(&mut admin)
        .await
        .unwrap_or_default();
        for name in leftovers {
            let statement = format!("DROP DATABASE IF EXISTS {name}");
            let _ = sqlx::query(&statement).execute(&mut admin).await;
        }
    };
    // Called from inside a test's runtime, so run on a thread of its own.
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(cleanup)
    })
    .join()
    .expect("dropping leftover test databases");
}

/// Where the test run's logs go: one JSON-lines file per test process,
/// through the service's redaction layer. `scripts/check-test-logs.sh`
/// greps them after the run (CI does) for codes, phone numbers and secrets.
pub const LOG_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/test-logs");

/// Sends the logs of this test process to a file in [`LOG_DIR`], at debug
/// level for doorman. Files of runs older than a day are removed.
pub fn capture_logs() -> &'static std::path::Path {
    static PATH: OnceLock<std::path::PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::fs::create_dir_all(LOG_DIR).expect("creating the test log folder");
        let day = std::time::Duration::from_secs(24 * 3600);
        for entry in std::fs::read_dir(LOG_DIR).into_iter().flatten().flatten() {
            let old = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().unwrap_or_default() > day);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let path = std::path::Path::new(LOG_DIR).join(format!("api-{}.log", std::process::id()));
        let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("opening the test log");
        let filter = tracing_subscriber::EnvFilter::new(
            "debug,sqlx=warn,hyper=warn,hyper_util=warn,h2=warn,rustls=warn,reqwest=warn,wiremock=warn,tower=warn,tower_http=debug",
        );
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(doorman::telemetry::Redacting::new(std::sync::Arc::new(file)))
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init();
        path
    })
}

/// Creates an empty, migrated database of its own for one test.
pub async fn fresh_database() -> PgPool {
    capture_logs();
    let name = format!("doorman_test_{}", Uuid::new_v4().simple());
    let mut admin = server().clone().connect().await.expect("connecting to the test PostgreSQL server");
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("creating a test database");
    admin.close().await.ok();
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect_with(server().clone().database(&name))
        .await
        .expect("connecting to the test database");
    MIGRATOR.run(&pool).await.expect("migrating the test database");
    // Tests run at any hour: their properties have no quiet hours (SPEC §11
    // default 21:00-08:00) unless a test sets them (tests/api/journey.rs),
    // or a message would wait for the morning depending on the clock.
    sqlx::raw_sql("ALTER TABLE properties ALTER COLUMN quiet_hours SET DEFAULT NULL")
        .execute(&pool)
        .await
        .expect("turning quiet hours off for the tests");
    pool
}

/// A running doorman and a client for it. Its scheduler is off: tests run
/// jobs by hand with `run_jobs`.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: PgPool,
    pub jobs: JobContext,
}

impl TestApp {
    /// The service with the admin API on, on a fresh database.
    pub async fn spawn() -> Self {
        Self::spawn_with(&[("ADMIN_API_TOKEN", TOKEN)]).await
    }

    /// The service with these settings (plus `BIND_ADDR=127.0.0.1:0`).
    pub async fn spawn_with(vars: &[(&str, &str)]) -> Self {
        let db = fresh_database().await;
        Self::spawn_on(db, vars).await
    }

    /// The service on a given pool.
    pub async fn spawn_on(db: PgPool, vars: &[(&str, &str)]) -> Self {
        let mut env: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        env.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
        env.entry("SCHEDULER_ENABLED".into()).or_insert_with(|| "false".into());
        let config = Config::from_lookup(|name| env.get(name).cloned()).expect("a valid test configuration");
        let app = Application::build(&config, db.clone()).await.expect("building the app");
        let address = format!("http://{}", app.local_addr());
        let jobs = app.job_context();
        tokio::spawn(app.run_until(std::future::pending()));
        Self { address, client: reqwest::Client::new(), db, jobs }
    }

    /// Runs every due job until none is due.
    pub async fn run_jobs(&self) -> usize {
        run_pending_jobs(&self.jobs).await
    }

    /// Makes every waiting job due now, except check-out expiries and the
    /// messages of the guest's journey (due on a day of the stay), as if
    /// their backoff had passed.
    pub async fn fast_forward(&self) {
        sqlx::query(
            "UPDATE jobs SET run_at = now() WHERE state = 'queued' AND kind NOT IN ('expire_code', 'send_rule_message')",
        )
            .execute(&self.db)
            .await
            .unwrap();
    }

    /// Runs jobs, fast-forwarding backoffs, for `rounds` rounds.
    pub async fn run_jobs_through_retries(&self, rounds: usize) {
        for _ in 0..rounds {
            self.fast_forward().await;
            self.run_jobs().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(TOKEN).send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(TOKEN).json(body).send().await.expect("POST")
    }

    pub async fn put(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.put(self.url(path)).bearer_auth(TOKEN).json(body).send().await.expect("PUT")
    }

    /// Creates a property in Europe/Bratislava with rooms 101 and 102, an
    /// entrance lock and one lock per room.
    pub async fn seed_property(&self) -> Fixture {
        let property = self
            .post("/api/v1/properties", &json!({ "name": "Old Town Flats", "timezone": "Europe/Bratislava" }))
            .await;
        assert_eq!(property.status(), 201);
        let property_id: Uuid = id_of(&property.json().await.unwrap());
        let mut rooms = HashMap::new();
        let mut locks = HashMap::new();
        let entrance = self
            .post("/api/v1/locks", &json!({ "property_id": property_id, "name": "Entrance", "provider": "simulated" }))
            .await;
        assert_eq!(entrance.status(), 201);
        locks.insert("entrance".to_owned(), id_of(&entrance.json().await.unwrap()));
        for name in ["101", "102"] {
            let room = self.post(&format!("/api/v1/properties/{property_id}/rooms"), &json!({ "name": name })).await;
            assert_eq!(room.status(), 201);
            let room_id = id_of(&room.json().await.unwrap());
            rooms.insert(name.to_owned(), room_id);
            let lock = self
                .post(
                    "/api/v1/locks",
                    &json!({ "property_id": property_id, "room_id": room_id, "name": format!("Room {name}"), "provider": "simulated" }),
                )
                .await;
            assert_eq!(lock.status(), 201);
            locks.insert(name.to_owned(), id_of(&lock.json().await.unwrap()));
        }
        Fixture { property_id, rooms, locks }
    }
}

/// What `seed_property` created.
pub struct Fixture {
    pub property_id: Uuid,
    pub rooms: HashMap<String, Uuid>,
    pub locks: HashMap<String, Uuid>,
}

pub fn id_of(body: &Value) -> Uuid {
    body["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no id in {body}"))
}

/// Asserts an error response's status and code, and returns its message.
pub async fn assert_error(response: reqwest::Response, status: u16, code: &str) -> String {
    assert_eq!(response.status(), status, "unexpected status");
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().expect("a message").to_owned()
}

/// The codes of a booking, as the admin API shows them.
pub async fn codes_of(app: &TestApp, reference: &str) -> Vec<Value> {
    let booking: Value = app.get(&format!("/api/v1/bookings/{reference}")).await.json().await.unwrap();
    booking["codes"].as_array().unwrap().clone()
}
