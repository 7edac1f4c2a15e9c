//! Every setting, read once from the environment (SPEC §7) into typed
//! values. `.env.sample` documents each variable. A malformed value stops
//! the start with a message naming the variable; secrets are
//! `SecretString`, whose `Debug` output is redacted.

use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use crate::access::phone::Phone;
use crate::integrations::ApiBases;
use crate::lock_providers::simulated::SimulatedSettings;

/// A setting that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// The WhatsApp Cloud API, on when `WHATSAPP_TOKEN` is set.
#[derive(Debug, Clone)]
pub struct WhatsappConfig {
    /// `WHATSAPP_TOKEN`: a system-user access token.
    pub token: SecretString,
    /// `WHATSAPP_PHONE_NUMBER_ID`: the business number's id.
    pub phone_number_id: String,
    /// `WHATSAPP_APP_SECRET`: signs the webhooks.
    pub app_secret: SecretString,
    /// `WHATSAPP_VERIFY_TOKEN`: Meta's subscription handshake.
    pub verify_token: Option<SecretString>,
    /// `WHATSAPP_API_BASE`: Graph API URL with its version.
    pub api_base: String,
    /// `WHATSAPP_RATE_PER_SECOND`: messages a second (default 80).
    pub rate_per_second: u32,
    /// `WHATSAPP_TEMPLATE_LANGUAGE`: language of the approved templates.
    pub template_language: String,
}

/// The Telegram Bot API, on when `TELEGRAM_BOT_TOKEN` is set.
#[derive(Debug, Clone)]
pub struct TelegramConfig {
    /// `TELEGRAM_BOT_TOKEN`.
    pub bot_token: SecretString,
    /// `TELEGRAM_WEBHOOK_SECRET`: checked on every webhook.
    pub webhook_secret: SecretString,
    /// `TELEGRAM_API_BASE`: Telegram's by default.
    pub api_base: Option<String>,
    /// `TELEGRAM_BOT_USERNAME`: for `https://t.me/<bot>?start=<token>` links.
    pub bot_username: Option<String>,
}

/// The LLM fallback: any OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// `OPENAI_API_KEY`.
    pub api_key: SecretString,
    /// `OPENAI_BASE_URL`: OpenAI's when unset.
    pub base_url: Option<String>,
    /// `OPENAI_MODEL`: default `gpt-4o-mini`.
    pub model: String,
    /// `LLM_DAILY_LIMIT`: calls per property and UTC day (default 200);
    /// past it, messages go to staff.
    pub daily_limit: u32,
}

/// Africa's Talking.
#[derive(Debug, Clone)]
pub struct SmsConfig {
    /// `AT_USERNAME`.
    pub username: String,
    /// `AT_API_KEY`.
    pub api_key: SecretString,
    /// `AT_SENDER_ID`: alphanumeric sender id or short code.
    pub sender_id: Option<String>,
    /// `AT_API_BASE`: `https://api.africastalking.com` by default.
    pub api_base: String,
}

/// SMTP.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// `SMTP_URL`, e.g. `smtps://user:pass@smtp.example.com`.
    pub url: SecretString,
    /// `SMTP_FROM`, e.g. `Old Town Flats <stay@example.com>`.
    pub from: String,
}

/// The Nuki Web API, on when `NUKI_API_TOKEN` is set.
#[derive(Debug, Clone)]
pub struct NukiConfig {
    /// `NUKI_API_TOKEN`: an API token from Nuki Web (API → API token).
    pub token: SecretString,
    /// `NUKI_API_BASE`: `https://api.nuki.io` by default.
    pub api_base: String,
}

/// Seam, on when `SEAM_API_KEY` is set.
#[derive(Debug, Clone)]
pub struct SeamConfig {
    /// `SEAM_API_KEY`: a workspace API key (`seam_...`).
    pub api_key: SecretString,
    /// `SEAM_API_BASE`: `https://connect.getseam.com` by default.
    pub api_base: String,
    /// `SEAM_WEBHOOK_SECRET`: the `whsec_...` secret of the webhook endpoint;
    /// `POST /webhooks/seam` answers 404 without it.
    pub webhook_secret: Option<SecretString>,
}

