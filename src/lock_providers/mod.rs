//! Lock providers: the trait every brand sits behind, and the registry that
//! picks one by a lock's `provider`. A lock is an unreliable remote device:
//! every call can time out, and an accepted request is not yet "on the lock".

pub mod observe;
pub mod simulated;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

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

/// A code a provider reports on a device.
#[derive(Clone, Serialize, utoipa::ToSchema)]
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
}

impl std::fmt::Debug for DeviceCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCode").field("provider_ref", &self.provider_ref).field("name", &self.name).finish()
    }
}

/// What a device reports about itself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeviceStatus {
    /// Reachable now.
    pub online: bool,
    /// Battery charge, when known.
    pub battery_percent: Option<i32>,
}

/// Why a provider call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth trying again later: a timeout, an offline lock, a 5xx, a 429.
    #[error("{0}")]
    Retryable(String),
    /// Trying again will not help: refused, malformed, not configured.
    #[error("{0}")]
    Permanent(String),
}

impl ProviderError {
    /// Whether trying again may help.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable(_))
    }
}

/// Result of a provider call.
pub type ProviderResult<T> = Result<T, ProviderError>;

/// What every lock provider can do.
#[async_trait]
pub trait LockProvider: Send + Sync {
    /// Puts a code on the device.
    async fn create_code(&self, device: &Device, code: &CodeRequest) -> ProviderResult<Created>;
    /// Moves a code's validity window.
    async fn update_code(&self, device: &Device, provider_ref: &str, code: &CodeRequest) -> ProviderResult<()>;
    /// Asks the device to drop a code. Gone only once `list_codes` no longer
    /// shows it.
    async fn remove_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<()>;
    /// What is on the device now.
    async fn list_codes(&self, device: &Device) -> ProviderResult<Vec<DeviceCode>>;
    /// Online state and battery.
    async fn device_status(&self, device: &Device) -> ProviderResult<DeviceStatus>;
}

/// The configured providers, by kind.
#[derive(Clone)]
pub struct Providers {
    simulated: Arc<dyn LockProvider>,
    nuki: Option<Arc<dyn LockProvider>>,
    seam: Option<Arc<dyn LockProvider>>,
}

impl Providers {
    /// Only the simulated provider (the real ones come with credentials).
    pub fn new(simulated: Arc<dyn LockProvider>) -> Self {
        Self { simulated, nuki: None, seam: None }
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
