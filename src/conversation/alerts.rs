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
    let staff = sqlx::query!(
        "SELECT s.id, s.phone, s.telegram_user_id FROM staff s
         JOIN staff_properties sp ON sp.staff_id = s.id
         WHERE sp.property_id = $1 AND s.active",
        property_id
    )
    .fetch_all(&mut *tx)
    .await?;
    if staff.is_empty() {
        tracing::warn!(%property_id, problem, "no staff to alert for this property");
    }
    let no_provider = senders.whatsapp.is_none() && senders.telegram.is_none();
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
    let mut tx = ctx.db.begin().await?;
    let row = sqlx::query!(
        r#"SELECT b.external_ref, b.property_id, g.name AS guest, r.name AS room,
               (SELECT string_agg(l.name || ': ' || c.state, ', ') FROM access_codes c JOIN locks l ON l.id = c.lock_id
                  WHERE c.booking_id = b.id AND c.kind = 'guest' AND c.state NOT IN ('set', 'removing', 'removed')) AS "unset?"
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
        let text = format!(
            "{} ({}, room {}) arrives soon and a code is not on the lock: {unset}.",
            row.guest, row.external_ref, row.room
        );
        alert_staff(&mut tx, &ctx.senders, row.property_id, &format!("not_set:{booking_id}"), &text).await?;
    }
    tx.commit().await?;
    Ok(())
}
