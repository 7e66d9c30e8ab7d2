//! One address, one user: case, Unicode forms, full-width letters and the spellings of an internationalised domain
//! reach the same user through sign-up, password sign-in, invitations, members search and SSO; invisible
//! characters are refused.

use crate::sso_setup::{attempt, pre_registered, setup, sign_in_as};
use crate::support::{TestWorld, t0};
use gatehouse_core::auth::{AuthError, EmailError};
use gatehouse_core::sso::refusal::Refusal;
use gatehouse_core::tenancy::{MemberQuery, Role, TenancyError};

const PASSWORD: &str = "correct horse battery";

/// Each spelling of `canonical`'s address a person or an IdP might send.
const ALICE: [&str; 6] = [
    "ALICE@corp.example",
    "Alice@Corp.Example",
    "ａｌｉｃｅ@corp.example",
    "ＡＬＩＣＥ＠ＣＯＲＰ.example",
    " alice@corp.example ",
    "alice@CORP.EXAMPLE",
];
const JURGEN: [&str; 5] = [
    "ju\u{308}rgen@b\u{fc}cher.example",
    "J\u{dc}RGEN@B\u{dc}CHER.EXAMPLE",
    "j\u{fc}rgen@xn--bcher-kva.example",
    "J\u{dc}rgen@XN--BCHER-KVA.example",
    "j\u{fc}rgen@bu\u{308}cher.example",
];
const INVISIBLE: [(&str, &str); 4] = [
    ("al\u{200b}ice@corp.example", "U+200B"),
    ("alice\u{200d}@corp.example", "U+200D"),
    ("\u{202e}alice@corp.example", "U+202E"),
    ("alice\u{fe0f}@corp.example", "U+FE0F"),
];

#[tokio::test]
async fn every_spelling_of_an_address_signs_up_once_and_signs_in_the_same_user() {
    let world = TestWorld::new().await;
    for (canonical, variants) in [
        ("alice@corp.example", &ALICE[..]),
        ("j\u{fc}rgen@b\u{fc}cher.example", &JURGEN[..]),
    ] {
        let (user, _) = world.user(canonical).await;
        for variant in variants {
            let taken = world.auth.sign_up(variant, PASSWORD, None, t0()).await.unwrap_err();
            assert!(matches!(taken, AuthError::EmailTaken), "{variant:?}: {taken:?}");
            let session = world.auth.sign_in(variant, PASSWORD, None, t0()).await.unwrap();
            assert_eq!(session.user_id, user.user_id, "{variant:?}");
        }
        assert_eq!(user.email, canonical, "the address is shown as it was first typed");
    }
}

#[tokio::test]
async fn invisible_characters_are_refused_with_the_character_named_and_never_sign_anyone_in() {
    let world = TestWorld::new().await;
    world.user("alice@corp.example").await;
    for (address, code) in INVISIBLE {
        let refused = world.auth.sign_up(address, PASSWORD, None, t0()).await.unwrap_err();
        assert!(
            matches!(&refused, AuthError::InvalidEmail(EmailError::Invisible(c)) if c == code),
            "{address:?}: {refused:?}"
        );
        assert!(refused.to_string().contains("invisible"), "{refused}");
        assert!(matches!(
            world.auth.sign_in(address, PASSWORD, None, t0()).await,
            Err(AuthError::InvalidCredentials)
        ));
    }
}

#[tokio::test]
async fn an_invitation_reaches_the_user_of_any_spelling_and_members_are_found_by_any() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@corp.example").await;
    world
        .tenancy
        .invite(&owner, account, "Alice@Corp.Example", Role::Viewer, t0())
        .await
        .unwrap();
    let invitation = world
        .tenancy
        .invite(&owner, account, "ＡＬＩＣＥ@corp.example", Role::Admin, t0())
        .await
        .unwrap();
    let pending = world.tenancy.pending_invitations(&owner, account, t0()).await.unwrap();
    assert_eq!(pending.len(), 1, "the second spelling replaced the first invitation");
    assert_eq!(pending[0].role, Role::Admin);

    let (alice, _) = world.user("alice@corp.example").await;
    let secret = invitation.link.rsplit('/').next().unwrap();
    world.tenancy.accept_invitation(&alice, secret, t0()).await.unwrap();
    assert_eq!(
        world.tenancy.membership(&alice, account).await.unwrap().role,
        Role::Admin
    );
    let again = world
        .tenancy
        .invite(&owner, account, "ALICE@CORP.EXAMPLE", Role::Viewer, t0())
        .await
        .unwrap_err();
    assert!(matches!(again, TenancyError::AlreadyMember(_)), "{again:?}");

    for search in ["ALICE", "ａｌｉｃｅ", "Alice@Corp"] {
        let page = world
            .tenancy
            .member_page(
                &owner,
                account,
                &MemberQuery {
                    search,
                    after: None,
                    per_page: 10,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.total, 1, "{search}");
        assert_eq!(page.members[0].user_id, alice.user_id);
    }
}

