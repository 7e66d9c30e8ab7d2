//! Default routing: with exactly one connection, an Active domain goes to it only as the consequence of an Owner's
//! action (adding that connection, or verifying the domain), stored and audited; an Admin's action never routes.

use crate::support::{TestWorld, fixture, t0, upload};
use gatehouse_core::domains::{Domain, DomainService, DomainStatus};

use gatehouse_core::tenancy::Role;
use gatehouse_core::{AccountId, Caller, ConnectionId};
use test_dns::TestDns;

struct Setup {
    world: TestWorld,
    dns: TestDns,
    domains: DomainService,
    owner: Caller,
    admin: Caller,
    account: AccountId,
}

async fn setup() -> Setup {
    let world = TestWorld::new().await;
    let dns = TestDns::start().await.unwrap();
    let (owner, account) = world.user("owner@acme.example").await;
    let admin = world.join(&owner, account, "admin@acme.example", Role::Admin).await;
    let domains = world.domains(dns.addr());
    Setup {
        world,
        dns,
        domains,
        owner,
        admin,
        account,
    }
}

impl Setup {
    async fn connect(&self, label: &str, file: &str) -> ConnectionId {
        self.world
            .connections()
            .import_metadata(
                &self.owner,
                self.account,
                &upload(label, &fixture(file), ""),
                None,
                t0(),
            )
            .await
            .unwrap()
            .id
    }

    /// `name` added by `adder` with its TXT record published.
    async fn add(&self, adder: &Caller, name: &str) -> Domain {
        let domain = self.domains.add(adder, self.account, name, t0()).await.unwrap();
        self.dns.set_txt(name, &[&[&domain.record_value]]).await;
        domain
    }

    async fn domain(&self, name: &str) -> Domain {
        let list = self.domains.list(&self.owner, self.account).await.unwrap();
        list.into_iter().find(|d| d.name.as_str() == name).unwrap()
    }

    async fn audit_details(&self, action: &str) -> Vec<(String, String)> {
        let entries = self.world.audit().recent(&self.owner, self.account).await.unwrap();
        entries
            .into_iter()
            .filter(|e| e.action == action)
            .map(|e| (e.actor_email, e.detail))
            .collect()
    }
}

#[tokio::test]
async fn an_admins_verification_never_routes_a_domain_to_the_only_connection() {
    let s = setup().await;
    s.connect("Okta", "okta.metadata.xml").await;

    // The Admin adds and verifies: the domain is Active but routed nowhere, and flagged.
    let added = s.add(&s.admin, "acme.example").await;
    let verified = s.domains.verify(&s.admin, s.account, added.id, t0()).await.unwrap();
    assert_eq!(verified.state.status, DomainStatus::Active);
    assert_eq!(
        verified.connection_id, None,
        "an Admin's Verify must not widen the IdP's reach"
    );
    let listed = s.domain("acme.example").await;
    assert_eq!(listed.connection_id, None);
    assert!(listed.routed_nowhere());
    assert!(s.audit_details("Domain routed").await.is_empty());

    // An Owner-added domain whose Verify the Admin pressed is the Admin's verification: it stays unrouted too.
    let owners = s.add(&s.owner, "beta.example").await;
    let verified = s.domains.verify(&s.admin, s.account, owners.id, t0()).await.unwrap();
    assert_eq!(verified.state.status, DomainStatus::Active);
    assert_eq!(verified.connection_id, None);

    // The schedule finishing an Admin's verification routes nothing either.
    let pending = s.add(&s.admin, "gamma.example").await;
    s.dns.remove("gamma.example").await;
    let failed = s.domains.verify(&s.admin, s.account, pending.id, t0()).await.unwrap();
    assert_ne!(failed.state.status, DomainStatus::Active);
    s.dns.set_txt("gamma.example", &[&[&pending.record_value]]).await;
    s.domains
        .recheck_due(failed.state.next_check_at.unwrap())
        .await
        .unwrap();
    let later = s.domain("gamma.example").await;
    assert_eq!(later.state.status, DomainStatus::Active);
    assert_eq!(later.connection_id, None);
    assert!(s.audit_details("Domain routed").await.is_empty());
}

