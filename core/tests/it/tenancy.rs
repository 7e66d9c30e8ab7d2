use crate::support::{TestWorld, t0};
use chrono::Duration;
use gatehouse_core::mail::MailOutcome;
use gatehouse_core::tenancy::{MemberQuery, Role, TenancyError};

#[tokio::test]
async fn an_invitation_is_a_single_use_expiring_link_for_one_address() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let invitation = world
        .tenancy
        .invite(&owner, account, "Viewer@ACME.example", Role::Viewer, t0())
        .await
        .unwrap();
    assert_eq!(invitation.mail, MailOutcome::NotConfigured);
    assert!(
        invitation.link.starts_with("https://sso.example.com/invitations/"),
        "{}",
        invitation.link
    );
    let secret = invitation.link.rsplit('/').next().unwrap().to_owned();

    let preview = world.tenancy.preview_invitation(&secret, t0()).await.unwrap();
    assert_eq!(preview.email, "Viewer@acme.example");
    assert_eq!(preview.role, Role::Viewer);

    let (stranger, _) = world.user("stranger@elsewhere.example").await;
    let wrong_person = world.tenancy.accept_invitation(&stranger, &secret, t0()).await;
    assert!(
        matches!(wrong_person, Err(TenancyError::InvitationForAnotherEmail { .. })),
        "{wrong_person:?}"
    );

    let (viewer, _) = world.user("Viewer@acme.example").await;
    let joined = world.tenancy.accept_invitation(&viewer, &secret, t0()).await.unwrap();
    assert_eq!(joined, account);
    assert_eq!(
        world.tenancy.membership(&viewer, account).await.unwrap().role,
        Role::Viewer
    );

    let again = world.tenancy.accept_invitation(&viewer, &secret, t0()).await;
    assert!(matches!(again, Err(TenancyError::InvitationUsed)), "{again:?}");

    let late = world
        .tenancy
        .invite(&owner, account, "late@acme.example", Role::Admin, t0())
        .await
        .unwrap();
    let late_secret = late.link.rsplit('/').next().unwrap();
    let expired = world
        .tenancy
        .preview_invitation(late_secret, t0() + Duration::days(7))
        .await;
    assert!(matches!(expired, Err(TenancyError::InvitationExpired)), "{expired:?}");
    let bogus = world.tenancy.preview_invitation("not-a-real-token", t0()).await;
    assert!(matches!(bogus, Err(TenancyError::InvitationNotFound)));
}

#[tokio::test]
async fn reinviting_replaces_the_pending_link_and_revoking_kills_it() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let first = world
        .tenancy
        .invite(&owner, account, "x@acme.example", Role::Viewer, t0())
        .await
        .unwrap();
    let second = world
        .tenancy
        .invite(&owner, account, "x@acme.example", Role::Admin, t0())
        .await
        .unwrap();
    let first_secret = first.link.rsplit('/').next().unwrap();
    assert!(matches!(
        world.tenancy.preview_invitation(first_secret, t0()).await,
        Err(TenancyError::InvitationNotFound)
    ));
    let pending = world.tenancy.pending_invitations(&owner, account, t0()).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].role, Role::Admin);
    world
        .tenancy
        .revoke_invitation(&owner, account, second.invitation.id)
        .await
        .unwrap();
    let second_secret = second.link.rsplit('/').next().unwrap();
    assert!(matches!(
        world.tenancy.preview_invitation(second_secret, t0()).await,
        Err(TenancyError::InvitationNotFound)
    ));
    assert!(
        world
            .tenancy
            .pending_invitations(&owner, account, t0())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn the_owner_manages_roles_but_never_leaves_the_account_without_an_owner() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let member = world.join(&owner, account, "member@acme.example", Role::Viewer).await;

    world
        .tenancy
        .change_role(&owner, account, member.user_id, Role::Admin)
        .await
        .unwrap();
    assert_eq!(
        world.tenancy.membership(&member, account).await.unwrap().role,
        Role::Admin
    );

    let to_owner = world
        .tenancy
        .change_role(&owner, account, member.user_id, Role::Owner)
        .await;
    assert!(
        matches!(to_owner, Err(TenancyError::OwnerNotAssignable)),
        "{to_owner:?}"
    );
    let self_demote = world
        .tenancy
        .change_role(&owner, account, owner.user_id, Role::Viewer)
        .await;
    assert!(matches!(self_demote, Err(TenancyError::OwnRole)), "{self_demote:?}");
    let remove_owner = world.tenancy.remove_member(&owner, account, owner.user_id).await;
    assert!(
        matches!(remove_owner, Err(TenancyError::OwnerIsFixed)),
        "{remove_owner:?}"
    );

    world
        .tenancy
        .transfer_ownership(&owner, account, member.user_id)
        .await
        .unwrap();
    let members = world.tenancy.members(&member, account).await.unwrap();
    let owners: Vec<_> = members
        .iter()
        .filter(|m| m.role == Role::Owner)
        .map(|m| m.email.as_str())
        .collect();
    assert_eq!(owners, ["member@acme.example"]);
    assert_eq!(
        world.tenancy.membership(&owner, account).await.unwrap().role,
        Role::Admin
    );

    // The former owner, now an Admin, can no longer manage members.
    let demoted_tries = world.tenancy.remove_member(&owner, account, member.user_id).await;
    assert!(
        matches!(demoted_tries, Err(TenancyError::Forbidden { role: Role::Admin })),
        "{demoted_tries:?}"
    );

    world
        .tenancy
        .remove_member(&member, account, owner.user_id)
        .await
        .unwrap();
    let gone = world.tenancy.membership(&owner, account).await;
    assert!(matches!(gone, Err(TenancyError::AccountNotFound)), "{gone:?}");
}

