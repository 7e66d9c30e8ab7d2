//! An account ready for SSO sign-ins over HTTP (a verified domain routed to a connection to the test IdP, SSO on)
//! and what a browser and the IdP do in one: start, answer, post to the ACS, finish.

use crate::support::{Browser, TestApp, spawn_app_with};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use test_dns::TestDns;
use test_idp::{Spec, build, idp};

pub struct World {
    pub app: TestApp,
    pub owner: Browser,
    pub account: String,
    pub connection: String,
    _dns: TestDns,
}

pub const IDP_SLO_URL: &str = "https://idp.example.com/slo";

/// An account with a verified domain routed to a connection to the test IdP (with single logout), SSO on.
pub async fn world() -> World {
    world_with(&[]).await
}

/// [`world`] with further server flags.
pub async fn world_with(flags: &[&str]) -> World {
    let dns = TestDns::start().await.unwrap();
    let nameserver = dns.addr().to_string();
    let mut args = vec!["--dns-server", &nameserver, "--dns-timeout-seconds", "1"];
    args.extend_from_slice(flags);
    let app = spawn_app_with(&args).await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let added = owner
        .call_ok(
            "/api/domains/add",
            &[("account_id", &account), ("domain", "acme.example")],
        )
        .await;
    dns.set_txt("acme.example", &[&[added["record_value"].as_str().unwrap()]])
        .await;
    let domain_id = added["id"].as_str().unwrap().to_owned();
    owner
        .call_ok(
            "/api/domains/verify",
            &[("account_id", &account), ("domain_id", &domain_id)],
        )
        .await;
    let certificate = idp().certificate.to_pem();
    let created = owner
        .call_ok(
            "/api/sso/create-connection",
            &[
                ("account_id", &account),
                ("label", "Test IdP"),
                ("entity_id", test_idp::IDP),
                ("sso_url", "https://idp.example.com/sso"),
                ("slo_url", IDP_SLO_URL),
                ("certificate", &certificate),
            ],
        )
        .await;
    let connection = created["id"].as_str().unwrap().to_owned();
    owner
        .call_ok(
            "/api/domains/route",
            &[
                ("account_id", &account),
                ("domain_id", &domain_id),
                ("connection_id", &connection),
            ],
        )
        .await;
    owner
        .call_ok(
            "/api/sso/update-policy",
            &[("account_id", &account), ("sso_enabled", "true")],
        )
        .await;
    World {
        app,
        owner,
        account,
        connection,
        _dns: dns,
    }
}

/// The IdP's answer to `request_id`, signed now, for this connection.
pub fn answer(w: &World, request_id: &str, name_id: &str) -> String {
    answer_with(w, request_id, name_id, |_| {})
}

/// [`answer`], changed by `adjust` before it is signed.
pub fn answer_with(w: &World, request_id: &str, name_id: &str, adjust: impl FnOnce(&mut Spec)) -> String {
    let acs = format!("{}/saml/{}/acs", w.app.address, w.connection);
    let now = Utc::now();
    let mut spec = Spec {
        destination: Some(acs.clone()),
        recipient: acs,
        audience: Some(format!("{}/saml/{}/metadata", w.app.address, w.connection)),
        in_response_to: Some(request_id.to_owned()),
        confirmation_in_response_to: Some(request_id.to_owned()),
        name_id: name_id.to_owned(),
        assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
        not_before: now - Duration::minutes(1),
        not_on_or_after: now + Duration::minutes(5),
        confirmation_until: Some(now + Duration::minutes(5)),
        ..Spec::default()
    };
    adjust(&mut spec);
    STANDARD.encode(build(&spec))
}

/// Starts a sign-in at `/sso/start` as a browser does (it goes straight on to the IdP); answers the RelayState the
/// IdP receives.
pub async fn start(w: &World, user: &Browser) -> String {
    let to_idp = user
        .get("/sso/start?saml_domain=Acme.Example&return_to=/accounts/x")
        .await;
    assert_eq!(to_idp.status(), 303);
    let cookie = to_idp.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("gatehouse_sso=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // The test server's public URL is loopback http, a secure context: the cross-site ACS POST must carry it.
    assert!(cookie.contains("SameSite=None; Secure"), "{cookie}");
    assert!(cookie.contains(&format!("Path=/saml/{}/acs", w.connection)));
    let location = url::Url::parse(to_idp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("idp.example.com"));
    assert!(location.query_pairs().any(|(k, _)| k == "SAMLRequest"));
    location
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned()
}

/// Posts `response` to the ACS as the IdP's page does (a cross-site request).
pub async fn post_to_acs_only(w: &World, user: &Browser, response: &str, relay_state: &str) -> reqwest::Response {
    user.client
        .post(format!("{}/saml/{}/acs", user.base, w.connection))
        .header("origin", "https://idp.example.com")
        .form(&[("SAMLResponse", response), ("RelayState", relay_state)])
        .send()
        .await
        .unwrap()
}

/// Starts a sign-in in `user`'s browser and posts the IdP's answer for `name_id` to the ACS, stopping before
/// `/sso/complete`: answers the RelayState and the ACS's response.
pub async fn pending_sign_in(w: &World, user: &Browser, name_id: &str) -> (String, reqwest::Response) {
    let relay_state = start(w, user).await;
    let accepted = post_to_acs_only(w, user, &answer(w, &relay_state, name_id), &relay_state).await;
    (relay_state, accepted)
}

/// Where the ACS's page moves a finished sign-in on to (its `<meta http-equiv="refresh">`), if it is that page.
pub fn continue_url(page: &str) -> Option<String> {
    let (_, rest) = page.split_once("<meta http-equiv=\"refresh\" content=\"0;url=")?;
    Some(rest.split('"').next()?.replace("&amp;", "&"))
}

/// Posts `response` to the ACS and, when it signed someone in, goes on to `/sso/complete` as a browser does:
/// answers that page's response (the redirect into the dashboard, or the switch page).
pub async fn post_to_acs(w: &World, user: &Browser, response: &str, relay_state: &str) -> reqwest::Response {
    let answer = post_to_acs_only(w, user, response, relay_state).await;
    let continuing = answer.status() == 200
        && set_cookies(&answer)
            .iter()
            .any(|c| c.starts_with("gatehouse_pending_sign_in="));
    if !continuing {
        return answer;
    }
    let page = answer.text().await.unwrap();
    user.get(&continue_url(&page).expect("the continue page")).await
}

/// A new browser signed in as `name_id` through the account's connection.
pub async fn signed_in_user(w: &World, name_id: &str) -> Browser {
    let user = Browser::new(&w.app);
    let relay_state = start(w, &user).await;
    let response = post_to_acs(w, &user, &answer(w, &relay_state, name_id), &relay_state).await;
    assert_eq!(response.status(), 303);
    user
}

pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}
