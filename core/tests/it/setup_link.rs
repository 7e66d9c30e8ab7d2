//! Setup links: the Owner lets someone without a Gatehouse account do the account's SSO set-up. The link's secret
//! is shown once and stored as a digest; its holder adds and verifies domains, connects an IdP and runs Test SSO in
//! that account, is refused everything else (other accounts, members, the policy, the account, anything of a
//! user's own), is named with the link in the audit log, and ends with the link's expiry or revocation.

use crate::sso_setup::{Setup, report, response, setup, setup_in};
use crate::support::{TestWorld, fixture, fresh_database, t0, upload};
use chrono::Duration;
use gatehouse_core::audit::AuditError;
use gatehouse_core::mail::{MailOutcome, Mailer};
use gatehouse_core::setup_link::{LinkStatus, SetupLinkError, SetupLinkService};
use gatehouse_core::sso::sign_in::StartError;
use gatehouse_core::sso::{ConnectionError, MappingForm, PolicyError, SsoPolicy};
use gatehouse_core::tenancy::{MemberQuery, Role, TenancyError};
use gatehouse_core::{AuthError, Caller, DomainError, Store};
use sea_orm::{ConnectionTrait, Database, Statement};
use test_smtp::SmtpSink;
use url::Url;

const OWNER: &str = "owner@acme.example";
const LINK_NAME: &str = "Acme IT";

fn links(s: &Setup, mailer: Option<Mailer>) -> SetupLinkService {
    SetupLinkService::new(
        s.world.store.clone(),
        s.world.tenancy.clone(),
        Url::parse("https://sso.example.com/").unwrap(),
        mailer,
    )
}

fn secret(url: &str) -> &str {
    url.strip_prefix("https://sso.example.com/setup/")
        .expect("a setup link")
}

/// A link the Owner created (for 7 days), opened by its holder: their caller, and the link's secret.
async fn holder(s: &Setup, links: &SetupLinkService) -> (Caller, String) {
    let created = links.create(&s.owner, s.account, LINK_NAME, 7, t0()).await.unwrap();
    let secret = secret(&created.url).to_owned();
    let session = links.start(&secret, t0()).await.unwrap();
    let caller = s.world.auth.authenticate(&session.token, t0()).await.unwrap();
    (caller, secret)
}

fn link_only<T: std::fmt::Debug>(result: Result<T, TenancyError>) {
    assert!(matches!(result, Err(TenancyError::SetupLinkOnly)), "{result:?}");
}

#[tokio::test]
async fn the_link_is_shown_once_and_only_its_digest_is_stored() {
    let (url, dir) = fresh_database().await;
    let s = setup_in(TestWorld::with_store(Store::open(&url).await.unwrap(), dir), "").await;
    let links = links(&s, None);
    let created = links.create(&s.owner, s.account, LINK_NAME, 7, t0()).await.unwrap();
    let secret = secret(&created.url);
    assert_eq!(secret.len(), 43, "256 random bits");
    assert_eq!(created.link.expires_at, t0() + Duration::days(7));
    assert_eq!(created.link.created_by_email, OWNER);

    let db = Database::connect(url.as_str()).await.unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT token_hash, name FROM setup_links",
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("", "token_hash").unwrap();
    assert_eq!(stored, gatehouse_core::token::digest(secret));
    assert_ne!(stored, secret);

    // The list never carries a secret: only what the Owner reads.
    let listed = links.list(&s.owner, s.account, t0()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, LINK_NAME);
    assert!(!format!("{listed:?}").contains(secret));

    // The lifetime is one the form offers; the name is needed.
    for days in [0, 2, 31, 365] {
        assert!(matches!(
            links.create(&s.owner, s.account, "x", days, t0()).await,
            Err(SetupLinkError::InvalidLifetime)
        ));
    }
    assert!(matches!(
        links.create(&s.owner, s.account, "  ", 7, t0()).await,
        Err(SetupLinkError::InvalidName)
    ));
    // A made-up or altered secret opens nothing. The first character is the one changed: the last of 43 Base64
    // characters carries four bits, so it is 'A' one time in sixteen, and replacing it with 'A' changed nothing.
    let first = if secret.starts_with('A') { 'B' } else { 'A' };
    let altered = format!("{first}{}", &secret[1..]);
    assert_ne!(altered, secret);
    assert!(matches!(
        links.preview(&altered, t0()).await,
        Err(SetupLinkError::NotFound)
    ));
    assert!(matches!(
        links.start(&altered, t0()).await,
        Err(SetupLinkError::NotFound)
    ));
}

