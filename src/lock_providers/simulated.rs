//! The `simulated` provider: a lock kept in PostgreSQL, so that the demo, the
//! tests and every instance see the same device. It can be told to fail a
//! share of calls, to fail the next N calls, to be offline, or to confirm a
//! code only after a delay, so that retries and alerts run for real.
//!
//! Per device, in `simulated_devices`: `offline`, `fail_next`,
//! `failure_rate`, `confirm_delay_ms`, `battery_percent`. New devices take
//! the defaults of [`SimulatedSettings`] (from the environment).

use async_trait::async_trait;
use rand::Rng;
use sqlx::PgPool;

use super::{
    CodeRequest, Created, Device, DeviceCode, DeviceStatus, FoundDevice, LockProvider, ProviderError, ProviderResult,
};

/// Defaults for devices the simulator has not seen yet.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SimulatedSettings {
    /// `SIMULATED_LOCK_FAILURE_RATE`: share of calls failing (0–1).
    pub failure_rate: f32,
    /// `SIMULATED_LOCK_CONFIRM_DELAY_MS`: delay before a code is visible.
    pub confirm_delay_ms: i32,
    /// `SIMULATED_LOCK_OFFLINE`: devices start offline.
    pub offline: bool,
}

/// A lock provider backed by two tables.
pub struct SimulatedProvider {
    db: PgPool,
    settings: SimulatedSettings,
}

impl SimulatedProvider {
    /// A simulator on `db` with defaults for new devices.
    pub fn new(db: PgPool, settings: SimulatedSettings) -> Self {
        Self { db, settings }
    }

    /// Fails the call as a real device might: offline, a scheduled failure,
    /// or a random one.
    async fn reach(&self, device: &Device) -> ProviderResult<()> {
        sqlx::query!(
            "INSERT INTO simulated_devices (device_id, offline, failure_rate, confirm_delay_ms)
             VALUES ($1, $2, $3, $4) ON CONFLICT (device_id) DO NOTHING",
            device.device_id,
            self.settings.offline,
            self.settings.failure_rate,
            self.settings.confirm_delay_ms,
        )
        .execute(&self.db)
        .await
        .map_err(unreachable_db)?;
        let state = sqlx::query!(
            r#"UPDATE simulated_devices d SET fail_next = GREATEST(d.fail_next - 1, 0)
               FROM (SELECT fail_next AS before FROM simulated_devices WHERE device_id = $1 FOR UPDATE) old
               WHERE d.device_id = $1
               RETURNING d.offline, old.before > 0 AS "scheduled!", d.failure_rate"#,
            device.device_id,
        )
        .fetch_one(&self.db)
        .await
        .map_err(unreachable_db)?;
        if state.offline {
            return Err(ProviderError::Retryable(format!("device {} is offline", device.device_id)));
        }
        if state.scheduled {
            return Err(ProviderError::Retryable("simulated failure (fail_next)".into()));
        }
        if state.failure_rate > 0.0 && rand::rng().random::<f32>() < state.failure_rate {
            return Err(ProviderError::Retryable("simulated failure (failure_rate)".into()));
        }
        Ok(())
    }
}

fn unreachable_db(err: sqlx::Error) -> ProviderError {
    ProviderError::Retryable(format!("simulator storage: {err}"))
}

#[async_trait]
impl LockProvider for SimulatedProvider {
    async fn create_code(&self, device: &Device, code: &CodeRequest) -> ProviderResult<Created> {
        self.reach(device).await?;
        // A retried create whose first answer was lost finds its code by name.
        let existing = sqlx::query!(
            "SELECT provider_ref, visible_at <= now() AS \"visible!\" FROM simulated_codes
             WHERE device_id = $1 AND name = $2",
            device.device_id,
            code.name
        )
        .fetch_optional(&self.db)
        .await
        .map_err(unreachable_db)?;
        let (provider_ref, visible) = match existing {
            Some(row) => (row.provider_ref, row.visible),
            None => {
                let inserted = sqlx::query!(
                    "INSERT INTO simulated_codes (provider_ref, device_id, name, code, valid_from, valid_until, visible_at)
                     SELECT 'sim-' || gen_random_uuid(), $1, $2, $3, $4, $5,
                            now() + make_interval(secs => d.confirm_delay_ms / 1000.0)
                     FROM simulated_devices d WHERE d.device_id = $1
                     RETURNING provider_ref, visible_at <= now() AS \"visible!\"",
                    device.device_id,
                    code.name,
                    code.code,
                    code.valid_from,
                    code.valid_until,
                )
                .fetch_one(&self.db)
                .await;
                match inserted {
                    Ok(row) => (row.provider_ref, row.visible),
                    Err(e) if e.as_database_error().is_some_and(|d| d.is_unique_violation()) => {
                        return Err(ProviderError::Permanent("duplicate code on device".into()))
                    }
                    Err(e) => return Err(unreachable_db(e)),
                }
            }
        };
        if visible {
            Ok(Created::Set { provider_ref })
        } else {
            Ok(Created::Accepted { provider_ref: Some(provider_ref) })
        }
    }

