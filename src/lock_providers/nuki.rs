//! The Nuki Web API (`https://api.nuki.io`): keypad codes are smart-lock
//! authorizations of type 13.
//!
//! Every change is asynchronous. `PUT /smartlock/{id}/auth` answers 204 with
//! an empty body and no id: the request is only queued, and the new auth
//! shows up in `GET /smartlock/{id}/auth` once the lock has synced (seconds
//! when it is online, later or never when it is not). So a create returns
//! [`Created::Accepted`] without a reference, and doorman polls
//! [`LockProvider::list_codes`] until the code appears under its name, which
//! is why names must be unique on a lock. Updates and deletes are queued the
//! same way; while one is pending, further changes to that auth get 423.
//!
//! A keypad code must be unique on a lock: creating a code that is already
//! there gets 409. A retried create whose first 204 was lost gets that 409
//! too, so the client looks for its own name before calling it a conflict.
//!
//! Failures map to [`ProviderError`] in one place (`provider_error`).
//! Answers that cannot be parsed are [`ProviderError::Retryable`]: a proxy's
//! error page is transient, and a lasting change of the API shows up as
//! repeated failures that the job queue and the circuit breaker report.
//! Neither a code value nor the token ever goes into an error or a log line.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{
    CodeRequest, Created, Device, DeviceCode, DeviceCodeStatus, DeviceConstraints, DeviceStatus, FoundDevice,
    LockProvider, ProviderError, ProviderResult, UsageEvent,
};

/// How long a request may take by default.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take at most.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The wait when a 429 carries no usable `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Authorization type of a keypad code.
const KEYPAD_CODE: i32 = 13;
/// `allowedWeekDays` bitmask with every day set.
const EVERY_DAY: u8 = 127;
/// Longest name the API accepts for a keypad code (422 beyond).
const MAX_NAME_CHARS: usize = 20;
/// How many keypad codes a lock holds (99 or 100, depending on the source).
const MAX_KEYPAD_CODES: i32 = 100;
/// Log entries per page: the API's maximum.
const LOG_PAGE_SIZE: usize = 50;
/// Log pages read per call at most, so a busy door cannot stall a poll.
const MAX_LOG_PAGES: usize = 10;
/// Characters of an error body kept in an error message.
const BODY_EXCERPT_CHARS: usize = 200;

/// A Nuki Web API client authenticated with an API token.
#[derive(Debug, Clone)]
pub struct NukiClient {
    http: reqwest::Client,
    api_base: String,
    token: SecretString,
}

impl NukiClient {
    /// A client for `api_base` (e.g. `https://api.nuki.io`), sending `token`
    /// as a Bearer token; requests time out after 10 s.
    pub fn new(api_base: &str, token: SecretString) -> Self {
        Self::with_timeout(api_base, token, REQUEST_TIMEOUT)
    }

