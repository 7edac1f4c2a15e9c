//! The guest conversation (SPEC §4): who is writing, what they want (the
//! router, then optionally the LLM), and the answer, in their language.
//! Whether a code is released is decided here, by the core's rules alone.

pub mod alert_text;
pub mod alerts;
pub mod catalog;
pub mod claims;
pub mod commands;
pub mod context;
mod departure;
pub mod guest;
pub mod handoffs;
pub mod identity;
pub mod inbound;
pub mod journey;
pub mod llm;
pub mod model;
pub mod pre_arrival;
pub mod replies;
pub mod router;
pub mod staff;
mod stay_change;
pub mod turnovers;
mod windows;

use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::PgConnection;

use self::alerts::HandoffReminder;
use self::catalog::text;
use self::guest::{BookingContext, GuestContext};
use self::inbound::{LlmFallback, StaffCommand};
use self::router::Intent;
use crate::access::alerts::{BookingRef, StaffAlert, StayTimes};
use crate::access::audit::{self, Actor, Subject};
use crate::access::codes::reveal::{reveal_booking_codes, Audience};
use crate::access::locks::{name_in, LockNames};
use crate::access::model::{BookingStatus, CodeState};
use crate::access::release::Release;
use crate::access::windows::StayEdge;
use crate::channels::{outbox, Channel, Content, InboundMessage, Outgoing};
use crate::context::JobContext;
use crate::jobs::{queue, JobError};

/// When staff are reminded of a hand-off they have not resolved.
const HANDOFF_REMINDER: Duration = Duration::hours(1);
/// A second lock problem within this time is escalated to staff.
const ESCALATE_WITHIN: Duration = Duration::hours(2);
/// Words that ask for the code again after a lock problem.
const RESEND_WORDS: [&str; 11] = [
    "resend",
    "nochmal",
    "renvoyer",
    "reenviar",
    "reinvia",
    "znova",
    "znovu",
    "ponownie",
    "opnieuw",
    "tuma tena",
    "send again",
];

/// The replies to a message, queued by the caller in the same transaction.
pub async fn respond(
    ctx: &JobContext,
    tx: &mut PgConnection,
    update_id: i64,
    message: &InboundMessage,
) -> Result<Vec<Outgoing>, JobError> {
    // Slash commands from staff; from anyone else they are just text, and
    // get the answer a guest gets to something unknown.
    if let Some(command) = message.content.text().filter(|t| t.trim_start().starts_with('/')) {
        let bot = ctx.senders.telegram.as_ref().and_then(|t| t.bot_username.as_deref());
        if !commands::is_addressed_to_us(command, bot) {
            count(message, "other_bot");
            return Ok(Vec::new());
        }
        if let Some(member) = staff::identify(tx, message).await? {
            count(message, "staff_command");
            if staff::asks_the_locks(command) {
                queue::enqueue(tx, &StaffCommand { update_id }, Utc::now()).await?;
                return Ok(Vec::new());
            }
            let answer = staff::run(ctx, tx, &member, command).await?;
            return Ok(vec![staff_reply(message, answer)]);
        }
    }
    if message.group {
        // Everyone in a group would read the answer: nothing about any stay.
        count(message, "group_chat");
        return Ok(vec![identity::private_chat_only(message)]);
    }
    let guest = guest::identify(tx, message).await?;
    let Some(body) = message.content.text() else {
        count(message, "not_text");
        let language = catalog::pick(&[guest.as_ref().map(|g| g.language.as_str())]);
        return Ok(match message.content {
            Content::Unsupported { .. } => vec![reply(message, text(language, "unsupported", &[]))],
            _ => Vec::new(),
        });
    };
    if !has_a_stay_ahead(guest.as_ref()) {
        // A guest with no phone on file claiming the stay (SPEC §9), also
        // from a number known only from past stays; a wrong claim goes on
        // below and gets what it would have got anyway.
        if let Some(answer) = claims::answer(tx, message, body).await? {
            count(message, if answer.is_empty() { "claim_silenced" } else { "claim" });
            return Ok(answer);
        }
    }
    if let Some(guest) = &guest {
        if forward_if_handed_off(tx, message, guest, body).await? {
            count(message, "handed_off");
            return Ok(Vec::new());
        }
        // The answer to "have you left for good?" (SPEC §11).
        if let Some(answer) = departure::answer_pending(tx, message, guest, body).await? {
            count(message, "departure");
            return Ok(answer);
        }
    }
    let previous = context::previous_intent(tx, message).await?;
    let classification = router::classify_after(body, previous);
    // A command's words ("/revoke room 101") are no language: a stranger's
    // command is answered as any unknown text would be, not in whatever
    // language the words happen to look like.
    let said = classification.language.filter(|_| !body.trim_start().starts_with('/'));
    let language = catalog::pick(&[said, guest.as_ref().map(|g| g.language.as_str())]);
    let intent = read_intent(tx, guest.as_ref(), body, classification.intent).await?;
    // Strangers never reach the model: they get the one fixed answer anyway
    // (and so does a guest without a booking).
    let booked = guest.as_ref().is_some_and(|g| g.booking.is_some());
    if intent == Intent::Unknown && classification.unsure && ctx.llm.is_some() && booked {
        count(message, "llm_fallback");
        // The model is asked outside this transaction; it answers later.
        queue::enqueue(tx, &LlmFallback { update_id }, Utc::now()).await?;
        return Ok(Vec::new());
    }
    count(message, intent.as_str());
    context::remember(tx, message, intent).await?;
    let conversation = Conversation { ctx, message, guest: guest.as_ref(), language, previous };
    conversation.answer(tx, intent, body).await
}

