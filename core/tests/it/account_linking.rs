//! Who may sign in whom: a claimed domain's IdP is authoritative for its users (no password sign-up there, a
//! pre-registered password user is taken over), the Owner is never taken over by an assertion, and a link is used
//! only while its user's domain is verified in the account and routed to the link's connection; the Owner links
//! their own identity deliberately.

use crate::sso_setup::{Setup, attempt, pre_registered, response_xml_for, set_sso, setup, sign_in_as};
use crate::sso_sign_in::test_run;
use crate::support::t0;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use gatehouse_core::auth::AuthError;
use gatehouse_core::sso::OptionsForm;
use gatehouse_core::sso::refusal::Refusal;
use gatehouse_core::sso::sign_in::{AcsOutcome, Refused, StartError};
use gatehouse_core::sso::test_sso::Check;
use gatehouse_core::tenancy::{Role, TenancyError};

const PASSWORD: &str = "correct horse battery";

#[tokio::test]
async fn a_pre_registered_password_user_is_taken_over_at_their_first_sso_sign_in() {
    let s = setup().await;
    let (alice, old_session) = pre_registered(&s, "alice@acme.example").await;
    assert!(
        s.world
            .auth
            .sign_in("alice@acme.example", PASSWORD, None, t0())
            .await
            .is_ok()
    );

    let signed_in = sign_in_as(&s, |spec| spec.name_id = "alice@acme.example".into()).await;
    assert_eq!(signed_in.user_id, alice.user_id, "the same user, not a second one");
    assert!(signed_in.taken_over && !signed_in.created);

    let user = s
        .world
        .store
        .user_by_email("alice@acme.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.password_hash, None, "the password is removed");
    assert_eq!(
        user.sso_account_id,
        Some(s.account),
        "now provisioned by this account's SSO"
    );
    assert!(
        user.email_proven,
        "the IdP vouches for the address its sign-up never proved"
    );
    assert!(
        s.world.auth.authenticate(&old_session, t0()).await.is_err(),
        "whoever held the password loses the session it opened"
    );
    assert!(matches!(
        s.world.auth.sign_in("alice@acme.example", PASSWORD, None, t0()).await,
        Err(AuthError::SsoRequired)
    ));
    assert!(
        s.world
            .auth
            .authenticate(&signed_in.session.token, test_idp::now())
            .await
            .is_ok(),
        "the sign-in itself goes on with a new session"
    );

    let said = "existing user alice@acme.example now signs in through Test IdP; their password was removed";
    let events = s.world.store.sso_events(s.account, None, 10).await.unwrap();
    assert_eq!(events[0].outcome, "accepted");
    assert_eq!(events[0].reason, format!("signed in as alice@acme.example: {said}"));
    let audit = s.world.audit().recent(&s.owner, s.account).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "Existing user taken over by SSO" && e.detail == said),
        "{audit:?}"
    );

    // Taken over once: the next sign-in uses the link and takes nothing more.
    let again = sign_in_as(&s, |spec| spec.name_id = "alice@acme.example".into()).await;
    assert_eq!(again.user_id, alice.user_id);
    assert!(!again.taken_over);
    assert!(
        s.world
            .auth
            .authenticate(&signed_in.session.token, test_idp::now())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn an_assertion_naming_the_owner_is_refused_and_the_owner_keeps_password_and_sessions() {
    let s = setup().await;
    let session = s
        .world
        .auth
        .sign_in("owner@acme.example", PASSWORD, None, t0())
        .await
        .unwrap();
    for _ in 0..2 {
        let refused = attempt(&s, |spec| spec.name_id = "owner@acme.example".into())
            .await
            .unwrap_err();
        assert_eq!(
            refused.refusal,
            Refusal::OwnerSignsInWithPassword("owner@acme.example".into()),
            "no link is made, so a second assertion is refused alike"
        );
    }
    let owner = s
        .world
        .store
        .user_by_email("owner@acme.example")
        .await
        .unwrap()
        .unwrap();
    assert!(owner.password_hash.is_some());
    assert_eq!(owner.sso_account_id, None);
    assert!(s.world.auth.authenticate(&session.token, t0()).await.is_ok());
    assert!(
        s.world
            .auth
            .sign_in("owner@acme.example", PASSWORD, None, t0())
            .await
            .is_ok()
    );
    let events = s.world.store.sso_events(s.account, None, 10).await.unwrap();
    assert!(events.iter().all(|e| e.outcome == "refused"), "{events:?}");
}

/// The Owner's link round trip through the account's connection, answered by the IdP as `adjust` says.
async fn link_as_owner(s: &Setup, adjust: impl FnOnce(&mut test_idp::Spec)) -> Result<AcsOutcome, Refused> {
    let now = test_idp::now();
    let started = s.sso.start_link(&s.owner, s.connection, None, now).await.unwrap();
    let answer = STANDARD.encode(response_xml_for(s, s.connection, Some(&started.request_id), adjust));
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
}

#[tokio::test]
async fn the_owner_links_their_own_idp_identity_deliberately_and_only_as_themselves() {
    let s = setup().await;
    // The IdP vouching for someone else in the Owner's round trip links nothing.
    let someone_else = link_as_owner(&s, |spec| spec.name_id = "eve@acme.example".into())
        .await
        .unwrap_err();
    assert_eq!(
        someone_else.refusal,
        Refusal::OtherIdentity {
            owner: "owner@acme.example".into(),
            asserted: "eve@acme.example".into()
        }
    );

    let linked = match link_as_owner(&s, |spec| spec.name_id = "owner@acme.example".into())
        .await
        .unwrap()
    {
        AcsOutcome::Linked(linked) => linked,
        other => panic!("not linked: {other:?}"),
    };
    assert_eq!(linked.email, "owner@acme.example");
    let audit = s.world.audit().recent(&s.owner, s.account).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "Owner linked their IdP identity" && e.actor_email == "owner@acme.example"),
        "{audit:?}"
    );

    // From now on the IdP signs the Owner in, and the password keeps working (break-glass).
    let signed_in = sign_in_as(&s, |spec| spec.name_id = "owner@acme.example".into()).await;
    assert_eq!(signed_in.user_id, s.owner.user_id);
    assert_eq!(signed_in.role, Role::Owner);
    assert!(!signed_in.taken_over);
    assert!(
        s.world
            .auth
            .sign_in("owner@acme.example", PASSWORD, None, t0())
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn test_sso_says_what_a_sign_in_would_do_to_the_owner_and_to_a_password_user() {
    let s = setup().await;
    let as_owner = |spec: &mut test_idp::Spec| spec.name_id = "owner@acme.example".into();
    let unlinked = test_run(&s, as_owner).await;
    assert_eq!(
        unlinked.first_failure(),
        Some((
            Check::User,
            &Refusal::OwnerSignsInWithPassword("owner@acme.example".into())
        ))
    );

    pre_registered(&s, "carol@acme.example").await;
    let carol = test_run(&s, |spec| spec.name_id = "carol@acme.example".into()).await;
    assert!(carol.passed() && carol.takes_over, "{:?}", carol.checks);
    let dan = test_run(&s, |spec| spec.name_id = "dan@acme.example".into()).await;
    assert!(dan.passed() && !dan.takes_over, "a new user is no takeover");

    assert!(matches!(link_as_owner(&s, as_owner).await, Ok(AcsOutcome::Linked(_))));
    assert!(test_run(&s, as_owner).await.passed(), "linked, the Owner signs in");
}

#[tokio::test]
async fn only_the_owner_starts_a_link_and_only_through_the_connection_of_their_domain() {
    let s = setup().await;
    let admin = crate::trust::outside_admin(&s).await;
    assert!(matches!(
        s.sso.start_link(&admin, s.connection, None, test_idp::now()).await,
        Err(StartError::Tenancy(TenancyError::Forbidden { .. }))
    ));
    let elsewhere = crate::trust::outside_connection(&s).await;
    let refused = s.sso.start_link(&s.owner, elsewhere, None, test_idp::now()).await;
    assert!(
        matches!(&refused, Err(StartError::OwnDomainNotRouted(domain)) if domain == "acme.example"),
        "{refused:?}"
    );

    // A link round trip's request never signs anyone in as an ordinary sign-in: its answer only links.
    let now = test_idp::now();
    let started = s.sso.start_link(&s.owner, s.connection, None, now).await.unwrap();
    let answer = STANDARD.encode(response_xml_for(&s, s.connection, Some(&started.request_id), |spec| {
        spec.name_id = "owner@acme.example".into();
    }));
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
    assert!(matches!(outcome, Ok(AcsOutcome::Linked(_))), "{outcome:?}");
}

#[tokio::test]
async fn password_sign_up_at_a_claimed_domain_is_refused_and_works_elsewhere() {
    let s = setup().await;
    for email in ["newbie@acme.example", "newbie@ACME.Example"] {
        let refused = s.world.auth.sign_up(email, PASSWORD, None, t0()).await.unwrap_err();
        assert!(matches!(refused, AuthError::DomainClaimed { .. }), "{refused:?}");
        assert_eq!(
            refused.to_string(),
            "acme.example signs in through its organisation's identity provider: use Sign in with just your email."
        );
    }
    assert!(
        s.world
            .auth
            .sign_up("newbie@else.example", PASSWORD, None, t0())
            .await
            .is_ok()
    );

    // Routed to password sign-in, the domain is not claimed.
    let acme = s.world.store.domains_of_account(s.account).await.unwrap().remove(0);
    s.domains.route(&s.owner, s.account, acme.id, None, t0()).await.unwrap();
    assert!(
        s.world
            .auth
            .sign_up("routed@acme.example", PASSWORD, None, t0())
            .await
            .is_ok()
    );
    s.domains
        .route(&s.owner, s.account, acme.id, Some(s.connection), t0())
        .await
        .unwrap();
    // With SSO off, neither.
    set_sso(&s, false).await;
    assert!(
        s.world
            .auth
            .sign_up("early@acme.example", PASSWORD, None, t0())
            .await
            .is_ok()
    );
    set_sso(&s, true).await;
    assert!(
        s.world
            .auth
            .sign_up("late@acme.example", PASSWORD, None, t0())
            .await
            .is_err()
    );
}

/// Takes the user's email from the `mail` attribute, so the NameID (the link's key) and the email can differ.
async fn email_from_mail_attribute(s: &Setup) {
    s.connections
        .save_options(
            &s.owner,
            s.account,
            s.connection,
            &OptionsForm {
                allow_idp_initiated: false,
                sign_authn_requests: true,
                binding: "redirect",
                authn_context: "none",
                email_source: "attribute",
                email_attribute: "mail",
                allow_sha1: false,
                clock_skew_seconds: "180",
            },
            t0(),
        )
        .await
        .unwrap();
}

/// The session `token` (opened through a link) has ended, and the audit log says the links ended with the words
/// `detail` begins with.
async fn assert_links_ended(s: &Setup, token: &str, detail: &str) {
    assert!(
        s.world.auth.authenticate(token, test_idp::now()).await.is_err(),
        "the session opened through the link ends with it"
    );
    let audit = s.world.audit().recent(&s.owner, s.account).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "SSO links ended with their domain" && e.detail.starts_with(detail)),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_link_ends_when_its_users_domain_is_routed_away_from_its_connection() {
    let s = setup().await;
    email_from_mail_attribute(&s).await;
    let as_dan = |mail: &'static str| {
        move |spec: &mut test_idp::Spec| {
            spec.name_id = "idp-user-4711".into();
            spec.attributes = vec![("mail".into(), vec![mail.into()])];
        }
    };
    let dan = sign_in_as(&s, as_dan("dan@acme.example")).await;
    assert!(dan.created);

    // A second domain of the account, verified and routed to the same connection.
    let beta = s.domains.add(&s.owner, s.account, "beta.example", t0()).await.unwrap();
    s.dns.set_txt("beta.example", &[&[&beta.record_value]]).await;
    s.domains.verify(&s.owner, s.account, beta.id, t0()).await.unwrap();
    s.domains
        .route(&s.owner, s.account, beta.id, Some(s.connection), t0())
        .await
        .unwrap();
    let same_link = sign_in_as(&s, as_dan("dan@beta.example")).await;
    assert_eq!(
        same_link.user_id, dan.user_id,
        "linked by the NameID while dan's own domain is routed here"
    );

    // acme.example goes to password sign-in: the link and the sessions opened through it end with the route.
    let acme = s
        .world
        .store
        .domains_of_account(s.account)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.name.as_str() == "acme.example")
        .unwrap();
    s.domains.route(&s.owner, s.account, acme.id, None, t0()).await.unwrap();
    assert_links_ended(
        &s,
        &same_link.session.token,
        "acme.example was routed to password sign-in: 1 link(s)",
    )
    .await;
    // Whatever email the IdP now asserts, the NameID no longer leads to dan: beta.example's address is its own user.
    let other = sign_in_as(&s, as_dan("dan@beta.example")).await;
    assert_ne!(other.user_id, dan.user_id);

    // Routed back, the IdP signs dan in by his address again (the NameID is now linked to the beta user).
    s.domains
        .route(&s.owner, s.account, acme.id, Some(s.connection), t0())
        .await
        .unwrap();
    let back = sign_in_as(&s, |spec: &mut test_idp::Spec| {
        spec.name_id = "idp-user-0815".into();
        spec.attributes = vec![("mail".into(), vec!["dan@acme.example".into()])];
    })
    .await;
    assert_eq!(back.user_id, dan.user_id);
}

