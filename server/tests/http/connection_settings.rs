use crate::support::{Browser, fixture, invite_and_join, json, spawn_app, spawn_app_with};
use serde_json::Value;

async fn import_okta(browser: &Browser, account: &str) -> Value {
    browser
        .call_ok(
            "/api/sso/import-metadata",
            &[
                ("account_id", account),
                ("label", "Okta"),
                ("metadata", &fixture("okta.metadata.xml")),
            ],
        )
        .await
}

fn options<'a>(account: &'a str, id: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("account_id", account),
        ("connection_id", id),
        ("sign_authn_requests", "true"),
        ("binding", "redirect"),
        ("authn_context", "none"),
        ("email_source", "nameid"),
        ("clock_skew_seconds", "180"),
    ];
    form.retain(|(key, _)| !extra.iter().any(|(k, _)| k == key));
    form.extend_from_slice(extra);
    form
}

#[tokio::test]
async fn the_sp_metadata_is_served_publicly_at_its_stable_url() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let created = import_okta(&owner, &account).await;
    let url = created["service_provider"]["metadata_url"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap();
    assert_eq!(url, format!("{}/saml/{id}/metadata", app.address));

    // IdPs fetch it without a session.
    let anonymous = reqwest::Client::new();
    let response = anonymous.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/samlmetadata+xml");
    assert_eq!(response.headers()["content-disposition"], "inline");
    let xml = response.text().await.unwrap();
    assert!(xml.contains(&format!("entityID=\"{url}\"")));
    assert!(xml.contains(&format!("Location=\"{}/saml/{id}/acs\"", app.address)));
    let download = anonymous.get(format!("{url}?download=true")).send().await.unwrap();
    assert!(
        download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );

    for missing in [
        format!("{}/saml/{}/metadata", app.address, uuid_like()),
        format!("{}/saml/not-an-id/metadata", app.address),
    ] {
        assert_eq!(anonymous.get(&missing).send().await.unwrap().status(), 404, "{missing}");
    }
}

fn uuid_like() -> &'static str {
    "6f1c1c1e-8d59-4c4e-9c55-2f3f0a0b7e11"
}

