//! The `doorman` binary: parse the command line, read the configuration,
//! start telemetry, run the subcommand.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use doorman::access::audit::Actor;
use doorman::access::phone::Phone;
use doorman::access::{properties, sessions, staff, AccessError};
use doorman::app::{job_context, shutdown_signal, Application, Database};
use doorman::channels::console;
use doorman::channels::telegram::client::TelegramClient;
use doorman::channels::whatsapp::click_to_chat;
use doorman::config::Config;
use doorman::conversation::{claims, router};
use doorman::jobs::{Worker, WorkerSettings};
use doorman::{db, demo, telemetry};

/// Smart-lock access codes for short-term rentals and small hotels, over chat.
#[derive(Parser)]
#[command(name = "doorman", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// HTTP server: webhooks, admin API and scheduler.
    Serve,
    /// `serve` with demo data: a property, rooms 101 and 102, simulated
    /// locks, a guest arriving tomorrow and a manager. Only on a loopback
    /// BIND_ADDR and an empty (or demo) database.
    Demo,
    /// Apply database migrations and exit.
    Migrate,
    /// Console channel: type messages as a sender, see doorman's replies.
    Chat {
        /// A phone number in international format, or a staff member's id.
        #[arg(long)]
        from: String,
    },
    /// Read one message a line on stdin, print one JSON object a line:
    /// `{"text","intent","confidence","language"}` (the router only, no LLM).
    Classify,
    /// Print the https://wa.me/… link a guest with no phone on file claims
    /// their stay with, and write it as a QR code (PNG), to paste into the
    /// booking platform's scheduled message.
    ClaimLink {
        /// The property's id.
        #[arg(long)]
        property: uuid::Uuid,
        /// Where the QR code is written.
        #[arg(long, default_value = "claim-link.png")]
        out: std::path::PathBuf,
    },
    /// Print a one-time sign-in link to the operator console (valid 15
    /// minutes) for a staff member.
    AdminLink {
        /// Their phone number (international format), Telegram user id, or
        /// staff id.
        #[arg(long)]
        staff: String,
        /// On a new install (no active admin yet): first register the
        /// person of `--staff` (a phone or Telegram id) as the admin, with
        /// this name.
        #[arg(long, value_name = "NAME")]
        first_admin: Option<String>,
    },
    /// Locks: `doorman locks discover` lists a provider account's devices.
    Locks {
        #[command(subcommand)]
        command: LocksCommand,
    },
    /// Register this service's URL as the Telegram bot's webhook (idempotent).
    SetTelegramWebhook {
        /// The public base URL, e.g. https://doorman.example.com
        #[arg(long)]
        url: String,
    },
}

