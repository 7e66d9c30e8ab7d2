//! Domain verification against a real authoritative DNS server on loopback (hickory-server, in-process).

use crate::support::{TestWorld, fixture, t0, upload};
use chrono::Duration;
use gatehouse_core::domains::{Domain, DomainError, DomainStatus, RecheckReport};
use gatehouse_core::tenancy::{Role, TenancyError};
use gatehouse_core::{AccountId, Caller, DomainService};
use test_dns::{NameRecords, SilentDns, TestDns};

struct Setup {
    world: TestWorld,
    dns: TestDns,
    domains: DomainService,
    owner: Caller,
    account: AccountId,
}

async fn setup() -> Setup {
    let world = TestWorld::new().await;
    let dns = TestDns::start().await.expect("start the test DNS server");
    let domains = world.domains(dns.addr());
    let (owner, account) = world.user("owner@acme.example").await;
    Setup {
        world,
        dns,
        domains,
        owner,
        account,
    }
}

impl Setup {
    async fn add(&self, name: &str) -> Domain {
        self.domains
            .add(&self.owner, self.account, name, t0())
            .await
            .expect("add domain")
    }

    async fn verify(&self, domain: &Domain) -> Domain {
        self.domains
            .verify(&self.owner, self.account, domain.id, t0())
            .await
            .expect("verify")
    }
}

fn reason(domain: &Domain) -> &str {
    domain.state.last_failure.as_deref().unwrap_or("")
}

#[tokio::test]
async fn a_published_record_verifies_the_domain() {
    let s = setup().await;
    let domain = s.add("Acme.Example.").await;
    assert_eq!(domain.name.as_str(), "acme.example");
    assert_eq!(domain.state.status, DomainStatus::Pending);
    let token = domain.record_value.strip_prefix("gatehouse-verification=").unwrap();
    assert!(token.len() >= 22, "at least 128 bits: {token}");

    s.dns
        .set_txt("acme.example", &[&["v=spf1 -all"], &[&domain.record_value]])
        .await;
    let verified = s.verify(&domain).await;
    assert_eq!(verified.state.status, DomainStatus::Active, "{}", reason(&verified));
    assert_eq!(verified.state.verified_at, Some(t0()));
    assert_eq!(verified.state.last_checked_at, Some(t0()));
    let recheck = verified.state.next_check_at.unwrap();
    assert!(recheck >= t0() + Duration::hours(24) && recheck <= t0() + Duration::hours(27));

    let listed = s.domains.list(&s.owner, s.account).await.unwrap();
    assert_eq!(listed, vec![verified]);
}

#[tokio::test]
async fn a_record_split_into_several_strings_is_joined() {
    let s = setup().await;
    let domain = s.add("split.example").await;
    let (first, second) = domain.record_value.split_at(20);
    s.dns.set_txt("split.example", &[&[first, second]]).await;
    assert_eq!(s.verify(&domain).await.state.status, DomainStatus::Active);
}

#[tokio::test]
async fn a_cname_is_followed_to_the_record() {
    let s = setup().await;
    let domain = s.add("alias.example").await;
    s.dns.set_cname("alias.example", "records.provider.example").await;
    s.dns
        .set_txt("records.provider.example", &[&[&domain.record_value]])
        .await;
    let verified = s.verify(&domain).await;
    assert_eq!(verified.state.status, DomainStatus::Active, "{}", reason(&verified));
}

#[tokio::test]
async fn each_failure_is_saved_with_its_reason() {
    let s = setup().await;
    let domain = s.add("acme.example").await;

    s.dns
        .set(
            "acme.example",
            NameRecords {
                a: vec!["192.0.2.1".parse().unwrap()],
                ..NameRecords::default()
            },
        )
        .await;
    let checked = s.verify(&domain).await;
    assert_eq!(checked.state.status, DomainStatus::Failed);
    assert_eq!(reason(&checked), "No TXT record found at acme.example.");

    s.dns
        .set_txt(
            "acme.example",
            &[&["v=spf1 -all"], &["gatehouse-verification=someone-else"]],
        )
        .await;
    let checked = s.verify(&domain).await;
    assert_eq!(
        reason(&checked),
        "Found 2 TXT records at acme.example; none matches the verification value."
    );

    let quoted = format!("\"{}\"", domain.record_value);
    s.dns.set_txt("acme.example", &[&[&quoted]]).await;
    let checked = s.verify(&domain).await;
    assert!(reason(&checked).contains("extra characters"), "{}", reason(&checked));

    s.dns.remove("acme.example").await;
    let checked = s.verify(&domain).await;
    assert_eq!(checked.state.status, DomainStatus::Failed);
    assert_eq!(reason(&checked), "The domain acme.example does not exist (NXDOMAIN).");

    let listed = s.domains.list(&s.owner, s.account).await.unwrap();
    assert_eq!(listed[0].state.last_failure, checked.state.last_failure);
    assert_eq!(listed[0].state.last_checked_at, Some(t0()));
}