    /// The same with another request timeout; connecting is bounded by 5 s
    /// or by `timeout` when it is shorter.
    pub fn with_timeout(api_base: &str, token: SecretString, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .build()
            .expect("a TLS backend is compiled in");
        Self { http, api_base: api_base.trim_end_matches('/').to_owned(), token }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.api_base))
            .bearer_auth(self.token.expose_secret())
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// Sends `request`; a 2xx or one of the `tolerated` statuses is returned,
    /// anything else becomes a [`ProviderError`].
    async fn send(&self, what: &str, request: RequestBuilder, tolerated: &[StatusCode]) -> ProviderResult<Response> {
        let response = request.send().await.map_err(|err| provider_error(what, Failure::Transport(err)))?;
        let status = response.status();
        if status.is_success() || tolerated.contains(&status) {
            return Ok(response);
        }
        let retry_after = response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok());
        let retry_after = retry_after.and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_secs);
        let body = response.text().await.unwrap_or_default();
        Err(provider_error(what, Failure::Status { status, retry_after, body }))
    }

    /// Sends a GET and parses its JSON answer.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> ProviderResult<T> {
        let response = self.send(what, self.request(Method::GET, path).query(query), &[]).await?;
        let body = response.bytes().await.map_err(|err| provider_error(what, Failure::Transport(err)))?;
        parse_json(what, &body)
    }

    async fn auths(&self, smartlock_id: u64) -> ProviderResult<Vec<Auth>> {
        let path = format!("/smartlock/{smartlock_id}/auth");
        self.get_json("listing the keypad codes", &path, &[("types", KEYPAD_CODE.to_string())]).await
    }

    /// Reads the log since `since`, newest first, following the `id` cursor
    /// to older pages while pages are full.
    async fn log_since(&self, smartlock_id: u64, since: DateTime<Utc>) -> ProviderResult<Vec<LogEntry>> {
        let path = format!("/smartlock/{smartlock_id}/log");
        let mut entries: Vec<LogEntry> = Vec::new();
        for _ in 0..MAX_LOG_PAGES {
            let mut query = vec![("fromDate", utc(since)), ("limit", LOG_PAGE_SIZE.to_string())];
            if let Some(last) = entries.last() {
                query.push(("id", last.id.clone()));
            }
            let page: Vec<LogEntry> = self.get_json("reading the activity log", &path, &query).await?;
            let full = page.len() >= LOG_PAGE_SIZE;
            let reached_since = page.iter().filter_map(|e| parse_date(e.date.as_deref())).any(|d| d < since);
            entries.extend(page);
            if !full || reached_since {
                return Ok(entries);
            }
        }
        tracing::warn!(smartlock_id, pages = MAX_LOG_PAGES, "the Nuki log has more entries than one poll reads");
        Ok(entries)
    }
}

#[async_trait]
impl LockProvider for NukiClient {
    #[tracing::instrument(skip_all, fields(smartlock_id = %device.device_id))]
    async fn create_code(&self, device: &Device, code: &CodeRequest) -> ProviderResult<Created> {
        let smartlock_id = smartlock_id(device)?;
        let body = NewAuth {
            name: keypad_name(&code.name)?,
            kind: KEYPAD_CODE,
            code: keypad_code(&code.code)?,
            allowed_from_date: utc(code.valid_from),
            allowed_until_date: code.valid_until.map(utc),
            allowed_week_days: EVERY_DAY,
            remote_allowed: false,
        };
        let request = self.request(Method::PUT, &format!("/smartlock/{smartlock_id}/auth")).json(&body);
        let response = self.send("creating the keypad code", request, &[StatusCode::CONFLICT]).await?;
        if response.status() != StatusCode::CONFLICT {
            return Ok(Created::Accepted { provider_ref: None });
        }
        // The code is on the lock already: ours, if an earlier attempt got
        // through and only its answer was lost.
        let ours = self.auths(smartlock_id).await?.into_iter().find(|a| a.is_keypad_code() && a.name == code.name);
        match ours {
            Some(auth) => Ok(Created::Accepted { provider_ref: Some(auth.id) }),
            None => Err(ProviderError::Permanent(
                "the code is already on the lock under another name (Nuki answered 409)".into(),
            )),
        }
    }

