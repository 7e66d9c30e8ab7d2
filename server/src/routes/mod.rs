//! Plain HTTP routes outside the Leptos app, and what they share: reading cookies and the signed-in caller.

pub mod health;
pub mod saml;
pub mod sso_events;

use crate::AppState;
use app::api::context::SESSION_COOKIE;
use axum::http::{HeaderMap, header};
use gatehouse_core::Caller;

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The caller behind the request's session cookie, if it names a live session.
async fn signed_in_caller(state: &AppState, headers: &HeaderMap, now: chrono::DateTime<chrono::Utc>) -> Option<Caller> {
    let token = cookie_value(headers, SESSION_COOKIE)?;
    state.services.auth.authenticate(&token, now).await.ok()
}
