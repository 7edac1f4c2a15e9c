//! The pre-arrival message (SPEC §6): the guest's codes and entry
//! instructions `code_release_hours` before check-in, on every channel the
//! guest has, exactly once per channel.

use chrono::Utc;
use sqlx::PgConnection;
use uuid::Uuid;

use super::catalog;
use super::replies::{self, CodeLine};
use crate::access::alerts::{alert_staff, BookingRef, StaffAlert};
use crate::access::arrivals::{self, WrongCodesOutcome};
use crate::access::codes::reveal::{reveal_booking_codes, Audience};
use crate::access::jobs::{BookingConfirmed, DeliverCodes, PreArrival, ResendAfterWrongCodes};
use crate::access::journey::schedule as journey;
use crate::access::journey::PRE_ARRIVAL;
use crate::access::links;
use crate::access::locks::{name_in, LockNames};
use crate::access::model::BookingStatus;
use crate::access::release::{Release, ReleaseTerms};
use crate::access::timezone::Timezone;
use crate::channels::{outbox, Channel, Outgoing, Template};
use crate::context::JobContext;
use crate::jobs::{queue, JobError, Run};

/// The approved WhatsApp template used outside the 24-hour window.
pub const TEMPLATE: &str = "doorman_pre_arrival";

pub(super) struct BookingForMessage {
    pub(super) id: Uuid,
    pub(super) status: BookingStatus,
    pub(super) verified: bool,
    pub(super) requires_verification: bool,
    pub(super) release_hours: i32,
    pub(super) check_in_at: chrono::DateTime<Utc>,
    pub(super) check_out_at: chrono::DateTime<Utc>,
    pub(super) property: String,
    pub(super) timezone: Timezone,
    pub(super) entry_instructions: Option<String>,
    pub(super) room: String,
    pub(super) room_instructions: Option<String>,
    pub(super) guest_id: Uuid,
    pub(super) guest_name: String,
    pub(super) phone: Option<String>,
    /// The Telegram chat linked to this booking, filled after loading.
    pub(super) telegram_chat: Option<String>,
    pub(super) language: String,
    pub(super) email: Option<String>,
    pub(super) external_ref: String,
    pub(super) notify_channels: Vec<String>,
    pub(super) lock_kind: String,
    pub(super) property_id: Uuid,
    pub(super) codes_revoked_at: Option<chrono::DateTime<Utc>>,
    pub(super) wifi_name: Option<String>,
    pub(super) wifi_password: Option<String>,
    pub(super) checkout_instructions: Option<String>,
    /// Texts of the knowledge base in other languages.
    pub(super) knowledge_translations: serde_json::Value,
}

impl BookingForMessage {
    pub(super) fn terms(&self) -> ReleaseTerms {
        ReleaseTerms {
            status: self.status,
            verified: self.verified,
            requires_verification: self.requires_verification,
            check_in_at: self.check_in_at,
            check_out_at: self.check_out_at,
            release_hours: self.release_hours,
        }
    }
}

impl Run<JobContext> for PreArrival {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        send(ctx, self.booking_id).await
    }

    async fn on_dead(&self, _: &JobContext, conn: &mut PgConnection, _: &JobError) -> Result<(), JobError> {
        gave_up(conn, self.booking_id).await
    }
}

impl Run<JobContext> for BookingConfirmed {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        send_confirmation(ctx, self.booking_id).await
    }
}

impl Run<JobContext> for DeliverCodes {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let mut tx = ctx.db.begin().await?;
        deliver_codes(ctx, &mut tx, self.booking_id, &self.key).await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Run<JobContext> for ResendAfterWrongCodes {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        resend_after_wrong_codes(ctx, self).await
    }
}

/// `ResendAfterWrongCodes` (SPEC §12): the guest's codes again, on the
/// channels of the pre-arrival message, under the troubleshooting guide of
/// the lock that refused them, where the release rule lets the guest have
/// them now; staff are told either way.
pub async fn resend_after_wrong_codes(ctx: &JobContext, job: &ResendAfterWrongCodes) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    let Some(booking) = load(&mut tx, job.booking_id).await? else {
        return Ok(());
    };
    let mut outcome = WrongCodesOutcome::NotReleased;
    if booking.terms().at(Utc::now()) == Release::Allowed && booking.codes_revoked_at.is_none() {
        let codes = live_codes(&mut tx, &booking, "code").await?;
        if !codes.is_empty() {
            let guide = wrong_codes_guide(&mut tx, &booking, job.lock_id).await?;
            queue_messages_with(ctx, &mut tx, &booking, codes, "code", "wrong_codes", Some(&guide)).await?;
            outcome = WrongCodesOutcome::CodeResent;
        }
    }
    arrivals::tell_staff_of_wrong_codes(&mut tx, job.booking_id, job.lock_id, job.count, outcome).await?;
    tx.commit().await?;
    Ok(())
}

