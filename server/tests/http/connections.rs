use crate::support::{Browser, fixture, invite_and_join, json, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn an_owner_imports_metadata_and_sees_the_certificate_and_the_values_for_the_idp() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let entra = fixture("entra.metadata.xml");
    let created = owner
        .call_ok(
            "/api/sso/import-metadata",
            &[("account_id", &account), ("label", "Entra ID"), ("metadata", &entra)],
        )
        .await;
    assert_eq!(
        created["idp_entity_id"],
        "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/"
    );
    assert_eq!(created["sso_binding"], "HTTP-Redirect");
    let certificate = &created["certificates"][0];
    assert!(
        certificate["subject"]
            .as_str()
            .unwrap()
            .contains("Microsoft Azure Federated SSO Certificate")
    );
    assert_eq!(certificate["sha256_fingerprint"].as_str().unwrap().len(), 95);
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        created["service_provider"]["acs_url"],
        format!("{}/saml/{id}/acs", app.address)
    );

    let list = owner
        .get(&format!("/accounts/{account}/sso/connections"))
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Entra ID") && list.contains(&format!("/accounts/{account}/sso/connections/{id}")));
    let page = owner
        .get(&format!("/accounts/{account}/sso/connections/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Entra ID") && page.contains(&format!("{}/saml/{id}/acs", app.address)));

    // Another account's member, or a mistyped address, finds no such connection, and nothing of it.
    let stranger = Browser::new(&app);
    let other = stranger.sign_up("stranger@other.example").await;
    for (browser, path) in [
        (&stranger, format!("/accounts/{other}/sso/connections/{id}")),
        (&owner, format!("/accounts/{account}/sso/connections/not-a-connection")),
    ] {
        let answer = browser.get(&path).await;
        assert_eq!(answer.status(), 404, "{path}");
        let html = answer.text().await.unwrap();
        assert!(html.contains("No such identity provider"), "{path}");
        // The owner's own pages may name the connection (the banner of its certificate, which has expired).
        if std::ptr::eq(browser, &stranger) {
            assert!(!html.contains("Entra ID") && !html.contains(id), "{path}");
        }
    }

    let listed = owner.call_ok("/api/sso/connections", &[("account_id", &account)]).await;
    assert_eq!(listed["connections"].as_array().unwrap().len(), 1);
    assert_eq!(listed["can_manage"], true);
}

#[tokio::test]
async fn a_federation_file_offers_its_idps_and_choosing_one_imports_that_one() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let file = fixture("multi_idp_edugain.entities.xml");
    let import = async |entity_id: &str| {
        owner
            .call(
                "/api/sso/import-metadata",
                &[
                    ("account_id", account.as_str()),
                    ("label", "University"),
                    ("metadata", file.as_str()),
                    ("entity_id", entity_id),
                ],
            )
            .await
    };
    let asked = json(import("").await, 422).await;
    let asked = &asked["Choose"];
    assert_eq!(asked["field"], "entity_id");
    assert_eq!(
        asked["message"],
        "This file lists 2 identity providers. Choose the one to connect."
    );
    assert_eq!(
        asked["choices"],
        serde_json::json!([
            {
                "value": "https://si-saai.ualg.pt/idp/shibboleth",
                "name": "University of Algarve",
                "facts": [
                    ["Entity ID", "https://si-saai.ualg.pt/idp/shibboleth"],
                    ["Sign-on URL", "https://si-saai.ualg.pt/idp/profile/SAML2/Redirect/SSO"]
                ]
            },
            {
                "value": "https://idp.fccn.pt/idp/shibboleth",
                "name": "FCT|FCCN",
                "facts": [
                    ["Entity ID", "https://idp.fccn.pt/idp/shibboleth"],
                    ["Sign-on URL", "https://idp.fccn.pt/idp/profile/SAML2/Redirect/SSO"]
                ]
            }
        ])
    );
    let listed = owner.call_ok("/api/sso/connections", &[("account_id", &account)]).await;
    assert_eq!(
        listed["connections"].as_array().unwrap().len(),
        0,
        "nothing saved while asking"
    );

    // The picker's button sends the same form again with its value.
    let created = json(import("https://idp.fccn.pt/idp/shibboleth").await, 200).await;
    assert_eq!(created["idp_entity_id"], "https://idp.fccn.pt/idp/shibboleth");
    let listed = owner.call_ok("/api/sso/connections", &[("account_id", &account)]).await;
    let listed = listed["connections"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["idp_entity_id"], "https://idp.fccn.pt/idp/shibboleth");
}

