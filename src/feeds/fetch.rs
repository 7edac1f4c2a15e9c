//! Fetching a calendar: one conditional GET (`If-None-Match`,
//! `If-Modified-Since`), at most [`FETCH_TIMEOUT`], at most
//! [`MAX_FEED_BYTES`]. An unchanged feed costs one request.

use std::time::Duration;

use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;

use crate::access::feeds::Validators;

/// How long a fetch may take, all of it, by default
/// (`FEED_FETCH_TIMEOUT_SECS`).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(20);
/// The largest feed read (Airbnb's of a busy listing is a few tens of KiB).
pub const MAX_FEED_BYTES: usize = 5 * 1024 * 1024;

/// Fetches feeds; one client (and its connection pool) for all of them.
#[derive(Debug, Clone)]
pub struct FeedFetcher {
    client: reqwest::Client,
    /// `FEED_POLL_MINUTES`: how often each feed is fetched.
    pub poll: chrono::Duration,
    /// Feeds written to the database at once by this instance.
    writers: std::sync::Arc<tokio::sync::Semaphore>,
}

/// How many changed feeds one instance writes at once. Fetching waits on
/// the network and runs at the scheduler's concurrency; writing a changed
/// feed is all database work, and more transactions at once than the
/// database has cores only make each slower (a first sync of 200 feeds
/// took a quarter more CPU at 16 than at 4).
pub const CONCURRENT_WRITES: usize = 4;

/// What a fetch brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// `304 Not Modified`.
    Unchanged,
    /// A body, with what to send next time.
    Body {
        /// The text.
        text: String,
        /// `ETag`.
        etag: Option<String>,
        /// `Last-Modified`.
        last_modified: Option<String>,
    },
}

/// Why a fetch failed (never with the address: it carries a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// No answer in time.
    #[error("no answer in time")]
    Timeout,
    /// Connection refused, DNS, TLS.
    #[error("could not connect")]
    Connect,
    /// An answer other than 200 or 304.
    #[error("the server answered {0}")]
    Status(u16),
    /// More than [`MAX_FEED_BYTES`].
    #[error("the feed is larger than {} MiB", MAX_FEED_BYTES / 1024 / 1024)]
    TooLarge,
    /// A body that is not UTF-8 text, or that broke off.
    #[error("the feed could not be read: {0}")]
    Unreadable(String),
}

impl FeedFetcher {
    /// A fetcher polling every `poll`, each fetch within `timeout`.
    pub fn new(poll: chrono::Duration, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("doorman/", env!("CARGO_PKG_VERSION"), " (calendar sync)"))
            .build()
            .unwrap_or_default();
        Self { client, poll, writers: std::sync::Arc::new(tokio::sync::Semaphore::new(CONCURRENT_WRITES)) }
    }

    /// Waits for a turn to write a changed feed; the turn ends when the
    /// permit is dropped.
    pub async fn write_turn(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        // The semaphore is never closed; `None` would only let the write go on.
        self.writers.clone().acquire_owned().await.ok()
    }

    /// One conditional GET.
    pub async fn fetch(&self, url: &str, last: &Validators) -> Result<Fetched, FetchError> {
        let mut request = self.client.get(url);
        if let Some(etag) = &last.etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        if let Some(modified) = &last.last_modified {
            request = request.header(IF_MODIFIED_SINCE, modified);
        }
        let response = request.send().await.map_err(classify)?;
        match response.status() {
            StatusCode::NOT_MODIFIED => return Ok(Fetched::Unchanged),
            StatusCode::OK => {}
            other => return Err(FetchError::Status(other.as_u16())),
        }
        let header = |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (etag, last_modified) = (header(ETAG), header(LAST_MODIFIED));
        let text = read_limited(response).await?;
        Ok(Fetched::Body { text, etag, last_modified })
    }
}

/// The body, refused past [`MAX_FEED_BYTES`] without reading the rest.
async fn read_limited(mut response: reqwest::Response) -> Result<String, FetchError> {
    if response.content_length().is_some_and(|n| n > MAX_FEED_BYTES as u64) {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > MAX_FEED_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| FetchError::Unreadable("not UTF-8 text".into()))
}

fn classify(error: reqwest::Error) -> FetchError {
    if error.is_timeout() {
        FetchError::Timeout
    } else if error.is_connect() {
        FetchError::Connect
    } else {
        // Without the URL, which may carry the feed's secret.
        FetchError::Unreadable(error.without_url().to_string())
    }
}
