//! SP private keys at rest: what the sp_keys table holds (never a private key), sealing the rows written before
//! keys were sealed, a wrong key-encryption key, rotating that key, and a sealed key moved to another row.

use crate::support::{TestWorld, t0};
use gatehouse_core::saml::{KeyAtRestError, KeyEncryptionKey, KeyState};
use gatehouse_core::sso::stored_keys::{rotate_key_encryption_key, seal_stored_keys};
use gatehouse_core::sso::{Connection, ConnectionService, FetchPolicy, ManualFields, StoredKeysError};
use gatehouse_core::store::SpKeyRow;
use gatehouse_core::{AccountId, Caller};
use test_idp::idp;

fn key_a() -> KeyEncryptionKey {
    KeyEncryptionKey::from_bytes([0xa5; 32])
}

fn key_b() -> KeyEncryptionKey {
    KeyEncryptionKey::from_bytes([0x5b; 32])
}

fn service(world: &TestWorld, key_encryption: KeyEncryptionKey) -> ConnectionService {
    ConnectionService::new(
        world.store.clone(),
        world.tenancy.clone(),
        url::Url::parse("https://sso.example.com/").unwrap(),
        FetchPolicy::default(),
        chrono::Duration::hours(12),
        key_encryption,
    )
}

/// A connection typed in by hand, with an active and a published next key.
async fn connection(
    connections: &ConnectionService,
    owner: &Caller,
    account: AccountId,
    idp_entity: &str,
) -> Connection {
    let certificate = idp().certificate.to_pem();
    let created = connections
        .create_manual(
            owner,
            account,
            &ManualFields {
                label: "Test IdP",
                entity_id: idp_entity,
                sso_url: "https://idp.example.com/sso",
                slo_url: "",
                certificates: certificate.as_bytes(),
            },
            None,
            t0(),
        )
        .await
        .unwrap();
    connections
        .prepare_next_key(owner, account, created.id, t0())
        .await
        .unwrap();
    reload(connections, owner, account, &created).await
}

async fn reload(connections: &ConnectionService, owner: &Caller, account: AccountId, c: &Connection) -> Connection {
    let all = connections.list(owner, account).await.unwrap();
    all.into_iter().find(|each| each.id == c.id).unwrap()
}

/// The PEM of each of the connection's private keys, as OpenSSL writes it, by key id.
fn pems(connection: &Connection) -> Vec<(uuid::Uuid, String)> {
    let mut pems: Vec<_> = connection
        .sp_keys
        .iter()
        .map(|k| {
            let pem = k.private_key.parsed().unwrap().private_key_to_pem_pkcs8().unwrap();
            (k.id, String::from_utf8(pem).unwrap())
        })
        .collect();
    pems.sort();
    pems
}

/// Every key opens and is the private half of its published certificate.
fn keys_match_their_certificates(connection: &Connection) {
    for key in &connection.sp_keys {
        let public = openssl::x509::X509::from_der(key.certificate.der())
            .unwrap()
            .public_key()
            .unwrap();
        assert!(public.public_eq(&key.private_key.parsed().unwrap()), "{:?}", key.state);
    }
}

/// The connection's rows of the sp_keys table, by key id.
async fn rows(world: &TestWorld, connection: &Connection) -> Vec<SpKeyRow> {
    let mut rows = world.store.sp_keys(connection.id).await.unwrap();
    rows.sort_by_key(|r| r.id);
    rows
}

