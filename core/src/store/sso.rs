//! SSO sign-in state as rows: pending AuthnRequests, assertions already accepted, and the SSO events log.

use super::UniqueRow;
use super::policy::{AuditRow, insert_audit};
use super::schema::{
    account, domain, membership, session, sso_assertion_seen, sso_connection, sso_event, sso_link, sso_request,
    sso_settings, sso_test_request, user,
};
use super::users::{insert_membership, membership_insert};
use super::{Store, StoreError};
use crate::auth::EmailAddress;
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::tenancy::Role;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, InsertStatement, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, FromQueryResult,
    Insert, Iterable, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};

/// A pending request just taken by its browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakenRequest {
    pub request: PendingRequestRow,
    /// Whether it is an Owner's own round trip ([`Store::owner_run`] tells which).
    pub owners_run: bool,
    /// The revision of the connection the response was posted to.
    pub posted_to_revision: i64,
}

/// A domain as a sign-in finds it: see [`Store::sign_in_domain`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignInDomain {
    /// The account that verified the domain.
    pub account: AccountId,
    /// The connection the domain is routed to; `None` for password sign-in.
    pub routed: Option<ConnectionId>,
    /// The member of that account the connection's link for the NameID leads to.
    pub linked: Option<LinkedMember>,
    /// Neither a link for the NameID nor a user with the email exists: a first sign-in that only inserts.
    pub newcomer: bool,
}

/// A linked user who is a member of the domain's account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedMember {
    pub user_id: UserId,
    pub email: String,
    pub role: Role,
}

/// A pending AuthnRequest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingRequestRow {
    pub id: String,
    pub connection_id: ConnectionId,
    pub browser_digest: String,
    pub return_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<sso_request::Model> for PendingRequestRow {
    fn from(m: sso_request::Model) -> Self {
        Self {
            id: m.id,
            connection_id: m.connection_id.into(),
            browser_digest: m.browser_digest,
            return_to: m.return_to,
            created_at: m.created_at,
            expires_at: m.expires_at,
        }
    }
}

/// One sign-in attempt as the owner reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoEventRow {
    pub account_id: AccountId,
    pub connection_id: Option<ConnectionId>,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub reference: String,
    pub reason: String,
    pub name_id: Option<String>,
    pub attributes: String,
    /// The response as received, while the retention period lasts.
    pub raw_response: Option<String>,
    /// A refusal's cause as a class (`sso::explanation::Cause`, serialized), where the owner can act on it.
    pub cause: Option<String>,
    /// What to change at the IdP, with the connection's values filled in.
    pub fix: Option<String>,
    /// What the ACS refused, as its facts (`sso::refusal::Refusal::to_stored`); the reason is worded from them.
    pub refusal: Option<String>,
}

/// Who signs in through SSO, and what the account's rules give them.
#[derive(Clone)]
pub struct Provisioning<'a> {
    pub account_id: AccountId,
    pub connection_id: ConnectionId,
    pub name_id: &'a str,
    pub email: &'a EmailAddress,
    /// The role the role mappings give.
    pub mapped_role: Role,
    /// Set an existing member's role to `mapped_role` (Enforce role mapping on every sign-in).
    pub reapply: bool,
    /// For a user created now: the name of the personal account they also get, or none (No separate account).
    pub personal_account: Option<&'a str>,
    /// The audit entry for a role this sign-in changes, given the role before.
    pub role_change_audit: &'a (dyn Fn(Role) -> AuditRow + Sync),
    /// The audit entry for an existing password user this sign-in takes over for the IdP.
    pub takeover_audit: &'a AuditRow,
    pub now: DateTime<Utc>,
}

/// What an assertion that no link covers yet does to the existing user with its email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExistingUser {
    /// The account's Owner: never taken over nor linked by an assertion (break-glass).
    Owner,
    /// A password user not created by this account's SSO: the domain's IdP takes them over.
    TakeOver,
    /// Anyone else: linked and signed in.
    SignIn,
}

