//! Why a staff command stopped before doing anything: the sender's role,
//! an unreadable command, a room, stay, booking or property they do not
//! have. Each is answered in `replies::stopped`; only [`StaffError::Failed`]
//! is a failure (the job retries).

use crate::access::model::Role;
use crate::access::windows::MoveRefused;
use crate::access::AccessError;
use crate::conversation::commands::{Spec, Unreadable};
use crate::jobs::JobError;

/// A staff command that stopped early.
#[derive(Debug)]
pub enum StaffError {
    /// The command does not parse; its usage line (or `/help`) is the answer.
    Unreadable(Unreadable),
    /// The sender's role is below the command's.
    NeedsRole {
        /// The command.
        spec: &'static Spec,
        /// The sender's highest role.
        role: Role,
    },
    /// No room of that name among the sender's properties.
    NoRoom(String),
    /// A room of that name in several of the sender's properties.
    AmbiguousRoom {
        /// The name typed.
        room: String,
        /// The properties that have one.
        properties: Vec<String>,
    },
    /// The room has no current or upcoming stay.
    NoStay(String),
    /// The room has no current or upcoming stay to revoke.
    NoStayToRevoke(String),
    /// No booking with that reference among the sender's properties.
    NoBooking(String),
    /// No current or upcoming booking with that reference.
    NoCurrentBooking(String),
    /// No property of that name among the sender's.
    NoProperty(String),
    /// `/issue` for a day further ahead than this many days.
    TooFarAhead(i64),
    /// `/confirm` with a token that is unknown, used or expired.
    UnknownConfirmation,
    /// `/send` or `/drop` of a number that is no draft of the sender's
    /// properties (any more).
    NoDraft(i64),
    /// `/early` or `/late` refused to move the stay; nothing changed.
    StayNotMoved {
        /// The command.
        spec: &'static Spec,
        /// The room typed.
        room: String,
        /// Why.
        refused: MoveRefused,
    },
    /// `/assign` changed nothing.
    NotAssigned {
        /// The room typed.
        room: String,
        /// Why.
        refused: crate::access::turnovers::AssignRefused,
    },
    /// The database or a provider failed: the command is retried.
    Failed(JobError),
}

impl From<JobError> for StaffError {
    fn from(e: JobError) -> Self {
        Self::Failed(e)
    }
}

impl From<sqlx::Error> for StaffError {
    fn from(e: sqlx::Error) -> Self {
        Self::Failed(e.into())
    }
}

impl From<AccessError> for StaffError {
    fn from(e: AccessError) -> Self {
        Self::Failed(e.into())
    }
}
