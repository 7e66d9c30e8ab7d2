//! Sessions know where they came from, over HTTP: an account that enforces SSO opens for the members its SSO
//! provisioned only with a session from one of its own connections, and says how to get one (API and page).

use crate::sso_world::{World, answer, post_to_acs, signed_in_user, world};
use crate::support::{Browser, json};
use gatehouse_core::auth::ProofMail;
use gatehouse_core::saml::logout::IdpSession;
use gatehouse_core::{AuthService, ConnectionId, SessionPolicy};

async fn enforce_sso(w: &World) {
    w.owner
        .call_ok(
            "/api/sso/update-policy",
            &[
                ("account_id", &w.account),
                ("sso_enabled", "true"),
                ("enforce_sso", "true"),
            ],
        )
        .await;
}

/// A browser holding another session of `email`'s user, opened through `connection` (`None`: by password) and
/// written straight into the database, as a session from before enforcement would be.
async fn planted_session(w: &World, email: &str, connection: Option<ConnectionId>) -> Browser {
    let store = w.app.store().await;
    let user = store.user_by_email(email).await.unwrap().unwrap();
    let idp_session = connection.map(|connection_id| IdpSession {
        connection_id,
        name_id: email.to_owned(),
        name_id_format: None,
        session_index: None,
    });
    let proofs = ProofMail::new(w.app.address.parse().unwrap(), None, false);
    let auth = AuthService::new(store, SessionPolicy::default(), Default::default(), proofs);
    let session = auth
        .start_session(user.id, idp_session.as_ref(), chrono::Utc::now())
        .await
        .unwrap();
    Browser::with_session(&w.app, &session.token)
}

async fn overview(user: &Browser, w: &World) -> reqwest::Response {
    user.call("/api/accounts/overview", &[("account_id", &w.account)]).await
}

const MESSAGE: &str = "Sign in through your organisation's identity provider to open this account.";

#[tokio::test]
async fn a_password_session_of_an_sso_provisioned_member_is_sent_to_the_idp() {
    let w = world().await;
    let bob = signed_in_user(&w, "bob@acme.example").await;
    let by_password = planted_session(&w, "bob@acme.example", None).await;
    assert_eq!(overview(&by_password, &w).await.status(), 200, "SSO not enforced yet");

    enforce_sso(&w).await;
    let way_in = format!("/saml/{}/login?return_to=/accounts/{}", w.connection, w.account);
    let refused = json(overview(&by_password, &w).await, 403).await;
    assert_eq!(refused["SsoRequired"]["message"], MESSAGE, "{refused}");
    assert_eq!(refused["SsoRequired"]["sign_in"], way_in.as_str(), "{refused}");
    // Switching to the account in the top bar opens its page: a calm way in instead of "not found".
    let page = by_password.get(&format!("/accounts/{}", w.account)).await;
    assert_eq!(page.status(), 403);
    let page = page.text().await.unwrap();
    assert!(page.contains("Sign in through your organisation"), "{page}");
    assert!(page.contains("identity provider to open this account"), "{page}");
    assert!(page.contains(&format!("href=\"{way_in}\"")), "{page}");
    assert!(page.contains("switcher"), "the top bar is there to switch elsewhere");

    // The session through the account's own connection opens it…
    let opened = json(overview(&bob, &w).await, 200).await;
    assert_eq!(opened["role"], "No access", "{opened}");
    // …and so does following the way in from the password session: the IdP's session replaces it.
    let to_login = by_password.get(&way_in).await;
    assert_eq!(to_login.status(), 303);
    let location = url::Url::parse(to_login.headers()["location"].to_str().unwrap()).unwrap();
    let relay_state = location
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();
    let back = post_to_acs(
        &w,
        &by_password,
        &answer(&w, &relay_state, "bob@acme.example"),
        &relay_state,
    )
    .await;
    assert_eq!(back.status(), 303);
    assert_eq!(back.headers()["location"], format!("/accounts/{}", w.account).as_str());
    assert_eq!(overview(&by_password, &w).await.status(), 200);
}

#[tokio::test]
async fn a_session_through_another_accounts_connection_is_refused_and_the_owner_keeps_the_password() {
    let w = world().await;
    // Bob, provisioned by the account's SSO.
    signed_in_user(&w, "bob@acme.example").await;
    let other = Browser::new(&w.app);
    let other_account = other.sign_up("owner@other.example").await;
    let certificate = test_idp::attacker().certificate.to_pem();
    let created = other
        .call_ok(
            "/api/sso/create-connection",
            &[
                ("account_id", &other_account),
                ("label", "Other IdP"),
                ("entity_id", "https://idp.other.example/saml"),
                ("sso_url", "https://idp.other.example/sso"),
                ("certificate", &certificate),
            ],
        )
        .await;
    let elsewhere: ConnectionId = created["id"].as_str().unwrap().parse().unwrap();
    enforce_sso(&w).await;

    let through_elsewhere = planted_session(&w, "bob@acme.example", Some(elsewhere)).await;
    let refused = json(overview(&through_elsewhere, &w).await, 403).await;
    assert_eq!(refused["SsoRequired"]["message"], MESSAGE, "{refused}");
    let through_own = planted_session(&w, "bob@acme.example", Some(w.connection.parse().unwrap())).await;
    assert_eq!(overview(&through_own, &w).await.status(), 200);

    // The Owner's password session goes on (break-glass), and so does password sign-in.
    let owner = json(overview(&w.owner, &w).await, 200).await;
    assert_eq!(owner["role"], "Owner", "{owner}");
    let again = Browser::new(&w.app);
    let signed_in = again
        .call(
            "/api/auth/sign-in",
            &[("email", "owner@acme.example"), ("password", "correct horse battery")],
        )
        .await;
    assert_eq!(signed_in.status(), 200);
    assert_eq!(overview(&again, &w).await.status(), 200);
}
