use crate::support::{TestWorld, t0};
use chrono::Duration;
use gatehouse_core::auth::{ProofMail, Removed, ThrottlePolicy};
use gatehouse_core::tenancy::Role;
use gatehouse_core::{AuthError, AuthService, SessionPolicy};
use std::net::IpAddr;

#[tokio::test]
async fn sign_up_creates_a_user_owning_a_personal_account() {
    let world = TestWorld::new().await;
    let (alice, account) = world.user("Alice@Example.COM").await;
    assert_eq!(alice.email, "Alice@example.com");
    let accounts = world.tenancy.accounts_of(&alice).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].id, account);
    assert_eq!(accounts[0].role, Role::Owner);
}

#[tokio::test]
async fn an_email_is_registered_once_whatever_the_case_of_its_domain() {
    let world = TestWorld::new().await;
    world.user("bob@example.com").await;
    let again = world
        .auth
        .sign_up(" bob@EXAMPLE.com ", "another good passphrase", None, t0())
        .await;
    assert!(matches!(again, Err(AuthError::EmailTaken)), "{again:?}");
}

#[tokio::test]
async fn weak_passwords_and_bad_emails_are_refused_with_a_reason() {
    let world = TestWorld::new().await;
    let weak = world.auth.sign_up("carol@example.com", "password123", None, t0()).await;
    assert!(matches!(weak, Err(AuthError::WeakPassword(_))), "{weak:?}");
    let short = world.auth.sign_up("carol@example.com", "short", None, t0()).await;
    assert!(matches!(short, Err(AuthError::WeakPassword(_))), "{short:?}");
    let email = world
        .auth
        .sign_up("carol-at-example.com", "correct horse battery", None, t0())
        .await;
    assert!(matches!(email, Err(AuthError::InvalidEmail(_))), "{email:?}");
}

#[tokio::test]
async fn sign_in_checks_the_password_and_hides_which_part_was_wrong() {
    let world = TestWorld::new().await;
    world.user("dave@example.com").await;
    let ok = world
        .auth
        .sign_in("dave@EXAMPLE.com", "correct horse battery", None, t0())
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    let wrong_password = world
        .auth
        .sign_in("dave@example.com", "wrong horse battery", None, t0())
        .await;
    let unknown_user = world
        .auth
        .sign_in("nobody@example.com", "correct horse battery", None, t0())
        .await;
    let malformed = world
        .auth
        .sign_in("not an email", "correct horse battery", None, t0())
        .await;
    for outcome in [wrong_password, unknown_user, malformed] {
        assert!(matches!(outcome, Err(AuthError::InvalidCredentials)), "{outcome:?}");
    }
}

