//! Widgets shared by pages: forms that post to server functions, form feedback, copyable values, the signed-in
//! frame.

mod add_row;
mod api_form;
mod copy_field;
mod domain_watch;
mod feedback;
mod frame;
#[cfg(feature = "hydrate")]
mod refresh;

pub use add_row::AddRow;
pub(crate) use api_form::submit;
pub use api_form::{AfterSuccess, ApiForm};
pub use copy_field::{CopyButton, CopyField};
pub use domain_watch::DomainWatch;
pub use feedback::{ErrorBanner, FieldError, Notice, ReturnedError};
pub use frame::{AuthCard, TopBar};
