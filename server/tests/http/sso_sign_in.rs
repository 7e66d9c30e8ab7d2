//! SP-initiated sign-in over HTTP: the login redirect with its binding cookie, the IdP's response posted to the
//! ACS, the session cookie set on that answer, discovery by domain, and readable refusals with a reference.

use crate::sso_world::{
    World, answer, answer_with, continue_url, pending_sign_in, post_to_acs, set_cookies, start, world,
};
use crate::support::Browser;

#[tokio::test]
async fn a_user_signs_in_through_the_idp_and_lands_signed_in() {
    let w = world().await;
    let user = Browser::new(&w.app);
    let (relay_state, accepted) = pending_sign_in(&w, &user, "ada@acme.example").await;
    // The cross-site post carries no session cookie the browser may have: the sign-in goes on, pending, to a
    // same-site page that sees it.
    assert_eq!(accepted.status(), 200);
    let cookies = set_cookies(&accepted);
    assert!(
        cookies.iter().any(|c| c.starts_with("gatehouse_pending_sign_in=")
            && c.contains("Path=/sso;")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")),
        "{cookies:?}"
    );
    assert!(
        !cookies.iter().any(|c| c.starts_with("gatehouse_session=")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("gatehouse_sso=;")),
        "the binding cookie is cleared"
    );
    let page = accepted.text().await.unwrap();
    assert_eq!(
        continue_url(&page).as_deref(),
        Some("/sso/complete?next=%2Faccounts%2Fx"),
        "{page}"
    );
    let completed = user.get("/sso/complete?next=%2Faccounts%2Fx").await;
    assert_eq!(completed.status(), 303);
    assert_eq!(completed.headers()["location"], "/accounts/x");
    let cookies = set_cookies(&completed);
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("gatehouse_session=") && c.contains("SameSite=Lax")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("gatehouse_pending_sign_in=;")),
        "the pending cookie is cleared: {cookies:?}"
    );
    // Loading it again (back button, reload) just goes on into the dashboard.
    let again = user.get("/sso/complete?next=%2Faccounts%2Fx").await;
    assert_eq!(again.headers()["location"], "/accounts/x");
    // Without a pending sign-in and without a session, there is nothing to complete.
    let stranger = Browser::new(&w.app);
    let nothing = stranger.get("/sso/complete?next=%2Faccounts%2Fx").await;
    assert_eq!(nothing.status(), 400);
    assert!(nothing.text().await.unwrap().contains("Start it again"));

    // The session works: the user now belongs to the account (provisioned just in time, No access by default).
    let overview = user
        .call_ok("/api/accounts/overview", &[("account_id", &w.account)])
        .await;
    assert_eq!(overview["role"], "No access", "{overview}");
    let members = w
        .owner
        .call_ok("/api/accounts/members", &[("account_id", &w.account)])
        .await;
    assert!(members.to_string().contains("ada@acme.example"), "{members}");

    // Posting the same response again is refused with a readable page and a reference.
    let again = post_to_acs(&w, &user, &answer(&w, &relay_state, "ada@acme.example"), &relay_state).await;
    assert_eq!(again.status(), 403);
    let page = again.text().await.unwrap();
    assert!(page.contains("expired or was already used") && page.contains("Reference for your administrator"));
}

/// `/sso/complete` hands the pending session to a browser where nobody is signed in without reading it: a session
/// that ended in between (signed out elsewhere, say) must still open nothing.
#[tokio::test]
async fn a_sign_in_whose_session_ended_before_it_completed_opens_nothing() {
    let w = world().await;
    let user = Browser::new(&w.app);
    let (_, accepted) = pending_sign_in(&w, &user, "ada@acme.example").await;
    let pending = set_cookies(&accepted)
        .into_iter()
        .find_map(|c| c.strip_prefix("gatehouse_pending_sign_in=").map(str::to_owned))
        .unwrap();
    let token = pending.split(';').next().unwrap().split_once('.').unwrap().1.to_owned();
    let elsewhere = Browser::with_session(&w.app, &token);
    assert_eq!(elsewhere.call("/api/auth/sign-out", &[]).await.status(), 200);

    let completed = user.get("/sso/complete?next=%2Faccounts%2Fx").await;
    assert_eq!(completed.status(), 303);
    assert_eq!(completed.headers()["location"], "/accounts/x");
    let overview = user.call("/api/accounts/overview", &[("account_id", &w.account)]).await;
    assert_eq!(overview.status(), 401);
}

