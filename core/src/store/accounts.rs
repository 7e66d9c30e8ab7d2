//! Accounts, their memberships and invitations, as rows.

use super::UniqueRow;
use super::schema::{account, invitation, membership, session, sso_connection, sso_link, user};
use super::{Store, StoreError};
use crate::ids::{AccountId, InvitationId, UserId};
use crate::tenancy::{AccountSummary, Member, Role};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use std::collections::HashMap;

#[derive(Clone, Debug)]
pub struct InvitationRow {
    pub id: InvitationId,
    pub account_id: AccountId,
    /// The invited address as typed.
    pub email: String,
    /// Its canonical form; `None` only for an old invitation whose address the canonical rule refuses.
    pub email_key: Option<String>,
    pub role: Role,
    pub invited_by: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

fn stored_role(text: &str) -> Role {
    // Roles are written only from `Role::as_str`, so an unknown value means a damaged row:
    // treat it as the least privileged role rather than failing the whole page.
    text.parse().unwrap_or(Role::NoAccess)
}

/// The users with their role and joining time from `memberships` (of one account), in the users' order.
fn with_roles(users: Vec<user::Model>, memberships: Vec<membership::Model>) -> Vec<Member> {
    let by_user: HashMap<_, _> = memberships.into_iter().map(|m| (m.user_id, m)).collect();
    users
        .into_iter()
        .filter_map(|u| {
            let m = by_user.get(&u.id)?;
            Some(Member {
                user_id: u.id.into(),
                email: u.email,
                role: stored_role(&m.role),
                joined_at: m.created_at,
            })
        })
        .collect()
}

/// Users who are members of the account and whose email, as typed or in its canonical form, contains `search`
/// (folded as addresses are, `EmailAddress::fold`): `%`, `_` and `\\` in it match only themselves.
fn member_filter(account_id: AccountId, search: &str) -> Condition {
    let members = Query::select()
        .column(membership::Column::UserId)
        .from(membership::Entity)
        .and_where(membership::Column::AccountId.eq(account_id.as_uuid()))
        .to_owned();
    let mut condition = Condition::all().add(user::Column::Id.in_subquery(members));
    if !search.is_empty() {
        let escaped: String = search
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                _ => vec![c],
            })
            .collect();
        let pattern = LikeExpr::new(format!("%{escaped}%")).escape('\\');
        condition = condition.add(
            Condition::any()
                .add(Expr::col(user::Column::EmailKey).like(pattern.clone()))
                .add(Expr::expr(Func::lower(Expr::col(user::Column::Email))).like(pattern)),
        );
    }
    condition
}

impl From<invitation::Model> for InvitationRow {
    fn from(m: invitation::Model) -> Self {
        Self {
            id: m.id.into(),
            account_id: m.account_id.into(),
            email: m.email,
            email_key: m.email_key,
            role: stored_role(&m.role),
            invited_by: m.invited_by.into(),
            created_at: m.created_at,
            expires_at: m.expires_at,
            accepted_at: m.accepted_at,
        }
    }
}

