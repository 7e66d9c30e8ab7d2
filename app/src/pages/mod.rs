//! One file per route. Pages render on the server; the forms in them are islands that hydrate in the browser.

pub mod account;
pub mod home;
pub mod invitation;
pub mod members;
pub mod not_found;
pub mod settings;
pub mod sign_in;
pub mod sign_up;
pub mod sso;

/// Loads `path` as a whole new page, so everything on it reflects the change just made.
pub(crate) fn load_page(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Once an action that answers a path (sign-in, sign-up, accepting an invitation) succeeds, opens that path.
pub(crate) fn open_answered_path(result: leptos::prelude::Signal<Option<Result<String, crate::error::AppError>>>) {
    use leptos::prelude::{Effect, Get};
    Effect::new(move |_| {
        if let Some(Ok(path)) = result.get() {
            load_page(&path);
        }
    });
}

/// Renders the current page again from the server, after an action changed what it shows.
pub(crate) fn reload_page() {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().location().reload();
    }
}

/// Percent-encodes a value for a query string (`next=`, `email=` in sign-in and invitation links).
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
