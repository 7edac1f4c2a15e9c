//! A property's IANA timezone, stored by name.

use std::fmt;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// An IANA timezone such as `Europe/Bratislava`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timezone(Tz);

/// Why a timezone name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IANA timezone such as \"Europe/Bratislava\"")]
pub struct InvalidTimezone(pub String);

impl Timezone {
    /// Parses an IANA name (case-sensitive, as in the tz database).
    pub fn parse(name: &str) -> Result<Self, InvalidTimezone> {
        name.trim().parse::<Tz>().map(Self).map_err(|_| InvalidTimezone(name.to_owned()))
    }

    /// The chrono-tz zone, for date arithmetic.
    pub fn tz(self) -> Tz {
        self.0
    }

    /// An instant in this zone as staff texts show it: `Mon 23 Nov 15:00`.
    pub fn short_time(self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.0).format("%a %-d %b %H:%M").to_string()
    }

    /// The IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Timezone {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

impl sqlx::Type<sqlx::Postgres> for Timezone {
    fn type_info() -> sqlx::postgres::PgTypeInfo {
        <str as sqlx::Type<sqlx::Postgres>>::type_info()
    }

    fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
        <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Postgres> for Timezone {
    fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        let name = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
        Ok(Self::parse(name)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iana_names_only() {
        assert_eq!(Timezone::parse("Europe/Bratislava").unwrap().name(), "Europe/Bratislava");
        assert!(Timezone::parse("CEST+1").is_err());
        assert!(Timezone::parse("Mars/Olympus").is_err());
    }
}
