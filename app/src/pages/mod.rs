//! One file per route.

pub mod account;
pub mod home;
pub mod invitation;
pub mod members;
pub mod not_found;
pub mod settings;
pub mod sign_in;
pub mod sign_up;

/// Loads `path` as a whole new page, so everything on it (the top bar included) reflects the new session.
pub(crate) fn load_page(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}
