//! One address, one user: every user's and invitation's email in its canonical form, unique among users; users
//! whose addresses turn out to be one are merged where that is unambiguous and listed in the audit log of each of
//! their accounts where it is not (docs/sso-sign-in.md, "One address, one user").

use crate::EmailCanon;
use chrono::{DateTime, Utc};
use sea_orm_migration::sea_orm::{ConnectionTrait, QueryResult};
use sea_orm_migration::{prelude::*, schema::*};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::marker::PhantomData;
use uuid::Uuid;

pub struct Migration<C>(PhantomData<fn() -> C>);

impl<C> Migration<C> {
    pub fn new() -> Self {
        Self(PhantomData)
    }
}

impl<C> MigrationName for Migration<C> {
    fn name(&self) -> &str {
        "m20261205_000013_canonical_emails"
    }
}

const KEY: &str = "email_key";
const KEY_INDEX: &str = "users_by_email_key";
const ACTOR: &str = "Gatehouse upgrade";

struct User {
    id: Uuid,
    email: String,
    has_password: bool,
    created_at: DateTime<Utc>,
    sso_account_id: Option<Uuid>,
}

#[async_trait::async_trait]
impl<C: EmailCanon> MigrationTrait for Migration<C> {
    // On SQLite too: a merge half done would leave memberships on a user about to be deleted.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["users", "invitations"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table)
                        .add_column(string_len_null(KEY, 254))
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        let now = Utc::now();
        let mut groups: BTreeMap<String, Vec<User>> = BTreeMap::new();
        for user in users(db).await? {
            match C::key(&user.email) {
                Some(key) => groups.entry(key).or_default().push(user),
                None => {
                    let detail = format!(
                        "{} contains characters no email address may have (invisible formatting characters, \
                         spaces or controls): the user can no longer be found by this address, so cannot sign in \
                         with a password nor accept an invitation; a link to a connection still signs them in.",
                        user.email
                    );
                    audit(db, &[user.id], now, "Unusable email address", &detail).await?;
                }
            }
        }
        for (key, mut group) in groups {
            group.sort_by_key(|u| (u.created_at, u.id));
            let first = &group[0];
            set_key(db, "users", first.id, &key).await?;
            if group.len() == 1 {
                continue;
            }
            let addresses = group.iter().map(|u| u.email.as_str()).collect::<Vec<_>>().join(", ");
            if made_by_one_idp(&group) {
                for other in &group[1..] {
                    merge(db, other.id, first.id).await?;
                }
                let detail = format!(
                    "{addresses} are one address ({key}), and this account's single sign-on created each of these \
                     users without a password: merged into {} (the oldest), which now holds their memberships and \
                     SSO links; the others' sessions ended.",
                    first.email
                );
                audit(db, &[first.id], now, "Users with one address merged", &detail).await?;
            } else {
                let detail = format!(
                    "{addresses} are one address ({key}). They were not merged because more than one of them could \
                     sign in on its own (a password, or another account's single sign-on). {} (the oldest) keeps the \
                     address; the others keep their memberships, SSO links and sessions but can no longer be found \
                     by it, so they cannot sign in with a password nor accept an invitation. Remove from this \
                     account any of them who should not be here.",
                    first.email
                );
                let ids: Vec<Uuid> = group.iter().map(|u| u.id).collect();
                audit(db, &ids, now, "Users with one address", &detail).await?;
            }
        }
        let invitations = Query::select().columns(["id", "email"]).from("invitations").to_owned();
        for row in db.query_all(&invitations).await? {
            if let Some(key) = C::key(&row.try_get::<String>("", "email")?) {
                set_key(db, "invitations", row.try_get("", "id")?, &key).await?;
            }
        }
        manager
            .create_index(
                Index::create()
                    .name(KEY_INDEX)
                    .table("users")
                    .col(KEY)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    /// Merged users stay merged.
    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name(KEY_INDEX).table("users").to_owned())
            .await?;
        for table in ["users", "invitations"] {
            manager
                .alter_table(Table::alter().table(table).drop_column(KEY).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Unambiguous: none can sign in with a password and one account's SSO created them all, so they are one person at
/// one IdP, which sent the address in different spellings.
fn made_by_one_idp(group: &[User]) -> bool {
    group.iter().all(|u| !u.has_password && u.sso_account_id.is_some())
        && group.iter().all(|u| u.sso_account_id == group[0].sso_account_id)
}

async fn users(db: &impl ConnectionTrait) -> Result<Vec<User>, DbErr> {
    let query = Query::select()
        .columns(["id", "email", "password_hash", "created_at", "sso_account_id"])
        .from("users")
        .to_owned();
    db.query_all(&query)
        .await?
        .iter()
        .map(|row| {
            Ok(User {
                id: row.try_get("", "id")?,
                email: row.try_get("", "email")?,
                has_password: row.try_get::<Option<String>>("", "password_hash")?.is_some(),
                created_at: row.try_get("", "created_at")?,
                sso_account_id: row.try_get("", "sso_account_id")?,
            })
        })
        .collect()
}

async fn set_key(db: &impl ConnectionTrait, table: &str, id: Uuid, key: &str) -> Result<(), DbErr> {
    let update = Query::update()
        .table(table.to_owned())
        .value(KEY, key)
        .and_where(Expr::col("id").eq(id))
        .to_owned();
    db.execute(&update).await?;
    Ok(())
}

/// The user's memberships as account → role.
async fn memberships(db: &impl ConnectionTrait, user: Uuid) -> Result<HashMap<Uuid, String>, DbErr> {
    let query = Query::select()
        .columns(["account_id", "role"])
        .from("memberships")
        .and_where(Expr::col("user_id").eq(user))
        .to_owned();
    db.query_all(&query)
        .await?
        .iter()
        .map(|row: &QueryResult| Ok((row.try_get("", "account_id")?, row.try_get("", "role")?)))
        .collect()
}

/// Lower is more: an account's member keeps the stronger of two roles when two users become one.
fn rank(role: &str) -> u8 {
    match role {
        "owner" => 0,
        "admin" => 1,
        "viewer" => 2,
        _ => 3,
    }
}

/// Moves `from`'s memberships (keeping the stronger role where both belong) and SSO links to `into`, ends `from`'s
/// sessions and deletes it.
async fn merge(db: &impl ConnectionTrait, from: Uuid, into: Uuid) -> Result<(), DbErr> {
    let kept = memberships(db, into).await?;
    for (account, role) in memberships(db, from).await? {
        let membership = |user: Uuid| Expr::col("account_id").eq(account).and(Expr::col("user_id").eq(user));
        match kept.get(&account) {
            None => {
                let moved = Query::update()
                    .table("memberships")
                    .value("user_id", into)
                    .and_where(membership(from))
                    .to_owned();
                db.execute(&moved).await?;
            }
            Some(kept_role) => {
                if rank(&role) < rank(kept_role) {
                    let stronger = Query::update()
                        .table("memberships")
                        .value("role", role)
                        .and_where(membership(into))
                        .to_owned();
                    db.execute(&stronger).await?;
                }
                let dropped = Query::delete()
                    .from_table("memberships")
                    .and_where(membership(from))
                    .to_owned();
                db.execute(&dropped).await?;
            }
        }
    }
    let links = Query::update()
        .table("sso_links")
        .value("user_id", into)
        .and_where(Expr::col("user_id").eq(from))
        .to_owned();
    db.execute(&links).await?;
    for table in ["sessions", "sso_test_requests"] {
        let gone = Query::delete()
            .from_table(table)
            .and_where(Expr::col("user_id").eq(from))
            .to_owned();
        db.execute(&gone).await?;
    }
    let user = Query::delete()
        .from_table("users")
        .and_where(Expr::col("id").eq(from))
        .to_owned();
    db.execute(&user).await?;
    Ok(())
}

/// Writes the entry in the audit log of every account any of `users` belongs to, where its Owner and Admins read
/// it.
async fn audit(
    db: &impl ConnectionTrait,
    users: &[Uuid],
    at: DateTime<Utc>,
    action: &str,
    detail: &str,
) -> Result<(), DbErr> {
    let mut accounts = BTreeSet::new();
    for user in users {
        accounts.extend(memberships(db, *user).await?.into_keys());
    }
    for account in accounts {
        let entry = Query::insert()
            .into_table("audit_events")
            .columns(["id", "account_id", "at", "actor_email", "action", "detail"])
            .values_panic([
                Uuid::new_v4().into(),
                account.into(),
                at.into(),
                ACTOR.into(),
                action.into(),
                detail.into(),
            ])
            .to_owned();
        db.execute(&entry).await?;
    }
    Ok(())
}
