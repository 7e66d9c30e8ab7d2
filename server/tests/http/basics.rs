use crate::support::{Browser, TestApp, spawn_app, spawn_app_with};
use reqwest::header::{ACCEPT, ORIGIN, SET_COOKIE};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let live = browser.get("/healthz").await;
    assert_eq!(live.status(), 200);
    let ready = browser.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert!(ready.text().await.unwrap().starts_with("ready"));
}

#[tokio::test]
async fn unknown_paths_render_a_404_page() {
    let app = spawn_app().await;
    let response = Browser::new(&app).get("/definitely/not/here").await;
    assert_eq!(response.status(), 404);
    assert!(response.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn pages_render_on_the_server_and_signed_out_visitors_are_sent_to_sign_in() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let sign_in = browser.get("/sign-in").await;
    assert_eq!(sign_in.status(), 200);
    let html = sign_in.text().await.unwrap();
    assert!(
        html.contains(r#"action="/api/auth/sign-in""#),
        "the form posts to the server function without WASM"
    );
    assert!(html.contains("/pkg/gatehouse.wasm") || html.contains("/pkg/gatehouse.js"));

    let home = browser.get("/").await;
    assert_eq!(home.status(), 302);
    assert_eq!(home.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_opaque() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let response = browser
        .call(
            "/api/auth/sign-up",
            &[("email", "ann@acme.example"), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("gatehouse_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{attribute} missing from {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain-http public URL: no Secure flag ({cookie})"
    );
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("gatehouse_session=");
    assert_eq!(token.len(), 43, "256 random bits");
    assert!(!token.contains("ann"));

    let session: serde_json::Value = browser.call("/api/auth/session", &[]).await.json().await.unwrap();
    assert_eq!(session["email"], "ann@acme.example");

    let out = browser.call("/api/auth/sign-out", &[]).await;
    assert!(out.headers()[SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let after: serde_json::Value = browser.call("/api/auth/session", &[]).await.json().await.unwrap();
    assert!(after.is_null(), "signed out: {after}");
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = spawn_app_with(&["--secure-cookies", "always"]).await;
    let response = Browser::new(&app)
        .call(
            "/api/auth/sign-up",
            &[("email", "sec@acme.example"), ("password", "correct horse battery")],
        )
        .await;
    assert!(response.headers()[SET_COOKIE].to_str().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_reaching_a_server_function() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    browser.sign_up("victim@acme.example").await;
    let forged = browser
        .client
        .post(format!("{}/api/auth/sign-out", app.address))
        .header(ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let session: serde_json::Value = browser.call("/api/auth/session", &[]).await.json().await.unwrap();
    assert_eq!(session["email"], "victim@acme.example", "still signed in");
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app_with(&["--max-body-bytes", "1024"]).await;
    let big = "x".repeat(4096);
    let response = Browser::new(&app)
        .call("/api/auth/sign-in", &[("email", "a@acme.example"), ("password", &big)])
        .await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn wrong_credentials_give_one_message_and_a_status_for_scripts() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    browser.sign_up("bo@acme.example").await;
    let other = Browser::new(&app);
    for (email, password) in [
        ("bo@acme.example", "wrong password"),
        ("nobody@acme.example", "correct horse battery"),
    ] {
        let response = other
            .call("/api/auth/sign-in", &[("email", email), ("password", password)])
            .await;
        assert_eq!(response.status(), 422);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["Invalid"]["message"], "Email or password is incorrect.");
    }
    let plain_form = other
        .client
        .post(format!("{}/api/auth/sign-in", app.address))
        .header(ORIGIN, &app.address)
        .header(ACCEPT, "text/html")
        .header("referer", format!("{}/sign-in", app.address))
        .form(&[("email", "bo@acme.example"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(plain_form.status(), 302, "a plain form post goes back to its page");
}

/// Whether a `Location` answered by the app keeps a browser on the app's origin, also when read once more
/// percent-decoded.
fn stays_on_site(app: &TestApp, location: &str) -> bool {
    let site = url::Url::parse(&app.address).unwrap();
    let decoded: String = url::form_urlencoded::parse(format!("x={location}").as_bytes())
        .map(|(_, value)| value.into_owned())
        .collect();
    [location, decoded.as_str()]
        .iter()
        .all(|target| site.join(target).is_ok_and(|url| url.origin() == site.origin()))
}

#[tokio::test]
async fn a_signed_in_user_is_sent_only_to_pages_of_this_site() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    browser.sign_up("di@acme.example").await;
    for next in [
        "/%5Cevil.example",
        "/\\evil.example",
        "/%255Cevil.example",
        "//evil.example",
        "/%2F%2Fevil.example",
        "/%09/evil.example",
        "https://evil.example/",
        "javascript:alert(1)",
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        for query in [format!("next={next}"), format!("next={encoded}")] {
            let page = browser.get(&format!("/sign-in?{query}")).await;
            assert_eq!(page.status(), 302, "{query}");
            let location = page.headers()["location"].to_str().unwrap();
            assert!(stays_on_site(&app, location), "{query} sent the browser to {location}");
        }

        // The same form without JavaScript: the post goes back to its page, which sends the user on.
        let other = Browser::new(&app);
        let page = format!("{}/sign-in?next={encoded}", app.address);
        let posted = other
            .client
            .post(format!("{}/api/auth/sign-in", app.address))
            .header(ORIGIN, &app.address)
            .header(ACCEPT, "text/html")
            .header("referer", &page)
            .form(&[
                ("email", "di@acme.example"),
                ("password", "correct horse battery"),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 302, "{next}");
        let back = posted.headers()["location"].to_str().unwrap().to_owned();
        assert!(stays_on_site(&app, &back), "{next}: the form post answered {back}");
        let landed = other
            .client
            .get(&back)
            .header(ACCEPT, "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(landed.status(), 302, "{next}");
        let location = landed.headers()["location"].to_str().unwrap();
        assert!(
            stays_on_site(&app, location),
            "{next}: signed in, then sent to {location}"
        );
    }
    let same_site = browser.get("/sign-in?next=%2Faccounts%2Fx%2Fmembers%3Fq%3Dbo").await;
    assert_eq!(same_site.headers()["location"], "/accounts/x/members?q=bo");
}

#[tokio::test]
async fn concurrent_wrong_passwords_through_two_instances_are_mostly_refused_unchecked() {
    let app = spawn_app().await;
    Browser::new(&app).sign_up("cy@acme.example").await;
    let second = app.another_instance().await;
    let mut attempts = tokio::task::JoinSet::new();
    for i in 0..60 {
        let guesser = if i % 2 == 0 {
            Browser::new(&app)
        } else {
            Browser::at(&second)
        };
        attempts.spawn(async move {
            let password = format!("guess number {i}");
            let response = guesser
                .call(
                    "/api/auth/sign-in",
                    &[("email", "cy@acme.example"), ("password", &password)],
                )
                .await;
            response.status().as_u16()
        });
    }
    let statuses = attempts.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 422).count();
    let refused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + refused, 60, "{statuses:?}");
    assert!(
        (1..=5).contains(&checked),
        "{checked} guesses were checked against the password: {statuses:?}"
    );
}

#[tokio::test]
async fn an_address_already_taken_names_the_setting_that_chose_it() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = taken.local_addr().unwrap();
    let refused = server::listen("metrics-listen", address).await.unwrap_err();
    let message = refused.to_string();
    assert!(
        message.starts_with(&format!("cannot listen on {address} (--metrics-listen): ")),
        "{message}"
    );
}
