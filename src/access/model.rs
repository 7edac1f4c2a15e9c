//! Domain vocabulary: the closed sets of SPEC §2 and the newtypes that are
//! parsed once at the edge (`RoomName`, `CodeLength`, `Language`), so the
//! core never re-checks them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value outside one of doorman's closed sets, e.g. `kind: "padlock"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not one of: {allowed}")]
pub struct UnknownVariant {
    /// What was given.
    pub value: String,
    /// The accepted spellings, comma-separated.
    pub allowed: &'static str,
}

/// Declares an enum stored as `text` in PostgreSQL (guarded by a CHECK
/// constraint) and spelled the same in JSON.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialized spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err(UnknownVariant {
                        value: other.to_owned(),
                        allowed: concat!($($text, ", "),+).trim_end_matches(", "),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(text.parse()?)
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }
    };
}

text_enum!(
    /// How a guest operates the lock.
    LockKind {
        PinPad => "pin_pad",
        SmartLock => "smart_lock",
        KeyCard => "key_card",
    }
);

text_enum!(
    /// Who programs the lock.
    ProviderKind {
        /// Persisted in PostgreSQL; for the demo and tests.
        Simulated => "simulated",
        Nuki => "nuki",
        Seam => "seam",
    }
);

text_enum!(
    /// Whether a lock provider's account works (SPEC §12): a Seam
    /// connected account, or Nuki's one account of `NUKI_API_TOKEN`.
    AccountState {
        /// It works.
        Connected => "connected",
        /// Seam's `connected_account.disconnected`: reconnect it in Seam.
        Disconnected => "disconnected",
        /// Seam's `connected_account.reauthorization_requested`: the
        /// account's owner must sign in again through Seam.
        ReauthorizationRequested => "reauthorization_requested",
        /// The provider refused the credentials (Nuki's 401 or 403): renew
        /// `NUKI_API_TOKEN`.
        Refused => "refused",
    }
);

text_enum!(
    /// Where an iCal feed comes from (it decides how its events are read).
    FeedSource {
        Airbnb => "airbnb",
        Booking => "booking",
        Vrbo => "vrbo",
        Other => "other",
    }
);

text_enum!(
    /// The characters a lock accepts.
    CodeFormat {
        Numeric => "numeric",
        Alphanumeric => "alphanumeric",
    }
);

text_enum!(
    /// Whether doorman programs codes on a lock.
    LockStatus {
        Active => "active",
        Inactive => "inactive",
    }
);

