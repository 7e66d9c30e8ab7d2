//! Only the Owner widens trust, over HTTP: an Admin calling the server functions that add an IdP, a certificate, a
//! metadata URL, a domain route or another email source gets 403; and an IdP the Owner connected for other users
//! cannot sign in the Owner.

use crate::sso_world::world;
use crate::support::{Browser, fixture, invite_and_join, json, spawn_app};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use test_idp::{Spec, build};

const OUTSIDE_IDP: &str = "https://idp.outside.example/saml";

#[tokio::test]
async fn an_admin_gets_403_for_every_call_that_widens_trust() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let admin = Browser::new(&app);
    invite_and_join(&owner, &account, &admin, "admin@outside.example", "admin").await;
    let okta = fixture("okta.metadata.xml");
    let created = owner
        .call_ok(
            "/api/sso/import-metadata",
            &[("account_id", &account), ("label", "Okta"), ("metadata", &okta)],
        )
        .await;
    let id = created["id"].as_str().unwrap();
    let domain = owner
        .call_ok(
            "/api/domains/add",
            &[("account_id", &account), ("domain", "acme.example")],
        )
        .await;
    let domain_id = domain["id"].as_str().unwrap();
    let outside_pem = test_idp::attacker().certificate.to_pem();
    let google = fixture("google.metadata.xml");

    let widening: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/api/sso/import-metadata",
            vec![("account_id", &account), ("label", "Google"), ("metadata", &google)],
        ),
        (
            "/api/sso/import-metadata",
            vec![
                ("account_id", &account),
                ("label", "Okta"),
                ("metadata", &google),
                ("connection_id", id),
            ],
        ),
        (
            "/api/sso/import-metadata-url",
            vec![
                ("account_id", &account),
                ("label", "Okta"),
                ("url", "https://idp.outside.example/metadata"),
                ("signing_certificate", &outside_pem),
                ("connection_id", id),
            ],
        ),
        (
            "/api/sso/create-connection",
            vec![
                ("account_id", &account),
                ("label", "Outside IdP"),
                ("entity_id", OUTSIDE_IDP),
                ("sso_url", "https://idp.outside.example/sso"),
                ("certificate", &outside_pem),
            ],
        ),
        (
            "/api/sso/add-certificates",
            vec![
                ("account_id", &account),
                ("connection_id", id),
                ("certificate", &outside_pem),
            ],
        ),
        (
            "/api/domains/route",
            vec![
                ("account_id", &account),
                ("domain_id", domain_id),
                ("connection_id", id),
            ],
        ),
        (
            "/api/sso/connection-options",
            vec![
                ("account_id", &account),
                ("connection_id", id),
                ("sign_authn_requests", "true"),
                ("binding", "redirect"),
                ("authn_context", "none"),
                ("email_source", "attribute"),
                ("email_attribute", "nickname"),
                ("clock_skew_seconds", "180"),
            ],
        ),
    ];
    for (path, form) in &widening {
        let refused = json(admin.call(path, form).await, 403).await;
        assert!(
            refused["Forbidden"]
                .as_str()
                .unwrap()
                .contains("(Admin) does not allow this"),
            "{path}: {refused}"
        );
    }
    let listed = owner.call_ok("/api/sso/connections", &[("account_id", &account)]).await;
    assert_eq!(listed["connections"].as_array().unwrap().len(), 1);
    assert_eq!(listed["connections"][0]["certificates"].as_array().unwrap().len(), 1);
    assert_eq!(listed["can_manage_trust"], true);
    let seen = admin.call_ok("/api/sso/connections", &[("account_id", &account)]).await;
    assert_eq!(
        (seen["can_manage"].clone(), seen["can_manage_trust"].clone()),
        (true.into(), false.into())
    );

    // The Owner may do each; the Admin may send the domain back to password sign-in (it narrows trust).
    for (path, form) in &widening[3..] {
        assert_eq!(owner.call(path, form).await.status(), 200, "{path}");
    }
    let back = [
        ("account_id", account.as_str()),
        ("domain_id", domain_id),
        ("connection_id", ""),
    ];
    assert_eq!(admin.call("/api/domains/route", &back).await.status(), 200);
}

#[tokio::test]
async fn an_idp_connected_for_other_users_cannot_sign_in_the_owner() {
    let w = world().await;
    let outside_pem = test_idp::attacker().certificate.to_pem();
    let outside = w
        .owner
        .call_ok(
            "/api/sso/create-connection",
            &[
                ("account_id", &w.account),
                ("label", "Outside IdP"),
                ("entity_id", OUTSIDE_IDP),
                ("sso_url", "https://idp.outside.example/sso"),
                ("certificate", &outside_pem),
            ],
        )
        .await;
    let outside = outside["id"].as_str().unwrap();

    // Whoever holds the outside IdP's key starts a sign-in there and answers it in the Owner's name.
    let attacker = Browser::new(&w.app);
    let to_idp = attacker.get(&format!("/saml/{outside}/login")).await;
    assert_eq!(to_idp.status(), 303);
    let location = url::Url::parse(to_idp.headers()["location"].to_str().unwrap()).unwrap();
    let relay_state = location
        .query_pairs()
        .find(|(k, _)| k == "RelayState")
        .unwrap()
        .1
        .into_owned();
    let acs = format!("{}/saml/{outside}/acs", w.app.address);
    let now = Utc::now();
    let forged = STANDARD.encode(build(&Spec {
        destination: Some(acs.clone()),
        recipient: acs.clone(),
        audience: Some(format!("{}/saml/{outside}/metadata", w.app.address)),
        in_response_to: Some(relay_state.clone()),
        confirmation_in_response_to: Some(relay_state.clone()),
        issuer: OUTSIDE_IDP.into(),
        signer: test_idp::attacker(),
        name_id: "owner@acme.example".into(),
        assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
        not_before: now - Duration::minutes(1),
        not_on_or_after: now + Duration::minutes(5),
        confirmation_until: Some(now + Duration::minutes(5)),
        ..Spec::default()
    }));
    let refused = attacker
        .client
        .post(&acs)
        .header("origin", "https://idp.outside.example")
        .form(&[("SAMLResponse", forged.as_str()), ("RelayState", relay_state.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("does not sign in through this identity provider")
    );
    assert_eq!(
        attacker
            .call("/api/accounts/overview", &[("account_id", &w.account)])
            .await
            .status(),
        401,
        "no session was opened"
    );
    let events = w.owner.call_ok("/api/sso/events", &[("account_id", &w.account)]).await;
    assert_eq!(
        events[0]["reason"],
        "acme.example is routed to connection Test IdP, not this one"
    );
}
