//! The core's errors: stable codes, decided here; HTTP status and chat
//! wording are decided at the edges.

/// Everything that can go wrong in the access core.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// A referenced resource does not exist (`entity` names which).
    #[error("{entity} not found")]
    NotFound {
        /// e.g. "property", "lock", "booking".
        entity: &'static str,
    },
    /// A value that can never be accepted as given.
    #[error("{0}")]
    Invalid(String),
    /// The request clashes with what is stored (a duplicate name or device).
    #[error("{0}")]
    Conflict(String),
    /// The code belongs to a stay in progress; an explicit confirmation (or
    /// `force`) is needed (SPEC §3.9).
    #[error("the code belongs to a stay in progress; confirm to go ahead")]
    StayInProgress,
    /// The lock holds as many live codes as it can.
    #[error("lock {lock} is full: {live} of {capacity} codes are live")]
    LockFull {
        /// The lock's name.
        lock: String,
        /// Live codes counted.
        live: i64,
        /// The lock's capacity.
        capacity: i32,
    },
    /// A database failure that is not the caller's fault.
    #[error("database error")]
    Database(#[source] sqlx::Error),
}

impl AccessError {
    /// The stable name of this error, used in API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Invalid(_) => "invalid_value",
            Self::Conflict(_) => "conflict",
            Self::StayInProgress => "stay_in_progress",
            Self::LockFull { .. } => "lock_full",
            Self::Database(_) => "internal",
        }
    }

    /// Shorthand for an invalid value of a named field.
    pub fn invalid(field: &str, problem: impl std::fmt::Display) -> Self {
        Self::Invalid(format!("{field}: {problem}"))
    }
}

impl From<sqlx::Error> for AccessError {
    /// Maps the constraints of `migrations/` onto domain errors; anything
    /// else is an internal database error.
    fn from(err: sqlx::Error) -> Self {
        if let sqlx::Error::RowNotFound = err {
            return Self::NotFound { entity: "record" };
        }
        // Class 22 is PostgreSQL's "data exception": a value it cannot
        // store, such as a NUL character in a text or a date out of its
        // range. The request's fault, never the server's.
        if err.as_database_error().and_then(|db| db.code()).is_some_and(|code| code.starts_with("22")) {
            return Self::Invalid(
                "a value cannot be stored: text must not contain NUL characters, and dates and \
                 numbers must be within range"
                    .into(),
            );
        }
        let constraint = err.as_database_error().and_then(|db| db.constraint()).map(str::to_owned);
        let Some(constraint) = constraint else {
            return Self::Database(err);
        };
        match constraint.as_str() {
            "feeds_room_url_key" => Self::Conflict("the room already reads this calendar".into()),
            "rooms_property_name_key" => Self::Conflict("a room with this name already exists in the property".into()),
            "locks_provider_device_key" => {
                Self::Conflict("a lock with this provider and device id is already registered".into())
            }
            "locks_room_in_property_fkey" | "bookings_room_in_property_fkey" => {
                Self::Invalid("the room does not belong to the property".into())
            }
            "guests_phone_key" => Self::Conflict("another guest already has this phone number".into()),
            "guests_telegram_chat_key" => Self::Conflict("this Telegram chat is linked to another guest".into()),
            "staff_phone_key" => Self::Conflict("a staff member with this phone number exists".into()),
            "staff_telegram_user_key" => Self::Conflict("a staff member with this Telegram user id exists".into()),
            "staff_reachable" => Self::Invalid("a staff member needs a phone number or a Telegram user id".into()),
            "access_codes_live_value_key" => Self::Conflict("this code is already live on the lock".into()),
            "access_codes_window_order" | "bookings_stay_order" => {
                Self::Invalid("the end must be after the start".into())
            }
            "bookings_external_ref_key" => Self::Conflict("a booking with this reference exists".into()),
            "access_codes_master_longer" => Self::Invalid(
                "a master code must be longer than the lock's guest codes, and this lock takes no longer code \
                 (a Nuki keypad takes exactly six digits; a Seam device reports the lengths it takes)"
                    .into(),
            ),
            name if name.ends_with("_fkey") => Self::NotFound { entity: "referenced record" },
            _ => Self::Database(err),
        }
    }
}

/// Result of a core operation.
pub type AccessResult<T> = Result<T, AccessError>;

/// A database error is worth another attempt; any other core error is not.
impl From<AccessError> for crate::jobs::JobError {
    fn from(err: AccessError) -> Self {
        match err {
            AccessError::Database(e) => Self::Retry(anyhow::Error::new(e).context("database")),
            other => Self::Permanent(anyhow::Error::new(other)),
        }
    }
}