text_enum!(
    /// A booking's status as the PMS reports it.
    BookingStatus {
        Pending => "pending",
        Confirmed => "confirmed",
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// What a staff member may do (SPEC §5).
    Role {
        Admin => "admin",
        Manager => "manager",
        Staff => "staff",
    }
);

impl Role {
    /// Staff < manager < admin.
    pub fn rank(self) -> u8 {
        match self {
            Self::Staff => 0,
            Self::Manager => 1,
            Self::Admin => 2,
        }
    }

    /// Whether this role is `least` or above.
    pub fn at_least(self, least: Role) -> bool {
        self.rank() >= least.rank()
    }
}

text_enum!(
    /// Why an access code exists.
    CodeKind {
        /// One stay of one booking.
        Guest => "guest",
        /// A staff member's persistent code.
        Staff => "staff",
        /// Manager override.
        Master => "master",
        /// E.g. a contractor, with its own window.
        Standalone => "standalone",
        /// Kept on the lock, shown to nobody, for a guest whose own code did
        /// not get on the lock in time (SPEC §3.8).
        Backup => "backup",
    }
);

text_enum!(
    /// Where an access code is on its way to or from the lock (SPEC §3.5).
    CodeState {
        /// Stored, not yet sent to the lock.
        Pending => "pending",
        /// Sent; the provider has not confirmed it yet.
        Programming => "programming",
        /// The provider confirmed the code is on the lock.
        Set => "set",
        /// The provider refused it or it timed out past its retries.
        Failed => "failed",
        /// Removal requested; not confirmed yet.
        Removing => "removing",
        /// The provider confirmed it is gone.
        Removed => "removed",
    }
);

text_enum!(
    /// A channel manager doorman reads reservations from (SPEC §9).
    IntegrationKind {
        /// Smoobu.
        Smoobu => "smoobu",
        /// Beds24 (API v2).
        Beds24 => "beds24",
        /// Hostaway.
        Hostaway => "hostaway",
    }
);

/// The named sets of code states that queries filter on, bound as a text
/// array (`state = ANY($1)` with `CodeState::LIVE as &[CodeState]`), so each
/// meaning is spelled once. They differ on purpose; each says why.
impl CodeState {
    /// A live code: not revoked and not expired, so it is meant to open the
    /// door — including a `failed` one, which staff can still retry and which
    /// a new code for the same booking must replace, not join.
    pub const LIVE: &'static [CodeState] = &[Self::Pending, Self::Programming, Self::Set, Self::Failed];

    /// A working code: live and not given up on, so it opens the lock now or
    /// will once programmed. "The guest has a code" and "this staff code can
    /// be reused" mean this; a `failed` code does not count.
    pub const WORKING: &'static [CodeState] = &[Self::Pending, Self::Programming, Self::Set];

    /// A code taking one of the lock's slots: working, or being removed (it
    /// is still on the device until the removal is confirmed). A `failed`
    /// code never reached the lock.
    pub const IN_A_SLOT: &'static [CodeState] = &[Self::Pending, Self::Programming, Self::Set, Self::Removing];

    /// A live code that is not (yet) on the lock: what a guest arriving soon
    /// would stand at the door without.
    pub const UNSET: &'static [CodeState] = &[Self::Pending, Self::Programming, Self::Failed];

    /// A code staff listings show: every one not yet confirmed gone from the
    /// lock, `failed` and `removing` included, so nothing on a lock is hidden.
    pub const LISTED: &'static [CodeState] =
        &[Self::Pending, Self::Programming, Self::Set, Self::Failed, Self::Removing];

    /// Whether this state is one of [`CodeState::LIVE`].
    pub fn is_live(self) -> bool {
        Self::LIVE.contains(&self)
    }
}

/// A room's name within its property, such as `101`: trimmed, 1–32
/// characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RoomName(String);

/// Why a room name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a room name has 1 to 32 characters and no control characters")]
pub struct InvalidRoomName;

impl RoomName {
    /// Parses a room name, trimming surrounding whitespace.
    pub fn parse(raw: &str) -> Result<Self, InvalidRoomName> {
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 || length > 32 || name.chars().any(char::is_control) {
            return Err(InvalidRoomName);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many characters a lock's codes have: 4 to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct CodeLength(u8);

/// Why a code length was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a code length is between 4 and 10, not {0}")]
pub struct InvalidCodeLength(pub i64);

impl CodeLength {
    /// The shortest code a lock may use.
    pub const MIN: u8 = 4;
    /// The longest code a lock may use.
    pub const MAX: u8 = 10;

    /// Checks the range.
    pub fn new(length: i64) -> Result<Self, InvalidCodeLength> {
        match u8::try_from(length) {
            Ok(n) if (Self::MIN..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(InvalidCodeLength(length)),
        }
    }

    /// The length as a number of characters.
    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

/// A guest's preferred language: a lower-case ISO 639-1 code such as `de`.
/// Region subtags are dropped (`de-AT` → `de`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Language(String);

/// Why a language tag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a language code such as \"en\" or \"de-AT\"")]
pub struct InvalidLanguage(pub String);

impl Language {
    /// Parses a BCP 47 tag and keeps its primary language subtag.
    pub fn parse(raw: &str) -> Result<Self, InvalidLanguage> {
        let primary = raw.trim().split(['-', '_']).next().unwrap_or_default();
        let valid = (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic());
        if !valid {
            return Err(InvalidLanguage(raw.to_owned()));
        }
        Ok(Self(primary.to_ascii_lowercase()))
    }

    /// English, the fallback of every reply.
    pub fn english() -> Self {
        Self("en".to_owned())
    }

    /// The code as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sets are the SQL literals they replaced; a change here changes
    /// which codes every query sees.
    #[test]
    fn the_code_state_sets_are_the_literals_they_replaced() {
        use CodeState::*;
        let all_but = |out: &[CodeState]| -> Vec<CodeState> {
            CodeState::ALL.iter().copied().filter(|s| !out.contains(s)).collect()
        };
        assert_eq!(CodeState::LIVE, all_but(&[Removing, Removed]).as_slice());
        assert_eq!(CodeState::WORKING, all_but(&[Removing, Removed, Failed]).as_slice());
        assert_eq!(CodeState::IN_A_SLOT, all_but(&[Removed, Failed]).as_slice());
        assert_eq!(CodeState::UNSET, all_but(&[Set, Removing, Removed]).as_slice());
        assert_eq!(CodeState::LISTED, all_but(&[Removed]).as_slice());
        assert!(Failed.is_live() && !Removing.is_live());
    }

    #[test]
    fn text_enums_round_trip_and_name_the_allowed_values() {
        for kind in LockKind::ALL {
            assert_eq!(kind.as_str().parse::<LockKind>(), Ok(*kind));
        }
        let err = "padlock".parse::<LockKind>().unwrap_err();
        assert_eq!(err.to_string(), "\"padlock\" is not one of: pin_pad, smart_lock, key_card");
    }

    #[test]
    fn room_names_are_trimmed_and_bounded() {
        assert_eq!(RoomName::parse("  101 ").unwrap().as_str(), "101");
        assert!(RoomName::parse("   ").is_err());
        assert!(RoomName::parse("a\u{7}b").is_err());
        assert!(RoomName::parse(&"x".repeat(33)).is_err());
        assert!(RoomName::parse("Suite Élise").is_ok());
    }

    #[test]
    fn code_lengths_are_four_to_ten() {
        assert!(CodeLength::new(3).is_err());
        assert_eq!(CodeLength::new(4).unwrap().get(), 4);
        assert_eq!(CodeLength::new(10).unwrap().get(), 10);
        assert!(CodeLength::new(11).is_err());
        assert!(CodeLength::new(-6).is_err());
    }

    #[test]
    fn languages_keep_the_primary_subtag() {
        assert_eq!(Language::parse("de-AT").unwrap().as_str(), "de");
        assert_eq!(Language::parse("SK").unwrap().as_str(), "sk");
        assert_eq!(Language::parse("pt_BR").unwrap().as_str(), "pt");
        assert!(Language::parse("english").is_err());
        assert!(Language::parse("").is_err());
        assert!(Language::parse("1").is_err());
    }
}
