//! The one error type that crosses the wire between server functions and pages.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

/// What a page (or an API client) is told when a server function fails. Internal details stay in the
/// server log; the client gets a reference to quote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("Sign in to continue.")]
    NotSignedIn,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// Bad input; `field` names the form field the message belongs next to.
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    /// The request needs a value for `field` that only the user can pick among `choices` (an IdP of a
    /// federation's metadata file); sending it again with one of them answers it.
    #[error("{message}")]
    Choose {
        field: String,
        message: String,
        choices: Vec<Choice>,
    },
    /// The account opens only with a session from its organisation's identity provider; `sign_in` starts that
    /// sign-in and comes back, when the caller's domain has a way in.
    #[error("{message}")]
    SsoRequired { message: String, sign_in: Option<String> },
    #[error("{0}")]
    TooManyAttempts(String),
    #[error("Something went wrong on our side. If it keeps happening, quote reference {reference}.")]
    Internal { reference: String },
    /// The request itself failed (network, encoding): produced by the server-function machinery.
    #[error("The request failed: {0}")]
    Request(String),
}

/// One value offered by [`AppError::Choose`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub value: String,
    /// What people know it by.
    pub name: String,
    /// What tells it apart from the others, as (label, text).
    pub facts: Vec<(String, String)>,
}

impl AppError {
    pub fn invalid(field: &str, message: impl ToString) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            message: message.to_string(),
        }
    }

    /// The field and message of an `Invalid` error.
    pub fn invalid_field(&self) -> Option<(&str, &str)> {
        match self {
            Self::Invalid { field, message } => Some((field, message)),
            _ => None,
        }
    }

    /// The HTTP status an API client sees for this error.
    pub fn status(&self) -> u16 {
        match self {
            Self::NotSignedIn => 401,
            Self::Forbidden(_) | Self::SsoRequired { .. } => 403,
            Self::NotFound(_) => 404,
            Self::Invalid { .. } | Self::Choose { .. } => 422,
            Self::Conflict(_) => 409,
            Self::TooManyAttempts(_) => 429,
            Self::Internal { .. } => 500,
            Self::Request(_) => 400,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Request(value.to_string())
    }
}
