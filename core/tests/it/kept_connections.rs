//! A server instance keeps connections in memory between messages; a change written anywhere else (another
//! instance, or by hand in the database) must reach its very next message all the same.

use crate::sso_setup::{Setup, attempt, finish, setup_in};
use crate::support::{TestWorld, fresh_database};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::saml::binding::Outgoing;
use gatehouse_core::saml::response::Rejection;
use gatehouse_core::sso::refusal::Refusal;
use gatehouse_core::sso::sign_in::{Refused, StartError, Started};
use gatehouse_core::{Role, Store};
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// An instance signed in through once (so it keeps the connection), and another handle on the same database for
/// writing beside it.
async fn warmed() -> (Setup, DatabaseConnection) {
    let (url, dir) = fresh_database().await;
    let store = Store::open(&url).await.unwrap();
    let s = setup_in(TestWorld::with_store(store, dir), "").await;
    attempt(&s, |_| {}).await.expect("the first sign-in");
    let elsewhere = sea_orm::Database::connect(url.as_str()).await.unwrap();
    (s, elsewhere)
}

async fn revision(s: &Setup) -> i64 {
    s.world.store.connection_revision(s.connection).await.unwrap().unwrap()
}

async fn run(db: &DatabaseConnection, sql: &str) {
    db.execute_unprepared(sql).await.unwrap();
}

/// A sign-in started before `sql` runs elsewhere and answered by the IdP after it: the ACS's refusal.
async fn answered_after(s: &Setup, elsewhere: &DatabaseConnection, sql: &str) -> Refused {
    let now = test_idp::now();
    let started = s.sso.start(s.connection, None, now).await.unwrap();
    run(elsewhere, sql).await;
    finish(s, s.connection, &started, |_| {}, now)
        .await
        .expect_err("the change made elsewhere refuses the response")
}

#[tokio::test]
async fn a_certificate_replaced_elsewhere_stops_the_next_sign_in() {
    let (s, elsewhere) = warmed().await;
    let attackers = test_idp::attacker().certificate.to_base64();
    run(
        &elsewhere,
        &format!("UPDATE sso_connections SET certificates = '{attackers}'"),
    )
    .await;
    let refused = attempt(&s, |_| {}).await.unwrap_err();
    assert!(
        matches!(refused.refusal, Refusal::Response(Rejection::Signature { .. })),
        "{refused:?}"
    );
    // And the certificate put in its place signs in.
    attempt(&s, |spec| spec.signer = test_idp::attacker())
        .await
        .expect("the new certificate signs in");
}

#[tokio::test]
async fn a_role_mapping_added_elsewhere_applies_at_the_next_sign_in() {
    let (s, elsewhere) = warmed().await;
    run(
        &elsewhere,
        "INSERT INTO role_mappings (connection_id, position, attribute_name, attribute_value, role) \
         SELECT id, 0, 'groups', 'it-admins', 'admin' FROM sso_connections",
    )
    .await;
    let signed_in = attempt(&s, |spec| {
        spec.name_id = "new.admin@acme.example".into();
        spec.attributes = vec![("groups".into(), vec!["it-admins".into()])];
    })
    .await
    .unwrap();
    assert_eq!(signed_in.role, Role::Admin);
}

#[tokio::test]
async fn sso_turned_off_elsewhere_stops_the_next_sign_in_and_login() {
    let (s, elsewhere) = warmed().await;
    let now = test_idp::now();
    let refused = answered_after(&s, &elsewhere, "UPDATE sso_settings SET sso_enabled = false").await;
    assert_eq!(refused.refusal, Refusal::SsoOff);
    assert!(matches!(
        s.sso.start(s.connection, None, now).await,
        Err(StartError::SsoOff)
    ));
}

#[tokio::test]
async fn sp_keys_removed_elsewhere_stop_the_next_login() {
    let (s, elsewhere) = warmed().await;
    run(&elsewhere, "DELETE FROM sp_keys").await;
    assert!(matches!(
        s.sso.start(s.connection, None, test_idp::now()).await,
        Err(StartError::NoKey)
    ));
}

/// A kept connection that could not sign a request is not the last word: SP keys put back elsewhere make the next
/// login work.
#[tokio::test]
async fn sp_keys_put_back_elsewhere_restart_the_next_login() {
    let (s, elsewhere) = warmed().await;
    let now = test_idp::now();
    run(&elsewhere, "CREATE TABLE kept_aside AS SELECT * FROM sp_keys").await;
    run(&elsewhere, "DELETE FROM sp_keys").await;
    assert!(matches!(
        s.sso.start(s.connection, None, now).await,
        Err(StartError::NoKey)
    ));
    run(&elsewhere, "INSERT INTO sp_keys SELECT * FROM kept_aside").await;
    let started = s.sso.start(s.connection, None, now).await.expect("the keys are back");
    finish(&s, s.connection, &started, |_| {}, now)
        .await
        .expect("and the sign-in completes");
}

#[tokio::test]
async fn a_deleted_connection_is_unknown_at_once() {
    let (s, elsewhere) = warmed().await;
    let now = test_idp::now();
    let refused = answered_after(&s, &elsewhere, "DELETE FROM sso_connections").await;
    assert_eq!(refused.refusal, Refusal::UnknownConnection(s.connection));
    assert!(matches!(
        s.sso.start(s.connection, None, now).await,
        Err(StartError::NoConnection)
    ));
}

/// Whether the AuthnRequest a login sends is signed: a query signature on the redirect, an enveloped one in a post.
fn signed(started: &Started) -> bool {
    match &started.outgoing {
        Outgoing::Redirect(url) => url.query_pairs().any(|(name, _)| name == "Signature"),
        Outgoing::Post { message, .. } => {
            let xml = STANDARD.decode(message).unwrap();
            String::from_utf8(xml).unwrap().contains("SignatureValue")
        }
    }
}

#[tokio::test]
async fn request_signing_turned_off_elsewhere_applies_at_the_next_login() {
    let (s, elsewhere) = warmed().await;
    let now = test_idp::now();
    assert!(signed(&s.sso.start(s.connection, None, now).await.unwrap()));
    run(&elsewhere, "UPDATE sso_connections SET sign_authn_requests = false").await;
    let started = s.sso.start(s.connection, None, now).await.unwrap();
    assert!(
        !signed(&started),
        "the login used the connection as it was before the change"
    );
    // The request the second login stored is the one its response answers.
    finish(&s, s.connection, &started, |_| {}, now)
        .await
        .expect("the response to the unsigned request signs in");
}

/// Every table a connection is read from moves its revision, and a row read earlier and written back whole does
/// not move it back (an instance could otherwise take an older connection for the current one).
#[tokio::test]
async fn every_write_moves_the_revision_forward() {
    let (s, elsewhere) = warmed().await;
    let mut last = revision(&s).await;
    let writes = [
        "UPDATE sso_connections SET label = 'Renamed'",
        "INSERT INTO role_mappings (connection_id, position, attribute_name, attribute_value, role) \
         SELECT id, 0, 'groups', 'x', 'admin' FROM sso_connections",
        "UPDATE role_mappings SET role = 'member'",
        "DELETE FROM role_mappings",
        "UPDATE sp_keys SET state = state",
        "UPDATE sso_settings SET no_separate_account = true",
        "UPDATE sso_connections SET revision = 0, label = 'Written back whole'",
    ];
    for write in writes {
        run(&elsewhere, write).await;
        let now = revision(&s).await;
        assert!(now > last, "{write}: the revision went from {last} to {now}");
        last = now;
    }
}
