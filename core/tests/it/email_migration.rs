//! Migration 13 on a database holding users whose addresses turn out to be one: users one account's SSO created
//! are merged, users who could each sign in on their own are listed to the owner, an address with invisible
//! characters is listed as unusable, and the canonical form is unique from then on.

use crate::sso_setup::{setup_in, sign_in_as};
use crate::support::{TestWorld, fresh_database, t0};
use chrono::Duration;
use gatehouse_core::Store;
use gatehouse_core::store::Migrator;
use gatehouse_core::tenancy::Role;
use gatehouse_migrations::MigratorTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

const PASSWORD: &str = "correct horse battery";

/// Gives the user at `from` the address `to` behind the canonical rule's back, as an older release stored it.
async fn respell(db: &DatabaseConnection, from: &str, to: &str, created_later: Duration) {
    let update = Query::update()
        .table("users")
        .value("email", to)
        .value("created_at", t0() + created_later)
        .and_where(Expr::col("email").eq(from))
        .to_owned();
    assert_eq!(db.execute(&update).await.unwrap().rows_affected(), 1, "{from}");
}

async fn owner_of_link(db: &DatabaseConnection, name_id: &str) -> uuid::Uuid {
    let query = Query::select()
        .column("user_id")
        .from("sso_links")
        .and_where(Expr::col("name_id").eq(name_id))
        .to_owned();
    db.query_one(&query)
        .await
        .unwrap()
        .unwrap()
        .try_get("", "user_id")
        .unwrap()
}

#[tokio::test]
async fn duplicates_are_merged_where_unambiguous_and_listed_to_the_owner_where_not() {
    let (url, dir) = fresh_database().await;
    let s = setup_in(TestWorld::with_store(Store::open(&url).await.unwrap(), dir), "").await;
    let db = Database::connect(url.as_str()).await.unwrap();
    let (world, owner, account) = (&s.world, &s.owner, s.account);

    // Two users the account's SSO created, the younger an Admin with a session.
    let ada = sign_in_as(&s, |spec| spec.name_id = "ada@acme.example".into()).await;
    let twin = sign_in_as(&s, |spec| spec.name_id = "ada.2@acme.example".into()).await;
    world
        .tenancy
        .change_role(owner, account, twin.user_id, Role::Admin)
        .await
        .unwrap();
    // Two password users, each of whom could sign in on their own, and one with an invisible character.
    let (bob, _) = world.user("bob@else.example").await;
    let bob_twin = world.join(owner, account, "bob.2@else.example", Role::Viewer).await;
    let mallory = world.join(owner, account, "mallory@else.example", Role::Viewer).await;
    world
        .tenancy
        .invite(owner, account, "Dora@Acme.Example", Role::Viewer, t0())
        .await
        .unwrap();

    // Back to just before migration 13, whatever came after it.
    let since_13 = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261205_000013_canonical_emails")
        .unwrap();
    Migrator::down(&db, Some(u32::try_from(since_13).unwrap() + 1))
        .await
        .unwrap();
    respell(&db, "ada.2@acme.example", "ADA@Acme.Example", Duration::hours(1)).await;
    respell(&db, "bob.2@else.example", "Bob@Else.Example", Duration::hours(1)).await;
    respell(
        &db,
        "mallory@else.example",
        "mal\u{200b}lory@else.example",
        Duration::zero(),
    )
    .await;
    Migrator::up(&db, None).await.unwrap();

    // Merged into the older user: memberships (the stronger role), links and personal account moved, sessions gone.
    let merged = world.store.user_by_email("ada@acme.example").await.unwrap().unwrap();
    assert_eq!(merged.id, ada.user_id);
    assert_eq!(
        world.store.role_of(account, ada.user_id).await.unwrap(),
        Some(Role::Admin)
    );
    assert_eq!(world.store.accounts_of_user(ada.user_id).await.unwrap().len(), 3);
    assert_eq!(owner_of_link(&db, "ada.2@acme.example").await, ada.user_id.as_uuid());
    assert!(
        world
            .auth
            .authenticate(&twin.session.token, test_idp::now())
            .await
            .is_err()
    );
    assert!(
        world
            .auth
            .authenticate(&ada.session.token, test_idp::now())
            .await
            .is_ok()
    );
    let through_twins_link = sign_in_as(&s, |spec| spec.name_id = "ada.2@acme.example".into()).await;
    assert_eq!(through_twins_link.user_id, ada.user_id);

    // Not merged: the older keeps the address; the younger keeps its membership and can no longer be found.
    let session = world
        .auth
        .sign_in("BOB@else.example", PASSWORD, None, t0())
        .await
        .unwrap();
    assert_eq!(session.user_id, bob.user_id);
    assert_eq!(
        world.store.role_of(account, bob_twin.user_id).await.unwrap(),
        Some(Role::Viewer)
    );
    assert_eq!(
        world.store.role_of(account, mallory.user_id).await.unwrap(),
        Some(Role::Viewer)
    );

    let audit = world.audit().recent(owner, account).await.unwrap();
    let entry = |action: &str| {
        audit
            .iter()
            .find(|e| e.action == action && e.actor_email == "Gatehouse upgrade")
            .unwrap_or_else(|| panic!("{action}: {audit:?}"))
            .detail
            .clone()
    };
    let detail = entry("Users with one address merged");
    assert!(
        detail.starts_with("ada@acme.example, ADA@Acme.Example are one address (ada@acme.example)"),
        "{detail}"
    );
    let detail = entry("Users with one address");
    assert!(
        detail.starts_with("bob@else.example, Bob@Else.Example are one address (bob@else.example)")
            && detail.contains("bob@else.example (the oldest) keeps the address"),
        "{detail}"
    );
    assert!(entry("Unusable email address").starts_with("mal\u{200b}lory@else.example contains characters"));

    // The old invitation's address is compared in its canonical form: a new one replaces it.
    world
        .tenancy
        .invite(owner, account, "dora@acme.example", Role::Admin, t0())
        .await
        .unwrap();
    let pending = world.tenancy.pending_invitations(owner, account, t0()).await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");

    // The canonical form is unique in the database itself.
    let duplicate = Query::insert()
        .into_table("users")
        .columns(["id", "email", "email_key", "created_at"])
        .values_panic([
            uuid::Uuid::new_v4().into(),
            "Ada@ACME.example".into(),
            "ada@acme.example".into(),
            t0().into(),
        ])
        .to_owned();
    assert!(db.execute(&duplicate).await.is_err());
}
