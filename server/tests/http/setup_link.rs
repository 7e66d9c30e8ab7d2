//! Setup links over HTTP: opening a link shows whose set-up it is and starts nothing; pressing Start (a POST) opens
//! a session of the link, which reaches the account's domains and identity providers and nothing else (403 or 404
//! on members, the policy, the settings and other accounts, pages and server functions alike); revoking the link
//! ends that session at once; "I'm done" mails the Owner.

use crate::support::{Browser, TestApp, fixture, invite_and_join, json, spawn_app};
use test_smtp::SmtpSink;

const OWNER: &str = "owner@acme.example";

/// The Owner's account with a setup link: the Owner's browser, the account, and the link's path (`/setup/…`).
async fn account_with_link(app: &TestApp) -> (Browser, String, String) {
    let owner = Browser::new(app);
    let account = owner.sign_up(OWNER).await;
    let created = owner
        .call_ok(
            "/api/setup-links/create",
            &[("account_id", &account), ("name", "Acme IT"), ("lifetime_days", "7")],
        )
        .await;
    let url = created["url"].as_str().unwrap();
    let path = url
        .strip_prefix(&app.address)
        .expect("a link to this server")
        .to_owned();
    assert!(path.starts_with("/setup/"), "{path}");
    (owner, account, path)
}

/// Opens the link in a fresh browser and presses Start set-up.
async fn started(app: &TestApp, path: &str) -> Browser {
    let it_admin = Browser::new(app);
    let token = path.trim_start_matches("/setup/");
    let answer = it_admin.call_ok("/api/setup/start", &[("token", token)]).await;
    assert_eq!(answer, "/setup");
    it_admin
}

#[tokio::test]
async fn the_link_shows_its_page_and_only_the_post_starts_a_session_of_the_setup() {
    let app = spawn_app().await;
    let (owner, account, path) = account_with_link(&app).await;
    let visitor = Browser::new(&app);

    let landing = visitor.get(&path).await;
    assert_eq!(landing.status(), 200);
    let html = landing.text().await.unwrap();
    assert!(html.contains("Set up single sign-on for"), "{html}");
    assert!(html.contains(OWNER) && html.contains("Start set-up"));
    // Opening it (as a mail scanner would) started nothing.
    assert_eq!(visitor.get("/setup").await.status(), 401);
    let listed = owner
        .call_ok("/api/setup-links/list", &[("account_id", &account)])
        .await;
    assert_eq!(listed[0]["last_used"], serde_json::Value::Null);
    assert_eq!(visitor.get("/setup/not-a-link").await.status(), 404);

    let it_admin = started(&app, &path).await;
    let page = it_admin.get("/setup").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Single sign-on set-up for")
            && html.contains("Step 1 of 4: Add your domain")
            && html.contains("Hand over to the Owner"),
        "{html}"
    );
    assert!(!html.contains("switcher"), "no account switcher for a setup link");
    let listed = owner
        .call_ok("/api/setup-links/list", &[("account_id", &account)])
        .await;
    assert_ne!(listed[0]["last_used"], serde_json::Value::Null);

    // The set-up: domains and identity providers.
    let domain = it_admin
        .call_ok(
            "/api/domains/add",
            &[("account_id", &account), ("domain", "acme.example")],
        )
        .await;
    assert_eq!(domain["name"], "acme.example");
    let okta = fixture("okta.metadata.xml");
    let connection = it_admin
        .call_ok(
            "/api/sso/import-metadata",
            &[("account_id", &account), ("label", "Okta"), ("metadata", &okta)],
        )
        .await;
    let connection = connection["id"].as_str().unwrap();
    // Test SSO starts (on to the IdP); linking a user's own sign-in is no holder's.
    let test = it_admin.get(&format!("/saml/{connection}/test")).await;
    // On to the IdP: a redirect, or the auto-submitting form of HTTP-POST.
    assert!(matches!(test.status().as_u16(), 200 | 303), "{}", test.status());
    let linking = it_admin
        .call(&format!("/saml/{connection}/link"), &[("return_to", "/setup")])
        .await;
    assert_eq!(linking.status(), 403);
    let seen = it_admin
        .call_ok("/api/sso/connections", &[("account_id", &account)])
        .await;
    assert_eq!(seen["connections"].as_array().unwrap().len(), 1);
    assert_eq!(
        (
            seen["can_manage"].clone(),
            seen["can_manage_trust"].clone(),
            seen["is_owner"].clone()
        ),
        (false.into(), true.into(), false.into())
    );
    let audit = owner.call_ok("/api/sso/audit", &[("account_id", &account)]).await;
    let via = format!("via setup link Acme IT created by {OWNER}");
    for action in ["Setup link opened", "Domain added", "Connection added"] {
        assert!(
            audit
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == action && e["actor"] == via.as_str()),
            "{action}: {audit}"
        );
    }

    // I'm done: the Owner is told by mail, once.
    let done = it_admin.call_ok("/api/setup/finish", &[]).await;
    assert!(done.as_str().unwrap().contains("was told by email"), "{done}");
    let review = SmtpSink::shared().take_link(OWNER, &format!("{}/accounts/", app.address));
    assert_eq!(review, format!("{}/accounts/{account}/sso", app.address));
    let again = it_admin.call_ok("/api/setup/finish", &[]).await;
    assert!(again.as_str().unwrap().contains("already told"), "{again}");
    let listed = owner
        .call_ok("/api/setup-links/list", &[("account_id", &account)])
        .await;
    assert_ne!(listed[0]["finished"], serde_json::Value::Null);
}

