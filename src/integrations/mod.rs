//! Channel managers (SPEC §9): Smoobu, Beds24 (API v2) and Hostaway.
//!
//! A webhook is a trigger, never the truth: [`webhook::accept`] stores a
//! delivery once and queues [`SyncReservation`], which reads the
//! reservation back from the channel manager's API by id and upserts it
//! like `PUT /bookings`. Because the reservation is always re-read, a late
//! or repeated delivery converges on the latest state, and a status word in
//! a webhook body (Beds24's `modify`) is never trusted.
//!
//! Each client maps its provider's failures onto [`FetchError`] in one
//! place: timeouts, 429 and 5xx are retried; refused credentials are
//! permanent with a message that says so. Credentials never reach a log.

pub mod beds24;
mod client;
pub mod hostaway;
pub mod smoobu;
mod sync;
pub mod webhook;

use std::time::Duration;

use chrono::NaiveDate;

use crate::access::integrations::{Credentials, Integration};
use crate::access::model::{BookingStatus, IntegrationKind};
use crate::jobs::JobError;

pub use sync::SyncReservation;

/// Smoobu's API, by default.
pub const SMOOBU_DEFAULT_API_BASE: &str = "https://login.smoobu.com";
/// Beds24's API v2, by default.
pub const BEDS24_DEFAULT_API_BASE: &str = "https://api.beds24.com/v2";
/// Hostaway's public API, by default.
pub const HOSTAWAY_DEFAULT_API_BASE: &str = "https://api.hostaway.com/v1";

/// Where the channel managers' APIs are (`SMOOBU_API_BASE`,
/// `BEDS24_API_BASE`, `HOSTAWAY_API_BASE`) and how long a request may take.
#[derive(Debug, Clone)]
pub struct ApiBases {
    /// Smoobu.
    pub smoobu: String,
    /// Beds24 API v2.
    pub beds24: String,
    /// Hostaway.
    pub hostaway: String,
    /// `CHANNEL_MANAGER_TIMEOUT_MS`: the most one request may take.
    pub timeout: Duration,
}

impl Default for ApiBases {
    fn default() -> Self {
        Self {
            smoobu: SMOOBU_DEFAULT_API_BASE.to_owned(),
            beds24: BEDS24_DEFAULT_API_BASE.to_owned(),
            hostaway: HOSTAWAY_DEFAULT_API_BASE.to_owned(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// A reservation as a channel manager's API tells it, in doorman's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// Their reservation id.
    pub id: String,
    /// Keys of the `rooms` map that may name its unit, most specific first.
    pub units: Vec<String>,
    /// The guest as they have them; nothing here is checked yet.
    pub guest: Contact,
    /// Arrival date, local to the property.
    pub arrival: NaiveDate,
    /// Departure date, local to the property.
    pub departure: NaiveDate,
    /// `None`: not a guest's stay (a block, an owner's stay).
    pub status: Option<BookingStatus>,
}

/// The guest of a reservation, unparsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// Full name.
    pub name: String,
    /// Phone, in whatever form they keep it.
    pub phone: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Language tag.
    pub language: Option<String>,
}

/// Why a reservation could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A timeout, a connection failure, 429 or 5xx: try again later.
    #[error("{0:#}")]
    Unavailable(anyhow::Error),
    /// The channel manager refused the credentials (401/403).
    #[error("{0}")]
    Refused(String),
    /// The stored credentials do not have the fields this channel manager needs.
    #[error("{0}")]
    BadCredentials(String),
    /// No such reservation, or another 4xx.
    #[error("{0}")]
    Rejected(String),
}

impl From<FetchError> for JobError {
    fn from(error: FetchError) -> Self {
        match error {
            FetchError::Unavailable(cause) => JobError::Retry(cause),
            other => JobError::Permanent(anyhow::Error::new(other)),
        }
    }
}

/// The three API clients; one shared by every job.
#[derive(Clone)]
pub struct Clients {
    smoobu: smoobu::SmoobuClient,
    beds24: beds24::Beds24Client,
    hostaway: hostaway::HostawayClient,
}

impl Clients {
    /// Clients for these API addresses.
    pub fn new(bases: &ApiBases) -> Self {
        let http = client::http(bases.timeout);
        Self {
            smoobu: smoobu::SmoobuClient::new(http.clone(), &bases.smoobu),
            beds24: beds24::Beds24Client::new(http.clone(), &bases.beds24),
            hostaway: hostaway::HostawayClient::new(http, &bases.hostaway),
        }
    }

    /// Reads reservation `id` from the integration's channel manager.
    pub async fn reservation(&self, integration: &Integration, id: &str) -> Result<Reservation, FetchError> {
        match integration.kind {
            IntegrationKind::Smoobu => self.smoobu.reservation(&integration.credentials, id).await,
            IntegrationKind::Beds24 => self.beds24.reservation(&integration.credentials, id).await,
            IntegrationKind::Hostaway => self.hostaway.reservation(integration.id, &integration.credentials, id).await,
        }
    }
}

impl Default for Clients {
    fn default() -> Self {
        Self::new(&ApiBases::default())
    }
}

/// Checks that `credentials` have what `kind`'s API needs, before they are
/// stored; the error names the fields.
pub fn check_credentials(kind: IntegrationKind, credentials: &Credentials) -> Result<(), String> {
    let checked = match kind {
        IntegrationKind::Smoobu => smoobu::ApiKey::from_credentials(credentials).map(drop),
        IntegrationKind::Beds24 => beds24::Auth::from_credentials(credentials).map(drop),
        IntegrationKind::Hostaway => hostaway::Account::from_credentials(credentials).map(drop),
    };
    checked.map_err(|e| e.to_string())
}

/// An id as a channel manager writes it: a number or a string.
fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// A non-empty trimmed string field.
fn text(value: Option<String>) -> Option<String> {
    value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// A string field of the stored credentials, required.
fn credential(credentials: &Credentials, field: &str) -> Option<String> {
    credentials.expose().get(field).and_then(id_text)
}

/// An id kept to letters and digits, so it stays one path segment or query
/// value whatever a body held.
fn segment(id: &str) -> String {
    id.chars().filter(char::is_ascii_alphanumeric).collect()
}