/// Graph API version doorman is written against.
pub const WHATSAPP_DEFAULT_API_BASE: &str = "https://graph.facebook.com/v26.0";

/// doorman's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`; `None` runs a local PostgreSQL under `./.doorman/pg`.
    pub database_url: Option<SecretString>,
    /// `BIND_ADDR`, default `127.0.0.1:8080`.
    pub bind_addr: SocketAddr,
    /// `ADMIN_API_TOKEN`; the admin API is disabled without it.
    pub admin_api_token: Option<SecretString>,
    /// `METRICS_TOKEN`: when set, `GET /metrics` needs it as a bearer token
    /// (at least 16 characters); unset, `/metrics` is open.
    pub metrics_token: Option<SecretString>,
    /// `SCHEDULER_TICK_MS`: how often due jobs are looked for when no
    /// notification wakes the scheduler (default 1000 ms).
    pub scheduler_tick: Duration,
    /// `SCHEDULER_ENABLED`: whether this instance runs jobs (default true);
    /// an instance may serve HTTP only.
    pub scheduler_enabled: bool,
    /// `SCHEDULER_CONCURRENCY`: jobs one instance runs at once (default 16).
    pub scheduler_concurrency: usize,
    /// `INBOUND_PER_SENDER_PER_MINUTE`: messages one sender (a phone, a
    /// Telegram chat) gets answers to in a minute (default 30); past that
    /// they are stored and not answered, so a flood from one number costs
    /// neither provider fees nor staff attention.
    pub inbound_per_sender_per_minute: u32,
    /// `FEED_POLL_MINUTES`: how often each calendar feed is fetched
    /// (default 10).
    pub feed_poll_minutes: u32,
    /// `FEED_FETCH_TIMEOUT_SECS`: how long one fetch of a feed may take
    /// (default 20).
    pub feed_fetch_timeout_secs: u64,
    /// `SCHEDULER_LEASE_SECS`: how long a claimed job stays with its worker
    /// without a heartbeat (default 30 s; renewed every third of it). A
    /// worker killed mid-job has its jobs taken over after this.
    pub scheduler_lease: Duration,
    /// `SIMULATED_LOCK_*`: defaults for simulated devices.
    pub simulated: SimulatedSettings,
    /// WhatsApp, when configured.
    pub whatsapp: Option<WhatsappConfig>,
    /// `WHATSAPP_DISPLAY_NUMBER`: the business number guests write to, in
    /// international format, for `doorman claim-link`.
    pub whatsapp_display_number: Option<Phone>,
    /// Telegram, when configured.
    pub telegram: Option<TelegramConfig>,
    /// The LLM fallback, when `OPENAI_API_KEY` is set.
    pub openai: Option<OpenAiConfig>,
    /// SMS through Africa's Talking, when `AT_USERNAME` and `AT_API_KEY` are set.
    pub sms: Option<SmsConfig>,
    /// Email, when `SMTP_URL` and `SMTP_FROM` are set.
    pub email: Option<EmailConfig>,
    /// Nuki locks, when `NUKI_API_TOKEN` is set.
    pub nuki: Option<NukiConfig>,
    /// Seam locks, when `SEAM_API_KEY` is set.
    pub seam: Option<SeamConfig>,
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// `PUBLIC_BASE_URL`: where the world reaches this service, e.g.
    /// `https://doorman.example.com`; the webhook URLs handed out start with
    /// it. Unset: `http://` and the bound address.
    pub public_base_url: Option<String>,
    /// `SMOOBU_API_BASE`, `BEDS24_API_BASE`, `HOSTAWAY_API_BASE`,
    /// `CHANNEL_MANAGER_TIMEOUT_MS`: the channel managers' APIs.
    pub channel_managers: ApiBases,
}

