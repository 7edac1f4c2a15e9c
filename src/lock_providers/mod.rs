//! Lock providers: the trait every brand sits behind, and the registry that
//! picks one by a lock's `provider`. A lock is an unreliable remote device:
//! every call can time out, and an accepted request is not yet "on the lock".

pub mod breaker;
pub mod nuki;
pub mod seam;
pub mod simulated;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

pub use crate::access::generate::DeviceConstraints;
use crate::access::model::ProviderKind;

/// A device as a provider knows it.
#[derive(Debug, Clone)]
pub struct Device {
    /// doorman's lock id.
    pub lock_id: Uuid,
    /// The provider's id of the device.
    pub device_id: String,
}

/// A code to put on a device.
#[derive(Clone)]
pub struct CodeRequest {
    /// doorman's code id.
    pub code_id: Uuid,
    /// A name unique on the device (at most 20 characters): how an
    /// asynchronous provider's code is found again.
    pub name: String,
    /// The secret.
    pub code: String,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity; `None` for persistent codes.
    pub valid_until: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for CodeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeRequest").field("code_id", &self.code_id).field("name", &self.name).finish_non_exhaustive()
    }
}

/// What a provider said to a create request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// The code is on the lock.
    Set {
        /// The provider's id of the code.
        provider_ref: String,
    },
    /// Accepted; it will be on the lock later. Poll until it appears.
    Accepted {
        /// The provider's id, when it gives one at once.
        provider_ref: Option<String>,
    },
}

/// Where a code stands on the device, as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceCodeStatus {
    /// On the device: it opens the door within its window.
    Set,
    /// The provider is still putting it on the device (Seam `setting`).
    Setting,
    /// Accepted and held by a provider that activates time-bound codes on
    /// the device itself when their window starts (Seam `unset` before
    /// `starts_at`). doorman counts it as set; an error the provider reports
    /// later makes it `failed` again (reconciliation, Seam's webhook).
    Scheduled,
    /// The provider is taking it off the device (Seam `removing`).
    Removing,
    /// The provider gave up putting it on the device, with its reason
    /// (Seam `failed_to_set_on_device`, `duplicate_code_on_device`, ...).
    Failed(String),
}

impl DeviceCodeStatus {
    /// `set`, `setting`, `removing` or `failed`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Set => "set",
            Self::Setting => "setting",
            Self::Scheduled => "scheduled",
            Self::Removing => "removing",
            Self::Failed(_) => "failed",
        }
    }
}

/// A code a provider reports on a device.
#[derive(Clone)]
pub struct DeviceCode {
    /// The provider's id of the code.
    pub provider_ref: String,
    /// Its name on the device.
    pub name: String,
    /// The value, when the provider reveals it.
    pub code: Option<String>,
    /// Start of validity.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity.
    pub valid_until: Option<DateTime<Utc>>,
    /// Where it stands on the device.
    pub status: DeviceCodeStatus,
}

impl std::fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCode")
            .field("provider_ref", &self.provider_ref)
            .field("name", &self.name)
            .field("status", &self.status)
            .finish()
    }
}

/// What a device reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeviceStatus {
    /// Reachable now.
    pub online: bool,
    /// Battery charge, when known.
    pub battery_percent: Option<i32>,
    /// The provider says the battery is low or critical.
    pub battery_low: bool,
    /// The keypad's battery is low, when the device has a separate keypad.
    pub keypad_battery_low: Option<bool>,
    /// What codes the device accepts, when the provider says.
    pub constraints: Option<DeviceConstraints>,
    /// The provider account the device belongs to, when the provider has
    /// several (Seam's `connected_account_id`).
    #[serde(skip)]
    pub account_id: Option<String>,
}

/// A device a provider account holds, as discovery lists it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FoundDevice {
    /// The provider's id of the device: a lock's `provider_device_id`.
    pub device_id: String,
    /// Its name in the provider's app.
    pub name: String,
    /// What it is, as the provider says ("Smart Lock 3.0", "August Wi-Fi
    /// Smart Lock").
    pub model: Option<String>,
    /// How it is.
    pub status: DeviceStatus,
}

/// Someone opened the lock with a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageEvent {
    /// The provider's id of the event: deduplicates repeated reports.
    pub event_id: String,
    /// The provider's id of the code used (as in [`DeviceCode::provider_ref`]),
    /// when it says which.
    pub provider_ref: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// A refused entry (a wrong code typed on the keypad), not an unlock.
    pub denied: bool,
}

/// A code taken from the device's backup pool: already on the lock.
#[derive(Clone)]
pub struct BackupCode {
    /// The provider's id of the backup code.
    pub provider_ref: String,
    /// The value.
    pub code: String,
}

