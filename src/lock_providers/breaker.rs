//! A circuit breaker per lock. A lock that keeps timing out (offline, out of
//! radio range, its bridge unplugged) is not called again for a while: the
//! jobs for it fail at once and wait, and the workers stay free for the
//! other locks. After the pause one trial call goes through; a success
//! closes the circuit, a failure opens it again for twice as long.
//!
//! Only retryable failures count: a refused request is the code's problem,
//! not the lock's, and a rate limit is already a pause. The state is kept in
//! memory, per instance: a restart forgets it, which costs one more timeout.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    BackupCode, CodeRequest, Created, Device, DeviceCode, DeviceStatus, FoundDevice, LockProvider, ProviderError,
    ProviderResult, UsageEvent,
};

/// When a circuit opens and for how long.
#[derive(Debug, Clone, Copy)]
pub struct BreakerSettings {
    /// Retryable failures in a row that open the circuit.
    pub failures_to_open: u32,
    /// The first pause.
    pub first_pause: Duration,
    /// The longest pause.
    pub max_pause: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self { failures_to_open: 5, first_pause: Duration::from_secs(60), max_pause: Duration::from_secs(600) }
    }
}

/// Longer than any provider call may take (their timeouts are 10 s).
const TRIAL_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
struct LockCircuit {
    failures: u32,
    open_until: Option<Instant>,
    pause: Duration,
    /// When the one trial call after a pause went out. A trial that never
    /// reported back (its job was cancelled) stops counting after
    /// [`TRIAL_TIMEOUT`], so the circuit cannot stay stuck.
    trial_since: Option<Instant>,
    last_error: String,
}

/// The circuits of all locks, shared by every provider.
#[derive(Debug, Clone, Default)]
pub struct Breakers {
    settings: BreakerSettings,
    circuits: Arc<Mutex<HashMap<Uuid, LockCircuit>>>,
}

impl Breakers {
    /// Breakers with these settings.
    pub fn new(settings: BreakerSettings) -> Self {
        Self { settings, circuits: Arc::default() }
    }

    /// Whether a call to `lock_id` may go out now; if not, how long to wait
    /// and the error that opened the circuit.
    fn admit(&self, lock_id: Uuid) -> Result<(), (Duration, String)> {
        let mut circuits = self.circuits.lock().unwrap_or_else(|p| p.into_inner());
        let circuit = circuits.entry(lock_id).or_default();
        match circuit.open_until {
            None => Ok(()),
            Some(until) => {
                let now = Instant::now();
                if now < until {
                    Err((until - now, circuit.last_error.clone()))
                } else if circuit.trial_since.is_some_and(|since| since.elapsed() < TRIAL_TIMEOUT) {
                    Err((self.settings.first_pause.min(circuit.pause), circuit.last_error.clone()))
                } else {
                    circuit.trial_since = Some(now);
                    Ok(())
                }
            }
        }
    }

    fn record(&self, lock_id: Uuid, outcome: Outcome) {
        let mut circuits = self.circuits.lock().unwrap_or_else(|p| p.into_inner());
        let circuit = circuits.entry(lock_id).or_default();
        circuit.trial_since = None;
        match outcome {
            Outcome::Reached => *circuit = LockCircuit::default(),
            Outcome::Unreachable(error) => {
                circuit.failures += 1;
                circuit.last_error = error;
                let trial_failed = circuit.open_until.is_some();
                if trial_failed || circuit.failures >= self.settings.failures_to_open {
                    circuit.pause = match trial_failed {
                        true => (circuit.pause * 2).min(self.settings.max_pause),
                        false => self.settings.first_pause,
                    };
                    circuit.open_until = Some(Instant::now() + circuit.pause);
                    tracing::warn!(%lock_id, failures = circuit.failures, pause_s = circuit.pause.as_secs(),
                        "lock unreachable: circuit open");
                }
            }
        }
    }

    /// Failed calls to `lock_id` in a row (timeouts, 5xx, offline).
    pub fn failures(&self, lock_id: Uuid) -> u32 {
        let circuits = self.circuits.lock().unwrap_or_else(|p| p.into_inner());
        circuits.get(&lock_id).map_or(0, |c| c.failures)
    }

    /// Whether the circuit of `lock_id` is open now.
    pub fn is_open(&self, lock_id: Uuid) -> bool {
        let circuits = self.circuits.lock().unwrap_or_else(|p| p.into_inner());
        circuits.get(&lock_id).and_then(|c| c.open_until).is_some_and(|until| Instant::now() < until)
    }

    /// `provider` behind these breakers; its calls are measured under the
    /// label `name` (`doorman_provider_call_seconds`,
    /// `doorman_provider_errors_total`).
    pub fn guard(&self, name: &'static str, provider: Arc<dyn LockProvider>) -> Arc<dyn LockProvider> {
        Arc::new(Guarded { inner: provider, name, breakers: self.clone() })
    }
}

enum Outcome {
    Reached,
    Unreachable(String),
}

struct Guarded {
    inner: Arc<dyn LockProvider>,
    name: &'static str,
    breakers: Breakers,
}

impl Guarded {
    async fn call<T>(
        &self,
        operation: &'static str,
        device: &Device,
        call: impl std::future::Future<Output = ProviderResult<T>>,
    ) -> ProviderResult<T> {
        if let Err((wait, last_error)) = self.breakers.admit(device.lock_id) {
            metrics::counter!("doorman_provider_errors_total", "provider" => self.name, "operation" => operation,
                "error" => "circuit_open")
            .increment(1);
            return Err(ProviderError::RateLimited {
                message: format!("{last_error} (the lock keeps failing: not called for now)"),
                retry_after: wait,
            });
        }
        let result = measured(self.name, operation, call).await;
        let outcome = match &result {
            Err(ProviderError::Retryable(error)) => Outcome::Unreachable(error.clone()),
            _ => Outcome::Reached,
        };
        self.breakers.record(device.lock_id, outcome);
        result
    }
}

