//! The `turnover` job (SPEC §11): draws a turnover's code on the room's and
//! the entrance locks (`access::turnovers::prepare`) and tells the cleaner,
//! in their own chat, the room, the window and the code; told again when
//! the window moves, and when the turnover is called off.

use chrono::Utc;

use crate::access::jobs::TurnoverDue;
use crate::access::turnovers::{self, CleanerNotice};
use crate::context::JobContext;
use crate::jobs::{JobError, Run};

impl Run<JobContext> for TurnoverDue {
    async fn run(&self, ctx: &JobContext) -> Result<(), JobError> {
        let mut tx = ctx.db.begin().await?;
        if let Some(notice) = turnovers::prepare(&mut tx, self.turnover_id, Utc::now()).await? {
            let key = notice_key(&notice);
            super::alerts::message_staff_member(&mut tx, &ctx.senders, notice.staff_id, &notice_text(&notice), &key)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Once per window (and once for the cancellation): a cleaner told of a
/// moved window hears of it again, never twice of the same.
fn notice_key(notice: &CleanerNotice) -> String {
    match notice.planned {
        true => format!(
            "turnover:{}:{}:{}:{}",
            notice.turnover_id,
            notice.starts_at.timestamp(),
            notice.ends_at.timestamp(),
            notice.codes.len()
        ),
        false => format!("turnover:{}:cancelled", notice.turnover_id),
    }
}

/// What the cleaner reads.
pub fn notice_text(notice: &CleanerNotice) -> String {
    let tz = notice.timezone;
    let window = format!("{} – {}", tz.short_time(notice.starts_at), tz.short_time(notice.ends_at));
    let place = format!("room {} ({})", notice.room, notice.property);
    if !notice.planned {
        return format!("🧹 The turnover of {place} on {window} is off: its code no longer opens the doors.");
    }
    let next = match &notice.next_reference {
        Some(reference) => format!("the next guests ({reference}) arrive after it"),
        None => "no guests follow".to_owned(),
    };
    let codes = match notice.codes.as_slice() {
        [] => "No code could be put on the locks yet: ask a manager.".to_owned(),
        codes if codes.iter().all(|(_, v)| *v == codes[0].1) => {
            let locks: Vec<&str> = codes.iter().map(|(l, _)| l.as_str()).collect();
            format!("Your code: {} ({}).", codes[0].1, locks.join(", "))
        }
        codes => {
            let each: Vec<String> = codes.iter().map(|(l, v)| format!("{l}: {v}")).collect();
            format!("Your codes: {}.", each.join("; "))
        }
    };
    format!("🧹 Turnover of {place}: {window}; {next}. {codes} It works only in that window.")
}