#[tokio::test]
async fn a_dns_server_that_does_not_answer_is_reported_as_a_timeout() {
    let s = setup().await;
    let silent = SilentDns::start().await.unwrap();
    let domains = s.world.domains(silent.addr());
    let domain = domains.add(&s.owner, s.account, "acme.example", t0()).await.unwrap();
    let checked = domains.verify(&s.owner, s.account, domain.id, t0()).await.unwrap();
    assert_eq!(checked.state.status, DomainStatus::Failed);
    assert_eq!(reason(&checked), "The DNS server did not answer (timeout).");
}

#[tokio::test]
async fn verification_is_lost_after_the_record_goes_and_regained_when_it_returns() {
    let s = setup().await;
    let domain = s.add("acme.example").await;
    s.dns.set_txt("acme.example", &[&[&domain.record_value]]).await;
    let verified = s.verify(&domain).await;
    let recheck_at = verified.state.next_check_at.unwrap();

    assert_eq!(
        s.domains.recheck_due(t0()).await.unwrap(),
        RecheckReport::default(),
        "nothing due yet"
    );

    s.dns.remove("acme.example").await;
    let report = s.domains.recheck_due(recheck_at).await.unwrap();
    assert_eq!(
        report,
        RecheckReport {
            checked: 1,
            verified: 1,
            failed: 0
        },
        "lost, but still counting during the grace period"
    );
    let lost = &s.domains.list(&s.owner, s.account).await.unwrap()[0];
    assert_eq!(lost.state.status, DomainStatus::VerificationLost);
    assert_eq!(lost.state.lost_since, Some(recheck_at));
    assert_eq!(lost.grace_ends_at, Some(recheck_at + Duration::days(7)));
    assert_eq!(reason(lost), "The domain acme.example does not exist (NXDOMAIN).");

    s.dns.set_txt("acme.example", &[&[&domain.record_value]]).await;
    s.domains.recheck_due(lost.state.next_check_at.unwrap()).await.unwrap();
    let regained = &s.domains.list(&s.owner, s.account).await.unwrap()[0];
    assert_eq!(regained.state.status, DomainStatus::Active);
    assert_eq!(regained.state.verified_at, Some(t0()));
    assert_eq!(regained.state.lost_since, None);
}

#[tokio::test]
async fn a_lost_domain_stops_counting_when_the_grace_period_ends() {
    let s = setup().await;
    let domain = s.add("acme.example").await;
    s.dns.set_txt("acme.example", &[&[&domain.record_value]]).await;
    let verified = s.verify(&domain).await;
    s.dns.set_txt("acme.example", &[&["something else"]]).await;

    let mut at = verified.state.next_check_at.unwrap();
    let mut passes = 0;
    loop {
        s.domains.recheck_due(at).await.unwrap();
        let current = s.domains.list(&s.owner, s.account).await.unwrap().remove(0);
        passes += 1;
        match current.state.next_check_at {
            Some(next) => at = next,
            None => {
                assert_eq!(current.state.status, DomainStatus::Failed);
                assert!(reason(&current).contains("grace period"), "{}", reason(&current));
                assert!(at >= verified.state.next_check_at.unwrap() + Duration::days(7));
                break;
            }
        }
        assert!(passes < 500, "the grace period never ended");
    }

    // The domain is free again: another account can verify it.
    let (other, other_account) = s.world.user("other@else.example").await;
    let claim = s.domains.add(&other, other_account, "acme.example", at).await.unwrap();
    assert!(!claim.verified_elsewhere);
}

