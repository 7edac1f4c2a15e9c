//! E.164 phone numbers, the identity of a WhatsApp guest or staff member.

use std::fmt;

use serde::Serialize;

/// A valid phone number in E.164 form (`+421900123456`).
///
/// Its `Debug` output is masked, so a number in full never reaches a log line
/// by accident; `as_str` gives the full number where it is needed.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Phone(String);

/// Why a phone number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a valid phone number in international format, e.g. +421900123456")]
pub struct InvalidPhone(String);

impl Phone {
    /// Parses a number in international format. Spaces, dashes, dots and
    /// parentheses are allowed; a leading `00` is read as `+`.
    pub fn parse(raw: &str) -> Result<Self, InvalidPhone> {
        let trimmed = raw.trim();
        let international = match trimmed.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => trimmed.to_owned(),
        };
        let refused = || InvalidPhone(mask(trimmed));
        if !international.starts_with('+') {
            return Err(refused());
        }
        let number = phonenumber::parse(None, &international).map_err(|_| refused())?;
        if !phonenumber::is_valid(&number) {
            return Err(refused());
        }
        Ok(Self(number.format().mode(phonenumber::Mode::E164).to_string()))
    }

    /// The full number, `+` and digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but the country prefix and last two digits hidden.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

impl sqlx::Type<sqlx::Postgres> for Phone {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

/// Columns holding phones are only ever written from a parsed `Phone`.
impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Phone {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Self(<String as sqlx::Decode<sqlx::Postgres>>::decode(value)?))
    }
}

/// Hides the middle of a phone-like string: `+421••••••56`.
pub fn mask(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 6 {
        return "•".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}{}{tail}", "•".repeat(chars.len() - 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_to_e164() {
        assert_eq!(Phone::parse("+421 900 123 456").unwrap().as_str(), "+421900123456");
        assert_eq!(Phone::parse("00421900123456").unwrap().as_str(), "+421900123456");
        assert_eq!(Phone::parse("+1 (415) 555-2671").unwrap().as_str(), "+14155552671");
    }

    #[test]
    fn refuses_national_and_invalid_numbers() {
        assert!(Phone::parse("0900 123 456").is_err());
        assert!(Phone::parse("+421 12").is_err());
        assert!(Phone::parse("call me").is_err());
        assert!(Phone::parse("").is_err());
    }

    #[test]
    fn debug_and_errors_never_show_the_full_number() {
        let phone = Phone::parse("+421900123456").unwrap();
        assert_eq!(format!("{phone:?}"), "Phone(+421•••••••56)");
        let err = Phone::parse("+421 98765").unwrap_err().to_string();
        assert!(!err.contains("98765"), "{err}");
    }
}
