//! Provider accounts on the device side (SPEC §12): the gate in front of a
//! provider that stops calling the locks of an account that does not work
//! (their jobs wait, [`ProviderError::AccountDown`]), notices Nuki
//! refusing its token and working again, and Seam's `connected_account.*`
//! events. The state and the alerts are `access::accounts`.
//!
//! While Nuki's account is down, only the calls that look at it go out
//! (`device_status` of the lock checks and readiness, `list_devices` of
//! discovery): the first that succeeds brings it back. A Seam account comes
//! back with Seam's `connected_account.completed_first_sync_after_reconnection`;
//! until then none of its locks is called.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::access::accounts::{self, AccountDown, NUKI_ACCOUNT};
use crate::access::model::{AccountState, ProviderKind};
use crate::access::AccessError;
use crate::lock_providers::seam::SeamEvent;
use crate::lock_providers::{
    BackupCode, CodeRequest, Created, Device, DeviceCode, DeviceStatus, FoundDevice, LockProvider, ProviderError,
    ProviderResult, UsageEvent,
};

/// `provider` (of kind `kind`) behind the account gate.
pub fn gate(db: PgPool, kind: ProviderKind, provider: Arc<dyn LockProvider>) -> Arc<dyn LockProvider> {
    Arc::new(Gated { db, kind, inner: provider })
}

/// Seam's `connected_account.disconnected`, `…reauthorization_requested`
/// and `…completed_first_sync_after_reconnection`: the account's state,
/// told to staff when it changes; other account events are ignored.
/// Returns whether the event was an account's; a device's event that names
/// its `connected_account_id` teaches which account the device is on.
pub async fn handle_seam_account_event(db: &PgPool, event: &SeamEvent) -> Result<bool, AccessError> {
    let (seam, at) = (ProviderKind::Seam, event.occurred_at);
    if !event.event_type.starts_with("connected_account.") {
        if let (Some(device_id), Some(account_id)) = (&event.device_id, &event.connected_account_id) {
            let mut conn = db.acquire().await.map_err(AccessError::from)?;
            accounts::learn_account(&mut conn, seam, device_id, account_id).await?;
        }
        return Ok(false);
    }
    let Some(account_id) = event.connected_account_id.as_deref() else {
        tracing::info!(event_type = %event.event_type, "a Seam account event without connected_account_id");
        return Ok(true);
    };
    let failed = match event.event_type.as_str() {
        "connected_account.disconnected" => Some(AccountState::Disconnected),
        "connected_account.reauthorization_requested" => Some(AccountState::ReauthorizationRequested),
        "connected_account.completed_first_sync_after_reconnection" => None,
        _ => return Ok(true),
    };
    let mut tx = db.begin().await?;
    match failed {
        Some(state) => accounts::account_failed(&mut tx, seam, account_id, state, &event.event_type, at).await?,
        None => accounts::account_works(&mut tx, seam, account_id, at).await?,
    };
    tx.commit().await?;
    Ok(true)
}

struct Gated {
    db: PgPool,
    kind: ProviderKind,
    inner: Arc<dyn LockProvider>,
}

impl Gated {
    /// The account of `device` when it does not work.
    async fn down(&self, device: &Device) -> ProviderResult<Option<AccountDown>> {
        let down = match self.kind {
            ProviderKind::Nuki => accounts::account_down(&self.db, self.kind, NUKI_ACCOUNT).await,
            _ => accounts::lock_account_down(&self.db, device.lock_id).await,
        };
        down.map_err(|e| ProviderError::Retryable(format!("reading the provider account's state: {e}")))
    }

    /// A call to `device` may go out unless its account does not work.
    async fn admit(&self, device: &Device) -> ProviderResult<()> {
        match self.down(device).await? {
            Some(down) => Err(refusal(&down)),
            None => Ok(()),
        }
    }

