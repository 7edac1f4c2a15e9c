//! A booking's messages: planned from its property's rules when it is
//! confirmed, moved when its dates move, cancelled with it. Each is a row of
//! `scheduled_messages` (one per booking and rule: the booking's timeline)
//! and a job due when it goes.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::{rules_of, JourneyTerms, MessageRule, Trigger, PRE_ARRIVAL};
use crate::access::audit::{self, Actor, Subject};
use crate::access::error::{AccessError, AccessResult};
use crate::access::jobs::{PreArrival, SendRuleMessage};
use crate::access::model::BookingStatus;
use crate::access::timezone::Timezone;
use crate::jobs::queue;

/// How long after check-out a rule's message may still go.
const TOO_LATE_AFTER_CHECK_OUT: Duration = Duration::days(1);
/// How long before its time a rule's message is written (its text, its
/// outbox rows and their jobs, due at the time itself): a morning's burst
/// of reminders then starts sending at 08:00 sharp instead of after
/// every one of them was written.
pub const WRITE_AHEAD: Duration = Duration::seconds(60);

/// One message of a booking's timeline.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduledMessage {
    /// Its number (`/send <id>`, `/drop <id>` for a draft).
    pub id: i64,
    /// The rule's name.
    pub rule: String,
    /// When the rule says it is due.
    pub due_at: DateTime<Utc>,
    /// When it goes: after the property's quiet hours.
    pub send_at: DateTime<Utc>,
    /// The channels it uses, where the guest has them.
    pub channels: Vec<String>,
    /// `auto` or `draft`.
    pub mode: String,
    /// `waiting` (its trigger has not happened), `scheduled`, `draft` (shown
    /// to staff), `approved`, `sent`, `dropped` or `cancelled`.
    pub state: String,
}

/// What a rule's plan needs of the booking.
#[derive(Debug, Clone)]
pub struct JourneyBooking {
    /// The booking.
    pub id: Uuid,
    /// Its property.
    pub property_id: Uuid,
    /// Its status.
    pub status: BookingStatus,
    /// Check-in.
    pub check_in_at: DateTime<Utc>,
    /// Check-out.
    pub check_out_at: DateTime<Utc>,
    /// When the guest's code first opened a door.
    pub arrived_at: Option<DateTime<Utc>>,
}

/// A stored row, as planning reads it.
#[derive(Debug, Clone)]
pub struct Existing {
    /// Its state.
    pub state: String,
    /// Its due time.
    pub due_at: DateTime<Utc>,
    /// The stay it was planned for.
    pub stay: String,
}

/// A row to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The rule.
    pub rule: String,
    /// Due.
    pub due_at: DateTime<Utc>,
    /// Goes.
    pub send_at: DateTime<Utc>,
    /// `waiting`, `scheduled` or (the pre-arrival message) `sent`.
    pub state: &'static str,
}

/// Plans a confirmed booking's messages from its property's rules and
/// returns their jobs, for the caller to add to its `queue::Batch`. A
/// booking that is not confirmed gets its waiting messages cancelled.
/// Idempotent: moved dates move the messages, a sent one stays sent (once
/// per booking and rule). The one hook of the booking lifecycle (the API,
/// the feeds and the channel managers all reach it through
/// `lifecycle::sync_booking_codes`).
#[tracing::instrument(skip_all, fields(%booking_id))]
pub async fn schedule_for_booking(
    conn: &mut PgConnection,
    booking_id: Uuid,
    now: DateTime<Utc>,
) -> AccessResult<queue::Batch> {
    let mut jobs = queue::Batch::default();
    let (booking, terms) = load_booking(&mut *conn, booking_id).await?;
    if booking.status != BookingStatus::Confirmed {
        cancel_for_booking(conn, booking_id).await?;
        return Ok(jobs);
    }
    if now > booking.check_out_at + TOO_LATE_AFTER_CHECK_OUT {
        return Ok(jobs);
    }
    let rules = rules_of(conn, &terms).await?;
    let existing = existing_rows(conn, booking_id).await?;
    let mut plans = Vec::new();
    for rule in &rules {
        let Some(plan) = plan(rule, existing.get(&rule.name), &booking, &terms, now) else { continue };
        match (rule.name.as_str(), plan.state) {
            // The code message runs every time: it sends once per channel
            // and recipient, and a corrected guest gets it too.
            (PRE_ARRIVAL, _) => jobs.add(&PreArrival { booking_id }, plan.send_at)?,
            (_, "scheduled") => {
                jobs.add(&SendRuleMessage { booking_id, rule: rule.name.clone() }, plan.send_at - WRITE_AHEAD)?
            }
            _ => &mut jobs,
        };
        plans.push((plan, rule));
    }
    write_plans(conn, &booking, &plans).await?;
    Ok(jobs)
}

