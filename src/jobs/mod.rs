//! Durable jobs in PostgreSQL (SPEC §6): every effect on the outside world
//! is a job, enqueued in the transaction of the change that needs it,
//! claimed with `FOR UPDATE SKIP LOCKED`, retried with backoff and jitter,
//! and `dead` when it keeps failing. Safe with several instances.
//!
//! Why not `graphile_worker`: it brings its own schema and migration runner,
//! and its job keys replace rather than merge a running job; doorman needs
//! dedupe among *waiting* jobs only (a change made while a job runs must not
//! be lost), release of claimed jobs at shutdown, and a hook when a job dies.
//! That is a few hundred lines on the same sqlx pool.

mod codes;
pub mod housekeeping;
pub mod locks;
pub mod queue;
mod worker;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::channels::outbox::Senders;
use crate::lock_providers::Providers;

pub use codes::code_name;
pub(crate) use codes::find_on_device;
pub use worker::{run_pending_jobs, Worker, WorkerSettings};

/// A unit of work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Put a code on its lock.
    ProgramCode {
        /// The code.
        code_id: Uuid,
    },
    /// Poll the provider until an accepted code shows on the lock.
    ConfirmCode {
        /// The code.
        code_id: Uuid,
    },
    /// Move a code's validity window on its lock.
    UpdateCode {
        /// The code.
        code_id: Uuid,
    },
    /// Take a code off its lock, and poll until it is gone.
    RemoveCode {
        /// The code.
        code_id: Uuid,
    },
    /// At the end of a code's validity (check-out), start its removal.
    ExpireCode {
        /// The code.
        code_id: Uuid,
    },
    /// Handle a stored inbound update (a message or a delivery report).
    ProcessInbound {
        /// The `inbound_updates` row.
        update_id: i64,
    },
    /// Send one queued notification.
    SendMessage {
        /// The `notifications` row.
        notification_id: Uuid,
    },
    /// Send a booking's pre-arrival message with its codes.
    PreArrival {
        /// The booking.
        booking_id: Uuid,
    },
    /// Tell a property's staff something (from code that has no chat senders).
    AlertStaff {
        /// The property.
        property_id: Uuid,
        /// Names the problem: one alert per problem.
        problem: String,
        /// What to say.
        text: String,
    },
    /// A staff command that asks the locks (`/status`, `/audit`), run apart
    /// from the inbound transaction so no row lock waits on a provider.
    StaffCommand {
        /// The `inbound_updates` row.
        update_id: i64,
    },
    /// Every lock's online state and battery; alerts staff, runs again later.
    CheckLocks,
    /// Who opened each lock with which code; runs again later.
    CheckLockActivity,
    /// Compare what is on one lock with doorman's codes.
    ReconcileLock {
        /// The lock.
        lock_id: Uuid,
    },
    /// Every night: queue the reconciliation of every lock.
    ReconcileLocks,
    /// Keep the lock's backup codes on it.
    FillBackupPool {
        /// The lock.
        lock_id: Uuid,
    },
    /// What a guest wrote that staff must see, folded into one alert per
    /// guest and window.
    GuestAlert {
        /// The property whose staff are told.
        property_id: Uuid,
        /// The guest.
        guest_id: Uuid,
    },
    /// A hand-off still open after a while: remind staff.
    HandoffReminder {
        /// The hand-off.
        handoff_id: Uuid,
    },
    /// Remove a code doorman did not set from a lock (staff confirmed it).
    RemoveDeviceCode {
        /// The lock.
        lock_id: Uuid,
        /// The provider's id of the code.
        provider_ref: String,
    },
    /// Send a booking's live codes to its guest again, once per `key` (the
    /// stay moved to another room).
    DeliverCodes {
        /// The booking.
        booking_id: Uuid,
        /// Makes the message once.
        key: String,
    },
    /// Tell the guest their booking is confirmed, on every channel they have.
    BookingConfirmed {
        /// The booking.
        booking_id: Uuid,
    },
    /// Shortly before check-in: alert staff when a code is not on its lock.
    CheckCodesSet {
        /// The booking.
        booking_id: Uuid,
    },
    /// Ask the LLM about a message the rules were unsure of.
    LlmFallback {
        /// The `inbound_updates` row.
        update_id: i64,
    },
    /// Every night: delete processed webhooks and dead jobs older than
    /// the retention period.
    Prune,
    /// Does nothing: measures the queue itself (benchmarks).
    Ping {
        /// Distinguishes pings.
        seq: u64,
    },
}

