//! Both legs of SSO sign-in against a real database and the test IdP: the AuthnRequest bound to one browser, and
//! the ACS accepting a response only once, only from that browser, only for the account's verified domains.

use crate::sso_setup::{
    Setup, attempt, finish, pre_registered, report, response, set_policy, setup, sign_in_as, signed_in,
};
use crate::support::t0;
use chrono::Duration;
use gatehouse_core::ConnectionId;
use gatehouse_core::audit::SSO_EVENTS_PAGE;
use gatehouse_core::saml::authn_request::Outgoing;
use gatehouse_core::saml::response::Rejection;
use gatehouse_core::saml::xmlsec;
use gatehouse_core::sso::SsoPolicy;
use gatehouse_core::sso::junk::JunkPolicy;
use gatehouse_core::sso::refusal::Refusal;
use gatehouse_core::sso::sign_in::{SsoService, StartError};
use gatehouse_core::tenancy::Role;
use test_idp::Spec;

#[tokio::test]
async fn a_request_from_this_browser_answered_by_the_idp_signs_in_once() {
    let s = setup().await;
    let now = test_idp::now();
    let started = s.sso.start(s.connection, Some("/accounts".into()), now).await.unwrap();
    let Outgoing::Redirect(url) = &started.outgoing else {
        panic!("redirect expected")
    };
    assert!(
        url.as_str()
            .starts_with("https://idp.example.com/sso?tenant=acme&SAMLRequest=")
    );
    let relay: Vec<String> = url
        .query_pairs()
        .filter(|(k, _)| k == "RelayState")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(
        relay,
        vec![started.request_id.clone()],
        "the RelayState is only the request's reference"
    );
    assert!(url.query_pairs().any(|(k, _)| k == "Signature"), "signed by default");

    let assertion_id = "_assertion-once".to_owned();
    let answer = response(&s, Some(&started.request_id), |spec| {
        spec.assertion_id = assertion_id.clone()
    });
    let accepted = s
        .sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .map(signed_in)
        .unwrap();
    assert_eq!(accepted.email, "ada@acme.example");
    assert_eq!(accepted.account, s.account);
    assert_eq!(accepted.return_to.as_deref(), Some("/accounts"));

    // The same response again: the request is used up.
    let again = s
        .sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .map(signed_in)
        .unwrap_err();
    assert!(matches!(again.refusal, Refusal::RequestUsed(_)), "{again:?}");
    // The same assertion under a fresh request of the same browser: a replay.
    let second = s.sso.start(s.connection, None, now).await.unwrap();
    let replayed = response(&s, Some(&second.request_id), |spec| {
        spec.assertion_id = assertion_id.clone()
    });
    let refused = s
        .sso
        .acs(
            s.connection,
            &replayed,
            &second.request_id,
            Some(&second.browser_token),
            None,
            now,
        )
        .await
        .map(signed_in)
        .unwrap_err();
    assert_eq!(refused.refusal, Refusal::Replayed(assertion_id.clone()));

    // The owner sees every attempt, the refusals with the reference the user was shown.
    let events = s.world.store.sso_events(s.account, None, 10).await.unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events.iter().filter(|e| e.outcome == "accepted").count(), 1);
    let logged = events
        .iter()
        .find(|e| Some(&e.reference) == refused.reference.as_ref())
        .unwrap();
    assert_eq!(logged.name_id.as_deref(), Some("ada@acme.example"));
    assert!(
        logged
            .raw_response
            .as_deref()
            .is_some_and(|raw| raw.starts_with("<samlp:Response"))
    );
    // Only a message whose signature verified is kept (the accepted one and the replay); the post refused
    // before its signature was checked (its request was already used) keeps no body.
    let with_raw =
        |events: &[gatehouse_core::store::SsoEventRow]| events.iter().filter(|e| e.raw_response.is_some()).count();
    assert_eq!(with_raw(&events), 2);
    assert!(events.iter().any(|e| e.raw_response.is_none()
        && matches!(
            e.refusal.as_deref().and_then(Refusal::from_stored),
            Some(Refusal::RequestUsed(_))
        )
        && e.name_id.is_none()));
    // Raw responses are kept for the retention period only; the rest of each event stays.
    s.sso.remove_expired(now + Duration::hours(23)).await.unwrap();
    assert_eq!(
        with_raw(&s.world.store.sso_events(s.account, None, 10).await.unwrap()),
        2
    );
    s.sso.remove_expired(now + Duration::hours(25)).await.unwrap();
    let kept = s.world.store.sso_events(s.account, None, 10).await.unwrap();
    assert!(kept.len() == 3 && kept.iter().all(|e| e.raw_response.is_none()));
    assert!(logged.attributes.contains("groups = Gatehouse Admins, Staff"));
}

#[tokio::test]
async fn a_response_must_reach_the_browser_that_started_the_request_in_time() {
    let s = setup().await;
    let now = test_idp::now();
    let started = s.sso.start(s.connection, None, now).await.unwrap();
    let answer = response(&s, Some(&started.request_id), |_| {});
    let other_browser = s
        .sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some("another-browser"),
            None,
            now,
        )
        .await
        .map(signed_in)
        .unwrap_err();
    assert_eq!(other_browser.refusal, Refusal::OtherBrowser);
    // Nor can a post of it to a connection ID that is no connection.
    let nowhere = ConnectionId::new();
    let misposted = finish(&s, nowhere, &started, |_| {}, now).await.unwrap_err();
    assert_eq!(misposted.refusal, Refusal::UnknownConnection(nowhere));
    // Another browser cannot use the request up: the right browser still finishes it, once.
    let finish = || {
        s.sso.acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
    };
    assert!(finish().await.is_ok());
    let again = finish().await.unwrap_err();
    assert!(matches!(again.refusal, Refusal::RequestUsed(_)), "{again:?}");

    let late = s.sso.start(s.connection, None, now).await.unwrap();
    let answer = response(&s, Some(&late.request_id), |_| {});
    let expired = s
        .sso
        .acs(
            s.connection,
            &answer,
            &late.request_id,
            Some(&late.browser_token),
            None,
            now + Duration::minutes(11),
        )
        .await
        .map(signed_in)
        .unwrap_err();
    assert!(matches!(expired.refusal, Refusal::RequestExpired(_)), "{expired:?}");

    // No cookie at all (a browser that blocked it).
    let bare = s.sso.start(s.connection, None, now).await.unwrap();
    let answer = response(&s, Some(&bare.request_id), |_| {});
    assert!(
        s.sso
            .acs(s.connection, &answer, &bare.request_id, None, None, now)
            .await
            .map(signed_in)
            .is_err()
    );
}