/// "The code was not accepted at {lock}" and the lock-problem guide, in the
/// guest's language.
async fn wrong_codes_guide(
    tx: &mut PgConnection,
    booking: &BookingForMessage,
    lock_id: Uuid,
) -> Result<String, JobError> {
    let lock = sqlx::query!(
        r#"SELECT name, name_translations AS "names: sqlx::types::Json<LockNames>" FROM locks WHERE id = $1"#,
        lock_id
    )
    .fetch_one(&mut *tx)
    .await?;
    let language = catalog::pick(&[Some(booking.language.as_str())]);
    let name = name_in(&lock.name, &lock.names, language);
    let intro = catalog::text(language, "wrong_codes_resend", &[("lock", name)]);
    Ok(format!("{intro}\n\n{}", catalog::text(language, "lock_problem_guide", &[("locks", name)])))
}

/// `PreArrival`: sends the message when its time has come; waits when the
/// dates moved later; does nothing for a booking that is not confirmed or
/// whose verification is pending (a later upsert schedules it again).
pub async fn send(ctx: &JobContext, booking_id: Uuid) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    let booking = load(&mut tx, booking_id).await?;
    let Some(booking) = booking else {
        return Ok(());
    };
    let now = Utc::now();
    match booking.terms().at(now) {
        Release::Allowed => {}
        Release::NotYet { at } => {
            queue::enqueue(&mut tx, &PreArrival { booking_id }, at).await?;
            tx.commit().await?;
            return Ok(());
        }
        Release::NotConfirmed | Release::AwaitingVerification | Release::Ended => return Ok(()),
    }
    let codes = live_codes(&mut tx, &booking, "pre_arrival").await?;
    if codes.is_empty() {
        if booking.codes_revoked_at.is_some() {
            // Staff revoked them: no code will come by itself (review L4).
            let booking_ref = BookingRef {
                booking_id,
                guest: booking.guest_name.clone(),
                reference: booking.external_ref.clone(),
                room: booking.room.clone(),
            };
            alert_staff(&mut tx, booking.property_id, StaffAlert::CodesRevoked { booking: booking_ref }).await?;
            tx.commit().await?;
            return Ok(());
        }
        return Err(JobError::retry("the booking has no live code yet"));
    }
    queue_messages(ctx, &mut tx, &booking, codes, "pre_arrival", "pre_arrival").await?;
    journey::mark_sent(&mut tx, booking_id, PRE_ARRIVAL, &["scheduled"]).await?;
    tx.commit().await?;
    Ok(())
}

