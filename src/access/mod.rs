//! The code-management core: properties, locks, bookings, codes and the
//! audit trail. No HTTP, chat or provider types in here: every channel and
//! the admin API call the same functions.

pub mod accounts;
pub mod alerts;
pub mod arrivals;
pub mod audit;
pub mod bookings;
pub mod claims;
pub mod codes;
pub mod confirmations;
pub mod error;
pub mod feeds;
pub mod generate;
pub mod integrations;
pub mod jobs;
pub mod journey;
pub mod lifecycle;
pub mod links;
pub mod locks;
pub mod model;
pub mod notifications;
pub mod overview;
pub mod phone;
pub mod properties;
pub mod readiness;
pub mod release;
pub mod rooms;
pub mod sessions;
pub mod settings;
pub mod staff;
pub mod stay;
pub mod timezone;
pub mod today;
pub mod turnovers;
pub mod windows;

pub use error::{AccessError, AccessResult};