#[tokio::test]
async fn only_users_of_the_accounts_verified_domains_get_in() {
    let s = setup().await;
    let refused = attempt(&s, |spec| spec.name_id = "mallory@other.example".into())
        .await
        .unwrap_err();
    assert_eq!(refused.refusal, Refusal::DomainNotVerified("other.example".into()));

    let refused = attempt(&s, |spec| spec.name_id = "not an email".into())
        .await
        .unwrap_err();
    assert!(matches!(refused.refusal, Refusal::EmailUnusable { .. }), "{refused:?}");
}

#[tokio::test]
async fn unsolicited_responses_need_the_owners_permission_and_sso_must_be_on() {
    let s = setup().await;
    let now = test_idp::now();
    let unsolicited = response(&s, None, |_| {});
    let refused = s
        .sso
        .acs(s.connection, &unsolicited, "", None, None, now)
        .await
        .map(signed_in)
        .unwrap_err();
    assert_eq!(
        refused.refusal,
        Refusal::Response(Rejection::Unsolicited),
        "{refused:?}"
    );
    // A forged reference in RelayState does not make it solicited.
    let forged = s
        .sso
        .acs(s.connection, &unsolicited, "_made-up", None, None, now)
        .await
        .map(signed_in)
        .unwrap_err();
    assert!(matches!(forged.refusal, Refusal::UnknownRequest(_)), "{forged:?}");

    s.world
        .policy()
        .update(&s.owner, s.account, SsoPolicy::default(), t0())
        .await
        .unwrap();
    assert!(matches!(
        s.sso.start(s.connection, None, now).await,
        Err(StartError::SsoOff)
    ));
    let off = s
        .sso
        .acs(s.connection, &unsolicited, "", None, None, now)
        .await
        .map(signed_in)
        .unwrap_err();
    assert_eq!(off.refusal, Refusal::SsoOff);
    assert!(matches!(
        s.sso.start(ConnectionId::new(), None, now).await,
        Err(StartError::NoConnection)
    ));
}

#[tokio::test]
async fn an_allowed_idp_initiated_sign_in_lands_on_the_relay_states_page_of_this_site_only() {
    use gatehouse_core::sso::OptionsForm;
    let s = setup().await;
    let now = test_idp::now();
    s.connections
        .save_options(
            &s.owner,
            s.account,
            s.connection,
            &OptionsForm {
                allow_idp_initiated: true,
                sign_authn_requests: true,
                binding: "redirect",
                authn_context: "none",
                email_source: "nameid",
                email_attribute: "",
                allow_sha1: false,
                clock_skew_seconds: "180",
            },
            t0(),
        )
        .await
        .unwrap();
    let own_origin = s.connections.service_provider_values(s.connection).acs_url;
    let own_origin = own_origin.split("/saml/").next().unwrap().to_owned();
    let landing_of = |relay_state: String| {
        let s = &s;
        async move {
            s.sso
                .acs(s.connection, &response(s, None, |_| {}), &relay_state, None, None, now)
                .await
                .map(signed_in)
                .map(|signed_in| signed_in.return_to)
        }
    };
    assert_eq!(landing_of(String::new()).await.unwrap(), None);
    assert_eq!(
        landing_of("/accounts/x/members?tab=1".into()).await.unwrap().as_deref(),
        Some("/accounts/x/members?tab=1")
    );
    assert_eq!(
        landing_of(format!("{own_origin}/accounts/y")).await.unwrap().as_deref(),
        Some("/accounts/y"),
        "a URL on Gatehouse's own origin, as IdP admins often enter it"
    );
    for elsewhere in [
        "https://evil.example/accounts",
        "//evil.example",
        "/\\evil.example",
        "_made-up",
    ] {
        assert_eq!(landing_of(elsewhere.into()).await.unwrap(), None, "{elsewhere}");
    }

    // A solicited response cannot pass as IdP-initiated by swapping its RelayState for a page.
    let started = s.sso.start(s.connection, None, now).await.unwrap();
    let answer = response(&s, Some(&started.request_id), |_| {});
    let swapped = s
        .sso
        .acs(
            s.connection,
            &answer,
            "/accounts",
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .map(signed_in)
        .unwrap_err();
    assert!(
        matches!(swapped.refusal, Refusal::Response(Rejection::InResponseTo { .. })),
        "{swapped:?}"
    );
}

#[tokio::test]
async fn users_are_provisioned_just_in_time_with_the_mapped_role_and_a_session() {
    use gatehouse_core::sso::{MappingForm, RuleInput};
    use gatehouse_core::tenancy::Role;
    let s = setup().await;
    let rows = [RuleInput {
        attribute: "groups",
        value: "Gatehouse Admins",
        role: "admin",
    }];
    s.world
        .connections()
        .save_role_mappings(
            &s.owner,
            s.account,
            s.connection,
            &MappingForm {
                rows: &rows,
                default_role: "viewer",
                reapply_on_sign_in: true,
            },
            t0(),
        )
        .await
        .unwrap();

    let first = sign_in_as(&s, |_| {}).await;
    assert!(first.created);
    assert_eq!(first.role, Role::Admin);
    let caller = s
        .world
        .auth
        .authenticate(&first.session.token, test_idp::now())
        .await
        .unwrap();
    assert_eq!(caller.email, "ada@acme.example");
    assert_eq!(caller.user_id, first.user_id);
    let accounts = s.world.store.accounts_of_user(first.user_id).await.unwrap();
    assert_eq!(
        accounts.len(),
        2,
        "the account and, with No separate account off, a personal one"
    );

    // The IdP no longer sends the admin group: with enforced mapping the role follows, and the change is audited.
    let second = sign_in_as(&s, |spec| spec.groups = vec!["Staff".into()]).await;
    assert_eq!(second.user_id, first.user_id, "linked by the NameID");
    assert!(!second.created);
    assert_eq!(second.role, Role::Viewer);
    let entry = s.world.audit().recent(&s.owner, s.account).await.unwrap().remove(0);
    assert_eq!(entry.action, "Role changed at SSO sign-in");
    assert_eq!(entry.detail, "ada@acme.example: Admin → Viewer");

    // An existing user with the verified email (here one who set a password before SSO was on) is linked the
    // first time, not duplicated, and taken over for the IdP.
    let (existing, _) = pre_registered(&s, "bob@acme.example").await;
    let bob = sign_in_as(&s, |spec| {
        spec.name_id = "bob@acme.example".into();
        spec.groups = vec!["Staff".into()];
    })
    .await;
    assert_eq!(bob.user_id, existing.user_id);
    assert!(!bob.created && bob.taken_over);
    assert_eq!(bob.role, Role::Viewer);
}

#[tokio::test]
async fn with_no_separate_account_a_new_user_gets_only_the_sso_account() {
    let s = setup().await;
    set_policy(
        &s,
        SsoPolicy {
            sso_enabled: true,
            enforce_sso: false,
            no_separate_account: true,
        },
    )
    .await;
    let signed_in = sign_in_as(&s, |spec| spec.name_id = "carol@acme.example".into()).await;
    assert!(signed_in.created);
    let accounts = s.world.store.accounts_of_user(signed_in.user_id).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, s.account);
}

