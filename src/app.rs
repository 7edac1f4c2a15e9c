//! Wiring: the database, the HTTP server, and their lifetimes.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use tokio::net::TcpListener;

use crate::channels::email::EmailClient;
use crate::channels::outbox::{Senders, TelegramSender, WhatsappSender};
use crate::channels::sms::SmsClient;
use crate::channels::telegram::client::TelegramClient;
use crate::channels::whatsapp::client::WhatsappClient;
use crate::config::Config;
use crate::context::JobContext;
use crate::conversation::llm::LlmClient;
use crate::db::housekeeping::Prune;
use crate::db::{self, LocalOptions, LocalPostgres};
use crate::devices::{CheckLockActivity, CheckLocks, ReconcileLocks};
use crate::http::webhooks::WebhookSecrets;
use crate::http::{self, AppState};
use crate::jobs::{Registry, Runner, Worker, WorkerSettings};
use crate::lock_providers::nuki::NukiClient;
use crate::lock_providers::seam::SeamClient;
use crate::lock_providers::simulated::SimulatedProvider;
use crate::lock_providers::Providers;

/// Where `doorman` keeps its own PostgreSQL when `DATABASE_URL` is unset.
pub const LOCAL_PG_DIR: &str = ".doorman/pg";

/// The database doorman uses, and the local server behind it if doorman
/// started one (stopped when this is dropped).
pub struct Database {
    /// The connection pool.
    pub pool: PgPool,
    local: Option<LocalPostgres>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the local server under
    /// [`LOCAL_PG_DIR`] and uses its `doorman` database.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        if let Some(url) = &config.database_url {
            return Ok(Self { pool: db::pool(url.expose_secret())?, local: None });
        }
        let local =
            tokio::task::spawn_blocking(|| LocalPostgres::start(Path::new(LOCAL_PG_DIR), LocalOptions::default()))
                .await
                .context("starting the local PostgreSQL")??;
        tracing::info!(port = local.port(), dir = LOCAL_PG_DIR, "DATABASE_URL unset: using doorman's local PostgreSQL");
        db::ensure_database(&local.url("postgres"), "doorman").await?;
        Ok(Self { pool: db::pool(&local.url("doorman"))?, local: Some(local) })
    }

    /// Closes the pool and stops the local server, if any.
    pub async fn close(mut self) {
        self.pool.close().await;
        if let Some(mut local) = self.local.take() {
            tokio::task::spawn_blocking(move || local.stop()).await.ok();
        }
    }
}

/// The HTTP service and the scheduler, bound and ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    worker: Option<Worker<JobContext>>,
    jobs: JobContext,
}

impl Application {
    /// Binds `BIND_ADDR` (port 0 picks a free port).
    pub async fn build(config: &Config, pool: PgPool) -> anyhow::Result<Self> {
        // Install the recorder before anything records.
        let _ = crate::telemetry::metrics();
        crate::telemetry::protect(config.secrets());
        let listener = TcpListener::bind(config.bind_addr)
            .await
            .with_context(|| format!("binding BIND_ADDR {}", config.bind_addr))?;
        let mut jobs = job_context(config, &pool)?;
        jobs.public_base_url = public_base_url(config, &listener);
        let state = AppState {
            db: pool,
            admin_token: config.admin_api_token.clone().map(Arc::new),
            providers: jobs.providers.clone(),
            feeds: jobs.feeds.clone(),
            webhooks: Arc::new(WebhookSecrets {
                whatsapp_app_secret: config.whatsapp.as_ref().map(|w| w.app_secret.clone()),
                whatsapp_verify_token: config.whatsapp.as_ref().and_then(|w| w.verify_token.clone()),
                whatsapp_phone_number_id: config.whatsapp.as_ref().map(|w| w.phone_number_id.clone()),
                telegram_secret: config.telegram.as_ref().map(|t| t.webhook_secret.clone()),
                seam_secret: config.seam.as_ref().and_then(|s| s.webhook_secret.clone()),
            }),
            metrics_token: config.metrics_token.clone().map(Arc::new),
            probes: Arc::default(),
            public_base_url: jobs.public_base_url.clone(),
            console: crate::console::Console::new(jobs.clone(), &jobs.public_base_url),
        };
        if state.admin_token.is_none() {
            tracing::info!("admin API: off (ADMIN_API_TOKEN unset)");
        }
        let settings = WorkerSettings {
            concurrency: config.scheduler_concurrency,
            tick: config.scheduler_tick,
            lease: config.scheduler_lease,
            ..WorkerSettings::default()
        };
        if config.scheduler_enabled {
            // The lock jobs run themselves again; one of each queued per
            // database (their dedupe keys), however many instances start.
            let mut conn = jobs.db.acquire().await.context("connecting to the database")?;
            let now = chrono::Utc::now();
            crate::jobs::queue::enqueue(&mut conn, &CheckLocks {}, now).await?;
            crate::jobs::queue::enqueue(&mut conn, &CheckLockActivity {}, now).await?;
            let nightly = crate::devices::locks::next_nightly_run(now);
            crate::jobs::queue::enqueue(&mut conn, &ReconcileLocks {}, nightly).await?;
            let prune_at = crate::db::housekeeping::next_run(now);
            crate::jobs::queue::enqueue(&mut conn, &Prune {}, prune_at).await?;
            crate::feeds::schedule_all(&mut conn).await?;
        }
        let worker = config.scheduler_enabled.then(|| Worker::new(runner(jobs.clone()), settings));
        if worker.is_none() {
            tracing::info!("scheduler: off (SCHEDULER_ENABLED=false)");
        }
        Ok(Self { listener, state, worker, jobs })
    }

