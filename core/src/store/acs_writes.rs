//! What one response at the ACS writes (the replay record, the user and their link, the session, the SSO event),
//! in one transaction: all of it is stored, or none.

use super::policy::AuditRow;
use super::sso::{LinkRefusal, Provisioned, Provisioning, SsoEventRow};
use super::{Store, StoreError, accounts, certificates, sso, sso_tests, users};
use crate::auth::EmailAddress;
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::saml::logout::IdpSession;
use crate::tenancy::Role;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CommonTableExpression, InsertStatement, SqliteQueryBuilder, Values, WithClause};
use sea_orm::sqlx::{self, Executor};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, QueryTrait, RuntimeErr, SqlErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use sea_query_sqlx::SqlxValues;

/// The open transaction of one response's writes. Dropped without [`AcsWrites::commit`], nothing is stored.
pub struct AcsWrites {
    txn: DatabaseTransaction,
}

/// A sign-in whose writes are inserts alone, as [`Store::store_sign_in_inserts`] stores them: a returning member's,
/// whose user and membership need no change, or a newcomer's. No transaction has to be open while the response's
/// rules run.
pub struct SignInInserts {
    pub connection_id: ConnectionId,
    pub assertion_id: String,
    /// Until when the assertion is kept as used: as long as it could be accepted.
    pub assertion_kept_until: DateTime<Utc>,
    pub session_token_hash: String,
    pub user_id: UserId,
    pub idp_session: IdpSession,
    pub at: DateTime<Utc>,
    pub session_expires_at: DateTime<Utc>,
    /// For a first sign-in whom no user's email and no link named when the domain was read: the user `user_id` to
    /// create.
    pub newcomer: Option<Newcomer>,
}

/// A user SSO-provisioned by their first sign-in: created, linked to the NameID and made a member.
pub struct Newcomer {
    pub account_id: AccountId,
    pub email: EmailAddress,
    pub name_id: String,
    pub role: Role,
    /// The name of the account of their own they also get, as its Owner; `None` with No separate account.
    pub personal_account: Option<String>,
}

/// How [`Store::store_sign_in_inserts`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InsertsStored {
    Stored,
    /// Nothing is stored: the connection accepted the assertion before (a replay, or a copy of the response that
    /// got here first).
    Replayed,
    /// Nothing is stored: the newcomer's email or link was stored by another sign-in since the domain was read.
    Raced,
}

impl Store {
    /// Stores a sign-in that only inserts: the assertion recorded as used, a newcomer's user, link and membership,
    /// the session, its SSO event and, when `certificate_used` names the certificate that verified it, that
    /// certificate's use. All of it, or nothing when an insert violates a unique key: the assertion's
    /// ([`InsertsStored::Replayed`]), or the newcomer's email or link ([`InsertsStored::Raced`]).
    ///
    /// Each round trip counts here (docs/performance.md, "Statements per sign-in"). On PostgreSQL the inserts are one
    /// statement of data-modifying CTEs, which is applied all or none (foreign keys are checked at its end): one
    /// round trip instead of the five to eleven of a transaction. SQLite has no such CTEs; its writer's thread runs
    /// them, with the transaction around them, as one command ([`Store::sqlite_transaction`]).
    pub async fn store_sign_in_inserts(
        &self,
        sign_in: &SignInInserts,
        event: &SsoEventRow,
        certificate_used: Option<&str>,
    ) -> Result<InsertsStored, StoreError> {
        let (connection_id, user_id, at) = (sign_in.connection_id, sign_in.user_id, sign_in.at);
        let mut inserts = vec![
            sso::assertion_seen_insert(connection_id, &sign_in.assertion_id, sign_in.assertion_kept_until).into_query(),
        ];
        if let Some(newcomer) = &sign_in.newcomer {
            let personal_account = newcomer.personal_account.as_deref();
            inserts.extend(sso::new_user_inserts(
                newcomer.account_id,
                user_id,
                &newcomer.email,
                personal_account,
                at,
            ));
            inserts.push(sso::sso_link_insert(connection_id, &newcomer.name_id, user_id, at).into_query());
            let membership =
                users::membership_insert(newcomer.account_id.as_uuid(), user_id.as_uuid(), newcomer.role, at);
            inserts.push(membership.into_query());
        }
        inserts.push(
            users::session_insert(
                &sign_in.session_token_hash,
                user_id,
                Some(&sign_in.idp_session),
                at,
                sign_in.session_expires_at,
            )
            .into_query(),
        );
        if let Some(fingerprint) = certificate_used {
            inserts.push(certificates::certificate_use_upsert(connection_id, fingerprint, at).into_query());
        }
        let event = sso::sso_event_insert(event).into_query();
        let stored = if self.writer.get_database_backend() == DbBackend::Postgres {
            let mut ctes = WithClause::new();
            for (n, insert) in inserts.into_iter().enumerate() {
                ctes.cte(
                    CommonTableExpression::new()
                        .query(insert)
                        .table_name(format!("write_{n}"))
                        .to_owned(),
                );
            }
            let statement = event.with(ctes);
            self.writer
                .execute_raw(DbBackend::Postgres.build(&statement))
                .await
                .map(drop)
        } else {
            self.sqlite_transaction(inserts.into_iter().chain([event])).await
        };
        match stored {
            Ok(()) => Ok(InsertsStored::Stored),
            Err(e) => match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(message)) if message.contains("sso_assertions_seen") => {
                    Ok(InsertsStored::Replayed)
                }
                Some(SqlErr::UniqueConstraintViolation(_)) if sign_in.newcomer.is_some() => Ok(InsertsStored::Raced),
                _ => Err(e.into()),
            },
        }
    }

    /// Opens the transaction of one response's writes, once every rule that only reads has passed, so that the
    /// writer connection is held for the writes alone. Provisioning reads before it writes: on SQLite a deferred
    /// transaction would fail at once with "database is locked" if another process wrote in between (the busy
    /// timeout never applies to that upgrade), so it takes the write lock at BEGIN and waits for it instead.
    /// PostgreSQL ignores the mode.
    pub async fn begin_acs_writes(&self) -> Result<AcsWrites, StoreError> {
        let txn = self
            .writer
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..TransactionOptions::default()
            })
            .await?;
        Ok(AcsWrites { txn })
    }
}

