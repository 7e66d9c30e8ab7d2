//! Users, their sessions and the sign-in throttle, as rows.

use super::UniqueRow;
use super::schema::{account, membership, session, sign_in_throttle, user};
use super::{Store, StoreError};
use crate::auth::{EmailAddress, SessionOrigin};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::saml::logout::IdpSession;
use crate::tenancy::Role;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Insert, PaginatorTrait, QueryFilter,
    TransactionTrait,
};

#[derive(Clone, Debug)]
pub struct UserRow {
    pub id: UserId,
    /// The address as typed, for display.
    pub email: String,
    pub password_hash: Option<String>,
    /// The account whose SSO created this user.
    pub sso_account_id: Option<AccountId>,
    /// Whether the user proved they receive mail at `email`; until then they can do nothing else.
    pub email_proven: bool,
}

#[derive(Clone, Debug)]
pub struct SessionRow {
    pub user: UserRow,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// The IdP session behind a session opened by SSO.
    pub idp_session: Option<IdpSession>,
    /// A session opened through a connection records it (the same column single logout uses); one without is a
    /// password session, as is every session opened before sessions recorded their connection.
    pub origin: SessionOrigin,
}

#[derive(Clone, Debug)]
pub struct ThrottleRow {
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<sign_in_throttle::Model> for ThrottleRow {
    fn from(m: sign_in_throttle::Model) -> Self {
        Self {
            failures: u32::try_from(m.failures).unwrap_or(0),
            locked_until: m.locked_until,
            updated_at: m.updated_at,
        }
    }
}

impl From<user::Model> for UserRow {
    fn from(m: user::Model) -> Self {
        Self {
            id: m.id.into(),
            email: m.email,
            password_hash: m.password_hash,
            sso_account_id: m.sso_account_id.map(Into::into),
            email_proven: m.email_proven_at.is_some(),
        }
    }
}

pub(super) async fn insert_membership(
    db: &impl sea_orm::ConnectionTrait,
    account_id: uuid::Uuid,
    user_id: uuid::Uuid,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    membership_insert(account_id, user_id, role, now)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The insert of a membership.
pub(super) fn membership_insert(
    account_id: uuid::Uuid,
    user_id: uuid::Uuid,
    role: Role,
    now: DateTime<Utc>,
) -> sea_orm::Insert<membership::ActiveModel> {
    membership::Entity::insert(membership::ActiveModel {
        account_id: Set(account_id),
        user_id: Set(user_id),
        role: Set(role.as_str().to_owned()),
        created_at: Set(now),
    })
}

impl Store {
    /// Sessions that have not expired, for the operator's metrics.
    pub async fn count_live_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(session::Entity::find()
            .filter(session::Column::ExpiresAt.gt(now))
            .count(&self.db)
            .await?)
    }

    /// Creates a user and the personal account it owns, in one transaction.
    /// A second user with the same address (canonical form) fails with a unique violation.
    pub async fn insert_user_with_account(
        &self,
        email: &EmailAddress,
        password_hash: &str,
        account_name: &str,
        now: DateTime<Utc>,
    ) -> Result<(UserId, AccountId), StoreError> {
        let user_id = UserId::new();
        let account_id = AccountId::new();
        let txn = self.writer.begin().await?;
        user::Entity::insert(user::ActiveModel {
            id: Set(user_id.as_uuid()),
            email: Set(email.display().to_owned()),
            email_key: Set(Some(email.key().to_owned())),
            password_hash: Set(Some(password_hash.to_owned())),
            created_at: Set(now),
            sso_account_id: Set(None),
            email_proven_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        account::Entity::insert(account::ActiveModel {
            id: Set(account_id.as_uuid()),
            name: Set(account_name.to_owned()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        insert_membership(&txn, account_id.as_uuid(), user_id.as_uuid(), Role::Owner, now).await?;
        txn.commit().await?;
        Ok((user_id, account_id))
    }

    /// The user with the address whose canonical form (`EmailAddress::key`) is `key`.
    pub async fn user_by_email(&self, key: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(user::Entity::find()
            .filter(user::Column::EmailKey.eq(key))
            .unique_row(&self.db)
            .await?
            .map(UserRow::from))
    }

    pub async fn user_by_id(&self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        Ok(user::Entity::find_by_id(id.as_uuid())
            .unique_row(&self.db)
            .await?
            .map(UserRow::from))
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        user_id: UserId,
        idp_session: Option<&IdpSession>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        insert_session(&self.writer, token_hash, user_id, idp_session, now, expires_at).await
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>, StoreError> {
        let Some(s) = session::Entity::find_by_id(token_hash.to_owned())
            .unique_row(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let user = user::Entity::find_by_id(s.user_id).unique_row(&self.db).await?;
        let origin = s
            .sso_connection_id
            .map_or(SessionOrigin::Password, |id| SessionOrigin::Sso(id.into()));
        let idp_session = match (s.sso_connection_id, s.sso_name_id) {
            (Some(connection_id), Some(name_id)) => Some(IdpSession {
                connection_id: ConnectionId::from(connection_id),
                name_id,
                name_id_format: s.sso_name_id_format,
                session_index: s.sso_session_index,
            }),
            _ => None,
        };
        Ok(user.map(|u| SessionRow {
            user: u.into(),
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            idp_session,
            origin,
        }))
    }

    pub async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, sea_orm::sea_query::Expr::value(now))
            .filter(session::Column::TokenHash.eq(token_hash))
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        session::Entity::delete_by_id(token_hash.to_owned())
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    /// Ends the sessions an IdP's LogoutRequest names: those opened through `connection_id` for `name_id` and,
    /// when the request lists SessionIndex values, only those IdP sessions. Answers how many ended.
    pub async fn delete_idp_sessions(
        &self,
        connection_id: ConnectionId,
        name_id: &str,
        session_indexes: &[String],
    ) -> Result<u64, StoreError> {
        let mut matching = Condition::all()
            .add(session::Column::SsoConnectionId.eq(connection_id.as_uuid()))
            .add(session::Column::SsoNameId.eq(name_id));
        if !session_indexes.is_empty() {
            matching = matching.add(session::Column::SsoSessionIndex.is_in(session_indexes.iter().cloned()));
        }
        let result = session::Entity::delete_many()
            .filter(matching)
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected)
    }

    /// Deletes sessions past their absolute expiry or unused since `idle_before`; answers how many.
    pub async fn delete_dead_sessions(
        &self,
        idle_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let result = session::Entity::delete_many()
            .filter(
                Condition::any()
                    .add(session::Column::ExpiresAt.lte(now))
                    .add(session::Column::LastSeenAt.lt(idle_before)),
            )
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected)
    }

    /// Deletes throttle counts untouched since `before` whose lock, if any, has ended.
    pub async fn delete_stale_throttles(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = sign_in_throttle::Entity::delete_many()
            .filter(sign_in_throttle::Column::UpdatedAt.lt(before))
            .filter(
                Condition::any()
                    .add(sign_in_throttle::Column::LockedUntil.is_null())
                    .add(sign_in_throttle::Column::LockedUntil.lte(now)),
            )
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected)
    }

    pub async fn throttle(&self, key: &str) -> Result<Option<ThrottleRow>, StoreError> {
        Ok(sign_in_throttle::Entity::find_by_id(key.to_owned())
            .unique_row(&self.db)
            .await?
            .map(ThrottleRow::from))
    }

    /// Counts one sign-in attempt against `key` in a single statement (an insert that adds one to the row when
    /// there is one), so concurrent attempts, from any number of server instances, each get a count of their
    /// own. A count untouched since `forget_before` starts again from one, without its lock. Answers the row as
    /// this attempt left it.
    pub async fn count_sign_in_attempt(
        &self,
        key: &str,
        forget_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<ThrottleRow, StoreError> {
        use sign_in_throttle::{Column, Entity};
        let no_lock: Option<DateTime<Utc>> = None;
        let quiet = Column::UpdatedAt.lt(forget_before);
        let attempt = sign_in_throttle::ActiveModel {
            key: Set(key.to_owned()),
            failures: Set(1),
            locked_until: Set(no_lock),
            updated_at: Set(now),
        };
        let row = Entity::insert(attempt)
            .on_conflict(
                OnConflict::column(Column::Key)
                    .value(
                        Column::Failures,
                        Expr::case(quiet.clone(), 1).finally(Expr::col((Entity, Column::Failures)).add(1)),
                    )
                    .value(
                        Column::LockedUntil,
                        Expr::case(quiet, no_lock).finally(Expr::col((Entity, Column::LockedUntil))),
                    )
                    .value(Column::UpdatedAt, now)
                    .to_owned(),
            )
            .exec_with_returning(&self.writer)
            .await?;
        Ok(row.into())
    }

    /// Locks `key` until `until` unless a lock is in force at `now`, in one statement: of several attempts racing
    /// for the lock, exactly one gets it. Answers whether this one did.
    pub async fn take_throttle_lock(
        &self,
        key: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use sign_in_throttle::Column;
        let result = sign_in_throttle::Entity::update_many()
            .col_expr(Column::LockedUntil, Expr::value(until))
            .filter(Column::Key.eq(key))
            .filter(
                Condition::any()
                    .add(Column::LockedUntil.is_null())
                    .add(Column::LockedUntil.lte(now)),
            )
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Takes back one counted attempt (the count never goes below zero) and the lock it took, if it took one and
    /// that lock is still the one in place.
    pub async fn take_back_sign_in_attempt(
        &self,
        key: &str,
        lock_taken: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        use sign_in_throttle::Column;
        let mut update = sign_in_throttle::Entity::update_many()
            .col_expr(Column::Failures, Expr::col(Column::Failures).sub(1))
            .filter(Column::Key.eq(key))
            .filter(Column::Failures.gt(0));
        if let Some(lock) = lock_taken {
            let no_lock: Option<DateTime<Utc>> = None;
            update = update.col_expr(
                Column::LockedUntil,
                Expr::case(Column::LockedUntil.eq(lock), no_lock)
                    .finally(Expr::col(Column::LockedUntil))
                    .into(),
            );
        }
        update.exec(&self.writer).await?;
        Ok(())
    }

    pub async fn clear_throttle(&self, key: &str) -> Result<(), StoreError> {
        sign_in_throttle::Entity::delete_by_id(key.to_owned())
            .exec(&self.writer)
            .await?;
        Ok(())
    }
}

pub(super) async fn insert_session(
    db: &impl ConnectionTrait,
    token_hash: &str,
    user_id: UserId,
    idp_session: Option<&IdpSession>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    session_insert(token_hash, user_id, idp_session, now, expires_at)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The insert of a new session's row.
pub(super) fn session_insert(
    token_hash: &str,
    user_id: UserId,
    idp_session: Option<&IdpSession>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Insert<session::ActiveModel> {
    session::Entity::insert(session::ActiveModel {
        token_hash: Set(token_hash.to_owned()),
        user_id: Set(user_id.as_uuid()),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(expires_at),
        sso_connection_id: Set(idp_session.map(|s| s.connection_id.as_uuid())),
        sso_name_id: Set(idp_session.map(|s| s.name_id.clone())),
        sso_name_id_format: Set(idp_session.and_then(|s| s.name_id_format.clone())),
        sso_session_index: Set(idp_session.and_then(|s| s.session_index.clone())),
    })
}
