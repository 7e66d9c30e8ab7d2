//! One address, one user over HTTP: sign-up, sign-in and invitations in any spelling of an address reach the same
//! user, and an address with an invisible character is refused with the character named.

use crate::support::{Browser, json, spawn_app};

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn every_spelling_of_an_address_is_one_user_and_invisible_characters_are_refused() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let invited = owner
        .call_ok(
            "/api/accounts/invite",
            &[
                ("account_id", &account),
                ("email", "ＪＯ@Acme.Example"),
                ("role", "admin"),
            ],
        )
        .await;
    let token = invited["link"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();

    let jo = Browser::new(&app);
    jo.sign_up("jo@acme.example").await;
    for spelling in ["JO@acme.example", "ｊｏ@ACME.EXAMPLE"] {
        let again = Browser::new(&app)
            .call("/api/auth/sign-up", &[("email", spelling), ("password", PASSWORD)])
            .await;
        let body = json(again, 422).await;
        assert!(body.to_string().contains("already exists"), "{spelling}: {body}");
        let other = Browser::new(&app);
        other
            .call_ok("/api/auth/sign-in", &[("email", spelling), ("password", PASSWORD)])
            .await;
        let session = other.call_ok("/api/auth/session", &[]).await;
        assert_eq!(session["email"], "jo@acme.example", "{spelling}");
    }
    jo.call_ok("/api/invitations/accept", &[("token", &token)]).await;

    let refused = Browser::new(&app)
        .call(
            "/api/auth/sign-up",
            &[("email", "j\u{200b}o@acme.example"), ("password", PASSWORD)],
        )
        .await;
    let body = json(refused, 422).await;
    assert!(
        body.to_string().contains("invisible formatting character (U+200B)"),
        "{body}"
    );
    // The email-first step (no password) reads the address by the same rule.
    let discovery = Browser::new(&app)
        .call("/api/auth/sign-in", &[("email", "j\u{200b}o@acme.example")])
        .await;
    let body = json(discovery, 422).await;
    assert_eq!(body["Invalid"]["field"], "email", "{body}");
}