impl ExistingUser {
    pub fn of(role_here: Option<Role>, has_password: bool, provisioned_here: bool) -> Self {
        match (role_here, has_password && !provisioned_here) {
            (Some(Role::Owner), _) => ExistingUser::Owner,
            (_, true) => ExistingUser::TakeOver,
            (_, false) => ExistingUser::SignIn,
        }
    }
}

/// Why an SSO identity may not sign in the user it names; nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkRefusal {
    /// The email names the account's Owner, who is never taken over nor linked by an assertion (break-glass).
    Owner,
    /// The (connection, NameID) link's user has an email whose domain no longer counts as verified in the account
    /// or is no longer routed to this connection.
    DomainNotRouted { linked_email: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    pub user_id: UserId,
    /// The user was created by this sign-in.
    pub created: bool,
    /// The user's role in the account after this sign-in.
    pub role: Role,
    /// The role before, when this sign-in changed it.
    pub role_before: Option<Role>,
    /// An existing user with a password was taken over: password removed, every session ended.
    pub taken_over: bool,
}

/// The ASCII (punycode) form of a stored address's domain, as verified names are stored; an address stored before
/// the canonical rule that the rule refuses keeps its domain lowercased.
pub(crate) fn ascii_email_domain(email: &str) -> String {
    match EmailAddress::parse(email) {
        Ok(email) => email.domain().to_owned(),
        Err(_) => email.rsplit_once('@').map_or("", |(_, d)| d).to_lowercase(),
    }
}

impl Store {
    /// What a sign-in through `connection_id` as (`name_id`, `email`) would do to an existing user, read only
    /// (Test SSO): `None` when it would create a user, `SignIn` when a link or the email leads to an ordinary user.
    pub async fn sign_in_preview(
        &self,
        account_id: AccountId,
        connection_id: ConnectionId,
        name_id: &str,
        email: &EmailAddress,
    ) -> Result<Option<ExistingUser>, StoreError> {
        let linked = sso_link::Entity::find_by_id((connection_id.as_uuid(), name_id.to_owned()))
            .unique_row(&self.db)
            .await?;
        if linked.is_some() {
            return Ok(Some(ExistingUser::SignIn));
        }
        let Some(existing) = self.user_by_email(email.key()).await? else {
            return Ok(None);
        };
        let role_here = self.role_of(account_id, existing.id).await?;
        let provisioned_here = existing.sso_account_id == Some(account_id);
        Ok(Some(ExistingUser::of(
            role_here,
            existing.password_hash.is_some(),
            provisioned_here,
        )))
    }
    /// What the ACS's domain and user rules read, in one statement: the account that verified the email's domain
    /// (ASCII form) and the connection it is routed to, who the (connection, NameID) link leads to, with their
    /// role in that account, and whether a user has the email. `None` when no account verified the domain.
    pub async fn sign_in_domain(
        &self,
        email: &EmailAddress,
        connection_id: ConnectionId,
        name_id: &str,
    ) -> Result<Option<SignInDomain>, StoreError> {
        let email_taken = Query::select()
            .expr(Expr::val(1))
            .from(user::Entity)
            .and_where(user::Column::EmailKey.eq(email.key()))
            .to_owned();
        let query = Query::select()
            .column((domain::Entity, domain::Column::AccountId))
            .column((domain::Entity, domain::Column::ConnectionId))
            .column((sso_link::Entity, sso_link::Column::UserId))
            .column((user::Entity, user::Column::Email))
            .column((membership::Entity, membership::Column::Role))
            .expr(Expr::exists(email_taken))
            .from(domain::Entity)
            .left_join(
                sso_link::Entity,
                Expr::col((sso_link::Entity, sso_link::Column::ConnectionId))
                    .eq(connection_id.as_uuid())
                    .and(Expr::col((sso_link::Entity, sso_link::Column::NameId)).eq(name_id)),
            )
            .left_join(
                user::Entity,
                Expr::col((user::Entity, user::Column::Id)).equals((sso_link::Entity, sso_link::Column::UserId)),
            )
            .left_join(
                membership::Entity,
                Expr::col((membership::Entity, membership::Column::UserId))
                    .equals((sso_link::Entity, sso_link::Column::UserId))
                    .and(
                        Expr::col((membership::Entity, membership::Column::AccountId))
                            .equals((domain::Entity, domain::Column::AccountId)),
                    ),
            )
            .and_where(Expr::col((domain::Entity, domain::Column::VerifiedName)).eq(email.domain()))
            .to_owned();
        let backend = self.db.get_database_backend();
        let Some(row) = self.db.query_one_raw(backend.build(&query)).await? else {
            return Ok(None);
        };
        let account: uuid::Uuid = row.try_get_by_index(0)?;
        let routed: Option<uuid::Uuid> = row.try_get_by_index(1)?;
        let linked_user: Option<uuid::Uuid> = row.try_get_by_index(2)?;
        let linked_email: Option<String> = row.try_get_by_index(3)?;
        let role: Option<String> = row.try_get_by_index(4)?;
        let email_taken: bool = row.try_get_by_index(5)?;
        let newcomer = linked_user.is_none() && !email_taken;
        let linked = match (linked_user, linked_email, role) {
            (Some(user_id), Some(email), Some(role)) => Some(LinkedMember {
                user_id: user_id.into(),
                email,
                role: role.parse::<Role>().unwrap_or(Role::NoAccess),
            }),
            _ => None,
        };
        Ok(Some(SignInDomain {
            account: account.into(),
            routed: routed.map(Into::into),
            linked,
            newcomer,
        }))
    }

