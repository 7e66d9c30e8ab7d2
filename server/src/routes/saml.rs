//! Public SAML endpoints of each connection: its SP metadata, the start of SP-initiated sign-in (by connection or
//! by email domain), and the Assertion Consumer Service.

use crate::AppState;
use app::api::context::{safe_return_path, session_cookie};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use gatehouse_core::ConnectionId;
use gatehouse_core::sso::authn_request::Outgoing;
use gatehouse_core::sso::sign_in::{REQUEST_LIFETIME, StartError};
use url::Url;

/// The cookie that binds a pending AuthnRequest to the browser that started it.
const BINDING_COOKIE: &str = "gatehouse_sso";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/saml/{connection}/metadata", get(metadata))
        .route("/saml/{connection}/login", get(login))
        .route("/saml/{connection}/acs", post(acs))
        .route("/sso/start", get(start_by_domain))
}

#[derive(serde::Deserialize)]
struct MetadataQuery {
    /// Set by the page's download link: save the file rather than show it.
    #[serde(default)]
    download: bool,
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "No such SAML connection.\n").into_response()
}

fn internal(what: String) -> Response {
    let error = app::api::context::internal(what);
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response()
}

async fn metadata(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    Query(query): Query<MetadataQuery>,
) -> Response {
    let Ok(id) = connection.parse::<ConnectionId>() else {
        return not_found();
    };
    match state.services.connections.service_provider_metadata(id).await {
        Ok(Some(xml)) => {
            let disposition = if query.download {
                format!("attachment; filename=\"gatehouse-sp-metadata-{id}.xml\"")
            } else {
                "inline".to_owned()
            };
            (
                [
                    (header::CONTENT_TYPE, "application/samlmetadata+xml".to_owned()),
                    (header::CONTENT_DISPOSITION, disposition),
                    (header::CACHE_CONTROL, "no-cache".to_owned()),
                ],
                xml,
            )
                .into_response()
        }
        Ok(None) => not_found(),
        Err(e) => internal(format!("serving SP metadata of {id}: {e}")),
    }
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    /// A same-origin path to open after sign-in.
    return_to: Option<String>,
}

/// A page for the end user: a short reason, and a reference the owner finds in the SSO events.
fn end_user_page(status: StatusCode, message: &str, reference: Option<&str>) -> Response {
    let escape = |text: &str| text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let reference = reference
        .map(|r| format!("<p>Reference for your administrator: <code>{}</code></p>", escape(r)))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Sign-in failed · Gatehouse</title><link rel=\"stylesheet\" href=\"/pkg/gatehouse.css\"></head><body><main class=\"auth-page\"><div class=\"auth-card\"><h2>Single sign-on did not work</h2><p>{}</p>{reference}<p><a class=\"button secondary\" href=\"/sign-in\">Back to sign-in</a></p></div></main></body></html>",
        escape(message)
    );
    (status, Html(body)).into_response()
}

/// Starts SP-initiated sign-in through a connection: stores the request, sets the binding cookie, and sends the
/// browser to the IdP in the connection's binding.
async fn login(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    Query(query): Query<LoginQuery>,
) -> Response {
    let Ok(id) = connection.parse::<ConnectionId>() else {
        return end_user_page(
            StatusCode::NOT_FOUND,
            "This sign-in address is not a known SSO connection.",
            None,
        );
    };
    let return_to = query.return_to.as_deref().map(|p| safe_return_path(Some(p)));
    let started = match state.services.sso.start(id, return_to, chrono::Utc::now()).await {
        Ok(started) => started,
        Err(StartError::NoConnection) => {
            return end_user_page(
                StatusCode::NOT_FOUND,
                "This sign-in address is not a known SSO connection.",
                None,
            );
        }
        Err(StartError::SsoOff) => {
            return end_user_page(
                StatusCode::FORBIDDEN,
                "Single sign-on is turned off for this account.",
                None,
            );
        }
        Err(e) => return internal(format!("starting SSO for {id}: {e}")),
    };
    let cookie = binding_cookie(&state, id, &started.browser_token, REQUEST_LIFETIME.num_seconds());
    let mut response = match started.outgoing {
        Outgoing::Redirect(url) => Redirect::to(url.as_str()).into_response(),
        Outgoing::Post {
            action,
            saml_request,
            relay_state,
        } => Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signing in · Gatehouse</title></head><body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"SAMLRequest\" value=\"{saml_request}\"><input type=\"hidden\" name=\"RelayState\" value=\"{relay_state}\"><noscript><p>Your browser does not run scripts; continue to your identity provider:</p></noscript><button type=\"submit\">Continue to sign in</button></form></body></html>",
            action.as_str().replace('&', "&amp;").replace('"', "&quot;")
        ))
        .into_response(),
    };
    match HeaderValue::from_str(&cookie) {
        Ok(value) => {
            response.headers_mut().append(header::SET_COOKIE, value);
            response
        }
        Err(e) => internal(format!("binding cookie: {e}")),
    }
}

