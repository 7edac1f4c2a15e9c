//! Discovery (SPEC §12): the devices a provider account holds, each with
//! the doorman lock it is mapped to, so that nobody copies a device id by
//! hand (`GET /api/v1/providers/{provider}/devices`, `doorman locks
//! discover`).

use serde::Serialize;
use sqlx::PgPool;

use super::observe::ObserveError;
use crate::access::locks::{check_device_free, locks_by_device, MappedLock};
use crate::access::model::ProviderKind;
use crate::access::AccessError;
use crate::lock_providers::{DeviceConstraints, FoundDevice, Providers};

/// A provider's device and the doorman lock it is, if any.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DiscoveredDevice {
    /// The provider's id of the device: a lock's `provider_device_id`.
    pub device_id: String,
    /// Its name in the provider's app.
    pub name: String,
    /// What it is, as the provider says.
    pub model: Option<String>,
    /// Reachable now.
    pub online: bool,
    /// Battery charge, when known.
    pub battery_percent: Option<i32>,
    /// The provider says the battery is low or critical.
    pub battery_low: bool,
    /// The keypad's battery is low, when it has a separate keypad.
    pub keypad_battery_low: Option<bool>,
    /// What codes the device accepts, when the provider says.
    pub code_constraints: Option<DeviceConstraints>,
    /// The doorman lock of this device; `null`: not set up in doorman yet.
    pub lock: Option<MappedLock>,
}

/// The device `device_id` among the provider's devices, to register as a
/// lock (`POST /api/v1/locks` without a name): a conflict naming the lock
/// when it is one already, an invalid value naming it when the provider
/// does not list it. Learns which provider account holds it.
pub async fn find_device(
    db: &PgPool,
    providers: &Providers,
    kind: ProviderKind,
    device_id: &str,
) -> Result<FoundDevice, ObserveError> {
    let device_id = device_id.trim();
    check_device_free(db, kind, device_id).await?;
    let provider = providers.get(kind).map_err(|_| ObserveError::NotConfigured(kind))?;
    let found = provider.list_devices().await?;
    found.into_iter().find(|device| device.device_id == device_id).ok_or_else(|| {
        let problem = format!(
            "the {kind} account lists no device {device_id:?} (GET /api/v1/providers/{kind}/devices lists them)"
        );
        ObserveError::Access(AccessError::invalid("provider_device_id", problem))
    })
}

/// Every device of the provider's account, mapped ones and new ones, by
/// name.
pub async fn discover(
    db: &PgPool,
    providers: &Providers,
    kind: ProviderKind,
) -> Result<Vec<DiscoveredDevice>, ObserveError> {
    let provider = providers.get(kind).map_err(|_| ObserveError::NotConfigured(kind))?;
    let found = provider.list_devices().await?;
    let mut conn = db.acquire().await.map_err(crate::access::AccessError::from)?;
    for device in &found {
        if let Some(account_id) = &device.status.account_id {
            crate::access::accounts::learn_account(&mut conn, kind, &device.device_id, account_id).await?;
        }
    }
    drop(conn);
    let mut mapped = locks_by_device(db, kind).await?;
    let mut devices: Vec<DiscoveredDevice> = found
        .into_iter()
        .map(|device| DiscoveredDevice {
            lock: mapped.remove(&device.device_id),
            device_id: device.device_id,
            name: device.name,
            model: device.model,
            online: device.status.online,
            battery_percent: device.status.battery_percent,
            battery_low: device.status.battery_low,
            keypad_battery_low: device.status.keypad_battery_low,
            code_constraints: device.status.constraints,
        })
        .collect();
    devices.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.device_id.cmp(&b.device_id)));
    Ok(devices)
}