#[tokio::test]
async fn only_the_owner_creates_lists_and_revokes_links() {
    let s = setup().await;
    let links = links(&s, None);
    let admin = s
        .world
        .join(&s.owner, s.account, "admin@partner.example", Role::Admin)
        .await;
    let viewer = s
        .world
        .join(&s.owner, s.account, "viewer@partner.example", Role::Viewer)
        .await;
    let (stranger, _) = s.world.user("stranger@else.example").await;
    let created = links.create(&s.owner, s.account, LINK_NAME, 7, t0()).await.unwrap();

    // An Admin may not widen trust, so may not hand the power to do so to anyone through a link.
    for (caller, role) in [(&admin, Role::Admin), (&viewer, Role::Viewer)] {
        let forbidden =
            |e: SetupLinkError| matches!(e, SetupLinkError::Tenancy(TenancyError::Forbidden { role: r }) if r == role);
        assert!(forbidden(
            links.create(caller, s.account, "Mine", 30, t0()).await.unwrap_err()
        ));
        assert!(forbidden(links.list(caller, s.account, t0()).await.unwrap_err()));
        assert!(forbidden(
            links
                .revoke(caller, s.account, created.link.id, t0())
                .await
                .unwrap_err()
        ));
    }
    assert!(matches!(
        links.create(&stranger, s.account, "Mine", 7, t0()).await,
        Err(SetupLinkError::Tenancy(TenancyError::AccountNotFound))
    ));
    // Nor does a link's holder make more links, list or revoke them.
    let (held, _) = holder(&s, &links).await;
    for result in [
        links.create(&held, s.account, "Another", 30, t0()).await.map(drop),
        links.list(&held, s.account, t0()).await.map(drop),
        links.revoke(&held, s.account, created.link.id, t0()).await,
    ] {
        assert!(
            matches!(result, Err(SetupLinkError::Tenancy(TenancyError::SetupLinkOnly))),
            "{result:?}"
        );
    }
    links.revoke(&s.owner, s.account, created.link.id, t0()).await.unwrap();
    let listed = links.list(&s.owner, s.account, t0()).await.unwrap();
    assert_eq!(listed.iter().filter(|l| l.status == LinkStatus::Revoked).count(), 1);
}

#[tokio::test]
async fn the_holder_adds_and_verifies_a_domain_connects_an_idp_and_runs_test_sso_named_in_the_audit_log() {
    let s = setup().await;
    let links = links(&s, None);
    let (held, _) = holder(&s, &links).await;
    assert!(held.setup_link.is_some());
    assert_ne!(held.user_id, s.owner.user_id, "the holder never acts as the Owner");

    let domain = s
        .domains
        .add(&held, s.account, "acme-corp.example", t0())
        .await
        .unwrap();
    s.dns.set_txt("acme-corp.example", &[&[&domain.record_value]]).await;
    let verified = s.domains.verify(&held, s.account, domain.id, t0()).await.unwrap();
    assert!(verified.state.status.counts_as_verified(), "{:?}", verified.state);
    assert_eq!(s.domains.list(&held, s.account).await.unwrap().len(), 2);

    let okta = fixture("okta.metadata.xml");
    let added = s
        .connections
        .import_metadata(&held, s.account, &upload("Okta", &okta, ""), None, t0())
        .await
        .unwrap();
    assert_eq!(s.connections.list(&held, s.account).await.unwrap().len(), 2);
    s.domains
        .route(&held, s.account, domain.id, Some(added.id), t0())
        .await
        .unwrap();

    let now = test_idp::now();
    let started = s.sso.start_test(&held, s.connection, None, now).await.unwrap();
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

    let via = format!("via setup link {LINK_NAME} created by {OWNER}");
    let audit = s.world.audit().recent(&s.owner, s.account).await.unwrap();
    for action in [
        "Setup link opened",
        "Domain added",
        "Connection added",
        "Domain routed",
        "Test SSO started",
    ] {
        assert!(
            audit.iter().any(|e| e.action == action && e.actor_email == via),
            "{action} via the link in {audit:#?}"
        );
    }
    assert!(
        audit
            .iter()
            .any(|e| e.action == "Setup link created" && e.actor_email == OWNER)
    );
}

