//! Seam (`https://connect.getseam.com`): one API in front of many lock
//! brands. Every call is `POST {base}/<path>` with a JSON body and
//! `Authorization: Bearer <api key>`.
//!
//! # Setting, then set
//!
//! Seam is asynchronous. `/access_codes/create` answers at once with the new
//! access code in status `setting` (or `unset` when its window starts later)
//! while Seam talks to the lock behind the scenes; only when the lock has
//! confirmed does `/access_codes/list` show the code `set`. So
//! [`SeamClient::create_code`](LockProvider::create_code) returns
//! [`Created::Accepted`] with Seam's `access_code_id`, and doorman polls
//! [`list_codes`](LockProvider::list_codes) until the code is
//! [`DeviceCodeStatus::Set`]. A code that will never reach the lock stays in
//! `setting` but gains an entry in its `errors`
//! (`failed_to_set_on_device`, `duplicate_code_on_device`, ...), which is
//! reported as [`DeviceCodeStatus::Failed`]. Removal works the same way:
//! `/access_codes/delete` is accepted, the code shows `removing`, then it
//! disappears from the list.
//!
//! # Limits
//!
//! Seam allows, per device and per minute, 10 code creations, 10 updates and
//! 20 deletions. [`SeamClient`] counts them itself (a GCRA limiter per
//! operation, keyed by device) and answers [`ProviderError::RateLimited`]
//! without calling Seam when a call would exceed them; a 429 from Seam maps
//! to the same error.
//!
//! # Webhooks
//!
//! Seam delivers events through Svix; [`verify_webhook`] checks the
//! signature and returns the [`SeamEvent`].

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{
    BackupCode, CodeRequest, Created, Device, DeviceCode, DeviceCodeStatus, DeviceConstraints, DeviceStatus,
    FoundDevice, LockProvider, ProviderError, ProviderResult, UsageEvent,
};

/// How long to wait for a connection to Seam.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for a whole answer from Seam.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Seam's per-device limits (rate-limits-and-guardrails in Seam's docs).
const CREATES_PER_MINUTE: NonZeroU32 = NonZeroU32::new(10).unwrap();
const UPDATES_PER_MINUTE: NonZeroU32 = NonZeroU32::new(10).unwrap();
const DELETES_PER_MINUTE: NonZeroU32 = NonZeroU32::new(20).unwrap();
/// Seam documents no `Retry-After`; wait this long when it sends none.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
/// How long a device's `supports_backup_access_code_pool` is trusted.
const BACKUP_POOL_TTL: Duration = Duration::from_secs(3600);
/// A keypad battery at or below this charge (0–1) counts as low; Seam
/// reports only the level for keypads.
const KEYPAD_BATTERY_LOW: f64 = 0.2;
/// Seam's list answers hold up to 55 000 codes a page; more pages than this
/// means the cursor is going round in circles.
const MAX_PAGES: usize = 50;
/// Devices asked for per page of `/devices/list`.
const DEVICES_PER_PAGE: u32 = 100;
/// How much of Seam's error message goes into an error.
const MESSAGE_CHARS: usize = 200;
/// Access-code errors after which the code will not get on the device.
const NOT_SETTING_ERRORS: &[&str] = &[
    "failed_to_set_on_device",
    "duplicate_code_on_device",
    "no_space_for_access_code_on_device",
    "code_constraints_violated",
    "failed_to_issue",
];
/// How far a webhook's timestamp may be from now (Svix's tolerance).
const WEBHOOK_TOLERANCE_SECS: u64 = 5 * 60;

/// A Seam workspace, reached with its API key.
pub struct SeamClient {
    http: reqwest::Client,
    base: String,
    api_key: SecretString,
    creates: DefaultKeyedRateLimiter<String>,
    updates: DefaultKeyedRateLimiter<String>,
    deletes: DefaultKeyedRateLimiter<String>,
    /// device_id → (supports a backup pool, when learned).
    backup_pools: Mutex<HashMap<String, (bool, Instant)>>,
}