    async fn update_code(&self, device: &Device, provider_ref: &str, code: &CodeRequest) -> ProviderResult<()> {
        self.reach(device).await?;
        let updated = sqlx::query!(
            "UPDATE simulated_codes SET valid_from = $3, valid_until = $4 WHERE device_id = $1 AND provider_ref = $2",
            device.device_id,
            provider_ref,
            code.valid_from,
            code.valid_until,
        )
        .execute(&self.db)
        .await
        .map_err(unreachable_db)?;
        if updated.rows_affected() == 0 {
            return Err(ProviderError::Permanent(format!("no code {provider_ref} on the device")));
        }
        Ok(())
    }

    async fn remove_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<()> {
        self.reach(device).await?;
        sqlx::query!(
            "DELETE FROM simulated_codes WHERE device_id = $1 AND provider_ref = $2",
            device.device_id,
            provider_ref
        )
        .execute(&self.db)
        .await
        .map_err(unreachable_db)?;
        Ok(())
    }

    async fn list_codes(&self, device: &Device) -> ProviderResult<Vec<DeviceCode>> {
        self.reach(device).await?;
        let rows = sqlx::query!(
            "SELECT provider_ref, name, code, valid_from, valid_until FROM simulated_codes
             WHERE device_id = $1 AND visible_at <= now() ORDER BY created_at",
            device.device_id
        )
        .fetch_all(&self.db)
        .await
        .map_err(unreachable_db)?;
        Ok(rows
            .into_iter()
            .map(|r| DeviceCode {
                provider_ref: r.provider_ref,
                name: r.name,
                code: Some(r.code),
                valid_from: r.valid_from,
                valid_until: r.valid_until,
                status: super::DeviceCodeStatus::Set,
            })
            .collect())
    }

    /// The simulated devices that have a state of their own (the demo's,
    /// a test's); any other device id works too, as a fresh device.
    async fn list_devices(&self) -> ProviderResult<Vec<FoundDevice>> {
        let rows = sqlx::query!("SELECT device_id, offline, battery_percent FROM simulated_devices ORDER BY device_id")
            .fetch_all(&self.db)
            .await
            .map_err(unreachable_db)?;
        Ok(rows
            .into_iter()
            .map(|r| FoundDevice {
                name: format!("Simulated {}", r.device_id),
                device_id: r.device_id,
                model: Some("Simulated keypad".into()),
                status: DeviceStatus {
                    online: !r.offline,
                    battery_percent: Some(r.battery_percent),
                    battery_low: r.battery_percent < 20,
                    ..DeviceStatus::default()
                },
            })
            .collect())
    }

    async fn device_status(&self, device: &Device) -> ProviderResult<DeviceStatus> {
        let row = sqlx::query!(
            "SELECT offline, battery_percent FROM simulated_devices WHERE device_id = $1",
            device.device_id
        )
        .fetch_optional(&self.db)
        .await
        .map_err(unreachable_db)?;
        Ok(match row {
            Some(r) => DeviceStatus {
                online: !r.offline,
                battery_percent: Some(r.battery_percent),
                battery_low: r.battery_percent < 20,
                ..DeviceStatus::default()
            },
            None => {
                DeviceStatus { online: !self.settings.offline, battery_percent: Some(100), ..DeviceStatus::default() }
            }
        })
    }
}
