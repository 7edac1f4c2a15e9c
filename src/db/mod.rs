//! The PostgreSQL pool, the embedded migrations, and the local server used
//! when `DATABASE_URL` is unset.

pub mod housekeeping;
mod local;

use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

pub use local::{LocalOptions, LocalPostgres, LocalPostgresError};

/// The migrations of `migrations/`, compiled into the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens a pool. Connections are made lazily, so a database that is down at
/// start makes `/readyz` fail rather than the process.
pub fn pool(url: &str) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url.parse().context("DATABASE_URL is not a valid PostgreSQL URL")?;
    Ok(PgPoolOptions::new().max_connections(20).acquire_timeout(Duration::from_secs(5)).connect_lazy_with(options))
}

/// Applies every migration not yet applied. Safe to run from several
/// instances at once: sqlx takes an advisory lock.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await.context("applying database migrations")
}

/// Creates `database` on the server of `admin_url` unless it exists.
pub async fn ensure_database(admin_url: &str, database: &str) -> anyhow::Result<()> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await.context("connecting to PostgreSQL")?;
    let exists = sqlx::query_scalar::<_, bool>("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(database)
        .fetch_one(&mut conn)
        .await?;
    if !exists {
        // Identifiers cannot be bound; the name is doorman's own constant or
        // a test's generated name, quoted regardless.
        let statement = format!("CREATE DATABASE \"{}\"", database.replace('"', "\"\""));
        sqlx::raw_sql(&statement).execute(&mut conn).await.context("creating the database")?;
    }
    Ok(())
}
