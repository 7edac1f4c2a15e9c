//! Structured logs with `tracing`: `RUST_LOG` filters, `LOG_FORMAT=json`
//! writes JSON lines. Every line passes through [`redact`] on its way out,
//! so that an access code, a phone number, a token or a configured secret
//! never reaches a log in full, whatever a call site writes.

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::{LazyLock, RwLock};

use regex::Regex;
use serde_json::Value;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Logs go to stderr so that stdout stays
/// for a command's own output (`classify`, `chat`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(Redacting::new(io::stderr));
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
    // A panic's message is logged like any line, through the redaction,
    // instead of written to stderr as it is.
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(ToString::to_string).unwrap_or_default();
        tracing::error!(%location, "panicked: {}", panic_text(info.payload()));
    }));
}

/// What a panic said: the payload of `panic!` with a literal or a format.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message")
}

/// The Prometheus recorder behind `GET /metrics`, installed on first use.
/// `None` when another recorder was installed first (the benchmarks).
pub fn metrics() -> Option<&'static metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE.get_or_init(|| metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder().ok()).as_ref()
}

/// Values that must never appear in a log line: the configured tokens,
/// keys and secrets.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Secrets shorter than this are not matched as text (they would blank
/// common words); they are still never logged by doorman itself.
const SHORTEST_SECRET: usize = 6;

/// Adds `secrets` to what [`redact`] blanks out. Called with the
/// configuration's secrets when the service starts.
pub fn protect<'a>(secrets: impl IntoIterator<Item = &'a str>) {
    let mut known = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    for secret in secrets {
        let secret = secret.trim();
        if secret.chars().count() >= SHORTEST_SECRET && !known.iter().any(|k| k == secret) {
            known.push(secret.to_owned());
        }
    }
    // Longest first, so that a secret containing another is blanked whole.
    known.sort_by_key(|k| std::cmp::Reverse(k.len()));
}

/// Digit runs that are safe to keep: dates and times, UUIDs, an IP
/// address's port, durations.
static KEEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \d{4}-\d{2}-\d{2}(?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?
        | \b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b
        | (?:\d{1,3}\.){3}\d{1,3}:\d{1,5}\b
        | \blocalhost:\d{1,5}\b
        | \b\d+\.\d+(?:ns|µs|us|ms|s)\b
        | \(\#\d{1,7}\)
        ",
    )
    .expect("a valid pattern")
});

/// Hex ids (a provider's code or device id): kept when at least 12
/// characters long with a letter in them.
static HEX_ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-f]{12,}\b").expect("a valid pattern"));

/// A phone number written with separators (`+421 900 000 001`), or any run
/// of four or more digits: an access code, a phone number, an id.
static SENSITIVE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\+\d(?:[ .\-]?\d){5,}|\d{4,}").expect("a valid pattern"));

/// A bearer token, a `token=`-like parameter (`start=` carries a Telegram
/// link token), a Telegram `/start <token>`, or a URL's password.
static CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(\bbearer\s+|/start\s+|\b(?:access_token|api_key|apikey|token|key|secret|password|start)=|\b[a-z][a-z0-9+.\-]*://[^:/\s@]+:)([^\s,;&"'@\[\]]{6,})"#,
    )
    .expect("a valid pattern")
});

/// A word of 4 to 10 capitals and digits 2–9, the alphabet of
/// alphanumeric access codes (`K7M2Q9`): masked when it has both.
static ALPHANUMERIC_CODE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[A-Z2-9]{4,10}\b").expect("a valid pattern"));

/// `text` with every configured secret, bearer token, access code and
/// phone number masked. Runs of 4–8 digits and alphanumeric codes become
/// `••••`; longer digit runs keep their last three digits (`•••001`),
/// enough to tell numbers apart.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    {
        let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = Cow::Owned(out.replace(secret.as_str(), "[redacted]"));
            }
        }
    }
    if CREDENTIAL.is_match(&out) {
        out = Cow::Owned(CREDENTIAL.replace_all(&out, "${1}[redacted]").into_owned());
    }
    if let Some(masked) = mask_alphanumeric_codes(&out) {
        out = Cow::Owned(masked);
    }
    if out.bytes().filter(u8::is_ascii_digit).nth(3).is_none() {
        return out;
    }
    let keep = kept_spans(&out);
    let kept = |start: usize, end: usize| keep.iter().any(|&(s, e)| start < e && s < end);
    let mut masked = String::with_capacity(out.len());
    let mut last = 0;
    let mut changed = false;
    for found in SENSITIVE.find_iter(&out) {
        if kept(found.start(), found.end()) {
            continue;
        }
        let digits: Vec<char> = found.as_str().chars().filter(char::is_ascii_digit).collect();
        masked.push_str(&out[last..found.start()]);
        if found.as_str().starts_with('+') {
            masked.push('+');
        }
        masked.push_str("••••");
        if digits.len() > 8 {
            masked.extend(&digits[digits.len() - 3..]);
        }
        last = found.end();
        changed = true;
    }
    if !changed {
        return out;
    }
    masked.push_str(&out[last..]);
    Cow::Owned(masked)
}