#[tokio::test]
async fn routing_a_domain_to_another_connection_ends_its_users_links_to_the_old_one() {
    let s = setup().await;
    let dan = sign_in_as(&s, |spec| spec.name_id = "dan@acme.example".into()).await;
    let second = crate::trust::outside_connection(&s).await;
    let acme = s.world.store.domains_of_account(s.account).await.unwrap().remove(0);
    s.domains
        .route(&s.owner, s.account, acme.id, Some(second), t0())
        .await
        .unwrap();
    assert_links_ended(
        &s,
        &dan.session.token,
        "acme.example was routed to another connection: 1 link(s)",
    )
    .await;
    // Routing it to where it already goes ends nothing.
    s.domains
        .route(&s.owner, s.account, acme.id, Some(second), t0())
        .await
        .unwrap();
    let audit_after = s.world.audit().recent(&s.owner, s.account).await.unwrap();
    assert_eq!(
        audit_after
            .iter()
            .filter(|e| e.action == "SSO links ended with their domain")
            .count(),
        1
    );
}

#[tokio::test]
async fn removing_a_domain_ends_its_users_links_and_the_sessions_opened_through_them() {
    let s = setup().await;
    let dan = sign_in_as(&s, |spec| spec.name_id = "dan@acme.example".into()).await;
    let owner_session = s
        .world
        .auth
        .sign_in("owner@acme.example", PASSWORD, None, t0())
        .await
        .unwrap();
    let acme = s.world.store.domains_of_account(s.account).await.unwrap().remove(0);
    s.domains.remove(&s.owner, s.account, acme.id, t0()).await.unwrap();

    assert_links_ended(&s, &dan.session.token, "acme.example was removed: 1 link(s)").await;
    assert!(
        s.world.auth.authenticate(&owner_session.token, t0()).await.is_ok(),
        "a password session is not opened through a link"
    );

    // Verified and routed again, the IdP links Dan afresh (the user stays, without a password to take over).
    let again = s.domains.add(&s.owner, s.account, "acme.example", t0()).await.unwrap();
    s.dns.set_txt("acme.example", &[&[&again.record_value]]).await;
    s.domains.verify(&s.owner, s.account, again.id, t0()).await.unwrap();
    s.domains
        .route(&s.owner, s.account, again.id, Some(s.connection), t0())
        .await
        .unwrap();
    let relinked = sign_in_as(&s, |spec| spec.name_id = "dan@acme.example".into()).await;
    assert_eq!(relinked.user_id, dan.user_id);
    assert!(!relinked.created && !relinked.taken_over);
}