/// The router's intent, but "resend" alone asks for the code again, and
/// right after a lock problem a message the model leaves `unknown` that
/// reads as one is one.
async fn read_intent(
    tx: &mut PgConnection,
    guest: Option<&GuestContext>,
    body: &str,
    routed: Intent,
) -> Result<Intent, JobError> {
    let folded = model::fold(body);
    if RESEND_WORDS.iter().any(|w| folded.trim() == *w) {
        return Ok(Intent::Access);
    }
    // "Could we arrive early?" left unsure: a request for staff, never a
    // question for the model (SPEC §11).
    match stay_change::asks_to_move(routed, body) {
        Some(StayEdge::CheckIn) if routed == Intent::Unknown => return Ok(Intent::CheckinTime),
        Some(StayEdge::CheckOut) if routed == Intent::Unknown => return Ok(Intent::Checkout),
        _ => {}
    }
    // "We have left": a departure to confirm, never a question for the model.
    if departure::says_left(body) {
        return Ok(Intent::Checkout);
    }
    if routed == Intent::Unknown {
        if let Some(booking) = guest.and_then(|g| g.booking.as_ref()) {
            if follows_a_lock_problem(tx, booking.id, body).await? {
                return Ok(Intent::LockProblem);
            }
        }
    }
    Ok(routed)
}

/// Whether the sender is the guest of a stay not cancelled whose check-out
/// is ahead: they have nothing to claim.
fn has_a_stay_ahead(guest: Option<&GuestContext>) -> bool {
    let booking = guest.and_then(|g| g.booking.as_ref());
    booking.is_some_and(|b| b.status != BookingStatus::Cancelled && b.check_out_at > Utc::now())
}

/// "Still not working": on its own a message the model leaves `unknown`
/// (the heating does not work either), but right after the guest reported
/// a lock problem it is about the lock, when its words read so
/// ([`router::reads_as_lock_problem`]).
async fn follows_a_lock_problem(tx: &mut PgConnection, booking_id: uuid::Uuid, body: &str) -> Result<bool, JobError> {
    if !router::reads_as_lock_problem(body) {
        return Ok(false);
    }
    let recent = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM audit_events WHERE booking_id = $1 AND action = 'guest.lock_problem'
                          AND occurred_at > now() - make_interval(secs => $2)) AS "recent!""#,
        booking_id,
        ESCALATE_WITHIN.num_seconds() as f64
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(recent)
}

/// `doorman_inbound_messages_total`: messages answered, by channel and by
/// what they were taken for (an intent, `staff_command`, `llm_fallback`,
/// `handed_off`, `not_text`, `other_bot`, `claim`, `claim_silenced`). A job retried after a failure counts again.
fn count(message: &InboundMessage, intent: &'static str) {
    metrics::counter!("doorman_inbound_messages_total", "channel" => message.channel.as_str(), "intent" => intent)
        .increment(1);
}

