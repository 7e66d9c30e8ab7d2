//! The raw SAML response kept with an SSO event, for the account's Owners and Admins: served on its own (as
//! inert text) rather than inside the SSO page, which would otherwise carry every kept response.

use super::signed_in_caller;
use crate::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use gatehouse_core::AccountId;
use gatehouse_core::audit::AuditError;
use gatehouse_core::tenancy::TenancyError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/accounts/{account}/sso/events/{reference}/response", get(raw_response))
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, "sandbox"),
        ],
        body,
    )
        .into_response()
}

async fn raw_response(
    State(state): State<AppState>,
    Path((account, reference)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Ok(account_id) = account.parse::<AccountId>() else {
        return text(StatusCode::NOT_FOUND, "No such account.\n".into());
    };
    let Some(caller) = signed_in_caller(&state, &headers, chrono::Utc::now()).await else {
        let here: String = url::form_urlencoded::byte_serialize(
            format!("/accounts/{account_id}/sso/events/{reference}/response").as_bytes(),
        )
        .collect();
        return Redirect::to(&format!("/sign-in?next={here}")).into_response();
    };
    match state
        .services
        .audit
        .sso_event_response(&caller, account_id, &reference)
        .await
    {
        Ok(Some(xml)) => text(StatusCode::OK, xml),
        Ok(None) => text(
            StatusCode::NOT_FOUND,
            "This event's raw response is no longer kept (see --sso-raw-response-hours), or there is no such event.\n"
                .into(),
        ),
        Err(AuditError::Tenancy(TenancyError::Forbidden { .. } | TenancyError::AccountNotFound)) => text(
            StatusCode::FORBIDDEN,
            "Only the account's Owners and Admins can read SSO events.\n".into(),
        ),
        Err(AuditError::Tenancy(e @ TenancyError::SsoSessionRequired { .. })) => {
            text(StatusCode::FORBIDDEN, format!("{e}\n"))
        }
        Err(e) => {
            let error = app::api::context::internal(format!("raw response of SSO event {reference}: {e}"));
            text(StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n"))
        }
    }
}