#[tokio::test]
async fn the_holder_is_refused_other_accounts_members_the_policy_the_account_and_everything_of_a_users_own() {
    let s = setup().await;
    let links = links(&s, None);
    let (held, _) = holder(&s, &links).await;
    let tenancy = &s.world.tenancy;
    let admin = s
        .world
        .join(&s.owner, s.account, "admin@partner.example", Role::Admin)
        .await;

    // Another account: as if it did not exist.
    let (_, elsewhere) = s.world.user("owner@else.example").await;
    assert!(matches!(
        s.domains.list(&held, elsewhere).await,
        Err(DomainError::Tenancy(TenancyError::AccountNotFound))
    ));
    assert!(matches!(
        s.domains.add(&held, elsewhere, "else.example", t0()).await,
        Err(DomainError::Tenancy(TenancyError::AccountNotFound))
    ));
    assert!(matches!(
        s.connections
            .import_metadata(
                &held,
                elsewhere,
                &upload("Okta", &fixture("okta.metadata.xml"), ""),
                None,
                t0()
            )
            .await,
        Err(ConnectionError::Tenancy(TenancyError::AccountNotFound))
    ));

    // Members, invitations and roles.
    link_only(tenancy.members(&held, s.account).await);
    let query = MemberQuery {
        search: "",
        after: None,
        per_page: 10,
    };
    link_only(tenancy.member_page(&held, s.account, &query).await);
    link_only(tenancy.pending_invitations(&held, s.account, t0()).await);
    link_only(
        tenancy
            .invite(&held, s.account, "friend@partner.example", Role::Admin, t0())
            .await,
    );
    link_only(tenancy.change_role(&held, s.account, admin.user_id, Role::Viewer).await);
    link_only(tenancy.remove_member(&held, s.account, admin.user_id).await);
    // The account itself.
    link_only(tenancy.membership(&held, s.account).await);
    link_only(tenancy.rename_account(&held, s.account, "Taken").await);
    link_only(tenancy.transfer_ownership(&held, s.account, admin.user_id).await);
    // The sign-in policy: turning SSO off or on, enforcing it; reading it, and the audit log.
    let policy = s.world.policy();
    for wanted in [
        SsoPolicy::default(),
        SsoPolicy {
            sso_enabled: true,
            enforce_sso: true,
            no_separate_account: true,
        },
    ] {
        assert!(matches!(
            policy.update(&held, s.account, wanted, t0()).await,
            Err(PolicyError::Tenancy(TenancyError::SetupLinkOnly))
        ));
    }
    assert!(matches!(
        policy.get(&held, s.account).await,
        Err(PolicyError::Tenancy(TenancyError::SetupLinkOnly))
    ));
    assert!(matches!(
        s.world.audit().recent(&held, s.account).await,
        Err(AuditError::Tenancy(TenancyError::SetupLinkOnly))
    ));
    // Looking after connections beyond trust (role mappings, removal) stays with the account's members.
    let form = MappingForm {
        rows: &[],
        default_role: "admin",
        reapply_on_sign_in: false,
    };
    assert!(matches!(
        s.connections
            .save_role_mappings(&held, s.account, s.connection, &form, t0())
            .await,
        Err(ConnectionError::Tenancy(TenancyError::SetupLinkOnly))
    ));
    assert!(matches!(
        s.connections.remove(&held, s.account, s.connection, t0()).await,
        Err(ConnectionError::Tenancy(TenancyError::SetupLinkOnly))
    ));
    // Anything of a user's own: their accounts, invitations, their address, linking their sign-in to the IdP.
    link_only(tenancy.accounts_of(&held).await);
    let invitation = tenancy
        .invite(&s.owner, s.account, "new@partner.example", Role::Admin, t0())
        .await
        .unwrap();
    let invitation_secret = invitation.link.rsplit('/').next().unwrap();
    link_only(tenancy.accept_invitation(&held, invitation_secret, t0()).await);
    assert!(matches!(
        s.world.auth.resend_email_proof(&held, t0()).await,
        Err(AuthError::SetupLinkOnly)
    ));
    assert!(matches!(
        s.world.auth.email_proof_status(&held).await,
        Err(AuthError::SetupLinkOnly)
    ));
    assert!(matches!(
        s.sso.start_link(&held, s.connection, None, test_idp::now()).await,
        Err(StartError::Tenancy(TenancyError::SetupLinkOnly))
    ));
    // And what was refused changed nothing.
    assert_eq!(tenancy.members(&s.owner, s.account).await.unwrap().len(), 2);
    assert!(policy.get(&s.owner, s.account).await.unwrap().0.sso_enabled);
}