    /// What the answer says about the account: Nuki refusing its token
    /// takes it down (and the caller waits); Nuki answering brings it back.
    async fn after<T>(&self, result: ProviderResult<T>) -> ProviderResult<T> {
        if self.kind != ProviderKind::Nuki {
            return result;
        }
        match &result {
            Err(ProviderError::Unauthorized(reason)) => {
                let now = Utc::now();
                if let Err(e) = self.nuki_changed(Some(reason), now).await {
                    tracing::warn!(error = %e, "recording that Nuki refused the token");
                }
                Err(ProviderError::AccountDown {
                    message: format!("{reason}; doorman calls none of Nuki's locks until it works again"),
                    account: accounts::wait_key(self.kind, NUKI_ACCOUNT),
                })
            }
            Ok(_) => {
                if let Err(e) = self.nuki_changed(None, Utc::now()).await {
                    tracing::warn!(error = %e, "recording that Nuki works again");
                }
                result
            }
            Err(_) => result,
        }
    }

    /// Nuki refused (`Some(reason)`) or answered (`None`); only a change of
    /// the stored state writes and tells.
    async fn nuki_changed(&self, refused: Option<&str>, at: DateTime<Utc>) -> Result<(), AccessError> {
        let down = accounts::account_down(&self.db, self.kind, NUKI_ACCOUNT).await?;
        if down.is_some() == refused.is_some() {
            return Ok(());
        }
        let mut tx = self.db.begin().await?;
        match refused {
            Some(reason) => {
                accounts::account_failed(&mut tx, self.kind, NUKI_ACCOUNT, AccountState::Refused, reason, at).await?
            }
            None => accounts::account_works(&mut tx, self.kind, NUKI_ACCOUNT, at).await?,
        };
        tx.commit().await?;
        Ok(())
    }

    /// A call that only looks at the device: for Nuki it goes out even while
    /// the account is down (it is how doorman learns it is back).
    async fn look<T>(
        &self,
        device: &Device,
        call: impl std::future::Future<Output = ProviderResult<T>>,
    ) -> ProviderResult<T> {
        if self.kind != ProviderKind::Nuki {
            self.admit(device).await?;
        }
        self.after(call.await).await
    }

    async fn act<T>(
        &self,
        device: &Device,
        call: impl std::future::Future<Output = ProviderResult<T>>,
    ) -> ProviderResult<T> {
        self.admit(device).await?;
        self.after(call.await).await
    }
}

fn refusal(down: &AccountDown) -> ProviderError {
    ProviderError::AccountDown {
        message: down.describe(),
        account: accounts::wait_key(down.provider, &down.account_id),
    }
}

#[async_trait]
impl LockProvider for Gated {
    async fn create_code(&self, device: &Device, code: &CodeRequest) -> ProviderResult<Created> {
        self.act(device, self.inner.create_code(device, code)).await
    }

    async fn list_devices(&self) -> ProviderResult<Vec<FoundDevice>> {
        self.after(self.inner.list_devices().await).await
    }

    async fn update_code(&self, device: &Device, provider_ref: &str, code: &CodeRequest) -> ProviderResult<()> {
        self.act(device, self.inner.update_code(device, provider_ref, code)).await
    }

    async fn remove_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<()> {
        self.act(device, self.inner.remove_code(device, provider_ref)).await
    }

    async fn list_codes(&self, device: &Device) -> ProviderResult<Vec<DeviceCode>> {
        self.act(device, self.inner.list_codes(device)).await
    }

    async fn device_status(&self, device: &Device) -> ProviderResult<DeviceStatus> {
        self.look(device, self.inner.device_status(device)).await
    }

    async fn usage_since(&self, device: &Device, since: DateTime<Utc>) -> ProviderResult<Vec<UsageEvent>> {
        self.act(device, self.inner.usage_since(device, since)).await
    }

    async fn pull_backup_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<Option<BackupCode>> {
        self.act(device, self.inner.pull_backup_code(device, provider_ref)).await
    }
}