#[derive(serde::Deserialize)]
struct StartQuery {
    saml_domain: String,
    return_to: Option<String>,
}

/// `/sso/start?saml_domain=example.com`, as IdP portals and "Test this application" buttons use it.
async fn start_by_domain(State(state): State<AppState>, Query(query): Query<StartQuery>) -> Response {
    match state.services.sso.connection_for_domain(&query.saml_domain).await {
        Ok(Some(connection)) => {
            let mut target = format!("/saml/{connection}/login");
            if let Some(path) = query.return_to.as_deref() {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(safe_return_path(Some(path)).as_bytes()).collect();
                target.push_str(&format!("?return_to={encoded}"));
            }
            Redirect::to(&target).into_response()
        }
        Ok(None) => end_user_page(
            StatusCode::NOT_FOUND,
            "Single sign-on is not set up for this domain. Sign in with your password instead.",
            None,
        ),
        Err(e) => internal(format!("looking up SSO for {}: {e}", query.saml_domain)),
    }
}

#[derive(serde::Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
    #[serde(rename = "RelayState", default)]
    relay_state: String,
}

/// The cookie that binds a pending request to the browser that started it, sent only to the ACS.
fn binding_cookie(state: &AppState, id: ConnectionId, value: &str, max_age_seconds: i64) -> String {
    // The IdP's POST to the ACS is a cross-site request: only a `SameSite=None` cookie (which must be `Secure`)
    // comes with it. Browsers keep `Secure` cookies over https and on loopback (a secure context even over http);
    // anywhere else over plain http they drop them, so `Lax` serves same-site development set-ups there.
    let same_site = if state.services.secure_cookies || is_loopback(&state.public_url) {
        "None; Secure"
    } else {
        "Lax"
    };
    format!("{BINDING_COOKIE}={value}; Max-Age={max_age_seconds}; Path=/saml/{id}/acs; HttpOnly; SameSite={same_site}")
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost" || name.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

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

/// The Assertion Consumer Service (HTTP-POST binding): on success the session cookie is set on this very
/// response, before the redirect into the dashboard.
async fn acs(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AcsForm>,
) -> Response {
    let Ok(id) = connection.parse::<ConnectionId>() else {
        return end_user_page(
            StatusCode::NOT_FOUND,
            "This sign-in address is not a known SSO connection.",
            None,
        );
    };
    let binding = cookie_value(&headers, BINDING_COOKIE);
    let result = state
        .services
        .sso
        .sign_in(
            id,
            &form.saml_response,
            &form.relay_state,
            binding.as_deref(),
            chrono::Utc::now(),
        )
        .await;
    let clear_binding = binding_cookie(&state, id, "", 0);
    let mut response = match result {
        Ok(signed_in) => {
            // Without a page to return to, the user lands in the account whose IdP they came through.
            let target = signed_in
                .return_to
                .unwrap_or_else(|| format!("/accounts/{}", signed_in.account));
            let mut response = Redirect::to(&target).into_response();
            let session = session_cookie(
                &signed_in.session.token,
                signed_in.session.expires_at,
                state.services.secure_cookies,
            );
            match HeaderValue::from_str(&session) {
                Ok(value) => response.headers_mut().append(header::SET_COOKIE, value),
                Err(e) => return internal(format!("session cookie: {e}")),
            };
            response
        }
        Err(refused) => end_user_page(StatusCode::FORBIDDEN, refused.user_message, Some(&refused.reference)),
    };
    if let Ok(value) = HeaderValue::from_str(&clear_binding) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