#[tokio::test]
async fn a_removed_member_is_signed_out_everywhere_and_provisioned_afresh_at_the_next_sign_in() {
    use gatehouse_core::tenancy::Role;
    let s = setup().await;
    let provisioned = sign_in_as(&s, |spec| spec.name_id = "dan@acme.example".into()).await;
    // A member who set a password before SSO was on: their first SSO sign-in took them over, so they too are
    // this account's SSO user now.
    let (erin, _) = pre_registered(&s, "erin@acme.example").await;
    let erin_sso = sign_in_as(&s, |spec| spec.name_id = "erin@acme.example".into()).await;
    assert_eq!(erin_sso.user_id, erin.user_id);
    // A member from outside the account's domains, with a password of their own.
    let frank = s
        .world
        .join(&s.owner, s.account, "frank@else.example", Role::Viewer)
        .await;
    let frank_session = s
        .world
        .auth
        .sign_in("frank@else.example", "correct horse battery", None, t0())
        .await
        .unwrap();

    for member in [provisioned.user_id, erin.user_id, frank.user_id] {
        s.world
            .tenancy
            .remove_member(&s.owner, s.account, member)
            .await
            .unwrap();
    }
    let now = test_idp::now();
    for (session, whose) in [
        (&provisioned.session.token, "created"),
        (&erin_sso.session.token, "taken over"),
    ] {
        assert!(
            s.world.auth.authenticate(session, now).await.is_err(),
            "a user this account's SSO {whose} is signed out when removed"
        );
    }
    assert!(
        s.world.auth.authenticate(&frank_session.token, t0()).await.is_ok(),
        "a user with an identity of their own keeps their sessions; only this account's door closes"
    );
    assert!(s.world.store.role_of(s.account, frank.user_id).await.unwrap().is_none());

    // The IdP still knows Dan: his next sign-in links him again and gives him a membership, without clean-up.
    let again = sign_in_as(&s, |spec| spec.name_id = "dan@acme.example".into()).await;
    assert_eq!(again.user_id, provisioned.user_id);
    assert!(!again.created);
    assert_eq!(again.role, Role::NoAccess);
    assert!(s.world.auth.authenticate(&again.session.token, now).await.is_ok());
}

/// Starts the Owner's Test SSO run and posts the IdP's response, adjusted, to it.
pub(crate) async fn test_run(s: &Setup, adjust: impl FnOnce(&mut Spec)) -> gatehouse_core::sso::test_sso::TestReport {
    let now = test_idp::now();
    let started = s.sso.start_test(&s.owner, s.connection, None, now).await.unwrap();
    let answer = response(s, Some(&started.request_id), adjust);
    s.sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .map(report)
        .unwrap()
}

/// Sign-in and Test SSO run one list of rules: each fault refuses a sign-in with the refusal that fails the Test
/// SSO run, at the check that refusal belongs to, and a run of the same response leaves nothing a sign-in needs.
#[tokio::test]
async fn sign_in_and_test_sso_refuse_each_fault_alike() {
    use gatehouse_core::sso::test_sso::{Check, CheckOutcome};
    let s = setup().await;
    type Fault = Box<dyn Fn(&mut Spec)>;
    let faults: Vec<(Fault, Check)> = vec![
        (
            Box::new(|spec| spec.audience = Some("https://elsewhere.example".into())),
            Check::Audience,
        ),
        (
            Box::new(|spec| spec.status = "urn:oasis:names:tc:SAML:2.0:status:Responder".into()),
            Check::Status,
        ),
        (
            Box::new(|spec| spec.issuer = "https://other-idp.example".into()),
            Check::Issuer,
        ),
        (Box::new(|spec| spec.signer = test_idp::attacker()), Check::Signature),
        (
            Box::new(|spec| spec.not_on_or_after = test_idp::now() - Duration::hours(1)),
            Check::Validity,
        ),
        (Box::new(|spec| spec.name_id = "not an email".into()), Check::Email),
        (
            Box::new(|spec| spec.name_id = "eve@other.example".into()),
            Check::Domain,
        ),
        (Box::new(|spec| spec.name_id = "owner@acme.example".into()), Check::User),
    ];
    for (fault, check) in faults {
        let report = test_run(&s, |spec| fault(spec)).await;
        let refused = attempt(&s, |spec| fault(spec)).await.unwrap_err();
        assert_eq!(refused.refusal.check(), check, "{refused:?}");
        assert_eq!(
            report.first_failure(),
            Some((check, &refused.refusal)),
            "{:?}",
            report.checks
        );
        let before = report.checks.iter().take_while(|c| c.check != check);
        assert!(before.into_iter().all(|c| c.outcome == CheckOutcome::Passed));
    }
    // A passing run looks at the replay cache without writing to it: its response still signs the user in.
    let started = s
        .sso
        .start_test(&s.owner, s.connection, None, test_idp::now())
        .await
        .unwrap();
    let answer = response(&s, Some(&started.request_id), |spec| {
        spec.assertion_id = "_tested-then-used".into()
    });
    let report = s
        .sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            test_idp::now(),
        )
        .await
        .map(report)
        .unwrap();
    assert!(report.passed(), "{:?}", report.checks);
    let signed_in = attempt(&s, |spec| spec.assertion_id = "_tested-then-used".into()).await;
    assert!(signed_in.is_ok(), "{signed_in:?}");
    let replayed = test_run(&s, |spec| spec.assertion_id = "_tested-then-used".into()).await;
    assert_eq!(replayed.first_failure().map(|(at, _)| at), Some(Check::Replay));
}

