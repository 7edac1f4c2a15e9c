//! The `doorman` binary: parse the command line, read the configuration,
//! start telemetry, run the subcommand.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use doorman::app::{shutdown_signal, Application, Database};
use doorman::config::Config;
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
    /// locks, a guest arriving tomorrow and a manager.
    Demo,
    /// Apply database migrations and exit.
    Migrate,
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
    if matches!(command, Command::Demo) && config.admin_api_token.is_none() {
        config.admin_api_token = Some(SecretString::from(demo::DEMO_ADMIN_TOKEN));
    }
    let database = Database::open(&config).await?;
    let result = match command {
        Command::Migrate => db::migrate(&database.pool).await.map(|()| tracing::info!("migrations applied")),
        Command::Serve => serve(&config, &database, false).await,
        Command::Demo => serve(&config, &database, true).await,
    };
    database.close().await;
    result
}

async fn serve(config: &Config, database: &Database, demo_data: bool) -> anyhow::Result<()> {
    db::migrate(&database.pool).await?;
    let app = Application::build(config, database.pool.clone()).await?;
    if demo_data {
        let data = demo::seed(&database.pool).await.context("seeding the demo data")?;
        let token = config.admin_api_token.as_ref().map(|t| t.expose_secret().to_owned()).unwrap_or_default();
        println!("{}", demo::instructions(&format!("http://{}", app.local_addr()), &token, &data));
    }
    app.run_until(shutdown_signal()).await
}