    /// What jobs can reach: for tests that drive the scheduler by hand.
    pub fn job_context(&self) -> JobContext {
        self.jobs.clone()
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then lets requests in flight
    /// finish and the scheduler finish or release its claimed jobs.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        tracing::info!(addr = %self.local_addr(), "listening");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let scheduler = self.worker.map(|worker| tokio::spawn(worker.run(stopped)));
        let served = axum::serve(self.listener, http::router(self.state))
            .with_graceful_shutdown(async move {
                shutdown.await;
                let _ = stop.send(true);
            })
            .await
            .context("serving HTTP");
        if let Some(scheduler) = scheduler {
            scheduler.await.context("stopping the scheduler")?;
        }
        served
    }
}

/// `PUBLIC_BASE_URL`, or `http://` and the address bound.
fn public_base_url(config: &Config, listener: &TcpListener) -> Arc<str> {
    match (&config.public_base_url, listener.local_addr()) {
        (Some(url), _) => url.as_str().into(),
        (None, Ok(addr)) => format!("http://{addr}").into(),
        (None, Err(_)) => format!("http://{}", config.bind_addr).into(),
    }
}

/// Every job doorman runs. A job is a struct next to its domain; adding
/// one is adding it here (`docs/architecture.md`, "Adding a job").
pub fn registry() -> Registry<JobContext> {
    use crate::access::jobs as core;
    Registry::new()
        // Codes on locks (devices/codes.rs).
        .register::<core::ProgramCode>()
        .register::<core::ConfirmCode>()
        .register::<core::UpdateCode>()
        .register::<core::RemoveCode>()
        .register::<core::ExpireCode>()
        .register::<crate::access::jobs::RemoveDeviceCode>()
        // The locks themselves (devices/locks.rs).
        .register::<crate::devices::CheckLocks>()
        .register::<crate::devices::CheckLockActivity>()
        .register::<crate::devices::ReconcileLock>()
        .register::<crate::devices::ReconcileLocks>()
        .register::<crate::devices::FillBackupPool>()
        // Messages to guests (conversation/pre_arrival.rs).
        .register::<core::PreArrival>()
        .register::<core::BookingConfirmed>()
        .register::<core::DeliverCodes>()
        // A stay staff moved (conversation/windows.rs).
        .register::<core::TellStayMoved>()
        .register::<core::TurnoverDue>()
        // Message rules (conversation/journey.rs).
        .register::<core::SendRuleMessage>()
        // Staff alerts (conversation/alerts.rs).
        .register::<core::AlertStaff>()
        .register::<core::CheckCodesSet>()
        .register::<core::CheckGuestReachable>()
        // Readiness before each arrival (devices/readiness.rs).
        .register::<core::CheckReadiness>()
        // Arrivals that go wrong: wrong codes, no-shows (access/arrivals.rs).
        .register::<core::ResendAfterWrongCodes>()
        .register::<core::BackupAfterWrongCodes>()
        .register::<core::CheckArrived>()
        .register::<crate::conversation::alerts::GuestAlert>()
        .register::<crate::conversation::alerts::HandoffReminder>()
        // Inbound updates (conversation/inbound.rs) and outbound messages.
        .register::<crate::channels::inbox::ProcessInbound>()
        .register::<crate::conversation::inbound::StaffCommand>()
        .register::<crate::conversation::inbound::LlmFallback>()
        .register::<crate::channels::outbox::SendMessage>()
        // Calendar feeds (feeds/).
        .register::<crate::feeds::SyncFeed>()
        // Reservations read back from channel managers (integrations/sync.rs).
        .register::<crate::integrations::SyncReservation>()
        // The database's upkeep, and the queue's own probe.
        .register::<crate::db::housekeeping::Prune>()
        .register::<crate::jobs::Ping>()
}