/// Sets stored values directly in the table, as someone with database access could.
async fn overwrite(world: &TestWorld, values: &[(uuid::Uuid, String)]) {
    world
        .store
        .rewrite_sp_private_keys("#", |row| {
            Ok::<_, gatehouse_core::StoreError>(
                values
                    .iter()
                    .find(|(id, _)| *id == row.id)
                    .map_or_else(|| row.sealed_private_key.clone(), |(_, value)| value.clone()),
            )
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn the_table_holds_no_private_key_only_values_sealed_for_their_row() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = service(&world, key_a());
    let created = connection(&connections, &owner, account, "https://idp.example.com/a").await;
    let rows = rows(&world, &created).await;
    assert_eq!(rows.len(), 2);
    for (row, (id, pem)) in rows.iter().zip(pems(&created)) {
        assert_eq!(row.id, id);
        let whole_row = format!("{row:?}");
        assert!(!whole_row.contains("PRIVATE KEY"));
        // From the private exponent on: the lines before hold the modulus, which the certificate holds too.
        let private_lines: Vec<&str> = pem.lines().skip(8).filter(|line| line.len() == 64).collect();
        assert!(private_lines.len() > 10);
        assert!(private_lines.iter().all(|line| !whole_row.contains(line)));
        assert!(row.sealed_private_key.starts_with(&format!("v1:{}:", key_a().id())));
        assert_ne!(row.sealed_private_key, pem);
    }
    keys_match_their_certificates(&created);
    let metadata = connections
        .service_provider_metadata(created.id)
        .await
        .unwrap()
        .unwrap();
    for key in &created.sp_keys {
        assert!(
            metadata.contains(&key.certificate.to_base64()),
            "{:?} published",
            key.state
        );
    }
    connections
        .activate_next_key(&owner, account, created.id, t0())
        .await
        .unwrap();
    let rotated = reload(&connections, &owner, account, &created).await;
    assert_eq!(rotated.sp_keys.len(), 2);
    assert!(rotated.sp_keys.iter().any(|k| k.state == KeyState::Previous));
    keys_match_their_certificates(&rotated);
}

#[tokio::test]
async fn plain_keys_written_before_sealing_are_sealed_at_start_all_or_none() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = service(&world, key_a());
    let created = connection(&connections, &owner, account, "https://idp.example.com/a").await;
    let plain = pems(&created);
    overwrite(&world, &plain).await;
    assert!(
        rows(&world, &created)
            .await
            .iter()
            .all(|r| r.sealed_private_key.contains("PRIVATE KEY"))
    );

    // One key sealed with another key-encryption key: nothing is sealed, the start stops.
    let elsewhere = connection(&service(&world, key_b()), &owner, account, "https://idp.example.com/b").await;
    let error = seal_stored_keys(&world.store, &key_a()).await.unwrap_err();
    assert!(
        matches!(error, StoredKeysError::KeyAtRest(KeyAtRestError::OtherKey { .. })),
        "{error}"
    );
    let unchanged: Vec<String> = rows(&world, &created)
        .await
        .into_iter()
        .map(|r| r.sealed_private_key)
        .collect();
    assert_eq!(unchanged, plain.iter().map(|(_, pem)| pem.clone()).collect::<Vec<_>>());

    let other_rows = rows(&world, &elsewhere).await;
    overwrite(&world, &pems(&elsewhere)).await;
    assert_eq!(seal_stored_keys(&world.store, &key_a()).await.unwrap(), 4);
    assert_eq!(
        seal_stored_keys(&world.store, &key_a()).await.unwrap(),
        0,
        "nothing left to seal"
    );
    for c in [&created, &elsewhere] {
        for row in rows(&world, c).await {
            assert!(row.sealed_private_key.starts_with(&format!("v1:{}:", key_a().id())));
        }
        keys_match_their_certificates(&reload(&connections, &owner, account, c).await);
    }
    assert_ne!(rows(&world, &elsewhere).await, other_rows);
}

#[tokio::test]
async fn a_wrong_key_encryption_key_is_refused_clearly_at_start_and_at_use() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let created = connection(&service(&world, key_a()), &owner, account, "https://idp.example.com/a").await;
    let at_start = seal_stored_keys(&world.store, &key_b()).await.unwrap_err().to_string();
    assert!(
        at_start.contains(&format!("encrypted with key-encryption key {}", key_a().id()))
            && at_start.contains(&format!("the configured key is {}", key_b().id()))
            && at_start.contains("gatehouse rotate-key-encryption-key"),
        "{at_start}"
    );
    let wrong = service(&world, key_b());
    let loaded = reload(&wrong, &owner, account, &created).await;
    for key in &loaded.sp_keys {
        let at_use = key.private_key.parsed().unwrap_err();
        assert!(matches!(at_use, KeyAtRestError::OtherKey { .. }), "{at_use}");
    }
    let signing = gatehouse_core::saml::binding::redirect(
        &url::Url::parse("https://idp.example.com/sso").unwrap(),
        gatehouse_core::saml::binding::Parameter::SamlRequest,
        "<samlp:AuthnRequest/>",
        "",
        Some(&loaded.sp_keys[0].signing_key()),
    );
    let message = signing.unwrap_err().to_string();
    assert!(
        message.contains(&format!("the configured key is {}", key_b().id())),
        "{message}"
    );
}