#[tokio::test]
async fn bad_input_is_refused_next_to_the_field_that_is_wrong() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let import = async |label: &str, metadata: &str, entity_id: &str| {
        owner
            .call(
                "/api/sso/import-metadata",
                &[
                    ("account_id", account.as_str()),
                    ("label", label),
                    ("metadata", metadata),
                    ("entity_id", entity_id),
                ],
            )
            .await
    };
    let field_of = |error: &Value| error["Invalid"]["field"].as_str().unwrap().to_owned();
    let error = json(
        import("Okta", "<!DOCTYPE html><html><body>Okta</body></html>", "").await,
        422,
    )
    .await;
    assert_eq!(field_of(&error), "metadata");
    let message = error["Invalid"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("This is an HTML web page, not SAML 2.0 metadata"),
        "{message}"
    );
    let error = json(import("two\nlines", &fixture("okta.metadata.xml"), "").await, 422).await;
    assert_eq!(field_of(&error), "label");
    let error = json(
        import(
            "Uni",
            &fixture("multi_idp_edugain.entities.xml"),
            "https://webtut.fccn.pt",
        )
        .await,
        422,
    )
    .await;
    assert_eq!(
        field_of(&error),
        "entity_id",
        "a service provider of the file is no IdP to choose"
    );

    let manual = async |sso_url: &str, certificate: &str| {
        owner
            .call(
                "/api/sso/create-connection",
                &[
                    ("account_id", account.as_str()),
                    ("label", "Okta"),
                    ("entity_id", "http://www.okta.com/x"),
                    ("sso_url", sso_url),
                    ("certificate", certificate),
                ],
            )
            .await
    };
    let error = json(manual("not a url", "MIIB").await, 422).await;
    assert_eq!(field_of(&error), "sso_url");
    let error = json(
        manual("https://acme.okta.com/sso", "-----BEGIN PRIVATE KEY-----").await,
        422,
    )
    .await;
    assert_eq!(field_of(&error), "certificate");
    assert!(error["Invalid"]["message"].as_str().unwrap().contains("private key"));

    let listed = owner.call_ok("/api/sso/connections", &[("account_id", &account)]).await;
    assert!(
        listed["connections"].as_array().unwrap().is_empty(),
        "nothing half-valid was saved"
    );

    json(import("Okta", &fixture("okta.metadata.xml"), "").await, 200).await;
    let duplicate = import("Okta again", &fixture("okta.metadata.xml"), "").await;
    assert_eq!(duplicate.status(), 409);
}

#[tokio::test]
async fn viewers_see_connections_owners_add_them_and_admins_remove_them() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let admin = Browser::new(&app);
    invite_and_join(&owner, &account, &admin, "admin@acme.example", "admin").await;
    let viewer = Browser::new(&app);
    invite_and_join(&owner, &account, &viewer, "viewer@acme.example", "viewer").await;
    let nobody = Browser::new(&app);
    invite_and_join(&owner, &account, &nobody, "none@acme.example", "no_access").await;
    let stranger = Browser::new(&app);
    let stranger_account = stranger.sign_up("stranger@else.example").await;

    let okta = fixture("okta.metadata.xml");
    let created = owner
        .call_ok(
            "/api/sso/import-metadata",
            &[("account_id", &account), ("label", "Okta"), ("metadata", &okta)],
        )
        .await;
    let id = created["id"].as_str().unwrap();

    let seen = viewer
        .call_ok("/api/sso/connections", &[("account_id", &account)])
        .await;
    assert_eq!(seen["can_manage"], false);
    let google = fixture("google.metadata.xml");
    for (path, form) in [
        (
            "/api/sso/import-metadata",
            vec![
                ("account_id", account.as_str()),
                ("label", "Google"),
                ("metadata", google.as_str()),
            ],
        ),
        (
            "/api/sso/create-connection",
            vec![
                ("account_id", account.as_str()),
                ("label", "X"),
                ("entity_id", "urn:x"),
                ("sso_url", "https://x.example/sso"),
                ("certificate", "MIIB"),
            ],
        ),
        (
            "/api/sso/remove-connection",
            vec![("account_id", account.as_str()), ("connection_id", id)],
        ),
    ] {
        assert_eq!(viewer.call(path, &form).await.status(), 403, "{path}");
    }
    assert_eq!(
        nobody
            .call("/api/sso/connections", &[("account_id", &account)])
            .await
            .status(),
        403
    );
    assert_eq!(
        stranger
            .call("/api/sso/connections", &[("account_id", &account)])
            .await
            .status(),
        404
    );
    let across = stranger
        .call(
            "/api/sso/remove-connection",
            &[("account_id", &stranger_account), ("connection_id", id)],
        )
        .await;
    assert_eq!(across.status(), 404);

    let removed = admin
        .call(
            "/api/sso/remove-connection",
            &[("account_id", &account), ("connection_id", id)],
        )
        .await;
    assert_eq!(removed.status(), 200);
}