/// When a rule's message goes for this booking, or `None` when nothing
/// changes (sent, dropped, with staff, its trigger unchanged, too late).
pub fn plan(
    rule: &MessageRule,
    existing: Option<&Existing>,
    booking: &JourneyBooking,
    terms: &JourneyTerms,
    now: DateTime<Utc>,
) -> Option<Plan> {
    let pre_arrival = rule.name == PRE_ARRIVAL;
    let settled = existing.is_some_and(|e| matches!(e.state.as_str(), "sent" | "dropped" | "draft" | "approved"));
    if settled && !pre_arrival {
        return None;
    }
    let live = existing.filter(|e| e.state != "cancelled");
    let offset = Duration::minutes(i64::from(if pre_arrival { terms.release_hours * 60 } else { rule.offset_minutes }));
    let stay = stay_key(booking);
    let instant = match rule.trigger {
        Trigger::BookingConfirmed => Some(live.map_or(now + offset, |e| e.due_at)),
        Trigger::DatesChanged => match live {
            Some(e) if e.stay != stay => Some(now + offset),
            Some(_) => return None,
            None => None,
        },
        Trigger::BeforeCheckIn => Some(booking.check_in_at - offset),
        Trigger::AfterCheckIn => Some(booking.check_in_at + offset),
        Trigger::Arrived => booking.arrived_at.map(|at| at + offset),
        Trigger::BeforeCheckOut => Some(booking.check_out_at - offset),
        Trigger::AfterCheckOut => Some(booking.check_out_at + offset),
    };
    let Some(instant) = instant else {
        return Some(Plan { rule: rule.name.clone(), due_at: now, send_at: now, state: "waiting" });
    };
    let due = match rule.local_time {
        Some(time) => at_local_time(instant, time, terms),
        None => instant,
    };
    if due < now && now > booking.check_out_at + TOO_LATE_AFTER_CHECK_OUT {
        return None;
    }
    let due = due.max(now);
    let send_at = super::quiet::send_at(
        due,
        terms.quiet_hours,
        terms.timezone.tz(),
        rule.about_getting_in(),
        booking.check_in_at,
    );
    let state = if settled { "sent" } else { "scheduled" };
    Some(Plan { rule: rule.name.clone(), due_at: due, send_at, state })
}

/// The local `time` on the local day of `instant`.
fn at_local_time(instant: DateTime<Utc>, time: chrono::NaiveTime, terms: &JourneyTerms) -> DateTime<Utc> {
    let tz = terms.timezone.tz();
    let day = instant.with_timezone(&tz).date_naive();
    tz.from_local_datetime(&day.and_time(time))
        .earliest()
        .or_else(|| tz.from_local_datetime(&(day.and_time(time) + Duration::hours(1))).earliest())
        .map_or(instant, |at| at.with_timezone(&Utc))
}

fn stay_key(booking: &JourneyBooking) -> String {
    format!("{}/{}", booking.check_in_at.timestamp(), booking.check_out_at.timestamp())
}