#[tokio::test]
async fn rotation_re_encrypts_every_key_and_the_old_key_no_longer_opens_them() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let old = service(&world, key_a());
    let first = connection(&old, &owner, account, "https://idp.example.com/a").await;
    let second = connection(&old, &owner, account, "https://idp.example.com/b").await;
    let before = [rows(&world, &first).await, rows(&world, &second).await].concat();

    assert_eq!(
        rotate_key_encryption_key(&world.store, &key_a(), &key_b())
            .await
            .unwrap(),
        4
    );
    let after = [rows(&world, &first).await, rows(&world, &second).await].concat();
    for (before, after) in before.iter().zip(&after) {
        assert_eq!(before.id, after.id);
        assert_ne!(before.sealed_private_key, after.sealed_private_key);
        assert!(after.sealed_private_key.starts_with(&format!("v1:{}:", key_b().id())));
    }
    let new = service(&world, key_b());
    for c in [&first, &second] {
        let reloaded = reload(&new, &owner, account, c).await;
        keys_match_their_certificates(&reloaded);
        assert_eq!(pems(&reloaded), pems(c), "the same keys");
        for key in &reload(&old, &owner, account, c).await.sp_keys {
            assert!(matches!(key.private_key.parsed(), Err(KeyAtRestError::OtherKey { .. })));
        }
    }
    assert!(
        seal_stored_keys(&world.store, &key_a()).await.is_err(),
        "a start with the old key stops"
    );
    assert_eq!(seal_stored_keys(&world.store, &key_b()).await.unwrap(), 0);
    assert_eq!(
        rotate_key_encryption_key(&world.store, &key_a(), &key_b())
            .await
            .unwrap(),
        0,
        "done already"
    );
    assert!(matches!(
        rotate_key_encryption_key(&world.store, &key_c_from_a(), &key_a()).await,
        Err(StoredKeysError::KeyAtRest(KeyAtRestError::OtherKey { .. }))
    ));
    let unchanged = [rows(&world, &first).await, rows(&world, &second).await].concat();
    assert_eq!(unchanged, after, "a refused rotation changes nothing");
    assert!(matches!(
        rotate_key_encryption_key(&world.store, &key_b(), &key_b()).await,
        Err(StoredKeysError::KeyAtRest(KeyAtRestError::SameKey(_)))
    ));
}

/// A third key, which sealed nothing.
fn key_c_from_a() -> KeyEncryptionKey {
    KeyEncryptionKey::from_bytes([0xc3; 32])
}

#[tokio::test]
async fn a_sealed_key_copied_onto_another_row_does_not_open() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = service(&world, key_a());
    let victim = connection(&connections, &owner, account, "https://idp.example.com/a").await;
    let attacker = connection(&connections, &owner, account, "https://idp.example.com/b").await;
    // Both opened once already: what is kept for a row is never handed out for another.
    keys_match_their_certificates(&victim);
    keys_match_their_certificates(&attacker);
    let victims = rows(&world, &victim).await;
    let attackers = rows(&world, &attacker).await;
    let stolen = victims[0].sealed_private_key.clone();
    overwrite(&world, &[(attackers[0].id, stolen.clone()), (victims[1].id, stolen)]).await;
    let key_of = |c: &Connection, id| c.sp_keys.iter().find(|k| k.id == id).unwrap().clone();
    let moved_across = key_of(&reload(&connections, &owner, account, &attacker).await, attackers[0].id);
    let victim_now = reload(&connections, &owner, account, &victim).await;
    for key in [moved_across, key_of(&victim_now, victims[1].id)] {
        let error = key.private_key.parsed().unwrap_err();
        assert!(
            matches!(error, KeyAtRestError::DoesNotOpen(id) if id == key.id),
            "{error}"
        );
    }
    let own = key_of(&victim_now, victims[0].id);
    assert!(own.private_key.parsed().is_ok(), "the key in its own row still opens");
}
