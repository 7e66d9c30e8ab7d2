use crate::support::{Browser, invite_and_join, spawn_app};
use serde_json::Value;

#[tokio::test]
async fn only_the_owner_changes_the_sign_in_policy_and_the_audit_log_records_it() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let admin = Browser::new(&app);
    invite_and_join(&owner, &account, &admin, "admin@acme.example", "admin").await;
    let viewer = Browser::new(&app);
    invite_and_join(&owner, &account, &viewer, "viewer@acme.example", "viewer").await;

    let policy: Value = viewer
        .call("/api/sso/policy", &[("account_id", &account)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(policy["sso_enabled"], false);
    assert_eq!(policy["can_manage"], false);

    // Not ready: the reason is given next to the SSO switch.
    let refused = owner
        .call(
            "/api/sso/update-policy",
            &[("account_id", &account), ("sso_enabled", "true")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["Invalid"]["field"], "sso_enabled");

    for member in [&admin, &viewer] {
        let response = member
            .call(
                "/api/sso/update-policy",
                &[("account_id", &account), ("enforce_sso", "true")],
            )
            .await;
        assert_eq!(response.status(), 403);
    }
    let saved = owner
        .call(
            "/api/sso/update-policy",
            &[("account_id", &account), ("enforce_sso", "true")],
        )
        .await;
    assert_eq!(saved.status(), 200);
    let policy: Value = owner
        .call("/api/sso/policy", &[("account_id", &account)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(policy["enforce_sso"], true);
    assert_eq!(policy["can_manage"], true);

    let log: Value = admin
        .call("/api/sso/audit", &[("account_id", &account)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log[0]["actor"], "owner@acme.example");
    assert_eq!(log[0]["detail"], "Enforce SSO: off → on");
    assert_eq!(
        viewer
            .call("/api/sso/audit", &[("account_id", &account)])
            .await
            .status(),
        403
    );

    let page = viewer
        .get(&format!("/accounts/{account}/sso"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Only the account owner can turn SSO on or off"));
    assert!(!page.contains("Save sign-in policy") && !page.contains("Audit log") && !page.contains("SSO events"));
    // The sections the navigation leaves out refuse the Viewer inside the account's frame.
    for section in ["audit", "events"] {
        let refused = viewer.get(&format!("/accounts/{account}/sso/{section}")).await;
        assert_eq!(refused.status(), 403, "{section}");
        let html = refused.text().await.unwrap();
        assert!(html.contains("Not available for your role") && html.contains("Single sign-on sections"));
        assert!(!html.contains("Enforce SSO: off → on"), "{section}");
    }
    let audit = owner.get(&format!("/accounts/{account}/sso/audit")).await;
    assert_eq!(audit.status(), 200);
    assert!(audit.text().await.unwrap().contains("Enforce SSO: off → on"));
}
