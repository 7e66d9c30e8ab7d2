use crate::support::{Browser, TestApp, fixture, invite_and_join, json, spawn_app_with};
use serde_json::Value;
use test_dns::TestDns;

async fn app_with_dns() -> (TestApp, TestDns) {
    let dns = TestDns::start().await.unwrap();
    let nameserver = dns.addr().to_string();
    let app = spawn_app_with(&["--dns-server", &nameserver, "--dns-timeout-seconds", "1"]).await;
    (app, dns)
}

#[tokio::test]
async fn an_owner_adds_publishes_and_verifies_a_domain() {
    let (app, dns) = app_with_dns().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;

    let added = owner
        .call_ok(
            "/api/domains/add",
            &[("account_id", &account), ("domain", " Acme.Example. ")],
        )
        .await;
    assert_eq!(added["name"], "acme.example");
    assert_eq!(added["status"], "pending");
    let value = added["record_value"].as_str().unwrap();
    assert!(value.starts_with("gatehouse-verification="), "{value}");
    let id = added["id"].as_str().unwrap();

    let not_yet = owner
        .call_ok("/api/domains/verify", &[("account_id", &account), ("domain_id", id)])
        .await;
    assert_eq!(not_yet["status"], "failed");
    assert_eq!(
        not_yet["last_failure"],
        "The domain acme.example does not exist (NXDOMAIN)."
    );

    dns.set_txt("acme.example", &[&[value]]).await;
    let verified = owner
        .call_ok("/api/domains/verify", &[("account_id", &account), ("domain_id", id)])
        .await;
    assert_eq!(verified["status"], "active");
    assert_eq!(verified["last_failure"], Value::Null);

    let page = owner.get(&format!("/accounts/{account}/sso/domains")).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("acme.example") && html.contains(value) && html.contains("Active"));
}

