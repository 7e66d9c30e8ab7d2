//! One file per route (the SSO tab: one folder, a file per section). Pages render on the server; the forms in them are islands that hydrate in the browser.

pub mod account;
pub mod confirm_email;
mod connection_forms;
mod connection_settings;
pub mod home;
pub mod invitation;
pub mod members;
pub mod not_found;
pub mod settings;
pub mod setup;
pub mod setup_guides;
mod setup_links;
pub mod sign_in;
pub mod sign_up;
pub mod sso;

/// Percent-encodes a value for a query string (`next=`, `email=` in sign-in and invitation links).
pub(crate) fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