/// A pending cookie of another shape than the ACS sets (planted by whoever can set the site's cookies) completes
/// nothing: it is never handed on as a session, and the page says the sign-in is to be started again.
#[tokio::test]
async fn a_pending_cookie_that_is_no_sign_in_completes_nothing() {
    let w = world().await;
    let browser = Browser::new(&w.app);
    let token_shaped = "A".repeat(43);
    for junk in [
        String::new(),
        "1767225600".into(),
        "1767225600.".into(),
        "1767225600.short".into(),
        format!("1767225600.{token_shaped}A"),
        format!("1767225600.{}+", &token_shaped[1..]),
        format!("later.{token_shaped}"),
    ] {
        let answer = browser
            .client
            .get(format!("{}/sso/complete?next=%2Faccounts", browser.base))
            .header("cookie", format!("gatehouse_pending_sign_in={junk}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{junk}");
        assert!(
            set_cookies(&answer)
                .iter()
                .all(|c| !c.starts_with("gatehouse_session=")),
            "{junk}"
        );
        assert!(answer.text().await.unwrap().contains("Start it again"), "{junk}");
    }
}

#[tokio::test]
async fn another_browser_or_another_domain_is_refused_with_a_reference() {
    let w = world().await;
    let user = Browser::new(&w.app);
    let relay_state = start(&w, &user).await;
    // A response replayed into another browser, which has no binding cookie for it.
    let thief = Browser::new(&w.app);
    let stolen = post_to_acs(&w, &thief, &answer(&w, &relay_state, "ada@acme.example"), &relay_state).await;
    assert_eq!(stolen.status(), 403);
    assert!(stolen.text().await.unwrap().contains("started in another browser"));

    let relay_state = start(&w, &user).await;
    let outsider = post_to_acs(&w, &user, &answer(&w, &relay_state, "eve@evil.example"), &relay_state).await;
    assert_eq!(outsider.status(), 403);
    let page = outsider.text().await.unwrap();
    assert!(page.contains("not set up for single sign-on"));
    // The owner finds the attempt by the reference the user saw, with the reason in plain words.
    let reference = page
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap()
        .to_owned();
    let events = w.owner.call_ok("/api/sso/events", &[("account_id", &w.account)]).await;
    let event = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["reference"] == reference.as_str())
        .unwrap();
    assert_eq!(event["outcome"], "refused");
    assert_eq!(event["reason"], "evil.example is not a verified domain of this account");
    assert_eq!(event["name_id"], "eve@evil.example");
    assert!(
        event["attributes"]
            .as_str()
            .unwrap()
            .contains("groups = Gatehouse Admins, Staff")
    );
    assert_eq!(
        user.call("/api/sso/events", &[("account_id", &w.account)])
            .await
            .status(),
        401,
        "refused, so not signed in"
    );

    // The raw response is read on its own, as inert text, by the account's Owners and Admins only.
    let raw_url = event["raw_response_url"].as_str().unwrap();
    assert_eq!(
        raw_url,
        format!("/accounts/{}/sso/events/{reference}/response", w.account)
    );
    let raw = w.owner.get(raw_url).await;
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(raw.headers()["content-security-policy"], "sandbox");
    assert!(raw.text().await.unwrap().contains("eve@evil.example"));
    assert_eq!(user.get(raw_url).await.status(), 303, "signed out: to the sign-in page");
    let stranger = Browser::new(&w.app);
    stranger.sign_up("someone@else.example").await;
    assert_eq!(stranger.get(raw_url).await.status(), 403);

    // A domain without SSO answers plainly.
    let unknown = user.get("/sso/start?saml_domain=unknown.example").await;
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("not set up for this domain"));
    let garbage = user.get("/saml/not-a-connection/login").await;
    assert_eq!(garbage.status(), 404);
}