impl SeamClient {
    /// A client of `api_base` (e.g. `https://connect.getseam.com`) with a
    /// workspace API key; 5 s to connect, 10 s for an answer.
    /// Every page of a list of access codes.
    async fn list_pages(&self, route: &str, device: &Device) -> ProviderResult<Vec<DeviceCode>> {
        let mut codes = Vec::new();
        let mut page_cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let body = ListBody { device_id: &device.device_id, page_cursor: page_cursor.as_deref() };
            let page: ListAnswer =
                self.post(route, &body, None).await.map_err(|f| f.into_provider_error("listing access codes"))?;
            codes.extend(page.access_codes.unwrap_or_default().into_iter().map(device_code));
            match page.pagination {
                Some(Pagination { has_next_page: Some(true), next_page_cursor: Some(next) }) => {
                    page_cursor = Some(next)
                }
                _ => return Ok(codes),
            }
        }
        Err(ProviderError::Retryable(format!("Seam's access code list went on past {MAX_PAGES} pages")))
    }

    pub fn new(api_base: &str, api_key: SecretString) -> Self {
        Self::with_timeouts(api_base, api_key, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    /// The same with other timeouts (tests).
    pub fn with_timeouts(api_base: &str, api_key: SecretString, connect: Duration, request: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .timeout(request)
            .build()
            .expect("a TLS backend is compiled in");
        Self {
            http,
            base: api_base.trim_end_matches('/').to_owned(),
            api_key,
            creates: RateLimiter::hashmap(Quota::per_minute(CREATES_PER_MINUTE)),
            updates: RateLimiter::hashmap(Quota::per_minute(UPDATES_PER_MINUTE)),
            deletes: RateLimiter::hashmap(Quota::per_minute(DELETES_PER_MINUTE)),
            backup_pools: Mutex::default(),
        }
    }

    /// `POST {base}{path}` with `body`; the answer parsed, or why not.
    /// `secret` (the code the request carries) is blanked out of Seam's
    /// error messages.
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        secret: Option<&str>,
    ) -> Result<T, Failure> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(self.api_key.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(Failure::network)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response.bytes().await.map_err(Failure::network)?;
        if !(200..300).contains(&status) {
            let error = serde_json::from_slice::<ErrorEnvelope>(&bytes).unwrap_or_default().error;
            return Err(Failure::Http {
                status,
                retry_after,
                error_type: error.error_type.unwrap_or_default(),
                message: redact(error.message.as_deref().unwrap_or_default(), secret),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| Failure::Unreadable(describe_json_error(&e)))
    }

    /// `/devices/get`, remembering whether the device has a backup pool.
    async fn get_device(&self, device_id: &str) -> ProviderResult<SeamDevice> {
        let answer: DeviceAnswer = self
            .post("/devices/get", &DeviceBody { device_id }, None)
            .await
            .map_err(|f| f.into_provider_error("reading the device"))?;
        let supports = answer.device.properties.supports_backup_access_code_pool.unwrap_or(false);
        self.pools().insert(device_id.to_owned(), (supports, Instant::now()));
        Ok(answer.device)
    }

    /// Whether the device keeps a backup pool, from the cache or Seam; no
    /// when Seam cannot say right now.
    async fn supports_backup_pool(&self, device_id: &str) -> bool {
        if let Some(known) = self.cached_backup_pool(device_id) {
            return known;
        }
        match self.get_device(device_id).await {
            Ok(device) => device.properties.supports_backup_access_code_pool.unwrap_or(false),
            Err(error) => {
                tracing::warn!(device_id, %error, "could not learn whether the device has a backup pool");
                false
            }
        }
    }

    fn cached_backup_pool(&self, device_id: &str) -> Option<bool> {
        let pools = self.pools();
        let (supports, learned) = pools.get(device_id)?;
        (learned.elapsed() < BACKUP_POOL_TTL).then_some(*supports)
    }

    fn pools(&self) -> std::sync::MutexGuard<'_, HashMap<String, (bool, Instant)>> {
        self.backup_pools.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Takes one cell of `limiter` for `device_id`, or says how long to wait.
fn admit(limiter: &DefaultKeyedRateLimiter<String>, device_id: &str, what: &str) -> ProviderResult<()> {
    limiter.check_key(&device_id.to_owned()).map_err(|not_until| ProviderError::RateLimited {
        message: format!("Seam's per-device limit of {what} reached"),
        retry_after: not_until.wait_time_from(limiter.clock().now()),
    })
}

#[async_trait]
impl LockProvider for SeamClient {
    #[tracing::instrument(skip_all, fields(device_id = %device.device_id, code_id = %code.code_id))]
    async fn create_code(&self, device: &Device, code: &CodeRequest) -> ProviderResult<Created> {
        admit(&self.creates, &device.device_id, "10 code creations a minute")?;
        let mut body = CreateBody {
            device_id: &device.device_id,
            name: &code.name,
            code: &code.code,
            starts_at: None,
            ends_at: None,
            use_backup_access_code_pool: None,
        };
        // Both times or neither: Seam makes a code without them `ongoing`.
        if let Some(until) = code.valid_until {
            body.starts_at = Some(seconds(code.valid_from));
            body.ends_at = Some(seconds(until));
            // Seam pulls backups only for time-bound codes.
            if self.supports_backup_pool(&device.device_id).await {
                body.use_backup_access_code_pool = Some(true);
            }
        }
        let answer: CreateAnswer = self
            .post("/access_codes/create", &body, Some(&code.code))
            .await
            .map_err(|f| f.into_provider_error("creating an access code"))?;
        check_attempt(answer.action_attempt.as_ref(), Some(&code.code))?;
        let provider_ref = answer.access_code.access_code_id;
        Ok(match answer.access_code.status.as_deref() {
            Some("set") => Created::Set { provider_ref },
            _ => Created::Accepted { provider_ref: Some(provider_ref) },
        })
    }

    #[tracing::instrument(skip_all, fields(device_id = %device.device_id, %provider_ref))]
    async fn update_code(&self, device: &Device, provider_ref: &str, code: &CodeRequest) -> ProviderResult<()> {
        admit(&self.updates, &device.device_id, "10 code updates a minute")?;
        let body = match code.valid_until {
            Some(until) => UpdateBody {
                access_code_id: provider_ref,
                name: &code.name,
                starts_at: Some(seconds(code.valid_from)),
                ends_at: Some(seconds(until)),
                kind: None,
            },
            None => UpdateBody {
                access_code_id: provider_ref,
                name: &code.name,
                starts_at: None,
                ends_at: None,
                kind: Some("ongoing"),
            },
        };
        let answer: ActionAnswer = self
            .post("/access_codes/update", &body, Some(&code.code))
            .await
            .map_err(|f| f.into_provider_error("updating an access code"))?;
        check_attempt(answer.action_attempt.as_ref(), Some(&code.code))
    }

    #[tracing::instrument(skip_all, fields(device_id = %device.device_id, %provider_ref))]
    async fn remove_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<()> {
        admit(&self.deletes, &device.device_id, "20 code deletions a minute")?;
        let answer: ActionAnswer =
            match self.post("/access_codes/delete", &AccessCodeBody { access_code_id: provider_ref }, None).await {
                Ok(answer) => answer,
                // Only Seam's own "no such code" counts as gone: a bare 404
                // may be a wrong base URL.
                Err(failure) if failure.is(404, "access_code_not_found") => return Ok(()),
                Err(failure) => return Err(failure.into_provider_error("deleting an access code")),
            };
        check_attempt(answer.action_attempt.as_ref(), None)
    }

    #[tracing::instrument(skip_all, fields(device_id = %device.device_id))]
    async fn list_codes(&self, device: &Device) -> ProviderResult<Vec<DeviceCode>> {
        let mut codes = self.list_pages("/access_codes/list", device).await?;
        // Codes set at the keypad or in another app are "unmanaged" at Seam
        // and listed apart: doorman must see them (orphans, SPEC §3.10). A
        // failure there does not hold up the managed codes.
        match self.list_pages("/access_codes/unmanaged/list", device).await {
            Ok(unmanaged) => codes.extend(unmanaged),
            Err(e) => tracing::warn!(error = %e, "listing Seam's unmanaged access codes"),
        }
        Ok(codes)
    }

    async fn list_devices(&self) -> ProviderResult<Vec<FoundDevice>> {
        let mut found = Vec::new();
        let mut page_cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let body = DevicesBody { limit: DEVICES_PER_PAGE, page_cursor: page_cursor.as_deref() };
            let page: DevicesAnswer =
                self.post("/devices/list", &body, None).await.map_err(|f| f.into_provider_error("listing devices"))?;
            // One odd device must not hide the others: each is read on its own.
            found.extend(
                page.devices
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|device| serde_json::from_value::<SeamDevice>(device).ok())
                    .filter_map(found_device),
            );
            match page.pagination {
                Some(Pagination { has_next_page: Some(true), next_page_cursor: Some(next) }) => {
                    page_cursor = Some(next)
                }
                _ => return Ok(found),
            }
        }
        Err(ProviderError::Retryable(format!("Seam's device list went on past {MAX_PAGES} pages")))
    }

    #[tracing::instrument(skip_all, fields(device_id = %device.device_id))]
    async fn device_status(&self, device: &Device) -> ProviderResult<DeviceStatus> {
        Ok(device_status(self.get_device(&device.device_id).await?))
    }

    #[tracing::instrument(skip_all, fields(device_id = %device.device_id))]
    async fn usage_since(&self, device: &Device, since: DateTime<Utc>) -> ProviderResult<Vec<UsageEvent>> {
        let body = EventsBody {
            device_id: &device.device_id,
            event_type: "lock.unlocked",
            since: since.to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let answer: EventsAnswer =
            self.post("/events/list", &body, None).await.map_err(|f| f.into_provider_error("listing unlock events"))?;
        // One odd event must not hide the others: each is read on its own.
        let mut events: Vec<UsageEvent> = answer
            .events
            .unwrap_or_default()
            .into_iter()
            .filter_map(|event| serde_json::from_value::<UnlockEvent>(event).ok())
            .filter(|event| event.event_type.as_deref().is_none_or(|kind| kind == "lock.unlocked"))
            .filter_map(|event| {
                Some(UsageEvent {
                    event_id: event.event_id,
                    provider_ref: Some(event.access_code_id?),
                    occurred_at: event.occurred_at,
                    denied: false,
                })
            })
            .collect();
        events.sort_by_key(|event| event.occurred_at);
        Ok(events)
    }

    #[tracing::instrument(skip_all, fields(device_id = %device.device_id, %provider_ref))]
    async fn pull_backup_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<Option<BackupCode>> {
        if self.cached_backup_pool(&device.device_id) == Some(false) {
            return Ok(None);
        }
        let body = AccessCodeBody { access_code_id: provider_ref };
        let answer: PullAnswer = match self.post("/access_codes/pull_backup_access_code", &body, None).await {
            Ok(answer) => answer,
            Err(failure) if failure.means_no_backup() => return Ok(None),
            Err(failure) => return Err(failure.into_provider_error("pulling a backup code")),
        };
        // Seam's spec puts the backup under `backup_access_code`; its SDKs
        // read `access_code`, which is the backup only if it is not the
        // original code.
        let backup = answer
            .backup_access_code
            .or_else(|| answer.access_code.filter(|c| c.is_backup == Some(true) || c.access_code_id != provider_ref));
        let Some(backup) = backup else { return Ok(None) };
        match backup.code {
            Some(code) if !code.is_empty() => Ok(Some(BackupCode { provider_ref: backup.access_code_id, code })),
            _ => Err(ProviderError::Retryable("Seam's backup code has no value yet".to_owned())),
        }
    }
}

/// Why a call to Seam did not give an answer.
#[derive(Debug)]
enum Failure {
    /// No HTTP answer: connection refused, reset, timed out.
    Network { timed_out: bool, detail: String },
    /// A non-2xx answer with Seam's error envelope, when it sent one.
    Http { status: u16, retry_after: Option<Duration>, error_type: String, message: String },
    /// A 2xx answer we could not read.
    Unreadable(String),
}

impl Failure {
    fn network(error: reqwest::Error) -> Self {
        Self::Network { timed_out: error.is_timeout(), detail: error.without_url().to_string() }
    }

    /// Whether Seam answered `status` with error type `error_type`.
    fn is(&self, status: u16, error_type: &str) -> bool {
        matches!(self, Self::Http { status: s, error_type: t, .. } if *s == status && t == error_type)
    }

    /// Seam's ways of saying there is no backup code to pull: the device
    /// has no pool, the pool is empty, or the code is not time-bound.
    /// The exact types for a device without a pool are not documented, so
    /// any 4xx whose type names the backup counts.
    fn means_no_backup(&self) -> bool {
        match self {
            Self::Http { status: 400 | 404 | 409 | 422, error_type, .. } => {
                error_type.contains("backup") || error_type == "access_code_not_time_bound"
            }
            _ => false,
        }
    }

    /// The one place where Seam's failures become doorman's errors.
    /// `doing` says what was asked ("creating an access code").
    fn into_provider_error(self, doing: &str) -> ProviderError {
        let (status, retry_after, error_type, message) = match self {
            Self::Network { timed_out: true, .. } => {
                return ProviderError::Retryable(format!("Seam did not answer in time while {doing}"))
            }
            Self::Network { detail, .. } => {
                return ProviderError::Retryable(format!("Seam unreachable while {doing}: {detail}"))
            }
            Self::Unreadable(detail) => {
                return ProviderError::Retryable(format!("unreadable answer from Seam while {doing}: {detail}"))
            }
            Self::Http { status, retry_after, error_type, message } => (status, retry_after, error_type, message),
        };
        let seam_says = match (error_type.is_empty(), message.is_empty()) {
            (true, true) => String::new(),
            (false, true) => format!(": {error_type}"),
            (true, false) => format!(": {message}"),
            (false, false) => format!(": {error_type}: {message}"),
        };
        match status {
            429 => ProviderError::RateLimited {
                message: format!("Seam rate-limited {doing}"),
                retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
            },
            408 | 500..=599 => {
                ProviderError::Retryable(format!("Seam answered HTTP {status} while {doing}{seam_says}"))
            }
            401 => ProviderError::Permanent(format!(
                "Seam refused the API key (HTTP 401) while {doing}: check SEAM_API_KEY"
            )),
            403 => ProviderError::Permanent(format!(
                "Seam's API key may not do this (HTTP 403) while {doing}: check SEAM_API_KEY and its workspace"
            )),
            404 if error_type == "device_not_found" => ProviderError::Permanent(format!(
                "Seam does not know this device (device_not_found) while {doing}: check the lock's device id"
            )),
            _ => ProviderError::Permanent(format!("Seam refused {doing} (HTTP {status}){seam_says}")),
        }
    }
}

/// A serde_json error without the offending value (it may be a code).
fn describe_json_error(error: &serde_json::Error) -> String {
    format!("{:?} error at line {} column {}", error.classify(), error.line(), error.column())
}

/// `text` without `secret` in it, cut to [`MESSAGE_CHARS`].
fn redact(text: &str, secret: Option<&str>) -> String {
    let text = match secret {
        Some(secret) if !secret.is_empty() => text.replace(secret, "••••"),
        _ => text.to_owned(),
    };
    let mut cut: String = text.chars().take(MESSAGE_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// An action attempt that already failed is a refusal.
fn check_attempt(attempt: Option<&ActionAttempt>, secret: Option<&str>) -> ProviderResult<()> {
    match attempt {
        Some(ActionAttempt { status: Some(status), error, .. }) if status == "error" => {
            let error = error.as_ref();
            let kind = error.and_then(|e| e.error_type.as_deref()).unwrap_or("error");
            let message = redact(error.and_then(|e| e.message.as_deref()).unwrap_or_default(), secret);
            Err(ProviderError::Permanent(format!("Seam's action attempt failed: {kind}: {message}")))
        }
        _ => Ok(()),
    }
}

/// RFC 3339 in UTC to the second, as Seam takes `starts_at`/`ends_at`.
fn seconds(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Seam's access code as doorman sees it.
fn device_code(code: AccessCode) -> DeviceCode {
    let not_setting =
        code.errors.iter().flatten().find(|e| e.error_code.as_deref().is_some_and(|c| NOT_SETTING_ERRORS.contains(&c)));
    let status = match (code.status.as_deref(), not_setting) {
        (Some("removing"), _) => DeviceCodeStatus::Removing,
        (_, Some(error)) => DeviceCodeStatus::Failed(format!(
            "{}: {}",
            error.error_code.as_deref().unwrap_or_default(),
            redact(error.message.as_deref().unwrap_or_default(), code.code.as_deref())
        )),
        (Some("set"), None) => DeviceCodeStatus::Set,
        // Not started yet: Seam activates it on the device itself.
        (Some("unset"), None) if code.starts_at.is_some_and(|start| start > Utc::now()) => DeviceCodeStatus::Scheduled,
        // `setting`, `unset` (deactivated), `unknown`, or a new value.
        _ => DeviceCodeStatus::Setting,
    };
    DeviceCode {
        provider_ref: code.access_code_id,
        name: code.name.unwrap_or_default(),
        code: code.code,
        valid_from: code.starts_at,
        valid_until: code.ends_at,
        status,
    }
}

/// Seam's device as doorman sees it.
/// A listed device; one without an id cannot be a lock's device.
fn found_device(mut device: SeamDevice) -> Option<FoundDevice> {
    let device_id = device.device_id.take()?;
    let name = device
        .display_name
        .take()
        .or_else(|| device.properties.name.take())
        .unwrap_or_else(|| format!("Seam {device_id}"));
    let model = device.properties.model.take().and_then(|m| m.display_name).or_else(|| device.device_type.take());
    Some(FoundDevice { device_id, name, model, status: device_status(device) })
}

fn device_status(device: SeamDevice) -> DeviceStatus {
    let account_id = device.connected_account_id;
    let properties = device.properties;
    let warnings: Vec<String> = device.warnings.into_iter().flatten().filter_map(|w| w.warning_code).collect();
    let battery_level = properties.battery_level.or(properties.battery.as_ref().and_then(|b| b.level));
    let battery_status = properties.battery.as_ref().and_then(|b| b.status.as_deref());
    let battery_low = matches!(battery_status, Some("low" | "critical"))
        || warnings.iter().any(|w| w.contains("low_battery") && !w.starts_with("accessory_keypad"));
    let keypad_level = properties
        .keypad_battery
        .as_ref()
        .and_then(|k| k.level)
        .or_else(|| properties.accessory_keypad.as_ref().and_then(|k| k.battery.as_ref()).and_then(|b| b.level))
        .filter(|level| level.is_finite());
    let keypad_battery_low = if warnings.iter().any(|w| w == "accessory_keypad_low_battery") {
        Some(true)
    } else {
        keypad_level.map(|level| level <= KEYPAD_BATTERY_LOW)
    };
    DeviceStatus {
        online: properties.online.unwrap_or(false),
        battery_percent: battery_level.filter(|l| l.is_finite()).map(|l| (l * 100.0).round().clamp(0.0, 100.0) as i32),
        battery_low,
        keypad_battery_low,
        constraints: Some(constraints(&properties)),
        account_id,
    }
}

/// What codes the device accepts. `min_length`/`max_length` in Seam's
/// constraints are about the code's *name*; PIN lengths come from
/// `supported_code_lengths`.
fn constraints(properties: &Properties) -> DeviceConstraints {
    let mut supported_lengths: Vec<u8> = properties
        .supported_code_lengths
        .iter()
        .flatten()
        .filter(|n| n.fract() == 0.0 && (1.0..=255.0).contains(*n))
        .map(|n| *n as u8)
        .collect();
    supported_lengths.sort_unstable();
    supported_lengths.dedup();
    let kinds: Vec<&str> =
        properties.code_constraints.iter().flatten().filter_map(|c| c.constraint_type.as_deref()).collect();
    DeviceConstraints {
        min_length: supported_lengths.first().copied(),
        max_length: supported_lengths.last().copied(),
        supported_lengths,
        no_zeros: kinds.contains(&"no_zeros"),
        forbidden_prefixes: if kinds.contains(&"cannot_start_with_12") { vec!["12".to_owned()] } else { vec![] },
        max_active_codes: properties
            .max_active_codes_supported
            .filter(|n| n.is_finite() && *n >= 0.0)
            .map(|n| n.min(f64::from(i32::MAX)) as i32),
        backup_pool: properties.supports_backup_access_code_pool.unwrap_or(false),
    }
}

// What goes to Seam.

#[derive(Serialize)]
struct CreateBody<'a> {
    device_id: &'a str,
    name: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    starts_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    use_backup_access_code_pool: Option<bool>,
}

#[derive(Serialize)]
struct UpdateBody<'a> {
    access_code_id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    starts_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ends_at: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
}

#[derive(Serialize)]
struct AccessCodeBody<'a> {
    access_code_id: &'a str,
}

#[derive(Serialize)]
struct DeviceBody<'a> {
    device_id: &'a str,
}

#[derive(Serialize)]
struct ListBody<'a> {
    device_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_cursor: Option<&'a str>,
}

