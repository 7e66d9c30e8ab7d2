//! What a stranger's posts to the public SAML endpoints can make the server do: fetch nothing, keep no body of a
//! message whose signature did not verify, and past a limit not even check; a body larger than any SAML message
//! is refused at the door; and an SSO sign-in never replaces another user's session without asking.

use crate::sso_world::{World, answer, post_to_acs, start, world, world_with};
use crate::support::Browser;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::saml::response::Rejection;
use gatehouse_core::sso::refusal::{MAX_KEPT_CHARS, Refusal};
use std::net::TcpListener;

/// How a refusal page names the SSO event the owner can look up.
const REFERENCE: &str = "Reference for your administrator";

/// A loopback listener that must never see a connection.
struct Tripwire(TcpListener);

impl Tripwire {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Self(listener)
    }

    fn url(&self) -> String {
        format!("http://{}/x", self.0.local_addr().unwrap())
    }

    fn assert_untouched(&self) {
        match self.0.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the server connected to an outside address: {other:?}"),
        }
    }
}

/// `encoded` (a Base64 SAML message) with its signature's Reference pointing at `uri`.
fn referring_to(encoded: &str, uri: &str) -> String {
    let xml = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
    let start = xml.find("URI=\"#").unwrap() + "URI=\"".len();
    let end = start + xml[start..].find('"').unwrap();
    STANDARD.encode(format!("{}{uri}{}", &xml[..start], &xml[end..]))
}

async fn events(w: &World) -> Vec<serde_json::Value> {
    let events = w.owner.call_ok("/api/sso/events", &[("account_id", &w.account)]).await;
    events.as_array().unwrap().clone()
}

/// The account's SSO events as the store keeps them.
async fn kept_events(w: &World) -> Vec<gatehouse_core::store::SsoEventRow> {
    let store = w.app.store().await;
    store.sso_events(w.account.parse().unwrap(), None, 25).await.unwrap()
}

/// This process's resident memory (the server under test runs in it), from `/proc/self/status`.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[tokio::test]
async fn a_signature_over_an_endless_file_reads_nothing_and_memory_stays_flat() {
    let w = world().await;
    let user = Browser::new(&w.app);
    let before = resident_bytes();
    for _ in 0..3 {
        let relay_state = start(&w, &user).await;
        let endless = referring_to(&answer(&w, &relay_state, "ada@acme.example"), "file:///dev/zero");
        assert_eq!(post_to_acs(&w, &user, &endless, &relay_state).await.status(), 403);
    }
    let logout = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_l1" Version="2.0" IssueInstant="{}"><saml:Issuer>{}</saml:Issuer>{}<saml:NameID>ada@acme.example</saml:NameID></samlp:LogoutRequest>"#,
        chrono::Utc::now().to_rfc3339(),
        test_idp::IDP,
        test_idp::signature_template("_l1", false, None).replace("#_l1", "file:///dev/zero"),
    );
    let slo = user
        .client
        .post(format!("{}/saml/{}/slo", w.app.address, w.connection))
        .form(&[("SAMLRequest", STANDARD.encode(logout))])
        .send()
        .await
        .unwrap();
    assert_eq!(slo.status(), 400);
    // Reading /dev/zero once grew the process by gigabytes within seconds; a refused message allocates nothing
    // that lasts.
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 64 << 20, "the server grew by {} MiB", grown >> 20);
}

#[tokio::test]
async fn signatures_reaching_outside_make_the_acs_and_slo_fetch_nothing() {
    let w = world().await;
    let tripwire = Tripwire::new();
    let user = Browser::new(&w.app);
    let relay_state = start(&w, &user).await;
    let hostile = referring_to(&answer(&w, &relay_state, "ada@acme.example"), &tripwire.url());
    let refused = post_to_acs(&w, &user, &hostile, &relay_state).await;
    assert_eq!(refused.status(), 403);

    let logout = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_l1" Version="2.0" IssueInstant="{}"><saml:Issuer>{}</saml:Issuer>{}<saml:NameID>ada@acme.example</saml:NameID></samlp:LogoutRequest>"#,
        chrono::Utc::now().to_rfc3339(),
        test_idp::IDP,
        test_idp::signature_template("_l1", false, None).replace("#_l1", &tripwire.url()),
    );
    let slo = user
        .client
        .post(format!("{}/saml/{}/slo", w.app.address, w.connection))
        .form(&[("SAMLRequest", STANDARD.encode(logout))])
        .send()
        .await
        .unwrap();
    assert_eq!(slo.status(), 400);
    tripwire.assert_untouched();

    let events = events(&w).await;
    let acs_event = events
        .iter()
        .find(|e| {
            e["reason"]
                .as_str()
                .unwrap()
                .contains("refers to something outside the message")
        })
        .expect("the ACS refusal says why");
    assert!(acs_event["raw_response_url"].is_null(), "{acs_event}");
    assert!(
        events.iter().any(|e| e["reason"]
            .as_str()
            .unwrap()
            .starts_with("LogoutRequest refused: the signature refers")),
        "{events:?}"
    );
}