#[tokio::test]
async fn a_test_run_reports_every_check_and_the_mapped_role_without_signing_anyone_in() {
    use gatehouse_core::sso::sign_in::AcsOutcome;
    use gatehouse_core::sso::test_sso::CheckOutcome;
    use gatehouse_core::sso::{MappingForm, RuleInput};
    use gatehouse_core::tenancy::Role;
    let s = setup().await;
    let rows = [RuleInput {
        attribute: "groups",
        value: "Gatehouse Admins",
        role: "admin",
    }];
    s.world
        .connections()
        .save_role_mappings(
            &s.owner,
            s.account,
            s.connection,
            &MappingForm {
                rows: &rows,
                default_role: "viewer",
                reapply_on_sign_in: false,
            },
            t0(),
        )
        .await
        .unwrap();
    // The owner tests before turning SSO on.
    s.world
        .policy()
        .update(&s.owner, s.account, SsoPolicy::default(), t0())
        .await
        .unwrap();

    let now = test_idp::now();
    let started = s.sso.start_test(&s.owner, s.connection, None, now).await.unwrap();
    let answer = response(&s, Some(&started.request_id), |spec| {
        spec.assertion_id = "_tested-once".into()
    });
    let outcome = s
        .sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .unwrap();
    let AcsOutcome::Tested(report) = outcome else {
        panic!("a test run is only reported")
    };
    assert!(report.passed(), "{:?}", report.checks);
    assert!(report.checks.iter().all(|c| c.outcome == CheckOutcome::Passed));
    assert_eq!(report.name_id.as_deref(), Some("ada@acme.example"));
    assert_eq!(report.email.as_deref(), Some("ada@acme.example"));
    assert_eq!(report.email_domain_verified, Some(true));
    assert_eq!(report.role, Some(Role::Admin));
    assert!(!report.sso_enabled);
    assert!(
        report
            .attributes
            .contains(&("groups".into(), vec!["Gatehouse Admins".into(), "Staff".into()]))
    );
    assert!(report.response_xml.starts_with("<samlp:Response"));

    // Nobody was provisioned and no assertion was remembered.
    assert!(s.world.store.user_by_email("ada@acme.example").await.unwrap().is_none());
    assert_eq!(s.world.store.members(s.account).await.unwrap().len(), 1);
    assert!(
        !s.world
            .store
            .assertion_seen(s.connection, "_tested-once")
            .await
            .unwrap()
    );
    let events = s.world.store.sso_events(s.account, None, 10).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].outcome, "test");
    assert_eq!(events[0].reason, "Test SSO passed");
    assert_eq!(events[0].reference, report.reference);

    // The same response again: the test request is used up, as a sign-in's would be.
    let again = s
        .sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .unwrap_err();
    assert!(matches!(again.refusal, Refusal::RequestUsed(_)), "{again:?}");
}

#[tokio::test]
async fn a_failed_test_names_the_failed_check_and_the_checks_not_reached() {
    use gatehouse_core::sso::test_sso::{Check, CheckOutcome};
    let s = setup().await;
    let report = test_run(&s, |spec| spec.audience = Some("https://elsewhere.example".into())).await;
    let (check, refusal) = report.first_failure().unwrap();
    assert_eq!(check, Check::Audience);
    assert!(
        matches!(refusal, Refusal::Response(Rejection::Audience { found, .. }) if found == "https://elsewhere.example"),
        "{refusal:?}"
    );
    let at = report.checks.iter().position(|c| c.check == Check::Audience).unwrap();
    assert!(report.checks[..at].iter().all(|c| c.outcome == CheckOutcome::Passed));
    assert!(
        report.checks[at + 1..]
            .iter()
            .all(|c| c.outcome == CheckOutcome::NotReached)
    );
    assert_eq!(
        report.name_id, None,
        "the identity is only given by a response that passed the rules"
    );

    let forged = test_run(&s, |spec| spec.signer = test_idp::attacker()).await;
    assert_eq!(forged.first_failure().unwrap().0, Check::Signature);
    assert_eq!(forged.role, None);

    let outsider = test_run(&s, |spec| spec.name_id = "mallory@other.example".into()).await;
    assert_eq!(outsider.first_failure().unwrap().0, Check::Domain);
    assert_eq!(outsider.email_domain_verified, Some(false));
    assert_eq!(outsider.name_id.as_deref(), Some("mallory@other.example"));

    let events = s.world.store.sso_events(s.account, None, 10).await.unwrap();
    assert!(events.iter().all(|e| e.outcome == "test"));
    assert!(events.iter().any(|e| {
        e.refusal
            .as_deref()
            .and_then(Refusal::from_stored)
            .is_some_and(|refusal| refusal.check() == Check::Signature)
    }));
}

#[tokio::test]
async fn only_the_owner_starts_a_test_and_a_test_request_signs_no_one_in() {
    use gatehouse_core::tenancy::{Role, TenancyError};
    let s = setup().await;
    let admin = s
        .world
        .join(&s.owner, s.account, "admin@else.example", Role::Admin)
        .await;
    let now = test_idp::now();
    assert!(matches!(
        s.sso.start_test(&admin, s.connection, None, now).await,
        Err(StartError::Tenancy(TenancyError::Forbidden { .. }))
    ));
    let (stranger, _) = s.world.user("stranger@else.example").await;
    assert!(matches!(
        s.sso.start_test(&stranger, s.connection, None, now).await,
        Err(StartError::Tenancy(TenancyError::AccountNotFound))
    ));

    // A test request's response posted to sign-in proper is refused.
    let started = s.sso.start_test(&s.owner, s.connection, None, now).await.unwrap();
    let answer = response(&s, Some(&started.request_id), |_| {});
    let report = s
        .sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .map(report)
        .unwrap();
    assert!(report.passed(), "{:?}", report.checks);
    assert!(s.world.store.user_by_email("ada@acme.example").await.unwrap().is_none());
}