#[tokio::test]
async fn connection_settings_are_changed_per_role_and_never_across_accounts() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let admin = Browser::new(&app);
    invite_and_join(&owner, &account, &admin, "admin@acme.example", "admin").await;
    let viewer = Browser::new(&app);
    invite_and_join(&owner, &account, &viewer, "viewer@acme.example", "viewer").await;
    let stranger = Browser::new(&app);
    let stranger_account = stranger.sign_up("stranger@else.example").await;
    let created = import_okta(&owner, &account).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let certificate = created["certificates"][0]["pem"].as_str().unwrap().to_owned();
    let fingerprint = created["certificates"][0]["sha256_fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let google = fixture("google.metadata.xml");

    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("/api/sso/connection-options", options(&account, &id, &[])),
        (
            "/api/sso/add-certificates",
            vec![
                ("account_id", &account),
                ("connection_id", &id),
                ("certificate", &certificate),
            ],
        ),
        (
            "/api/sso/remove-certificate",
            vec![
                ("account_id", &account),
                ("connection_id", &id),
                ("fingerprint", &fingerprint),
            ],
        ),
        (
            "/api/sso/sp-key",
            vec![("account_id", &account), ("connection_id", &id), ("step", "prepare")],
        ),
        (
            "/api/sso/metadata-monitor",
            vec![("account_id", &account), ("connection_id", &id), ("step", "refresh")],
        ),
        (
            "/api/sso/import-metadata-url",
            vec![
                ("account_id", &account),
                ("label", "Okta"),
                ("url", "https://idp.example.com/md"),
            ],
        ),
        (
            "/api/sso/import-metadata",
            vec![
                ("account_id", &account),
                ("label", "G"),
                ("metadata", &google),
                ("connection_id", &id),
            ],
        ),
    ];
    for (path, form) in &calls {
        assert_eq!(viewer.call(path, form).await.status(), 403, "viewer: {path}");
        let across: Vec<(&str, &str)> = form
            .iter()
            .map(|(k, v)| {
                if *k == "account_id" {
                    (*k, stranger_account.as_str())
                } else {
                    (*k, *v)
                }
            })
            .collect();
        let status = stranger.call(path, &across).await.status();
        assert!(
            status == 404 || (status == 422 && *path == "/api/sso/import-metadata-url"),
            "{path}: {status}"
        );
    }

    // The Admin manages the connection but not the Owner's two switches.
    let skew = options(&account, &id, &[("clock_skew_seconds", "60")]);
    assert_eq!(admin.call("/api/sso/connection-options", &skew).await.status(), 200);
    let sha1 = options(&account, &id, &[("allow_sha1", "true")]);
    assert_eq!(admin.call("/api/sso/connection-options", &sha1).await.status(), 403);
    assert_eq!(owner.call("/api/sso/connection-options", &sha1).await.status(), 200);
    assert_eq!(
        admin
            .call(
                "/api/sso/sp-key",
                &[("account_id", &account), ("connection_id", &id), ("step", "prepare")]
            )
            .await
            .status(),
        200
    );
    let listed = owner.call_ok("/api/sso/connections", &[("account_id", &account)]).await;
    let connection = &listed["connections"][0];
    assert_eq!(connection["options"]["allow_sha1"], true);
    assert_eq!(
        connection["options"]["clock_skew_seconds"], 180,
        "the owner's save set it back"
    );
    assert_eq!(connection["sp_keys"].as_array().unwrap().len(), 2);
    assert_eq!(listed["is_owner"], true);
    let seen = admin.call_ok("/api/sso/connections", &[("account_id", &account)]).await;
    assert_eq!(seen["is_owner"], false);

    // Bad values land next to their field.
    let error = json(
        owner
            .call(
                "/api/sso/connection-options",
                &options(&account, &id, &[("clock_skew_seconds", "ten")]),
            )
            .await,
        422,
    )
    .await;
    assert_eq!(error["Invalid"]["field"], "clock_skew_seconds");
    let error = json(
        owner
            .call(
                "/api/sso/sp-key",
                &[("account_id", &account), ("connection_id", &id), ("step", "explode")],
            )
            .await,
        422,
    )
    .await;
    assert_eq!(error["Invalid"]["field"], "step");
    let error = json(
        owner
            .call(
                "/api/sso/remove-certificate",
                &[
                    ("account_id", &account),
                    ("connection_id", &id),
                    ("fingerprint", &fingerprint),
                ],
            )
            .await,
        409,
    )
    .await;
    assert!(error["Conflict"].as_str().unwrap().contains("only signing certificate"));
}

#[tokio::test]
async fn a_metadata_url_is_guarded_unless_the_operator_allows_private_addresses() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp = format!("http://{}/metadata", listener.local_addr().unwrap());
    let okta = fixture("okta.metadata.xml");
    let app_router = axum::Router::new().route("/metadata", axum::routing::get(move || async move { okta }));
    tokio::spawn(async move { axum::serve(listener, app_router).await.unwrap() });

    let strict = spawn_app().await;
    let owner = Browser::new(&strict);
    let account = owner.sign_up("owner@acme.example").await;
    let form = [
        ("account_id", account.as_str()),
        ("label", "Okta"),
        ("url", idp.as_str()),
        ("monitor", "true"),
    ];
    let error = json(owner.call("/api/sso/import-metadata-url", &form).await, 422).await;
    assert_eq!(error["Invalid"]["field"], "url");
    assert!(error["Invalid"]["message"].as_str().unwrap().contains("https://"));

    let relaxed = spawn_app_with(&["--metadata-allow-http", "--metadata-allow-private-addresses"]).await;
    let owner = Browser::new(&relaxed);
    let account = owner.sign_up("owner@acme.example").await;
    let form = [
        ("account_id", account.as_str()),
        ("label", "Okta"),
        ("url", idp.as_str()),
        ("monitor", "true"),
    ];
    let created = owner.call_ok("/api/sso/import-metadata-url", &form).await;
    assert_eq!(created["source"], "From a metadata URL");
    assert_eq!(created["origin"]["url"], idp.as_str());
    assert_eq!(created["origin"]["monitor"], true);
    let id = created["id"].as_str().unwrap();
    let refreshed = owner
        .call_ok(
            "/api/sso/metadata-monitor",
            &[("account_id", &account), ("connection_id", id), ("step", "refresh")],
        )
        .await;
    assert_eq!(refreshed["outcome"], "unchanged");
}