impl Job {
    /// The stored kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ProgramCode { .. } => "program_code",
            Self::ConfirmCode { .. } => "confirm_code",
            Self::UpdateCode { .. } => "update_code",
            Self::RemoveCode { .. } => "remove_code",
            Self::ExpireCode { .. } => "expire_code",
            Self::ProcessInbound { .. } => "process_inbound",
            Self::SendMessage { .. } => "send_message",
            Self::PreArrival { .. } => "pre_arrival",
            Self::LlmFallback { .. } => "llm_fallback",
            Self::CheckCodesSet { .. } => "check_codes_set",
            Self::BookingConfirmed { .. } => "booking_confirmed",
            Self::DeliverCodes { .. } => "deliver_codes",
            Self::RemoveDeviceCode { .. } => "remove_device_code",
            Self::CheckLocks => "check_locks",
            Self::CheckLockActivity => "check_lock_activity",
            Self::ReconcileLock { .. } => "reconcile_lock",
            Self::ReconcileLocks => "reconcile_locks",
            Self::Prune => "prune",
            Self::FillBackupPool { .. } => "fill_backup_pool",
            Self::StaffCommand { .. } => "staff_command",
            Self::AlertStaff { .. } => "alert_staff",
            Self::HandoffReminder { .. } => "handoff_reminder",
            Self::GuestAlert { .. } => "guest_alert",
            Self::Ping { .. } => "ping",
        }
    }

    /// Waiting jobs with the same key are merged into one.
    pub fn dedupe_key(&self) -> Option<String> {
        match self {
            Self::ProgramCode { code_id }
            | Self::ConfirmCode { code_id }
            | Self::UpdateCode { code_id }
            | Self::RemoveCode { code_id }
            | Self::ExpireCode { code_id } => Some(format!("{}:{code_id}", self.kind())),
            Self::ProcessInbound { update_id } | Self::LlmFallback { update_id } | Self::StaffCommand { update_id } => {
                Some(format!("{}:{update_id}", self.kind()))
            }
            Self::SendMessage { notification_id } => Some(format!("{}:{notification_id}", self.kind())),
            Self::PreArrival { booking_id }
            | Self::CheckCodesSet { booking_id }
            | Self::BookingConfirmed { booking_id } => Some(format!("{}:{booking_id}", self.kind())),
            Self::RemoveDeviceCode { lock_id, provider_ref } => {
                Some(format!("{}:{lock_id}:{provider_ref}", self.kind()))
            }
            Self::DeliverCodes { booking_id, key } => Some(format!("{}:{booking_id}:{key}", self.kind())),
            Self::CheckLocks | Self::CheckLockActivity | Self::ReconcileLocks | Self::Prune => {
                Some(self.kind().to_owned())
            }
            Self::ReconcileLock { lock_id } | Self::FillBackupPool { lock_id } => {
                Some(format!("{}:{lock_id}", self.kind()))
            }
            Self::AlertStaff { property_id, problem, .. } => Some(format!("{}:{property_id}:{problem}", self.kind())),
            Self::HandoffReminder { handoff_id } => Some(format!("{}:{handoff_id}", self.kind())),
            Self::GuestAlert { property_id, guest_id } => Some(format!("{}:{property_id}:{guest_id}", self.kind())),
            Self::Ping { .. } => None,
        }
    }

    /// Attempts before the job is dead. Confirmation polls are cheap and
    /// wait for a slow lock; the backoff spreads twelve attempts over about
    /// an hour.
    pub fn max_attempts(&self) -> i32 {
        match self {
            Self::ConfirmCode { .. } => 15,
            _ => 12,
        }
    }
}

/// Why an attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Try again after a backoff.
    #[error("{0}")]
    Retry(String),
    /// Try again after the delay the provider asked for.
    #[error("{0}")]
    RetryAfter(String, std::time::Duration),
    /// Trying again will not help: the job is dead at once.
    #[error("{0}")]
    Permanent(String),
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        Self::Retry(format!("database: {err}"))
    }
}

impl From<crate::access::AccessError> for JobError {
    fn from(err: crate::access::AccessError) -> Self {
        match err {
            crate::access::AccessError::Database(e) => Self::Retry(format!("database: {e}")),
            other => Self::Permanent(other.to_string()),
        }
    }
}

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
}