impl Config {
    /// Every secret in the settings, for the log redaction
    /// ([`crate::telemetry::protect`]).
    pub fn secrets(&self) -> Vec<&str> {
        use secrecy::ExposeSecret;
        let whatsapp = self.whatsapp.as_ref();
        let telegram = self.telegram.as_ref();
        let seam = self.seam.as_ref();
        [
            self.database_url.as_ref(),
            self.admin_api_token.as_ref(),
            self.metrics_token.as_ref(),
            whatsapp.map(|w| &w.token),
            whatsapp.map(|w| &w.app_secret),
            whatsapp.and_then(|w| w.verify_token.as_ref()),
            telegram.map(|t| &t.bot_token),
            telegram.map(|t| &t.webhook_secret),
            self.openai.as_ref().map(|o| &o.api_key),
            self.sms.as_ref().map(|s| &s.api_key),
            self.email.as_ref().map(|e| &e.url),
            self.nuki.as_ref().map(|n| &n.token),
            seam.map(|s| &s.api_key),
            seam.and_then(|s| s.webhook_secret.as_ref()),
        ]
        .into_iter()
        .flatten()
        .map(|secret| secret.expose_secret())
        .collect()
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Ok(Self {
            database_url: get("DATABASE_URL").map(SecretString::from),
            bind_addr: parse_or(&get, "BIND_ADDR", "127.0.0.1:8080".parse().expect("valid literal"))?,
            admin_api_token: secret(&get, "ADMIN_API_TOKEN", 16)?,
            metrics_token: secret(&get, "METRICS_TOKEN", 16)?,
            scheduler_tick: Duration::from_millis(parse_bounded(&get, "SCHEDULER_TICK_MS", 1000, 10..=60_000)?),
            scheduler_enabled: parse_or(&get, "SCHEDULER_ENABLED", true)?,
            scheduler_concurrency: parse_bounded(&get, "SCHEDULER_CONCURRENCY", 16, 1..=256)? as usize,
            scheduler_lease: Duration::from_secs(parse_bounded(&get, "SCHEDULER_LEASE_SECS", 30, 3..=3600)?),
            inbound_per_sender_per_minute: parse_bounded(&get, "INBOUND_PER_SENDER_PER_MINUTE", 30, 1..=10_000)? as u32,
            feed_poll_minutes: parse_bounded(&get, "FEED_POLL_MINUTES", 10, 1..=1440)? as u32,
            feed_fetch_timeout_secs: parse_bounded(&get, "FEED_FETCH_TIMEOUT_SECS", 20, 1..=300)?,
            simulated: simulated(&get)?,
            whatsapp: whatsapp(&get)?,
            whatsapp_display_number: display_number(&get)?,
            telegram: telegram(&get)?,
            sms: match (get("AT_USERNAME"), get("AT_API_KEY")) {
                (Some(username), Some(key)) => Some(SmsConfig {
                    username: username.trim().to_owned(),
                    api_key: SecretString::from(key.trim().to_owned()),
                    sender_id: get("AT_SENDER_ID"),
                    api_base: get("AT_API_BASE").unwrap_or_else(|| "https://api.africastalking.com".to_owned()),
                }),
                (Some(_), None) => return Err(problem("AT_API_KEY", "required when AT_USERNAME is set")),
                (None, Some(_)) => return Err(problem("AT_USERNAME", "required when AT_API_KEY is set")),
                (None, None) => None,
            },
            email: match (get("SMTP_URL"), get("SMTP_FROM")) {
                (Some(url), Some(from)) => {
                    Some(EmailConfig { url: SecretString::from(url.trim().to_owned()), from: from.trim().to_owned() })
                }
                (Some(_), None) => return Err(problem("SMTP_FROM", "required when SMTP_URL is set")),
                (None, Some(_)) => return Err(problem("SMTP_URL", "required when SMTP_FROM is set")),
                (None, None) => None,
            },
            nuki: get("NUKI_API_TOKEN").map(|token| NukiConfig {
                token: SecretString::from(token.trim().to_owned()),
                api_base: get("NUKI_API_BASE").unwrap_or_else(|| "https://api.nuki.io".to_owned()),
            }),
            seam: match (get("SEAM_API_KEY"), seam_webhook_secret(&get)?) {
                (Some(key), webhook_secret) => Some(SeamConfig {
                    api_key: SecretString::from(key.trim().to_owned()),
                    api_base: get("SEAM_API_BASE").unwrap_or_else(|| "https://connect.getseam.com".to_owned()),
                    webhook_secret,
                }),
                (None, _) => None,
            },
            openai: match get("OPENAI_API_KEY") {
                Some(key) => Some(OpenAiConfig {
                    api_key: SecretString::from(key.trim().to_owned()),
                    base_url: get("OPENAI_BASE_URL"),
                    model: get("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".to_owned()),
                    daily_limit: parse_bounded(&get, "LLM_DAILY_LIMIT", 200, 0..=1_000_000)? as u32,
                }),
                None => None,
            },
            log_format: match get("LOG_FORMAT").as_deref().map(str::trim) {
                None | Some("text") => LogFormat::Text,
                Some("json") => LogFormat::Json,
                Some(other) => return Err(problem("LOG_FORMAT", format!("expected text or json, got {other:?}"))),
            },
            public_base_url: public_base_url(&get)?,
            channel_managers: channel_managers(&get)?,
        })
    }
}

