//! What doorman says, in one place. (The guest conversation grows a
//! catalogue per language; these are the channel-level texts.)

use chrono::{DateTime, Utc};

use crate::access::timezone::Timezone;
use crate::channels::text::code;

/// A code on a lock, for the pre-arrival message.
#[derive(Debug, Clone)]
pub struct CodeLine {
    /// The lock's name.
    pub lock: String,
    /// The value.
    pub code: String,
}

/// Everything the pre-arrival message says.
#[derive(Debug, Clone)]
pub struct PreArrival<'a> {
    /// Guest's first name.
    pub first_name: &'a str,
    /// The property's name.
    pub property: &'a str,
    /// The room's name.
    pub room: &'a str,
    /// Check-in instant.
    pub check_in_at: DateTime<Utc>,
    /// Check-out instant.
    pub check_out_at: DateTime<Utc>,
    /// The property's timezone.
    pub timezone: Timezone,
    /// Codes and their locks; one line when all locks share the value.
    pub codes: Vec<CodeLine>,
    /// How to get in.
    pub entry_instructions: Option<&'a str>,
    /// A Telegram deep link, when offered.
    pub telegram_link: Option<String>,
}

impl PreArrival<'_> {
    fn local(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.timezone.tz()).format("%a %-d %b %H:%M").to_string()
    }

    /// Codes and the locks each opens, joined: `("361722", "Building
    /// entrance, Room 101 door")`.
    pub fn grouped_codes(&self) -> Vec<(String, String)> {
        self.grouped().into_iter().map(|(value, locks)| (value, locks.join(", "))).collect()
    }

    /// Codes grouped by value: `361722 (Building entrance, Room 101 door)`.
    fn grouped(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for line in &self.codes {
            match groups.iter_mut().find(|(value, _)| *value == line.code) {
                Some((_, locks)) => locks.push(line.lock.clone()),
                None => groups.push((line.code.clone(), vec![line.lock.clone()])),
            }
        }
        groups
    }

    /// The message in doorman markup.
    pub fn body(&self) -> String {
        let mut lines = vec![
            format!(
                "Hello {}! Your stay at *{}* starts {}.",
                self.first_name,
                self.property,
                self.local(self.check_in_at)
            ),
            format!("• Room {}", self.room),
            format!("• Check-out {}", self.local(self.check_out_at)),
            String::new(),
        ];
        for (value, locks) in self.grouped() {
            lines.push(format!("*Your access code:* {} ({})", code(&value), locks.join(", ")));
        }
        if let Some(instructions) = self.entry_instructions {
            lines.push(String::new());
            lines.push(format!("*How to get in:* {instructions}"));
        }
        lines.push(String::new());
        lines.push("Reply here any time if you need help.".to_owned());
        if let Some(link) = &self.telegram_link {
            lines.push(format!("Prefer Telegram? {link}"));
        }
        lines.join("\n")
    }

    /// Parameters of the `doorman_pre_arrival` template (single lines).
    pub fn template_params(&self) -> Vec<String> {
        let codes = self
            .grouped()
            .into_iter()
            .map(|(value, locks)| format!("{value} ({})", locks.join(", ")))
            .collect::<Vec<_>>()
            .join("; ");
        let closing = match &self.telegram_link {
            Some(link) => format!("Prefer Telegram? {link}"),
            None => "Reply here any time if you need help.".to_owned(),
        };
        vec![
            self.first_name.to_owned(),
            self.property.to_owned(),
            self.local(self.check_in_at),
            self.room.to_owned(),
            codes,
            closing,
        ]
    }
}

/// After a Telegram chat was linked to a booking.
pub fn telegram_linked(first_name: &str) -> String {
    format!("Thanks {first_name}, this chat is now linked to your booking. Your access details will arrive here too.")
}

/// A `/start` link that is unknown, used or expired. Says nothing about
/// whether a booking exists.
pub fn telegram_link_invalid() -> String {
    "This link is invalid or has expired. Please use the link from your latest booking message.".to_owned()
}

/// `/start` without a token.
pub fn telegram_welcome() -> String {
    "Welcome! To get your access details here, open the Telegram link from your booking message, or share your \
     contact (📎, then Contact) when your Telegram number is the one on your booking."
        .to_owned()
}

/// A shared contact that is not the sender's own, or matches no booking.
pub fn contact_not_linked() -> String {
    "Thanks. We could not link this chat with that contact. Please share your own phone number, the one on your \
     booking."
        .to_owned()
}