#[tokio::test]
async fn role_mappings_travel_as_indexed_form_fields_and_are_checked_row_by_row() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let viewer = Browser::new(&app);
    invite_and_join(&owner, &account, &viewer, "viewer@acme.example", "viewer").await;
    let okta = fixture("okta.metadata.xml");
    let created = owner
        .call_ok(
            "/api/sso/import-metadata",
            &[("account_id", &account), ("label", "Okta"), ("metadata", &okta)],
        )
        .await;
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["mappings"]["default_role"], "no_access");

    let form = [
        ("account_id", account.as_str()),
        ("connection_id", id),
        ("rules[0][attribute]", "groups"),
        ("rules[0][value]", "Gatehouse Admins"),
        ("rules[0][role]", "admin"),
        ("rules[1][attribute]", ""),
        ("rules[1][value]", ""),
        ("rules[1][role]", "viewer"),
        ("rules[2][attribute]", "department"),
        ("rules[2][value]", "Finance"),
        ("rules[2][role]", "viewer"),
        ("default_role", "no_access"),
        ("reapply_on_sign_in", "true"),
    ];
    assert_eq!(owner.call("/api/sso/role-mappings", &form).await.status(), 200);
    assert_eq!(viewer.call("/api/sso/role-mappings", &form).await.status(), 403);
    let listed = owner.call_ok("/api/sso/connections", &[("account_id", &account)]).await;
    let mappings = &listed["connections"][0]["mappings"];
    assert_eq!(mappings["rules"].as_array().unwrap().len(), 2);
    assert_eq!(mappings["rules"][1]["value"], "Finance");
    assert_eq!(mappings["reapply_on_sign_in"], true);

    let mut duplicate = form.to_vec();
    duplicate[8] = ("rules[2][attribute]", "groups");
    duplicate[9] = ("rules[2][value]", "Gatehouse Admins");
    let error = json(owner.call("/api/sso/role-mappings", &duplicate).await, 422).await;
    assert_eq!(error["Invalid"]["field"], "rules");
    assert_eq!(
        error["Invalid"]["message"],
        "Row 3 repeats row 1 (same attribute and value); remove one of them."
    );
}

#[tokio::test]
async fn a_domain_is_routed_to_a_connection_by_the_owner_only() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let viewer = Browser::new(&app);
    invite_and_join(&owner, &account, &viewer, "viewer@acme.example", "viewer").await;
    let okta = fixture("okta.metadata.xml");
    let connection = owner
        .call_ok(
            "/api/sso/import-metadata",
            &[("account_id", &account), ("label", "Okta"), ("metadata", &okta)],
        )
        .await;
    let domain = owner
        .call_ok(
            "/api/domains/add",
            &[("account_id", &account), ("domain", "acme.example")],
        )
        .await;
    let (domain_id, connection_id) = (domain["id"].as_str().unwrap(), connection["id"].as_str().unwrap());
    let route = [
        ("account_id", account.as_str()),
        ("domain_id", domain_id),
        ("connection_id", connection_id),
    ];
    assert_eq!(viewer.call("/api/domains/route", &route).await.status(), 403);
    assert_eq!(owner.call("/api/domains/route", &route).await.status(), 200);
    let listed = json(owner.call("/api/domains/list", &[("account_id", &account)]).await, 200).await;
    assert_eq!(listed["domains"][0]["connection_id"], connection_id);

    let garbage = [
        ("account_id", account.as_str()),
        ("domain_id", domain_id),
        ("connection_id", "nope"),
    ];
    let error = json(owner.call("/api/domains/route", &garbage).await, 422).await;
    assert_eq!(error["Invalid"]["field"], "connection_id");
    let back = [
        ("account_id", account.as_str()),
        ("domain_id", domain_id),
        ("connection_id", ""),
    ];
    assert_eq!(owner.call("/api/domains/route", &back).await.status(), 200);
    let listed = json(owner.call("/api/domains/list", &[("account_id", &account)]).await, 200).await;
    assert_eq!(listed["domains"][0]["connection_id"], Value::Null);
}
