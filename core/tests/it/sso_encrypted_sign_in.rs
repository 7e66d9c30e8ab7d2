//! Sign-in with encrypted assertions against a real database: the ACS decrypts with the connection's own SP keys
//! as they are stored, through a key rotation, and records why it could not when the IdP used another key.

use crate::sso_setup::{self, Setup, setup};
use crate::support::t0;
use gatehouse_core::saml::response::Rejection;
use gatehouse_core::saml::{Certificate, KeyState};
use gatehouse_core::sso::refusal::Refusal;
use gatehouse_core::sso::sign_in::{Refused, SignedIn};
use test_idp::{Encryption, other_sp_key};

/// The certificate of the connection's SP key in `state`, as stored.
async fn sp_certificate(s: &Setup, state: KeyState) -> Certificate {
    let connections = s.connections.list(&s.owner, s.account).await.unwrap();
    let connection = connections.iter().find(|c| c.id == s.connection).unwrap();
    let key = connection.sp_keys.iter().find(|k| k.state == state).unwrap();
    key.certificate.clone()
}

/// A whole sign-in from this browser with the assertion signed, then encrypted for `certificate`.
async fn attempt(s: &Setup, certificate: &Certificate) -> Result<SignedIn, Refused> {
    sso_setup::attempt(s, |spec| spec.encryption = Some(Encryption::to(certificate))).await
}

#[tokio::test]
async fn the_acs_decrypts_with_the_connections_stored_keys_through_a_rotation() {
    let s = setup().await;
    let first = sp_certificate(&s, KeyState::Active).await;
    assert_eq!(attempt(&s, &first).await.unwrap().email, "ada@acme.example");

    // Rotation: the IdP may already use the published next key, or still the old one once it is previous.
    s.connections
        .prepare_next_key(&s.owner, s.account, s.connection, t0())
        .await
        .unwrap();
    let second = sp_certificate(&s, KeyState::Next).await;
    assert!(attempt(&s, &second).await.is_ok());
    s.connections
        .activate_next_key(&s.owner, s.account, s.connection, t0())
        .await
        .unwrap();
    assert_eq!(sp_certificate(&s, KeyState::Previous).await, first);
    assert!(attempt(&s, &first).await.is_ok());
    assert!(attempt(&s, &second).await.is_ok());
    // Removed, the old key decrypts no more, and the owner reads which certificate the IdP used.
    s.connections
        .remove_previous_key(&s.owner, s.account, s.connection, t0())
        .await
        .unwrap();
    let refused = attempt(&s, &first).await.unwrap_err();
    assert_eq!(
        refused.refusal,
        Refusal::Response(Rejection::NoDecryptionKey(Some(first.sha256_fingerprint.clone())))
    );
    let foreign = attempt(&s, &other_sp_key().certificate).await.unwrap_err();
    assert_eq!(
        foreign.refusal,
        Refusal::Response(Rejection::NoDecryptionKey(Some(
            other_sp_key().certificate.sha256_fingerprint.clone()
        )))
    );
    let events = s.world.store.sso_events(s.account, None, 10).await.unwrap();
    let logged = events
        .iter()
        .find(|e| Some(&e.reference) == refused.reference.as_ref())
        .unwrap();
    assert_eq!(logged.outcome, "refused");
    assert_eq!(
        logged.refusal.as_deref().and_then(Refusal::from_stored),
        Some(refused.refusal)
    );
    assert_eq!(events.iter().filter(|e| e.outcome == "accepted").count(), 4);
}