impl AcsWrites {
    /// Records the assertion's ID as used; `false` when the connection already accepted it (a replay).
    pub async fn remember_message(
        &self,
        connection_id: ConnectionId,
        assertion_id: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        sso::remember_message(&self.txn, connection_id, assertion_id, expires_at).await
    }

    pub async fn role_of(&self, account: AccountId, user: UserId) -> Result<Option<Role>, StoreError> {
        accounts::role_of(&self.txn, account, user).await
    }

    /// Finds or creates the user of a verified assertion and sets their membership (see [`Provisioning`]).
    pub async fn provision_sso_user(
        &self,
        p: &Provisioning<'_>,
    ) -> Result<Result<Provisioned, LinkRefusal>, StoreError> {
        sso::provision_sso_user(&self.txn, p).await
    }

    /// Links the Owner's user to an IdP identity, with its audit entry; `false` when the identity already signs in
    /// someone else.
    pub async fn link_owner(
        &self,
        connection_id: ConnectionId,
        name_id: &str,
        user_id: UserId,
        audit: &AuditRow,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        sso_tests::link_owner(&self.txn, connection_id, name_id, user_id, audit, now).await
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        user_id: UserId,
        idp_session: Option<&IdpSession>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        users::insert_session(&self.txn, token_hash, user_id, idp_session, now, expires_at).await
    }

    pub async fn insert_sso_event(&self, row: &SsoEventRow) -> Result<(), StoreError> {
        sso::insert_sso_event(&self.txn, row).await
    }

    /// Records that the IdP's certificate with this SHA-256 fingerprint verified the response.
    pub async fn record_certificate_use(
        &self,
        connection_id: ConnectionId,
        fingerprint: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        certificates::record_certificate_use(&self.txn, connection_id, fingerprint, at).await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        Ok(self.txn.commit().await?)
    }
}

impl Store {
    /// Runs `inserts` in one transaction, which takes SQLite's write lock at its `BEGIN`, as one command of the
    /// writer connection's thread: `BEGIN IMMEDIATE; INSERT …; …; COMMIT;`, which the thread runs in order and
    /// stops at the first statement that fails (sqlx binds each statement of a query to the next of its `?`
    /// arguments). sea-orm's transactions send `BEGIN` and `COMMIT` as commands of their own and wait for each:
    /// two more hand-offs to that thread and back for every sign-in (docs/performance.md).
    ///
    /// sqlx does not know of a transaction it did not open, so this one is always ended here, before the writer
    /// connection goes back to its pool (where the next statement would run inside it): a failed statement leaves
    /// it open (a constraint aborts only its own statement), and a `ROLLBACK` follows on the same connection; a
    /// connection whose `ROLLBACK` fails for another reason than there being no transaction (`BEGIN` itself
    /// failed) is closed instead. It runs in a task of its own, which a request dropped meanwhile does not stop.
    async fn sqlite_transaction(&self, inserts: impl IntoIterator<Item = InsertStatement>) -> Result<(), DbErr> {
        let (mut sql, mut values) = ("BEGIN IMMEDIATE;\n".to_owned(), Vec::new());
        for insert in inserts {
            let (text, Values(arguments)) = insert.build(SqliteQueryBuilder);
            sql.push_str(&text);
            sql.push_str(";\n");
            values.extend(arguments);
        }
        sql.push_str("COMMIT;");
        if let Some(observer) = &self.observer {
            (observer.0)(&sql);
        }
        let pool = self.writer.get_sqlite_connection_pool().clone();
        let transaction = tokio::spawn(async move {
            let mut connection = pool
                .acquire()
                .await
                .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(e.into())))?;
            let ran = sqlx::query_with(sqlx::AssertSqlSafe(sql), SqlxValues(Values(values)))
                .execute(&mut *connection)
                .await;
            if let Err(e) = ran {
                if let Err(rollback) = connection.execute("ROLLBACK").await
                    && !rollback.to_string().contains("no transaction is active")
                {
                    tracing::error!(error = %rollback, "ending a failed SQLite transaction failed; its connection is closed");
                    connection.close_on_drop();
                }
                return Err(DbErr::Exec(RuntimeErr::SqlxError(e.into())));
            }
            Ok(())
        });
        transaction
            .await
            .map_err(|e| DbErr::Custom(format!("the SQLite transaction's task ended: {e}")))?
    }
}
