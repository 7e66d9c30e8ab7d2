//! Proof of the email address: sign-up mails a single-use link (through a real SMTP server); until it is followed
//! the user can open no account and accept no invitation; links expire, are replaced by newer ones, and cannot be
//! asked for more than once a minute; users who never proved their address are asked once at their next sign-in,
//! except those their organisation's IdP created, who count as proven.

use crate::sso_setup::{setup_in, sign_in_as};
use crate::support::{TestWorld, fresh_database, t0};
use chrono::Duration;
use gatehouse_core::auth::email_proof::{LINKS_PER_DAY, PROOF_LIFETIME, RESEND_AFTER};
use gatehouse_core::auth::{ProofDelivery, ProofMail};
use gatehouse_core::mail::{MailOutcome, Mailer};
use gatehouse_core::store::Migrator;
use gatehouse_core::tenancy::{Role, TenancyError};
use gatehouse_core::{AuthError, AuthService, Caller, SessionPolicy, Store};
use gatehouse_migrations::MigratorTrait;
use sea_orm::Database;
use test_smtp::SmtpSink;

const PASSWORD: &str = "correct horse battery";
const LINKS: &str = "https://sso.example.com/confirm-email/";

/// The world's services, with links going out through `sink`.
fn mailing_auth(world: &TestWorld, sink: &SmtpSink) -> AuthService {
    let mailer = Mailer::new(&sink.url(), "Gatehouse <no-reply@gatehouse.test>").unwrap();
    AuthService::new(
        world.store.clone(),
        SessionPolicy::default(),
        Default::default(),
        ProofMail::new("https://sso.example.com/".parse().unwrap(), Some(mailer), false),
    )
}

fn secret(link: &str) -> &str {
    link.strip_prefix(LINKS).expect("a proof link")
}

async fn signed_up(auth: &AuthService, email: &str, return_to: Option<&str>) -> Caller {
    let signed_up = auth.sign_up(email, PASSWORD, return_to, t0()).await.unwrap();
    auth.authenticate(&signed_up.session.token, t0()).await.unwrap()
}

/// Everything logged while the returned guard lives, on this thread.
fn captured_log() -> (
    std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    tracing::subscriber::DefaultGuard,
) {
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || CapturedWriter(writer.clone()))
        .finish();
    (log, tracing::subscriber::set_default(subscriber))
}

struct CapturedWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn without_a_relay_only_development_writes_proof_links_to_the_log_and_the_user_is_told_which() {
    let world = TestWorld::new().await;
    for (in_development, delivery) in [(false, ProofDelivery::Nowhere), (true, ProofDelivery::ServerLog)] {
        let auth = AuthService::new(
            world.store.clone(),
            SessionPolicy::default(),
            Default::default(),
            ProofMail::new("https://sso.example.com/".parse().unwrap(), None, in_development),
        );
        let (log, guard) = captured_log();
        let email = format!("newcomer-{in_development}@example.com");
        let caller = signed_up(&auth, &email, None).await;
        let status = auth.email_proof_status(&caller).await.unwrap();
        assert_eq!((status.proven, status.delivery), (false, delivery));
        assert_eq!(
            status.sent_at,
            Some(t0()),
            "a link is outstanding, whether logged or not"
        );
        assert_eq!(
            auth.resend_email_proof(&caller, t0() + RESEND_AFTER).await.unwrap(),
            MailOutcome::NotConfigured
        );
        drop(guard);
        let log = String::from_utf8(log.lock().unwrap().clone()).unwrap();
        // A deployment's log is read by operators and log pipelines, never only by the address's owner.
        assert_eq!(log.matches(LINKS).count(), if in_development { 2 } else { 0 }, "{log}");
        assert!(log.contains(&email), "the log says whose link it was: {log}");
    }
}

