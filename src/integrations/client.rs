//! What the three clients share: one HTTP client with timeouts, and the one
//! mapping of an answer onto [`FetchError`]. No credential is ever in a URL,
//! so an error (which names the URL) never carries one.

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;

use super::FetchError;

/// Characters of an error body kept in an error message.
const BODY_EXCERPT_CHARS: usize = 200;

/// The HTTP client: requests time out after `timeout`, connecting after 5 s
/// at most.
pub(super) fn http(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .build()
        .expect("a TLS backend is compiled in")
}

/// Sends `request` and parses its 2xx JSON answer; `what` names the call in
/// errors ("reading Smoobu reservation 42").
pub(super) async fn json<T: DeserializeOwned>(what: &str, request: RequestBuilder) -> Result<T, FetchError> {
    let unavailable = |e: reqwest::Error| FetchError::Unavailable(anyhow::Error::new(e).context(what.to_owned()));
    let response = request.header(reqwest::header::ACCEPT, "application/json").send().await.map_err(unavailable)?;
    let status = response.status();
    let body = response.bytes().await.map_err(unavailable)?;
    if !status.is_success() {
        return Err(status_error(what, status, &body));
    }
    // A proxy's error page is transient; a lasting change of the API shows
    // as a job that keeps failing and dies with this message.
    serde_json::from_slice(&body)
        .map_err(|e| FetchError::Unavailable(anyhow::anyhow!("{what}: the answer is not in the documented shape: {e}")))
}

/// What a non-2xx status means for the job.
pub(super) fn status_error(what: &str, status: StatusCode, body: &[u8]) -> FetchError {
    let excerpt: String = String::from_utf8_lossy(body).chars().take(BODY_EXCERPT_CHARS).collect();
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => FetchError::Refused(format!(
            "{what}: {status}: the channel manager refused the integration's credentials; create the integration \
             again with valid ones ({excerpt})"
        )),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
            FetchError::Unavailable(anyhow::anyhow!("{what}: {status} {excerpt}"))
        }
        s if s.is_server_error() => FetchError::Unavailable(anyhow::anyhow!("{what}: {status} {excerpt}")),
        _ => FetchError::Rejected(format!("{what}: {status} {excerpt}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_errors_are_permanent_and_outages_are_retried() {
        assert!(matches!(status_error("x", StatusCode::UNAUTHORIZED, b""), FetchError::Refused(_)));
        assert!(matches!(status_error("x", StatusCode::FORBIDDEN, b""), FetchError::Refused(_)));
        assert!(matches!(status_error("x", StatusCode::SERVICE_UNAVAILABLE, b""), FetchError::Unavailable(_)));
        assert!(matches!(status_error("x", StatusCode::TOO_MANY_REQUESTS, b""), FetchError::Unavailable(_)));
        assert!(matches!(status_error("x", StatusCode::NOT_FOUND, b""), FetchError::Rejected(_)));
    }
}