/// One message being answered.
pub struct Conversation<'a> {
    ctx: &'a JobContext,
    message: &'a InboundMessage,
    guest: Option<&'a GuestContext>,
    language: &'a str,
    /// What the bot answered this chat last, within [`context::CONTEXT_WITHIN`].
    previous: Option<Intent>,
}

impl<'a> Conversation<'a> {
    /// A conversation about `message`.
    pub fn new(
        ctx: &'a JobContext,
        message: &'a InboundMessage,
        guest: Option<&'a GuestContext>,
        language: &'a str,
    ) -> Self {
        Self { ctx, message, guest, language, previous: None }
    }

    /// The same conversation, right after the bot answered `previous`.
    pub fn after(self, previous: Option<Intent>) -> Self {
        Self { previous, ..self }
    }

    /// A stranger learns nothing about bookings, rooms or guests, and gets
    /// the same answer whether the router was sure or not.
    fn to_stranger(&self, intent: Intent) -> Outgoing {
        let key = match intent {
            Intent::Access | Intent::LockProblem | Intent::Unknown => "access_unknown_sender",
            _ => "greeting_stranger",
        };
        self.reply(text(self.language, key, &[]))
    }

    /// The replies to an intent.
    pub async fn answer(&self, tx: &mut PgConnection, intent: Intent, body: &str) -> Result<Vec<Outgoing>, JobError> {
        let say = |key: &str, args: &[(&str, &str)]| text(self.language, key, args);
        let Some(guest) = self.guest else { return Ok(vec![self.to_stranger(intent)]) };
        // The property's texts in the language of the answer.
        let localized = guest.booking.as_ref().map(|b| b.in_language(self.language));
        let booking = localized.as_ref();
        let now = Utc::now();
        if let Some(b) = booking.filter(|b| departure::in_last_days(b, now) && departure::says_left(body)) {
            let question = departure::ask(tx, b, self.language).await?;
            return Ok(vec![self.reply(question)]);
        }
        if let Some(b) = booking.filter(|b| b.status != BookingStatus::Cancelled && b.check_out_at > now) {
            if let Some(edge) = stay_change::asks_to_move(intent, body) {
                return self.ask_team_to_move(tx, guest, b, edge, body).await;
            }
        }
        let replies = match (intent, booking) {
            (Intent::Greeting, _) => vec![self.greeting(guest, booking)],
            (Intent::Access, Some(b)) => {
                let (lines, revealed) = self.access(tx, guest, b).await?;
                if revealed {
                    // A message carrying a code: its delivery is audited.
                    let body = lines.join("\n");
                    return Ok(vec![Outgoing { purpose: "code".into(), booking_id: Some(b.id), ..self.reply(body) }]);
                }
                lines
            }
            (Intent::LockProblem, Some(b)) => self.lock_problem(tx, guest, b).await?,
            (Intent::CheckinTime, Some(b)) => vec![say(
                "checkin_time",
                &[("time", &b.check_in_time.format("%H:%M").to_string()), ("date", &b.local_date(b.check_in_at))],
            )],
            (Intent::Checkout, Some(b)) => {
                let mut lines = vec![say(
                    "checkout_time",
                    &[("time", &b.check_out_time.format("%H:%M").to_string()), ("date", &b.local_date(b.check_out_at))],
                )];
                // Instructions often hold a key-safe code: the stay's window only.
                match &b.checkout_instructions {
                    Some(instructions) if b.is_current(now) => {
                        lines.push(say("checkout_instructions", &[("instructions", instructions)]));
                    }
                    _ => {}
                }
                return Ok(vec![self.knowledge(lines.join("\n"))]);
            }
            (Intent::Wifi, Some(b)) => match (&b.wifi_name, &b.wifi_password, b.in_stay(now)) {
                (_, _, false) => vec![say("wifi_not_current", &[])],
                (Some(name), Some(password), true) => {
                    return Ok(vec![self.knowledge(say("wifi", &[("name", name), ("password", password)]))]);
                }
                _ => self.missing(tx, b, "wifi", "wifi_missing").await?,
            },
            // The street address is public; the directions, like parking (a
            // garage gate code), are for the guest of the stay.
            (Intent::Directions, Some(b)) => match &b.directions {
                Some(directions) if b.is_current(now) => {
                    let text = say("directions", &[("address", &b.address), ("directions", directions)]);
                    return Ok(vec![self.knowledge(text)]);
                }
                _ if !b.address.is_empty() => vec![say("directions", &[("address", &b.address), ("directions", "")])],
                Some(_) => vec![say("knowledge_not_current", &[])],
                None => self.missing(tx, b, "directions", "missing_answer").await?,
            },
            (Intent::Parking, Some(b)) => match &b.parking {
                Some(_) if !b.is_current(now) => vec![say("knowledge_not_current", &[])],
                Some(parking) => return Ok(vec![self.knowledge(say("parking", &[("parking", parking)]))]),
                None => self.missing(tx, b, "parking", "missing_answer").await?,
            },
            (Intent::Human, Some(b)) => self.hand_off(tx, guest, b, body, "asked for a person").await?,
            (Intent::Unknown, Some(b)) => {
                self.hand_off_quietly(tx, guest, b, body).await?;
                vec![say("unknown", &[])]
            }
            (_, None) => vec![say("access_unknown_sender", &[])],
        };
        Ok(replies.into_iter().map(|body| self.reply(body)).collect())
    }