    #[tracing::instrument(skip_all, fields(smartlock_id = %device.device_id, auth_id = provider_ref))]
    async fn update_code(&self, device: &Device, provider_ref: &str, code: &CodeRequest) -> ProviderResult<()> {
        let smartlock_id = smartlock_id(device)?;
        let auth_id = auth_id(provider_ref)?;
        let body = AuthUpdate {
            name: keypad_name(&code.name)?,
            code: keypad_code(&code.code)?,
            allowed_from_date: utc(code.valid_from),
            // `null` clears an end date set earlier.
            allowed_until_date: code.valid_until.map(utc),
            allowed_week_days: EVERY_DAY,
            enabled: true,
        };
        let request = self.request(Method::POST, &format!("/smartlock/{smartlock_id}/auth/{auth_id}")).json(&body);
        self.send("updating the keypad code", request, &[]).await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(smartlock_id = %device.device_id, auth_id = provider_ref))]
    async fn remove_code(&self, device: &Device, provider_ref: &str) -> ProviderResult<()> {
        let smartlock_id = smartlock_id(device)?;
        let auth_id = auth_id(provider_ref)?;
        let request = self.request(Method::DELETE, &format!("/smartlock/{smartlock_id}/auth/{auth_id}"));
        let response = self.send("removing the keypad code", request, &[StatusCode::NOT_FOUND]).await?;
        if response.status() == StatusCode::NOT_FOUND {
            tracing::info!("the keypad code was already gone");
        }
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(smartlock_id = %device.device_id))]
    async fn list_codes(&self, device: &Device) -> ProviderResult<Vec<DeviceCode>> {
        let auths = self.auths(smartlock_id(device)?).await?;
        Ok(auths.into_iter().filter(Auth::is_keypad_code).map(Auth::into_device_code).collect())
    }

    async fn list_devices(&self) -> ProviderResult<Vec<FoundDevice>> {
        let smartlocks: Vec<Smartlock> = self.get_json("listing the smart locks", "/smartlock", &[]).await?;
        Ok(smartlocks.into_iter().filter_map(Smartlock::into_found).collect())
    }

    #[tracing::instrument(skip_all, fields(smartlock_id = %device.device_id))]
    async fn device_status(&self, device: &Device) -> ProviderResult<DeviceStatus> {
        let path = format!("/smartlock/{}", smartlock_id(device)?);
        let smartlock: Smartlock = self.get_json("reading the smart lock", &path, &[]).await?;
        Ok(smartlock.into_status())
    }

    #[tracing::instrument(skip_all, fields(smartlock_id = %device.device_id))]
    async fn usage_since(&self, device: &Device, since: DateTime<Utc>) -> ProviderResult<Vec<UsageEvent>> {
        let entries = self.log_since(smartlock_id(device)?, since).await?;
        let refused = refused_codes(&entries, since);
        let mut events = keypad_unlocks(entries, since);
        events.extend(refused);
        Ok(events)
    }
}

/// Why a call failed, before it is mapped to a [`ProviderError`].
enum Failure {
    /// No answer: connection refused, reset or timed out.
    Transport(reqwest::Error),
    /// An answer with a status outside 2xx.
    Status { status: StatusCode, retry_after: Option<Duration>, body: String },
}

/// The one mapping from a failed call to a [`ProviderError`]. `what` says
/// what was being done. Body excerpts are redacted and truncated; the token
/// is never part of a message.
/// How long to wait when Nuki says a change to the code is still pending.
const PENDING_CHANGE_WAIT: Duration = Duration::from_secs(30);

fn provider_error(what: &str, failure: Failure) -> ProviderError {
    let (status, retry_after, body) = match failure {
        Failure::Transport(err) if err.is_timeout() => {
            return ProviderError::Retryable(format!("Nuki did not answer in time while {what}"));
        }
        Failure::Transport(err) if err.is_connect() => {
            return ProviderError::Retryable(format!("could not connect to Nuki while {what}"));
        }
        Failure::Transport(err) => {
            return ProviderError::Retryable(format!("Nuki request failed while {what}: {}", err.without_url()));
        }
        Failure::Status { status, retry_after, body } => (status, retry_after, body),
    };
    match status {
        StatusCode::TOO_MANY_REQUESTS => ProviderError::RateLimited {
            message: format!("Nuki is rate-limiting requests ({what})"),
            retry_after: retry_after.unwrap_or(DEFAULT_RETRY_AFTER),
        },
        // The lock is fine, one of its codes is busy: a pause, not a failure
        // (the circuit breaker must not count it).
        StatusCode::LOCKED => ProviderError::RateLimited {
            message: format!(
                "an earlier change to this keypad code is still pending on the lock (Nuki answered 423 while {what})"
            ),
            retry_after: PENDING_CHANGE_WAIT,
        },
        StatusCode::UNAUTHORIZED => ProviderError::Unauthorized(format!(
            "Nuki rejected the API token (401 while {what}): check NUKI_API_TOKEN, it may be wrong or expired"
        )),
        StatusCode::FORBIDDEN => ProviderError::Unauthorized(format!(
            "the Nuki API token may not do this (403 while {what}): check its scopes and access to the smart lock"
        )),
        StatusCode::NOT_FOUND => {
            ProviderError::Permanent(format!("Nuki does not know this smart lock or keypad code (404 while {what})"))
        }
        s if s.is_server_error() => {
            ProviderError::Retryable(format!("Nuki answered {} while {what}: {}", s.as_u16(), excerpt(&body)))
        }
        s => ProviderError::Permanent(format!("Nuki answered {} while {what}: {}", s.as_u16(), excerpt(&body))),
    }
}

