//! Sessions know where they came from: an account that enforces SSO admits the members its SSO provisioned only
//! with a session opened through one of its own connections, and never locks its Owner out.

use crate::sso_setup::{Setup, set_policy, setup, sign_in_as};
use crate::support::t0;
use gatehouse_core::auth::SessionOrigin;
use gatehouse_core::saml::logout::IdpSession;
use gatehouse_core::sso::{ManualFields, SsoPolicy};
use gatehouse_core::tenancy::{Role, TenancyError};
use gatehouse_core::{AccountId, Caller, ConnectionId, UserId};

async fn enforce_sso(s: &Setup) {
    set_policy(
        s,
        SsoPolicy {
            sso_enabled: true,
            enforce_sso: true,
            no_separate_account: false,
        },
    )
    .await;
}

/// A member provisioned by the account's SSO, as the session of that sign-in shows them.
async fn provisioned_member(s: &Setup, email: &str) -> Caller {
    let signed_in = sign_in_as(s, |spec| spec.name_id = email.into()).await;
    s.world
        .auth
        .authenticate(&signed_in.session.token, test_idp::now())
        .await
        .unwrap()
}

/// Another session of `user`, opened through `connection` (`None`: by password), as its caller.
async fn session_of(s: &Setup, user: UserId, connection: Option<ConnectionId>) -> Caller {
    let idp_session = connection.map(|connection_id| IdpSession {
        connection_id,
        name_id: "bob@acme.example".into(),
        name_id_format: None,
        session_index: None,
    });
    let now = test_idp::now();
    let session = s
        .world
        .auth
        .start_session(user, idp_session.as_ref(), now)
        .await
        .unwrap();
    s.world.auth.authenticate(&session.token, now).await.unwrap()
}

/// A connection of another organisation's account.
async fn other_accounts_connection(s: &Setup) -> (AccountId, ConnectionId) {
    let (other_owner, other_account) = s.world.user("owner@other.example").await;
    let certificate = test_idp::attacker().certificate.to_pem();
    let connection = s
        .connections
        .create_manual(
            &other_owner,
            other_account,
            &ManualFields {
                label: "Other IdP",
                entity_id: "https://idp.other.example/saml",
                sso_url: "https://idp.other.example/sso",
                slo_url: "",
                certificates: certificate.as_bytes(),
            },
            None,
            t0(),
        )
        .await
        .unwrap()
        .id;
    (other_account, connection)
}

fn refused_for_sso<T: std::fmt::Debug>(s: &Setup, result: Result<T, TenancyError>) {
    match result {
        Err(TenancyError::SsoSessionRequired {
            account,
            sign_in_through,
        }) => {
            assert_eq!(account, s.account);
            assert_eq!(
                sign_in_through,
                Some(s.connection),
                "the way in: the domain's connection"
            );
        }
        other => panic!("expected SsoSessionRequired, got {other:?}"),
    }
}

#[tokio::test]
async fn an_sso_provisioned_members_password_session_does_not_open_an_account_that_enforces_sso() {
    let s = setup().await;
    let bob = provisioned_member(&s, "bob@acme.example").await;
    assert_eq!(bob.origin, SessionOrigin::Sso(s.connection));
    assert_eq!(bob.sso_account_id, Some(s.account));
    // A password session, as one left from before enforcement (or from a break-glass password that should not
    // exist) would be.
    let by_password = session_of(&s, bob.user_id, None).await;
    assert_eq!(by_password.origin, SessionOrigin::Password);
    assert!(s.world.tenancy.membership(&by_password, s.account).await.is_ok());

    enforce_sso(&s).await;
    refused_for_sso(&s, s.world.tenancy.membership(&by_password, s.account).await);
    refused_for_sso(&s, s.world.tenancy.members(&by_password, s.account).await);
    let error = s.world.tenancy.membership(&by_password, s.account).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "Sign in through your organisation's identity provider to open this account."
    );
    // The account still shows in the switcher, where the message can say how to open it.
    assert!(
        s.world
            .tenancy
            .accounts_of(&by_password)
            .await
            .unwrap()
            .iter()
            .any(|a| a.id == s.account)
    );

    // The session opened through the account's own connection opens it.
    assert_eq!(
        s.world.tenancy.membership(&bob, s.account).await.unwrap().role,
        Role::NoAccess
    );
    // And the member's own personal account is none of the enforcing account's business.
    let personal = s
        .world
        .tenancy
        .accounts_of(&by_password)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.id != s.account)
        .unwrap();
    assert!(s.world.tenancy.membership(&by_password, personal.id).await.is_ok());
}

#[tokio::test]
async fn a_session_through_another_accounts_connection_does_not_open_an_account_that_enforces_sso() {
    let s = setup().await;
    let bob = provisioned_member(&s, "bob@acme.example").await;
    enforce_sso(&s).await;
    let (_, elsewhere) = other_accounts_connection(&s).await;
    let through_elsewhere = session_of(&s, bob.user_id, Some(elsewhere)).await;
    assert_eq!(through_elsewhere.origin, SessionOrigin::Sso(elsewhere));
    refused_for_sso(&s, s.world.tenancy.membership(&through_elsewhere, s.account).await);
    // Another session through the account's own connection is as good as the first.
    let through_own = session_of(&s, bob.user_id, Some(s.connection)).await;
    assert!(s.world.tenancy.membership(&through_own, s.account).await.is_ok());
}

#[tokio::test]
async fn the_owner_and_members_from_elsewhere_keep_their_password_sessions() {
    let s = setup().await;
    let bob = provisioned_member(&s, "bob@acme.example").await;
    let outsider = s
        .world
        .join(&s.owner, s.account, "admin@outside.example", Role::Admin)
        .await;
    enforce_sso(&s).await;
    assert_eq!(s.owner.origin, SessionOrigin::Password);
    assert_eq!(
        s.world.tenancy.membership(&s.owner, s.account).await.unwrap().role,
        Role::Owner
    );
    // Invited from another organisation, with a password: not this account's SSO's user to insist on.
    assert!(s.world.tenancy.members(&outsider, s.account).await.is_ok());

    // Even an SSO-provisioned member who becomes the Owner is never locked out (break-glass).
    let by_password = session_of(&s, bob.user_id, None).await;
    refused_for_sso(&s, s.world.tenancy.membership(&by_password, s.account).await);
    s.world
        .tenancy
        .transfer_ownership(&s.owner, s.account, bob.user_id)
        .await
        .unwrap();
    assert_eq!(
        s.world.tenancy.membership(&by_password, s.account).await.unwrap().role,
        Role::Owner
    );
}