static REGISTRY: std::sync::LazyLock<Arc<Registry<JobContext>>> = std::sync::LazyLock::new(|| Arc::new(registry()));

/// `ctx` with every job: what a worker runs.
pub fn runner(ctx: JobContext) -> Runner<JobContext> {
    Runner::new(ctx, REGISTRY.clone())
}

/// Runs every due job, one at a time, until none is due; returns how many
/// ran. Tests drive the scheduler with this instead of sleeping.
pub async fn run_pending_jobs(ctx: &JobContext) -> usize {
    crate::jobs::run_pending_jobs(&runner(ctx.clone())).await
}

/// What jobs can reach with this configuration: the lock providers and the
/// chat providers it enables. Says once which channels are off.
pub fn job_context(config: &Config, pool: &PgPool) -> anyhow::Result<JobContext> {
    let mut providers = Providers::new(Arc::new(SimulatedProvider::new(pool.clone(), config.simulated)));
    match &config.nuki {
        Some(nuki) => {
            let client = Arc::new(NukiClient::new(&nuki.api_base, nuki.token.clone()));
            providers = providers.with_nuki(crate::devices::accounts::gate(
                pool.clone(),
                crate::access::model::ProviderKind::Nuki,
                client,
            ))
        }
        None => tracing::info!("Nuki locks: off (NUKI_API_TOKEN unset)"),
    }
    match &config.seam {
        Some(seam) => {
            let client = Arc::new(SeamClient::new(&seam.api_base, seam.api_key.clone()));
            providers = providers.with_seam(crate::devices::accounts::gate(
                pool.clone(),
                crate::access::model::ProviderKind::Seam,
                client,
            ))
        }
        None => tracing::info!("Seam locks: off (SEAM_API_KEY unset)"),
    }
    let whatsapp = config.whatsapp.as_ref().map(|w| {
        let client = WhatsappClient::new(&w.api_base, &w.phone_number_id, w.token.clone());
        WhatsappSender::new(client, w.rate_per_second, w.template_language.clone())
    });
    let telegram = match &config.telegram {
        Some(t) => {
            let client = TelegramClient::new(&t.bot_token, t.api_base.as_deref()).map_err(anyhow::Error::msg)?;
            Some(TelegramSender::new(client, t.bot_username.clone()))
        }
        None => None,
    };
    if whatsapp.is_none() {
        tracing::info!("WhatsApp: off (WHATSAPP_TOKEN unset)");
    }
    if telegram.is_none() {
        tracing::info!("Telegram: off (TELEGRAM_BOT_TOKEN unset)");
    }
    let llm = config
        .openai
        .as_ref()
        .map(|o| Arc::new(LlmClient::new(&o.api_key, o.base_url.as_deref(), &o.model, o.daily_limit)));
    if llm.is_none() {
        tracing::info!("LLM fallback: off (OPENAI_API_KEY unset)");
    }
    let sms =
        config.sms.as_ref().map(|s| SmsClient::new(&s.api_base, &s.username, s.api_key.clone(), s.sender_id.clone()));
    let email = match &config.email {
        Some(e) => Some(EmailClient::new(e.url.expose_secret(), &e.from).map_err(anyhow::Error::msg)?),
        None => None,
    };
    if sms.is_none() {
        tracing::info!("SMS: off (AT_USERNAME/AT_API_KEY unset)");
    }
    if email.is_none() {
        tracing::info!("email: off (SMTP_URL/SMTP_FROM unset)");
    }
    Ok(JobContext {
        db: pool.clone(),
        providers,
        senders: Senders { whatsapp, telegram, sms, email },
        llm,
        inbound_per_minute: config.inbound_per_sender_per_minute,
        feeds: crate::feeds::FeedFetcher::new(
            chrono::Duration::minutes(i64::from(config.feed_poll_minutes)),
            std::time::Duration::from_secs(config.feed_fetch_timeout_secs),
        ),
        channel_managers: crate::integrations::Clients::new(&config.channel_managers),
        public_base_url: match &config.public_base_url {
            Some(url) => url.as_str().into(),
            None => format!("http://{}", config.bind_addr).into(),
        },
    })
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "listening for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "listening for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    /// Two jobs of one kind would run each other's payloads: `register`
    /// refuses that, so building the registry is the check.
    #[test]
    fn every_job_kind_is_registered_once() {
        let kinds = super::registry().kinds();
        assert!(kinds.contains(&"program_code") && kinds.contains(&"send_message") && kinds.contains(&"prune"));
        assert_eq!(kinds.len(), 34, "{kinds:?}");
    }
}
