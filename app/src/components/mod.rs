//! Widgets shared by pages: form feedback, copyable values, the signed-in frame.

mod copy_field;
mod feedback;
mod frame;

pub use copy_field::CopyField;
pub use feedback::{ErrorBanner, FieldError, Notice};
pub use frame::TopBar;
