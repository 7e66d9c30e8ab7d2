//! The sign-in policy (SSO on/off, enforcement, personal accounts) and the audit log of SSO changes.

use crate::support::{TestWorld, fixture, t0, upload};
use gatehouse_core::audit::AuditError;
use gatehouse_core::sso::{PolicyError, SsoPolicy};
use gatehouse_core::tenancy::{Role, TenancyError};
use test_dns::TestDns;

const ON: SsoPolicy = SsoPolicy {
    sso_enabled: true,
    enforce_sso: true,
    no_separate_account: false,
};

#[tokio::test]
async fn sso_turns_on_only_with_a_verified_domain_routed_to_a_connection() {
    let world = TestWorld::new().await;
    let dns = TestDns::start().await.unwrap();
    let (owner, account) = world.user("owner@acme.example").await;
    let policy = world.policy();
    let (current, readiness) = policy.get(&owner, account).await.unwrap();
    assert_eq!(current, SsoPolicy::default(), "everything is off at first");
    assert!(!readiness.is_ready());

    let refused = policy.update(&owner, account, ON, t0()).await;
    match refused {
        Err(PolicyError::NotReady(missing)) => {
            assert_eq!(missing, "verify at least one domain and connect an identity provider")
        }
        other => panic!("{other:?}"),
    }

    let okta = fixture("okta.metadata.xml");
    world
        .connections()
        .import_metadata(&owner, account, &upload("Okta", &okta, ""), None, t0())
        .await
        .unwrap();
    // An Admin adds and verifies the domain: that routes it nowhere (routing is the Owner's).
    let admin = world.join(&owner, account, "admin@acme.example", Role::Admin).await;
    let domains = world.domains(dns.addr());
    let domain = domains.add(&admin, account, "acme.example", t0()).await.unwrap();
    assert!(matches!(
        policy.update(&owner, account, ON, t0()).await,
        Err(PolicyError::NotReady(m)) if m == "verify at least one domain"
    ));
    dns.set_txt("acme.example", &[&[&domain.record_value]]).await;
    domains.verify(&admin, account, domain.id, t0()).await.unwrap();
    // Both ticked, yet nobody would be sent to the IdP: the domain must be routed to it.
    let refused = policy.update(&owner, account, ON, t0()).await;
    assert!(
        matches!(&refused, Err(PolicyError::NotReady(m)) if m.starts_with("route an Active domain to the identity provider")),
        "{refused:?}"
    );
    let (_, readiness) = policy.get(&owner, account).await.unwrap();
    assert!(readiness.has_verified_domain && readiness.has_connection && !readiness.has_routed_domain);
    let okta_id = world.store.connections_of_account(account).await.unwrap()[0].id;
    domains
        .route(&owner, account, domain.id, Some(okta_id), t0())
        .await
        .unwrap();

    assert_eq!(policy.update(&owner, account, ON, t0()).await.unwrap(), ON);
    let (current, readiness) = policy.get(&owner, account).await.unwrap();
    assert_eq!(current, ON);
    assert!(readiness.is_ready());

    // Turning SSO off is always possible, even when it could not be turned on again.
    domains.remove(&owner, account, domain.id, t0()).await.unwrap();
    let off = SsoPolicy {
        sso_enabled: false,
        ..ON
    };
    assert_eq!(policy.update(&owner, account, off, t0()).await.unwrap(), off);
}

#[tokio::test]
async fn only_the_owner_changes_the_policy_and_owners_and_admins_read_the_audit_log() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let admin = world.join(&owner, account, "admin@acme.example", Role::Admin).await;
    let viewer = world.join(&owner, account, "viewer@acme.example", Role::Viewer).await;
    let nobody = world.join(&owner, account, "none@acme.example", Role::NoAccess).await;
    let policy = world.policy();
    let audit = world.audit();
    let change = SsoPolicy {
        no_separate_account: true,
        ..SsoPolicy::default()
    };

    for member in [&admin, &viewer] {
        assert!(matches!(
            policy.update(member, account, change, t0()).await,
            Err(PolicyError::Tenancy(TenancyError::Forbidden { .. }))
        ));
        assert_eq!(policy.get(member, account).await.unwrap().0, SsoPolicy::default());
    }
    assert!(policy.get(&nobody, account).await.is_err());
    assert_eq!(policy.update(&owner, account, change, t0()).await.unwrap(), change);

    let okta = fixture("okta.metadata.xml");
    world
        .connections()
        .import_metadata(&owner, account, &upload("Okta", &okta, ""), None, t0())
        .await
        .unwrap();
    let entries = audit.recent(&admin, account).await.unwrap();
    let actions: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| (e.actor_email.as_str(), e.action.as_str(), e.detail.as_str()))
        .collect();
    assert!(actions.contains(&(
        "owner@acme.example",
        "Sign-in policy changed",
        "No separate account: off → on"
    )));
    assert!(actions.contains(&(
        "owner@acme.example",
        "Connection added",
        "Okta (http://www.okta.com/exkdoocxa1VmjpXmX697), from IdP metadata"
    )));
    assert!(matches!(
        audit.recent(&viewer, account).await,
        Err(AuditError::Tenancy(TenancyError::Forbidden { .. }))
    ));

    // Saving the same policy again changes nothing and writes nothing.
    let before = audit.recent(&owner, account).await.unwrap().len();
    policy.update(&owner, account, change, t0()).await.unwrap();
    assert_eq!(audit.recent(&owner, account).await.unwrap().len(), before);
}