#[tokio::test]
async fn repeated_failures_lock_the_email_with_back_off_and_success_resets_it() {
    let world = TestWorld::new().await;
    world.user("erin@example.com").await;
    let mut now = t0();
    for _ in 0..5 {
        let r = world
            .auth
            .sign_in("erin@example.com", "guess guess guess", None, now)
            .await;
        assert!(matches!(r, Err(AuthError::InvalidCredentials)));
    }
    // The fifth failure locks the email for a second: even the right password waits, and counts as a guess.
    let locked = world
        .auth
        .sign_in("erin@example.com", "correct horse battery", None, now)
        .await;
    assert!(
        matches!(locked, Err(AuthError::Throttled { retry_after_seconds: 1 })),
        "{locked:?}"
    );
    now += Duration::seconds(2);
    let after_wait = world.auth.sign_in("erin@example.com", "wrong again", None, now).await;
    assert!(matches!(after_wait, Err(AuthError::InvalidCredentials)));
    // The seventh guess (the refused one was the sixth) locks for 4 seconds.
    let locked_longer = world
        .auth
        .sign_in("erin@example.com", "correct horse battery", None, now)
        .await;
    assert!(
        matches!(locked_longer, Err(AuthError::Throttled { retry_after_seconds: 4 })),
        "{locked_longer:?}"
    );
    now += Duration::seconds(5);
    assert!(
        world
            .auth
            .sign_in("erin@example.com", "correct horse battery", None, now)
            .await
            .is_ok()
    );
    // Success clears the count: a single typo afterwards does not lock.
    let typo = world.auth.sign_in("erin@example.com", "typo", None, now).await;
    assert!(matches!(typo, Err(AuthError::InvalidCredentials)));
    assert!(
        world
            .auth
            .sign_in("erin@example.com", "correct horse battery", None, now)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn concurrent_guesses_are_each_counted_and_only_the_free_allowance_is_checked() {
    let world = TestWorld::new().await;
    world.user("hana@example.com").await;
    let guesses = 60;
    let answers = futures::future::join_all((0..guesses).map(|i| {
        let auth = world.auth.clone();
        async move {
            auth.sign_in("hana@example.com", &format!("guess number {i}"), None, t0())
                .await
        }
    }))
    .await;
    let checked = answers
        .iter()
        .filter(|a| matches!(a, Err(AuthError::InvalidCredentials)))
        .count();
    let refused = answers
        .iter()
        .filter(|a| matches!(a, Err(AuthError::Throttled { .. })))
        .count();
    assert_eq!(checked + refused, guesses, "{answers:?}");
    let free = ThrottlePolicy::default().free_failures_per_email as usize;
    assert!(
        (1..=free).contains(&checked),
        "{checked} guesses were checked against the password, at most {free} may be"
    );
    let counted = world.store.throttle("email:hana@example.com").await.unwrap().unwrap();
    assert_eq!(counted.failures as usize, guesses, "every guess is counted");
    let right = world
        .auth
        .sign_in("hana@example.com", "correct horse battery", None, t0())
        .await;
    assert!(matches!(right, Err(AuthError::Throttled { .. })), "{right:?}");
}

#[tokio::test]
async fn one_client_guessing_many_emails_is_locked_out() {
    let world = TestWorld::new().await;
    let client: IpAddr = "203.0.113.9".parse().unwrap();
    for i in 0..30 {
        let r = world
            .auth
            .sign_in(&format!("user{i}@example.com"), "guess guess", Some(client), t0())
            .await;
        assert!(matches!(r, Err(AuthError::InvalidCredentials)), "{i}: {r:?}");
    }
    let locked = world
        .auth
        .sign_in("user99@example.com", "guess guess", Some(client), t0())
        .await;
    assert!(matches!(locked, Err(AuthError::Throttled { .. })), "{locked:?}");
    let other_client: IpAddr = "198.51.100.1".parse().unwrap();
    let elsewhere = world
        .auth
        .sign_in("user99@example.com", "guess guess", Some(other_client), t0())
        .await;
    assert!(matches!(elsewhere, Err(AuthError::InvalidCredentials)), "{elsewhere:?}");
}

#[tokio::test]
async fn right_passwords_take_their_count_back_so_a_shared_address_stays_open() {
    let world = TestWorld::new().await;
    world.user("ivo@example.com").await;
    // Every attempt from this address is beyond its free failures, so each takes the lock before its check.
    let throttle = ThrottlePolicy {
        free_failures_per_client: 1,
        ..ThrottlePolicy::default()
    };
    let proofs = ProofMail::new("https://sso.example.com/".parse().unwrap(), None, false);
    let auth = AuthService::new(world.store.clone(), SessionPolicy::default(), throttle, proofs);
    let office: IpAddr = "203.0.113.20".parse().unwrap();
    let now = t0() + Duration::nanoseconds(123_456_789);
    for _ in 0..3 {
        let signed_in = auth
            .sign_in("ivo@example.com", "correct horse battery", Some(office), now)
            .await;
        assert!(signed_in.is_ok(), "{signed_in:?}");
        let counted = world.store.throttle("client:203.0.113.20").await.unwrap().unwrap();
        assert_eq!((counted.failures, counted.locked_until), (0, None));
    }
    let wrong = auth.sign_in("ivo@example.com", "guess one", Some(office), now).await;
    assert!(matches!(wrong, Err(AuthError::InvalidCredentials)), "{wrong:?}");
    let locked = auth.sign_in("ivo@example.com", "guess two", Some(office), now).await;
    assert!(matches!(locked, Err(AuthError::Throttled { .. })), "{locked:?}");
}

#[tokio::test]
async fn sessions_expire_when_idle_or_old_and_end_at_sign_out() {
    let world = TestWorld::new().await;
    world.user("frank@example.com").await;
    let session = world
        .auth
        .sign_in("frank@example.com", "correct horse battery", None, t0())
        .await
        .unwrap();
    assert!(
        world
            .auth
            .authenticate(&session.token, t0() + Duration::hours(11))
            .await
            .is_ok()
    );
    // Used at +11 h, so still live 11 h later; idle for 13 h ends it.
    assert!(
        world
            .auth
            .authenticate(&session.token, t0() + Duration::hours(22))
            .await
            .is_ok()
    );
    let idle = world
        .auth
        .authenticate(&session.token, t0() + Duration::hours(35))
        .await;
    assert!(matches!(idle, Err(AuthError::NotSignedIn)));

    let session = world
        .auth
        .sign_in("frank@example.com", "correct horse battery", None, t0())
        .await
        .unwrap();
    let mut now = t0();
    while now + Duration::hours(6) < t0() + Duration::days(7) {
        now += Duration::hours(6);
        assert!(world.auth.authenticate(&session.token, now).await.is_ok());
    }
    let too_old = world.auth.authenticate(&session.token, t0() + Duration::days(7)).await;
    assert!(matches!(too_old, Err(AuthError::NotSignedIn)));

    let session = world
        .auth
        .sign_in("frank@example.com", "correct horse battery", None, t0())
        .await
        .unwrap();
    world.auth.sign_out(&session.token).await.unwrap();
    assert!(matches!(
        world.auth.authenticate(&session.token, t0()).await,
        Err(AuthError::NotSignedIn)
    ));
    assert!(matches!(
        world.auth.authenticate("made-up-token", t0()).await,
        Err(AuthError::NotSignedIn)
    ));
}

#[tokio::test]
async fn expired_sessions_and_old_failure_counts_are_cleaned_up() {
    let world = TestWorld::new().await;
    world.user("gina@example.com").await;
    let old = world
        .auth
        .sign_in("gina@example.com", "correct horse battery", None, t0())
        .await
        .unwrap();
    let later = t0() + Duration::hours(13);
    let fresh = world
        .auth
        .sign_in("gina@example.com", "correct horse battery", None, later)
        .await
        .unwrap();
    let _ = world.auth.sign_in("gina@example.com", "wrong", None, t0()).await;

    // The sign-up session and `old` are idle past 12 h; the failure count is older than an hour.
    let removed = world.auth.remove_expired(later).await.unwrap();
    assert_eq!((removed.sessions, removed.throttles), (2, 1));
    assert!(world.auth.authenticate(&fresh.token, later).await.is_ok());
    assert!(matches!(
        world.auth.authenticate(&old.token, later).await,
        Err(AuthError::NotSignedIn)
    ));
    assert_eq!(world.auth.remove_expired(later).await.unwrap(), Removed::default());
}