#[tokio::test]
async fn sso_events_come_page_by_page_and_raw_responses_by_reference_for_owners_and_admins() {
    let s = setup().await;
    let now = test_idp::now();
    // Thirty refused attempts at one instant: paging must not depend on timestamps being distinct.
    let mut references = Vec::new();
    for i in 0..30 {
        // From as many addresses, each well within its allowance of refusals.
        let client = Some(std::net::IpAddr::from([192, 0, 2, i]));
        let refused = s
            .sso
            .acs(s.connection, &response(&s, None, |_| {}), "", None, client, now)
            .await
            .map(signed_in)
            .unwrap_err();
        references.push(refused.reference.expect("an event was recorded"));
    }
    let audit = s.world.audit();
    let first = audit.sso_events(&s.owner, s.account, None).await.unwrap();
    assert_eq!(first.len(), SSO_EVENTS_PAGE as usize);
    let second = audit
        .sso_events(&s.owner, s.account, Some(&first.last().unwrap().reference))
        .await
        .unwrap();
    assert_eq!(second.len(), 30 - SSO_EVENTS_PAGE as usize);
    let mut seen: Vec<String> = first.iter().chain(&second).map(|e| e.reference.clone()).collect();
    seen.sort();
    references.sort();
    assert_eq!(seen, references, "every event once, none twice");
    assert!(
        audit
            .sso_events(&s.owner, s.account, Some("NO-SUCH-EVENT"))
            .await
            .unwrap()
            .is_empty()
    );

    // Refused before their signature was checked (they answer no request): no body was kept.
    assert!(
        audit
            .sso_event_response(&s.owner, s.account, &references[0])
            .await
            .unwrap()
            .is_none()
    );
    sign_in_as(&s, |_| {}).await;
    let accepted = s
        .world
        .store
        .sso_events(s.account, None, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.outcome == "accepted")
        .unwrap()
        .reference;
    let raw = audit
        .sso_event_response(&s.owner, s.account, &accepted)
        .await
        .unwrap()
        .unwrap();
    assert!(raw.starts_with("<samlp:Response"), "{raw}");
    let viewer = s
        .world
        .join(&s.owner, s.account, "vic@else.example", Role::Viewer)
        .await;
    assert!(audit.sso_event_response(&viewer, s.account, &accepted).await.is_err());
    let (stranger, _) = s.world.user("eve@elsewhere.example").await;
    assert!(audit.sso_events(&stranger, s.account, None).await.is_err());
}