#[tokio::test]
async fn the_owners_verification_routes_to_the_only_connection_with_an_audit_entry() {
    let s = setup().await;
    let okta = s.connect("Okta", "okta.metadata.xml").await;

    let added = s.add(&s.owner, "acme.example").await;
    let verified = s.domains.verify(&s.owner, s.account, added.id, t0()).await.unwrap();
    assert_eq!(verified.state.status, DomainStatus::Active);
    assert_eq!(verified.connection_id, Some(okta));
    assert!(!s.domain("acme.example").await.routed_nowhere());
    assert_eq!(
        s.audit_details("Domain routed").await,
        [(
            "owner@acme.example".to_owned(),
            "acme.example → Okta (automatically: verified by the Owner; the account's only identity provider)"
                .to_owned()
        )]
    );

    // Added by the Owner, found by the schedule once the record shows: the Owner started it, so it is routed.
    let pending = s.add(&s.owner, "beta.example").await;
    s.dns.remove("beta.example").await;
    let failed = s.domains.verify(&s.owner, s.account, pending.id, t0()).await.unwrap();
    assert_eq!(failed.connection_id, None, "not Active yet, so not routed");
    s.dns.set_txt("beta.example", &[&[&pending.record_value]]).await;
    s.domains
        .recheck_due(failed.state.next_check_at.unwrap())
        .await
        .unwrap();
    assert_eq!(s.domain("beta.example").await.connection_id, Some(okta));
    let routed = s.audit_details("Domain routed").await;
    assert_eq!(routed.len(), 2);
    assert_eq!(
        routed[0],
        (
            "Gatehouse domains".to_owned(),
            "beta.example → Okta (automatically: verification started by the Owner; the account's only identity \
             provider)"
                .to_owned()
        )
    );
}

#[tokio::test]
async fn the_first_connection_takes_undecided_active_domains_but_not_a_chosen_password_sign_in() {
    let s = setup().await;
    for name in ["acme.example", "beta.example"] {
        let added = s.add(&s.owner, name).await;
        let verified = s.domains.verify(&s.owner, s.account, added.id, t0()).await.unwrap();
        assert_eq!(verified.connection_id, None, "no connection yet");
    }
    s.domains
        .add(&s.owner, s.account, "pending.example", t0())
        .await
        .unwrap();
    // The Owner chose password sign-in for beta.example: that choice stands.
    let beta = s.domain("beta.example").await;
    s.domains.route(&s.owner, s.account, beta.id, None, t0()).await.unwrap();
    assert!(!s.domain("beta.example").await.routed_nowhere());

    let okta = s.connect("Okta", "okta.metadata.xml").await;
    assert_eq!(s.domain("acme.example").await.connection_id, Some(okta));
    assert_eq!(s.domain("beta.example").await.connection_id, None);
    assert_eq!(
        s.domain("pending.example").await.connection_id,
        None,
        "only Active domains"
    );
    assert_eq!(
        s.audit_details("Domain routed")
            .await
            .into_iter()
            .filter(|(_, detail)| detail.contains("automatically"))
            .collect::<Vec<_>>(),
        [(
            "owner@acme.example".to_owned(),
            "acme.example → Okta (automatically: the account's only identity provider, added by the Owner)".to_owned()
        )]
    );

    // With two connections nothing is routed by default: which one is the Owner's choice.
    s.connect("Entra ID", "entra.metadata.xml").await;
    let gamma = s.add(&s.owner, "gamma.example").await;
    let verified = s.domains.verify(&s.owner, s.account, gamma.id, t0()).await.unwrap();
    assert_eq!(verified.connection_id, None);
    assert!(s.domain("gamma.example").await.routed_nowhere());
}

#[tokio::test]
async fn an_admin_removing_the_second_connection_routes_nothing_to_the_one_left() {
    let s = setup().await;
    let okta = s.connect("Okta", "okta.metadata.xml").await;
    let entra = s.connect("Entra ID", "entra.metadata.xml").await;
    let added = s.add(&s.owner, "acme.example").await;
    let verified = s.domains.verify(&s.owner, s.account, added.id, t0()).await.unwrap();
    assert_eq!(verified.connection_id, None, "two connections: no default");

    s.world
        .connections()
        .remove(&s.admin, s.account, entra, t0())
        .await
        .unwrap();
    // The scheduled re-check of a domain that was Active already routes nothing, though one connection is left.
    s.domains
        .recheck_due(verified.state.next_check_at.unwrap())
        .await
        .unwrap();
    let after = s.domain("acme.example").await;
    assert_eq!(after.state.status, DomainStatus::Active);
    assert_eq!(after.connection_id, None);
    assert!(after.routed_nowhere());
    // The Owner's explicit route still works.
    s.domains
        .route(&s.owner, s.account, added.id, Some(okta), t0())
        .await
        .unwrap();
    assert!(!s.domain("acme.example").await.routed_nowhere());
}