fn whatsapp(get: &impl Fn(&str) -> Option<String>) -> Result<Option<WhatsappConfig>, ConfigError> {
    let Some(token) = get("WHATSAPP_TOKEN") else {
        return Ok(None);
    };
    let required = |name: &'static str| get(name).ok_or_else(|| problem(name, "required when WHATSAPP_TOKEN is set"));
    Ok(Some(WhatsappConfig {
        token: SecretString::from(token.trim().to_owned()),
        phone_number_id: required("WHATSAPP_PHONE_NUMBER_ID")?.trim().to_owned(),
        app_secret: SecretString::from(required("WHATSAPP_APP_SECRET")?.trim().to_owned()),
        verify_token: get("WHATSAPP_VERIFY_TOKEN").map(|t| SecretString::from(t.trim().to_owned())),
        api_base: get("WHATSAPP_API_BASE").unwrap_or_else(|| WHATSAPP_DEFAULT_API_BASE.to_owned()),
        rate_per_second: parse_bounded(get, "WHATSAPP_RATE_PER_SECOND", 80, 1..=1000)? as u32,
        template_language: get("WHATSAPP_TEMPLATE_LANGUAGE").unwrap_or_else(|| "en".to_owned()),
    }))
}

fn telegram(get: &impl Fn(&str) -> Option<String>) -> Result<Option<TelegramConfig>, ConfigError> {
    let Some(token) = get("TELEGRAM_BOT_TOKEN") else {
        return Ok(None);
    };
    let secret = get("TELEGRAM_WEBHOOK_SECRET")
        .ok_or_else(|| problem("TELEGRAM_WEBHOOK_SECRET", "required when TELEGRAM_BOT_TOKEN is set"))?;
    let valid =
        (16..=256).contains(&secret.len()) && secret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(problem("TELEGRAM_WEBHOOK_SECRET", "16 to 256 characters of A-Z, a-z, 0-9, _ and -"));
    }
    Ok(Some(TelegramConfig {
        bot_token: SecretString::from(token.trim().to_owned()),
        webhook_secret: SecretString::from(secret),
        api_base: get("TELEGRAM_API_BASE"),
        bot_username: get("TELEGRAM_BOT_USERNAME").map(|u| u.trim().trim_start_matches('@').to_owned()),
    }))
}

/// `SEAM_WEBHOOK_SECRET`, checked whenever it is set: a malformed secret
/// would refuse every event.
fn seam_webhook_secret(get: &impl Fn(&str) -> Option<String>) -> Result<Option<SecretString>, ConfigError> {
    let Some(secret) = get("SEAM_WEBHOOK_SECRET") else {
        return Ok(None);
    };
    if crate::lock_providers::seam::webhook_key(&secret).is_none() {
        return Err(problem(
            "SEAM_WEBHOOK_SECRET",
            "not a Svix secret: expected whsec_ followed by base64, as Seam shows it for the webhook endpoint",
        ));
    }
    Ok(Some(SecretString::from(secret.trim().to_owned())))
}

