//! Telling a property's staff that something needs a person, through the
//! same outbox as every other message. One problem, one alert: the caller
//! names the problem and the dedupe key does the rest. What a guest writes
//! reaches staff at most once per [`GUEST_TEXT_WINDOW`] per guest; what
//! comes in between is folded into the next alert.

use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use super::alert_text::render;
use crate::access::alerts::{BookingRef, StaffAlert};
use crate::access::jobs::{AlertStaff, CheckArrived, CheckCodesSet, CheckGuestReachable};
use crate::access::model::CodeState;
use crate::channels::outbox::{self, Senders};
use crate::channels::{Channel, Outgoing, Template};
use crate::context::JobContext;
use crate::jobs::{queue, Job, JobError, Run};

/// The approved WhatsApp template for staff alerts outside the window.
pub const TEMPLATE: &str = "doorman_staff_alert";
/// The least time between two alerts quoting one guest's messages.
pub const GUEST_TEXT_WINDOW: Duration = Duration::minutes(10);
/// Characters of a guest's message quoted in an alert.
const QUOTE_CHARS: usize = 300;
/// Messages of one guest an alert quotes; older ones are counted.
const QUOTED_MESSAGES: i32 = 5;
/// Characters of the template parameter: Meta refuses long ones (the
/// whole template body is at most 1024).
const PARAM_CHARS: usize = 900;
/// Characters of an alert's text: Telegram and WhatsApp take 4096.
const BODY_CHARS: usize = 3500;

/// What a guest wrote that staff must see, folded into one alert per guest
/// and window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestAlert {
    /// The property whose staff are told.
    pub property_id: Uuid,
    /// The guest.
    pub guest_id: Uuid,
}

impl Job for GuestAlert {
    const KIND: &'static str = "guest_alert";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}:{}", Self::KIND, self.property_id, self.guest_id))
    }
}

impl Run<JobContext> for GuestAlert {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        send_guest_alert(ctx, self.property_id, self.guest_id).await
    }
}

/// A hand-off still open after a while: remind staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffReminder {
    /// The hand-off.
    pub handoff_id: Uuid,
}

impl Job for HandoffReminder {
    const KIND: &'static str = "handoff_reminder";

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", Self::KIND, self.handoff_id))
    }
}

impl Run<JobContext> for HandoffReminder {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        remind_handoff(ctx, self.handoff_id).await
    }
}

impl Run<JobContext> for CheckCodesSet {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        check_codes_set(ctx, self.booking_id).await
    }
}

impl Run<JobContext> for CheckGuestReachable {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        check_guest_reachable(ctx, self.booking_id).await
    }
}

