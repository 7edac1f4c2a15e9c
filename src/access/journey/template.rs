//! A message rule's template: text with SPEC §11 placeholders such as
//! `{guest_first_name}`. A small substitution of our own rather than
//! minijinja: the placeholders are single-brace names with no logic, every
//! name must be checked on save, and each value is escaped for its channel
//! by the caller, which a general engine would only get in the way of.

use std::fmt;

/// A placeholder a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placeholder {
    /// The guest's first name.
    GuestFirstName,
    /// The property's name.
    Property,
    /// The room's name.
    Room,
    /// Local check-in, as the guest's language writes it.
    CheckIn,
    /// Local check-out.
    CheckOut,
    /// The wifi network.
    WifiName,
    /// The wifi password: a secret until the release time.
    WifiPassword,
    /// How to get in (the room's, else the property's).
    EntryInstructions,
    /// What to do when leaving.
    CheckoutInstructions,
    /// The guest's codes and their locks: a secret until the release time.
    Codes,
}

impl Placeholder {
    /// Every placeholder, as written in a template.
    pub const ALL: [(&'static str, Placeholder); 10] = [
        ("guest_first_name", Self::GuestFirstName),
        ("property", Self::Property),
        ("room", Self::Room),
        ("check_in", Self::CheckIn),
        ("check_out", Self::CheckOut),
        ("wifi_name", Self::WifiName),
        ("wifi_password", Self::WifiPassword),
        ("entry_instructions", Self::EntryInstructions),
        ("checkout_instructions", Self::CheckoutInstructions),
        ("codes", Self::Codes),
    ];

    /// Whether it shows something the guest may only see from the release
    /// time (SPEC §11).
    pub fn is_secret(self) -> bool {
        matches!(self, Self::Codes | Self::WifiPassword)
    }

    /// Its name in a template.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, p)| *p == self).map_or("", |(name, _)| name)
    }
}

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Text as the operator wrote it (doorman markup: `*bold*`).
    Text(String),
    /// A value filled in when the message is sent.
    Value(Placeholder),
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{name}` is not one of SPEC §11's placeholders.
    Unknown(String),
    /// A `{` without its `}`.
    Unclosed,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unknown(name) => write!(f, "unknown placeholder {{{name}}}"),
            Self::Unclosed => write!(f, "a '{{' without its '}}' (write '{{{{' for a brace)"),
        }
    }
}

/// Parses a template: `{name}` is a placeholder, `{{` and `}}` are braces.
pub fn parse(text: &str) -> Result<Vec<Segment>, TemplateError> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(['{', '}']) {
        literal.push_str(&rest[..at]);
        let tail = &rest[at..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            literal.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        if let Some(after) = tail.strip_prefix('}') {
            literal.push('}');
            rest = after;
            continue;
        }
        let close = tail.find('}').ok_or(TemplateError::Unclosed)?;
        let name = &tail[1..close];
        let placeholder = Placeholder::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, p)| *p)
            .ok_or_else(|| TemplateError::Unknown(name.chars().take(40).collect()))?;
        if !literal.is_empty() {
            segments.push(Segment::Text(std::mem::take(&mut literal)));
        }
        segments.push(Segment::Value(placeholder));
        rest = &tail[close + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        segments.push(Segment::Text(literal));
    }
    Ok(segments)
}

/// The placeholders a parsed template uses.
pub fn placeholders(segments: &[Segment]) -> impl Iterator<Item = Placeholder> + '_ {
    segments.iter().filter_map(|s| match s {
        Segment::Value(p) => Some(*p),
        Segment::Text(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_braces_are_read() {
        let segments = parse("Hi {guest_first_name}, {{not}} {codes}}").unwrap();
        assert_eq!(
            segments,
            vec![
                Segment::Text("Hi ".into()),
                Segment::Value(Placeholder::GuestFirstName),
                Segment::Text(", {not} ".into()),
                Segment::Value(Placeholder::Codes),
                Segment::Text("}".into()),
            ]
        );
    }

    #[test]
    fn an_unknown_or_unclosed_placeholder_is_refused() {
        assert_eq!(parse("Hi {name}"), Err(TemplateError::Unknown("name".into())));
        assert_eq!(parse("Hi {guest_first_name"), Err(TemplateError::Unclosed));
        assert_eq!(parse("{Codes}").unwrap_err().to_string(), "unknown placeholder {Codes}");
    }
}