/// Cancels a booking's messages that have not gone (it was cancelled or set
/// back to pending); their jobs find nothing to send.
pub async fn cancel_for_booking(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<()> {
    // A message written ahead whose time has not come is cancelled too.
    sqlx::query!(
        "UPDATE scheduled_messages SET state = 'cancelled', updated_at = now()
         WHERE booking_id = $1
           AND (state IN ('scheduled', 'waiting', 'draft', 'approved') OR (state = 'sent' AND send_at > now()))",
        booking_id
    )
    .execute(&mut *conn)
    .await?;
    // Written ahead and not gone yet: withdrawn, and the log says why.
    sqlx::query!(
        "UPDATE notifications SET status = 'failed', error = 'withdrawn: the booking is no longer confirmed',
             updated_at = now()
         WHERE booking_id = $1 AND status = 'queued' AND dedupe_key LIKE 'rule:%'",
        booking_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks a booking's message of `rule` sent, from `from` (`scheduled`, or
/// `approved` for a draft); `false` when it was in another state (sent by
/// another instance, cancelled, dropped).
pub async fn mark_sent(conn: &mut PgConnection, booking_id: Uuid, rule: &str, from: &[&str]) -> AccessResult<bool> {
    let from: Vec<String> = from.iter().map(|s| (*s).to_owned()).collect();
    let done = sqlx::query!(
        "UPDATE scheduled_messages SET state = 'sent', updated_at = now()
         WHERE booking_id = $1 AND rule = $2 AND state = ANY($3)",
        booking_id,
        rule,
        &from
    )
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// A booking's scheduled messages, by when they go.
pub async fn timeline(db: impl PgExecutor<'_>, booking_id: Uuid) -> AccessResult<Vec<ScheduledMessage>> {
    Ok(sqlx::query_as!(
        ScheduledMessage,
        "SELECT id, rule, due_at, send_at, channels, mode, state FROM scheduled_messages
         WHERE booking_id = $1 ORDER BY send_at, id",
        booking_id
    )
    .fetch_all(db)
    .await?)
}

/// The booking and its property's terms, in one round trip.
async fn load_booking(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<(JourneyBooking, JourneyTerms)> {
    let row = sqlx::query!(
        r#"SELECT b.id, b.property_id, b.status AS "status: BookingStatus", b.check_in_at, b.check_out_at,
               b.arrived_at, p.timezone AS "timezone: Timezone", p.code_release_hours, p.quiet_hours,
               p.notify_channels, p.message_rules_saved
           FROM bookings b JOIN properties p ON p.id = b.property_id WHERE b.id = $1"#,
        booking_id
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AccessError::NotFound { entity: "booking" })?;
    let terms = JourneyTerms {
        property_id: row.property_id,
        timezone: row.timezone,
        release_hours: row.code_release_hours,
        quiet_hours: row.quiet_hours.as_deref().and_then(|q| super::QuietHours::parse(q).ok()),
        notify_channels: row.notify_channels,
        saved: row.message_rules_saved,
    };
    let booking = JourneyBooking {
        id: row.id,
        property_id: row.property_id,
        status: row.status,
        check_in_at: row.check_in_at,
        check_out_at: row.check_out_at,
        arrived_at: row.arrived_at,
    };
    Ok((booking, terms))
}

async fn existing_rows(conn: &mut PgConnection, booking_id: Uuid) -> AccessResult<HashMap<String, Existing>> {
    let rows =
        sqlx::query!("SELECT rule, state, due_at, stay FROM scheduled_messages WHERE booking_id = $1", booking_id)
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().map(|r| (r.rule, Existing { state: r.state, due_at: r.due_at, stay: r.stay })).collect())
}

async fn write_plans(
    conn: &mut PgConnection,
    booking: &JourneyBooking,
    plans: &[(Plan, &MessageRule)],
) -> AccessResult<()> {
    if plans.is_empty() {
        return Ok(());
    }
    let rules: Vec<String> = plans.iter().map(|(p, _)| p.rule.clone()).collect();
    let due: Vec<DateTime<Utc>> = plans.iter().map(|(p, _)| p.due_at).collect();
    let send: Vec<DateTime<Utc>> = plans.iter().map(|(p, _)| p.send_at).collect();
    let channels: Vec<String> = plans.iter().map(|(_, r)| r.channels.join(",")).collect();
    let modes: Vec<String> = plans.iter().map(|(_, r)| r.mode.as_str().to_owned()).collect();
    let states: Vec<String> = plans.iter().map(|(p, _)| p.state.to_owned()).collect();
    sqlx::query!(
        "INSERT INTO scheduled_messages (booking_id, property_id, rule, due_at, send_at, channels, mode, state, stay)
         SELECT $1, $2, r.rule, r.due_at, r.send_at, string_to_array(r.channels, ','), r.mode, r.state, $3
         FROM UNNEST($4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[], $8::text[], $9::text[])
             AS r (rule, due_at, send_at, channels, mode, state)
         ON CONFLICT (booking_id, rule) DO UPDATE SET due_at = EXCLUDED.due_at, send_at = EXCLUDED.send_at,
             channels = EXCLUDED.channels, mode = EXCLUDED.mode, state = EXCLUDED.state, stay = EXCLUDED.stay,
             updated_at = now()
         -- A booking sent again unchanged rewrites nothing.
         WHERE (scheduled_messages.due_at, scheduled_messages.send_at, scheduled_messages.channels,
                scheduled_messages.mode, scheduled_messages.state, scheduled_messages.stay)
               IS DISTINCT FROM (EXCLUDED.due_at, EXCLUDED.send_at, EXCLUDED.channels, EXCLUDED.mode,
                                 EXCLUDED.state, EXCLUDED.stay)",
        booking.id,
        booking.property_id,
        stay_key(booking),
        &rules,
        &due,
        &send,
        &channels,
        &modes,
        &states,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A draft waiting for staff.
#[derive(Debug, Clone, Serialize)]
pub struct Draft {
    /// Its number.
    pub id: i64,
    /// The booking.
    pub booking_id: Uuid,
    /// Its reference.
    pub reference: String,
    /// Its property.
    pub property_id: Uuid,
    /// The room.
    pub room: String,
    /// The guest's name.
    pub guest: String,
    /// The rule.
    pub rule: String,
    /// Since when it waits.
    pub since: DateTime<Utc>,
}

/// The drafts waiting for staff at these properties, oldest first.
pub async fn list_drafts(db: impl PgExecutor<'_>, property_ids: &[Uuid]) -> AccessResult<Vec<Draft>> {
    Ok(sqlx::query_as!(
        Draft,
        "SELECT m.id, m.booking_id, b.external_ref AS reference, m.property_id, r.name AS room, g.name AS guest,
             m.rule, m.updated_at AS since
         FROM scheduled_messages m JOIN bookings b ON b.id = m.booking_id JOIN rooms r ON r.id = b.room_id
         JOIN guests g ON g.id = b.guest_id
         WHERE m.state = 'draft' AND m.property_id = ANY($1) ORDER BY m.updated_at, m.id LIMIT 200",
        property_ids
    )
    .fetch_all(db)
    .await?)
}

/// The draft of this number, if it is one.
pub async fn find_draft(db: impl PgExecutor<'_>, id: i64) -> AccessResult<Draft> {
    sqlx::query_as!(
        Draft,
        "SELECT m.id, m.booking_id, b.external_ref AS reference, m.property_id, r.name AS room, g.name AS guest,
             m.rule, m.updated_at AS since
         FROM scheduled_messages m JOIN bookings b ON b.id = m.booking_id JOIN rooms r ON r.id = b.room_id
         JOIN guests g ON g.id = b.guest_id
         WHERE m.id = $1 AND m.state = 'draft'",
        id
    )
    .fetch_optional(db)
    .await?
    .ok_or(AccessError::NotFound { entity: "draft" })
}

/// Staff send (`send`) or drop a draft, audited as `message.draft_sent` or
/// `message.draft_dropped`; a sent one is queued at once. `NotFound` when
/// it is no draft (any more).
pub async fn decide_draft(conn: &mut PgConnection, draft: &Draft, send: bool, actor: Actor) -> AccessResult<()> {
    let staff = match actor {
        Actor::Staff(id) => Some(id),
        _ => None,
    };
    let state = if send { "approved" } else { "dropped" };
    let decided = sqlx::query!(
        "UPDATE scheduled_messages SET state = $2, decided_by = $3, updated_at = now() WHERE id = $1 AND state = 'draft'",
        draft.id,
        state,
        staff
    )
    .execute(&mut *conn)
    .await?;
    if decided.rows_affected() == 0 {
        return Err(AccessError::NotFound { entity: "draft" });
    }
    let action = if send { "message.draft_sent" } else { "message.draft_dropped" };
    let subject =
        Subject { property_id: Some(draft.property_id), booking_id: Some(draft.booking_id), ..Default::default() };
    audit::record(&mut *conn, actor, action, subject, serde_json::json!({ "rule": draft.rule, "id": draft.id }))
        .await?;
    if send {
        let job = SendRuleMessage { booking_id: draft.booking_id, rule: draft.rule.clone() };
        queue::enqueue(conn, &job, Utc::now()).await?;
    }
    Ok(())
}

/// Shows a due draft to staff: `false` when it is not scheduled any more.
pub async fn hold_as_draft(conn: &mut PgConnection, booking_id: Uuid, rule: &str) -> AccessResult<Option<i64>> {
    Ok(sqlx::query_scalar!(
        "UPDATE scheduled_messages SET state = 'draft', updated_at = now()
         WHERE booking_id = $1 AND rule = $2 AND state = 'scheduled' RETURNING id",
        booking_id,
        rule
    )
    .fetch_optional(&mut *conn)
    .await?)
}

/// The state of a booking's message of `rule` and when it goes, if
/// planned; the row is locked until the caller's transaction ends.
pub async fn state_of(
    conn: &mut PgConnection,
    booking_id: Uuid,
    rule: &str,
) -> AccessResult<Option<(String, DateTime<Utc>)>> {
    let row = sqlx::query!(
        "SELECT state, send_at FROM scheduled_messages WHERE booking_id = $1 AND rule = $2 FOR UPDATE",
        booking_id,
        rule
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| (r.state, r.send_at)))
}
