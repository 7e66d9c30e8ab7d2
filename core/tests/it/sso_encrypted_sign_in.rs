//! Sign-in with encrypted assertions against a real database: the ACS decrypts with the connection's own SP keys
//! as they are stored, through a key rotation, and records why it could not when the IdP used another key.

use crate::support::{TestWorld, t0};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use gatehouse_core::sso::sign_in::{Refused, SignedIn, SsoService};
use gatehouse_core::sso::{Certificate, ConnectionService, KeyState, ManualFields, SsoPolicy};
use gatehouse_core::{AccountId, Caller, ConnectionId};
use test_dns::TestDns;
use test_idp::{Encryption, Spec, build, idp, other_sp_key};

struct Setup {
    world: TestWorld,
    owner: Caller,
    account: AccountId,
    connection: ConnectionId,
    connections: ConnectionService,
    sso: SsoService,
    _dns: TestDns,
}

async fn setup() -> Setup {
    let world = TestWorld::new().await;
    let dns = TestDns::start().await.unwrap();
    let (owner, account) = world.user("owner@acme.example").await;
    let domains = world.domains(dns.addr());
    let domain = domains.add(&owner, account, "acme.example", t0()).await.unwrap();
    dns.set_txt("acme.example", &[&[&domain.record_value]]).await;
    domains.verify(&owner, account, domain.id, t0()).await.unwrap();
    let certificate = idp().certificate.to_pem();
    let connections = world.connections();
    let connection = connections
        .create_manual(
            &owner,
            account,
            &ManualFields {
                label: "Test IdP",
                entity_id: test_idp::IDP,
                sso_url: "https://idp.example.com/sso",
                slo_url: "",
                certificates: certificate.as_bytes(),
            },
            None,
            t0(),
        )
        .await
        .unwrap()
        .id;
    world
        .policy()
        .update(
            &owner,
            account,
            SsoPolicy {
                sso_enabled: true,
                enforce_sso: false,
                no_separate_account: false,
            },
            t0(),
        )
        .await
        .unwrap();
    let sso = SsoService::new(
        world.store.clone(),
        connections.clone(),
        world.auth.clone(),
        Duration::hours(24),
    );
    Setup {
        world,
        owner,
        account,
        connection,
        connections,
        sso,
        _dns: dns,
    }
}

/// The certificate of the connection's SP key in `state`, as stored.
async fn sp_certificate(s: &Setup, state: KeyState) -> Certificate {
    let connections = s.connections.list(&s.owner, s.account).await.unwrap();
    let connection = connections.iter().find(|c| c.id == s.connection).unwrap();
    let key = connection.sp_keys.iter().find(|k| k.state == state).unwrap();
    key.certificate.clone()
}

/// A whole sign-in from this browser with the assertion signed, then encrypted for `certificate`.
async fn attempt(s: &Setup, certificate: &Certificate) -> Result<SignedIn, Refused> {
    let now = test_idp::now();
    let started = s.sso.start(s.connection, None, now).await.unwrap();
    let values = s.connections.service_provider_values(s.connection);
    let xml = build(&Spec {
        destination: Some(values.acs_url.clone()),
        recipient: values.acs_url,
        audience: Some(values.entity_id),
        in_response_to: Some(started.request_id.clone()),
        confirmation_in_response_to: Some(started.request_id.clone()),
        assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
        encryption: Some(Encryption::to(certificate)),
        ..Spec::default()
    });
    s.sso
        .sign_in(
            s.connection,
            &STANDARD.encode(xml),
            &started.request_id,
            Some(&started.browser_token),
            now,
        )
        .await
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
    assert_eq!(refused.user_message, "Your identity provider's answer was refused.");
    assert!(
        refused.reason.contains(&format!(
            "encrypted for a key this connection does not have (certificate SHA-256 {})",
            first.sha256_fingerprint
        )),
        "{refused:?}"
    );
    let foreign = attempt(&s, &other_sp_key().certificate).await.unwrap_err();
    assert!(
        foreign.reason.contains(&other_sp_key().certificate.sha256_fingerprint),
        "{foreign:?}"
    );
    let events = s.world.store.sso_events(s.account, 10).await.unwrap();
    let logged = events.iter().find(|e| e.reference == refused.reference).unwrap();
    assert_eq!(logged.outcome, "refused");
    assert_eq!(logged.reason, refused.reason);
    assert_eq!(events.iter().filter(|e| e.outcome == "accepted").count(), 4);
}