/// `PUBLIC_BASE_URL`, without a trailing slash; it must be http(s).
fn public_base_url(get: &impl Fn(&str) -> Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = get("PUBLIC_BASE_URL") else {
        return Ok(None);
    };
    let url = url.trim().trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    if rest.is_none_or(|host| host.is_empty() || host.contains(char::is_whitespace)) {
        return Err(problem("PUBLIC_BASE_URL", "an http:// or https:// URL, e.g. https://doorman.example.com"));
    }
    Ok(Some(url.to_owned()))
}

fn channel_managers(get: &impl Fn(&str) -> Option<String>) -> Result<ApiBases, ConfigError> {
    let defaults = ApiBases::default();
    Ok(ApiBases {
        smoobu: get("SMOOBU_API_BASE").unwrap_or(defaults.smoobu),
        beds24: get("BEDS24_API_BASE").unwrap_or(defaults.beds24),
        hostaway: get("HOSTAWAY_API_BASE").unwrap_or(defaults.hostaway),
        timeout: Duration::from_millis(parse_bounded(get, "CHANNEL_MANAGER_TIMEOUT_MS", 10_000, 100..=120_000)?),
    })
}

fn problem(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError { variable, problem: problem.into() }
}

fn parse_or<T: FromStr>(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|e| problem(name, format!("{e} ({:?})", raw.trim()))),
    }
}

fn parse_bounded(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    let value = parse_or(get, name, default)?;
    if !range.contains(&value) {
        return Err(problem(name, format!("must be between {} and {}", range.start(), range.end())));
    }
    Ok(value)
}

/// A secret setting; too short a value is refused rather than trusted.
fn secret(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    min_len: usize,
) -> Result<Option<SecretString>, ConfigError> {
    match get(name) {
        None => Ok(None),
        Some(value) if value.trim().len() < min_len => {
            Err(problem(name, format!("must be at least {min_len} characters long")))
        }
        Some(value) => Ok(Some(SecretString::from(value.trim().to_owned()))),
    }
}

