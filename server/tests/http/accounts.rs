use crate::support::{Browser, invite_and_join, spawn_app};

#[tokio::test]
async fn server_functions_enforce_roles_for_every_caller() {
    let app = spawn_app().await;
    let owner = Browser::new(&app);
    let account = owner.sign_up("owner@acme.example").await;
    let viewer = Browser::new(&app);
    invite_and_join(&owner, &account, &viewer, "viewer@acme.example", "viewer").await;
    let members: serde_json::Value = owner
        .call("/api/accounts/members", &[("account_id", &account)])
        .await
        .json()
        .await
        .unwrap();
    let viewer_id = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == "viewer@acme.example")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The certificate banner is for those who look after connections: a Viewer gets none, and no error.
    let notices = viewer
        .call_ok("/api/sso/certificate-notices", &[("account_id", &account)])
        .await;
    assert_eq!(notices, serde_json::json!([]));
    let stranger = Browser::new(&app);
    stranger.sign_up("stranger@elsewhere.example").await;
    let not_theirs = stranger
        .call("/api/sso/certificate-notices", &[("account_id", &account)])
        .await;
    assert_eq!(not_theirs.status(), 404);

    // The Viewer reads, but every owner-only function answers 403 and changes nothing.
    let listed = viewer.call("/api/accounts/members", &[("account_id", &account)]).await;
    assert_eq!(listed.status(), 200);
    // The list is searched and paged through the same function, with what a browser's query string carries.
    let searched: serde_json::Value = viewer
        .call(
            "/api/accounts/members",
            &[("account_id", &account), ("search", "VIEWER@"), ("after", "")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(searched["total"], 1);
    assert_eq!(searched["members"][0]["email"], "viewer@acme.example");
    assert_eq!(searched["next_after"], serde_json::Value::Null);
    let after_viewer: serde_json::Value = viewer
        .call(
            "/api/accounts/members",
            &[("account_id", &account), ("after", "viewer@acme.example")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after_viewer["members"].as_array().unwrap().len(), 0);
    assert_eq!(
        (after_viewer["total"].as_u64(), after_viewer["later_page"].as_bool()),
        (Some(2), Some(true))
    );
    for (path, form) in [
        (
            "/api/accounts/invite",
            vec![
                ("account_id", account.as_str()),
                ("email", "x@acme.example"),
                ("role", "admin"),
            ],
        ),
        (
            "/api/accounts/change-role",
            vec![("account_id", &account), ("user_id", &viewer_id), ("role", "admin")],
        ),
        ("/api/accounts/rename", vec![("account_id", &account), ("name", "Mine")]),
        (
            "/api/accounts/transfer-ownership",
            vec![("account_id", &account), ("user_id", &viewer_id)],
        ),
    ] {
        let response = viewer.call(path, &form).await;
        assert_eq!(response.status(), 403, "{path}");
    }
    let me: serde_json::Value = viewer
        .call("/api/accounts/overview", &[("account_id", &account)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "Viewer");
    assert_eq!(me["name"], "Acme", "named after the sign-up address's domain");

    // The owner can, and bad input gets a field-specific 422.
    let promote = owner
        .call(
            "/api/accounts/change-role",
            &[("account_id", &account), ("user_id", &viewer_id), ("role", "admin")],
        )
        .await;
    assert_eq!(promote.status(), 200);
    let bad_role = owner
        .call(
            "/api/accounts/change-role",
            &[("account_id", &account), ("user_id", &viewer_id), ("role", "god")],
        )
        .await;
    assert_eq!(bad_role.status(), 422);
    let body: serde_json::Value = bad_role.json().await.unwrap();
    assert_eq!(body["Invalid"]["field"], "role");
    let me: serde_json::Value = viewer
        .call("/api/accounts/overview", &[("account_id", &account)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["role"], "Admin");
}

#[tokio::test]
async fn another_account_is_invisible_and_untouchable() {
    let app = spawn_app().await;
    let alice = Browser::new(&app);
    let alice_account = alice.sign_up("alice@a.example").await;
    let mallory = Browser::new(&app);
    mallory.sign_up("mallory@m.example").await;

    for path in [
        "/api/accounts/overview",
        "/api/accounts/members",
        "/api/accounts/ownership-candidates",
    ] {
        let response = mallory.call(path, &[("account_id", &alice_account)]).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let rename = mallory
        .call(
            "/api/accounts/rename",
            &[("account_id", &alice_account), ("name", "pwned")],
        )
        .await;
    assert_eq!(rename.status(), 404);
    let garbage = mallory
        .call("/api/accounts/members", &[("account_id", "not-a-uuid")])
        .await;
    assert_eq!(garbage.status(), 404);
    let page = mallory.get(&format!("/accounts/{alice_account}")).await;
    assert_eq!(page.status(), 404);

    let anonymous = Browser::new(&app);
    let response = anonymous
        .call("/api/accounts/members", &[("account_id", &alice_account)])
        .await;
    assert_eq!(response.status(), 401);
    let overview: serde_json::Value = alice
        .call("/api/accounts/overview", &[("account_id", &alice_account)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(overview["name"], "A");
}
