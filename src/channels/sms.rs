//! SMS through Africa's Talking: `POST {AT_API_BASE}/version1/messaging`
//! with the form fields of their documentation and the `apiKey` header.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// Why an SMS failed, by what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// Network trouble, a 5xx, a gateway error (500–502): try again.
    #[error("{0}")]
    Retryable(String),
    /// Invalid number, insufficient balance, blacklisted, bad sender id,
    /// wrong credentials: retrying will not help.
    #[error("{0}")]
    Permanent(String),
}

/// An Africa's Talking account.
#[derive(Clone)]
pub struct SmsClient {
    http: reqwest::Client,
    base: String,
    username: String,
    api_key: SecretString,
    sender_id: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Response {
    #[serde(rename = "SMSMessageData")]
    data: MessageData,
}

#[derive(Debug, Deserialize)]
struct MessageData {
    #[serde(rename = "Message", default)]
    message: String,
    #[serde(rename = "Recipients", default)]
    recipients: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
struct Recipient {
    #[serde(rename = "statusCode")]
    status_code: i64,
    #[serde(default)]
    status: String,
    #[serde(rename = "messageId", default)]
    message_id: String,
}

impl SmsClient {
    /// A client of `base` (e.g. `https://api.africastalking.com`).
    pub fn new(base: &str, username: &str, api_key: SecretString, sender_id: Option<String>) -> Self {
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(15)).build().expect("a TLS backend is compiled in");
        Self { http, base: base.trim_end_matches('/').to_owned(), username: username.to_owned(), api_key, sender_id }
    }

    /// Sends `text` to an E.164 number; returns Africa's Talking's message id.
    pub async fn send(&self, to: &str, text: &str) -> Result<String, SmsError> {
        let mut form = vec![("username", self.username.as_str()), ("to", to), ("message", text)];
        if let Some(from) = &self.sender_id {
            form.push(("from", from));
        }
        let response = self
            .http
            .post(format!("{}/version1/messaging", self.base))
            .header("apiKey", self.api_key.expose_secret())
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| SmsError::Retryable(format!("request failed: {}", e.without_url())))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if status.is_server_error() {
            return Err(SmsError::Retryable(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(SmsError::Permanent(format!("HTTP {status}: {}", body.chars().take(200).collect::<String>())));
        }
        let parsed: Response =
            serde_json::from_str(&body).map_err(|e| SmsError::Retryable(format!("unreadable answer: {e}")))?;
        let Some(recipient) = parsed.data.recipients.into_iter().next() else {
            return Err(SmsError::Permanent(format!("not sent: {}", parsed.data.message)));
        };
        classify(recipient)
    }
}

/// Maps a recipient's status code: 100 processed, 101 sent, 102 queued are
/// accepted; 401–409 are final; 500–502 are worth another try.
fn classify(recipient: Recipient) -> Result<String, SmsError> {
    let detail = format!("{} {}", recipient.status_code, recipient.status);
    match recipient.status_code {
        100..=102 => Ok(recipient.message_id),
        500..=502 => Err(SmsError::Retryable(detail)),
        _ => Err(SmsError::Permanent(detail)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(code: i64, status: &str) -> Recipient {
        Recipient { status_code: code, status: status.into(), message_id: "ATXid_1".into() }
    }

    #[test]
    fn status_codes_are_mapped() {
        assert_eq!(classify(recipient(101, "Success")), Ok("ATXid_1".into()));
        assert_eq!(classify(recipient(102, "Queued")), Ok("ATXid_1".into()));
        assert!(matches!(classify(recipient(403, "InvalidPhoneNumber")), Err(SmsError::Permanent(_))));
        assert!(matches!(classify(recipient(405, "InsufficientBalance")), Err(SmsError::Permanent(_))));
        assert!(matches!(classify(recipient(501, "GatewayError")), Err(SmsError::Retryable(_))));
    }
}