#[tokio::test]
async fn events_are_kept_for_their_retention_and_up_to_a_cap_per_account() {
    let s = setup().await;
    let sso = SsoService::new(
        s.world.store.clone(),
        s.connections.clone(),
        s.world.auth.clone(),
        JunkPolicy {
            events_per_account: 5,
            event_retention: Duration::days(90),
            ..JunkPolicy::default()
        },
    );
    let now = test_idp::now();
    let mut references = Vec::new();
    for i in 0..8 {
        let refused = sso
            .acs(
                s.connection,
                &response(&s, None, |_| {}),
                "",
                None,
                None,
                now + Duration::seconds(i),
            )
            .await
            .map(signed_in)
            .unwrap_err();
        references.push(refused.reference.expect("an event was recorded"));
    }
    sso.remove_expired(now + Duration::minutes(1)).await.unwrap();
    let kept: Vec<String> = s
        .world
        .store
        .sso_events(s.account, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.reference)
        .collect();
    let newest: Vec<String> = references.iter().rev().take(5).cloned().collect();
    assert_eq!(kept, newest, "the newest five, newest first");
    sso.remove_expired(now + Duration::days(91)).await.unwrap();
    assert!(s.world.store.sso_events(s.account, None, 100).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_accounts_first_connection_has_the_id_known_before_it_exists_and_later_ones_are_random() {
    let s = setup().await;
    assert_eq!(
        s.connection,
        ConnectionId::first_of(s.account),
        "the guided setup shows the first connection's ACS URL before the IdP is imported"
    );
    let (_, other_account) = s.world.user("owner@elsewhere.example").await;
    assert_ne!(ConnectionId::first_of(other_account), s.connection);
    let second = s
        .connections
        .create_manual(
            &s.owner,
            s.account,
            &gatehouse_core::sso::ManualFields {
                label: "Second IdP",
                entity_id: "https://second.example/idp",
                sso_url: "https://second.example/sso",
                slo_url: "",
                certificates: test_idp::idp().certificate.to_pem().as_bytes(),
            },
            None,
            t0(),
        )
        .await
        .unwrap();
    assert_ne!(second.id, ConnectionId::first_of(s.account));
    // Removed and added again, the first connection takes the id back: the IdP's settings for it still fit.
    for id in [s.connection, second.id] {
        s.connections.remove(&s.owner, s.account, id, t0()).await.unwrap();
    }
    let again = s
        .connections
        .create_manual(
            &s.owner,
            s.account,
            &gatehouse_core::sso::ManualFields {
                label: "Test IdP again",
                entity_id: test_idp::IDP,
                sso_url: "https://idp.example/sso",
                slo_url: "",
                certificates: test_idp::idp().certificate.to_pem().as_bytes(),
            },
            None,
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(again.id, s.connection);
}

#[tokio::test]
async fn the_last_test_run_of_each_connection_is_kept_with_its_way_back() {
    use gatehouse_core::sso::test_sso::Check;
    let s = setup().await;
    assert!(s.connections.last_tests(&s.owner, s.account).await.unwrap().is_empty());

    let now = test_idp::now();
    let back = "/accounts/x/sso/setup".to_owned();
    let started = s
        .sso
        .start_test(&s.owner, s.connection, Some(back.clone()), now)
        .await
        .unwrap();
    let answer = response(&s, Some(&started.request_id), |_| {});
    let report = s
        .sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await
        .map(report)
        .unwrap();
    assert_eq!(report.return_to.as_deref(), Some(back.as_str()));
    let kept = s.connections.last_tests(&s.owner, s.account).await.unwrap();
    assert_eq!(kept.len(), 1);
    let (connection, at, summary) = &kept[0];
    assert_eq!((*connection, *at), (s.connection, now));
    assert_eq!(summary, &report.summary());
    assert_eq!(summary.failed, None);
    assert_eq!(summary.email.as_deref(), Some("ada@acme.example"));

    // A later failing run takes its place, naming the check; a run without a page to go back to keeps none.
    let failed = test_run(&s, |spec| spec.audience = Some("https://elsewhere.example".into())).await;
    assert_eq!(failed.return_to, None);
    let kept = s.connections.last_tests(&s.owner, s.account).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].2.reference, failed.reference);
    assert_eq!(
        kept[0].2.failed.as_ref().map(|(check, _)| *check),
        Some(Check::Audience)
    );
    // With what to change at the IdP, as the report said it, for the owner who comes back later.
    let sp_entity_id = s.connections.service_provider_values(s.connection).entity_id;
    let fix = kept[0].2.fix.as_deref().expect("an audience the owner can fix");
    assert_eq!(Some(fix), failed.fix.as_deref());
    assert!(fix.contains(&sp_entity_id), "{fix}");

    // Only members of the account may read it; the connection's removal takes it along.
    let (stranger, _) = s.world.user("stranger@elsewhere.example").await;
    assert!(s.connections.last_tests(&stranger, s.account).await.is_err());
    s.connections
        .remove(&s.owner, s.account, s.connection, t0())
        .await
        .unwrap();
    assert!(s.connections.last_tests(&s.owner, s.account).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_damaged_last_test_is_left_out_instead_of_failing_the_connections_page() {
    let (url, dir) = crate::support::fresh_database().await;
    let store = gatehouse_core::Store::open(&url).await.unwrap();
    let s = crate::sso_setup::setup_in(crate::support::TestWorld::with_store(store, dir), "").await;
    test_run(&s, |_| {}).await;
    assert_eq!(s.connections.last_tests(&s.owner, s.account).await.unwrap().len(), 1);
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&db, "UPDATE sso_last_tests SET summary = '{\"not\": \"a summary\"}'")
        .await
        .unwrap();
    assert!(s.connections.last_tests(&s.owner, s.account).await.unwrap().is_empty());
    // The next run replaces it.
    test_run(&s, |_| {}).await;
    assert_eq!(s.connections.last_tests(&s.owner, s.account).await.unwrap().len(), 1);
}

/// The SQL of each statement the store runs, as they run.
type Ran = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// [`setup`] on a store whose statements are counted.
async fn observed_setup() -> (Setup, Ran) {
    let (url, dir) = crate::support::fresh_database().await;
    let ran = Ran::default();
    let log = ran.clone();
    let store = gatehouse_core::Store::open_observed(&url, move |sql| log.lock().unwrap().push(sql.to_owned()))
        .await
        .unwrap();
    let s = crate::sso_setup::setup_in(crate::support::TestWorld::with_store(store, dir), "").await;
    (s, ran)
}

/// Where a sign-in's statements go: starting it, and a returning user's response, from the ACS to the session, read
/// and write the database this many times (docs/performance.md lists them). A change that adds a statement to every sign-in
/// shows here.
#[tokio::test]
async fn a_returning_users_sign_in_runs_a_known_number_of_statements() {
    let (s, ran) = observed_setup().await;
    attempt(&s, |_| {}).await.unwrap();
    let now = test_idp::now();
    ran.lock().unwrap().clear();
    assert_eq!(
        s.sso.connection_for_domain("acme.example").await.unwrap(),
        Some(s.connection)
    );
    let discovery: Vec<String> = std::mem::take(&mut *ran.lock().unwrap());
    assert_eq!(discovery.len(), DISCOVERY_STATEMENTS, "{discovery:#?}");
    let started = s.sso.start(s.connection, None, now).await.unwrap();
    let login: Vec<String> = std::mem::take(&mut *ran.lock().unwrap());
    assert_eq!(login.len(), LOGIN_STATEMENTS, "{login:#?}");
    let answer = response(&s, Some(&started.request_id), |_| {});
    let outcome = s
        .sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
        .await;
    assert!(
        matches!(outcome, Ok(gatehouse_core::sso::sign_in::AcsOutcome::SignedIn(_))),
        "{outcome:?}"
    );
    let statements = std::mem::take(&mut *ran.lock().unwrap());
    let summary: Vec<String> = statements.iter().map(|sql| sql.chars().take(90).collect()).collect();
    assert_eq!(statements.len(), ACS_STATEMENTS, "{summary:#?}");
    // A newcomer's sign-in, whose user, link and membership are inserted with the session, costs as many.
    let started = s.sso.start(s.connection, None, now).await.unwrap();
    ran.lock().unwrap().clear();
    let newcomer = finish(
        &s,
        s.connection,
        &started,
        |spec| spec.name_id = "new@acme.example".into(),
        now,
    )
    .await
    .unwrap();
    assert!(newcomer.created);
    let statements = ran.lock().unwrap().clone();
    let summary: Vec<String> = statements.iter().map(|sql| sql.chars().take(90).collect()).collect();
    assert_eq!(statements.len(), ACS_STATEMENTS, "{summary:#?}");
}

/// What a stranger's post to an ID that is no connection costs the database: one read, never a write (the one
/// SQLite writer is shared by every sign-in), even with a RelayState that names a real request.
#[tokio::test]
async fn a_post_to_an_id_that_is_no_connection_costs_one_read() {
    let (s, ran) = observed_setup().await;
    let now = test_idp::now();
    let started = s.sso.start(s.connection, None, now).await.unwrap();
    ran.lock().unwrap().clear();
    let nowhere = ConnectionId::new();
    let refused = finish(&s, nowhere, &started, |_| {}, now).await.unwrap_err();
    assert_eq!(refused.refusal, Refusal::UnknownConnection(nowhere));
    let statements = ran.lock().unwrap().clone();
    assert_eq!(statements.len(), 1, "{statements:#?}");
    assert!(statements[0].trim_start().starts_with("SELECT"), "{statements:#?}");
}

/// The statements of finding the connection of an email's domain (`/sso/start`), counted by the test above.
const DISCOVERY_STATEMENTS: usize = 1;

/// The statements of a returning user's or a newcomer's sign-in at the ACS, counted by the test above: the
/// request's take, the domain with the NameID's link, and the writes (the replay record, a newcomer's user, link and
/// membership, the session and the event), which PostgreSQL runs as one statement and SQLite as one command, its
/// transaction's `BEGIN` and `COMMIT` included.
const ACS_STATEMENTS: usize = 3;

/// The statements of starting a sign-in (the AuthnRequest) through a connection this instance keeps: the pending
/// request, stored on the condition that the connection's revision is still the kept one.
const LOGIN_STATEMENTS: usize = 1;

/// A sign-in's writes are stored all or none: when the last of them (its SSO event) cannot be stored, neither are
/// the replay record, the user nor the session, and a refused event says what happened. So for a first sign-in (its
/// transaction) and for a returning user's (one statement on PostgreSQL, one command on SQLite).
#[tokio::test]
async fn a_sign_in_whose_event_cannot_be_stored_stores_nothing() {
    use crate::support::{TestWorld, fresh_database};
    use sea_orm::{ConnectionTrait, Statement};
    let (url, dir) = fresh_database().await;
    let store = gatehouse_core::Store::open(&url).await.unwrap();
    let s = crate::sso_setup::setup_in(TestWorld::with_store(store, dir), "").await;
    let returning = |spec: &mut Spec| spec.name_id = "returning@acme.example".into();
    attempt(&s, returning).await.unwrap();
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    let refuse_accepted_events = if url.starts_with("postgres") {
        vec![
            "CREATE FUNCTION refuse_accepted() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.outcome = 'accepted' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER refuse_accepted BEFORE INSERT ON sso_events \
             FOR EACH ROW EXECUTE FUNCTION refuse_accepted()",
        ]
    } else {
        vec![
            "CREATE TRIGGER refuse_accepted BEFORE INSERT ON sso_events WHEN NEW.outcome = 'accepted' \
             BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
        ]
    };
    for statement in refuse_accepted_events {
        db.execute_unprepared(statement).await.unwrap();
    }
    let count = |sql: &'static str| {
        let db = &db;
        async move {
            let row = db
                .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };

    let refused = attempt(&s, |spec| spec.name_id = "first.timer@acme.example".into())
        .await
        .unwrap_err();

    assert!(matches!(refused.refusal, Refusal::Unavailable(_)), "{refused:?}");
    assert_eq!(count("SELECT COUNT(*) FROM sso_assertions_seen").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM users WHERE email = 'first.timer@acme.example'").await,
        0
    );
    assert_eq!(count("SELECT COUNT(*) FROM sso_links").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM sessions WHERE sso_connection_id IS NOT NULL").await,
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM sso_events WHERE outcome = 'refused'").await,
        1
    );

    let refused = attempt(&s, returning).await.unwrap_err();

    assert!(matches!(refused.refusal, Refusal::Unavailable(_)), "{refused:?}");
    assert_eq!(count("SELECT COUNT(*) FROM sso_assertions_seen").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM sessions WHERE sso_connection_id IS NOT NULL").await,
        1
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM sso_events WHERE outcome = 'refused'").await,
        2
    );
}

/// One assertion posted under several requests at once (a replay racing the original) signs in exactly once, for
/// a new user and for a returning one: their sign-ins store the replay record, the user, the session and the event
/// in one go at the end (one statement on PostgreSQL), which the record's key stops for all but one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_assertion_racing_itself_signs_in_once() {
    let s = setup().await;
    for (round, assertion_id) in ["_raced", "_raced_again"].into_iter().enumerate() {
        let outcomes = sign_ins_at_once(&s, 4, |_, spec| spec.assertion_id = assertion_id.into()).await;
        let signed_in: Vec<_> = outcomes.iter().filter_map(|outcome| outcome.as_ref().ok()).collect();
        assert_eq!(signed_in.len(), 1, "round {round}: {outcomes:?}");
        let created = matches!(signed_in[0], gatehouse_core::sso::sign_in::AcsOutcome::SignedIn(s) if s.created);
        assert_eq!(created, round == 0, "round {round}: only the first round's user is new");
        for refused in outcomes.into_iter().filter_map(Result::err) {
            assert_eq!(refused.refusal, Refusal::Replayed(assertion_id.into()));
            assert!(refused.reference.is_some(), "a replay is recorded as a refused event");
        }
    }
    let events = s.world.store.sso_events(s.account, None, 20).await.unwrap();
    assert_eq!(events.iter().filter(|e| e.outcome == "accepted").count(), 2);
    assert_eq!(events.iter().filter(|e| e.outcome == "refused").count(), 6);
}

/// `browsers` sign-ins started one after the other, whose responses (as `adjust` shapes the n-th) are posted at once.
async fn sign_ins_at_once(
    s: &Setup,
    browsers: usize,
    adjust: impl Fn(usize, &mut Spec),
) -> Vec<Result<gatehouse_core::sso::sign_in::AcsOutcome, gatehouse_core::sso::sign_in::Refused>> {
    let now = test_idp::now();
    let mut posts = Vec::new();
    for browser in 0..browsers {
        let started = s.sso.start(s.connection, None, now).await.unwrap();
        let answer = response(s, Some(&started.request_id), |spec| adjust(browser, spec));
        posts.push((started, answer));
    }
    futures::future::join_all(posts.iter().map(|(started, answer)| {
        s.sso.acs(
            s.connection,
            answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        )
    }))
    .await
}

/// A newcomer's first sign-ins in several tabs at once (a request and an assertion each) make one user, and each
/// signs in as that user, whichever of them stores the newcomer first.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_newcomers_sign_ins_at_once_make_one_user_and_each_signs_in() {
    let s = setup().await;
    let outcomes = sign_ins_at_once(&s, 4, |tab, spec| {
        spec.name_id = "newcomer@acme.example".into();
        spec.assertion_id = format!("_tab_{tab}");
    })
    .await;
    let signed_in: Vec<_> = outcomes
        .into_iter()
        .map(|outcome| signed_in(outcome.unwrap()))
        .collect();
    assert_eq!(signed_in.iter().filter(|tab| tab.created).count(), 1, "{signed_in:#?}");
    assert!(
        signed_in.iter().all(|tab| tab.user_id == signed_in[0].user_id),
        "{signed_in:#?}"
    );
}

