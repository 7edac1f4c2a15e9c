//! The append-only audit trail (SPEC §2): who did what to which code, lock
//! or booking. Written in the same transaction as the change it records.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::error::AccessResult;

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The admin REST API (the PMS or an operator's script).
    Api,
    /// doorman itself: the scheduler, a provider callback.
    System,
    /// A staff member, through a chat command.
    Staff(Uuid),
    /// A guest, through the conversation.
    Guest(Uuid),
}

impl Actor {
    /// The stored form: `api`, `system`, `staff:<id>`, `guest:<id>`.
    pub fn to_db(self) -> String {
        match self {
            Self::Api => "api".to_owned(),
            Self::System => "system".to_owned(),
            Self::Staff(id) => format!("staff:{id}"),
            Self::Guest(id) => format!("guest:{id}"),
        }
    }
}

/// What an audit event is about; any of these may be absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject {
    /// The property concerned.
    pub property_id: Option<Uuid>,
    /// The lock concerned.
    pub lock_id: Option<Uuid>,
    /// The access code concerned.
    pub code_id: Option<Uuid>,
    /// The booking concerned.
    pub booking_id: Option<Uuid>,
}

/// One recorded event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// Increasing with time.
    pub id: i64,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// `api`, `system`, `staff:<id>` or `guest:<id>`.
    pub actor: String,
    /// What happened, e.g. `code.created`, `code.set`, `code.revoked`.
    pub action: String,
    /// The property concerned.
    pub property_id: Option<Uuid>,
    /// The lock concerned.
    pub lock_id: Option<Uuid>,
    /// The access code concerned.
    pub code_id: Option<Uuid>,
    /// The booking concerned.
    pub booking_id: Option<Uuid>,
    /// Free-form details; never a full code or secret.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

/// Filters of `GET /api/v1/audit`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only events of this booking.
    pub booking_id: Option<Uuid>,
    /// Only events of this lock.
    pub lock_id: Option<Uuid>,
    /// At most this many, newest last.
    pub limit: i64,
}

/// Events written together in one statement, in the order added (the
/// import of a calendar's new bookings records hundreds at once).
#[derive(Debug, Default)]
pub struct Batch(Vec<(Actor, &'static str, Subject, serde_json::Value)>);

impl Batch {
    /// Adds an event.
    pub fn add(&mut self, actor: Actor, action: &'static str, subject: Subject, details: serde_json::Value) {
        self.0.push((actor, action, subject, details));
    }

    /// Appends the events in the caller's transaction, as [`record`] does
    /// one at a time.
    pub async fn write(self, conn: &mut PgConnection) -> AccessResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let n = self.0.len();
        let (mut actors, mut actions, mut properties, mut locks, mut codes, mut bookings, mut details) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for (actor, action, subject, detail) in self.0 {
            actors.push(actor.to_db());
            actions.push(action.to_owned());
            properties.push(subject.property_id);
            locks.push(subject.lock_id);
            codes.push(subject.code_id);
            bookings.push(subject.booking_id);
            details.push(detail);
        }
        sqlx::query!(
            "INSERT INTO audit_events (actor, action, property_id, lock_id, code_id, booking_id, details)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::jsonb[])",
            &actors,
            &actions,
            &properties as &[Option<Uuid>],
            &locks as &[Option<Uuid>],
            &codes as &[Option<Uuid>],
            &bookings as &[Option<Uuid>],
            &details,
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// Appends an event. Use the caller's transaction so the event commits (or
/// rolls back) with the change it records.
pub async fn record(
    db: impl PgExecutor<'_>,
    actor: Actor,
    action: &str,
    subject: Subject,
    details: serde_json::Value,
) -> AccessResult<()> {
    sqlx::query!(
        "INSERT INTO audit_events (actor, action, property_id, lock_id, code_id, booking_id, details)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        actor.to_db(),
        action,
        subject.property_id,
        subject.lock_id,
        subject.code_id,
        subject.booking_id,
        details,
    )
    .execute(db)
    .await?;
    Ok(())
}

/// The latest `filter.limit` events matching the filter, oldest first.
pub async fn list(conn: &mut PgConnection, filter: &AuditFilter) -> AccessResult<Vec<AuditEvent>> {
    let mut events = sqlx::query_as!(
        AuditEvent,
        "SELECT id, occurred_at, actor, action, property_id, lock_id, code_id, booking_id, details
         FROM audit_events
         WHERE ($1::uuid IS NULL OR booking_id = $1) AND ($2::uuid IS NULL OR lock_id = $2)
         ORDER BY id DESC
         LIMIT $3",
        filter.booking_id,
        filter.lock_id,
        filter.limit,
    )
    .fetch_all(conn)
    .await?;
    events.reverse();
    Ok(events)
}

/// Filters of the console's audit screen: within some properties.
#[derive(Debug, Clone, Default)]
pub struct ScopedFilter {
    /// Only events of these properties (of their locks or bookings).
    pub property_ids: Vec<Uuid>,
    /// Only events of this booking.
    pub booking_id: Option<Uuid>,
    /// Only events of this lock.
    pub lock_id: Option<Uuid>,
    /// Only events of this actor (`staff:<id>`, `api`, `system`, ...).
    pub actor: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// The latest events within `filter.property_ids` matching the filter,
/// newest first.
pub async fn list_scoped(conn: &mut PgConnection, filter: &ScopedFilter) -> AccessResult<Vec<AuditEvent>> {
    Ok(sqlx::query_as!(
        AuditEvent,
        "SELECT e.id, e.occurred_at, e.actor, e.action, e.property_id, e.lock_id, e.code_id, e.booking_id, e.details
         FROM audit_events e
         WHERE (e.property_id = ANY($1)
                OR e.lock_id IN (SELECT id FROM locks WHERE property_id = ANY($1))
                OR e.booking_id IN (SELECT id FROM bookings WHERE property_id = ANY($1)))
           AND ($2::uuid IS NULL OR e.booking_id = $2) AND ($3::uuid IS NULL OR e.lock_id = $3)
           AND ($4::text IS NULL OR e.actor = $4)
         ORDER BY e.id DESC
         LIMIT $5",
        &filter.property_ids,
        filter.booking_id,
        filter.lock_id,
        filter.actor,
        filter.limit,
    )
    .fetch_all(conn)
    .await?)
}