#[tokio::test]
async fn a_domain_failing_after_its_grace_period_ends_its_users_links() {
    let s = setup().await;
    let dan = sign_in_as(&s, |spec| spec.name_id = "dan@acme.example".into()).await;
    let acme = s.world.store.domains_of_account(s.account).await.unwrap().remove(0);
    s.dns.set_txt("acme.example", &[&["something else"]]).await;
    let mut at = acme.state.next_check_at.unwrap();
    for _ in 0..500 {
        s.domains.recheck_due(at).await.unwrap();
        let current = s.world.store.domains_of_account(s.account).await.unwrap().remove(0);
        let still_counts = current.state.status.counts_as_verified();
        assert_eq!(
            s.world
                .auth
                .authenticate(&dan.session.token, test_idp::now())
                .await
                .is_ok(),
            still_counts,
            "the link's session lasts exactly as long as the domain counts as verified"
        );
        match current.state.next_check_at {
            Some(next) => at = next,
            None => break,
        }
    }
    let audit = s.world.audit().recent(&s.owner, s.account).await.unwrap();
    assert!(
        audit.iter().any(|e| e.action == "SSO links ended with their domain"
            && e.detail
                .starts_with("acme.example no longer counts as verified: 1 link(s)")),
        "{audit:?}"
    );
}
