//! Sending through the WhatsApp Cloud API:
//! `POST {WHATSAPP_API_BASE}/{WHATSAPP_PHONE_NUMBER_ID}/messages`.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};

/// What to send.
#[derive(Debug, Clone, PartialEq)]
pub enum WhatsappMessage<'a> {
    /// Free text: only inside the 24-hour customer-service window.
    Text {
        /// The text, WhatsApp markup.
        body: &'a str,
    },
    /// An approved template: any time.
    Template {
        /// Its name.
        name: &'a str,
        /// Its language code, e.g. `en`.
        language: &'a str,
        /// Body parameters.
        params: &'a [String],
    },
}

/// Why a send failed, by what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhatsappError {
    /// 131047: the 24-hour window is closed; send a template instead.
    #[error("outside the 24-hour window (131047): {0}")]
    WindowClosed(String),
    /// Rate limits (429, 130429, 131056), Meta's transient errors, network.
    #[error("{message}")]
    Retryable {
        /// Meta's code and message.
        message: String,
        /// How long Meta asked to wait, if it did.
        after: Option<Duration>,
    },
    /// Undeliverable (131026), template errors (132xxx), an expired token
    /// (190), invalid parameters: retrying will not help.
    #[error("{message}")]
    Permanent {
        /// Meta's code and message.
        message: String,
        /// Meta's error code.
        code: Option<i64>,
    },
}

/// A client of one business phone number.
#[derive(Clone)]
pub struct WhatsappClient {
    http: reqwest::Client,
    base: String,
    phone_number_id: String,
    token: SecretString,
}

impl WhatsappClient {
    /// A client for `base` (e.g. `https://graph.facebook.com/v26.0`).
    pub fn new(base: &str, phone_number_id: &str, token: SecretString) -> Self {
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("a TLS backend is compiled in");
        Self { http, base: base.trim_end_matches('/').to_owned(), phone_number_id: phone_number_id.to_owned(), token }
    }

    /// Sends a message; returns Meta's message id (`wamid...`).
    pub async fn send(&self, to: &str, message: &WhatsappMessage<'_>) -> Result<String, WhatsappError> {
        let mut body = json!({ "messaging_product": "whatsapp", "recipient_type": "individual" });
        match to.strip_prefix('+') {
            Some(digits) => body["to"] = json!(digits),
            // A business-scoped user id, for users who hide their number.
            None => body["recipient"] = json!(to),
        }
        match message {
            WhatsappMessage::Text { body: text } => {
                body["type"] = json!("text");
                body["text"] = json!({ "preview_url": false, "body": text });
            }
            WhatsappMessage::Template { name, language, params } => {
                let parameters: Vec<Value> = params.iter().map(|p| json!({ "type": "text", "text": p })).collect();
                body["type"] = json!("template");
                body["template"] = json!({
                    "name": name,
                    "language": { "code": language },
                    "components": [{ "type": "body", "parameters": parameters }],
                });
            }
        }
        let url = format!("{}/{}/messages", self.base, self.phone_number_id);
        let response =
            self.http.post(url).bearer_auth(self.token.expose_secret()).json(&body).send().await.map_err(|e| {
                WhatsappError::Retryable { message: format!("request failed: {}", e.without_url()), after: None }
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let payload: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return payload["messages"][0]["id"].as_str().map(str::to_owned).ok_or_else(|| WhatsappError::Retryable {
                message: "Meta answered without a message id".into(),
                after: None,
            });
        }
        Err(classify(status.as_u16(), &payload, retry_after))
    }
}

#[derive(Debug, Deserialize)]
struct GraphError {
    code: Option<i64>,
    message: Option<String>,
    error_data: Option<Value>,
}

fn classify(status: u16, payload: &Value, retry_after: Option<Duration>) -> WhatsappError {
    let error: Option<GraphError> = serde_json::from_value(payload["error"].clone()).ok();
    let code = error.as_ref().and_then(|e| e.code);
    let details = error.as_ref().and_then(|e| e.error_data.as_ref()).and_then(|d| d["details"].as_str());
    // Meta's own "(#131026)" style, which the log redaction keeps.
    let message = format!(
        "HTTP {status}{}: {}{}",
        code.map_or(String::new(), |c| format!(", (#{c})")),
        error.as_ref().and_then(|e| e.message.clone()).unwrap_or_default(),
        details.map(|d| format!(" ({d})")).unwrap_or_default()
    );
    match code {
        Some(131047) => WhatsappError::WindowClosed(message),
        // Throughput and pair rate limits, temporary errors, service down.
        Some(4 | 80007 | 130429 | 131056 | 131000 | 131016 | 2 | 1) => {
            WhatsappError::Retryable { message, after: retry_after }
        }
        _ if status == 429 || status >= 500 => WhatsappError::Retryable { message, after: retry_after },
        _ => WhatsappError::Permanent { message, code },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(code: i64) -> Value {
        json!({ "error": { "message": "x", "type": "OAuthException", "code": code, "fbtrace_id": "A" } })
    }

    #[test]
    fn errors_are_classified_by_what_to_do() {
        assert!(matches!(classify(400, &error(131047), None), WhatsappError::WindowClosed(_)));
        assert!(matches!(classify(400, &error(130429), None), WhatsappError::Retryable { .. }));
        assert!(matches!(classify(400, &error(131056), None), WhatsappError::Retryable { .. }));
        assert!(matches!(classify(429, &Value::Null, None), WhatsappError::Retryable { .. }));
        assert!(matches!(classify(503, &Value::Null, None), WhatsappError::Retryable { .. }));
        assert!(matches!(classify(400, &error(131026), None), WhatsappError::Permanent { code: Some(131026), .. }));
        assert!(matches!(classify(400, &error(132001), None), WhatsappError::Permanent { .. }));
        assert!(matches!(classify(401, &error(190), None), WhatsappError::Permanent { code: Some(190), .. }));
    }
}
