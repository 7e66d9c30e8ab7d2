//! Proof of the email address over HTTP: sign-up answers the page that asks for it and mails the link (to the
//! test SMTP server); until the link is followed no account opens, over the API or as a page; the link's page names
//! the address and one click proves it; a new link can be asked for once a minute.

use crate::support::{Browser, json, spawn_app};
use reqwest::header::LOCATION;
use test_smtp::SmtpSink;

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn nothing_opens_until_the_mailed_link_is_followed() {
    let app = spawn_app().await;
    let browser = Browser::new(&app);
    let answer = browser
        .call_ok(
            "/api/auth/sign-up",
            &[("email", "ivy@acme.example"), ("password", PASSWORD)],
        )
        .await;
    let path = answer.as_str().unwrap();
    let account = path
        .strip_prefix("/confirm-email?next=/accounts/")
        .and_then(|rest| rest.strip_suffix("/sso/setup"))
        .expect("sign-up answers the page asking for the proof, going on to the guided setup");

    let session = browser.call_ok("/api/auth/session", &[]).await;
    assert_eq!(session["email_proven"], false);
    let refused = json(
        browser.call("/api/accounts/overview", &[("account_id", account)]).await,
        403,
    )
    .await;
    assert_eq!(
        refused["Forbidden"],
        "Confirm your email address first: follow the link we sent to ivy@acme.example."
    );
    let page = browser.get(&format!("/accounts/{account}")).await;
    assert_eq!(page.status(), 302);
    assert_eq!(
        page.headers()[LOCATION],
        format!("/confirm-email?next=/accounts/{account}").as_str()
    );
    let asking = browser.get("/confirm-email").await.text().await.unwrap();
    assert!(asking.contains("Follow the link we sent to"), "{asking}");
    assert!(asking.contains("ivy@acme.example"));

    // A second link within the minute is refused; the first one stays the one to follow.
    let again = json(browser.call("/api/auth/resend-email-proof", &[]).await, 429).await;
    assert!(
        again["TooManyAttempts"]
            .as_str()
            .unwrap()
            .starts_with("A link was sent recently.")
    );

    // The link opens a page naming the address, in any browser; its button proves it once.
    let link = SmtpSink::shared().take_link("ivy@acme.example", &format!("{}/confirm-email/", app.address));
    let token = link.rsplit('/').next().unwrap();
    let elsewhere = Browser::new(&app);
    let page = elsewhere
        .get(&format!("/confirm-email/{token}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Confirm that") && page.contains("ivy@acme.example"),
        "{page}"
    );
    let there = elsewhere.call_ok("/api/auth/confirm-email", &[("token", token)]).await;
    assert_eq!(
        there,
        format!("/sign-in?confirmed=1&next=/accounts/{account}/sso/setup").as_str(),
        "not signed in there: on to sign-in, then the new account's guided setup"
    );
    let used = json(
        elsewhere.call("/api/auth/confirm-email", &[("token", token)]).await,
        404,
    )
    .await;
    assert!(used["NotFound"].as_str().unwrap().starts_with("This link is not valid"));

    json(
        browser.call("/api/accounts/overview", &[("account_id", account)]).await,
        200,
    )
    .await;
    assert_eq!(browser.get(&format!("/accounts/{account}")).await.status(), 200);
}

#[tokio::test]
async fn the_link_followed_in_the_signed_in_browser_leads_on_to_where_the_user_was_going() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let invited = owner
        .call_ok(
            "/api/accounts/invite",
            &[
                ("account_id", &account),
                ("email", "jo@acme.example"),
                ("role", "viewer"),
            ],
        )
        .await;
    let invitation = invited["link"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    // The invitation mail is in the inbox too; the proof link is the one to follow.
    SmtpSink::shared().take_link("jo@acme.example", &format!("{}/invitations/", app.address));

    let jo = Browser::new(&app);
    let here = format!("/invitations/{invitation}");
    jo.call_ok(
        "/api/auth/sign-up",
        &[("email", "jo@acme.example"), ("password", PASSWORD), ("next", &here)],
    )
    .await;
    let refused = json(jo.call("/api/invitations/accept", &[("token", &invitation)]).await, 403).await;
    assert!(
        refused["Forbidden"]
            .as_str()
            .unwrap()
            .starts_with("Confirm your email address first")
    );

    assert_eq!(jo.confirm_email("jo@acme.example").await, here);
    jo.call_ok("/api/invitations/accept", &[("token", &invitation)]).await;
}

#[tokio::test]
async fn a_user_who_never_proved_their_address_is_sent_to_the_proof_at_sign_in() {
    let app = spawn_app().await;
    Browser::new(&app)
        .call_ok(
            "/api/auth/sign-up",
            &[("email", "kim@acme.example"), ("password", PASSWORD)],
        )
        .await;
    let later = Browser::new(&app);
    let answer = later
        .call_ok(
            "/api/auth/sign-in",
            &[
                ("email", "kim@acme.example"),
                ("password", PASSWORD),
                ("next", "/accounts"),
            ],
        )
        .await;
    assert_eq!(answer, "/confirm-email?next=/accounts");
}