#[tokio::test]
async fn an_invitation_to_a_look_alike_address_is_not_the_users() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@corp.example").await;
    let refused = world
        .tenancy
        .invite(&owner, account, "al\u{200b}ice@corp.example", Role::Viewer, t0())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, TenancyError::InvalidEmail(EmailError::Invisible(_))),
        "{refused:?}"
    );
    let invitation = world
        .tenancy
        .invite(&owner, account, "alice@corp.example", Role::Viewer, t0())
        .await
        .unwrap();
    let (bob, _) = world.user("alice.b@corp.example").await;
    let secret = invitation.link.rsplit('/').next().unwrap();
    assert!(matches!(
        world.tenancy.accept_invitation(&bob, secret, t0()).await,
        Err(TenancyError::InvitationForAnotherEmail { .. })
    ));
}

#[tokio::test]
async fn sso_assertions_in_every_spelling_provision_one_user() {
    let s = setup().await;
    let first = sign_in_as(&s, |spec| spec.name_id = "ada@acme.example".into()).await;
    assert!(first.created);
    for variant in [
        "ADA@acme.example",
        "Ada@Acme.Example",
        "ａｄａ@acme.example",
        "ada@ACME.EXAMPLE",
    ] {
        let signed_in = sign_in_as(&s, |spec| spec.name_id = variant.into()).await;
        assert_eq!(signed_in.user_id, first.user_id, "{variant}");
        assert!(!signed_in.created, "{variant}");
    }
    for (address, code) in [
        ("ad\u{200b}a@acme.example", "U+200B"),
        ("ada\u{202e}@acme.example", "U+202E"),
    ] {
        let refused = attempt(&s, |spec| spec.name_id = address.into()).await.unwrap_err();
        assert!(
            matches!(&refused.refusal, Refusal::EmailUnusable { problem, .. } if problem.contains(code)),
            "{refused:?}"
        );
    }
    let owner = attempt(&s, |spec| spec.name_id = "OWNER@Acme.Example".into())
        .await
        .unwrap_err();
    assert!(
        matches!(owner.refusal, Refusal::OwnerSignsInWithPassword(_)),
        "the Owner's break-glass holds in any spelling: {owner:?}"
    );
}

#[tokio::test]
async fn a_pre_registered_user_in_another_spelling_is_the_user_sso_takes_over() {
    let s = setup().await;
    let (carol, _) = pre_registered(&s, "Carol@ACME.example").await;
    let signed_in = sign_in_as(&s, |spec| spec.name_id = "carol@acme.example".into()).await;
    assert_eq!(signed_in.user_id, carol.user_id);
    assert!(signed_in.taken_over && !signed_in.created);
}

#[tokio::test]
async fn an_internationalised_domain_in_unicode_punycode_or_capitals_provisions_one_user() {
    let s = setup().await;
    let domain = s
        .domains
        .add(&s.owner, s.account, "b\u{fc}cher.example", t0())
        .await
        .unwrap();
    s.dns.set_txt("xn--bcher-kva.example", &[&[&domain.record_value]]).await;
    s.domains.verify(&s.owner, s.account, domain.id, t0()).await.unwrap();
    s.domains
        .route(&s.owner, s.account, domain.id, Some(s.connection), t0())
        .await
        .unwrap();
    let first = sign_in_as(&s, |spec| spec.name_id = JURGEN[0].into()).await;
    assert!(first.created);
    for variant in &JURGEN[1..] {
        let signed_in = sign_in_as(&s, |spec| spec.name_id = (*variant).into()).await;
        assert_eq!(signed_in.user_id, first.user_id, "{variant}");
    }
    let user = s
        .world
        .store
        .user_by_email("j\u{fc}rgen@xn--bcher-kva.example")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.id, first.user_id);
    assert_eq!(
        user.email, "j\u{fc}rgen@b\u{fc}cher.example",
        "NFC, as the IdP first sent it"
    );
}