/// `WHATSAPP_DISPLAY_NUMBER`: the business number guests write to.
fn display_number(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Phone>, ConfigError> {
    get("WHATSAPP_DISPLAY_NUMBER")
        .map(|number| Phone::parse(number.trim()).map_err(|e| problem("WHATSAPP_DISPLAY_NUMBER", e.to_string())))
        .transpose()
}

/// `SIMULATED_LOCK_*`.
fn simulated(get: &impl Fn(&str) -> Option<String>) -> Result<SimulatedSettings, ConfigError> {
    Ok(SimulatedSettings {
        failure_rate: parse_or(get, "SIMULATED_LOCK_FAILURE_RATE", 0.0_f32).and_then(|rate| {
            match (0.0..=1.0).contains(&rate) {
                true => Ok(rate),
                false => Err(problem("SIMULATED_LOCK_FAILURE_RATE", "must be between 0 and 1")),
            }
        })?,
        confirm_delay_ms: parse_bounded(get, "SIMULATED_LOCK_CONFIRM_DELAY_MS", 0, 0..=600_000)? as i32,
        offline: parse_or(get, "SIMULATED_LOCK_OFFLINE", false)?,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let config = config(&[]).unwrap();
        assert_eq!(config.bind_addr.to_string(), "127.0.0.1:8080");
        assert!(config.database_url.is_none());
        assert!(config.admin_api_token.is_none());
        assert!(config.metrics_token.is_none(), "/metrics is open by default");
        assert_eq!(config.scheduler_tick, Duration::from_millis(1000));
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.whatsapp.is_none() && config.telegram.is_none());
    }

    #[test]
    fn whatsapp_defaults_to_the_current_graph_version() {
        let config =
            config(&[("WHATSAPP_TOKEN", "t"), ("WHATSAPP_PHONE_NUMBER_ID", "1"), ("WHATSAPP_APP_SECRET", "s")])
                .unwrap();
        let whatsapp = config.whatsapp.unwrap();
        assert_eq!(whatsapp.api_base, WHATSAPP_DEFAULT_API_BASE);
        assert_eq!(whatsapp.rate_per_second, 80);
    }

    #[test]
    fn malformed_values_name_their_variable() {
        let err = config(&[("BIND_ADDR", "localhost")]).unwrap_err();
        assert_eq!(err.variable, "BIND_ADDR");
        let err = config(&[("SCHEDULER_TICK_MS", "fast")]).unwrap_err();
        assert_eq!(err.variable, "SCHEDULER_TICK_MS");
        let err = config(&[("SCHEDULER_TICK_MS", "0")]).unwrap_err();
        assert!(err.to_string().starts_with("SCHEDULER_TICK_MS: must be between"), "{err}");
        let err = config(&[("LOG_FORMAT", "xml")]).unwrap_err();
        assert_eq!(err.variable, "LOG_FORMAT");
        let err = config(&[("ADMIN_API_TOKEN", "short")]).unwrap_err();
        assert_eq!(err.variable, "ADMIN_API_TOKEN");
        let err = config(&[("METRICS_TOKEN", "short")]).unwrap_err();
        assert_eq!(err.variable, "METRICS_TOKEN");
        let err = config(&[("SIMULATED_LOCK_FAILURE_RATE", "1.5")]).unwrap_err();
        assert_eq!(err.variable, "SIMULATED_LOCK_FAILURE_RATE");
        let err = config(&[("SCHEDULER_ENABLED", "maybe")]).unwrap_err();
        assert_eq!(err.variable, "SCHEDULER_ENABLED");
        let err = config(&[("WHATSAPP_TOKEN", "t"), ("WHATSAPP_PHONE_NUMBER_ID", "1")]).unwrap_err();
        assert_eq!(err.variable, "WHATSAPP_APP_SECRET");
        let err = config(&[("TELEGRAM_BOT_TOKEN", "t")]).unwrap_err();
        assert_eq!(err.variable, "TELEGRAM_WEBHOOK_SECRET");
        let err = config(&[("TELEGRAM_BOT_TOKEN", "t"), ("TELEGRAM_WEBHOOK_SECRET", "short")]).unwrap_err();
        assert_eq!(err.variable, "TELEGRAM_WEBHOOK_SECRET");
    }

    #[test]
    fn a_seam_webhook_secret_must_be_a_svix_secret() {
        let seam = |secret: &str| config(&[("SEAM_API_KEY", "seam_key"), ("SEAM_WEBHOOK_SECRET", secret)]);
        for malformed in ["C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_not base64!", "whsec_"] {
            let err = seam(malformed).unwrap_err();
            assert_eq!(err.variable, "SEAM_WEBHOOK_SECRET");
            assert!(!err.problem.contains("C2FVsBQ") && !err.problem.contains("not base64"), "{err}");
        }
        let err = config(&[("SEAM_WEBHOOK_SECRET", "whsec_?")]).unwrap_err();
        assert_eq!(err.variable, "SEAM_WEBHOOK_SECRET", "checked even without SEAM_API_KEY");
        let seam_config = seam(" whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD ").unwrap().seam.unwrap();
        assert!(seam_config.webhook_secret.is_some());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config =
            config(&[("ADMIN_API_TOKEN", "super-secret-admin-token"), ("DATABASE_URL", "postgres://u:hunter2@db/x")])
                .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains("super-secret-admin-token"), "{debug}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config = config(&[("ADMIN_API_TOKEN", " "), ("BIND_ADDR", "")]).unwrap();
        assert!(config.admin_api_token.is_none());
        assert_eq!(config.bind_addr.port(), 8080);
    }
}