/// The start of an error body for a message: long numbers (a code could be
/// echoed) and long tokens are blanked, and it is cut to a few characters.
fn excerpt(body: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let is_number = word.len() >= 6 && word.bytes().all(|b| b.is_ascii_digit());
        out.push_str(if is_number || word.len() >= 32 { "[redacted]" } else { word.as_str() });
        word.clear();
    };
    for c in body.chars().filter(|c| !c.is_control()) {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    let out = out.trim();
    if out.is_empty() {
        return "(empty body)".into();
    }
    match out.char_indices().nth(BODY_EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out.to_owned(),
    }
}

/// Parses a JSON answer. serde's message can quote the offending value (a
/// code, say), so only its category and position are kept.
fn parse_json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> ProviderResult<T> {
    serde_json::from_slice(body).map_err(|err| {
        ProviderError::Retryable(format!(
            "Nuki sent an unexpected answer while {what} ({:?} error at line {}, column {})",
            err.classify(),
            err.line(),
            err.column()
        ))
    })
}

/// The smartlockId of a device: digits only.
fn smartlock_id(device: &Device) -> ProviderResult<u64> {
    let id = device.device_id.trim();
    let digits = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit());
    digits.then(|| id.parse::<u64>().ok()).flatten().ok_or_else(|| {
        ProviderError::Permanent(format!("{:?} is not a Nuki smartlockId (digits expected)", device.device_id))
    })
}

/// An auth id for a path: the API's ids are hex strings, and anything else
/// could change the URL's meaning.
fn auth_id(provider_ref: &str) -> ProviderResult<&str> {
    if !provider_ref.is_empty() && provider_ref.len() <= 64 && provider_ref.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(provider_ref);
    }
    Err(ProviderError::Permanent(format!("{provider_ref:?} is not a Nuki authorization id")))
}

/// A keypad code's name: non-empty, at most 20 characters.
fn keypad_name(name: &str) -> ProviderResult<&str> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS {
        return Err(ProviderError::Permanent(format!(
            "a Nuki keypad code needs a name of 1 to {MAX_NAME_CHARS} characters, {name:?} has {chars}"
        )));
    }
    Ok(name)
}

/// A keypad code as the API's integer: six digits 1–9, not starting with
/// `12`. The error never repeats the value.
fn keypad_code(code: &str) -> ProviderResult<u32> {
    let valid = code.len() == 6 && code.bytes().all(|b| (b'1'..=b'9').contains(&b)) && !code.starts_with("12");
    valid.then(|| code.parse::<u32>().ok()).flatten().ok_or_else(|| {
        ProviderError::Permanent("the code does not fit the Nuki keypad (six digits 1-9, not starting with 12)".into())
    })
}