/// The pre-arrival job died (its codes never got issued): staff are told,
/// since the guest would otherwise arrive with nothing (review L4).
pub async fn gave_up(conn: &mut PgConnection, booking_id: Uuid) -> Result<(), JobError> {
    let row = sqlx::query!(
        "SELECT b.external_ref, b.property_id, r.name AS room FROM bookings b JOIN rooms r ON r.id = b.room_id
         WHERE b.id = $1 AND b.status = 'confirmed' AND b.check_out_at > now()",
        booking_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = row {
        let alert = StaffAlert::NoCodeToSend { booking_id, reference: row.external_ref, room: row.room };
        alert_staff(conn, row.property_id, alert).await?;
    }
    Ok(())
}

/// `BookingConfirmed`: a short confirmation by SMS and email (where the
/// property uses them and the guest has them), without the code: the
/// pre-arrival message brings it at release time. Chat channels get the
/// pre-arrival message only (WhatsApp would need another approved template).
pub async fn send_confirmation(ctx: &JobContext, booking_id: Uuid) -> Result<(), JobError> {
    let mut tx = ctx.db.begin().await?;
    let Some(booking) = load(&mut tx, booking_id).await? else {
        return Ok(());
    };
    let now = Utc::now();
    if booking.status != BookingStatus::Confirmed || now >= booking.check_out_at {
        return Ok(());
    }
    let release_at = booking.terms().release_at();
    if release_at <= now {
        // The pre-arrival message, with the code, is on its way already.
        return Ok(());
    }
    let local =
        |at: chrono::DateTime<Utc>| at.with_timezone(&booking.timezone.tz()).format("%-d %b %Y %H:%M").to_string();
    let language = catalog::pick(&[Some(booking.language.as_str())]);
    let (check_in, release) = (local(booking.check_in_at), local(release_at));
    let args = [
        ("property", booking.property.as_str()),
        ("reference", &booking.external_ref),
        ("room", &booking.room),
        ("check_in", &check_in),
        ("release_at", &release),
    ];
    let text = catalog::text(language, "sms_confirmed", &args);
    let subject = catalog::text(language, "email_confirmed_subject", &args);
    for (channel, address) in channels(ctx, &booking) {
        let (subject, html) = match channel {
            Channel::Email => {
                (Some(subject.clone()), Some(format!("<p>{}</p>", text.replace('&', "&amp;").replace('<', "&lt;"))))
            }
            _ => (None, None),
        };
        let outgoing = Outgoing {
            channel,
            address,
            purpose: "booking_confirmed".into(),
            body: text.clone(),
            template: None,
            language: booking.language.clone(),
            booking_id: Some(booking.id),
            dedupe_key: Some(format!("booking_confirmed:{}:{}:{channel}", booking.id, booking.guest_id)),
            subject,
            html,
        };
        if matches!(channel, Channel::Sms | Channel::Email) {
            outbox::enqueue(&mut tx, &outgoing).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Sends a booking's live codes to its guest again (after `/regen`), on the
/// same channels as the pre-arrival message; `key` makes it once.
pub async fn deliver_codes(
    ctx: &JobContext,
    tx: &mut PgConnection,
    booking_id: Uuid,
    key: &str,
) -> Result<(), JobError> {
    let Some(booking) = load(tx, booking_id).await? else {
        return Ok(());
    };
    // The same rule as the pre-arrival message: before the release time or
    // with verification pending, the pre-arrival job sends the new code later.
    if booking.terms().at(Utc::now()) != Release::Allowed {
        return Ok(());
    }
    let codes = live_codes(tx, &booking, "code").await?;
    if !codes.is_empty() {
        queue_messages(ctx, tx, &booking, codes, "code", key).await?;
    }
    Ok(())
}

async fn queue_messages(
    ctx: &JobContext,
    tx: &mut PgConnection,
    booking: &BookingForMessage,
    codes: Vec<CodeLine>,
    purpose: &str,
    key: &str,
) -> Result<(), JobError> {
    queue_messages_with(ctx, tx, booking, codes, purpose, key, None).await
}

/// The code message on every channel of the guest, once per `key`, with
/// `lead` (e.g. a troubleshooting guide) above it when given.
async fn queue_messages_with(
    ctx: &JobContext,
    tx: &mut PgConnection,
    booking: &BookingForMessage,
    codes: Vec<CodeLine>,
    purpose: &str,
    key: &str,
    lead: Option<&str>,
) -> Result<(), JobError> {
    // The guest's language wins, then the text as stored (SPEC §11).
    let entry_instructions = booking
        .room_instructions
        .clone()
        .or_else(|| super::journey::translated(booking, "entry_instructions", &booking.language));
    // The operator's own words, when they wrote the pre-arrival rule's texts.
    let own = super::journey::own_pre_arrival(tx, booking).await?;
    for (channel, address) in channels(ctx, booking) {
        // The deep link's token is minted when the message is sent, never
        // stored in clear (security review M8).
        let telegram_link = match (channel, &ctx.senders.telegram) {
            (Channel::Whatsapp, Some(telegram))
                if booking.telegram_chat.is_none() && telegram.bot_username.is_some() =>
            {
                Some(outbox::TELEGRAM_LINK.to_owned())
            }
            _ => None,
        };
        let message = replies::PreArrival {
            first_name: booking.guest_name.split_whitespace().next().unwrap_or("there"),
            property: &booking.property,
            room: &booking.room,
            check_in_at: booking.check_in_at,
            check_out_at: booking.check_out_at,
            timezone: booking.timezone,
            codes: codes.clone(),
            entry_instructions: entry_instructions.as_deref(),
            telegram_link,
            language: catalog::pick(&[Some(booking.language.as_str())]),
        };
        let (body, subject, html) = match &own {
            Some((segments, language)) => own_content(booking, &message, segments, language, channel),
            None => content(booking, &message, channel),
        };
        let (body, html) = match lead {
            Some(lead) => with_lead(lead, body, html),
            None => (body, html),
        };
        let outgoing = Outgoing {
            channel,
            address,
            purpose: purpose.into(),
            body,
            template: Some(Template { name: TEMPLATE.into(), params: message.template_params() }),
            language: booking.language.clone(),
            booking_id: Some(booking.id),
            // Per recipient: a corrected guest gets the message too.
            dedupe_key: Some(format!("{key}:{}:{}:{channel}", booking.id, booking.guest_id)),
            subject,
            html,
        };
        outbox::enqueue(tx, &outgoing).await?;
    }
    Ok(())
}

/// `lead` above a message's text, and above its HTML's body (escaped).
fn with_lead(lead: &str, body: String, html: Option<String>) -> (String, Option<String>) {
    let escaped = lead.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('\n', "<br>");
    let html = html.map(|html| {
        let paragraph = format!("<p>{escaped}</p>");
        match html.find("<body").and_then(|at| html[at..].find('>').map(|end| at + end + 1)) {
            Some(at) => format!("{}{paragraph}{}", &html[..at], &html[at..]),
            None => format!("{paragraph}{html}"),
        }
    });
    (format!("{lead}\n\n{body}"), html)
}

/// Every channel the property uses and the guest can be reached on:
/// WhatsApp and SMS with a phone, Telegram with a linked chat, email with an
/// address; a channel without credentials is off. The console stands in
/// when no provider is configured at all (the demo).
pub(super) fn channels(ctx: &JobContext, booking: &BookingForMessage) -> Vec<(Channel, String)> {
    let wanted = |channel: Channel| booking.notify_channels.iter().any(|c| c == channel.as_str());
    let mut channels = Vec::new();
    if ctx.senders.none_configured() {
        if let Some(phone) = &booking.phone {
            channels.push((Channel::Console, phone.clone()));
        }
        return channels;
    }
    let candidates = [
        (Channel::Whatsapp, ctx.senders.whatsapp.is_some(), booking.phone.clone()),
        (Channel::Telegram, ctx.senders.telegram.is_some(), booking.telegram_chat.clone()),
        (Channel::Sms, ctx.senders.sms.is_some(), booking.phone.clone()),
        (Channel::Email, ctx.senders.email.is_some(), booking.email.clone()),
    ];
    for (channel, configured, address) in candidates {
        match (wanted(channel), configured, address) {
            (true, true, Some(address)) => channels.push((channel, address)),
            (true, true, None) => {
                tracing::info!(booking = %booking.external_ref, %channel, "skipped: the guest has no contact for this channel");
            }
            _ => {}
        }
    }
    if channels.is_empty() {
        tracing::warn!(booking_id = %booking.id, "no channel reaches this guest: message not sent");
    }
    channels
}

/// The code message in the operator's words for one channel, with the
/// Telegram link the built-in message would carry.
fn own_content(
    booking: &BookingForMessage,
    message: &replies::PreArrival<'_>,
    segments: &[crate::access::journey::template::Segment],
    language: &str,
    channel: Channel,
) -> (String, Option<String>, Option<String>) {
    let values = super::journey::values_with(booking, language, &message.codes, true);
    let (mut body, subject, html) = super::journey::rendered(booking, segments, &values, channel);
    if let Some(link) = &message.telegram_link {
        body.push_str("\n\n");
        body.push_str(&catalog::text(message.language, "pre_arrival_telegram", &[("link", link)]));
    }
    (body, subject, html)
}

/// The code message for one channel: rich text for chat, a compact line for
/// SMS, an HTML email with a text part.
fn content(
    booking: &BookingForMessage,
    message: &replies::PreArrival<'_>,
    channel: Channel,
) -> (String, Option<String>, Option<String>) {
    let local =
        |at: chrono::DateTime<Utc>| at.with_timezone(&booking.timezone.tz()).format("%-d %b %Y %H:%M").to_string();
    let language = catalog::pick(&[Some(booking.language.as_str())]);
    let t = |key: &str, args: &[(&str, &str)]| catalog::text(language, key, args);
    let codes: Vec<(String, String)> = message.grouped_codes();
    let (check_in, check_out) = (local(booking.check_in_at), local(booking.check_out_at));
    match channel {
        Channel::Sms => {
            let list = codes.iter().map(|(code, locks)| format!("{code} ({locks})")).collect::<Vec<_>>().join("; ");
            let args = [
                ("property", booking.property.as_str()),
                ("reference", &booking.external_ref),
                ("room", &booking.room),
                ("codes", &list),
                ("check_in", &check_in),
            ];
            (t("sms_code", &args), None, None)
        }
        Channel::Email => {
            let room_line = t("email_room", &[("room", &booking.room), ("reference", &booking.external_ref)]);
            let labels = [
                ("your_code", t("email_your_code", &[])),
                ("room_line", room_line),
                ("valid_line", t("email_valid", &[("from", &check_in), ("until", &check_out)])),
                ("how_to", t("email_how_to_label", &[])),
                ("get_in", t("email_get_in_label", &[])),
                ("help", t("email_help", &[])),
            ];
            let how_to_key = match booking.lock_kind.as_str() {
                "smart_lock" => "email_how_to_smart_lock",
                "key_card" => "email_how_to_key_card",
                _ => "email_how_to_pin_pad",
            };
            let email = crate::channels::email::CodeEmail {
                subject: t("email_subject", &[("property", &booking.property), ("room", &booking.room)]),
                greeting: t("email_greeting", &[("name", message.first_name)]),
                property: booking.property.clone(),
                room: booking.room.clone(),
                reference: booking.external_ref.clone(),
                codes,
                valid_from: check_in.clone(),
                valid_until: check_out.clone(),
                how_to: t(how_to_key, &[]),
                instructions: message.entry_instructions.map(str::to_owned),
                labels: labels.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            };
            match crate::channels::email::render(&email) {
                Ok((text, html)) => (text, Some(email.subject), Some(html)),
                Err(e) => {
                    tracing::error!(error = %e, "rendering the code email");
                    (message.body(), Some(email.subject), None)
                }
            }
        }
        _ => (message.body(), None, None),
    }
}

pub(super) async fn load(tx: &mut PgConnection, booking_id: Uuid) -> Result<Option<BookingForMessage>, JobError> {
    let booking = sqlx::query_as!(
        BookingForMessage,
        r#"SELECT b.id, b.status AS "status: BookingStatus", b.verified, p.requires_verification,
               p.code_release_hours AS release_hours, b.check_in_at, b.check_out_at, p.name AS property,
               p.timezone AS "timezone: Timezone", p.entry_instructions, r.name AS room,
               r.entry_instructions AS room_instructions, g.id AS guest_id, g.name AS guest_name, g.phone,
               NULL::text AS telegram_chat, g.language, b.guest_email AS email, b.external_ref, p.notify_channels,
               COALESCE((SELECT kind FROM locks WHERE room_id = b.room_id ORDER BY name LIMIT 1), 'pin_pad') AS "lock_kind!",
               b.property_id, b.codes_revoked_at, p.wifi_name, p.wifi_password, p.checkout_instructions,
               p.knowledge_translations
           FROM bookings b
           JOIN properties p ON p.id = b.property_id
           JOIN rooms r ON r.id = b.room_id
           JOIN guests g ON g.id = b.guest_id
           WHERE b.id = $1"#,
        booking_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut booking) = booking else {
        return Ok(None);
    };
    // Only a chat linked to this very booking (security review H1).
    booking.telegram_chat = links::telegram_chat_of(tx, booking_id).await?;
    if booking.phone.is_none() {
        // A guest with no phone on file who claimed the stay from a number.
        booking.phone = links::claimed_phone_of(tx, booking_id).await?;
    }
    Ok(Some(booking))
}

/// The booking's working codes, for a message to its guest: each one
/// audited as revealed.
pub(super) async fn live_codes(
    tx: &mut PgConnection,
    booking: &BookingForMessage,
    purpose: &str,
) -> crate::access::AccessResult<Vec<CodeLine>> {
    let audience = Audience::Message(purpose);
    let codes = reveal_booking_codes(tx, booking.property_id, booking.id, audience).await?;
    let language = booking.language.as_str();
    Ok(codes.iter().map(|c| CodeLine { lock: c.lock_in(language).to_owned(), code: c.code.clone() }).collect())
}
