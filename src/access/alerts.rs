//! Telling a property's staff that something needs a person. The core and
//! the device jobs only name the problem and say what happened; the
//! `AlertStaff` job routes it to each staff member (`conversation::alerts`).

use chrono::Utc;
use sqlx::PgConnection;
use uuid::Uuid;

use super::jobs::AlertStaff;
use crate::jobs::queue;

/// Queues an alert to the staff of `property_id`, once per `problem`.
pub async fn alert_staff(
    conn: &mut PgConnection,
    property_id: Uuid,
    problem: impl Into<String>,
    text: impl Into<String>,
) -> sqlx::Result<()> {
    let job = AlertStaff { property_id, problem: problem.into(), text: text.into() };
    queue::enqueue(conn, &job, Utc::now()).await
}