/// Where `text` holds what looks sensitive and is not: dates, UUIDs,
/// ports, durations, Meta's error codes, hex ids.
fn kept_spans(text: &str) -> Vec<(usize, usize)> {
    let hex_ids = HEX_ID.find_iter(text).filter(|m| m.as_str().bytes().any(|b| b.is_ascii_alphabetic()));
    KEEP.find_iter(text).chain(hex_ids).map(|m| (m.start(), m.end())).collect()
}

/// `text` with its alphanumeric codes masked, or `None` when it has none.
fn mask_alphanumeric_codes(text: &str) -> Option<String> {
    let is_code = |word: &str| word.bytes().any(|b| b.is_ascii_digit()) && word.bytes().any(|b| b.is_ascii_uppercase());
    let mut codes = ALPHANUMERIC_CODE.find_iter(text).filter(|m| is_code(m.as_str())).peekable();
    codes.peek()?;
    let keep = kept_spans(text);
    let mut masked = String::with_capacity(text.len());
    let mut last = 0;
    for code in codes {
        if keep.iter().any(|&(s, e)| code.start() < e && s < code.end()) {
            continue;
        }
        masked.push_str(&text[last..code.start()]);
        masked.push_str("••••");
        last = code.end();
    }
    if last == 0 {
        return None;
    }
    masked.push_str(&text[last..]);
    Some(masked)
}

/// [`redact`] for one formatted log record: a JSON line has each string
/// value redacted (and a number that would be masked turned into a masked
/// string), so it stays valid JSON; any other text is redacted as a whole.
pub fn redact_record(record: &str) -> Cow<'_, str> {
    let trimmed = record.trim_end();
    if trimmed.starts_with('{') {
        if let Ok(mut value) = serde_json::from_str::<Value>(trimmed) {
            if redact_value(&mut value) {
                let mut line = value.to_string();
                line.push_str(&record[trimmed.len()..]);
                return Cow::Owned(line);
            }
            return Cow::Borrowed(record);
        }
    }
    redact(record)
}

/// Fields whose numbers are doorman's own counters and ids, never a code or
/// a phone number: kept as they are.
const PLAIN_NUMBERS: &[&str] = &["job.id", "job_id", "attempt", "attempts", "status", "port", "pid", "released"];

/// Redacts the strings and numbers inside `value`; whether anything changed.
fn redact_value(value: &mut Value) -> bool {
    match value {
        Value::String(text) => match redact(text) {
            Cow::Owned(masked) => {
                *text = masked;
                true
            }
            Cow::Borrowed(_) => false,
        },
        // A fraction is a measurement, never a code or a phone number.
        Value::Number(number) if number.is_f64() => false,
        Value::Number(number) => match redact(&number.to_string()) {
            Cow::Owned(masked) => {
                *value = Value::String(masked);
                true
            }
            Cow::Borrowed(_) => false,
        },
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| redact_value(item) | changed),
        Value::Object(fields) => fields.iter_mut().fold(false, |changed, (key, item)| {
            let counter = item.is_number() && PLAIN_NUMBERS.contains(&key.as_str());
            (!counter && redact_value(item)) | changed
        }),
        Value::Bool(_) | Value::Null => false,
    }
}

/// A [`MakeWriter`] whose writers pass every record through
/// [`redact_record`].
#[derive(Debug, Clone)]
pub struct Redacting<M>(M);