#[tokio::test]
async fn revocation_expiry_and_a_new_owner_end_the_links_sessions_at_once() {
    let s = setup().await;
    let links = links(&s, None);
    let auth = &s.world.auth;

    // Revoked: the open session ends at its next request, and the link opens nothing more.
    let created = links.create(&s.owner, s.account, LINK_NAME, 1, t0()).await.unwrap();
    let revoked_secret = secret(&created.url).to_owned();
    let session = links.start(&revoked_secret, t0()).await.unwrap();
    assert!(auth.authenticate(&session.token, t0()).await.is_ok());
    links.revoke(&s.owner, s.account, created.link.id, t0()).await.unwrap();
    assert!(matches!(
        auth.authenticate(&session.token, t0()).await,
        Err(AuthError::NotSignedIn)
    ));
    assert!(matches!(
        links.preview(&revoked_secret, t0()).await,
        Err(SetupLinkError::Revoked)
    ));
    assert!(matches!(
        links.start(&revoked_secret, t0()).await,
        Err(SetupLinkError::Revoked)
    ));

    // Expired: a session never outlives its link.
    let created = links.create(&s.owner, s.account, LINK_NAME, 1, t0()).await.unwrap();
    let expiring = secret(&created.url).to_owned();
    let late = t0() + Duration::days(1) - Duration::hours(1);
    let session = links.start(&expiring, late).await.unwrap();
    assert_eq!(
        session.expires_at,
        t0() + Duration::days(1),
        "not past the link's expiry"
    );
    assert!(auth.authenticate(&session.token, late).await.is_ok());
    let after = t0() + Duration::days(1);
    assert!(matches!(
        auth.authenticate(&session.token, after).await,
        Err(AuthError::NotSignedIn)
    ));
    assert!(matches!(
        links.start(&expiring, after).await,
        Err(SetupLinkError::Expired)
    ));
    let listed = links.list(&s.owner, s.account, after).await.unwrap();
    let expired = listed.iter().find(|l| l.id == created.link.id).unwrap();
    assert_eq!(expired.status, LinkStatus::Expired);

    // The Owner who created a link hands ownership on: they no longer vouch for it.
    let created = links.create(&s.owner, s.account, LINK_NAME, 30, t0()).await.unwrap();
    let orphaned = secret(&created.url).to_owned();
    let session = links.start(&orphaned, t0()).await.unwrap();
    let heir = s
        .world
        .join(&s.owner, s.account, "heir@partner.example", Role::Admin)
        .await;
    s.world
        .tenancy
        .transfer_ownership(&s.owner, s.account, heir.user_id)
        .await
        .unwrap();
    assert!(matches!(
        auth.authenticate(&session.token, t0()).await,
        Err(AuthError::NotSignedIn)
    ));
    assert!(matches!(
        links.start(&orphaned, t0()).await,
        Err(SetupLinkError::NotFound)
    ));

    // Signing out ends the session too.
    let created = links.create(&heir, s.account, LINK_NAME, 7, t0()).await.unwrap();
    let session = links.start(secret(&created.url), t0()).await.unwrap();
    auth.sign_out(&session.token).await.unwrap();
    assert!(matches!(
        auth.authenticate(&session.token, t0()).await,
        Err(AuthError::NotSignedIn)
    ));
}

#[tokio::test]
async fn i_am_done_tells_the_owner_once_in_the_audit_log_and_by_mail() {
    let sink = SmtpSink::start();
    let s = setup().await;
    let mailer = Mailer::new(&sink.url(), "Gatehouse <no-reply@gatehouse.test>").unwrap();
    let links = links(&s, Some(mailer));
    let (held, _) = holder(&s, &links).await;

    // Only a link's holder says they are done.
    assert!(matches!(
        links.finish(&s.owner, t0()).await,
        Err(SetupLinkError::Tenancy(TenancyError::AccountNotFound))
    ));
    let later = t0() + Duration::hours(2);
    assert_eq!(links.finish(&held, later).await.unwrap(), Some(MailOutcome::Sent));
    assert_eq!(links.finish(&held, later).await.unwrap(), None, "told once");

    let review = sink.take_link(OWNER, "https://sso.example.com/accounts/");
    assert_eq!(review, format!("https://sso.example.com/accounts/{}/sso", s.account));
    assert!(sink.messages().is_empty(), "one message");
    let audit = s.world.audit().recent(&s.owner, s.account).await.unwrap();
    let finished: Vec<_> = audit.iter().filter(|e| e.action == "SSO set-up finished").collect();
    assert_eq!(finished.len(), 1);
    assert_eq!(
        finished[0].actor_email,
        format!("via setup link {LINK_NAME} created by {OWNER}")
    );
    let listed = links.list(&s.owner, s.account, later).await.unwrap();
    assert_eq!(listed[0].finished_at, Some(later));
    let progress = links.progress(&held).await.unwrap();
    assert_eq!(progress.finished_at, Some(later));
    assert_eq!(progress.owner_email, OWNER);
}
