//! How long the background re-check takes for 10,000 domains against a DNS server on loopback.
//!
//! `cargo bench -p gatehouse-core --bench domain_recheck` (add `-- 20000` for another count). Uses a SQLite
//! file in a temporary directory and the in-process test DNS server, both on this machine; prints one line
//! per pass. The first pass verifies every domain (Pending → Active); later passes are the daily re-check of
//! Active domains.

use chrono::{Duration, TimeZone, Utc};
use gatehouse_core::auth::ProofMail;
use gatehouse_core::domains::{
    DnsSettings, DomainName, RecheckReport, TxtResolver, VerificationPolicy, VerificationState,
};
use gatehouse_core::store::{AuditRow, DomainRow};
use gatehouse_core::{AccountId, AuthService, DomainId, DomainService, SessionPolicy, Store, TenancyService};
use std::time::Instant;
use test_dns::TestDns;

const PASSES: i32 = 4;

fn main() {
    let count: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(count));
}

async fn run(count: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.sqlite").display()))
        .await
        .unwrap();
    let dns = TestDns::start().await.unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    let policy = VerificationPolicy::default();

    let public_url = url::Url::parse("https://sso.example.com/").unwrap();
    let proofs = ProofMail::new(public_url, None, false);
    let auth = AuthService::new(store.clone(), SessionPolicy::default(), Default::default(), proofs);
    let owner = auth
        .sign_up("bench@acme.example", "correct horse battery", None, t0)
        .await
        .unwrap();
    let account: AccountId = owner.account_id;
    let setup = Instant::now();
    for i in 0..count {
        let name = format!("d{i}.bench.example");
        let value = format!("gatehouse-verification=bench-{i}");
        dns.set_txt(&name, &[&["v=spf1 -all"], &[&value]]).await;
        store
            .insert_domain(
                &DomainRow {
                    id: DomainId::new(),
                    account_id: account,
                    name: DomainName::parse(&name).unwrap(),
                    record_value: value,
                    created_at: t0,
                    state: VerificationState::new(t0, &policy),
                    connection_id: None,
                    password_chosen: false,
                    owner_started_check: false,
                },
                &AuditRow {
                    account_id: account,
                    at: t0,
                    actor_email: "bench@acme.example".into(),
                    action: "Domain added".into(),
                    detail: name.clone(),
                },
            )
            .await
            .unwrap();
    }
    println!("set-up: {count} domains and DNS records in {:.1?}", setup.elapsed());

    let tenancy = TenancyService::new(
        store.clone(),
        "https://sso.example.com".parse().unwrap(),
        None,
        Duration::days(7),
    );
    let resolver = TxtResolver::new(&DnsSettings {
        nameservers: vec![dns.addr()],
        ..Default::default()
    })
    .unwrap();
    let domains = DomainService::new(store, tenancy, resolver, policy, 32);
    for pass in 0..PASSES {
        let now = t0 + Duration::days(30 * i64::from(pass) + 1);
        let started = Instant::now();
        let report = domains.recheck_due(now).await.unwrap();
        let elapsed = started.elapsed();
        assert_eq!(
            report,
            RecheckReport {
                checked: count,
                verified: count,
                failed: 0
            }
        );
        println!(
            "pass {}: {} domains checked in {:.2?} ({:.0} domains/s){}",
            pass + 1,
            report.checked,
            elapsed,
            report.checked as f64 / elapsed.as_secs_f64(),
            if pass == 0 {
                ", Pending → Active"
            } else {
                ", Active re-check"
            }
        );
    }
}