impl Store {
    pub async fn accounts_of_user(&self, user_id: UserId) -> Result<Vec<AccountSummary>, StoreError> {
        let memberships = membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id.as_uuid()))
            .all(&self.db)
            .await?;
        let ids = memberships.iter().map(|m| m.account_id);
        let accounts = account::Entity::find()
            .filter(account::Column::Id.is_in(ids))
            .order_by_asc(account::Column::Name)
            .all(&self.db)
            .await?;
        Ok(accounts
            .into_iter()
            .filter_map(|a| {
                let m = memberships.iter().find(|m| m.account_id == a.id)?;
                Some(AccountSummary {
                    id: a.id.into(),
                    name: a.name,
                    role: stored_role(&m.role),
                })
            })
            .collect())
    }

    pub async fn account_name(&self, account_id: AccountId) -> Result<Option<String>, StoreError> {
        Ok(account::Entity::find_by_id(account_id.as_uuid())
            .unique_row(&self.db)
            .await?
            .map(|a| a.name))
    }

    pub async fn rename_account(&self, account_id: AccountId, name: &str) -> Result<(), StoreError> {
        account::Entity::update_many()
            .col_expr(account::Column::Name, Expr::value(name))
            .filter(account::Column::Id.eq(account_id.as_uuid()))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn role_of(&self, account_id: AccountId, user_id: UserId) -> Result<Option<Role>, StoreError> {
        role_of(&self.db, account_id, user_id).await
    }

    pub async fn members(&self, account_id: AccountId) -> Result<Vec<Member>, StoreError> {
        let memberships = membership::Entity::find()
            .filter(membership::Column::AccountId.eq(account_id.as_uuid()))
            .all(&self.db)
            .await?;
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(memberships.iter().map(|m| m.user_id)))
            .order_by_asc(user::Column::Email)
            .all(&self.db)
            .await?;
        Ok(with_roles(users, memberships))
    }

    /// Members whose email contains `search` (already folded; any case matches), in email order, after the
    /// email `after`, at most `limit`: one page of the Members page.
    pub async fn members_page(
        &self,
        account_id: AccountId,
        search: &str,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<Member>, StoreError> {
        let mut users = user::Entity::find()
            .filter(member_filter(account_id, search))
            .order_by_asc(user::Column::Email)
            .limit(limit);
        if let Some(after) = after {
            users = users.filter(user::Column::Email.gt(after));
        }
        let users = users.all(&self.db).await?;
        let memberships = membership::Entity::find()
            .filter(membership::Column::AccountId.eq(account_id.as_uuid()))
            .filter(membership::Column::UserId.is_in(users.iter().map(|u| u.id)))
            .all(&self.db)
            .await?;
        Ok(with_roles(users, memberships))
    }

    /// How many members' emails contain `search` (already folded).
    pub async fn count_members(&self, account_id: AccountId, search: &str) -> Result<u64, StoreError> {
        Ok(user::Entity::find()
            .filter(member_filter(account_id, search))
            .count(&self.db)
            .await?)
    }

    /// Changes a non-owner member's role; false when there is no such non-owner member.
    pub async fn set_member_role(
        &self,
        account_id: AccountId,
        user_id: UserId,
        role: Role,
    ) -> Result<bool, StoreError> {
        let result = membership::Entity::update_many()
            .col_expr(membership::Column::Role, Expr::value(role.as_str()))
            .filter(membership::Column::AccountId.eq(account_id.as_uuid()))
            .filter(membership::Column::UserId.eq(user_id.as_uuid()))
            .filter(membership::Column::Role.ne(Role::Owner.as_str()))
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Removes a non-owner member from this account (their other memberships stay);
    /// false when there is no such non-owner member.
    /// Removes a non-owner member, in one transaction with what ties them to the account's SSO: their links to the
    /// account's connections (so a user re-created at the IdP links afresh at the next sign-in) and, for a user this
    /// account's SSO provisioned, their sessions (their identity belongs to this account's IdP).
    pub async fn delete_member(&self, account_id: AccountId, user_id: UserId) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        let removed = membership::Entity::delete_many()
            .filter(membership::Column::AccountId.eq(account_id.as_uuid()))
            .filter(membership::Column::UserId.eq(user_id.as_uuid()))
            .filter(membership::Column::Role.ne(Role::Owner.as_str()))
            .exec(&txn)
            .await?;
        if removed.rows_affected != 1 {
            return Ok(false);
        }
        let connections = sso_connection::Entity::find()
            .select_only()
            .column(sso_connection::Column::Id)
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .into_tuple::<uuid::Uuid>()
            .all(&txn)
            .await?;
        sso_link::Entity::delete_many()
            .filter(sso_link::Column::UserId.eq(user_id.as_uuid()))
            .filter(sso_link::Column::ConnectionId.is_in(connections))
            .exec(&txn)
            .await?;
        let provisioned_here = user::Entity::find_by_id(user_id.as_uuid())
            .unique_row(&txn)
            .await?
            .is_some_and(|u| u.sso_account_id == Some(account_id.as_uuid()));
        if provisioned_here {
            session::Entity::delete_many()
                .filter(session::Column::UserId.eq(user_id.as_uuid()))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// Makes `to` the Owner and `from` an Admin, atomically, so the account never has zero or two owners.
    pub async fn transfer_ownership(&self, account_id: AccountId, from: UserId, to: UserId) -> Result<(), StoreError> {
        let txn = self.writer.begin().await?;
        let demoted = membership::Entity::update_many()
            .col_expr(membership::Column::Role, Expr::value(Role::Admin.as_str()))
            .filter(membership::Column::AccountId.eq(account_id.as_uuid()))
            .filter(membership::Column::UserId.eq(from.as_uuid()))
            .filter(membership::Column::Role.eq(Role::Owner.as_str()))
            .exec(&txn)
            .await?;
        let promoted = membership::Entity::update_many()
            .col_expr(membership::Column::Role, Expr::value(Role::Owner.as_str()))
            .filter(membership::Column::AccountId.eq(account_id.as_uuid()))
            .filter(membership::Column::UserId.eq(to.as_uuid()))
            .exec(&txn)
            .await?;
        if demoted.rows_affected != 1 || promoted.rows_affected != 1 {
            txn.rollback().await?;
            return Err(StoreError::Conflict("ownership changed meanwhile".into()));
        }
        txn.commit().await?;
        Ok(())
    }

    /// Stores an invitation, replacing a pending one for the same address (canonical form) in the same account.
    pub async fn replace_invitation(&self, row: &InvitationRow, token_hash: &str) -> Result<(), StoreError> {
        let txn = self.writer.begin().await?;
        invitation::Entity::delete_many()
            .filter(invitation::Column::AccountId.eq(row.account_id.as_uuid()))
            .filter(invitation::Column::EmailKey.eq(row.email_key.clone()))
            .filter(invitation::Column::AcceptedAt.is_null())
            .exec(&txn)
            .await?;
        invitation::Entity::insert(invitation::ActiveModel {
            id: Set(row.id.as_uuid()),
            account_id: Set(row.account_id.as_uuid()),
            email: Set(row.email.clone()),
            email_key: Set(row.email_key.clone()),
            role: Set(row.role.as_str().to_owned()),
            token_hash: Set(token_hash.to_owned()),
            invited_by: Set(row.invited_by.as_uuid()),
            created_at: Set(row.created_at),
            expires_at: Set(row.expires_at),
            accepted_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    pub async fn pending_invitations(&self, account_id: AccountId) -> Result<Vec<InvitationRow>, StoreError> {
        Ok(invitation::Entity::find()
            .filter(invitation::Column::AccountId.eq(account_id.as_uuid()))
            .filter(invitation::Column::AcceptedAt.is_null())
            .order_by_desc(invitation::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(InvitationRow::from)
            .collect())
    }

    pub async fn invitation_by_token_hash(&self, token_hash: &str) -> Result<Option<InvitationRow>, StoreError> {
        Ok(invitation::Entity::find()
            .filter(invitation::Column::TokenHash.eq(token_hash))
            .unique_row(&self.db)
            .await?
            .map(InvitationRow::from))
    }

    pub async fn delete_invitation(&self, account_id: AccountId, id: InvitationId) -> Result<bool, StoreError> {
        let result = invitation::Entity::delete_many()
            .filter(invitation::Column::AccountId.eq(account_id.as_uuid()))
            .filter(invitation::Column::Id.eq(id.as_uuid()))
            .filter(invitation::Column::AcceptedAt.is_null())
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Marks the invitation used and adds the membership, atomically; an invitation is used once,
    /// even when two requests race for it.
    pub async fn accept_invitation(
        &self,
        invitation: &InvitationRow,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.writer.begin().await?;
        let used = invitation::Entity::update_many()
            .col_expr(invitation::Column::AcceptedAt, Expr::value(now))
            .filter(invitation::Column::Id.eq(invitation.id.as_uuid()))
            .filter(invitation::Column::AcceptedAt.is_null())
            .exec(&txn)
            .await?;
        if used.rows_affected != 1 {
            txn.rollback().await?;
            return Err(StoreError::Conflict("invitation already used".into()));
        }
        membership::Entity::insert(membership::ActiveModel {
            account_id: Set(invitation.account_id.as_uuid()),
            user_id: Set(user_id.as_uuid()),
            role: Set(invitation.role.as_str().to_owned()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }
}

pub(super) async fn role_of(
    db: &impl ConnectionTrait,
    account_id: AccountId,
    user_id: UserId,
) -> Result<Option<Role>, StoreError> {
    Ok(
        membership::Entity::find_by_id((account_id.as_uuid(), user_id.as_uuid()))
            .unique_row(db)
            .await?
            .map(|m| stored_role(&m.role)),
    )
}