    /// Hello and what to ask; "it worked, thanks" right after a lock guide
    /// closes the problem instead.
    fn greeting(&self, guest: &GuestContext, booking: Option<&BookingContext>) -> String {
        if booking.is_some() && self.previous == Some(Intent::LockProblem) {
            return text(self.language, "lock_problem_solved", &[]);
        }
        let name = format!(" {}", guest.first_name());
        text(self.language, "greeting", &[("name", &name), ("property", booking.map_or("", |b| b.property.as_str()))])
    }

    /// SPEC §4 `access`: the code only to the guest of a confirmed booking,
    /// from `code_release_hours` before check-in until check-out, and not
    /// while verification is pending. Every reveal is audited.
    async fn access(
        &self,
        tx: &mut PgConnection,
        guest: &GuestContext,
        b: &BookingContext,
    ) -> Result<(Vec<String>, bool), JobError> {
        let say = |key: &str, args: &[(&str, &str)]| text(self.language, key, args);
        let key = match b.release(Utc::now()) {
            Release::Allowed => None,
            Release::NotConfirmed if b.status == BookingStatus::Pending => Some("access_verification"),
            Release::NotConfirmed => Some("access_unknown_sender"),
            Release::Ended => {
                return Ok((vec![say("access_ended", &[("check_out", &b.local(b.check_out_at))])], false));
            }
            Release::AwaitingVerification => Some("access_verification"),
            Release::NotYet { at } => {
                let hours = b.release_hours.to_string();
                let args = [("release_at", b.local(at)), ("hours", hours), ("check_in", b.local(b.check_in_at))];
                let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
                return Ok((vec![say("access_not_yet", &args)], false));
            }
        };
        if let Some(key) = key {
            return Ok((vec![say(key, &[])], false));
        }
        let audience = Audience::Guest { guest_id: guest.guest_id, channel: self.message.channel.as_str() };
        let codes = reveal_booking_codes(tx, b.property_id, b.id, audience).await?;
        if codes.is_empty() {
            let alert = StaffAlert::AskedWithoutCode { booking: booking_ref(guest, b) };
            alerts::alert_staff(tx, &self.ctx.senders, b.property_id, &alert).await?;
            return Ok((vec![say("access_no_code", &[])], false));
        }
        let mut lines = vec![say("access_codes", &[("name", guest.first_name())])];
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for code in &codes {
            match groups.iter_mut().find(|(v, _)| *v == code.code) {
                Some((_, locks)) => locks.push(code.lock_in(self.language).to_owned()),
                None => groups.push((code.code.clone(), vec![code.lock_in(self.language).to_owned()])),
            }
        }
        for (value, locks) in groups {
            lines.push(say("access_shared_code", &[("code", &value), ("locks", &locks.join(", "))]));
        }
        if let Some(instructions) = &b.entry_instructions {
            lines.push(say("access_instructions", &[("instructions", instructions)]));
        }
        Ok((lines, true))
    }

