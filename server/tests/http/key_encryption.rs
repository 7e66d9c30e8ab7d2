//! The key-encryption key as an operator meets it: SP private keys stored encrypted with the configured key, a
//! start with another key refused with the reason, and `gatehouse rotate-key-encryption-key` moving every key to
//! a new one.

use crate::support::fresh_database_url;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::Parser;
use gatehouse_core::saml::KeyEncryptionKey;
use gatehouse_core::sso::ManualFields;
use server::config::Config;
use std::path::Path;
use test_smtp::SmtpSink;

/// The public URL of the server this test configures but never serves: its mailed links start with it.
const PUBLIC_URL: &str = "http://key-rotation.test/";

fn config(database_url: &str, key_file: &Path) -> Config {
    Config::parse_from([
        "gatehouse",
        "--public-url",
        PUBLIC_URL,
        "--database-url",
        database_url,
        "--key-encryption-key-file",
        key_file.to_str().unwrap(),
        "--smtp-url",
        &SmtpSink::shared().url(),
    ])
}

#[tokio::test]
async fn rotating_the_key_encryption_key_is_one_command_after_which_the_old_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database_url(dir.path()).await;
    let (old_file, new_file) = (dir.path().join("old.key"), dir.path().join("new.key"));
    std::fs::write(&old_file, format!("{}\n", STANDARD.encode([1u8; 32]))).unwrap();
    std::fs::write(&new_file, STANDARD.encode([2u8; 32])).unwrap();
    let (old_key, new_key) = (
        KeyEncryptionKey::from_bytes([1; 32]),
        KeyEncryptionKey::from_bytes([2; 32]),
    );

    let state = server::state(&config(&database_url, &old_file), server::leptos_options())
        .await
        .unwrap();
    let now = chrono::Utc::now();
    let signed_up = state
        .services
        .auth
        .sign_up("owner@acme.example", "correct horse battery", None, now)
        .await
        .unwrap();
    let link = SmtpSink::shared().take_link("owner@acme.example", PUBLIC_URL);
    let secret = link.rsplit('/').next().unwrap();
    state.services.auth.prove_email(secret, now).await.unwrap();
    let owner = state
        .services
        .auth
        .authenticate(&signed_up.session.token, now)
        .await
        .unwrap();
    let certificate = test_idp::idp().certificate.to_pem();
    let connection = state
        .services
        .connections
        .create_manual(
            &owner,
            signed_up.account_id,
            &ManualFields {
                label: "Test IdP",
                entity_id: test_idp::IDP,
                sso_url: "https://idp.example.com/sso",
                slo_url: "",
                certificates: certificate.as_bytes(),
            },
            None,
            now,
        )
        .await
        .unwrap();
    let stored = |state: &server::AppState| {
        let store = state.store.clone();
        async move { store.sp_keys(connection.id).await.unwrap().remove(0).sealed_private_key }
    };
    let before = stored(&state).await;
    assert!(before.starts_with(&format!("v1:{}:", old_key.id())) && !before.contains("PRIVATE KEY"));

    let rotation = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args([
            "--database-url",
            &database_url,
            "rotate-key-encryption-key",
            "--old-key-file",
        ])
        .arg(&old_file)
        .arg("--new-key-file")
        .arg(&new_file)
        .output()
        .unwrap();
    assert!(
        rotation.status.success(),
        "{}",
        String::from_utf8_lossy(&rotation.stderr)
    );

    let refused = server::state(&config(&database_url, &old_file), server::leptos_options())
        .await
        .err()
        .expect("the old key no longer starts the server")
        .to_string();
    assert!(
        refused.contains(&format!("encrypted with key-encryption key {}", new_key.id()))
            && refused.contains("gatehouse rotate-key-encryption-key"),
        "{refused}"
    );
    let state = server::state(&config(&database_url, &new_file), server::leptos_options())
        .await
        .unwrap();
    let after = stored(&state).await;
    assert!(after.starts_with(&format!("v1:{}:", new_key.id())));
    let connections = state
        .services
        .connections
        .list(&owner, signed_up.account_id)
        .await
        .unwrap();
    for key in &connections[0].sp_keys {
        key.private_key
            .parsed()
            .expect("the new key opens every SP private key");
    }
}
