//! Telling a property's staff that something needs a person, through the
//! same outbox as every other message. One problem, one alert: the caller
//! names the problem and the dedupe key does the rest.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::channels::outbox::{self, Senders};
use crate::channels::{Channel, Outgoing, Template};

/// The approved WhatsApp template for staff alerts outside the window.
pub const TEMPLATE: &str = "doorman_staff_alert";

/// Queues `text` to every active staff member of the property, on each
/// channel they can be reached on, once per `problem` key. Returns how many
/// messages were queued now.
pub async fn alert_staff(
    tx: &mut PgConnection,
    senders: &Senders,
    property_id: Uuid,
    problem: &str,
    text: &str,
) -> sqlx::Result<usize> {
    // Admins look after every property, with or without rows of their own.
    let staff = sqlx::query!(
        "SELECT s.id, s.phone, s.telegram_user_id FROM staff s
         WHERE s.active AND (s.role = 'admin'
             OR EXISTS (SELECT 1 FROM staff_properties sp WHERE sp.staff_id = s.id AND sp.property_id = $1))",
        property_id
    )
    .fetch_all(&mut *tx)
    .await?;
    if staff.is_empty() {
        tracing::warn!(%property_id, problem, "no staff to alert for this property");
    }
    let no_provider = senders.none_configured();
    let mut queued = 0;
    for member in staff {
        let mut routes = Vec::new();
        if let Some(phone) = &member.phone {
            if senders.whatsapp.is_some() {
                routes.push((Channel::Whatsapp, phone.clone()));
            } else if no_provider {
                routes.push((Channel::Console, phone.clone()));
            }
        }
        if let (Some(user), Some(_)) = (member.telegram_user_id, &senders.telegram) {
            routes.push((Channel::Telegram, user.to_string()));
        }
        for (channel, address) in routes {
            let message = Outgoing {
                channel,
                address,
                purpose: "alert".into(),
                body: format!("⚠️ {text}"),
                template: Some(Template { name: TEMPLATE.into(), params: vec![text.replace('\n', " · ")] }),
                language: "en".into(),
                booking_id: None,
                dedupe_key: Some(format!("alert:{problem}:{}:{channel}", member.id)),
                subject: None,
                html: None,
            };
            if outbox::enqueue(tx, &message).await?.is_some() {
                queued += 1;
            }
        }
    }
    Ok(queued)
}

/// `CheckCodesSet`: shortly before check-in, every live guest code of a
/// confirmed booking should be on its lock; if one is not, staff are told
/// (SPEC §3.8).
pub async fn check_codes_set(ctx: &crate::jobs::JobContext, booking_id: Uuid) -> Result<(), crate::jobs::JobError> {
    // A lock with backup codes gives the guest one of those instead, before
    // check-in only: a code is never swapped under a guest in their stay.
    // A failed swap never holds back the alert below.
    let unset = sqlx::query_scalar!(
        "SELECT c.id FROM access_codes c JOIN bookings b ON b.id = c.booking_id
         WHERE c.booking_id = $1 AND c.kind = 'guest' AND c.state IN ('pending', 'programming', 'failed')
           AND b.status = 'confirmed' AND b.check_in_at > now()",
        booking_id
    )
    .fetch_all(&ctx.db)
    .await?;
    for code_id in unset {
        if let Err(e) = crate::jobs::locks::assign_backup(ctx, code_id).await {
            tracing::warn!(%code_id, error = %e, "giving a guest a backup code");
        }
    }
    let mut tx = ctx.db.begin().await?;
    let row = sqlx::query!(
        r#"SELECT b.external_ref, b.property_id, g.name AS guest, r.name AS room,
               (SELECT string_agg(l.name || ': ' || c.state, ', ') FROM access_codes c JOIN locks l ON l.id = c.lock_id
                  WHERE c.booking_id = b.id AND c.kind = 'guest' AND c.state NOT IN ('set', 'removing', 'removed')) AS "unset?"
           , b.check_in_at
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id
           WHERE b.id = $1 AND b.status = 'confirmed' AND b.check_out_at > now()"#,
        booking_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(());
    };
    if let Some(unset) = row.unset {
        let now = chrono::Utc::now();
        let reminder = now >= row.check_in_at - chrono::Duration::minutes(30);
        let (problem, lead) = match reminder {
            false => (format!("not_set:{booking_id}"), "arrives soon and"),
            true => (format!("not_set_reminder:{booking_id}"), "is arriving now: reminder,"),
        };
        let text = format!(
            "{} ({}, room {}) {lead} a code is not on the lock: {unset}.",
            row.guest, row.external_ref, row.room
        );
        alert_staff(&mut tx, &ctx.senders, row.property_id, &problem, &text).await?;
        if !reminder {
            // Look again at check-in: one reminder if it persists.
            let at = row.check_in_at.max(now + chrono::Duration::minutes(10));
            crate::jobs::queue::enqueue(&mut tx, &crate::jobs::Job::CheckCodesSet { booking_id }, at).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// `HandoffReminder`: staff have not resolved a hand-off yet.
pub async fn remind_handoff(ctx: &crate::jobs::JobContext, handoff_id: Uuid) -> Result<(), crate::jobs::JobError> {
    let mut tx = ctx.db.begin().await?;
    let open = sqlx::query!(
        r#"SELECT h.property_id, g.name AS "guest?" FROM handoffs h LEFT JOIN guests g ON g.id = h.guest_id
           WHERE h.id = $1 AND h.resolved_at IS NULL AND h.expires_at > now()"#,
        handoff_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(open) = open {
        if let Some(property_id) = open.property_id {
            let text = format!(
                "Reminder: {} is still waiting for the team (automatic replies are paused). /resolve when done.",
                open.guest.unwrap_or_else(|| "a guest".into())
            );
            alert_staff(&mut tx, &ctx.senders, property_id, &format!("handoff_reminder:{handoff_id}"), &text).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