#[derive(Subcommand)]
enum LocksCommand {
    /// Print every device of the provider's account (online, battery, the
    /// doorman lock it is mapped to), so that nobody copies a device id by
    /// hand; the id is what `POST /api/v1/locks` takes as
    /// `provider_device_id`.
    Discover {
        /// `nuki`, `seam` or `simulated`.
        #[arg(long)]
        provider: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("doorman: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    if matches!(cli.command, Command::Demo) {
        if let Err(e) = demo::check_bind_addr(config.bind_addr) {
            eprintln!("doorman: configuration error: {e}");
            return ExitCode::from(2);
        }
    }
    telemetry::protect(config.secrets());
    telemetry::init(config.log_format);
    match run(cli.command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("doorman: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, mut config: Config) -> anyhow::Result<()> {
    if matches!(command, Command::Classify) {
        return classify().await;
    }
    if matches!(command, Command::Demo) && config.admin_api_token.is_none() {
        config.admin_api_token = Some(SecretString::from(demo::DEMO_ADMIN_TOKEN));
    }
    let database = Database::open(&config).await?;
    let result = match command {
        Command::Migrate => db::migrate(&database.pool).await.map(|()| tracing::info!("migrations applied")),
        Command::Serve => serve(&config, &database, false).await,
        Command::Demo => serve(&config, &database, true).await,
        Command::Chat { from } => chat(&config, &database, &from).await,
        Command::SetTelegramWebhook { url } => set_telegram_webhook(&config, &url).await,
        Command::ClaimLink { property, out } => claim_link(&config, &database, property, &out).await,
        Command::AdminLink { staff, first_admin } => admin_link(&config, &database, &staff, first_admin).await,
        Command::Classify => classify().await,
        Command::Locks { command: LocksCommand::Discover { provider } } => {
            discover(&config, &database, &provider).await
        }
    };
    database.close().await;
    result
}

async fn serve(config: &Config, database: &Database, demo_data: bool) -> anyhow::Result<()> {
    db::migrate(&database.pool).await?;
    if demo_data {
        demo::check_database(&database.pool).await?;
    }
    let app = Application::build(config, database.pool.clone()).await?;
    if demo_data {
        let mut data = demo::seed(&database.pool).await.context("seeding the demo data")?;
        let feeds_at = demo::serve_sample_feeds().await.context("serving the sample calendars")?;
        let fetcher = app.job_context().feeds;
        data.feeds = demo::connect_sample_feeds(&database.pool, &fetcher, data.property_id, &feeds_at)
            .await
            .context("connecting the sample calendars")?;
        let token = config.admin_api_token.as_ref().map(|t| t.expose_secret().to_owned()).unwrap_or_default();
        let base_url = format!("http://{}", app.local_addr());
        data.console_link = demo::console_link(&database.pool, &base_url).await.context("making the console link")?;
        println!("{}", demo::instructions(&base_url, &token, &data));
        // The console chat: stdin as the demo guest, replies on stdout.
        let db = database.pool.clone();
        tokio::spawn(async move {
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            if let Err(e) = console::run(&db, demo::GUEST_PHONE, stdin, tokio::io::stdout()).await {
                tracing::warn!(error = %e, "console chat stopped");
            }
        });
    }
    app.run_until(shutdown_signal()).await
}

/// `doorman chat --from`: a console conversation. Runs a scheduler of its
/// own, so it answers with or without a running `serve`.
async fn chat(config: &Config, database: &Database, from: &str) -> anyhow::Result<()> {
    db::migrate(&database.pool).await?;
    let address = console_address(&database.pool, from).await?;
    let jobs = job_context(config, &database.pool)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = WorkerSettings { tick: config.scheduler_tick, ..WorkerSettings::default() };
    let worker = tokio::spawn(Worker::new(doorman::app::runner(jobs), settings).run(stopped));
    eprintln!("doorman chat as {address}: type a message and press Enter; Ctrl-D ends.");
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let result = console::run(&database.pool, &address, stdin, tokio::io::stdout()).await;
    let _ = stop.send(true);
    worker.await.ok();
    result
}

/// A phone number as given, or the phone of the staff member with this id.
async fn console_address(db: &sqlx::PgPool, from: &str) -> anyhow::Result<String> {
    if let Ok(staff_id) = from.parse::<uuid::Uuid>() {
        let phone = sqlx::query_scalar::<_, Option<String>>("SELECT phone FROM staff WHERE id = $1")
            .bind(staff_id)
            .fetch_optional(db)
            .await?
            .flatten();
        return phone.ok_or_else(|| anyhow::anyhow!("no staff member {staff_id} with a phone number"));
    }
    Ok(Phone::parse(from).map_err(|e| anyhow::anyhow!("--from: {e}"))?.as_str().to_owned())
}

/// `doorman classify`: no database, no network; the router alone.
async fn classify() -> anyhow::Result<()> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut stdout = tokio::io::stdout();
    while let Some(line) = lines.next_line().await? {
        let verdict = router::classify(&line);
        let output = serde_json::json!({
            "text": line,
            "intent": verdict.intent.as_str(),
            "confidence": (f64::from(verdict.confidence) * 100.0).round() / 100.0,
            "language": verdict.language,
        });
        stdout.write_all(format!("{output}\n").as_bytes()).await?;
    }
    stdout.flush().await?;
    Ok(())
}

/// `doorman claim-link`: the link on stdout, its QR code in `out`.
async fn claim_link(config: &Config, database: &Database, property: uuid::Uuid, out: &Path) -> anyhow::Result<()> {
    let number = config
        .whatsapp_display_number
        .as_ref()
        .context("set WHATSAPP_DISPLAY_NUMBER (the business number guests write to, e.g. +421900000123) first")?;
    match properties::get_property(&database.pool, property).await {
        Ok(_) => {}
        Err(AccessError::NotFound { .. }) => anyhow::bail!("no property {property}"),
        Err(e) => return Err(e).context("looking up the property"),
    }
    let link = click_to_chat::link(number, claims::CLAIM_LINK_TEXT);
    let png = click_to_chat::qr_png(&link)?;
    std::fs::write(out, png).with_context(|| format!("writing {}", out.display()))?;
    println!("{link}");
    eprintln!("QR code written to {}", out.display());
    Ok(())
}

/// `doorman admin-link --staff`: a console sign-in link on stdout.
async fn admin_link(
    config: &Config,
    database: &Database,
    staff: &str,
    first_admin: Option<String>,
) -> anyhow::Result<()> {
    db::migrate(&database.pool).await?;
    let mut conn = database.pool.acquire().await?;
    if let Some(name) = first_admin {
        let (phone, telegram_user_id) = match telegram_user_id(staff) {
            Some(telegram) => (None, Some(telegram)),
            None => (Some(Phone::parse(staff).map_err(|e| anyhow::anyhow!("--staff: {e}"))?), None),
        };
        let new = staff::NewStaff { name, phone, telegram_user_id, roles: staff::StaffRoles::Admin, cleaner: false };
        let mut tx = database.pool.begin().await?;
        let admin = staff::register_first_admin(&mut tx, &new).await?;
        tx.commit().await?;
        eprintln!("Registered {} as the admin of this install.", admin.name);
    }
    let member = if let Ok(id) = staff.parse::<uuid::Uuid>() {
        staff::member_by_id(&mut conn, id).await?
    } else if let Some(telegram) = telegram_user_id(staff) {
        staff::find_member(&mut conn, None, Some(telegram)).await?
    } else {
        let phone = Phone::parse(staff).map_err(|e| anyhow::anyhow!("--staff: {e}"))?;
        staff::find_member(&mut conn, Some(phone.as_str()), None).await?
    };
    let member = member.with_context(|| format!("no active staff member {staff}"))?;
    let token = sessions::issue_login_link(&mut conn, member.id, Actor::System, chrono::Utc::now()).await?;
    let base = config.public_base_url.clone().unwrap_or_else(|| format!("http://{}", config.bind_addr));
    println!("{}/admin/login?token={token}", base.trim_end_matches('/'));
    eprintln!("Sign-in link for {}: works once, within {} minutes.", member.name, sessions::LINK_VALID.num_minutes());
    Ok(())
}

/// Digits alone are a Telegram user id; a phone starts with `+` or `00`.
fn telegram_user_id(raw: &str) -> Option<i64> {
    let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) && !raw.starts_with("00");
    digits.then(|| raw.parse().ok()).flatten()
}

async fn set_telegram_webhook(config: &Config, url: &str) -> anyhow::Result<()> {
    let telegram = config.telegram.as_ref().context("set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET first")?;
    let client = TelegramClient::new(&telegram.bot_token, telegram.api_base.as_deref()).map_err(anyhow::Error::msg)?;
    let webhook = format!("{}/webhooks/telegram", url.trim_end_matches('/'));
    client.set_webhook(&webhook, &telegram.webhook_secret).await.map_err(anyhow::Error::msg)?;
    println!("Telegram will deliver updates to {webhook}");
    Ok(())
}

/// `doorman locks discover`: one line a device, mapped ones with their lock.
async fn discover(config: &Config, database: &Database, provider: &str) -> anyhow::Result<()> {
    let kind: doorman::access::model::ProviderKind =
        provider.parse().map_err(|_| anyhow::anyhow!("--provider: nuki, seam or simulated, not {provider:?}"))?;
    let jobs = job_context(config, &database.pool)?;
    let devices = doorman::devices::discovery::discover(&database.pool, &jobs.providers, kind).await?;
    if devices.is_empty() {
        println!("The {kind} account has no devices.");
        return Ok(());
    }
    println!("{:<38} {:<28} {:<8} {:<8} doorman lock", "device id", "name", "online", "battery");
    for device in &devices {
        let battery = device.battery_percent.map_or_else(|| "?".to_owned(), |b| format!("{b} %"));
        let battery = if device.battery_low { format!("{battery} low") } else { battery };
        let lock = device.lock.as_ref().map_or_else(|| "not set up".to_owned(), |l| format!("{} ({})", l.name, l.id));
        let online = if device.online { "yes" } else { "no" };
        println!("{:<38} {:<28} {:<8} {:<8} {lock}", device.device_id, device.name, online, battery);
    }
    let new = devices.iter().filter(|d| d.lock.is_none()).count();
    println!("{} devices, {new} not set up in doorman yet.", devices.len());
    Ok(())
}
