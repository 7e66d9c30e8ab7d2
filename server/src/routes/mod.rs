//! Plain HTTP routes outside the Leptos app, and what they share: the signed-in caller.

pub mod health;
pub mod saml;
pub mod sso_events;

use crate::AppState;
use axum::http::HeaderMap;
use gatehouse_core::Caller;
use gatehouse_web::cookies::{SESSION_COOKIE, cookie_value};

/// The caller behind the request's session cookie, if it names a live session.
async fn signed_in_caller(state: &AppState, headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Caller> {
    let token = cookie_value(headers, SESSION_COOKIE)?;
    state.services.auth.authenticate(&token, now).await.ok()
}
