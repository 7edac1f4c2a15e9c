//! Why a console request stopped, and the page it shows: the one place
//! console errors become a status and words. Internal errors are logged
//! with their chain and never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use crate::access::model::Role;
use crate::access::AccessError;
use crate::jobs::JobError;

/// Why a console request stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No session: sign in first.
    #[error("sign in first")]
    SignIn,
    /// Nothing here, or nothing this staff member may see (another
    /// property's pages answer the same).
    #[error("not found")]
    NotFound,
    /// Their role here is below the action's.
    #[error("needs the role {0}")]
    NeedsRole(Role),
    /// The form's CSRF token is missing or wrong.
    #[error("the form's token does not match this session")]
    Csrf,
    /// A form field that cannot be read; the message names it.
    #[error("{0}")]
    BadForm(String),
    /// The core refused (a clash, a full lock, an invalid value).
    #[error(transparent)]
    Core(AccessError),
    /// Something that is not the staff member's fault.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<AccessError> for ConsoleError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::NotFound { .. } => Self::NotFound,
            AccessError::Database(e) => Self::Internal(anyhow::Error::new(e)),
            other => Self::Core(other),
        }
    }
}

impl From<sqlx::Error> for ConsoleError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

impl From<JobError> for ConsoleError {
    fn from(e: JobError) -> Self {
        Self::Internal(anyhow::anyhow!("{e}"))
    }
}

impl ConsoleError {
    fn status(&self) -> StatusCode {
        match self {
            Self::SignIn => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::NeedsRole(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadForm(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Core(AccessError::Invalid(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Core(_) => StatusCode::CONFLICT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The status and the words of a refusal that is the form's fault (a
    /// bad value, a clash): the form is shown again with them.
    pub fn form_problem(&self) -> Option<(StatusCode, String)> {
        match self {
            Self::BadForm(_) | Self::Core(_) => Some((self.status(), self.words().1)),
            _ => None,
        }
    }

    fn words(&self) -> (&'static str, String) {
        match self {
            Self::SignIn => ("Sign in", "Send /login to doorman in your staff chat for a sign-in link.".into()),
            Self::NotFound => ("Not found", "There is nothing here you may see.".into()),
            Self::NeedsRole(role) => {
                ("Not allowed", format!("This needs the {} role at this property.", role.as_str()))
            }
            Self::Csrf => (
                "Form expired",
                "This form is not from your current session. Go back, reload the page and try again.".into(),
            ),
            Self::BadForm(problem) => ("Check the form", problem.clone()),
            Self::Core(e) => ("Not done", core_words(e)),
            Self::Internal(_) => ("Something went wrong", "Nothing was changed. Try again in a minute.".into()),
        }
    }
}

/// The core's refusals, in the console's words.
pub(super) fn core_words(e: &AccessError) -> String {
    match e {
        AccessError::Invalid(problem) | AccessError::Conflict(problem) => problem.clone(),
        AccessError::StayInProgress => "The stay is in progress: confirm it first.".into(),
        AccessError::LockFull { lock, live, capacity } => format!("Lock {lock} is full: {live} of {capacity} codes."),
        AccessError::NotFound { .. } | AccessError::Database(_) => "Not found.".into(),
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let Self::Internal(e) = &self {
            tracing::error!(error = %format!("{e:#}"), "console request failed");
        }
        if matches!(self, Self::SignIn) {
            return Redirect::to("/admin/login").into_response();
        }
        let (title, message) = self.words();
        super::render::error_page(self.status(), title, &message)
    }
}