#[tokio::test]
async fn bad_and_duplicate_domains_are_refused_next_to_the_field() {
    let (app, _dns) = app_with_dns().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let add = async |domain: &str| {
        owner
            .call("/api/domains/add", &[("account_id", &account), ("domain", domain)])
            .await
    };
    json(add("acme.example").await, 200).await;
    for (input, message) in [
        ("ACME.example", "acme.example is already in this account's list."),
        ("co.uk", "co.uk is a public suffix"),
        ("10.0.0.1", "10.0.0.1 is an IP address"),
        ("intranet", "Enter a full domain such as intranet.com"),
        ("", "Enter a domain"),
    ] {
        let error = json(add(input).await, 422).await;
        assert_eq!(error["Invalid"]["field"], "domain", "{input}");
        let text = error["Invalid"]["message"].as_str().unwrap();
        assert!(text.starts_with(message), "{input}: {text}");
    }
    let listed = json(owner.call("/api/domains/list", &[("account_id", &account)]).await, 200).await;
    assert_eq!(listed["domains"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn viewers_see_domains_and_only_owners_and_admins_change_them() {
    let (app, dns) = app_with_dns().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let admin = Browser::new(&app);
    invite_and_join(&owner, &account, &admin, "admin@acme.example", "admin").await;
    let viewer = Browser::new(&app);
    invite_and_join(&owner, &account, &viewer, "viewer@acme.example", "viewer").await;
    let nobody = Browser::new(&app);
    invite_and_join(&owner, &account, &nobody, "none@acme.example", "no_access").await;

    let added = admin
        .call_ok(
            "/api/domains/add",
            &[("account_id", &account), ("domain", "acme.example")],
        )
        .await;
    let id = added["id"].as_str().unwrap();
    dns.set_txt("acme.example", &[&[added["record_value"].as_str().unwrap()]])
        .await;

    let seen = json(viewer.call("/api/domains/list", &[("account_id", &account)]).await, 200).await;
    assert_eq!(seen["can_manage"], false);
    assert_eq!(seen["domains"][0]["name"], "acme.example");
    for (path, form) in [
        (
            "/api/domains/add",
            vec![("account_id", account.as_str()), ("domain", "other.example")],
        ),
        ("/api/domains/verify", vec![("account_id", &account), ("domain_id", id)]),
        ("/api/domains/remove", vec![("account_id", &account), ("domain_id", id)]),
    ] {
        assert_eq!(viewer.call(path, &form).await.status(), 403, "{path}");
    }
    assert_eq!(
        nobody
            .call("/api/domains/list", &[("account_id", &account)])
            .await
            .status(),
        403
    );
    let page = viewer
        .get(&format!("/accounts/{account}/sso/domains"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("acme.example") && !page.contains("Add domain") && !page.contains(">Verify<"));

    let verified = admin
        .call_ok("/api/domains/verify", &[("account_id", &account), ("domain_id", id)])
        .await;
    assert_eq!(verified["status"], "active");
    let listed = json(owner.call("/api/domains/list", &[("account_id", &account)]).await, 200).await;
    assert_eq!(listed["domains"][0]["status"], "active");
    assert_eq!(
        owner
            .call("/api/domains/remove", &[("account_id", &account), ("domain_id", id)])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn another_accounts_domains_are_out_of_reach() {
    let (app, dns) = app_with_dns().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let rival = Browser::new(&app);
    let rival_account = rival.sign_up("rival@other.example").await;
    let ours = owner
        .call_ok(
            "/api/domains/add",
            &[("account_id", &account), ("domain", "acme.example")],
        )
        .await;
    let id = ours["id"].as_str().unwrap();

    assert_eq!(
        rival
            .call("/api/domains/list", &[("account_id", &account)])
            .await
            .status(),
        404
    );
    for path in ["/api/domains/verify", "/api/domains/remove"] {
        let response = rival
            .call(path, &[("account_id", &rival_account), ("domain_id", id)])
            .await;
        assert_eq!(response.status(), 404, "{path}");
        let response = rival.call(path, &[("account_id", &account), ("domain_id", id)]).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let malformed = rival
        .call(
            "/api/domains/verify",
            &[("account_id", &rival_account), ("domain_id", "nope")],
        )
        .await;
    assert_eq!(malformed.status(), 404);

    // The rival claims the same domain; once ours is verified, theirs cannot be.
    let theirs = rival
        .call_ok(
            "/api/domains/add",
            &[("account_id", &rival_account), ("domain", "acme.example")],
        )
        .await;
    dns.set_txt(
        "acme.example",
        &[
            &[ours["record_value"].as_str().unwrap()],
            &[theirs["record_value"].as_str().unwrap()],
        ],
    )
    .await;
    let verified = owner
        .call_ok("/api/domains/verify", &[("account_id", &account), ("domain_id", id)])
        .await;
    assert_eq!(verified["status"], "active");
    let refused = rival
        .call_ok(
            "/api/domains/verify",
            &[
                ("account_id", &rival_account),
                ("domain_id", theirs["id"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(refused["status"], "failed");
    assert_eq!(refused["verified_elsewhere"], true);
}

#[tokio::test]
async fn an_admins_verify_leaves_the_domain_routed_nowhere_and_flagged_while_the_owners_routes_it() {
    let (app, dns) = app_with_dns().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let admin = Browser::new(&app);
    invite_and_join(&owner, &account, &admin, "admin@acme.example", "admin").await;
    let okta = owner
        .call_ok(
            "/api/sso/import-metadata",
            &[
                ("account_id", account.as_str()),
                ("label", "Okta"),
                ("metadata", &fixture("okta.metadata.xml")),
            ],
        )
        .await;
    let okta_id = okta["id"].as_str().unwrap().to_owned();
    let add_and_verify = async |member: &Browser, name: &str| {
        let added = member
            .call_ok("/api/domains/add", &[("account_id", &account), ("domain", name)])
            .await;
        dns.set_txt(name, &[&[added["record_value"].as_str().unwrap()]]).await;
        let id = added["id"].as_str().unwrap().to_owned();
        member
            .call_ok("/api/domains/verify", &[("account_id", &account), ("domain_id", &id)])
            .await
    };

    let by_admin = add_and_verify(&admin, "acme.example").await;
    assert_eq!(by_admin["status"], "active");
    assert_eq!(
        by_admin["connection_id"],
        Value::Null,
        "an Admin's Verify routes nothing"
    );
    assert_eq!(by_admin["routed_nowhere"], true);
    let by_owner = add_and_verify(&owner, "beta.example").await;
    assert_eq!(
        by_owner["connection_id"],
        okta_id.as_str(),
        "the Owner's Verify routes to the only connection"
    );
    assert_eq!(by_owner["routed_nowhere"], false);

    let flag = "Routed nowhere: people at this domain sign in with a password.";
    let page = async |who: &Browser, path: &str| {
        who.get(&format!("/accounts/{account}/{path}"))
            .await
            .text()
            .await
            .unwrap()
    };
    let owner_page = page(&owner, "sso/domains").await;
    assert_eq!(owner_page.matches(flag).count(), 1, "only acme.example is flagged");
    assert!(owner_page.contains(&format!("{flag} Choose an identity provider.")));
    let overview = page(&owner, "sso").await;
    assert!(overview.contains("People at beta.example sign in with a password; through Okta once SSO is on."));
    assert!(overview.contains("People at acme.example sign in with a password: the domain is routed nowhere."));
    assert!(overview.contains("2 domains, 2 Active.") && overview.contains("1 connected: Okta."));
    let admin_page = page(&admin, "sso/domains").await;
    assert_eq!(admin_page.matches(flag).count(), 1);
    assert!(admin_page.contains("Owner can route it to an identity provider."));
    assert!(!admin_page.contains("Choose an identity provider."));

    let log = owner.call_ok("/api/sso/audit", &[("account_id", &account)]).await;
    let routed: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "Domain routed")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        routed,
        ["beta.example → Okta (automatically: verified by the Owner; the account's only identity provider)"]
    );
}
