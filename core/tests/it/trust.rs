//! Only the Owner widens whom an account trusts, and a connection signs in only the users of the domains routed to
//! it: an Admin from another organisation cannot bring their own IdP or certificate and sign in as the Owner.

use crate::sso_setup::{Setup, attempt, attempt_at, report, response_xml_for, setup};
use crate::support::{fixture, t0, upload};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::sso::refusal::Refusal;
use gatehouse_core::sso::test_sso::Check;
use gatehouse_core::sso::{ConnectionError, ManualFields, MappingForm, UrlImport};
use gatehouse_core::tenancy::{Role, TenancyError};
use gatehouse_core::{Caller, ConnectionId, DomainError};

/// The attacker's own IdP, as an outside Admin would type it in.
const ATTACKER_IDP: &str = "https://idp.outside.example/saml";

fn attacker_fields(certificate: &str) -> ManualFields<'_> {
    ManualFields {
        label: "Outside IdP",
        entity_id: ATTACKER_IDP,
        sso_url: "https://idp.outside.example/sso",
        slo_url: "",
        certificates: certificate.as_bytes(),
    }
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, ConnectionError>) -> bool {
    matches!(
        result,
        Err(ConnectionError::Tenancy(TenancyError::Forbidden { role: Role::Admin }))
    )
}

pub(crate) async fn outside_admin(s: &Setup) -> Caller {
    s.world
        .join(&s.owner, s.account, "admin@outside.example", Role::Admin)
        .await
}

#[tokio::test]
async fn an_admin_cannot_add_an_idp_a_certificate_a_metadata_url_or_a_route_and_the_owner_can() {
    let s = setup().await;
    let admin = outside_admin(&s).await;
    let attacker_pem = test_idp::attacker().certificate.to_pem();
    let okta = fixture("okta.metadata.xml");
    let before = s.connections.list(&s.owner, s.account).await.unwrap();

    // A new connection, three ways, and the same three over the Owner's connection.
    for target in [None, Some(s.connection)] {
        assert!(forbidden(
            s.connections
                .import_metadata(&admin, s.account, &upload("Outside", &okta, ""), target, t0())
                .await
        ));
        assert!(forbidden(
            s.connections
                .create_manual(&admin, s.account, &attacker_fields(&attacker_pem), target, t0())
                .await
        ));
        let url = UrlImport {
            label: "Outside",
            url: "https://idp.outside.example/metadata",
            monitor: true,
            signing_certificate: attacker_pem.as_bytes(),
            ..UrlImport::default()
        };
        assert!(forbidden(
            s.connections
                .import_metadata_url(&admin, s.account, &url, target, t0())
                .await
        ));
        // The Owner passes the permission check; this URL then fails as a download would.
        assert!(matches!(
            s.connections
                .import_metadata_url(&s.owner, s.account, &url, target, t0())
                .await,
            Err(ConnectionError::Fetch(_))
        ));
    }
    assert!(forbidden(
        s.connections
            .add_certificates(&admin, s.account, s.connection, attacker_pem.as_bytes(), t0())
            .await
    ));
    assert_eq!(s.connections.list(&s.owner, s.account).await.unwrap(), before);

    // Routing a domain to a connection is the Owner's; sending it back to password sign-in narrows, so an Admin may.
    let domain = s.domains.list(&s.owner, s.account).await.unwrap().remove(0);
    let routed = s
        .domains
        .route(&admin, s.account, domain.id, Some(s.connection), t0())
        .await;
    assert!(
        matches!(
            routed,
            Err(DomainError::Tenancy(TenancyError::Forbidden { role: Role::Admin }))
        ),
        "{routed:?}"
    );
    s.domains.route(&admin, s.account, domain.id, None, t0()).await.unwrap();
    s.domains
        .route(&s.owner, s.account, domain.id, Some(s.connection), t0())
        .await
        .unwrap();

    // The Owner adds the certificate and a second connection; the Admin keeps what narrows or does not widen.
    s.connections
        .add_certificates(&s.owner, s.account, s.connection, attacker_pem.as_bytes(), t0())
        .await
        .unwrap();
    let fingerprint = test_idp::attacker().certificate.sha256_fingerprint.clone();
    s.connections
        .remove_certificate(&admin, s.account, s.connection, &fingerprint, t0())
        .await
        .unwrap();
    let second = s
        .connections
        .create_manual(&s.owner, s.account, &attacker_fields(&attacker_pem), None, t0())
        .await
        .unwrap();
    s.connections
        .save_role_mappings(
            &admin,
            s.account,
            second.id,
            &MappingForm {
                rows: &[],
                default_role: "viewer",
                reapply_on_sign_in: false,
            },
            t0(),
        )
        .await
        .unwrap();
    s.connections
        .prepare_next_key(&admin, s.account, second.id, t0())
        .await
        .unwrap();
    s.connections.remove(&admin, s.account, second.id, t0()).await.unwrap();
    assert_eq!(s.connections.list(&s.owner, s.account).await.unwrap().len(), 1);
}