#[tokio::test]
async fn the_sign_in_form_sends_sso_users_to_their_idp() {
    let w = world().await;
    let user = Browser::new(&w.app);
    let answer = user
        .call_ok(
            "/api/auth/sign-in",
            &[("email", "Ada@Acme.Example"), ("next", "/accounts/x")],
        )
        .await;
    // The domain travels in its canonical form, as the email rule reads it.
    assert_eq!(answer, "/sso/start?saml_domain=acme.example&return_to=/accounts/x");
    let followed = user.get(answer.as_str().unwrap()).await;
    assert_eq!(followed.status(), 303);
    // Without a page to return to, none is stored: the ACS then lands the user in this account.
    let plain = user
        .call_ok("/api/auth/sign-in", &[("email", "ada@acme.example")])
        .await;
    assert_eq!(plain, "/sso/start?saml_domain=acme.example");
    let refused = user
        .call("/api/auth/sign-in", &[("email", "someone@elsewhere.example")])
        .await;
    assert_eq!(refused.status(), 422);
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error["Invalid"]["field"], "password");
    // The owner keeps password sign-in.
    let owner = Browser::new(&w.app);
    let signed_in = owner
        .call(
            "/api/auth/sign-in",
            &[("email", "owner@acme.example"), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(signed_in.status(), 200);
}

/// Turns the account's SSO on or off, as the Owner's Sign-in policy form does.
async fn set_sso(w: &World, on: bool) {
    let mut form = vec![("account_id", w.account.as_str())];
    if on {
        form.push(("sso_enabled", "true"));
    }
    w.owner.call_ok("/api/sso/update-policy", &form).await;
}

#[tokio::test]
async fn password_sign_up_at_a_claimed_domain_is_refused_next_to_the_email_field() {
    let w = world().await;
    let refused = Browser::new(&w.app)
        .call(
            "/api/auth/sign-up",
            &[("email", "alice@acme.example"), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error["Invalid"]["field"], "email");
    assert_eq!(
        error["Invalid"]["message"],
        "acme.example signs in through its organisation's identity provider: use Sign in with just your email."
    );
    Browser::new(&w.app).sign_up("alice@else.example").await;
}

#[tokio::test]
async fn a_password_user_registered_before_sso_is_taken_over_by_the_idp() {
    let w = world().await;
    // Someone signs up as alice@acme.example while SSO is still off.
    set_sso(&w, false).await;
    let squatter = Browser::new(&w.app);
    squatter.sign_up("alice@acme.example").await;
    set_sso(&w, true).await;
    let session: serde_json::Value = squatter.call("/api/auth/session", &[]).await.json().await.unwrap();
    assert_eq!(session["email"], "alice@acme.example");

    // Alice's first sign-in through the IdP.
    let alice = Browser::new(&w.app);
    let relay_state = start(&w, &alice).await;
    let response = post_to_acs(
        &w,
        &alice,
        &answer(&w, &relay_state, "alice@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(response.status(), 303);
    let session: serde_json::Value = alice.call("/api/auth/session", &[]).await.json().await.unwrap();
    assert_eq!(session["email"], "alice@acme.example");

    // The squatter's session ended and the password no longer works.
    let after: serde_json::Value = squatter.call("/api/auth/session", &[]).await.json().await.unwrap();
    assert!(after.is_null(), "signed out: {after}");
    let password = squatter
        .call(
            "/api/auth/sign-in",
            &[("email", "alice@acme.example"), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(password.status(), 422);

    let said = "existing user alice@acme.example now signs in through Test IdP; their password was removed";
    let events = w.owner.call_ok("/api/sso/events", &[("account_id", &w.account)]).await;
    assert_eq!(events[0]["reason"], format!("signed in as alice@acme.example: {said}"));
    let audit = w.owner.call_ok("/api/sso/audit", &[("account_id", &w.account)]).await;
    assert!(audit.to_string().contains(said), "{audit}");
}

#[tokio::test]
async fn an_assertion_naming_the_owner_is_refused_and_the_owner_stays_signed_in() {
    let w = world().await;
    let browser = Browser::new(&w.app);
    let relay_state = start(&w, &browser).await;
    let refused = post_to_acs(
        &w,
        &browser,
        &answer(&w, &relay_state, "owner@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Owner signs in with their password")
    );
    let session: serde_json::Value = w.owner.call("/api/auth/session", &[]).await.json().await.unwrap();
    assert_eq!(
        session["email"], "owner@acme.example",
        "the Owner's own session goes on"
    );
    let events = w.owner.call_ok("/api/sso/events", &[("account_id", &w.account)]).await;
    assert!(
        events[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("owner@acme.example is the account's Owner, who signs in with their password"),
        "{events}"
    );
}

#[tokio::test]
async fn a_sign_in_started_on_one_instance_finishes_on_another() {
    let w = world().await;
    let second = w.app.another_instance().await;
    let user = Browser::new(&w.app);
    // The load balancer sends the login to the first instance and the IdP's POST to the second.
    let relay_state = start(&w, &user).await;
    let at_second = user.with_base(&second);
    let response = post_to_acs(
        &w,
        &at_second,
        &answer(&w, &relay_state, "ada@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(response.status(), 303, "{}", response.text().await.unwrap());
    // The session the second instance created works on the first.
    let overview = user
        .call_ok("/api/accounts/overview", &[("account_id", &w.account)])
        .await;
    assert_eq!(overview["role"], "No access", "{overview}");
    // The first instance knows the request was used: a replay there is refused.
    let replayed = post_to_acs(&w, &user, &answer(&w, &relay_state, "ada@acme.example"), &relay_state).await;
    assert_eq!(replayed.status(), 403);
}

/// Follows the Owner's Test SSO link to the IdP; answers the RelayState the IdP receives.
async fn start_test(w: &World, browser: &Browser) -> String {
    start_test_at(w, browser, &format!("/saml/{}/test", w.connection)).await
}

/// Follows a Test SSO link (`path`, with its query) to the IdP; answers the RelayState the IdP receives.
async fn start_test_at(w: &World, browser: &Browser, path: &str) -> String {
    let to_idp = browser.get(path).await;
    assert_eq!(to_idp.status(), 303);
    let cookie = to_idp.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("gatehouse_sso=") && cookie.contains(&format!("Path=/saml/{}/acs", w.connection)));
    let location = url::Url::parse(to_idp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("idp.example.com"));
    location
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned()
}

#[tokio::test]
async fn the_owner_tests_sso_and_reads_a_report_without_anyone_signed_in() {
    let w = world().await;
    let relay_state = start_test(&w, &w.owner).await;
    let response = post_to_acs(
        &w,
        &w.owner,
        &answer(&w, &relay_state, "ada@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(response.status(), 200);
    let cookies = set_cookies(&response);
    assert!(
        cookies
            .iter()
            .all(|c| !c.starts_with("gatehouse_session=") && !c.starts_with("gatehouse_pending_sign_in=")),
        "no session cookie: {cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("gatehouse_sso=;")),
        "the binding cookie is cleared"
    );
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("<h1 class=\"passed\">Test passed</h1>"), "{page}");
    let back = format!("/accounts/{}/sso/connections/{}", w.account, w.connection);
    assert!(
        page.contains(&format!("href=\"{back}\"")) && page.contains("Back to the connection</a>"),
        "{page}"
    );
    assert!(page.contains("<code>ada@acme.example</code>"));
    assert!(
        page.contains("<strong>No access</strong>"),
        "the default role of the mappings"
    );
    assert!(page.contains("&lt;samlp:Response"), "the decoded response, escaped");
    // Nobody was provisioned.
    let members = w
        .owner
        .call_ok("/api/accounts/members", &[("account_id", &w.account)])
        .await;
    assert!(!members.to_string().contains("ada@acme.example"), "{members}");

    // The report is for the browser that started the test only.
    let relay_state = start_test(&w, &w.owner).await;
    let other = Browser::new(&w.app);
    let stolen = post_to_acs(&w, &other, &answer(&w, &relay_state, "ada@acme.example"), &relay_state).await;
    assert_eq!(stolen.status(), 403);
    assert!(!stolen.text().await.unwrap().contains("Test passed"));
}

#[tokio::test]
async fn a_test_started_from_the_guided_setup_goes_back_there_and_leaves_its_findings_on_the_connection() {
    let w = world().await;
    let setup = format!("/accounts/{}/sso/setup", w.account);
    let relay_state = start_test_at(
        &w,
        &w.owner,
        &format!("/saml/{}/test?return_to={}", w.connection, urlencoding(&setup)),
    )
    .await;
    let response = post_to_acs(
        &w,
        &w.owner,
        &answer(&w, &relay_state, "ada@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    // A same-site hop of the page's own (the IdP's post was cross-site: the session cookie comes only after it).
    assert!(
        page.contains(&format!("<meta http-equiv=\"refresh\" content=\"0;url={setup}\">")),
        "{page}"
    );
    assert!(
        !page.contains("Test passed"),
        "the findings are shown on the setup, not here"
    );
    let connections = w
        .owner
        .call_ok("/api/sso/connections", &[("account_id", &w.account)])
        .await;
    let last_test = &connections["connections"][0]["last_test"];
    assert_eq!(last_test["failed"], serde_json::Value::Null, "{last_test}");
    assert_eq!(last_test["email"], "ada@acme.example");
    assert_eq!(last_test["role"], "No access");

    // A way back to another site is not taken: the report is shown here instead.
    let relay_state = start_test_at(
        &w,
        &w.owner,
        &format!(
            "/saml/{}/test?return_to={}",
            w.connection,
            urlencoding("https://evil.example/")
        ),
    )
    .await;
    let response = post_to_acs(
        &w,
        &w.owner,
        &answer(&w, &relay_state, "ada@acme.example"),
        &relay_state,
    )
    .await;
    let page = response.text().await.unwrap();
    assert!(page.contains("<h1 class=\"passed\">Test passed</h1>"), "{page}");
    assert!(!page.contains("evil.example"), "{page}");
}

fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn only_the_owner_may_test_sso() {
    let w = world().await;
    let admin = Browser::new(&w.app);
    crate::support::invite_and_join(&w.owner, &w.account, &admin, "admin@else.example", "admin").await;
    let refused = admin.get(&format!("/saml/{}/test", w.connection)).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("set-cookie").is_none());
    assert!(refused.text().await.unwrap().contains("Only the account's Owner"));
    // Signed out: to the sign-in page first, and back here afterwards.
    let stranger = Browser::new(&w.app);
    let redirected = stranger.get(&format!("/saml/{}/test", w.connection)).await;
    assert_eq!(redirected.status(), 303);
    assert_eq!(
        redirected.headers()["location"],
        format!("/sign-in?next=%2Fsaml%2F{}%2Ftest", w.connection)
    );
}

/// Posts the connection page's *Link my sign-in* form as `browser`.
async fn post_link(w: &World, browser: &Browser, connection: &str) -> reqwest::Response {
    browser
        .client
        .post(format!("{}/saml/{connection}/link", w.app.address))
        .form(&[(
            "return_to",
            format!("/accounts/{}/sso/connections/{connection}", w.account),
        )])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_the_owner_links_their_sign_in_and_then_the_idp_signs_them_in() {
    let w = world().await;
    let stranger = Browser::new(&w.app);
    let signed_out = post_link(&w, &stranger, &w.connection).await;
    assert_eq!(signed_out.status(), 303);
    assert_eq!(signed_out.headers()["location"], "/sign-in");
    assert_eq!(post_link(&w, &stranger, "not-a-connection").await.status(), 404);

    let admin = Browser::new(&w.app);
    crate::support::invite_and_join(&w.owner, &w.account, &admin, "admin@else.example", "admin").await;
    let refused = post_link(&w, &admin, &w.connection).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.headers().get("set-cookie").is_none());
    assert!(refused.text().await.unwrap().contains("Only the account's Owner"));

    // The Owner goes to the IdP with the binding cookie; the IdP vouching for the Owner links them.
    let to_idp = post_link(&w, &w.owner, &w.connection).await;
    assert_eq!(to_idp.status(), 303);
    assert!(
        to_idp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("gatehouse_sso=")
    );
    let location = url::Url::parse(to_idp.headers()["location"].to_str().unwrap()).unwrap();
    let relay_state = location
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();
    let linked = post_to_acs(
        &w,
        &w.owner,
        &answer(&w, &relay_state, "owner@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(linked.status(), 200);
    assert!(
        set_cookies(&linked)
            .iter()
            .all(|c| !c.starts_with("gatehouse_session="))
    );
    let linked = linked.text().await.unwrap();
    assert!(linked.contains("Your sign-in is linked"));
    let back = format!("/accounts/{}/sso/connections/{}", w.account, w.connection);
    assert!(
        linked.contains(&format!("href=\"{back}\"")) && linked.contains("Back to the connection</a>"),
        "{linked}"
    );

    // From now on a sign-in through the IdP as the Owner lands signed in as the Owner.
    let browser = Browser::new(&w.app);
    let relay_state = start(&w, &browser).await;
    let signed_in = post_to_acs(
        &w,
        &browser,
        &answer(&w, &relay_state, "owner@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(signed_in.status(), 303);
    let overview = browser
        .call_ok("/api/accounts/overview", &[("account_id", &w.account)])
        .await;
    assert_eq!(overview["role"], "Owner", "{overview}");
}

#[tokio::test]
async fn a_user_the_idp_did_not_assign_to_the_app_is_told_whom_to_ask() {
    let w = world().await;
    let user = Browser::new(&w.app);
    let relay_state = start(&w, &user).await;
    // Entra ID's error response when the user is not assigned to the application.
    let not_assigned = answer_with(&w, &relay_state, "ada@acme.example", |spec| {
        spec.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into();
        spec.status_message =
            Some("AADSTS50105: The signed in user is not assigned to a role for the application".into());
    });
    let refused = post_to_acs(&w, &user, &not_assigned, &relay_state).await;
    assert_eq!(refused.status(), 403);
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("Ask your IT administrator to assign you to the Gatehouse app"),
        "{page}"
    );
    assert!(page.contains("Reference for your administrator"), "{page}");
}

#[tokio::test]
async fn the_events_page_offers_older_events_only_after_a_full_page() {
    use gatehouse_core::store::SsoEventRow;
    let app = crate::support::spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@paging.example").await;
    let store = app.store().await;
    let now = chrono::Utc::now();
    let insert = |n: i64| {
        let store = store.clone();
        let row = SsoEventRow {
            account_id: account.parse().unwrap(),
            connection_id: None,
            at: now - chrono::Duration::minutes(n),
            outcome: "refused".into(),
            reference: format!("{n:010}"),
            reason: format!("refusal number {n}."),
            name_id: None,
            attributes: String::new(),
            raw_response: None,
            cause: None,
            fix: None,
            refusal: None,
        };
        async move { store.insert_sso_event(&row).await.unwrap() }
    };
    let events_page = |query: String| {
        let (owner, account) = (&owner, &account);
        async move {
            let response = owner.get(&format!("/accounts/{account}/sso/events{query}")).await;
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    insert(1).await;
    let page = events_page(String::new()).await;
    assert!(page.contains("refusal number 1."), "{page}");
    assert!(!page.contains("Older events"), "one event is the whole list");

    for n in 2..=26 {
        insert(n).await;
    }
    let page = events_page(String::new()).await;
    assert!(page.contains("refusal number 25.") && !page.contains("refusal number 26."));
    assert!(page.contains("?before=0000000025\">Older events</a>"), "{page}");
    let older = events_page("?before=0000000025".into()).await;
    assert!(older.contains("refusal number 26."), "{older}");
    assert!(!older.contains("Older events"), "the last page offers no older one");
    assert!(older.contains("Newest events"));
}

/// An attacker's link to `/sso/start` with a way back to another site: discovery now starts the sign-in itself, and
/// the user still lands on this site after it.
#[tokio::test]
async fn a_way_back_to_another_site_given_to_sso_start_is_dropped() {
    let w = world().await;
    let user = Browser::new(&w.app);
    let to_idp = user
        .get("/sso/start?saml_domain=acme.example&return_to=//evil.example/x")
        .await;
    assert_eq!(to_idp.status(), 303);
    let location = url::Url::parse(to_idp.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.host_str(), Some("idp.example.com"));
    let relay_state = location
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();
    let completed = post_to_acs(&w, &user, &answer(&w, &relay_state, "ada@acme.example"), &relay_state).await;
    assert_eq!(completed.status(), 303, "signed in and sent on");
    let landing = completed.headers()["location"].to_str().unwrap();
    assert!(landing.starts_with('/') && !landing.starts_with("//"), "{landing}");
    assert!(!landing.contains("evil"), "{landing}");
}