#[tokio::test]
async fn a_pending_domain_is_verified_automatically_once_the_record_appears() {
    let s = setup().await;
    let domain = s.add("acme.example").await;
    let first = domain.state.next_check_at.unwrap();
    assert_eq!(first, t0() + Duration::minutes(1));

    s.domains.recheck_due(first).await.unwrap();
    let waiting = s.domains.list(&s.owner, s.account).await.unwrap().remove(0);
    assert_eq!(waiting.state.status, DomainStatus::Failed);
    let second = waiting.state.next_check_at.unwrap();
    assert!(second > first);

    s.dns.set_txt("acme.example", &[&[&domain.record_value]]).await;
    s.domains.recheck_due(second).await.unwrap();
    let verified = s.domains.list(&s.owner, s.account).await.unwrap().remove(0);
    assert_eq!(verified.state.status, DomainStatus::Active);
}

#[tokio::test]
async fn a_domain_is_active_in_one_account_at_most() {
    let s = setup().await;
    let (rival, rival_account) = s.world.user("rival@other.example").await;
    let ours = s.add("acme.example").await;
    let theirs = s
        .domains
        .add(&rival, rival_account, "acme.example", t0())
        .await
        .unwrap();
    assert!(!theirs.verified_elsewhere, "a pending claim elsewhere blocks nobody");

    s.dns
        .set_txt("acme.example", &[&[&ours.record_value], &[&theirs.record_value]])
        .await;
    assert_eq!(s.verify(&ours).await.state.status, DomainStatus::Active);

    let refused = s.domains.verify(&rival, rival_account, theirs.id, t0()).await.unwrap();
    assert_eq!(refused.state.status, DomainStatus::Failed);
    assert!(refused.verified_elsewhere);
    assert!(
        reason(&refused).contains("already verified by another account"),
        "{}",
        reason(&refused)
    );
    let listed = s.domains.list(&rival, rival_account).await.unwrap();
    assert!(listed[0].verified_elsewhere);
    assert!(!s.domains.list(&s.owner, s.account).await.unwrap()[0].verified_elsewhere);

    s.domains.remove(&s.owner, s.account, ours.id, t0()).await.unwrap();
    let now_theirs = s.domains.verify(&rival, rival_account, theirs.id, t0()).await.unwrap();
    assert_eq!(now_theirs.state.status, DomainStatus::Active);
    assert!(!now_theirs.verified_elsewhere);
}

#[tokio::test]
async fn two_accounts_verifying_at_once_end_with_one_owner() {
    let s = setup().await;
    let (rival, rival_account) = s.world.user("rival@other.example").await;
    let ours = s.add("race.example").await;
    let theirs = s
        .domains
        .add(&rival, rival_account, "race.example", t0())
        .await
        .unwrap();
    s.dns
        .set_txt("race.example", &[&[&ours.record_value], &[&theirs.record_value]])
        .await;
    let (a, b) = tokio::join!(
        s.domains.verify(&s.owner, s.account, ours.id, t0()),
        s.domains.verify(&rival, rival_account, theirs.id, t0()),
    );
    let active = [a.unwrap(), b.unwrap()]
        .iter()
        .filter(|d| d.state.status == DomainStatus::Active)
        .count();
    assert_eq!(active, 1);
}

#[tokio::test]
async fn adding_checks_the_name_and_refuses_duplicates() {
    let s = setup().await;
    s.add("acme.example").await;
    let again = s.domains.add(&s.owner, s.account, "ACME.example.", t0()).await;
    assert!(
        matches!(again, Err(DomainError::AlreadyAdded(ref n)) if n == "acme.example"),
        "{again:?}"
    );
    for bad in [
        "co.uk",
        "localhost",
        "192.0.2.1",
        "user@acme.example",
        "bad_name.example",
    ] {
        let result = s.domains.add(&s.owner, s.account, bad, t0()).await;
        assert!(matches!(result, Err(DomainError::InvalidName(_))), "{bad}: {result:?}");
    }
    assert_eq!(s.domains.list(&s.owner, s.account).await.unwrap().len(), 1);
}