/// A newcomer's writes are inserts alone, decided by the domain's read. When a user with the same address signs up
/// with a password between that read and the inserts, the inserts find the address taken and store nothing, and the
/// user rule runs again in a transaction: it reads the password user, whom the domain's IdP takes over (password
/// removed), as it does when the user was there before the response arrived.
#[tokio::test]
async fn a_password_sign_up_between_a_newcomers_read_and_writes_is_taken_over() {
    use gatehouse_core::auth::EmailAddress;
    let (url, dir) = crate::support::fresh_database().await;
    let racer_url = url.clone();
    let signed_up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let signs_up = signed_up.clone();
    let store = gatehouse_core::Store::open_observed(&url, move |sql| {
        let domain_read = sql.contains(r#"FROM "domains""#) && sql.contains("EXISTS");
        if !domain_read || signs_up.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let url = racer_url.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let other_instance = gatehouse_core::Store::open(&url).await.unwrap();
                let email = EmailAddress::parse("racer@acme.example").unwrap();
                other_instance
                    .insert_user_with_account(&email, "$argon2id$racer", "Racer's account", t0())
                    .await
                    .unwrap();
            });
        })
        .join()
        .unwrap();
    })
    .await
    .unwrap();
    let s = crate::sso_setup::setup_in(crate::support::TestWorld::with_store(store, dir), "").await;
    let racer = sign_in_as(&s, |spec| spec.name_id = "racer@acme.example".into()).await;
    assert!(signed_up.load(std::sync::atomic::Ordering::SeqCst));
    assert!(!racer.created && racer.taken_over, "{racer:#?}");
    let user = s.world.store.user_by_id(racer.user_id).await.unwrap().unwrap();
    assert_eq!(user.email, "racer@acme.example");
    assert!(user.password_hash.is_none(), "taken over for the IdP");
}