    /// Stores a pending request. With `at_revision`, only while its connection is stored at that revision:
    /// `false` when the connection changed (or is gone) since the caller read it, and nothing is stored.
    pub async fn insert_pending_request(
        &self,
        row: &PendingRequestRow,
        at_revision: Option<i64>,
    ) -> Result<bool, StoreError> {
        use sso_request::Column;
        let values = [
            Expr::value(row.id.clone()),
            Expr::value(row.connection_id.as_uuid()),
            Expr::value(row.browser_digest.clone()),
            Expr::value(row.return_to.clone()),
            Expr::value(row.created_at),
            Expr::value(row.expires_at),
        ];
        // INSERT … SELECT …: the revision's check and the insert are one statement, so a sign-in through a kept
        // connection starts in one round trip to the database instead of two.
        let mut rows = Query::select();
        rows.exprs(values).from(sso_connection::Entity);
        rows.and_where(sso_connection::Column::Id.eq(row.connection_id.as_uuid()));
        if let Some(revision) = at_revision {
            rows.and_where(Expr::col("revision").eq(revision));
        }
        let insert = Query::insert()
            .into_table(sso_request::Entity)
            .columns([
                Column::Id,
                Column::ConnectionId,
                Column::BrowserDigest,
                Column::ReturnTo,
                Column::CreatedAt,
                Column::ExpiresAt,
            ])
            .select_from(rows)
            .map_err(|e| StoreError::Damaged(e.to_string()))?
            .to_owned();
        let backend = self.writer.get_database_backend();
        let inserted = self.writer.execute_raw(backend.build(&insert)).await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Marks the request used and returns it, only if it was unused and `browser_digest` is the digest of the
    /// browser that started it: a second use (a replayed response, a double submit) finds nothing, and neither
    /// does another browser, which therefore cannot use up someone else's request. With it comes whether the
    /// request is an Owner's own round trip ([`Self::owner_run`] tells which), so an ordinary sign-in needs no
    /// second statement to learn that it is one.
    ///
    /// It is posted to `posted_to`, and taken only while that connection exists: the statement also returns the
    /// connection's revision, which the response's check then needs not read on its own.
    pub async fn take_pending_request(
        &self,
        id: &str,
        browser_digest: &str,
        posted_to: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<Option<TakenRequest>, StoreError> {
        // One statement (UPDATE … RETURNING, SQLite 3.35 and PostgreSQL): each costs two hand-offs to and from
        // SQLite's worker thread.
        let posted_to_revision = Query::select()
            .expr(Expr::col("revision"))
            .from(sso_connection::Entity)
            .and_where(sso_connection::Column::Id.eq(posted_to.as_uuid()))
            .to_owned();
        let owners_run = Expr::exists(
            Query::select()
                .expr(Expr::value(1))
                .from(sso_test_request::Entity)
                .and_where(
                    Expr::col((sso_test_request::Entity, sso_test_request::Column::RequestId))
                        .equals((sso_request::Entity, sso_request::Column::Id)),
                )
                .to_owned(),
        );
        let columns = sso_request::Column::iter().map(|column| Expr::col((sso_request::Entity, column)));
        let update = Query::update()
            .table(sso_request::Entity)
            .value(sso_request::Column::UsedAt, Expr::value(now))
            .and_where(sso_request::Column::Id.eq(id))
            .and_where(sso_request::Column::BrowserDigest.eq(browser_digest))
            .and_where(sso_request::Column::UsedAt.is_null())
            .and_where(Expr::exists(posted_to_revision.clone()))
            .returning(
                Query::returning()
                    .exprs(columns.chain([owners_run, Expr::SubQuery(None, Box::new(posted_to_revision.into()))])),
            )
            .to_owned();
        let backend = self.writer.get_database_backend();
        let Some(row) = self.writer.query_one_raw(backend.build(&update)).await? else {
            return Ok(None);
        };
        let request = sso_request::Model::from_query_result(&row, "")?;
        let after_request = sso_request::Column::iter().count();
        Ok(Some(TakenRequest {
            request: request.into(),
            owners_run: row.try_get_by_index(after_request)?,
            posted_to_revision: row.try_get_by_index(after_request + 1)?,
        }))
    }

    /// A pending request and whether it was used.
    pub async fn pending_request(&self, id: &str) -> Result<Option<(PendingRequestRow, bool)>, StoreError> {
        Ok(sso_request::Entity::find_by_id(id.to_owned())
            .unique_row(&self.db)
            .await?
            .map(|m| {
                let used = m.used_at.is_some();
                (PendingRequestRow::from(m), used)
            }))
    }

    /// Records the ID of an accepted assertion or LogoutRequest (IdPs make both unique); `false` when the
    /// connection already accepted it (a replay).
    pub async fn remember_message(
        &self,
        connection_id: ConnectionId,
        assertion_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        remember_message(&self.writer, connection_id, assertion_id, expires_at).await
    }

    /// Deletes pending requests (AuthnRequests and LogoutRequests) and remembered message IDs that can no longer
    /// matter.
    pub async fn delete_expired_sso_state(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let requests = sso_request::Entity::delete_many()
            .filter(sso_request::Column::ExpiresAt.lt(now))
            .exec(&self.writer)
            .await?
            .rows_affected;
        let assertions = sso_assertion_seen::Entity::delete_many()
            .filter(sso_assertion_seen::Column::ExpiresAt.lt(now))
            .exec(&self.writer)
            .await?
            .rows_affected;
        let logouts = self.delete_expired_logout_requests(now).await?;
        Ok(requests + assertions + logouts)
    }

    /// The account and connection that sign in users of a verified domain (ASCII form), if any account holds it.
    pub async fn domain_route(&self, name: &str) -> Result<Option<(AccountId, Option<ConnectionId>)>, StoreError> {
        Ok(domain::Entity::find()
            .filter(domain::Column::VerifiedName.eq(name))
            .unique_row(&self.db)
            .await?
            .map(|d| (d.account_id.into(), d.connection_id.map(Into::into))))
    }

    /// The account and connection that claim a domain (ASCII form): it counts as verified in an account with SSO
    /// on and is routed to one of its connections, so that connection's IdP is authoritative for its users.
    /// One statement: every sign-in's discovery asks it.
    pub async fn domain_claim(&self, name: &str) -> Result<Option<(AccountId, ConnectionId)>, StoreError> {
        let query = Query::select()
            .column((domain::Entity, domain::Column::AccountId))
            .column((domain::Entity, domain::Column::ConnectionId))
            .from(domain::Entity)
            .inner_join(
                sso_settings::Entity,
                Expr::col((sso_settings::Entity, sso_settings::Column::AccountId))
                    .equals((domain::Entity, domain::Column::AccountId)),
            )
            .and_where(Expr::col((domain::Entity, domain::Column::VerifiedName)).eq(name))
            .and_where(Expr::col((domain::Entity, domain::Column::ConnectionId)).is_not_null())
            .and_where(Expr::col((sso_settings::Entity, sso_settings::Column::SsoEnabled)).eq(true))
            .to_owned();
        let backend = self.db.get_database_backend();
        let Some(row) = self.db.query_one_raw(backend.build(&query)).await? else {
            return Ok(None);
        };
        let account: uuid::Uuid = row.try_get_by_index(0)?;
        let connection: uuid::Uuid = row.try_get_by_index(1)?;
        Ok(Some((account.into(), connection.into())))
    }

    /// Forgets the raw responses of events older than `before`; the rest of each event stays.
    pub async fn forget_raw_responses(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sso_event::Entity::update_many()
            .col_expr(sso_event::Column::RawResponse, Expr::value(None::<String>))
            .filter(sso_event::Column::At.lt(before))
            .filter(sso_event::Column::RawResponse.is_not_null())
            .exec(&self.writer)
            .await?
            .rows_affected)
    }

    /// Deletes SSO events recorded before `before`.
    pub async fn forget_sso_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sso_event::Entity::delete_many()
            .filter(sso_event::Column::At.lt(before))
            .exec(&self.writer)
            .await?
            .rows_affected)
    }

    /// Keeps at most `per_account` SSO events of each account (the newest, in the order the events page lists
    /// them), deleting the rest.
    pub async fn cap_sso_events(&self, per_account: u64) -> Result<u64, StoreError> {
        let over: Vec<uuid::Uuid> = sso_event::Entity::find()
            .select_only()
            .column(sso_event::Column::AccountId)
            .group_by(sso_event::Column::AccountId)
            .having(Expr::expr(Func::count(Expr::col(sso_event::Column::Id))).gt(per_account))
            .into_tuple()
            .all(&self.db)
            .await?;
        let mut deleted = 0;
        for account_id in over {
            let of_account = sso_event::Column::AccountId.eq(account_id);
            // The last event kept; everything after it in the page order goes. Paging by OFFSET needs its LIMIT,
            // and this runs in the periodic clean-up, not per sign-in.
            #[allow(clippy::disallowed_methods)]
            let Some(last_kept) = sso_event::Entity::find()
                .filter(of_account.clone())
                .order_by_desc(sso_event::Column::At)
                .order_by_desc(sso_event::Column::Reference)
                .offset(per_account.saturating_sub(1))
                .limit(1)
                .one(&self.db)
                .await?
            else {
                continue;
            };
            deleted += sso_event::Entity::delete_many()
                .filter(of_account)
                .filter(
                    Condition::any().add(sso_event::Column::At.lt(last_kept.at)).add(
                        Condition::all()
                            .add(sso_event::Column::At.eq(last_kept.at))
                            .add(sso_event::Column::Reference.lt(last_kept.reference)),
                    ),
                )
                .exec(&self.writer)
                .await?
                .rows_affected;
        }
        Ok(deleted)
    }

    pub async fn insert_sso_event(&self, row: &SsoEventRow) -> Result<(), StoreError> {
        insert_sso_event(&self.writer, row).await
    }

    /// The account's SSO events, newest first; with `before` (an event's reference), only the ones older than
    /// that event (none when there is no such event).
    pub async fn sso_events(
        &self,
        account_id: AccountId,
        before: Option<&str>,
        limit: u64,
    ) -> Result<Vec<SsoEventRow>, StoreError> {
        let of_account = sso_event::Column::AccountId.eq(account_id.as_uuid());
        let mut query = sso_event::Entity::find()
            .filter(of_account.clone())
            .order_by_desc(sso_event::Column::At)
            .order_by_desc(sso_event::Column::Reference)
            .limit(limit);
        if let Some(reference) = before {
            // An owner's read, off the sign-in path; a reference is not a unique key, so LIMIT picks one row.
            #[allow(clippy::disallowed_methods)]
            let Some(anchor) = sso_event::Entity::find()
                .filter(of_account)
                .filter(sso_event::Column::Reference.eq(reference))
                .one(&self.db)
                .await?
            else {
                return Ok(Vec::new());
            };
            query = query.filter(
                Condition::any().add(sso_event::Column::At.lt(anchor.at)).add(
                    Condition::all()
                        .add(sso_event::Column::At.eq(anchor.at))
                        .add(sso_event::Column::Reference.lt(reference)),
                ),
            );
        }
        Ok(query
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| SsoEventRow {
                account_id: m.account_id.into(),
                connection_id: m.connection_id.map(Into::into),
                at: m.at,
                outcome: m.outcome,
                reference: m.reference,
                reason: m.reason,
                name_id: m.name_id,
                attributes: m.attributes,
                raw_response: m.raw_response,
                cause: m.cause,
                fix: m.fix,
                refusal: m.refusal,
            })
            .collect())
    }

    /// The raw response kept with one of the account's SSO events, while it is kept.
    pub async fn sso_event_response(
        &self,
        account_id: AccountId,
        reference: &str,
    ) -> Result<Option<String>, StoreError> {
        // An owner's read, off the sign-in path; a reference is not a unique key, so LIMIT picks one row.
        #[allow(clippy::disallowed_methods)]
        let raw = sso_event::Entity::find()
            .filter(sso_event::Column::AccountId.eq(account_id.as_uuid()))
            .filter(sso_event::Column::Reference.eq(reference))
            .one(&self.db)
            .await?;
        Ok(raw.and_then(|m| m.raw_response))
    }
}

