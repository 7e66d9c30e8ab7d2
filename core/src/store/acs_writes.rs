//! What one response at the ACS writes (the replay record, the user and their link, the session, the SSO event),
//! in one transaction: all of it is stored, or none.

use super::policy::AuditRow;
use super::sso::{LinkRefusal, Provisioned, Provisioning, SsoEventRow};
use super::{Store, StoreError, accounts, certificates, sso, sso_tests, users};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::saml::logout::IdpSession;
use crate::tenancy::Role;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait};

/// The open transaction of one response's writes. Dropped without [`AcsWrites::commit`], nothing is stored.
pub struct AcsWrites {
    txn: DatabaseTransaction,
}

impl Store {
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
