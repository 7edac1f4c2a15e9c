//! Telling a guest that staff moved their stay (SPEC §11: `/early`,
//! `/late`, the booking API), in their language, on every channel the
//! pre-arrival message uses, once per new pair of times.

use chrono::{DateTime, Utc};

use super::catalog;
use super::pre_arrival::{channels, load};
use crate::access::jobs::TellStayMoved;
use crate::access::model::BookingStatus;
use crate::channels::{outbox, Channel, Outgoing, Template};
use crate::context::JobContext;
use crate::jobs::{JobError, Run};

/// The approved WhatsApp template used outside the 24-hour window:
/// `{{1}}` the property, `{{2}}` the text.
pub const TEMPLATE: &str = "doorman_stay_moved";

impl Run<JobContext> for TellStayMoved {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let mut tx = ctx.db.begin().await?;
        let Some(booking) = load(&mut tx, self.booking_id).await? else {
            return Ok(());
        };
        if booking.status != BookingStatus::Confirmed || Utc::now() >= booking.check_out_at {
            return Ok(());
        }
        let tz = booking.timezone.tz();
        let language = catalog::pick(&[Some(booking.language.as_str())]);
        let local = |at: DateTime<Utc>| catalog::local_time(language, at.with_timezone(&tz));
        let first_name = booking.guest_name.split_whitespace().next().unwrap_or_default().to_owned();
        let (check_in, check_out) = (local(booking.check_in_at), local(booking.check_out_at));
        let args = [
            ("name", first_name.as_str()),
            ("property", booking.property.as_str()),
            ("check_in", check_in.as_str()),
            ("check_out", check_out.as_str()),
        ];
        let text = catalog::text(language, "stay_moved", &args);
        for (channel, address) in channels(ctx, &booking) {
            let (subject, html) = match channel {
                Channel::Email => (
                    Some(booking.property.clone()),
                    Some(format!("<p>{}</p>", text.replace('&', "&amp;").replace('<', "&lt;"))),
                ),
                _ => (None, None),
            };
            let outgoing = Outgoing {
                channel,
                address,
                purpose: "stay_moved".into(),
                body: text.clone(),
                template: Some(Template {
                    name: TEMPLATE.into(),
                    params: vec![booking.property.clone(), text.clone()],
                }),
                language: booking.language.clone(),
                booking_id: Some(booking.id),
                dedupe_key: Some(format!("stay_moved:{}:{}:{}:{channel}", booking.id, self.key, booking.guest_id)),
                subject,
                html,
            };
            outbox::enqueue(&mut tx, &outgoing).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