impl<M> Redacting<M> {
    /// Redacts what `inner` writes.
    pub fn new(inner: M) -> Self {
        Self(inner)
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// Writes redacted records to `W`. The formatter writes one whole record
/// per call.
#[derive(Debug)]
pub struct RedactingWriter<W>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact_record(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_phone_numbers_are_masked() {
        assert_eq!(redact("code 4829 sent"), "code •••• sent");
        assert_eq!(redact("code=48291735"), "code=••••");
        assert_eq!(redact("to +421900000001"), "to +••••001");
        assert_eq!(redact("to +421 900 000 001."), "to +••••001.");
        assert_eq!(redact("chat 987654321"), "chat ••••321");
        assert_eq!(redact("room 101, attempt 3"), "room 101, attempt 3");
    }

    #[test]
    fn timestamps_ids_ports_and_durations_are_kept() {
        for kept in [
            "2026-11-22T10:11:12.123456Z",
            "2026-11-22 10:11:12+01:00",
            "lock 67e55044-10b1-426f-9247-bb680e5fe0c8",
            "listening on 127.0.0.1:8080",
            "\x1b[2m=\x1b[0m127.0.0.1:8080",
            "took 1.2345ms",
            "auth 65219648fe57075d71a6cb01",
            "(#131026) Message undeliverable",
        ] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn configured_secrets_and_bearer_tokens_are_blanked() {
        protect(["s3cr3t-app-value", "abc"]);
        assert_eq!(redact("signed with s3cr3t-app-value!"), "signed with [redacted]!");
        assert_eq!(redact("say abc"), "say abc", "too short to match as text");
        assert_eq!(redact("Authorization: Bearer eyJhbGciOi.x"), "Authorization: Bearer [redacted]");
        assert_eq!(redact("url?token=zzzzzzzzzz&x=1"), "url?token=[redacted]&x=1");
        assert_eq!(redact("postgres://app:hunter22@db:5432/x"), "postgres://app:[redacted]@db:••••/x");
        assert_eq!(redact("the token expired"), "the token expired", "prose is left alone");
    }

    #[test]
    fn telegram_link_tokens_are_redacted() {
        let token = "9f86d081884c7d659a2feaa0c55ad015a3bf";
        assert_eq!(
            redact(&format!("https://t.me/doorman_bot?start={token}")),
            "https://t.me/doorman_bot?start=[redacted]"
        );
        assert_eq!(redact(&format!("text=\"/start {token}\"")), "text=\"/start [redacted]\"");
        assert_eq!(redact(&format!("/START  {token}")), "/START  [redacted]");
        assert_eq!(redact("sent /start to the bot"), "sent /start to the bot", "the bare command stays");
    }

    #[test]
    fn alphanumeric_codes_are_masked() {
        assert_eq!(redact("Seam refused K7M2Q9: duplicate"), "Seam refused ••••: duplicate");
        assert_eq!(redact("codes 4MX2, ZZ9ZZ9ZZ9Z and H7"), "codes ••••, •••• and H7", "2 characters is no code");
        assert_eq!(redact("code=AB3DE"), "code=••••");
        for kept in ["ROOM 101 READY", "HTTP OK", "K7M2Q9ABCDE", "K1M0Q9", "Old Town Flats 2B"] {
            assert_eq!(redact(kept), kept, "no code: {kept}");
        }
        assert_eq!(redact("due 2026-12-25T23:59:00Z"), "due 2026-12-25T23:59:00Z");
        assert_eq!(
            redact("lock 67E55044-10B1-426F-9247-BB680E5FE0C8 at 2026-11-22 10:11:12+01:00"),
            "lock 67E55044-10B1-426F-9247-BB680E5FE0C8 at 2026-11-22 10:11:12+01:00"
        );
        assert_eq!(redact("(#131026) Message undeliverable"), "(#131026) Message undeliverable");
    }

    #[test]
    fn json_records_stay_json() {
        let line = r#"{"timestamp":"2026-11-22T10:11:12.5Z","chat_id":987654321,"message":"code 4829","n":12,
            "lag":1.25,"span":{"job.id":123456}}"#;
        let redacted = redact_record(&format!("{line}\n")).into_owned();
        assert!(redacted.ends_with('\n'));
        let value: Value = serde_json::from_str(&redacted).unwrap();
        assert_eq!(value["timestamp"], "2026-11-22T10:11:12.5Z");
        assert_eq!(value["chat_id"], "••••321");
        assert_eq!(value["message"], "code ••••");
        assert_eq!(value["n"], 12);
        assert_eq!(value["lag"], 1.25);
        assert_eq!(value["span"]["job.id"], 123456, "a job id stays a number");
    }

    #[test]
    fn the_writer_redacts_what_the_subscriber_writes() {
        let sink = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let writer = {
            let sink = sink.clone();
            move || SinkWriter(sink.clone())
        };
        let subscriber = tracing_subscriber::fmt().with_writer(Redacting::new(writer)).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(phone = "+421900000001", "issued code {}", "5813");
        });
        let written = String::from_utf8(sink.lock().unwrap().clone()).unwrap();
        assert!(written.contains("issued code ••••"), "{written}");
        assert!(written.contains("+••••001"), "{written}");
        assert!(!written.contains("5813") && !written.contains("421900000001"), "{written}");
    }

    struct SinkWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for SinkWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
