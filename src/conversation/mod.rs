//! The conversation: who is writing, and what doorman answers.

pub mod identity;
pub mod pre_arrival;
pub mod replies;

use sqlx::PgConnection;

use crate::channels::{Content, InboundMessage, Outgoing};
use crate::jobs::{JobContext, JobError};

/// The replies to a message from a guest, a staff member or a stranger.
pub async fn respond(
    _ctx: &JobContext,
    _tx: &mut PgConnection,
    message: &InboundMessage,
) -> Result<Vec<Outgoing>, JobError> {
    let body = match message.content {
        Content::Unsupported { .. } => replies::unsupported_message(),
        _ => replies::acknowledgement(),
    };
    Ok(vec![reply(message, body)])
}

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
    }
}