/// A newcomer's inserts store nothing, and say so, when a user with their email was stored after the domain's read
/// that found none: neither the replay record, a second user, a link, a session nor the event.
#[tokio::test]
async fn a_newcomers_inserts_store_nothing_once_their_email_is_taken() {
    use gatehouse_core::auth::EmailAddress;
    use gatehouse_core::ids::UserId;
    use gatehouse_core::saml::logout::IdpSession;
    use gatehouse_core::store::{InsertsStored, Newcomer, SignInInserts, SsoEventRow};
    let s = setup().await;
    let store = &s.world.store;
    let now = test_idp::now();
    let email = EmailAddress::parse("late@acme.example").unwrap();
    let other_name_id = "late-at-another-idp-user";
    let read = store
        .sign_in_domain(&email, s.connection, other_name_id)
        .await
        .unwrap()
        .unwrap();
    assert!(read.newcomer);
    assert!(
        sign_in_as(&s, |spec| spec.name_id = "late@acme.example".into())
            .await
            .created
    );
    let read = store
        .sign_in_domain(&email, s.connection, other_name_id)
        .await
        .unwrap()
        .unwrap();
    assert!(!read.newcomer, "the email is taken now");
    let events_before = store.sso_events(s.account, None, 50).await.unwrap().len();
    let inserts = SignInInserts {
        connection_id: s.connection,
        assertion_id: "_late".into(),
        assertion_kept_until: now + Duration::hours(1),
        session_token_hash: "late-session".into(),
        user_id: UserId::new(),
        idp_session: IdpSession {
            connection_id: s.connection,
            name_id: other_name_id.into(),
            name_id_format: None,
            session_index: None,
        },
        at: now,
        session_expires_at: now + Duration::hours(8),
        newcomer: Some(Newcomer {
            account_id: s.account,
            email,
            name_id: other_name_id.into(),
            role: Role::NoAccess,
            personal_account: Some("Late's account".into()),
        }),
    };
    let event = SsoEventRow {
        account_id: s.account,
        connection_id: Some(s.connection),
        at: now,
        outcome: "accepted".into(),
        reference: "late-reference".into(),
        reason: "signed in as late@acme.example".into(),
        name_id: Some(other_name_id.into()),
        attributes: String::new(),
        raw_response: None,
        cause: None,
        fix: None,
        refusal: None,
    };
    assert_eq!(
        store.store_sign_in_inserts(&inserts, &event, None).await.unwrap(),
        InsertsStored::Raced
    );
    assert!(!store.assertion_seen(s.connection, "_late").await.unwrap());
    assert_eq!(
        store.sso_events(s.account, None, 50).await.unwrap().len(),
        events_before
    );
    assert!(store.user_by_id(inserts.user_id).await.unwrap().is_none());
    let late = EmailAddress::parse("late@acme.example").unwrap();
    let still = store
        .sign_in_domain(&late, s.connection, other_name_id)
        .await
        .unwrap()
        .unwrap();
    assert!(still.linked.is_none(), "no link for the other NameID");
    // The writer goes on: the same inserts for an email nobody has are stored.
    let free = SignInInserts {
        assertion_id: "_free".into(),
        session_token_hash: "free-session".into(),
        newcomer: inserts.newcomer.map(|newcomer| Newcomer {
            email: EmailAddress::parse("free@acme.example").unwrap(),
            ..newcomer
        }),
        ..inserts
    };
    assert_eq!(
        store.store_sign_in_inserts(&free, &event, None).await.unwrap(),
        InsertsStored::Stored
    );
    assert!(store.user_by_id(free.user_id).await.unwrap().is_some());
}

/// An async worker never waits for another thread's xmlsec call: with the lock held elsewhere (a large message
/// being checked), the response is checked on the blocking pool while this runtime's one worker goes on with its
/// other tasks, here the one that tells the holder to let go.
#[tokio::test]
async fn a_response_arriving_while_another_thread_is_in_xmlsec_leaves_the_worker_free() {
    let s = setup().await;
    let now = test_idp::now();
    let started = s.sso.start(s.connection, None, now).await.unwrap();
    let answer = response(&s, Some(&started.request_id), |_| {});
    let (holding_tx, holding) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let _held = xmlsec::lock();
        holding_tx.send(()).unwrap();
        release_rx.recv_timeout(std::time::Duration::from_secs(5)).is_ok()
    });
    holding.recv().unwrap();
    let (outcome, ()) = tokio::join!(
        s.sso.acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            now,
        ),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            release.send(()).unwrap();
        }
    );
    assert!(
        holder.join().unwrap(),
        "let go when this worker's other task told it to, not at the holder's timeout"
    );
    signed_in(outcome.unwrap());
}

#[tokio::test]
async fn a_refusal_the_owner_can_fix_is_recorded_with_its_cause_and_the_fix_at_the_idp() {
    let s = setup().await;
    let sp = s.connections.service_provider_values(s.connection);
    let event_of = |reference: String| {
        let store = s.world.store.clone();
        let account = s.account;
        async move {
            store
                .sso_events(account, None, 10)
                .await
                .unwrap()
                .into_iter()
                .find(|e| e.reference == reference)
                .expect("the refusal's event")
        }
    };

    let refused = attempt(&s, |spec| spec.audience = Some("https://elsewhere.example".into()))
        .await
        .unwrap_err();
    assert_eq!(refused.user_hint, None, "the user can do nothing about an audience");
    let event = event_of(refused.reference.unwrap()).await;
    assert_eq!(event.cause.as_deref(), Some("audience"));
    let fix = event.fix.unwrap();
    assert!(fix.contains(&sp.entity_id) && fix.contains("entity ID"), "{fix}");
    // Test SSO shows the same fix beside the failed check.
    let report = test_run(&s, |spec| spec.audience = Some("https://elsewhere.example".into())).await;
    assert_eq!(report.fix.as_deref(), Some(fix.as_str()));

    // Entra ID's "user not assigned", as its error response carries it.
    let refused = attempt(&s, |spec| {
        spec.status = "urn:oasis:names:tc:SAML:2.0:status:Requester".into();
        spec.status_message = Some(
            "AADSTS50105: The signed in user 'ada@acme.example' is not assigned to a role for the application".into(),
        );
    })
    .await
    .unwrap_err();
    assert!(refused.user_hint.unwrap().contains("assign you"));
    let event = event_of(refused.reference.unwrap()).await;
    assert_eq!(event.cause.as_deref(), Some("user_not_assigned"));
    assert!(event.fix.unwrap().starts_with("Assign the user"));

    // Gatehouse's own rules need no change at the IdP.
    let replayed_id = "_replayed_once";
    sign_in_as(&s, |spec| spec.assertion_id = replayed_id.into()).await;
    let refused = attempt(&s, |spec| spec.assertion_id = replayed_id.into())
        .await
        .unwrap_err();
    assert_eq!(refused.refusal, Refusal::Replayed(replayed_id.into()));
    let event = event_of(refused.reference.unwrap()).await;
    assert_eq!((event.cause, event.fix), (None, None));
}