#[tokio::test]
async fn every_role_is_checked_on_the_server() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let admin = world.join(&owner, account, "admin@acme.example", Role::Admin).await;
    let viewer = world.join(&owner, account, "viewer@acme.example", Role::Viewer).await;
    let no_access = world.join(&owner, account, "none@acme.example", Role::NoAccess).await;
    let (outsider, _) = world.user("outsider@other.example").await;

    for (caller, role) in [(&admin, Role::Admin), (&viewer, Role::Viewer)] {
        assert!(
            world.tenancy.members(caller, account).await.is_ok(),
            "{role:?} sees members"
        );
        let invite = world
            .tenancy
            .invite(caller, account, "new@acme.example", Role::Viewer, t0())
            .await;
        assert!(
            matches!(invite, Err(TenancyError::Forbidden { .. })),
            "{role:?}: {invite:?}"
        );
        let change = world
            .tenancy
            .change_role(caller, account, no_access.user_id, Role::Admin)
            .await;
        assert!(
            matches!(change, Err(TenancyError::Forbidden { .. })),
            "{role:?}: {change:?}"
        );
        let rename = world.tenancy.rename_account(caller, account, "Mine now").await;
        assert!(
            matches!(rename, Err(TenancyError::Forbidden { .. })),
            "{role:?}: {rename:?}"
        );
        let transfer = world.tenancy.transfer_ownership(caller, account, caller.user_id).await;
        assert!(
            matches!(transfer, Err(TenancyError::Forbidden { .. })),
            "{role:?}: {transfer:?}"
        );
    }
    let hidden = world.tenancy.members(&no_access, account).await;
    assert!(
        matches!(hidden, Err(TenancyError::Forbidden { role: Role::NoAccess })),
        "{hidden:?}"
    );
    assert_eq!(
        world.tenancy.membership(&no_access, account).await.unwrap().role,
        Role::NoAccess
    );

    // Someone outside the account learns nothing, not even that it exists.
    let outside = world.tenancy.members(&outsider, account).await;
    assert!(matches!(outside, Err(TenancyError::AccountNotFound)), "{outside:?}");
    let outside_invite = world
        .tenancy
        .invite(&outsider, account, "x@acme.example", Role::Admin, t0())
        .await;
    assert!(
        matches!(outside_invite, Err(TenancyError::AccountNotFound)),
        "{outside_invite:?}"
    );
    let outside_remove = world.tenancy.remove_member(&outsider, account, viewer.user_id).await;
    assert!(
        matches!(outside_remove, Err(TenancyError::AccountNotFound)),
        "{outside_remove:?}"
    );
}