#[derive(Serialize)]
struct EventsBody<'a> {
    device_id: &'a str,
    event_type: &'static str,
    since: String,
}

// What comes back. Lenient on purpose: Seam adds fields and enum values,
// and its examples leave out fields its schema calls required.

#[derive(Debug, Default, Deserialize)]
struct ErrorEnvelope {
    #[serde(default)]
    error: ApiError,
}

#[derive(Debug, Default, Deserialize)]
struct ApiError {
    #[serde(rename = "type", default)]
    error_type: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ActionAttempt {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ActionAnswer {
    #[serde(default)]
    action_attempt: Option<ActionAttempt>,
}

#[derive(Deserialize)]
struct CreateAnswer {
    access_code: AccessCode,
    #[serde(default)]
    action_attempt: Option<ActionAttempt>,
}

#[derive(Deserialize)]
struct ListAnswer {
    #[serde(default)]
    access_codes: Option<Vec<AccessCode>>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct PullAnswer {
    #[serde(default)]
    backup_access_code: Option<AccessCode>,
    #[serde(default)]
    access_code: Option<AccessCode>,
}

#[derive(Debug, Deserialize)]
struct Pagination {
    #[serde(default)]
    has_next_page: Option<bool>,
    #[serde(default)]
    next_page_cursor: Option<String>,
}

/// A managed access code. No `Debug`: it holds the code.
#[derive(Deserialize)]
struct AccessCode {
    access_code_id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    starts_at: Option<DateTime<Utc>>,
    #[serde(default)]
    ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    errors: Option<Vec<Issue>>,
    #[serde(default)]
    is_backup: Option<bool>,
}

/// An entry of an access code's `errors`.
#[derive(Debug, Deserialize)]
struct Issue {
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// An entry of a device's `warnings`.
#[derive(Debug, Deserialize)]
struct Warning {
    #[serde(default)]
    warning_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct DeviceAnswer {
    device: SeamDevice,
}

#[derive(Debug, Deserialize)]
struct SeamDevice {
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    connected_account_id: Option<String>,
    #[serde(default)]
    device_type: Option<String>,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    properties: Properties,
    #[serde(default)]
    warnings: Option<Vec<Warning>>,
}

#[derive(Debug, Default, Deserialize)]
struct Properties {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    model: Option<DeviceModel>,
    #[serde(default)]
    online: Option<bool>,
    #[serde(default)]
    battery_level: Option<f64>,
    #[serde(default)]
    battery: Option<Battery>,
    #[serde(default)]
    keypad_battery: Option<Battery>,
    #[serde(default)]
    accessory_keypad: Option<AccessoryKeypad>,
    #[serde(default)]
    supported_code_lengths: Option<Vec<f64>>,
    #[serde(default)]
    code_constraints: Option<Vec<CodeConstraint>>,
    #[serde(default)]
    max_active_codes_supported: Option<f64>,
    #[serde(default)]
    supports_backup_access_code_pool: Option<bool>,
}

/// `properties.model`.
#[derive(Debug, Deserialize)]
struct DeviceModel {
    #[serde(default)]
    display_name: Option<String>,
}

/// `/devices/list`.
#[derive(Debug, Deserialize)]
struct DevicesAnswer {
    #[serde(default)]
    devices: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Serialize)]
struct DevicesBody<'a> {
    limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_cursor: Option<&'a str>,
}

#[derive(Debug, Deserialize)]
struct Battery {
    #[serde(default)]
    level: Option<f64>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AccessoryKeypad {
    #[serde(default)]
    battery: Option<Battery>,
}

#[derive(Debug, Deserialize)]
struct CodeConstraint {
    #[serde(default)]
    constraint_type: Option<String>,
}

#[derive(Deserialize)]
struct EventsAnswer {
    #[serde(default)]
    events: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct UnlockEvent {
    event_id: String,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    access_code_id: Option<String>,
    occurred_at: DateTime<Utc>,
}

/// A Seam event delivered by webhook (the bare event object: Seam sends
/// no envelope). Only what doorman acts on; the rest is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeamEvent {
    /// Seam's id of the event: deduplicates redeliveries.
    pub event_id: String,
    /// E.g. `access_code.set_on_device`, `lock.unlocked`,
    /// `device.disconnected`; Seam has over a hundred.
    pub event_type: String,
    /// The device, for device and access-code events (workspace-level
    /// events such as `connected_account.*` have none).
    pub device_id: Option<String>,
    /// The access code, for access-code events and unlocks with a code.
    pub access_code_id: Option<String>,
    /// The connected account, for `connected_account.*` events (and on
    /// device events).
    pub connected_account_id: Option<String>,
    /// When it happened (Seam's `occurred_at`, else `created_at`).
    pub occurred_at: DateTime<Utc>,
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// `svix-id`/`webhook-id`, `...-timestamp` or `...-signature` is missing.
    #[error("missing webhook header {0}")]
    MissingHeader(&'static str),
    /// The configured secret is not `whsec_` followed by base64.
    #[error("the Seam webhook secret is not a whsec_ secret")]
    BadSecret,
    /// The timestamp header is not a Unix time.
    #[error("the webhook timestamp is not a Unix time")]
    BadTimestamp,
    /// The timestamp is more than 5 minutes from now (a replay, or a clock).
    #[error("the webhook timestamp is more than 5 minutes away")]
    StaleTimestamp,
    /// No `v1` signature matches.
    #[error("no webhook signature matches")]
    BadSignature,
    /// Signed, but not a Seam event.
    #[error("unreadable webhook event: {0}")]
    BadPayload(String),
}

/// Checks a Seam webhook as Svix signs it and returns its event.
///
/// `secret` is the endpoint's `whsec_<base64>` secret. The signed content is
/// `{id}.{timestamp}.{body}` with the raw body; the signature header lists
/// `v1,<base64 HMAC-SHA256>` entries separated by spaces, any one of which
/// may match (compared in constant time). Headers may be named `svix-*` or
/// `webhook-*`. A timestamp more than 5 minutes from `now` is refused.
pub fn verify_webhook(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<SeamEvent, WebhookError> {
    let id = webhook_header(headers, "id")?;
    let timestamp = webhook_header(headers, "timestamp")?;
    let signatures = webhook_header(headers, "signature")?;
    let key = webhook_key(secret).ok_or(WebhookError::BadSecret)?;
    let sent_at: i64 = timestamp.trim().parse().map_err(|_| WebhookError::BadTimestamp)?;
    if now.timestamp().abs_diff(sent_at) > WEBHOOK_TOLERANCE_SECS {
        return Err(WebhookError::StaleTimestamp);
    }
    let expected = webhook_signature(&key, id, timestamp, body)?;
    let matches = signatures
        .split_whitespace()
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, signature)| BASE64.decode(signature).ok())
        .any(|signature| bool::from(signature.ct_eq(&expected)));
    if !matches {
        return Err(WebhookError::BadSignature);
    }
    let event: RawEvent =
        serde_json::from_slice(body).map_err(|e| WebhookError::BadPayload(describe_json_error(&e)))?;
    let occurred_at =
        event.occurred_at.or(event.created_at).ok_or_else(|| WebhookError::BadPayload("no occurred_at".to_owned()))?;
    Ok(SeamEvent {
        event_id: event.event_id,
        event_type: event.event_type,
        device_id: event.device_id,
        access_code_id: event.access_code_id,
        connected_account_id: event.connected_account_id,
        occurred_at,
    })
}

/// The HMAC key of a Svix secret, `whsec_` followed by base64; `None` when
/// `secret` is not one (checked at start: `SEAM_WEBHOOK_SECRET`).
pub fn webhook_key(secret: &str) -> Option<Vec<u8>> {
    let encoded = secret.trim().strip_prefix("whsec_")?;
    BASE64.decode(encoded).ok().filter(|key| !key.is_empty())
}

/// The `svix-<name>` header, else `webhook-<name>`.
fn webhook_header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, WebhookError> {
    let (svix, plain) = match name {
        "id" => ("svix-id", "webhook-id"),
        "timestamp" => ("svix-timestamp", "webhook-timestamp"),
        _ => ("svix-signature", "webhook-signature"),
    };
    headers
        .get(svix)
        .or_else(|| headers.get(plain))
        .and_then(|value| value.to_str().ok())
        .ok_or(WebhookError::MissingHeader(svix))
}

/// HMAC-SHA256 of `{id}.{timestamp}.{body}`.
fn webhook_signature(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Result<Vec<u8>, WebhookError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| WebhookError::BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac.finalize().into_bytes().to_vec())
}

/// A webhook event: only the fields doorman reads. No `Debug`: some events
/// carry the code.
#[derive(Deserialize)]
struct RawEvent {
    event_id: String,
    event_type: String,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    access_code_id: Option<String>,
    #[serde(default)]
    connected_account_id: Option<String>,
    #[serde(default)]
    occurred_at: Option<DateTime<Utc>>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_signature_matches_svix_test_vector() {
        let key = BASE64.decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signature = webhook_signature(&key, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", "1649367553", body).unwrap();
        assert_eq!(BASE64.encode(signature), "tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn redact_blanks_the_code_and_truncates() {
        assert_eq!(redact("code 482913 already on device", Some("482913")), "code •••• already on device");
        let long = "x".repeat(500);
        assert_eq!(redact(&long, None).chars().count(), MESSAGE_CHARS + 1);
    }

    #[test]
    fn errors_map_by_status_and_type() {
        let http = |status, error_type: &str| Failure::Http {
            status,
            retry_after: None,
            error_type: error_type.to_owned(),
            message: "m".to_owned(),
        };
        assert!(matches!(http(503, "").into_provider_error("x"), ProviderError::Retryable(_)));
        assert_eq!(
            http(429, "").into_provider_error("x"),
            ProviderError::RateLimited { message: "Seam rate-limited x".into(), retry_after: DEFAULT_RETRY_AFTER }
        );
        assert!(matches!(http(404, "device_not_found").into_provider_error("x"), ProviderError::Permanent(_)));
        assert!(
            matches!(http(400, "invalid_input").into_provider_error("x"), ProviderError::Permanent(m) if m.contains("invalid_input: m"))
        );
        assert!(http(404, "backup_access_code_not_found").means_no_backup());
        assert!(!http(404, "access_code_not_found").means_no_backup());
    }

    #[test]
    fn unknown_statuses_and_errors_do_not_fail() {
        let code: AccessCode = serde_json::from_value(serde_json::json!({
            "access_code_id": "a", "status": "brand_new_status", "errors": [{ "error_code": "something_new" }],
            "name": null, "code": null
        }))
        .unwrap();
        assert_eq!(device_code(code).status, DeviceCodeStatus::Setting);
    }

    #[test]
    fn odd_numbers_in_device_properties_do_not_panic() {
        let properties: Properties = serde_json::from_value(serde_json::json!({
            "supported_code_lengths": [4, 6.5, -1, 1e9, 6, 4],
            "max_active_codes_supported": 1e20,
            "battery_level": 7.5,
        }))
        .unwrap();
        let c = constraints(&properties);
        assert_eq!(c.supported_lengths, vec![4, 6]);
        assert_eq!(c.max_active_codes, Some(i32::MAX));
        let status = device_status(SeamDevice {
            device_id: None,
            connected_account_id: None,
            device_type: None,
            display_name: None,
            properties,
            warnings: None,
        });
        assert_eq!(status.battery_percent, Some(100));
    }
}
