//! Staff commands in chat (SPEC §5). Each command is parsed
//! (`conversation::commands`), checked against the sender's role at each
//! property, and then makes one call into the core (`access::…`, the same
//! calls the admin API and the console make); the answer is worded in
//! [`replies`]. There is no SQL here.
//!
//! - [`handlers`]: one function per command: core call, then reply.
//! - [`error`]: why a command stopped early, worded in one place.
//! - [`replies`]: every sentence staff read.
//!
//! Listings mask codes; only `/code … show`, `/issue`, `/master` and
//! `/mycode` show one in full, and that is audited.

mod error;
mod handlers;
pub mod replies;

use crate::access::model::Role;
pub use crate::access::staff::StaffMember;
use crate::channels::{inbox, Channel, InboundEvent, InboundMessage};
use crate::context::JobContext;
use crate::jobs::JobError;
pub use error::StaffError;

use super::commands::{self, Command};

/// The active staff member behind a message, if any: by WhatsApp (or
/// console) number, or Telegram user id, with their role at each property.
pub async fn identify(tx: &mut sqlx::PgConnection, message: &InboundMessage) -> Result<Option<StaffMember>, JobError> {
    let (phone, telegram) = match message.channel {
        Channel::Telegram => (None, message.user_id.as_deref().and_then(|u| u.parse::<i64>().ok())),
        _ => (inbox::sender_phone(message), None),
    };
    let phone = phone.as_ref().map(|p| p.as_str());
    Ok(crate::access::staff::find_member(tx, phone, telegram).await?)
}

/// Whether a command calls the lock providers (and so runs as a job of its
/// own, outside the inbound transaction).
pub fn asks_the_locks(text: &str) -> bool {
    matches!(commands::parse(text), Ok(Command::Status { .. } | Command::Audit { .. }))
}

/// `StaffCommand`: runs a command that asks the locks, then queues its reply.
pub async fn run_deferred(ctx: &JobContext, update_id: i64) -> Result<(), JobError> {
    let payload = inbox::stored_payload(&ctx.db, update_id)
        .await?
        .ok_or_else(|| JobError::permanent(format!("no inbound update {update_id}")))?;
    let Ok(InboundEvent::Message(message)) = serde_json::from_value(payload) else {
        return Err(JobError::permanent(format!("inbound update {update_id} is not a message")));
    };
    let Some(text) = message.content.text() else {
        return Ok(());
    };
    let mut tx = ctx.db.begin().await?;
    let Some(member) = identify(&mut tx, &message).await? else {
        return Ok(());
    };
    let answer = run(ctx, &mut tx, &member, text).await?;
    let mut outgoing = super::staff_reply(&message, answer);
    outgoing.dedupe_key = Some(format!("staff_command:{update_id}"));
    crate::channels::outbox::enqueue(&mut tx, &outgoing).await?;
    tx.commit().await?;
    Ok(())
}

/// The reply to a staff member's command. Only a failure of the database
/// or a provider is an error; everything else is an answer.
pub async fn run(
    ctx: &JobContext,
    tx: &mut sqlx::PgConnection,
    staff: &StaffMember,
    text: &str,
) -> Result<String, JobError> {
    let outcome = match commands::parse(text) {
        Ok(command) => match scope(staff, text) {
            Ok(scoped) => handlers::perform(ctx, tx, &scoped, command).await,
            Err(refused) => Err(refused),
        },
        Err(unreadable) => Err(StaffError::Unreadable(unreadable)),
    };
    match outcome {
        Ok(reply) => Ok(reply),
        Err(StaffError::Failed(e)) => Err(e),
        Err(stopped) => Ok(replies::stopped(&stopped)),
    }
}

/// The sender acting only where they hold the command's least role.
fn scope(staff: &StaffMember, text: &str) -> Result<StaffMember, StaffError> {
    let name = text.trim().trim_start_matches('/').split_whitespace().next().unwrap_or_default().to_lowercase();
    let name = name.split('@').next().unwrap_or_default();
    let Some(spec) = commands::spec(name) else {
        return Ok(staff.clone());
    };
    let scoped = staff.scoped_to(spec.role);
    if !commands::allowed(staff.role, spec) || (spec.role != Role::Staff && scoped.property_ids.is_empty()) {
        return Err(StaffError::NeedsRole { spec, role: staff.role });
    }
    Ok(scoped)
}