/// A post to a well-formed ID that is no connection records no SSO event (there is no account to record it in), so
/// its page names no reference, only what is wrong.
#[tokio::test]
async fn a_post_to_an_id_that_is_no_connection_names_no_reference() {
    let w = world().await;
    let stranger = Browser::new(&w.app);
    let nowhere = uuid::Uuid::new_v4();
    let response = STANDARD.encode("<samlp:Response/>");
    let acs = stranger
        .client
        .post(format!("{}/saml/{nowhere}/acs", w.app.address))
        .form(&[("SAMLResponse", response.as_str()), ("RelayState", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(acs.status().as_u16(), 403);
    let page = acs.text().await.unwrap();
    assert!(
        page.contains("This sign-in address is not a known SSO connection."),
        "{page}"
    );
    assert!(!page.contains(REFERENCE), "{page}");
    let request = STANDARD.encode(format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_n" Version="2.0" IssueInstant="{}"><saml:Issuer>{}</saml:Issuer><saml:NameID>ada@acme.example</saml:NameID></samlp:LogoutRequest>"#,
        chrono::Utc::now().to_rfc3339(),
        test_idp::IDP,
    ));
    let slo = stranger
        .client
        .post(format!("{}/saml/{nowhere}/slo", w.app.address))
        .form(&[("SAMLRequest", request)])
        .send()
        .await
        .unwrap();
    assert_eq!(slo.status().as_u16(), 400);
    let page = slo.text().await.unwrap();
    assert!(page.contains("Sign-out did not complete"), "{page}");
    assert!(!page.contains(REFERENCE), "{page}");
}

#[tokio::test]
async fn a_client_past_its_sign_in_starts_is_told_to_wait_and_starts_nothing_more() {
    let w = world_with(&["--sso-starts-per-client", "3", "--trust-forwarded-for"]).await;
    let stranger = Browser::new(&w.app);
    let login = format!("/saml/{}/login", w.connection);
    for _ in 0..2 {
        assert_eq!(stranger.get(&login).await.status(), 303);
    }
    start(&w, &stranger).await;
    // The login URL and discovery by domain share the allowance; past it nothing is stored or signed, and a domain
    // or connection that does not exist is not even looked up.
    let nowhere = format!("/saml/{}/login", uuid::Uuid::new_v4());
    let paths = [
        login.as_str(),
        "/sso/start?saml_domain=acme.example",
        "/sso/start?saml_domain=nowhere.example",
        nowhere.as_str(),
    ];
    for path in paths {
        let refused = stranger.get(path).await;
        assert_eq!(refused.status(), 429, "{path}");
        assert_eq!(refused.headers()["retry-after"], "60");
        assert!(refused.headers().get("set-cookie").is_none() && refused.headers().get("location").is_none());
        let page = refused.text().await.unwrap();
        assert!(
            page.contains("Too many sign-ins were started from your network"),
            "{page}"
        );
    }
    // Someone at another address starts as usual.
    let colleague = stranger
        .client
        .get(format!("{}{login}", w.app.address))
        .header("x-forwarded-for", "198.51.100.9")
        .send()
        .await
        .unwrap();
    assert_eq!(colleague.status(), 303);
}

#[tokio::test]
async fn a_refusal_that_quotes_a_huge_message_keeps_a_few_hundred_characters_of_it() {
    let w = world().await;
    let stranger = Browser::new(&w.app);
    let said = "m".repeat(100_000);
    let response = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_huge" Version="2.0" IssueInstant="2026-12-07T00:00:00Z"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"/><samlp:StatusMessage>{said}</samlp:StatusMessage></samlp:Status></samlp:Response>"#
    );
    let refused = post_to_acs(&w, &stranger, &STANDARD.encode(response), "").await;
    assert_eq!(refused.status(), 403);

    let kept = kept_events(&w).await;
    let stored = kept[0].refusal.as_deref().expect("the refusal's facts");
    assert!(stored.len() < 2 * MAX_KEPT_CHARS, "{stored}");
    let Some(Refusal::Response(Rejection::Status {
        message: Some(message), ..
    })) = Refusal::from_stored(stored)
    else {
        panic!("a status refusal: {stored}");
    };
    assert_eq!(message, format!("{}…", &said[..MAX_KEPT_CHARS]));
    // The owner reads it worded, with the part that was kept.
    let events = events(&w).await;
    assert_eq!(
        events[0]["reason"],
        format!("the IdP answered with status urn:oasis:names:tc:SAML:2.0:status:Requester: {message}")
    );
}

#[tokio::test]
async fn junk_keeps_no_body_and_past_the_limit_is_refused_unchecked_with_one_summary() {
    let w = world_with(&["--sso-refusals-per-client", "5"]).await;
    let stranger = Browser::new(&w.app);
    let junk = STANDARD.encode(format!("<samlp:Response>{}", "x".repeat(150_000)));
    let mut statuses = Vec::new();
    let mut pages = Vec::new();
    for _ in 0..40 {
        let answer = post_to_acs(&w, &stranger, &junk, "").await;
        statuses.push(answer.status().as_u16());
        pages.push(answer.text().await.unwrap());
    }
    assert_eq!(statuses[..5], [403; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // A checked refusal's page names its event; past the limit no event is recorded per post, so none is named.
    assert!(pages[..5].iter().all(|page| page.contains(REFERENCE)));
    assert!(pages[5..].iter().all(|page| !page.contains(REFERENCE)));

    let events = events(&w).await;
    assert_eq!(events.len(), 6, "five refusals and one summary: {events:?}");
    assert!(events.iter().all(|e| e["raw_response_url"].is_null()), "{events:?}");
    // What an event keeps is bounded by what it quotes, cut at MAX_KEPT_CHARS a text, never by the message.
    let kept = kept_events(&w).await;
    assert!(
        kept.iter().all(
            |e| e.reason.chars().count() + e.refusal.as_ref().map_or(0, |r| r.chars().count()) <= 2 * MAX_KEPT_CHARS
        ),
        "{kept:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e["reason"].as_str().unwrap().contains("were refused within a minute"))
            .count(),
        1
    );

    // A real user from another address is still checked and signed in.
    let user = Browser::new(&w.app);
    let relay_state = start(&w, &user).await;
    let signed_in = user
        .client
        .post(format!("{}/saml/{}/acs", w.app.address, w.connection))
        .header("x-forwarded-for", "198.51.100.9")
        .form(&[
            ("SAMLResponse", answer(&w, &relay_state, "ada@acme.example").as_str()),
            ("RelayState", relay_state.as_str()),
        ])
        .send()
        .await
        .unwrap();
    // Without --trust-forwarded-for the header is ignored: the same loopback address is still limited.
    assert_eq!(signed_in.status(), 429);
}

#[tokio::test]
async fn junk_at_the_slo_url_counts_towards_the_same_limit_and_past_it_is_refused_unchecked() {
    let w = world_with(&["--sso-refusals-per-client", "5"]).await;
    let stranger = Browser::new(&w.app);
    let forged = |n: usize| {
        STANDARD.encode(format!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_j{n}" Version="2.0" IssueInstant="{}"><saml:Issuer>{}</saml:Issuer><saml:NameID>ada@acme.example</saml:NameID></samlp:LogoutRequest>"#,
            chrono::Utc::now().to_rfc3339(),
            test_idp::IDP,
        ))
    };
    let mut statuses = Vec::new();
    let mut pages = Vec::new();
    for n in 0..30 {
        let answer = stranger
            .client
            .post(format!("{}/saml/{}/slo", w.app.address, w.connection))
            .form(&[("SAMLRequest", forged(n))])
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
        pages.push(answer.text().await.unwrap());
    }
    assert_eq!(statuses[..5], [400; 5], "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    assert!(pages[..5].iter().all(|page| page.contains(REFERENCE)));
    assert!(pages[5..].iter().all(|page| !page.contains(REFERENCE)));
    let events = events(&w).await;
    assert_eq!(events.len(), 6, "five refusals and one summary: {events:?}");
    assert_eq!(
        events.iter().filter(|e| e["outcome"] == "logout-refused").count(),
        5,
        "{events:?}"
    );
    // The ACS shares the limit: the same address is now refused there unchecked too.
    let user_at_same_address = Browser::new(&w.app);
    let relay_state = start(&w, &user_at_same_address).await;
    let acs = post_to_acs(
        &w,
        &user_at_same_address,
        &answer(&w, &relay_state, "ada@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(acs.status(), 429);
}

/// A post to an ID that is no connection (made up, or of a deleted connection) costs a read to find that out: such
/// posts use up the client's allowance like any other refusal, at the ACS and the SLO URL alike, so that past it
/// they are refused unchecked, at every connection.
#[tokio::test]
async fn posts_to_ids_that_are_no_connection_use_up_the_clients_allowance() {
    let w = world_with(&["--sso-refusals-per-client", "5"]).await;
    let stranger = Browser::new(&w.app);
    let mut statuses = Vec::new();
    for n in 0..12 {
        let (endpoint, parameter) = if n % 2 == 0 {
            ("acs", "SAMLResponse")
        } else {
            ("slo", "SAMLRequest")
        };
        let answer = stranger
            .client
            .post(format!("{}/saml/{}/{endpoint}", w.app.address, uuid::Uuid::new_v4()))
            .form(&[(parameter, STANDARD.encode("<samlp:Response/>"))])
            .send()
            .await
            .unwrap();
        statuses.push(answer.status().as_u16());
    }
    assert!(statuses[..5].iter().all(|s| *s != 429), "{statuses:?}");
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    // The same address is now refused unchecked at the account's real connection too.
    let relay_state = start(&w, &stranger).await;
    let acs = post_to_acs(
        &w,
        &stranger,
        &answer(&w, &relay_state, "ada@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(acs.status(), 429);
}

#[tokio::test]
async fn a_body_larger_than_any_saml_message_is_refused_at_the_door() {
    let w = world_with(&["--saml-max-body-bytes", "65536"]).await;
    let stranger = Browser::new(&w.app);
    let large = "A".repeat(100_000);
    assert_eq!(post_to_acs(&w, &stranger, &large, "").await.status(), 413);
    assert!(events(&w).await.is_empty());
}

/// A browser holding a setup link's session is asked too, and the page names the link, which has no address.
#[tokio::test]
async fn an_sso_sign_in_over_a_setup_link_session_names_the_link() {
    let w = world().await;
    let created = w
        .owner
        .call_ok(
            "/api/setup-links/create",
            &[("account_id", &w.account), ("name", "Acme IT"), ("lifetime_days", "7")],
        )
        .await;
    let token = created["url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let it_admin = Browser::new(&w.app);
    assert_eq!(
        it_admin.call_ok("/api/setup/start", &[("token", &token)]).await,
        "/setup"
    );
    let relay_state = start(&w, &it_admin).await;
    let arrived = post_to_acs(
        &w,
        &it_admin,
        &answer(&w, &relay_state, "ada@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(arrived.status(), 200);
    let page = arrived.text().await.unwrap();
    assert!(
        page.contains("Stay signed in as the holder of setup link “Acme IT”"),
        "{page}"
    );
    assert!(page.contains("Continue as ada@acme.example"), "{page}");
}

#[tokio::test]
async fn an_sso_sign_in_asks_before_replacing_another_users_session() {
    let w = world().await;
    // The owner's browser, signed in as the owner, completes someone else's IdP sign-in.
    let relay_state = start(&w, &w.owner).await;
    let arrived = post_to_acs(
        &w,
        &w.owner,
        &answer(&w, &relay_state, "ada@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(arrived.status(), 200);
    let cookies: Vec<String> = arrived
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert!(
        !cookies.iter().any(|c| c.starts_with("gatehouse_session=")),
        "{cookies:?}"
    );
    // Nothing may frame the page and lay another over its buttons.
    assert_eq!(arrived.headers()["x-frame-options"], "DENY");
    assert_eq!(arrived.headers()["content-security-policy"], "frame-ancestors 'none'");
    let page = arrived.text().await.unwrap();
    assert!(
        page.contains("owner@acme.example") && page.contains("ada@acme.example"),
        "{page}"
    );

    // Staying keeps the owner signed in.
    let stay = w
        .owner
        .client
        .post(format!("{}/sso/switch", w.app.address))
        .form(&[("choice", "stay"), ("next", "/accounts/x")])
        .send()
        .await
        .unwrap();
    assert_eq!(stay.status(), 303);
    let overview = w
        .owner
        .call_ok("/api/accounts/overview", &[("account_id", &w.account)])
        .await;
    assert_eq!(overview["role"], "Owner", "{overview}");

    // Continuing switches to the new user; the old session ends.
    let relay_state = start(&w, &w.owner).await;
    post_to_acs(
        &w,
        &w.owner,
        &answer(&w, &relay_state, "ada@acme.example"),
        &relay_state,
    )
    .await;
    let switched = w
        .owner
        .client
        .post(format!("{}/sso/switch", w.app.address))
        .form(&[("choice", "switch"), ("next", "/accounts/x")])
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status(), 303);
    assert_eq!(switched.headers()["location"], "/accounts/x");
    let overview = w
        .owner
        .call_ok("/api/accounts/overview", &[("account_id", &w.account)])
        .await;
    assert_eq!(overview["role"], "No access", "now signed in as ada: {overview}");

    // The choice is single-use.
    let again = w
        .owner
        .client
        .post(format!("{}/sso/switch", w.app.address))
        .form(&[("choice", "switch"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
}