impl std::fmt::Debug for BackupCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupCode").field("provider_ref", &self.provider_ref).finish_non_exhaustive()
    }
}

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth trying again later: a timeout, an offline lock, a 5xx, a 429.
    #[error("{0}")]
    Retryable(String),
    /// The provider (or doorman's own per-device limit) asks to wait.
    #[error("{message} (retry in {}s)", retry_after.as_secs())]
    RateLimited {
        /// What was limited.
        message: String,
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// Trying again will not help: refused, malformed, not configured.
    #[error("{0}")]
    Permanent(String),
    /// The provider refused the account's credentials (Nuki's 401 or
    /// 403): every lock of the account is out of reach until someone
    /// renews them.
    #[error("{0}")]
    Unauthorized(String),
    /// The lock's provider account does not work (disconnected at Seam, its
    /// token refused): doorman does not call it until the account is back.
    #[error("{message}")]
    AccountDown {
        /// What is wrong and what to do.
        message: String,
        /// What a job waits for: `access::accounts::wait_key` of the account.
        account: String,
    },
}

impl ProviderError {
    /// Whether trying again may help.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Permanent(_) | Self::Unauthorized(_))
    }
}

/// Result of a provider call.
pub type ProviderResult<T> = Result<T, ProviderError>;

/// What every lock provider can do.
#[async_trait]
pub trait LockProvider: Send + Sync {
    /// Puts a code on the device.
    async fn create_code(&self, device: &Device, code: &CodeRequest) -> ProviderResult<Created>;

    /// Every device of the account (SPEC §12, discovery), every page of
    /// them.
    async fn list_devices(&self) -> ProviderResult<Vec<FoundDevice>> {
        Err(ProviderError::Permanent("this provider cannot list its devices".into()))
    }
    /// Moves a code's validity window.
    async fn update_code(&self, device: &Device, provider_ref: &str, code: &CodeRequest) -> ProviderResult<()>;
    /// Asks the device to drop a code. Gone only once `list_codes` no longer
    /// shows it.
    async fn remove_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<()>;
    /// What is on the device now.
    async fn list_codes(&self, device: &Device) -> ProviderResult<Vec<DeviceCode>>;
    /// Online state, batteries and code constraints.
    async fn device_status(&self, device: &Device) -> ProviderResult<DeviceStatus>;
    /// Unlocks with a code since `since`, oldest first. Providers that do
    /// not report which code opened the lock report nothing.
    async fn usage_since(&self, device: &Device, since: DateTime<Utc>) -> ProviderResult<Vec<UsageEvent>> {
        let _ = (device, since);
        Ok(Vec::new())
    }
    /// Takes a backup code from the device's pool for the code
    /// `provider_ref` that did not get on the lock in time; `None` when the
    /// device has no pool or it is empty.
    async fn pull_backup_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<Option<BackupCode>> {
        let _ = (device, provider_ref);
        Ok(None)
    }
}

/// The configured providers, by kind, each behind the per-lock circuit
/// breakers.
#[derive(Clone)]
pub struct Providers {
    simulated: Arc<dyn LockProvider>,
    nuki: Option<Arc<dyn LockProvider>>,
    seam: Option<Arc<dyn LockProvider>>,
    breakers: breaker::Breakers,
}

impl Providers {
    /// Only the simulated provider (the real ones come with credentials).
    pub fn new(simulated: Arc<dyn LockProvider>) -> Self {
        Self::with_breakers(simulated, breaker::Breakers::default())
    }

    /// Only the simulated provider, with these circuit breakers.
    pub fn with_breakers(simulated: Arc<dyn LockProvider>, breakers: breaker::Breakers) -> Self {
        Self { simulated: breakers.guard("simulated", simulated), nuki: None, seam: None, breakers }
    }

    /// Adds the Nuki Web API.
    pub fn with_nuki(mut self, nuki: Arc<dyn LockProvider>) -> Self {
        self.nuki = Some(self.breakers.guard("nuki", nuki));
        self
    }

    /// Adds Seam.
    pub fn with_seam(mut self, seam: Arc<dyn LockProvider>) -> Self {
        self.seam = Some(self.breakers.guard("seam", seam));
        self
    }

    /// The circuit breakers.
    pub fn breakers(&self) -> &breaker::Breakers {
        &self.breakers
    }

    /// The provider of a lock, or a permanent error naming what to set.
    pub fn get(&self, kind: ProviderKind) -> ProviderResult<Arc<dyn LockProvider>> {
        let missing =
            |variable: &str| ProviderError::Permanent(format!("the {kind} provider is not configured: set {variable}"));
        match kind {
            ProviderKind::Simulated => Ok(self.simulated.clone()),
            ProviderKind::Nuki => self.nuki.clone().ok_or_else(|| missing("NUKI_API_TOKEN")),
            ProviderKind::Seam => self.seam.clone().ok_or_else(|| missing("SEAM_API_KEY")),
        }
    }
}