impl Run<JobContext> for CheckArrived {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let mut tx = ctx.db.begin().await?;
        crate::access::arrivals::check_no_show(&mut tx, self.booking_id, chrono::Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Run<JobContext> for AlertStaff {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let mut tx = ctx.db.begin().await?;
        alert_staff(&mut tx, &ctx.senders, self.property_id, &self.alert).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Queues the alert to every active staff member of the property, on each
/// channel they can be reached on, once per problem. Returns how many
/// messages were queued now.
pub async fn alert_staff(
    tx: &mut PgConnection,
    senders: &Senders,
    property_id: Uuid,
    alert: &StaffAlert,
) -> sqlx::Result<usize> {
    let (problem, text) = (alert.problem(), render(alert));
    let (problem, text) = (problem.as_str(), text.as_str());
    // Admins look after every property, with or without rows of their own.
    let staff = sqlx::query!(
        "SELECT s.id, s.phone, s.telegram_user_id FROM staff s
         WHERE s.active AND (s.role = 'admin'
             OR EXISTS (SELECT 1 FROM staff_properties sp WHERE sp.staff_id = s.id AND sp.property_id = $1
                        AND (NOT $2 OR sp.role = 'manager')))",
        property_id,
        alert.managers_only()
    )
    .fetch_all(&mut *tx)
    .await?;
    if staff.is_empty() {
        tracing::warn!(%property_id, problem, "no staff to alert for this property");
    }
    let mut queued = 0;
    for member in staff {
        for (channel, address) in staff_routes(senders, member.phone.as_deref(), member.telegram_user_id) {
            let message = Outgoing {
                channel,
                address,
                purpose: "alert".into(),
                body: format!("⚠️ {}", truncate(text, BODY_CHARS)),
                template: Some(Template { name: TEMPLATE.into(), params: vec![template_param(text)] }),
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

/// Where a staff member can be reached: WhatsApp (or the console when no
/// provider is configured) by phone, Telegram by user id.
fn staff_routes(senders: &Senders, phone: Option<&str>, telegram_user_id: Option<i64>) -> Vec<(Channel, String)> {
    let mut routes = Vec::new();
    if let Some(phone) = phone {
        if senders.whatsapp.is_some() {
            routes.push((Channel::Whatsapp, phone.to_owned()));
        } else if senders.none_configured() {
            routes.push((Channel::Console, phone.to_owned()));
        }
    }
    if let (Some(user), Some(_)) = (telegram_user_id, &senders.telegram) {
        routes.push((Channel::Telegram, user.to_string()));
    }
    routes
}

/// Queues `text` to one active staff member on each channel they can be
/// reached on, once per `key` (e.g. a cleaner's turnover code: their own
/// chat, never a group). Returns how many messages were queued now.
pub async fn message_staff_member(
    tx: &mut PgConnection,
    senders: &Senders,
    staff_id: Uuid,
    text: &str,
    key: &str,
) -> sqlx::Result<usize> {
    let Some(member) = sqlx::query!("SELECT phone, telegram_user_id FROM staff WHERE id = $1 AND active", staff_id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(0);
    };
    let mut queued = 0;
    for (channel, address) in staff_routes(senders, member.phone.as_deref(), member.telegram_user_id) {
        let message = Outgoing {
            channel,
            address,
            purpose: outbox::STAFF_REPLY.into(),
            body: truncate(text, BODY_CHARS),
            template: Some(Template { name: TEMPLATE.into(), params: vec![template_param(text)] }),
            language: "en".into(),
            booking_id: None,
            dedupe_key: Some(format!("{key}:{staff_id}:{channel}")),
            subject: None,
            html: None,
        };
        if outbox::enqueue(tx, &message).await?.is_some() {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Tells staff what a guest wrote (`line` quotes it, see [`quote`]): at
/// once when no such alert went out in the last [`GUEST_TEXT_WINDOW`],
/// otherwise folded into one alert at the end of the window.
pub async fn alert_guest_text(
    tx: &mut PgConnection,
    property_id: Uuid,
    guest_id: Uuid,
    line: &str,
) -> sqlx::Result<()> {
    let last_sent_at = sqlx::query_scalar!(
        "INSERT INTO guest_alerts (property_id, guest_id, pending, pending_count) VALUES ($1, $2, ARRAY[$3::text], 1)
         ON CONFLICT (property_id, guest_id) DO UPDATE SET
             pending = (guest_alerts.pending || $3::text)[greatest(1, cardinality(guest_alerts.pending) + 2 - $4):],
             pending_count = guest_alerts.pending_count + 1
         RETURNING last_sent_at",
        property_id,
        guest_id,
        line,
        QUOTED_MESSAGES,
    )
    .fetch_one(&mut *tx)
    .await?;
    let now = Utc::now();
    let run_at = last_sent_at.map_or(now, |last| (last + GUEST_TEXT_WINDOW).max(now));
    queue::enqueue(tx, &GuestAlert { property_id, guest_id }, run_at).await
}

/// `GuestAlert`: the guest's messages waiting for staff, in one alert.
pub async fn send_guest_alert(ctx: &JobContext, property_id: Uuid, guest_id: Uuid) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    let waiting = sqlx::query!(
        "SELECT pending, pending_count, sent FROM guest_alerts WHERE property_id = $1 AND guest_id = $2 FOR UPDATE",
        property_id,
        guest_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(waiting) = waiting.filter(|w| !w.pending.is_empty()) else {
        return Ok(());
    };
    let text = fold(&waiting.pending, waiting.pending_count);
    let alert = StaffAlert::GuestWrote { property_id, guest_id, batch: waiting.sent, text };
    alert_staff(&mut tx, &ctx.senders, property_id, &alert).await?;
    sqlx::query!(
        "UPDATE guest_alerts SET pending = '{}', pending_count = 0, last_sent_at = now(), sent = sent + 1
         WHERE property_id = $1 AND guest_id = $2",
        property_id,
        guest_id
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A guest's text as an alert quotes it: on one line, at most
/// [`QUOTE_CHARS`] characters.
pub fn quote(text: &str) -> String {
    truncate(&text.split_whitespace().collect::<Vec<_>>().join(" "), QUOTE_CHARS)
}

/// One alert of the waiting lines, the newest last; `count` says how many
/// messages came in, some of which may no longer be quoted.
fn fold(lines: &[String], count: i32) -> String {
    if let ([line], 1) = (lines, count) {
        return line.clone();
    }
    let earlier = usize::try_from(count).unwrap_or(0).saturating_sub(lines.len());
    let mut text = format!("{count} messages for the team since the last alert");
    if earlier > 0 {
        text.push_str(&format!(" ({earlier} earlier ones not repeated)"));
    }
    text.push(':');
    for line in lines {
        text.push_str("\n• ");
        text.push_str(line);
    }
    text
}

/// A WhatsApp template parameter: Meta refuses new lines, tabs and more
/// than four spaces in a row, and long values.
fn template_param(text: &str) -> String {
    let lines: Vec<String> =
        text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|l| !l.is_empty()).collect();
    truncate(&lines.join(" · "), PARAM_CHARS)
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((end, _)) if text.chars().count() > max => format!("{}…", &text[..end]),
        _ => text.to_owned(),
    }
}

/// `CheckCodesSet`: shortly before check-in, every live guest code of a
/// confirmed booking should be on its lock; if one is not, staff are told
/// (SPEC §3.8).
pub async fn check_codes_set(ctx: &JobContext, booking_id: Uuid) -> Result<(), JobError> {
    // A lock with backup codes gives the guest one of those instead, before
    // check-in only: a code is never swapped under a guest in their stay.
    // A failed swap never holds back the alert below.
    let unset = sqlx::query_scalar!(
        "SELECT c.id FROM access_codes c JOIN bookings b ON b.id = c.booking_id
         WHERE c.booking_id = $1 AND c.kind = 'guest' AND c.state = ANY($2)
           AND b.status = 'confirmed' AND b.check_in_at > now()",
        booking_id,
        CodeState::UNSET as &[CodeState]
    )
    .fetch_all(&ctx.db)
    .await?;
    for code_id in unset {
        if let Err(e) = crate::devices::locks::assign_backup(ctx, code_id).await {
            tracing::warn!(%code_id, error = %e, "giving a guest a backup code");
        }
    }
    let mut tx = ctx.db.begin().await?;
    let row = sqlx::query!(
        r#"SELECT b.id, b.external_ref, b.property_id, g.name AS guest, r.name AS room,
               (SELECT string_agg(l.name || ': ' || c.state, ', ') FROM access_codes c JOIN locks l ON l.id = c.lock_id
                  WHERE c.booking_id = b.id AND c.kind = 'guest' AND c.state = ANY($2)) AS "unset?"
           , b.check_in_at
           FROM bookings b JOIN guests g ON g.id = b.guest_id JOIN rooms r ON r.id = b.room_id
           WHERE b.id = $1 AND b.status = 'confirmed' AND b.check_out_at > now()"#,
        booking_id,
        CodeState::UNSET as &[CodeState]
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Ok(());
    };
    if let Some(unset) = row.unset {
        let now = chrono::Utc::now();
        let reminder = now >= row.check_in_at - chrono::Duration::minutes(30);
        let booking = BookingRef { booking_id: row.id, guest: row.guest, reference: row.external_ref, room: row.room };
        let alert = StaffAlert::CodeNotOnLock { booking, unset, reminder };
        alert_staff(&mut tx, &ctx.senders, row.property_id, &alert).await?;
        if !reminder {
            // Look again at check-in: one reminder if it persists.
            let at = row.check_in_at.max(now + chrono::Duration::minutes(10));
            crate::jobs::queue::enqueue(&mut tx, &CheckCodesSet { booking_id }, at).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// `CheckGuestReachable`: 48 hours before check-in, staff are told (once)
/// when the guest has no phone, e-mail or linked chat, to send them the
/// claim link; a guest who became reachable meanwhile is no alert.
pub async fn check_guest_reachable(ctx: &JobContext, booking_id: Uuid) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    if let Some(found) = crate::access::claims::unreachable(&mut tx, booking_id).await? {
        let alert = StaffAlert::GuestUnreachable {
            booking: found.booking,
            property_id: found.property_id,
            check_in_at: found.check_in_at,
            timezone: found.timezone,
        };
        alert_staff(&mut tx, &ctx.senders, found.property_id, &alert).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// `HandoffReminder`: staff have not resolved a hand-off yet.
pub async fn remind_handoff(ctx: &JobContext, handoff_id: Uuid) -> Result<(), JobError> {
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
            let alert = StaffAlert::HandoffReminder { handoff_id, guest: open.guest };
            alert_staff(&mut tx, &ctx.senders, property_id, &alert).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_is_one_line_of_at_most_300_characters() {
        assert_eq!(quote("a\tb\n\nc      d"), "a b c d");
        let long = quote(&"x".repeat(5000));
        assert_eq!(long.chars().count(), QUOTE_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(quote(&"é".repeat(QUOTE_CHARS)), "é".repeat(QUOTE_CHARS), "counted in characters");
    }

    #[test]
    fn template_parameters_have_no_new_lines_tabs_or_runs_of_spaces() {
        let param = template_param("first line\n\tsecond\t\tline     with spaces\n");
        assert_eq!(param, "first line · second line with spaces");
        assert!(template_param(&"word ".repeat(1000)).chars().count() <= PARAM_CHARS);
    }

    #[test]
    fn folded_alerts_count_what_they_no_longer_quote() {
        assert_eq!(fold(&["only".into()], 1), "only");
        let folded = fold(&["four".into(), "five".into()], 5);
        assert_eq!(
            folded,
            "5 messages for the team since the last alert (3 earlier ones not repeated):\n• four\n• five"
        );
    }
}