    /// SPEC §4 `lock_problem`: a guide, the code's state on the lock, an
    /// offer to resend; a second report is escalated to staff.
    async fn lock_problem(
        &self,
        tx: &mut PgConnection,
        guest: &GuestContext,
        b: &BookingContext,
    ) -> Result<Vec<String>, JobError> {
        let say = |key: &str, args: &[(&str, &str)]| text(self.language, key, args);
        let states = sqlx::query!(
            r#"SELECT l.name AS lock, l.name_translations AS "lock_names: sqlx::types::Json<LockNames>", c.state
               FROM access_codes c JOIN locks l ON l.id = c.lock_id
               WHERE c.booking_id = $1 AND c.kind = 'guest' AND c.state = ANY($2)
               ORDER BY l.room_id IS NOT NULL, l.name"#,
            b.id,
            CodeState::LIVE as &[CodeState]
        )
        .fetch_all(&mut *tx)
        .await?;
        let recent = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM audit_events
               WHERE booking_id = $1 AND action = 'guest.lock_problem' AND occurred_at > now() - make_interval(secs => $2)"#,
            b.id,
            ESCALATE_WITHIN.num_seconds() as f64
        )
        .fetch_one(&mut *tx)
        .await?;
        let subject = Subject { property_id: Some(b.property_id), booking_id: Some(b.id), ..Default::default() };
        audit::record(&mut *tx, Actor::Guest(guest.guest_id), "guest.lock_problem", subject, json!({})).await?;
        let report = |escalation| StaffAlert::LockProblem {
            booking: booking_ref(guest, b),
            stay: StayTimes { check_in_at: b.check_in_at, check_out_at: b.check_out_at, timezone: b.timezone },
            codes: states.iter().map(|s| (s.lock.clone(), s.state.clone())).collect(),
            escalation,
        };
        if recent > 0 {
            alerts::alert_staff(tx, &self.ctx.senders, b.property_id, &report(Some(recent))).await?;
            return Ok(vec![say("lock_problem_escalated", &[])]);
        }
        let locks: Vec<&str> = states.iter().map(|s| name_in(&s.lock, &s.lock_names, self.language)).collect();
        let mut lines = vec![say("lock_problem_guide", &[("locks", &locks.join(", "))])];
        if !states.is_empty() && states.iter().all(|s| s.state == "set") {
            lines.push(say("lock_problem_code_ok", &[]));
        } else {
            alerts::alert_staff(tx, &self.ctx.senders, b.property_id, &report(None)).await?;
            lines.push(say("lock_problem_code_not_set", &[]));
        }
        Ok(vec![lines.join("\n\n")])
    }

    /// "Can we leave later?": the managers get the request and the command
    /// that approves it; the guest is told the team was asked. Nothing moves.
    async fn ask_team_to_move(
        &self,
        tx: &mut PgConnection,
        guest: &GuestContext,
        b: &BookingContext,
        edge: StayEdge,
        body: &str,
    ) -> Result<Vec<Outgoing>, JobError> {
        let (current, name) = match edge {
            StayEdge::CheckIn => (b.check_in_at, "check_in"),
            StayEdge::CheckOut => (b.check_out_at, "check_out"),
        };
        let named = stay_change::time_named(body);
        let alert = StaffAlert::StayChangeRequested {
            booking: booking_ref(guest, b),
            stay: StayTimes { check_in_at: b.check_in_at, check_out_at: b.check_out_at, timezone: b.timezone },
            edge: name.to_owned(),
            command: stay_change::approving_command(edge, &b.room, current, b.timezone, named),
            wrote: body.to_owned(),
        };
        alerts::alert_staff(tx, &self.ctx.senders, b.property_id, &alert).await?;
        Ok(vec![self.reply(text(self.language, "early_late_asked", &[]))])
    }

    async fn missing(
        &self,
        tx: &mut PgConnection,
        b: &BookingContext,
        topic: &str,
        key: &str,
    ) -> Result<Vec<String>, JobError> {
        let alert =
            StaffAlert::KnowledgeMissing { booking_id: b.id, property: b.property.clone(), topic: topic.to_owned() };
        alerts::alert_staff(tx, &self.ctx.senders, b.property_id, &alert).await?;
        Ok(vec![text(self.language, key, &[])])
    }

    /// SPEC §4 `human`: staff get the recent conversation; automatic
    /// replies pause for this chat until staff resolve it.
    async fn hand_off(
        &self,
        tx: &mut PgConnection,
        guest: &GuestContext,
        b: &BookingContext,
        body: &str,
        reason: &str,
    ) -> Result<Vec<String>, JobError> {
        let opened = handoffs::open(tx, self.message, guest.guest_id, b.property_id, reason).await?;
        let mut recent = recent_messages(tx, self.message).await?;
        if recent.is_empty() {
            recent.push(body.to_owned());
        }
        let alert = StaffAlert::Handoff {
            handoff_id: opened,
            booking: booking_ref(guest, b),
            reason: reason.to_owned(),
            channel: self.message.channel.to_string(),
            recent,
        };
        alerts::alert_staff(tx, &self.ctx.senders, b.property_id, &alert).await?;
        if let Some(handoff_id) = opened {
            queue::enqueue(tx, &HandoffReminder { handoff_id }, Utc::now() + HANDOFF_REMINDER).await?;
        }
        Ok(vec![text(self.language, "human", &[])])
    }

    /// `unknown` without the LLM: staff are told; replies do not pause.
    async fn hand_off_quietly(
        &self,
        tx: &mut PgConnection,
        guest: &GuestContext,
        b: &BookingContext,
        body: &str,
    ) -> Result<(), JobError> {
        let alert = format!(
            "{} ({}, room {}) wrote something doorman could not answer: \"{}\"",
            guest.name,
            b.external_ref,
            b.room,
            alerts::quote(body)
        );
        alerts::alert_guest_text(tx, b.property_id, guest.guest_id, &alert).await?;
        Ok(())
    }

    fn reply(&self, body: String) -> Outgoing {
        Outgoing { language: self.language.to_owned(), ..reply(self.message, body) }
    }

    /// A reply from the knowledge base that may hold a secret (wifi
    /// password, gate code): its text is cleared from the log once delivered.
    fn knowledge(&self, body: String) -> Outgoing {
        Outgoing { purpose: outbox::KNOWLEDGE.into(), ..self.reply(body) }
    }
}