/// The Owner's second connection, to an IdP whose signing key the outside Admin holds, with no domain routed to it.
pub(crate) async fn outside_connection(s: &Setup) -> ConnectionId {
    let attacker_pem = test_idp::attacker().certificate.to_pem();
    s.connections
        .create_manual(&s.owner, s.account, &attacker_fields(&attacker_pem), None, t0())
        .await
        .unwrap()
        .id
}

#[tokio::test]
async fn an_admins_own_idp_cannot_sign_in_the_owner() {
    let s = setup().await;
    let admin = outside_admin(&s).await;
    // The Admin cannot bring the IdP in…
    let attacker_pem = test_idp::attacker().certificate.to_pem();
    assert!(forbidden(
        s.connections
            .create_manual(&admin, s.account, &attacker_fields(&attacker_pem), None, t0())
            .await
    ));
    // …and when the Owner connects it for another group of users, it still cannot vouch for the Owner's domain.
    let outside = outside_connection(&s).await;
    let as_owner = |spec: &mut test_idp::Spec| {
        spec.issuer = ATTACKER_IDP.into();
        spec.signer = test_idp::attacker();
        spec.name_id = "owner@acme.example".into();
    };
    let refused = attempt_at(&s, outside, as_owner).await.unwrap_err();
    assert_eq!(
        refused.refusal,
        Refusal::DomainRoutedElsewhere {
            domain: "acme.example".into(),
            connection: "Test IdP".into()
        }
    );
    let events = s.world.store.sso_events(s.account, None, 10).await.unwrap();
    assert!(events.iter().all(|e| e.outcome == "refused"), "{events:?}");

    // The same IdP signs in the users of a domain the Owner routes to it.
    let domain = s
        .domains
        .add(&s.owner, s.account, "outside.example", t0())
        .await
        .unwrap();
    s.dns.set_txt("outside.example", &[&[&domain.record_value]]).await;
    s.domains.verify(&s.owner, s.account, domain.id, t0()).await.unwrap();
    let unrouted = attempt_at(&s, outside, |spec| {
        spec.issuer = ATTACKER_IDP.into();
        spec.signer = test_idp::attacker();
        spec.name_id = "contractor@outside.example".into();
    })
    .await
    .unwrap_err();
    assert_eq!(
        unrouted.refusal,
        Refusal::DomainRoutedToPassword("outside.example".into())
    );
    s.domains
        .route(&s.owner, s.account, domain.id, Some(outside), t0())
        .await
        .unwrap();
    let contractor = attempt_at(&s, outside, |spec| {
        spec.issuer = ATTACKER_IDP.into();
        spec.signer = test_idp::attacker();
        spec.name_id = "contractor@outside.example".into();
    })
    .await
    .unwrap();
    assert_eq!(contractor.email, "contractor@outside.example");

    // The Owner's own IdP, in turn, cannot sign in the other connection's users.
    let crossed = attempt(&s, |spec| spec.name_id = "contractor@outside.example".into())
        .await
        .unwrap_err();
    assert_eq!(
        crossed.refusal,
        Refusal::DomainRoutedElsewhere {
            domain: "outside.example".into(),
            connection: "Outside IdP".into()
        }
    );
}

#[tokio::test]
async fn test_sso_refuses_a_domain_routed_elsewhere_at_its_domain_check() {
    let s = setup().await;
    let outside = outside_connection(&s).await;
    let now = test_idp::now();
    let started = s.sso.start_test(&s.owner, outside, None, now).await.unwrap();
    let answer = STANDARD.encode(response_xml_for(&s, outside, Some(&started.request_id), |spec| {
        spec.issuer = ATTACKER_IDP.into();
        spec.signer = test_idp::attacker();
        spec.name_id = "owner@acme.example".into();
    }));
    let report = s
        .sso
        .acs(
            outside,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .map(report)
        .unwrap();
    assert_eq!(
        report.first_failure(),
        Some((
            Check::Domain,
            &Refusal::DomainRoutedElsewhere {
                domain: "acme.example".into(),
                connection: "Test IdP".into()
            }
        ))
    );
    assert_eq!(
        report.email_domain_verified,
        Some(true),
        "verified here, routed elsewhere"
    );
}
