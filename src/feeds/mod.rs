//! Bookings from the calendars operators already have (SPEC §9): one
//! `SyncFeed` job per feed, every `FEED_POLL_MINUTES`, fetches the feed
//! ([`fetch`]), reads it ([`ical`]) and hands the stays to the core
//! (`access::feeds`), which keeps the safety rules.

pub mod fetch;
pub mod ical;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::access::feeds::{self, Feed, SyncCounts, Validators};
use crate::access::AccessError;
use crate::context::JobContext;
use crate::jobs::{queue, Job, JobError, Merge, Run};
pub use fetch::FeedFetcher;
use fetch::Fetched;

/// Fetch one feed now, then again after `FEED_POLL_MINUTES`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFeed {
    /// The feed.
    pub feed_id: Uuid,
}

impl Job for SyncFeed {
    const KIND: &'static str = "sync_feed";
    /// A restart or a new feed never postpones a fetch that is due.
    const MERGE: Merge = Merge::KeepEarliest;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.feed_id))
    }
}

impl Run<JobContext> for SyncFeed {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        if sync(&ctx.db, &ctx.feeds, self.feed_id).await?.is_some() {
            let mut conn = ctx.db.acquire().await?;
            queue::enqueue(&mut conn, self, Utc::now() + ctx.feeds.poll).await?;
        }
        Ok(())
    }

    /// A feed is never dropped for good: the next round is queued.
    async fn on_dead(&self, ctx: &JobContext, conn: &mut PgConnection, error: &JobError) -> Result<(), JobError> {
        tracing::error!(feed_id = %self.feed_id, error = %error, "syncing a calendar feed died; it runs again later");
        queue::enqueue(conn, self, Utc::now() + ctx.feeds.poll).await?;
        Ok(())
    }
}

/// Queues a sync of every feed (at start, so a feed never loses its job).
pub async fn schedule_all(conn: &mut PgConnection) -> Result<(), AccessError> {
    let now = Utc::now();
    for feed_id in feeds::all_feed_ids(&mut *conn).await? {
        queue::enqueue(conn, &SyncFeed { feed_id }, now).await?;
    }
    Ok(())
}

/// Fetches and applies one feed; `None` when the feed no longer exists.
/// A failed fetch is recorded on the feed, not an error: the job goes on
/// at its next round.
pub async fn sync(db: &PgPool, fetcher: &FeedFetcher, feed_id: Uuid) -> Result<Option<SyncCounts>, JobError> {
    let feed = match feeds::get_feed(db, feed_id).await {
        Ok(feed) => feed,
        Err(AccessError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let last = Validators { etag: feed.etag.clone(), last_modified: feed.last_modified.clone() };
    let fetched = fetcher.fetch(&feed.url, &last).await;
    let now = Utc::now();
    let _turn = match fetched {
        Ok(Fetched::Body { .. }) => fetcher.write_turn().await,
        _ => None,
    };
    let mut tx = db.begin().await?;
    let counts = match fetched {
        Ok(Fetched::Unchanged) => {
            feeds::record_unchanged(&mut tx, feed.id, now).await?;
            SyncCounts { unchanged: usize::try_from(feed.events).unwrap_or(0), ..Default::default() }
        }
        Ok(Fetched::Body { text, etag, last_modified }) => {
            apply_body(&mut tx, &feed, &text, Validators { etag, last_modified }).await?
        }
        Err(e) => {
            feeds::record_failure(&mut tx, &feed, "failed", &e.to_string(), now).await?;
            SyncCounts::default()
        }
    };
    tx.commit().await?;
    metrics::counter!("doorman_feed_syncs_total", "source" => feed.source.as_str()).increment(1);
    Ok(Some(counts))
}

async fn apply_body(
    tx: &mut PgConnection,
    feed: &Feed,
    text: &str,
    validators: Validators,
) -> Result<SyncCounts, JobError> {
    let now = Utc::now();
    match ical::parse_feed(text, feed.source, feed.timezone.tz(), now) {
        Ok(parsed) => Ok(feeds::apply_fetch(tx, feed, &parsed.stays, parsed.skipped, &validators, now).await?),
        Err(e) => {
            feeds::record_failure(tx, feed, "failed", &e.to_string(), now).await?;
            Ok(SyncCounts::default())
        }
    }
}