#[tokio::test]
async fn owners_and_admins_manage_domains_viewers_only_see_them() {
    let s = setup().await;
    let admin = s
        .world
        .join(&s.owner, s.account, "admin@acme.example", Role::Admin)
        .await;
    let viewer = s
        .world
        .join(&s.owner, s.account, "viewer@acme.example", Role::Viewer)
        .await;
    let nobody = s
        .world
        .join(&s.owner, s.account, "none@acme.example", Role::NoAccess)
        .await;
    let (stranger, _) = s.world.user("stranger@else.example").await;

    let domain = s.domains.add(&admin, s.account, "acme.example", t0()).await.unwrap();
    s.domains.verify(&admin, s.account, domain.id, t0()).await.unwrap();
    assert_eq!(s.domains.list(&viewer, s.account).await.unwrap().len(), 1);

    fn forbidden<T>(result: Result<T, DomainError>) -> bool {
        matches!(
            result,
            Err(DomainError::Tenancy(
                TenancyError::Forbidden { .. } | TenancyError::AccountNotFound
            ))
        )
    }
    assert!(forbidden(s.domains.add(&viewer, s.account, "b.example", t0()).await));
    assert!(forbidden(s.domains.verify(&viewer, s.account, domain.id, t0()).await));
    assert!(forbidden(s.domains.remove(&viewer, s.account, domain.id, t0()).await));
    assert!(forbidden(s.domains.list(&nobody, s.account).await));
    assert!(matches!(
        s.domains.list(&stranger, s.account).await,
        Err(DomainError::Tenancy(TenancyError::AccountNotFound))
    ));
    assert!(forbidden(s.domains.remove(&stranger, s.account, domain.id, t0()).await));

    s.domains.remove(&admin, s.account, domain.id, t0()).await.unwrap();
    assert!(matches!(
        s.domains.remove(&admin, s.account, domain.id, t0()).await,
        Err(DomainError::NotFound)
    ));
}

#[tokio::test]
async fn one_account_cannot_reach_another_accounts_domain_by_id() {
    let s = setup().await;
    let domain = s.add("acme.example").await;
    let (other, other_account) = s.world.user("other@else.example").await;
    assert!(matches!(
        s.domains.verify(&other, other_account, domain.id, t0()).await,
        Err(DomainError::NotFound)
    ));
    assert!(matches!(
        s.domains.remove(&other, other_account, domain.id, t0()).await,
        Err(DomainError::NotFound)
    ));
    assert_eq!(s.domains.list(&s.owner, s.account).await.unwrap().len(), 1);
}

#[tokio::test]
async fn two_servers_rechecking_at_once_check_each_domain_once() {
    let s = setup().await;
    for i in 0..40 {
        let domain = s.add(&format!("d{i}.example")).await;
        s.dns
            .set_txt(&format!("d{i}.example"), &[&[&domain.record_value]])
            .await;
    }
    let second_server = s.world.domains(s.dns.addr());
    let due = t0() + Duration::minutes(1);
    let (a, b) = tokio::join!(s.domains.recheck_due(due), second_server.recheck_due(due));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.checked + b.checked, 40, "{a:?} {b:?}");
    assert_eq!(a.verified + b.verified, 40);
}

#[tokio::test]
async fn a_domain_is_routed_to_one_connection_of_its_own_account() {
    let s = setup().await;
    let domain = s.add("acme.example").await;
    let okta = fixture("okta.metadata.xml");
    let connections = s.world.connections();
    let connection = connections
        .import_metadata(&s.owner, s.account, &upload("Okta", &okta, ""), None, t0())
        .await
        .unwrap();
    s.domains
        .route(&s.owner, s.account, domain.id, Some(connection.id), t0())
        .await
        .unwrap();
    assert_eq!(
        s.domains.list(&s.owner, s.account).await.unwrap()[0].connection_id,
        Some(connection.id)
    );
    let log = s.world.audit().recent(&s.owner, s.account).await.unwrap();
    assert_eq!(
        (log[0].action.as_str(), log[0].detail.as_str()),
        ("Domain routed", "acme.example → Okta")
    );

    // Another account's connection cannot be chosen.
    let (other, other_account) = s.world.user("other@else.example").await;
    let theirs = connections
        .import_metadata(&other, other_account, &upload("Okta", &okta, ""), None, t0())
        .await
        .unwrap();
    assert!(matches!(
        s.domains
            .route(&s.owner, s.account, domain.id, Some(theirs.id), t0())
            .await,
        Err(DomainError::ConnectionNotFound)
    ));

    // Removing the connection sends the domain back to password sign-in.
    connections
        .remove(&s.owner, s.account, connection.id, t0())
        .await
        .unwrap();
    assert_eq!(
        s.domains.list(&s.owner, s.account).await.unwrap()[0].connection_id,
        None
    );
}
