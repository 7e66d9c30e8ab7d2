//! Plain HTTP routes outside the Leptos app.

pub mod health;
pub mod saml;