/// A UTC instant as the API writes it: `2023-08-01T09:00:00.000Z`.
fn utc(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads the API's dates (RFC 3339, or without seconds as in its examples);
/// `None` when missing or unreadable.
fn parse_date(date: Option<&str>) -> Option<DateTime<Utc>> {
    let date = date?.trim();
    if let Ok(parsed) = DateTime::parse_from_rfc3339(date) {
        return Some(parsed.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%MZ").ok().map(|naive| naive.and_utc())
}

/// Keypad-code unlocks at or after `since`, oldest first: trigger 255
/// (keypad), action unlock, unlatch or lock'n'go with unlatch, state 0
/// (success).
fn keypad_unlocks(entries: Vec<LogEntry>, since: DateTime<Utc>) -> Vec<UsageEvent> {
    const KEYPAD: i32 = 255;
    const UNLOCKING: [i32; 3] = [1, 3, 5];
    const SUCCESS: i32 = 0;
    let mut events: Vec<UsageEvent> = entries
        .into_iter()
        .filter(|e| e.trigger == Some(KEYPAD) && e.action.is_some_and(|a| UNLOCKING.contains(&a)))
        .filter(|e| e.state == Some(SUCCESS))
        .filter_map(|e| {
            let occurred_at = parse_date(e.date.as_deref()).filter(|at| *at >= since)?;
            Some(UsageEvent { event_id: e.id, provider_ref: e.auth_id, occurred_at, denied: false })
        })
        .collect();
    events.sort_by(|a, b| a.occurred_at.cmp(&b.occurred_at).then_with(|| a.event_id.cmp(&b.event_id)));
    events.dedup_by(|a, b| a.event_id == b.event_id);
    events
}

/// Keypad entries the lock refused at or after `since`, oldest first:
/// trigger 255 (keypad) or 253 (keypad error) with state 224 ("invalid
/// code" in the Web API's `SmartlockLog`). Older firmware logs no refused
/// entry, so such a lock reports none.
fn refused_codes(entries: &[LogEntry], since: DateTime<Utc>) -> Vec<UsageEvent> {
    const KEYPAD_TRIGGERS: [i32; 2] = [255, 253];
    const INVALID_CODE: i32 = 224;
    let mut events: Vec<UsageEvent> = entries
        .iter()
        .filter(|e| e.trigger.is_some_and(|t| KEYPAD_TRIGGERS.contains(&t)) && e.state == Some(INVALID_CODE))
        .filter_map(|e| {
            let occurred_at = parse_date(e.date.as_deref()).filter(|at| *at >= since)?;
            Some(UsageEvent { event_id: e.id.clone(), provider_ref: None, occurred_at, denied: true })
        })
        .collect();
    events.sort_by(|a, b| a.occurred_at.cmp(&b.occurred_at).then_with(|| a.event_id.cmp(&b.event_id)));
    events.dedup_by(|a, b| a.event_id == b.event_id);
    events
}

/// `SmartlockAuthCreate` for a keypad code.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewAuth<'a> {
    name: &'a str,
    #[serde(rename = "type")]
    kind: i32,
    code: u32,
    allowed_from_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_until_date: Option<String>,
    allowed_week_days: u8,
    /// Required by the schema; a keypad code is entered at the door.
    remote_allowed: bool,
}

/// `SmartlockAuthUpdate` (it has no `type`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthUpdate<'a> {
    name: &'a str,
    code: u32,
    allowed_from_date: String,
    allowed_until_date: Option<String>,
    allowed_week_days: u8,
    enabled: bool,
}

/// `SmartlockAuth`, only what doorman reads; every field but `id` may be
/// missing.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Auth {
    id: String,
    #[serde(default, rename = "type")]
    kind: Option<i32>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    code: Option<u32>,
    #[serde(default)]
    allowed_from_date: Option<String>,
    #[serde(default)]
    allowed_until_date: Option<String>,
}

impl Auth {
    fn is_keypad_code(&self) -> bool {
        self.kind == Some(KEYPAD_CODE)
    }

    fn into_device_code(self) -> DeviceCode {
        DeviceCode {
            provider_ref: self.id,
            name: self.name,
            code: self.code.map(|c| c.to_string()),
            valid_from: parse_date(self.allowed_from_date.as_deref()),
            valid_until: parse_date(self.allowed_until_date.as_deref()),
            status: DeviceCodeStatus::Set,
        }
    }
}

/// `Smartlock`, only what doorman reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Smartlock {
    /// Its id (`GET /smartlock` lists it; `/smartlock/{id}` needs it).
    #[serde(default)]
    smartlock_id: Option<u64>,
    /// Its name in the Nuki app.
    #[serde(default)]
    name: Option<String>,
    /// 0 Smart Lock 1.0/2.0, 2 Opener, 3 Smart Door, 4 Smart Lock 3.0 or
    /// later.
    #[serde(default, rename = "type")]
    kind: Option<i32>,
    /// 0 ok; 1–3 registration or auth problems; 4 offline.
    #[serde(default)]
    server_state: Option<i32>,
    #[serde(default)]
    state: Option<SmartlockState>,
}