#[tokio::test]
async fn members_come_in_pages_in_email_order_and_a_search_matches_its_text_only() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    for email in [
        "dave@other.example",
        "ann@acme.example",
        "carol_x@other.example",
        "bob@acme.example",
    ] {
        world.join(&owner, account, email, Role::Viewer).await;
    }
    let page = |search: &'static str, after: Option<String>| {
        let (world, owner) = (&world, &owner);
        async move {
            let query = MemberQuery {
                search,
                after: after.as_deref(),
                per_page: 2,
            };
            world.tenancy.member_page(owner, account, &query).await.unwrap()
        }
    };
    let emails = |members: &[gatehouse_core::tenancy::Member]| -> Vec<String> {
        members.iter().map(|m| m.email.clone()).collect()
    };

    // Two a page, each page starting after the last email of the one before, every member once.
    let first = page("", None).await;
    assert_eq!(emails(&first.members), ["ann@acme.example", "bob@acme.example"]);
    assert_eq!(
        (first.total, first.next_after.as_deref()),
        (5, Some("bob@acme.example"))
    );
    let second = page("", first.next_after).await;
    assert_eq!(emails(&second.members), ["carol_x@other.example", "dave@other.example"]);
    let third = page("", second.next_after).await;
    assert_eq!(emails(&third.members), ["owner@acme.example"]);
    assert_eq!(third.next_after, None);
    assert_eq!(third.members[0].role, Role::Owner);

    // A search matches anywhere in the email, in any case, and its `%` and `_` are plain characters.
    let other = page("other.example", None).await;
    assert_eq!((other.total, emails(&other.members).len()), (2, 2));
    assert_eq!(emails(&page("  ANN ", None).await.members), ["ann@acme.example"]);
    assert_eq!(emails(&page("_x", None).await.members), ["carol_x@other.example"]);
    assert_eq!(page("%", None).await.total, 0);
    assert_eq!(page("nobody", None).await.members, []);

    // Only members of the account may look.
    let (outsider, _) = world.user("eve@elsewhere.example").await;
    let query = MemberQuery {
        search: "",
        after: None,
        per_page: 2,
    };
    assert!(matches!(
        world.tenancy.member_page(&outsider, account, &query).await,
        Err(TenancyError::AccountNotFound)
    ));
}

#[tokio::test]
async fn members_of_one_account_cannot_touch_another() {
    let world = TestWorld::new().await;
    let (alice, alice_account) = world.user("alice@a.example").await;
    let (bob, bob_account) = world.user("bob@b.example").await;
    let bob_member = world.join(&bob, bob_account, "carol@b.example", Role::Viewer).await;
    // Alice owns her account, but that gives her nothing over Bob's member, even with the right ids.
    let cross = world
        .tenancy
        .change_role(&alice, bob_account, bob_member.user_id, Role::Admin)
        .await;
    assert!(matches!(cross, Err(TenancyError::AccountNotFound)), "{cross:?}");
    let wrong_account = world
        .tenancy
        .remove_member(&alice, alice_account, bob_member.user_id)
        .await;
    assert!(
        matches!(wrong_account, Err(TenancyError::MemberNotFound)),
        "{wrong_account:?}"
    );
    assert_eq!(
        world.tenancy.membership(&bob_member, bob_account).await.unwrap().role,
        Role::Viewer
    );
}

#[tokio::test]
async fn invitations_refuse_existing_members_and_the_owner_role() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let existing = world
        .tenancy
        .invite(&owner, account, "owner@acme.example", Role::Admin, t0())
        .await;
    assert!(matches!(existing, Err(TenancyError::AlreadyMember(_))), "{existing:?}");
    let as_owner = world
        .tenancy
        .invite(&owner, account, "new@acme.example", Role::Owner, t0())
        .await;
    assert!(
        matches!(as_owner, Err(TenancyError::OwnerNotAssignable)),
        "{as_owner:?}"
    );
    let bad_email = world
        .tenancy
        .invite(&owner, account, "not-an-email", Role::Viewer, t0())
        .await;
    assert!(matches!(bad_email, Err(TenancyError::InvalidEmail(_))), "{bad_email:?}");
}

#[tokio::test]
async fn renaming_validates_and_keeps_the_old_name_on_bad_input() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    world
        .tenancy
        .rename_account(&owner, account, "  Acme Corp  ")
        .await
        .unwrap();
    assert_eq!(
        world.tenancy.membership(&owner, account).await.unwrap().name,
        "Acme Corp"
    );
    for bad in ["   ".to_owned(), "x".repeat(121), "a\u{0}b".to_owned()] {
        let r = world.tenancy.rename_account(&owner, account, &bad).await;
        assert!(matches!(r, Err(TenancyError::InvalidAccountName)), "{r:?}");
    }
    assert_eq!(
        world.tenancy.membership(&owner, account).await.unwrap().name,
        "Acme Corp"
    );
}

#[tokio::test]
async fn the_database_reports_ready_after_migrations() {
    let world = TestWorld::new().await;
    world.store.is_ready().await.unwrap();
    let expected = if std::env::var("GATEHOUSE_TEST_POSTGRES_URL").is_ok_and(|v| !v.is_empty()) {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(world.store.backend_name(), expected);
}