/// Takes an existing password user over for the IdP of `p`'s account, inside the provisioning transaction: the
/// password goes, every session of the user ends (whoever held the password may be holding one), the user counts
/// as provisioned by this account from now on, and the audit log says so.
async fn take_over(
    txn: &sea_orm::DatabaseTransaction,
    user_id: uuid::Uuid,
    p: &Provisioning<'_>,
) -> Result<(), StoreError> {
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(None::<String>))
        .col_expr(user::Column::SsoAccountId, Expr::value(p.account_id.as_uuid()))
        // From here on the IdP vouches for the address.
        .col_expr(user::Column::EmailProvenAt, Expr::value(p.now))
        .filter(user::Column::Id.eq(user_id))
        .exec(txn)
        .await?;
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    insert_audit(txn, p.takeover_audit).await?;
    Ok(())
}

/// Finds or creates the user behind a verified SSO identity and sets their membership, in the ACS's transaction:
/// first the (connection, NameID) link, used only while the linked user's own email domain counts as verified
/// in this account and is routed to this connection; else, the first time, a user with the verified email,
/// which is then linked; else a new user without a password (and, unless the account says otherwise, a
/// personal account). The domain's IdP is authoritative for its users: an existing user with a password who
/// was not created by this account's SSO is taken over (password removed, every session ended, marked as
/// provisioned by this account, audited), except the account's Owner, whom an assertion never signs in
/// unlinked. A new member gets the mapped role; an existing one gets it again only with `reapply`, and never
/// when they are the Owner.
pub(super) async fn provision_sso_user(
    txn: &DatabaseTransaction,
    p: &Provisioning<'_>,
) -> Result<Result<Provisioned, LinkRefusal>, StoreError> {
    let linked = sso_link::Entity::find_by_id((p.connection_id.as_uuid(), p.name_id.to_owned()))
        .unique_row(txn)
        .await?
        .map(|l| l.user_id);
    let mut taken_over = false;
    let (user_id, created) = match linked {
        Some(user_id) => {
            let linked_email = user::Entity::find_by_id(user_id)
                .unique_row(txn)
                .await?
                .map(|u| u.email)
                .unwrap_or_default();
            let still_routed = domain::Entity::find()
                .filter(domain::Column::VerifiedName.eq(ascii_email_domain(&linked_email)))
                .filter(domain::Column::AccountId.eq(p.account_id.as_uuid()))
                .filter(domain::Column::ConnectionId.eq(p.connection_id.as_uuid()))
                .unique_row(txn)
                .await?
                .is_some();
            if !still_routed {
                return Ok(Err(LinkRefusal::DomainNotRouted { linked_email }));
            }
            (user_id, false)
        }
        None => {
            let existing = user::Entity::find()
                .filter(user::Column::EmailKey.eq(p.email.key()))
                .unique_row(txn)
                .await?;
            let (user_id, created) = match existing {
                Some(existing) => {
                    let role_here = membership::Entity::find_by_id((p.account_id.as_uuid(), existing.id))
                        .unique_row(txn)
                        .await?
                        .map(|m| m.role.parse::<Role>().unwrap_or(Role::NoAccess));
                    let provisioned_here = existing.sso_account_id == Some(p.account_id.as_uuid());
                    match ExistingUser::of(role_here, existing.password_hash.is_some(), provisioned_here) {
                        ExistingUser::Owner => return Ok(Err(LinkRefusal::Owner)),
                        ExistingUser::TakeOver => {
                            take_over(txn, existing.id, p).await?;
                            taken_over = true;
                        }
                        ExistingUser::SignIn => {}
                    }
                    (existing.id, false)
                }
                None => {
                    let user_id = UserId::new();
                    let backend = txn.get_database_backend();
                    for insert in new_user_inserts(p.account_id, user_id, p.email, p.personal_account, p.now) {
                        txn.execute_raw(backend.build(&insert)).await?;
                    }
                    (user_id.as_uuid(), true)
                }
            };
            sso_link_insert(p.connection_id, p.name_id, user_id.into(), p.now)
                .exec_without_returning(txn)
                .await?;
            (user_id, created)
        }
    };
    let current = membership::Entity::find_by_id((p.account_id.as_uuid(), user_id))
        .unique_row(txn)
        .await?
        .map(|m| m.role.parse::<Role>().unwrap_or(Role::NoAccess));
    let (role, role_before) = match current {
        None => {
            insert_membership(txn, p.account_id.as_uuid(), user_id, p.mapped_role, p.now).await?;
            (p.mapped_role, None)
        }
        Some(role) if p.reapply && role != Role::Owner && role != p.mapped_role => {
            membership::Entity::update_many()
                .col_expr(membership::Column::Role, Expr::value(p.mapped_role.as_str()))
                .filter(membership::Column::AccountId.eq(p.account_id.as_uuid()))
                .filter(membership::Column::UserId.eq(user_id))
                .exec(txn)
                .await?;
            insert_audit(txn, &(p.role_change_audit)(role)).await?;
            (p.mapped_role, Some(role))
        }
        Some(role) => (role, None),
    };
    Ok(Ok(Provisioned {
        user_id: user_id.into(),
        created,
        role,
        role_before,
        taken_over,
    }))
}