/// `Smartlock.State`, only what doorman reads.
#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmartlockState {
    #[serde(default)]
    battery_critical: Option<bool>,
    #[serde(default)]
    battery_charge: Option<i32>,
    #[serde(default)]
    keypad_battery_critical: Option<bool>,
}

impl Smartlock {
    /// A listed smart lock; one without an id cannot be a lock's device.
    fn into_found(self) -> Option<FoundDevice> {
        let device_id = self.smartlock_id?.to_string();
        let name = self.name.clone().unwrap_or_else(|| format!("Nuki {device_id}"));
        let model = self.kind.map(|kind| match kind {
            0 => "Smart Lock 1.0/2.0".to_owned(),
            2 => "Opener".to_owned(),
            3 => "Smart Door".to_owned(),
            4 => "Smart Lock 3.0 or later".to_owned(),
            other => format!("Nuki device type {other}"),
        });
        Some(FoundDevice { device_id, name, model, status: self.into_status() })
    }

    fn into_status(self) -> DeviceStatus {
        let state = self.state.unwrap_or_default();
        DeviceStatus {
            online: self.server_state == Some(0),
            battery_percent: state.battery_charge,
            battery_low: state.battery_critical.unwrap_or(false),
            keypad_battery_low: state.keypad_battery_critical,
            constraints: Some(keypad_constraints()),
            // One account per API token.
            account_id: None,
        }
    }
}

/// What a Nuki keypad accepts.
fn keypad_constraints() -> DeviceConstraints {
    DeviceConstraints {
        supported_lengths: vec![6],
        min_length: Some(6),
        max_length: Some(6),
        no_zeros: true,
        forbidden_prefixes: vec!["12".into()],
        max_active_codes: Some(MAX_KEYPAD_CODES),
        backup_pool: false,
    }
}

