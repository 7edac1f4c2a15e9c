//! What a running job can reach: the application's parts, put together once
//! in `app::job_context`. Jobs take it as their [`crate::jobs::Run`]
//! context; the queue machinery only needs its database.

use sqlx::PgPool;

use crate::channels::outbox::Senders;
use crate::lock_providers::Providers;

/// What a job can reach.
#[derive(Clone)]
pub struct JobContext {
    /// The database.
    pub db: PgPool,
    /// The lock providers.
    pub providers: Providers,
    /// The chat providers.
    pub senders: Senders,
    /// The LLM fallback, when `OPENAI_API_KEY` is set.
    pub llm: Option<std::sync::Arc<crate::conversation::llm::LlmClient>>,
    /// `INBOUND_PER_SENDER_PER_MINUTE`: messages one sender gets answers to
    /// in a minute; more are stored and not answered.
    pub inbound_per_minute: u32,
    /// Fetches calendar feeds, every `FEED_POLL_MINUTES`.
    pub feeds: crate::feeds::FeedFetcher,
    /// The channel managers' APIs (Smoobu, Beds24, Hostaway).
    pub channel_managers: crate::integrations::Clients,
    /// Where this service is reached (`PUBLIC_BASE_URL`, else the bound
    /// address): the start of the console's login links.
    pub public_base_url: std::sync::Arc<str>,
}

impl crate::jobs::JobEnv for JobContext {
    fn db(&self) -> &PgPool {
        &self.db
    }
}