#[tokio::test]
async fn sign_up_mails_a_single_use_link_and_until_it_is_followed_nothing_opens() {
    let sink = SmtpSink::start();
    let world = TestWorld::new().await;
    let auth = mailing_auth(&world, &sink);
    let (owner, team) = world.user("owner@acme.example").await;
    let invitation = world
        .tenancy
        .invite(&owner, team, "Dana@Acme.example", Role::Viewer, t0())
        .await
        .unwrap();

    let dana = signed_up(&auth, "Dana@Acme.example", Some("/invitations/x")).await;
    assert!(!dana.email_proven);
    let message = sink.messages().pop().expect("one mail");
    assert!(
        message.contains("Subject: Confirm your email address for Gatehouse"),
        "{message}"
    );
    let link = sink.take_link("Dana@Acme.example", LINKS);

    // Nothing but the proof: not their own new account, not the invitation.
    let own_account = world.store.accounts_of_user(dana.user_id).await.unwrap()[0].id;
    assert!(matches!(
        world.tenancy.membership(&dana, own_account).await,
        Err(TenancyError::EmailUnproven { .. })
    ));
    let invitation_secret = invitation.link.rsplit('/').next().unwrap();
    assert!(matches!(
        world.tenancy.accept_invitation(&dana, invitation_secret, t0()).await,
        Err(TenancyError::EmailUnproven { .. })
    ));

    // The link's page names the address; following it proves it once and leads where the user was going.
    assert_eq!(
        auth.preview_email_proof(secret(&link), t0()).await.unwrap(),
        "Dana@acme.example"
    );
    let proven = auth.prove_email(secret(&link), t0()).await.unwrap();
    assert_eq!(proven.user_id, dana.user_id);
    assert_eq!(proven.return_to.as_deref(), Some("/invitations/x"));
    assert!(matches!(
        auth.prove_email(secret(&link), t0()).await,
        Err(AuthError::ProofNotFound)
    ));

    let signed_in = auth.sign_in("dana@acme.example", PASSWORD, None, t0()).await.unwrap();
    let dana = auth.authenticate(&signed_in.token, t0()).await.unwrap();
    assert!(dana.email_proven);
    assert!(world.tenancy.membership(&dana, own_account).await.is_ok());
    assert!(
        world
            .tenancy
            .accept_invitation(&dana, invitation_secret, t0())
            .await
            .is_ok()
    );
    assert!(
        sink.messages().is_empty(),
        "a proven user's sign-in sends nothing: {:?}",
        sink.messages()
    );
}

#[tokio::test]
async fn links_expire_newer_ones_replace_older_ones_and_asking_again_waits_a_minute() {
    let sink = SmtpSink::start();
    let world = TestWorld::new().await;
    let auth = mailing_auth(&world, &sink);
    let eve = signed_up(&auth, "eve@acme.example", None).await;
    let first = sink.take_link("eve@acme.example", LINKS);

    let soon = t0() + RESEND_AFTER - Duration::seconds(1);
    assert!(matches!(
        auth.resend_email_proof(&eve, soon).await,
        Err(AuthError::ProofRecentlySent { retry_after_seconds: 1 })
    ));
    let later = t0() + RESEND_AFTER;
    assert_eq!(auth.resend_email_proof(&eve, later).await.unwrap(), MailOutcome::Sent);
    let second = sink.take_link("eve@acme.example", LINKS);
    assert_ne!(first, second);
    assert!(matches!(
        auth.preview_email_proof(secret(&first), later).await,
        Err(AuthError::ProofNotFound)
    ));
    let expired = later + PROOF_LIFETIME;
    assert!(matches!(
        auth.prove_email(secret(&second), expired).await,
        Err(AuthError::ProofExpired)
    ));
    assert_eq!(auth.remove_expired(expired).await.unwrap().email_proofs, 1);

    // A proven user asks for nothing more.
    let third = {
        auth.resend_email_proof(&eve, expired).await.unwrap();
        sink.take_link("eve@acme.example", LINKS)
    };
    auth.prove_email(secret(&third), expired).await.unwrap();
    let eve = Caller {
        email_proven: true,
        ..eve
    };
    assert!(matches!(
        auth.resend_email_proof(&eve, expired + RESEND_AFTER).await,
        Err(AuthError::EmailAlreadyProven)
    ));
}