/// The inserts of a user SSO-provisioned into `account`, whose email no user has yet: the user, whose address the
/// IdP vouches for (at the domains routed to it), and with `personal_account` an account of their own, its Owner.
pub(super) fn new_user_inserts(
    account: AccountId,
    user_id: UserId,
    email: &EmailAddress,
    personal_account: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<InsertStatement> {
    let mut inserts = vec![
        user::Entity::insert(user::ActiveModel {
            id: Set(user_id.as_uuid()),
            email: Set(email.display().to_owned()),
            email_key: Set(Some(email.key().to_owned())),
            password_hash: Set(None),
            created_at: Set(now),
            sso_account_id: Set(Some(account.as_uuid())),
            email_proven_at: Set(Some(now)),
        })
        .into_query(),
    ];
    if let Some(name) = personal_account {
        let personal = AccountId::new();
        inserts.push(
            account::Entity::insert(account::ActiveModel {
                id: Set(personal.as_uuid()),
                name: Set(name.to_owned()),
                created_at: Set(now),
            })
            .into_query(),
        );
        inserts.push(membership_insert(personal.as_uuid(), user_id.as_uuid(), Role::Owner, now).into_query());
    }
    inserts
}

/// The insert of the link that signs `user_id` in when the connection asserts `name_id`.
pub(super) fn sso_link_insert(
    connection_id: ConnectionId,
    name_id: &str,
    user_id: UserId,
    now: DateTime<Utc>,
) -> Insert<sso_link::ActiveModel> {
    sso_link::Entity::insert(sso_link::ActiveModel {
        connection_id: Set(connection_id.as_uuid()),
        name_id: Set(name_id.to_owned()),
        user_id: Set(user_id.as_uuid()),
        created_at: Set(now),
    })
}

/// Records a message ID as used; `false` when it already was (a replay). A conflict is no error, so that inside a
/// transaction PostgreSQL goes on.
pub(super) async fn remember_message(
    db: &impl ConnectionTrait,
    connection_id: ConnectionId,
    assertion_id: &str,
    expires_at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let inserted = assertion_seen_insert(connection_id, assertion_id, expires_at)
        .on_conflict(
            OnConflict::columns([
                sso_assertion_seen::Column::ConnectionId,
                sso_assertion_seen::Column::AssertionId,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted == 1)
}

/// The insert of an assertion a connection accepted: its primary key is the connection and the assertion's ID, so a
/// second insert of the same assertion conflicts.
pub(super) fn assertion_seen_insert(
    connection_id: ConnectionId,
    assertion_id: &str,
    expires_at: DateTime<Utc>,
) -> Insert<sso_assertion_seen::ActiveModel> {
    sso_assertion_seen::Entity::insert(sso_assertion_seen::ActiveModel {
        connection_id: Set(connection_id.as_uuid()),
        assertion_id: Set(assertion_id.to_owned()),
        expires_at: Set(expires_at),
    })
}

pub(super) async fn insert_sso_event(db: &impl ConnectionTrait, row: &SsoEventRow) -> Result<(), StoreError> {
    sso_event_insert(row).exec_without_returning(db).await?;
    Ok(())
}

/// The insert of an SSO event's row.
pub(super) fn sso_event_insert(row: &SsoEventRow) -> Insert<sso_event::ActiveModel> {
    sso_event::Entity::insert(sso_event::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        account_id: Set(row.account_id.as_uuid()),
        connection_id: Set(row.connection_id.map(|c| c.as_uuid())),
        at: Set(row.at),
        outcome: Set(row.outcome.clone()),
        reference: Set(row.reference.clone()),
        reason: Set(row.reason.clone()),
        name_id: Set(row.name_id.clone()),
        attributes: Set(row.attributes.clone()),
        raw_response: Set(row.raw_response.clone()),
        cause: Set(row.cause.clone()),
        fix: Set(row.fix.clone()),
        refusal: Set(row.refusal.clone()),
    })
}