#[tokio::test]
async fn the_setup_session_gets_403_or_404_on_members_policy_settings_and_other_accounts() {
    let app = spawn_app().await;
    let (_owner, account, path) = account_with_link(&app).await;
    let elsewhere = Browser::new(&app).sign_up("owner@else.example").await;
    let it_admin = started(&app, &path).await;

    for page in [
        format!("/accounts/{account}"),
        format!("/accounts/{account}/members"),
        format!("/accounts/{account}/sso"),
        format!("/accounts/{account}/settings"),
        format!("/accounts/{elsewhere}"),
        format!("/accounts/{elsewhere}/sso"),
    ] {
        let status = it_admin.get(&page).await.status().as_u16();
        assert!(status == 403 || status == 404, "{page}: {status}");
    }
    let forbidden: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/api/accounts/overview", vec![("account_id", &account)]),
        ("/api/accounts/members", vec![("account_id", &account)]),
        (
            "/api/accounts/invite",
            vec![
                ("account_id", &account),
                ("email", "friend@partner.example"),
                ("role", "admin"),
            ],
        ),
        (
            "/api/accounts/rename",
            vec![("account_id", &account), ("name", "Taken")],
        ),
        ("/api/sso/policy", vec![("account_id", &account)]),
        (
            "/api/sso/update-policy",
            vec![
                ("account_id", &account),
                ("sso_enabled", "true"),
                ("enforce_sso", "true"),
            ],
        ),
        ("/api/sso/audit", vec![("account_id", &account)]),
        (
            "/api/setup-links/create",
            vec![("account_id", &account), ("name", "More"), ("lifetime_days", "30")],
        ),
        ("/api/auth/resend-email-proof", vec![]),
    ];
    for (path, form) in &forbidden {
        assert_eq!(it_admin.call(path, form).await.status(), 403, "{path}");
    }
    let not_found: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/api/domains/list", vec![("account_id", &elsewhere)]),
        ("/api/sso/connections", vec![("account_id", &elsewhere)]),
        (
            "/api/domains/add",
            vec![("account_id", &elsewhere), ("domain", "else.example")],
        ),
    ];
    for (path, form) in &not_found {
        assert_eq!(it_admin.call(path, form).await.status(), 404, "{path}");
    }
    // It is no user: no accounts to list, and the home page leads to the set-up.
    let session = it_admin.call_ok("/api/auth/session", &[]).await;
    assert_eq!(session["setup_link"], "Acme IT");
    assert_eq!(session["accounts"], serde_json::json!([]));
    let home = it_admin.get("/").await;
    assert_eq!(home.headers()["location"], "/setup");
}

#[tokio::test]
async fn a_revoked_links_session_is_refused_at_once_and_an_admin_cannot_create_links() {
    let app = spawn_app().await;
    let (owner, account, path) = account_with_link(&app).await;
    let it_admin = started(&app, &path).await;
    assert_eq!(
        it_admin
            .call("/api/domains/list", &[("account_id", &account)])
            .await
            .status(),
        200
    );
    let listed = owner
        .call_ok("/api/setup-links/list", &[("account_id", &account)])
        .await;
    let link_id = listed[0]["id"].as_str().unwrap();
    owner
        .call_ok(
            "/api/setup-links/revoke",
            &[("account_id", &account), ("link_id", link_id)],
        )
        .await;
    let refused = it_admin.call("/api/domains/list", &[("account_id", &account)]).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(it_admin.get("/setup").await.status(), 401);
    assert_eq!(Browser::new(&app).get(&path).await.status(), 409);
    let token = path.trim_start_matches("/setup/");
    assert_eq!(
        Browser::new(&app)
            .call("/api/setup/start", &[("token", token)])
            .await
            .status(),
        409
    );

    // An Admin cannot widen trust, so cannot hand that power on through a link.
    let admin = Browser::new(&app);
    invite_and_join(&owner, &account, &admin, "admin@partner.example", "admin").await;
    let refused = json(
        admin
            .call(
                "/api/setup-links/create",
                &[("account_id", &account), ("name", "Mine"), ("lifetime_days", "30")],
            )
            .await,
        403,
    )
    .await;
    assert!(refused["Forbidden"].as_str().unwrap().contains("(Admin)"), "{refused}");
    assert_eq!(
        admin
            .call("/api/setup-links/list", &[("account_id", &account)])
            .await
            .status(),
        403
    );
    let sso_page = admin
        .get(&format!("/accounts/{account}/sso"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!sso_page.contains("setup-links"), "an Admin sees no setup links");
}