#[tokio::test]
async fn a_link_is_used_once_even_when_followed_many_times_at_once() {
    let sink = SmtpSink::start();
    let world = TestWorld::new().await;
    let auth = mailing_auth(&world, &sink);
    signed_up(&auth, "fay@acme.example", None).await;
    let link = sink.take_link("fay@acme.example", LINKS);
    let attempts = (0..8).map(|_| auth.prove_email(secret(&link), t0()));
    let outcomes = futures::future::join_all(attempts).await;
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
}

#[tokio::test]
async fn users_who_never_proved_their_address_are_asked_once_at_their_next_sign_in() {
    let sink = SmtpSink::start();
    let world = TestWorld::new().await;
    let auth = mailing_auth(&world, &sink);
    // As an older release left them: signed up, never asked, no link outstanding.
    signed_up(&auth, "gus@acme.example", None).await;
    sink.take_link("gus@acme.example", LINKS);
    let next_day = t0() + PROOF_LIFETIME;
    auth.remove_expired(next_day).await.unwrap();

    let signed_in = auth
        .sign_in("gus@acme.example", PASSWORD, None, next_day)
        .await
        .unwrap();
    let gus = auth.authenticate(&signed_in.token, next_day).await.unwrap();
    assert!(!gus.email_proven, "the session opens, but only the proof is open to it");
    let link = sink.take_link("gus@acme.example", LINKS);
    // Once: while that link works, signing in again sends no other.
    auth.sign_in("gus@acme.example", PASSWORD, None, next_day)
        .await
        .unwrap();
    assert!(sink.messages().is_empty(), "{:?}", sink.messages());
    auth.prove_email(secret(&link), next_day).await.unwrap();
}

#[tokio::test]
async fn the_migration_counts_users_their_idp_created_as_proven_and_asks_everyone_else_once() {
    let (url, dir) = fresh_database().await;
    let s = setup_in(TestWorld::with_store(Store::open(&url).await.unwrap(), dir), "").await;
    let ada = sign_in_as(&s, |spec| spec.name_id = "ada@acme.example".into()).await;

    // Back to just before the proofs, whatever came after them, and forward again.
    let db = Database::connect(url.as_str()).await.unwrap();
    let since = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261205_000016_add_email_proofs")
        .unwrap();
    Migrator::down(&db, Some(u32::try_from(since).unwrap() + 1))
        .await
        .unwrap();
    Migrator::up(&db, None).await.unwrap();

    let store = &s.world.store;
    assert!(store.user_by_id(ada.user_id).await.unwrap().unwrap().email_proven);
    assert!(
        !store.user_by_id(s.owner.user_id).await.unwrap().unwrap().email_proven,
        "a password user proves their address once"
    );
}

#[tokio::test]
async fn one_sign_up_sends_someones_address_at_most_five_links_a_day() {
    let sink = SmtpSink::start();
    let world = TestWorld::new().await;
    let auth = mailing_auth(&world, &sink);
    let mallory = signed_up(&auth, "victim@acme.example", None).await;
    let mut now = t0();
    for _ in 1..LINKS_PER_DAY {
        now += RESEND_AFTER;
        auth.resend_email_proof(&mallory, now).await.unwrap();
    }
    assert_eq!(sink.messages().len(), 5);
    let refused = auth.resend_email_proof(&mallory, now + Duration::hours(1)).await;
    let Err(AuthError::ProofRecentlySent { retry_after_seconds }) = refused else {
        panic!("{refused:?}")
    };
    assert_eq!(
        retry_after_seconds,
        (t0() + Duration::days(1) - now - Duration::hours(1)).num_seconds()
    );
    // A day after the first, the count starts again.
    auth.resend_email_proof(&mallory, t0() + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(sink.messages().len(), 6);
}
