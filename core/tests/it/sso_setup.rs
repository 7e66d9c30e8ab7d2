//! An account ready for SSO sign-in, shared by the SSO tests: the owner, a verified domain (acme.example) on the
//! test DNS server routed to a connection to the test IdP typed in by hand, SSO on, and responses from the test
//! IdP addressed to that connection (or another one of the account).

use crate::support::{TestWorld, t0};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use gatehouse_core::sso::junk::JunkPolicy;
use gatehouse_core::sso::sign_in::{AcsOutcome, Refused, SignedIn, SsoService, Started};
use gatehouse_core::sso::test_sso::TestReport;
use gatehouse_core::sso::{ConnectionService, ManualFields, SsoPolicy};
use gatehouse_core::{AccountId, Caller, ConnectionId, DomainService};
use test_dns::TestDns;
use test_idp::{Spec, build, idp};

pub const IDP_SSO_URL: &str = "https://idp.example.com/sso?tenant=acme";
pub const IDP_SLO_URL: &str = "https://idp.example.com/slo";

pub struct Setup {
    pub world: TestWorld,
    pub owner: Caller,
    pub account: AccountId,
    pub connection: ConnectionId,
    pub connections: ConnectionService,
    pub domains: DomainService,
    pub sso: SsoService,
    pub dns: TestDns,
}

/// The account with a connection whose IdP has no single logout.
pub async fn setup() -> Setup {
    setup_with_slo("").await
}

/// The account with a connection whose IdP's SLO URL is `slo_url` (HTTP-Redirect; empty for none).
pub async fn setup_with_slo(slo_url: &str) -> Setup {
    setup_in(TestWorld::new().await, slo_url).await
}

/// The account, in `world`, with a connection whose IdP's SLO URL is `slo_url`.
pub async fn setup_in(world: TestWorld, slo_url: &str) -> Setup {
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
                sso_url: IDP_SSO_URL,
                slo_url,
                certificates: certificate.as_bytes(),
            },
            None,
            t0(),
        )
        .await
        .unwrap()
        .id;
    domains
        .route(&owner, account, domain.id, Some(connection), t0())
        .await
        .unwrap();
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
        JunkPolicy::default(),
    );
    Setup {
        world,
        owner,
        account,
        connection,
        connections,
        domains,
        sso,
        dns,
    }
}

/// The test IdP's answer to `request_id` (`None`: unsolicited), addressed to this connection, after `adjust`.
pub fn response_xml(setup: &Setup, request_id: Option<&str>, adjust: impl FnOnce(&mut Spec)) -> String {
    response_xml_for(setup, setup.connection, request_id, adjust)
}

/// [`response_xml`] addressed to another `connection` of the account.
pub fn response_xml_for(
    setup: &Setup,
    connection: ConnectionId,
    request_id: Option<&str>,
    adjust: impl FnOnce(&mut Spec),
) -> String {
    let values = setup.connections.service_provider_values(connection);
    let mut spec = Spec {
        destination: Some(values.acs_url.clone()),
        recipient: values.acs_url,
        audience: Some(values.entity_id),
        in_response_to: request_id.map(str::to_owned),
        confirmation_in_response_to: request_id.map(str::to_owned),
        assertion_id: format!("_a{}", uuid::Uuid::new_v4().simple()),
        ..Spec::default()
    };
    adjust(&mut spec);
    build(&spec)
}

/// [`response_xml`] as the IdP posts it: Base64.
pub fn response(setup: &Setup, request_id: Option<&str>, adjust: impl FnOnce(&mut Spec)) -> String {
    STANDARD.encode(response_xml(setup, request_id, adjust))
}

/// A whole sign-in from one browser: a fresh request, the test IdP's answer (as `adjust` shapes it), the ACS.
pub async fn attempt(s: &Setup, adjust: impl FnOnce(&mut Spec)) -> Result<SignedIn, Refused> {
    attempt_at(s, s.connection, adjust).await
}

/// [`attempt`] through another `connection` of the account.
pub async fn attempt_at(
    s: &Setup,
    connection: ConnectionId,
    adjust: impl FnOnce(&mut Spec),
) -> Result<SignedIn, Refused> {
    let now = test_idp::now();
    let started = s.sso.start(connection, None, now).await.unwrap();
    finish(s, connection, &started, adjust, now).await
}

/// The IdP's answer to the sign-in `started` through `connection`, posted by the browser that started it.
pub async fn finish(
    s: &Setup,
    connection: ConnectionId,
    started: &Started,
    adjust: impl FnOnce(&mut Spec),
    now: DateTime<Utc>,
) -> Result<SignedIn, Refused> {
    let answer = STANDARD.encode(response_xml_for(s, connection, Some(&started.request_id), adjust));
    s.sso
        .acs(
            connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .map(signed_in)
}

/// Turns the account's SSO on or off (Enforce SSO off, a personal account for new users).
pub async fn set_sso(s: &Setup, sso_enabled: bool) {
    set_policy(
        s,
        SsoPolicy {
            sso_enabled,
            enforce_sso: false,
            no_separate_account: false,
        },
    )
    .await;
}

/// Saves the account's sign-in policy, as its Owner.
pub async fn set_policy(s: &Setup, policy: SsoPolicy) {
    s.world
        .policy()
        .update(&s.owner, s.account, policy, t0())
        .await
        .unwrap();
}

/// A user who signed up with a password at `email` while the account's SSO was still off (the domain not yet
/// claimed), with the token of the session sign-up opened.
pub async fn pre_registered(s: &Setup, email: &str) -> (Caller, String) {
    set_sso(s, false).await;
    let signed_up = s
        .world
        .auth
        .sign_up(email, "correct horse battery", None, t0())
        .await
        .expect("sign up before SSO is on");
    set_sso(s, true).await;
    let caller = s
        .world
        .auth
        .authenticate(&signed_up.session.token, t0())
        .await
        .expect("session works");
    (caller, signed_up.session.token)
}

pub async fn sign_in_as(s: &Setup, adjust: impl FnOnce(&mut Spec)) -> SignedIn {
    attempt(s, adjust).await.unwrap()
}

/// The ACS's answer to a response the test expects to sign its user in.
pub fn signed_in(outcome: AcsOutcome) -> SignedIn {
    match outcome {
        AcsOutcome::SignedIn(signed_in) => signed_in,
        other => panic!("not a sign-in: {other:?}"),
    }
}

/// The ACS's answer to a response of a Test SSO run.
pub fn report(outcome: AcsOutcome) -> TestReport {
    match outcome {
        AcsOutcome::Tested(report) => report,
        other => panic!("not a Test SSO run: {other:?}"),
    }
}