/// The booking an alert is about.
fn booking_ref(guest: &GuestContext, b: &BookingContext) -> BookingRef {
    BookingRef { booking_id: b.id, guest: guest.name.clone(), reference: b.external_ref.clone(), room: b.room.clone() }
}

/// A reply to a staff member: on Telegram to their private chat, never to a
/// group the command was typed in.
pub fn staff_reply(message: &InboundMessage, body: String) -> Outgoing {
    // Staff replies show full codes (/code show, /issue, /mycode): cleared
    // from the log once delivered.
    let mut answer = Outgoing { purpose: outbox::STAFF_REPLY.into(), ..reply(message, body) };
    if let (Channel::Telegram, Some(user)) = (message.channel, &message.user_id) {
        answer.address = user.clone();
    }
    answer
}

/// While a hand-off is open, the guest's messages go to staff, not to the
/// bot. Returns whether the message was forwarded.
async fn forward_if_handed_off(
    tx: &mut PgConnection,
    message: &InboundMessage,
    guest: &GuestContext,
    body: &str,
) -> Result<bool, JobError> {
    let Some(property_id) = handoffs::open_for(tx, message).await? else {
        return Ok(false);
    };
    if let Some(property_id) = property_id {
        let alert = format!("{} (waiting for the team): \"{}\"", guest.name, alerts::quote(body));
        alerts::alert_guest_text(tx, property_id, guest.guest_id, &alert).await?;
    }
    Ok(true)
}

async fn recent_messages(tx: &mut PgConnection, message: &InboundMessage) -> sqlx::Result<Vec<String>> {
    let mut rows = sqlx::query_scalar!(
        r#"SELECT payload->'content'->>'body' AS "body!" FROM inbound_updates
           WHERE channel = $1 AND payload->>'address' = $2 AND payload->'content'->>'type' = 'text'
             AND received_at > now() - interval '1 day'
           ORDER BY id DESC LIMIT 5"#,
        message.channel.as_str(),
        message.address
    )
    .fetch_all(&mut *tx)
    .await?;
    rows.reverse();
    Ok(rows)
}

pub use pre_arrival::deliver_codes;

/// A plain reply on the channel the message came from.
pub fn reply(message: &InboundMessage, body: String) -> Outgoing {
    Outgoing {
        channel: message.channel,
        address: message.address.clone(),
        purpose: "reply".into(),
        body,
        template: None,
        language: "en".into(),
        booking_id: None,
        dedupe_key: None,
        subject: None,
        html: None,
    }
}