/// `SmartlockLog`, only what doorman reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEntry {
    id: String,
    /// The `SmartlockAuth.id` that acted.
    #[serde(default)]
    auth_id: Option<String>,
    #[serde(default)]
    action: Option<i32>,
    #[serde(default)]
    trigger: Option<i32>,
    #[serde(default)]
    state: Option<i32>,
    #[serde(default)]
    date: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: &str) -> Device {
        Device { lock_id: uuid::Uuid::nil(), device_id: id.into() }
    }

    #[test]
    fn nuki_smartlock_ids_are_digits_only() {
        assert_eq!(smartlock_id(&device("18298712180")).unwrap(), 18_298_712_180);
        for bad in ["", "abc", "12/auth", "-1", "1.5", "99999999999999999999999"] {
            assert!(matches!(smartlock_id(&device(bad)), Err(ProviderError::Permanent(_))), "{bad:?}");
        }
    }

    #[test]
    fn nuki_auth_ids_cannot_change_the_path() {
        assert_eq!(auth_id("65219648fe57075d71a6cb01").unwrap(), "65219648fe57075d71a6cb01");
        for bad in ["", "../x", "a/b", "a?b=c", "a b"] {
            assert!(auth_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn nuki_keypad_codes_are_checked_without_repeating_them() {
        assert_eq!(keypad_code("849391").unwrap(), 849_391);
        for bad in ["849301", "128493", "84939", "8493911", "84939a", "+84939", ""] {
            let err = keypad_code(bad).unwrap_err();
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "{err}");
            }
            assert!(!err.is_retryable());
        }
    }

    #[test]
    fn nuki_names_are_at_most_twenty_characters() {
        assert!(keypad_name("BK-12345678-abcdef12").is_ok());
        assert!(keypad_name("BK-12345678-abcdef123").is_err());
        assert!(keypad_name("").is_err());
    }

    #[test]
    fn nuki_dates_are_utc_with_millis() {
        let at = DateTime::parse_from_rfc3339("2023-08-01T11:00:00+02:00").unwrap().with_timezone(&Utc);
        assert_eq!(utc(at), "2023-08-01T09:00:00.000Z");
        assert_eq!(parse_date(Some("2023-08-01T09:00:00.000Z")), Some(at));
        assert_eq!(parse_date(Some("2023-08-01T09:00Z")), Some(at));
        assert_eq!(parse_date(Some("yesterday")), None);
        assert_eq!(parse_date(None), None);
    }

    #[test]
    fn nuki_error_excerpts_hide_numbers_and_tokens_and_are_short() {
        let body = r#"{"detailMessage":"code 982345 refused","token":"abcdefabcdefabcdefabcdefabcdefabcdef"}"#;
        let shown = excerpt(body);
        assert!(!shown.contains("982345") && !shown.contains("abcdefabcdef"), "{shown}");
        assert!(shown.contains("refused"));
        assert!(excerpt(&"é".repeat(1000)).chars().count() <= BODY_EXCERPT_CHARS + 1);
        assert_eq!(excerpt("  "), "(empty body)");
    }

    #[test]
    fn nuki_statuses_map_to_provider_errors() {
        let status = |code: u16, retry_after: Option<u64>| {
            let status = StatusCode::from_u16(code).unwrap();
            let failure =
                Failure::Status { status, retry_after: retry_after.map(Duration::from_secs), body: "x".into() };
            provider_error("testing", failure)
        };
        assert!(
            matches!(status(429, Some(7)), ProviderError::RateLimited { retry_after, .. } if retry_after.as_secs() == 7)
        );
        assert!(
            matches!(status(429, None), ProviderError::RateLimited { retry_after, .. } if retry_after.as_secs() == 60)
        );
        assert!(matches!(status(423, None), ProviderError::RateLimited { .. }), "a busy code is a pause");
        for retryable in [500, 502, 503] {
            assert!(matches!(status(retryable, None), ProviderError::Retryable(_)), "{retryable}");
        }
        for permanent in [400, 404, 409, 422] {
            assert!(matches!(status(permanent, None), ProviderError::Permanent(_)), "{permanent}");
        }
        for refused in [401, 403] {
            let error = status(refused, None);
            assert!(matches!(error, ProviderError::Unauthorized(_)) && !error.is_retryable(), "{refused}");
        }
    }

    #[test]
    fn nuki_unparseable_answers_do_not_quote_values() {
        // `Auth` has no `Debug` (it holds a code), hence no `unwrap_err`.
        let Err(err) = parse_json::<Vec<Auth>>("listing", br#"[{"id":"a","code":"982345"}]"#) else {
            panic!("a code given as a string is not a keypad code");
        };
        assert!(err.is_retryable());
        assert!(!err.to_string().contains("982345"), "{err}");
    }

    #[test]
    fn nuki_usage_keeps_successful_keypad_unlocks_oldest_first() {
        let entry = |id: &str, action: i32, trigger: i32, state: i32, date: &str| LogEntry {
            id: id.into(),
            auth_id: Some("65219648fe57075d71a6cb01".into()),
            action: Some(action),
            trigger: Some(trigger),
            state: Some(state),
            date: Some(date.into()),
        };
        let since = parse_date(Some("2025-01-02T00:00:00.000Z")).unwrap();
        let entries = vec![
            entry("late", 3, 255, 0, "2025-01-02T18:00:00.000Z"),
            entry("app", 1, 5, 0, "2025-01-02T12:00:00.000Z"),
            entry("wrong-code", 1, 253, 224, "2025-01-02T11:00:00.000Z"),
            entry("blocked", 1, 255, 1, "2025-01-02T10:30:00.000Z"),
            entry("lock", 2, 255, 0, "2025-01-02T10:00:00.000Z"),
            entry("early", 1, 255, 0, "2025-01-02T08:15:30.000Z"),
            entry("before", 1, 255, 0, "2025-01-01T23:59:59.000Z"),
        ];
        let refused: Vec<(String, bool)> =
            refused_codes(&entries, since).into_iter().map(|e| (e.event_id, e.denied)).collect();
        assert_eq!(refused, [("wrong-code".to_owned(), true)], "an invalid code typed on the keypad");
        let ids: Vec<String> = keypad_unlocks(entries, since).into_iter().map(|e| e.event_id).collect();
        assert_eq!(ids, ["early", "late"]);
    }
}