impl JobContext {
    /// Runs one attempt of a job.
    pub async fn perform(&self, job: &Job) -> Result<(), JobError> {
        match job {
            Job::ProgramCode { code_id } => codes::program(self, *code_id).await,
            Job::ConfirmCode { code_id } => codes::confirm(self, *code_id).await,
            Job::UpdateCode { code_id } => codes::update(self, *code_id).await,
            Job::RemoveCode { code_id } => codes::remove(self, *code_id).await,
            Job::ExpireCode { code_id } => codes::expire(self, *code_id).await,
            Job::ProcessInbound { update_id } => crate::channels::inbox::process(self, *update_id).await,
            Job::SendMessage { notification_id } => crate::channels::outbox::send(self, *notification_id).await,
            Job::PreArrival { booking_id } => crate::conversation::pre_arrival::send(self, *booking_id).await,
            Job::LlmFallback { update_id } => crate::conversation::llm::fallback(self, *update_id).await,
            Job::CheckCodesSet { booking_id } => crate::conversation::alerts::check_codes_set(self, *booking_id).await,
            Job::BookingConfirmed { booking_id } => {
                crate::conversation::pre_arrival::send_confirmation(self, *booking_id).await
            }
            Job::RemoveDeviceCode { lock_id, provider_ref } => {
                codes::remove_device_code(self, *lock_id, provider_ref).await
            }
            Job::DeliverCodes { booking_id, key } => {
                let mut tx = self.db.begin().await?;
                crate::conversation::deliver_codes(self, &mut tx, *booking_id, key).await?;
                tx.commit().await?;
                Ok(())
            }
            Job::CheckLocks => locks::check_locks(self).await,
            Job::CheckLockActivity => locks::check_activity(self).await,
            Job::ReconcileLock { lock_id } => locks::reconcile_job(self, *lock_id).await,
            Job::ReconcileLocks => locks::reconcile_all(self).await,
            Job::Prune => housekeeping::prune(self).await,
            Job::FillBackupPool { lock_id } => locks::fill_backup_pool(self, *lock_id).await,
            Job::HandoffReminder { handoff_id } => crate::conversation::alerts::remind_handoff(self, *handoff_id).await,
            Job::GuestAlert { property_id, guest_id } => {
                crate::conversation::alerts::send_guest_alert(self, *property_id, *guest_id).await
            }
            Job::StaffCommand { update_id } => crate::conversation::staff::run_deferred(self, *update_id).await,
            Job::AlertStaff { property_id, problem, text } => {
                let mut tx = self.db.begin().await?;
                crate::conversation::alerts::alert_staff(&mut tx, &self.senders, *property_id, problem, text).await?;
                tx.commit().await?;
                Ok(())
            }
            Job::Ping { .. } => Ok(()),
        }
    }

    /// Called once when a job dies, in the transaction that buries it.
    pub async fn on_dead(&self, conn: &mut sqlx::PgConnection, job: &Job, error: &str) -> Result<(), JobError> {
        match job {
            Job::ProgramCode { code_id } | Job::ConfirmCode { code_id } => {
                codes::gave_up_programming(self, conn, *code_id, error).await
            }
            Job::UpdateCode { code_id } => codes::gave_up_updating(self, conn, *code_id, error).await,
            Job::RemoveCode { code_id } | Job::ExpireCode { code_id } => {
                codes::gave_up_removing(self, conn, *code_id, error).await
            }
            // The recurring lock jobs must not stop for good: the next round
            // is queued as usual.
            Job::CheckLocks | Job::CheckLockActivity => {
                tracing::error!(job = job.kind(), error, "a recurring lock job died; it runs again later");
                queue::enqueue(conn, job, chrono::Utc::now() + chrono::Duration::minutes(30)).await?;
                Ok(())
            }
            Job::ReconcileLocks => {
                tracing::error!(error, "the nightly reconciliation died; it runs again tomorrow");
                queue::enqueue(conn, job, locks::next_nightly_run(chrono::Utc::now())).await?;
                Ok(())
            }
            Job::PreArrival { booking_id } => crate::conversation::pre_arrival::gave_up(conn, *booking_id).await,
            Job::Prune => {
                tracing::error!(error, "the nightly clean-up died; it runs again tomorrow");
                queue::enqueue(conn, job, housekeeping::next_run(chrono::Utc::now())).await?;
                Ok(())
            }
            // The notification log holds the failure of a message; an
            // unprocessable update stays in the inbox unprocessed.
            Job::ProcessInbound { .. }
            | Job::SendMessage { .. }
            | Job::LlmFallback { .. }
            | Job::CheckCodesSet { .. }
            | Job::BookingConfirmed { .. }
            | Job::DeliverCodes { .. }
            | Job::RemoveDeviceCode { .. }
            | Job::ReconcileLock { .. }
            | Job::FillBackupPool { .. }
            | Job::StaffCommand { .. }
            | Job::AlertStaff { .. }
            | Job::HandoffReminder { .. }
            | Job::GuestAlert { .. }
            | Job::Ping { .. } => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Job;

    /// `channels::inbox::accept` writes this job in SQL: keep the shapes equal.
    #[test]
    fn process_inbound_has_the_shape_the_inbox_writes() {
        let job = Job::ProcessInbound { update_id: 42 };
        assert_eq!(
            serde_json::to_value(&job).unwrap(),
            serde_json::json!({ "kind": "process_inbound", "update_id": 42 })
        );
        assert_eq!(job.dedupe_key().as_deref(), Some("process_inbound:42"));
        assert_eq!(job.kind(), "process_inbound");
    }
}
