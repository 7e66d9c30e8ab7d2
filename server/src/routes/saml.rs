//! Public SAML endpoints of each connection: its SP metadata, the start of SP-initiated sign-in (by connection or
//! by email domain), the Assertion Consumer Service, and single logout (the way on to the IdP after signing out,
//! and the SLO URL where the IdP's LogoutRequests and LogoutResponses arrive).

use super::signed_in_caller;
use crate::AppState;
use app::api::context::safe_return_path;
use app::edge_pages;
use axum::Router;
use axum::extract::{ConnectInfo, Form, Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use gatehouse_core::ConnectionId;
use gatehouse_core::auth::NewSession;
use gatehouse_core::saml::binding::{self, Incoming, Outgoing, Parameter};
use gatehouse_core::sso::refusal::{LogoutRefusal, Refusal};
use gatehouse_core::sso::sign_in::{AcsOutcome, REQUEST_LIFETIME, StartError, Started};
use gatehouse_core::sso::single_logout::{LogoutError, SloOutcome};
use gatehouse_core::sso::test_sso::TestReport;
use gatehouse_core::tenancy::TenancyError;
use gatehouse_web::client_address;
use gatehouse_web::cookies::{SESSION_COOKIE, SameSite, cookie_value, session_cookie, set_cookie};
use std::net::{IpAddr, SocketAddr};
use tower_http::limit::RequestBodyLimitLayer;
use url::Url;

/// The cookie that binds a pending AuthnRequest to the browser that started it.
const BINDING_COOKIE: &str = "gatehouse_sso";

/// The cookie that carries a finished SSO sign-in's session from the ACS to `/sso/complete`, and on to the sign-in
/// switch page while the browser's user decides whether it replaces the session the browser already has.
const PENDING_COOKIE: &str = "gatehouse_pending_sign_in";
/// How long a finished SSO sign-in waits for `/sso/complete` and the switch page's choice.
const PENDING_SECONDS: i64 = 300;

/// The SAML endpoints; the ones that take a SAML message in a body accept at most `saml_max_body_bytes`.
pub fn routes(saml_max_body_bytes: usize) -> Router<AppState> {
    let messages = Router::new()
        .route("/saml/{connection}/acs", post(acs))
        .route("/saml/{connection}/slo", get(slo_redirect).post(slo_post))
        .layer(RequestBodyLimitLayer::new(saml_max_body_bytes));
    Router::new()
        .route("/saml/{connection}/metadata", get(metadata))
        .route("/saml/{connection}/login", get(login))
        .route("/saml/{connection}/test", get(test))
        .route("/saml/{connection}/link", post(link))
        .route("/saml/{connection}/logout", get(logout))
        .route("/sso/start", get(start_by_domain))
        .route("/sso/complete", get(complete))
        .route("/sso/switch", post(switch))
        .merge(messages)
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

const BACK_TO_SIGN_IN: (&str, &str) = ("Back to sign-in", "/sign-in");

/// A page for the end user: a short reason, and a reference the owner finds in the SSO events.
fn end_user_page(status: StatusCode, message: &str, reference: Option<&str>) -> Response {
    notice_page(
        status,
        "Single sign-on did not work",
        message,
        reference,
        BACK_TO_SIGN_IN,
    )
}

/// A small page with a heading, a message, an optional reference for the owner, and the way back (`back` names
/// it, `back_to` is where it goes).
fn notice_page(
    status: StatusCode,
    heading: &str,
    message: &str,
    reference: Option<&str>,
    (back, back_to): (&str, &str),
) -> Response {
    let body = edge_pages::notice(heading, message, reference, back, back_to);
    (status, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// Starts SP-initiated sign-in through a connection: stores the request, sets the binding cookie, and sends the
/// browser to the IdP in the connection's binding.
async fn login(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<LoginQuery>,
) -> Response {
    let Ok(id) = connection.parse::<ConnectionId>() else {
        return end_user_page(
            StatusCode::NOT_FOUND,
            "This sign-in address is not a known SSO connection.",
            None,
        );
    };
    if let Some(wait) = past_its_starts(&state, &headers, peer) {
        return wait;
    }
    start_sign_in(&state, id, query.return_to.as_deref()).await
}

/// The page that asks a client to wait, when it has started its allowance of sign-ins this minute. Checked before
/// anything is looked up, so that a flood of made-up connections or domains costs no read either.
fn past_its_starts(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> Option<Response> {
    let client = client_address(state.services.trust_forwarded_for, headers, Some(peer.ip()));
    if state.services.sso.may_start(client, chrono::Utc::now()) {
        return None;
    }
    let mut page = end_user_page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many sign-ins were started from your network in the last minute. Wait a minute, then try again.",
        None,
    );
    page.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("60"));
    Some(page)
}

/// Starts SP-initiated sign-in through the connection `id`, for the login URL and for discovery by domain alike.
async fn start_sign_in(state: &AppState, id: ConnectionId, return_to: Option<&str>) -> Response {
    let return_to = return_to.map(|p| safe_return_path(Some(p)));
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
    to_idp(state, id, started)
}

/// Starts the Owner's Test SSO run of a connection, exactly like a sign-in: the binding cookie, then the IdP.
async fn test(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    Query(query): Query<LoginQuery>,
    headers: HeaderMap,
) -> Response {
    let Ok(id) = connection.parse::<ConnectionId>() else {
        return end_user_page(StatusCode::NOT_FOUND, "This is not a known SSO connection.", None);
    };
    let now = chrono::Utc::now();
    let Some(caller) = signed_in_caller(&state, &headers, now).await else {
        let here: String = url::form_urlencoded::byte_serialize(format!("/saml/{id}/test").as_bytes()).collect();
        return Redirect::to(&format!("/sign-in?next={here}")).into_response();
    };
    // A way back that is not a page of this site is dropped: the report is then shown at the end of the run.
    let return_to = query
        .return_to
        .as_deref()
        .map(|p| safe_return_path(Some(p)))
        .filter(|p| p != "/");
    match state.services.sso.start_test(&caller, id, return_to, now).await {
        Ok(started) => to_idp(&state, id, started),
        Err(StartError::NoConnection | StartError::Tenancy(TenancyError::AccountNotFound)) => {
            end_user_page(StatusCode::NOT_FOUND, "This is not a known SSO connection.", None)
        }
        Err(StartError::Tenancy(TenancyError::Forbidden { .. } | TenancyError::SetupLinkOnly)) => end_user_page(
            StatusCode::FORBIDDEN,
            "Only the account's Owner can test single sign-on.",
            None,
        ),
        Err(StartError::Tenancy(e @ TenancyError::SsoSessionRequired { .. })) => {
            end_user_page(StatusCode::FORBIDDEN, &e.to_string(), None)
        }
        Err(e) => internal(format!("starting Test SSO for {id}: {e}")),
    }
}

#[derive(serde::Deserialize)]
struct LinkForm {
    /// The connection card's page, where the Owner comes back to.
    #[serde(default)]
    return_to: String,
}

/// Starts the Owner's deliberate link of their own user to their identity at the connection's IdP (a form post
/// from the connection card: the `SameSite=Lax` session cookie comes only with a same-site post).
async fn link(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    headers: HeaderMap,
    Form(form): Form<LinkForm>,
) -> Response {
    let Ok(id) = connection.parse::<ConnectionId>() else {
        return end_user_page(StatusCode::NOT_FOUND, "This is not a known SSO connection.", None);
    };
    let now = chrono::Utc::now();
    let Some(caller) = signed_in_caller(&state, &headers, now).await else {
        return Redirect::to("/sign-in").into_response();
    };
    let back = safe_return_path(Some(&form.return_to));
    match state
        .services
        .sso
        .start_link(&caller, id, Some(back.clone()), now)
        .await
    {
        Ok(started) => to_idp(&state, id, started),
        Err(StartError::NoConnection | StartError::Tenancy(TenancyError::AccountNotFound)) => {
            end_user_page(StatusCode::NOT_FOUND, "This is not a known SSO connection.", None)
        }
        Err(StartError::Tenancy(TenancyError::Forbidden { .. } | TenancyError::SetupLinkOnly)) => notice_page(
            StatusCode::FORBIDDEN,
            "Linking did not start",
            "Only the account's Owner links their own sign-in to the identity provider.",
            None,
            ("Back to single sign-on", &back),
        ),
        Err(e @ StartError::OwnDomainNotRouted(_)) => notice_page(
            StatusCode::CONFLICT,
            "Linking did not start",
            &e.to_string(),
            None,
            ("Back to single sign-on", &back),
        ),
        Err(e) => internal(format!("starting the Owner's link for {id}: {e}")),
    }
}

/// Sends the browser to the IdP with a SAML message: a redirect, or an auto-submitting form for HTTP-POST.
fn send(outgoing: Outgoing, doing: &str) -> Response {
    match outgoing {
        Outgoing::Redirect(url) => Redirect::to(url.as_str()).into_response(),
        Outgoing::Post {
            action,
            parameter,
            message,
            relay_state,
        } => Html(edge_pages::posting_to_idp(
            doing,
            action.as_str(),
            parameter.name(),
            &message,
            &relay_state,
        ))
        .into_response(),
    }
}

/// The browser's way to the IdP for a started request, with the cookie that binds the request to it.
fn to_idp(state: &AppState, id: ConnectionId, started: Started) -> Response {
    let cookie = binding_cookie(state, id, &started.browser_token, REQUEST_LIFETIME.num_seconds());
    let mut response = send(started.outgoing, "Signing in");
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

/// `/sso/start?saml_domain=example.com`, as IdP portals and "Test this application" buttons use it: straight on
/// to the IdP of the connection the domain signs in through, without a redirect to its login URL in between (one
/// round trip of the user's browser fewer).
async fn start_by_domain(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(query): Query<StartQuery>,
) -> Response {
    if let Some(wait) = past_its_starts(&state, &headers, peer) {
        return wait;
    }
    match state.services.sso.connection_for_domain(&query.saml_domain).await {
        Ok(Some(connection)) => start_sign_in(&state, connection, query.return_to.as_deref()).await,
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
    let cross_site = state.services.secure_cookies || is_loopback(&state.public_url);
    let same_site = if cross_site { SameSite::None } else { SameSite::Lax };
    let path = format!("/saml/{id}/acs");
    set_cookie(BINDING_COOKIE, value, path, max_age_seconds, same_site, cross_site)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost" || name.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// The Assertion Consumer Service (HTTP-POST binding). The IdP's page posts here from another site, so the
/// browser withholds its `SameSite=Lax` session cookie: a finished sign-in is handed on in the pending cookie to
/// `/sso/complete`, which sees both and decides whether the browser's session is replaced.
async fn acs(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
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
    let client = client_address(state.services.trust_forwarded_for, &headers, Some(peer.ip()));
    let result = state
        .services
        .sso
        .acs(
            id,
            &form.saml_response,
            &form.relay_state,
            binding.as_deref(),
            client,
            chrono::Utc::now(),
        )
        .await;
    let mut response = match result {
        Ok(AcsOutcome::Tested(report)) => match &report.return_to {
            Some(back) => continue_page("Test finished", back),
            None => report_page(&report),
        },
        Ok(AcsOutcome::Linked(linked)) => notice_page(
            StatusCode::OK,
            "Your sign-in is linked",
            &format!(
                "{} now signs you in as {} (NameID {}). Your password keeps working as the account's way in when \
                 the identity provider cannot.",
                linked.connection_label, linked.email, linked.name_id
            ),
            None,
            (
                "Back to the connection",
                &format!("/accounts/{}/sso/connections/{}", linked.account, linked.connection),
            ),
        ),
        Ok(AcsOutcome::SignedIn(signed_in)) => {
            // Without a page to return to, the user lands in the account whose IdP they came through.
            let target = signed_in
                .return_to
                .clone()
                .unwrap_or_else(|| format!("/accounts/{}", signed_in.account));
            let complete = format!(
                "/sso/complete?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", &target)
                    .finish()
            );
            with_cookie(
                continue_page("Signing you in…", &complete),
                &pending_cookie(&state, &pending_value(&signed_in.session), PENDING_SECONDS),
            )
        }
        Err(refused) => {
            let (status, message) = told_to_the_user(&refused.refusal);
            let message = match refused.user_hint {
                Some(hint) => format!("{message} {hint}"),
                None => message.to_owned(),
            };
            end_user_page(status, &message, refused.reference.as_deref())
        }
    };
    if let Ok(value) = HeaderValue::from_str(&binding_cookie(&state, id, "", 0)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// The page that moves a finished sign-in on to `complete`. A redirect would not do: a navigation redirected from
/// another site's post stays cross-site to the browser, which then still withholds the session cookie; this
/// page's own navigation is same-site.
fn continue_page(headline: &str, complete: &str) -> Response {
    let body = edge_pages::moving_on(headline, complete);
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

/// `response` with one more `Set-Cookie`.
fn with_cookie(mut response: Response, cookie: &str) -> Response {
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            response.headers_mut().append(header::SET_COOKIE, value);
            response
        }
        Err(e) => internal(format!("cookie: {e}")),
    }
}

/// `response` with the cookie that carries the session `token` until `expires_at`.
fn with_session(response: Response, state: &AppState, token: &str, expires_at: DateTime<Utc>) -> Response {
    with_cookie(
        response,
        &session_cookie(token, expires_at, state.services.secure_cookies),
    )
}

/// The cookie that holds a finished sign-in's session until the browser's user has it (`/sso/complete`) or
/// decides on the switch page; `SameSite=Lax`, so only a same-site navigation or post brings it back.
fn pending_cookie(state: &AppState, value: &str, max_age_seconds: i64) -> String {
    set_cookie(
        PENDING_COOKIE,
        value,
        "/sso".to_owned(),
        max_age_seconds,
        SameSite::Lax,
        state.services.secure_cookies,
    )
}

fn pending_value(session: &NewSession) -> String {
    format!("{}.{}", session.expires_at.timestamp(), session.token)
}

/// The finished sign-in in the request's pending cookie: its session token and when that session ends.
fn pending_session(headers: &HeaderMap) -> Option<(String, DateTime<Utc>)> {
    let value = cookie_value(headers, PENDING_COOKIE)?;
    let (expires_at, token) = value.split_once('.')?;
    // Only the ACS sets this cookie; a value of another shape is nobody's sign-in and is never handed on.
    if !gatehouse_core::token::is_well_formed(token) {
        return None;
    }
    let expires_at = DateTime::from_timestamp(expires_at.parse().ok()?, 0)?;
    Some((token.to_owned(), expires_at))
}

#[derive(serde::Deserialize)]
struct CompleteQuery {
    #[serde(default)]
    next: String,
}

/// The same-site end of an SSO sign-in: the browser now sends its own session cookie beside the pending one.
/// Never replace another user's session silently: a stranger's link to their own IdP (or a page posting their
/// response to the ACS) would otherwise sign this browser in as the stranger.
async fn complete(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<CompleteQuery>) -> Response {
    let now = chrono::Utc::now();
    let target = safe_return_path(Some(&query.next));
    let current = signed_in_caller(&state, &headers, now).await;
    let Some((token, expires_at)) = pending_session(&headers) else {
        // Loaded again after it finished: the browser already has the session.
        return match current {
            Some(_) => Redirect::to(&target).into_response(),
            None => expired_choice(),
        };
    };
    let auth = &state.services.auth;
    let Some(current) = current else {
        // Nobody is signed in here, so there is nobody to ask and the session is not read: should it have ended
        // since the ACS opened it, the cookie opens nothing and the next page asks the user to sign in.
        return hand_over(&state, &target, &token, expires_at);
    };
    let incoming = match auth.authenticate(&token, now).await {
        Ok(incoming) => incoming,
        Err(_) => return with_cookie(expired_choice(), &pending_cookie(&state, "", 0)),
    };
    if current.user_id != incoming.user_id {
        return switch_page(&current.shown_as(), &incoming.email, &target);
    }
    // The same user signing in again: the new session (opened through the IdP) replaces the old one.
    if let Some(old) = cookie_value(&headers, SESSION_COOKIE)
        && old != token
        && let Err(e) = auth.sign_out(&old).await
    {
        return internal(format!("ending the replaced session: {e}"));
    }
    hand_over(&state, &target, &token, expires_at)
}

/// A redirect to `target` that gives the browser the finished sign-in's session and clears the pending cookie.
fn hand_over(state: &AppState, target: &str, token: &str, expires_at: DateTime<Utc>) -> Response {
    let response = with_session(Redirect::to(target).into_response(), state, token, expires_at);
    with_cookie(response, &pending_cookie(state, "", 0))
}

fn expired_choice() -> Response {
    end_user_page(
        StatusCode::BAD_REQUEST,
        "This sign-in has expired or was already completed. Start it again.",
        None,
    )
}

/// Asks the browser's user whether the SSO sign-in that just finished (`incoming`) replaces the session of the
/// user already signed in here (`current`).
fn switch_page(current: &str, incoming: &str, target: &str) -> Response {
    let body = edge_pages::switch_user(current, incoming, target);
    (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Html(body)).into_response()
}

#[derive(serde::Deserialize)]
struct SwitchForm {
    choice: String,
    #[serde(default)]
    next: String,
}

/// The switch page's answer: continue with the new session (the old one ends) or stay (the new one ends).
async fn switch(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<SwitchForm>) -> Response {
    let Some(pending) = pending_session(&headers) else {
        return expired_choice();
    };
    let auth = &state.services.auth;
    let now = chrono::Utc::now();
    let (ended, kept) = match form.choice.as_str() {
        "switch" => (cookie_value(&headers, SESSION_COOKIE), Some(pending)),
        _ => (Some(pending.0), None),
    };
    if let Some(token) = ended
        && let Err(e) = auth.sign_out(&token).await
    {
        return internal(format!("ending a session at the sign-in switch: {e}"));
    }
    let response = match kept {
        Some((token, expires_at)) => match auth.authenticate(&token, now).await {
            Ok(_) => with_session(
                Redirect::to(&safe_return_path(Some(&form.next))).into_response(),
                &state,
                &token,
                expires_at,
            ),
            Err(_) => expired_choice(),
        },
        None => Redirect::to("/").into_response(),
    };
    with_cookie(response, &pending_cookie(&state, "", 0))
}

#[derive(serde::Deserialize)]
struct LogoutQuery {
    request: String,
}

/// After signing out of Gatehouse: on to the IdP with the stored LogoutRequest.
async fn logout(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    Query(query): Query<LogoutQuery>,
) -> Response {
    let Ok(id) = connection.parse::<ConnectionId>() else {
        return Redirect::to("/sign-in").into_response();
    };
    match state
        .services
        .sso
        .logout_request(id, &query.request, chrono::Utc::now())
        .await
    {
        Ok(outgoing) => send(outgoing, "Signing out"),
        Err(e @ LogoutError::UnknownRequest) => signed_out_page(&e.to_string()),
        Err(e) => internal(format!("single logout of {id}: {e}")),
    }
}

fn signed_out_page(message: &str) -> Response {
    notice_page(
        StatusCode::OK,
        "You are signed out",
        message,
        None,
        ("Sign in again", "/sign-in"),
    )
}

#[derive(serde::Deserialize)]
struct SloForm {
    #[serde(rename = "SAMLRequest")]
    saml_request: Option<String>,
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

/// The SLO URL, HTTP-Redirect binding: the raw query, whose exact bytes the IdP's signature covers.
async fn slo_redirect(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let client = client_address(state.services.trust_forwarded_for, &headers, Some(peer.ip()));
    slo(
        state,
        &connection,
        client,
        binding::from_redirect(query.as_deref().unwrap_or_default()),
    )
    .await
}

/// The SLO URL, HTTP-POST binding.
async fn slo_post(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SloForm>,
) -> Response {
    let client = client_address(state.services.trust_forwarded_for, &headers, Some(peer.ip()));
    let incoming = match (form.saml_request, form.saml_response) {
        (Some(message), None) => binding::from_post(Parameter::SamlRequest, &message, form.relay_state.as_deref()),
        (None, Some(message)) => binding::from_post(Parameter::SamlResponse, &message, form.relay_state.as_deref()),
        (None, None) => Err(binding::DecodeError::Missing),
        (Some(_), Some(_)) => Err(binding::DecodeError::Repeated("a SAML message")),
    };
    slo(state, &connection, client, incoming).await
}

/// A LogoutRequest from the IdP is carried out and answered; a LogoutResponse completes a sign-out. A message
/// that cannot even be decoded changes nothing and is not recorded (it names no verifiable sender).
async fn slo(
    state: AppState,
    connection: &str,
    client: Option<IpAddr>,
    incoming: Result<Incoming, binding::DecodeError>,
) -> Response {
    let Ok(id) = connection.parse::<ConnectionId>() else {
        return end_user_page(
            StatusCode::NOT_FOUND,
            "This sign-out address is not a known SSO connection.",
            None,
        );
    };
    let incoming = match incoming {
        Ok(incoming) => incoming,
        Err(e) => {
            tracing::info!(connection = %id, error = %e, "undecodable message at the SLO URL");
            return notice_page(
                StatusCode::BAD_REQUEST,
                "Sign-out did not complete",
                &format!("The sign-out message could not be read: {e}."),
                None,
                BACK_TO_SIGN_IN,
            );
        }
    };
    let heading = match incoming.parameter {
        Parameter::SamlRequest => "Sign-out did not complete",
        Parameter::SamlResponse => "You are signed out of Gatehouse",
    };
    match state.services.sso.slo(id, &incoming, client, chrono::Utc::now()).await {
        Ok(SloOutcome::Answered { outgoing, .. }) => send(outgoing, "Signing out"),
        Ok(SloOutcome::Completed { idp_failure: None }) => {
            signed_out_page("You are signed out of Gatehouse and of your identity provider.")
        }
        Ok(SloOutcome::Completed { idp_failure: Some(_) }) => signed_out_page(
            "You are signed out of Gatehouse. Your identity provider could not sign you out of every application: close your browser to be sure.",
        ),
        Err(refused) => {
            let (status, message) = told_of_the_logout(&refused.refusal);
            notice_page(status, heading, message, refused.reference.as_deref(), BACK_TO_SIGN_IN)
        }
    }
}

/// What the person signing out is told of a refused logout message: the owner reads the detail under the
/// reference in the SSO events.
fn told_of_the_logout(refusal: &LogoutRefusal) -> (StatusCode, &'static str) {
    let message = match refusal {
        LogoutRefusal::TooManyRefused => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-out messages were refused here in the last minute. Wait a minute, then try again.",
            );
        }
        LogoutRefusal::Unavailable(_) => "Single sign-on is unavailable right now.",
        LogoutRefusal::UnknownConnection(_) => "This sign-out address is not a known SSO connection.",
        LogoutRefusal::Request(_) | LogoutRefusal::ReplayedRequest(_) => {
            "Your identity provider's sign-out request was refused."
        }
        // Gatehouse's session ended before the browser went to the IdP, whatever its answer says.
        LogoutRefusal::Response(_) => {
            "You are signed out of Gatehouse, but your identity provider's answer could not be verified: close your \
             browser to be sure you are signed out there too."
        }
        LogoutRefusal::UnansweredResponse(_) => {
            "This sign-out has expired or was already completed. You are signed out of Gatehouse."
        }
        LogoutRefusal::CannotAnswer { .. } => {
            "You are signed out of Gatehouse, but it could not answer your identity provider."
        }
    };
    (StatusCode::BAD_REQUEST, message)
}

/// What the person signing in is told of a refused response, in a few plain words: the owner reads the detail
/// under the reference in the SSO events.
fn told_to_the_user(refusal: &Refusal) -> (StatusCode, &'static str) {
    const EXPIRED: &str = "This sign-in has expired or was already used. Start again from the sign-in page.";
    const REFUSED: &str = "Your identity provider's answer was refused.";
    let message = match refusal {
        Refusal::TooManyRefused => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-in attempts were refused here in the last minute. Wait a minute, then start again \
                 from the sign-in page.",
            );
        }
        Refusal::Unavailable(_) | Refusal::CheckStopped(_) => "Single sign-on is unavailable right now.",
        Refusal::UnknownConnection(_) => "This sign-in address is not a known SSO connection.",
        Refusal::SsoOff => "Single sign-on is turned off for this account.",
        Refusal::OtherBrowser => {
            "This sign-in was started in another browser, or your browser blocked its cookie. Start again here."
        }
        Refusal::RequestUsed(_)
        | Refusal::UnknownRequest(_)
        | Refusal::OtherConnection
        | Refusal::RequestExpired(_) => EXPIRED,
        Refusal::NotOwnersTest(_) => "Only the account's Owner can test single sign-on.",
        Refusal::TooLarge | Refusal::NotBase64(_) | Refusal::Response(_) | Refusal::Replayed(_) => REFUSED,
        Refusal::EmailMissing(_) | Refusal::EmailUnusable { .. } => {
            "Your identity provider did not send a usable email address."
        }
        Refusal::DomainNotVerified(_) => {
            "Your email address's domain is not set up for single sign-on with this account."
        }
        Refusal::DomainRoutedElsewhere { .. } | Refusal::DomainRoutedToPassword(_) => {
            "Your email address's domain does not sign in through this identity provider. Start again from the \
             sign-in page with your email address."
        }
        Refusal::OwnerSignsInWithPassword(_) => {
            "This account's Owner signs in with their password, not through single sign-on."
        }
        Refusal::LinkedDomainNotRouted { .. } => {
            "Your account's email domain does not sign in through this identity provider any more. Ask your \
             administrator."
        }
        Refusal::NoLongerOwner(_) => "Only the account's Owner can link their own sign-in.",
        Refusal::OtherIdentity { .. } => {
            "Your identity provider signed in someone else. Sign out there, then link again as yourself."
        }
        Refusal::NameIdTaken(_) => "This identity at your identity provider already signs in another user.",
    };
    (StatusCode::FORBIDDEN, message)
}

/// The Owner's Test SSO report: the verdict, every check, what the response gives, and the response itself.
fn report_page(report: &TestReport) -> Response {
    let body = edge_pages::test_report(report);
    (
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(body),
    )
        .into_response()
}
