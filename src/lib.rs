//! doorman hands guests of short-term rentals and small hotels their
//! smart-lock access codes over chat, and lets staff manage those codes.
//!
//! - [`access`]: the code-management core (properties, locks, bookings,
//!   codes, audit trail).
//! - [`http`]: the admin API, health and (later) webhooks.
//! - [`db`]: the pool, migrations and the local PostgreSQL.
//! - [`jobs`]: the durable job queue and its worker (no job of its own).
//! - [`devices`]: the jobs that carry codes to locks and look after them.
//! - [`lock_providers`]: the provider trait, the simulated lock (Nuki, Seam).
//! - [`integrations`]: channel managers (Smoobu, Beds24, Hostaway): webhooks
//!   as triggers, reservations read back and upserted.
//! - [`console`]: the operator console, server-rendered pages under `/admin`.
//! - [`app`]: wiring: build the service from a [`config::Config`] and run it.

pub mod access;
pub mod app;
pub mod channels;
pub mod config;
pub mod console;
pub mod context;
pub mod conversation;
pub mod db;
pub mod demo;
pub mod devices;
pub mod feeds;
pub mod http;
pub mod integrations;
pub mod jobs;
pub mod lock_providers;
pub mod telemetry;