/// Runs one provider call and records its latency and, when it fails, why.
async fn measured<T>(
    provider: &'static str,
    operation: &'static str,
    call: impl std::future::Future<Output = ProviderResult<T>>,
) -> ProviderResult<T> {
    let started = Instant::now();
    let result = call.await;
    metrics::histogram!("doorman_provider_call_seconds", "provider" => provider, "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    if let Err(error) = &result {
        let kind = match error {
            ProviderError::Retryable(_) => "retryable",
            ProviderError::RateLimited { .. } => "rate_limited",
            ProviderError::Permanent(_) => "permanent",
            ProviderError::Unauthorized(_) => "unauthorized",
            ProviderError::AccountDown { .. } => "account_down",
        };
        metrics::counter!("doorman_provider_errors_total", "provider" => provider, "operation" => operation,
            "error" => kind)
        .increment(1);
    }
    result
}

#[async_trait]
impl LockProvider for Guarded {
    async fn create_code(&self, device: &Device, code: &CodeRequest) -> ProviderResult<Created> {
        self.call("create_code", device, self.inner.create_code(device, code)).await
    }

    async fn update_code(&self, device: &Device, provider_ref: &str, code: &CodeRequest) -> ProviderResult<()> {
        self.call("update_code", device, self.inner.update_code(device, provider_ref, code)).await
    }

    async fn remove_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<()> {
        self.call("remove_code", device, self.inner.remove_code(device, provider_ref)).await
    }

    async fn list_codes(&self, device: &Device) -> ProviderResult<Vec<DeviceCode>> {
        self.call("list_codes", device, self.inner.list_codes(device)).await
    }

    async fn list_devices(&self) -> ProviderResult<Vec<FoundDevice>> {
        // The account, not a device: no device's breaker applies.
        measured(self.name, "list_devices", self.inner.list_devices()).await
    }

    async fn device_status(&self, device: &Device) -> ProviderResult<DeviceStatus> {
        // The health check must see an offline lock as it is: never short-cut.
        measured(self.name, "device_status", self.inner.device_status(device)).await
    }

    async fn usage_since(&self, device: &Device, since: DateTime<Utc>) -> ProviderResult<Vec<UsageEvent>> {
        self.call("usage_since", device, self.inner.usage_since(device, since)).await
    }

    async fn pull_backup_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<Option<BackupCode>> {
        self.call("pull_backup_code", device, self.inner.pull_backup_code(device, provider_ref)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Flaky {
        fail: std::sync::atomic::AtomicBool,
        calls: std::sync::atomic::AtomicU32,
    }

    #[async_trait]
    impl LockProvider for Flaky {
        async fn create_code(&self, _: &Device, _: &CodeRequest) -> ProviderResult<Created> {
            Err(ProviderError::Permanent("this test only lists codes".into()))
        }
        async fn update_code(&self, _: &Device, _: &str, _: &CodeRequest) -> ProviderResult<()> {
            Err(ProviderError::Permanent("this test only lists codes".into()))
        }
        async fn remove_code(&self, _: &Device, _: &str) -> ProviderResult<()> {
            Err(ProviderError::Permanent("this test only lists codes".into()))
        }
        async fn list_codes(&self, _: &Device) -> ProviderResult<Vec<DeviceCode>> {
            self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            match self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                true => Err(ProviderError::Retryable("timed out".into())),
                false => Ok(Vec::new()),
            }
        }
        async fn device_status(&self, _: &Device) -> ProviderResult<DeviceStatus> {
            Ok(DeviceStatus::default())
        }
    }

    fn device() -> Device {
        Device { lock_id: Uuid::new_v4(), device_id: "d1".into() }
    }

    #[tokio::test]
    async fn opens_after_failures_in_a_row_and_spares_other_locks() {
        let flaky = Arc::new(Flaky { fail: true.into(), calls: 0.into() });
        let breakers = Breakers::new(BreakerSettings {
            failures_to_open: 3,
            first_pause: Duration::from_millis(200),
            max_pause: Duration::from_secs(1),
        });
        let guarded = breakers.guard("flaky", flaky.clone());
        let (offline, other) = (device(), device());
        for _ in 0..3 {
            assert!(matches!(guarded.list_codes(&offline).await, Err(ProviderError::Retryable(_))));
        }
        assert!(breakers.is_open(offline.lock_id));
        let refused = guarded.list_codes(&offline).await;
        assert!(
            matches!(refused, Err(ProviderError::RateLimited { retry_after, .. }) if retry_after <= Duration::from_millis(200))
        );
        assert_eq!(flaky.calls.load(std::sync::atomic::Ordering::SeqCst), 3, "an open circuit makes no call");
        // Another lock is still called.
        assert!(guarded.list_codes(&other).await.is_err());
        assert_eq!(flaky.calls.load(std::sync::atomic::Ordering::SeqCst), 4);

        // After the pause one trial: it fails, the pause doubles.
        tokio::time::sleep(Duration::from_millis(220)).await;
        assert!(matches!(guarded.list_codes(&offline).await, Err(ProviderError::Retryable(_))));
        assert!(matches!(guarded.list_codes(&offline).await,
            Err(ProviderError::RateLimited { retry_after, .. }) if retry_after > Duration::from_millis(200)));

        // The lock is back: the next trial closes the circuit.
        flaky.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(420)).await;
        assert!(guarded.list_codes(&offline).await.is_ok());
        assert!(!breakers.is_open(offline.lock_id));
        assert!(guarded.list_codes(&offline).await.is_ok());
    }
}
