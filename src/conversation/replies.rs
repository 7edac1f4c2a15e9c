//! What doorman says, in one place. (The guest conversation grows a
//! catalogue per language; these are the channel-level texts.)

use chrono::{DateTime, Utc};

use super::catalog;
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
    /// The language of the text (one of [`catalog::LANGUAGES`]).
    pub language: &'a str,
}

impl PreArrival<'_> {
    fn local(&self, at: DateTime<Utc>) -> String {
        catalog::local_time(self.language, at.with_timezone(&self.timezone.tz()))
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

    /// The message in doorman markup, in the guest's language (English
    /// where the catalogue has no text).
    pub fn body(&self) -> String {
        let t = |key: &str, args: &[(&str, &str)]| catalog::text(self.language, key, args);
        let mut lines = vec![
            t(
                "pre_arrival_greeting",
                &[("name", self.first_name), ("property", self.property), ("check_in", &self.local(self.check_in_at))],
            ),
            t("pre_arrival_room", &[("room", self.room)]),
            t("pre_arrival_check_out", &[("check_out", &self.local(self.check_out_at))]),
            String::new(),
        ];
        for (value, locks) in self.grouped() {
            lines.push(t("pre_arrival_code", &[("code", &code(&value)), ("locks", &locks.join(", "))]));
        }
        if let Some(instructions) = self.entry_instructions {
            lines.push(String::new());
            lines.push(t("pre_arrival_how_to", &[("instructions", instructions)]));
        }
        lines.push(String::new());
        lines.push(t("pre_arrival_help", &[]));
        if let Some(link) = &self.telegram_link {
            lines.push(t("pre_arrival_telegram", &[("link", link)]));
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
            Some(link) => catalog::text(self.language, "pre_arrival_telegram", &[("link", link)]),
            None => catalog::text(self.language, "pre_arrival_help", &[]),
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
