//! Setup links and the sessions they open, as rows; each change to a link is written with its audit entry.

use super::UniqueRow;
use super::policy::{AuditRow, insert_audit};
use super::schema::{setup_link, setup_link_session, user};
use super::{Store, StoreError};
use crate::ids::{AccountId, SetupLinkId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupLinkRow {
    pub id: SetupLinkId,
    pub account_id: AccountId,
    pub name: String,
    pub created_by: UserId,
    /// The creator's address as it is now, for the audit log and the page the link opens.
    pub created_by_email: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A session opened with a setup link, with its link.
#[derive(Clone, Debug)]
pub struct SetupLinkSessionRow {
    pub expires_at: DateTime<Utc>,
    pub link: SetupLinkRow,
}

impl Store {
    /// Stores a new link under the digest of its secret, with its audit entry.
    pub async fn insert_setup_link(
        &self,
        row: &SetupLinkRow,
        token_hash: &str,
        audit: &AuditRow,
    ) -> Result<(), StoreError> {
        let txn = self.writer.begin().await?;
        setup_link::Entity::insert(setup_link::ActiveModel {
            id: Set(row.id.as_uuid()),
            token_hash: Set(token_hash.to_owned()),
            account_id: Set(row.account_id.as_uuid()),
            name: Set(row.name.clone()),
            created_by: Set(row.created_by.as_uuid()),
            created_at: Set(row.created_at),
            expires_at: Set(row.expires_at),
            revoked_at: Set(row.revoked_at),
            last_used_at: Set(row.last_used_at),
            finished_at: Set(row.finished_at),
        })
        .exec_without_returning(&txn)
        .await?;
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The account's links, newest first.
    pub async fn setup_links(&self, account_id: AccountId) -> Result<Vec<SetupLinkRow>, StoreError> {
        let models = setup_link::Entity::find()
            .filter(setup_link::Column::AccountId.eq(account_id.as_uuid()))
            .order_by_desc(setup_link::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let mut rows = Vec::with_capacity(models.len());
        for model in models {
            rows.push(self.setup_link_row(model).await?);
        }
        Ok(rows)
    }

    /// The link whose secret has the digest `token_hash`.
    pub async fn setup_link_by_token_hash(&self, token_hash: &str) -> Result<Option<SetupLinkRow>, StoreError> {
        let model = setup_link::Entity::find()
            .filter(setup_link::Column::TokenHash.eq(token_hash))
            .unique_row(&self.db)
            .await?;
        match model {
            Some(model) => Ok(Some(self.setup_link_row(model).await?)),
            None => Ok(None),
        }
    }

    /// Revokes the account's link and ends every session it opened, in one transaction with the audit entry;
    /// `false` when the account has no such link that is not revoked already.
    pub async fn revoke_setup_link(
        &self,
        account_id: AccountId,
        id: SetupLinkId,
        audit: &AuditRow,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        let revoked = setup_link::Entity::update_many()
            .col_expr(setup_link::Column::RevokedAt, Expr::value(now))
            .filter(setup_link::Column::Id.eq(id.as_uuid()))
            .filter(setup_link::Column::AccountId.eq(account_id.as_uuid()))
            .filter(setup_link::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if revoked == 0 {
            return Ok(false);
        }
        setup_link_session::Entity::delete_many()
            .filter(setup_link_session::Column::LinkId.eq(id.as_uuid()))
            .exec(&txn)
            .await?;
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Opens a session for the link and notes the link as used, with the audit entry.
    pub async fn insert_setup_link_session(
        &self,
        link: SetupLinkId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
        audit: &AuditRow,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.writer.begin().await?;
        setup_link_session::Entity::insert(setup_link_session::ActiveModel {
            token_hash: Set(token_hash.to_owned()),
            link_id: Set(link.as_uuid()),
            created_at: Set(now),
            expires_at: Set(expires_at),
        })
        .exec_without_returning(&txn)
        .await?;
        touch(&txn, link, now).await?;
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The session with the digest `token_hash`, with its link.
    pub async fn setup_link_session(&self, token_hash: &str) -> Result<Option<SetupLinkSessionRow>, StoreError> {
        let Some(session) = setup_link_session::Entity::find_by_id(token_hash.to_owned())
            .unique_row(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let Some(link) = setup_link::Entity::find_by_id(session.link_id)
            .unique_row(&self.db)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(SetupLinkSessionRow {
            expires_at: session.expires_at,
            link: self.setup_link_row(link).await?,
        }))
    }

    /// Notes that the link was used at `now`.
    pub async fn touch_setup_link(&self, link: SetupLinkId, now: DateTime<Utc>) -> Result<(), StoreError> {
        touch(&self.writer, link, now).await
    }

    pub async fn delete_setup_link_session(&self, token_hash: &str) -> Result<(), StoreError> {
        setup_link_session::Entity::delete_by_id(token_hash.to_owned())
            .exec(&self.writer)
            .await?;
        Ok(())
    }

    /// Deletes sessions past their expiry or whose link was revoked or expired; answers how many.
    pub async fn delete_dead_setup_link_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let dead_links: Vec<uuid::Uuid> = setup_link::Entity::find()
            .filter(
                sea_orm::Condition::any()
                    .add(setup_link::Column::ExpiresAt.lte(now))
                    .add(setup_link::Column::RevokedAt.is_not_null()),
            )
            .all(&self.db)
            .await?
            .into_iter()
            .map(|link| link.id)
            .collect();
        let result = setup_link_session::Entity::delete_many()
            .filter(
                sea_orm::Condition::any()
                    .add(setup_link_session::Column::ExpiresAt.lte(now))
                    .add(setup_link_session::Column::LinkId.is_in(dead_links)),
            )
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected)
    }

    /// Marks the link finished with the audit entry, once: of several calls only the first gets `true`.
    pub async fn finish_setup_link(
        &self,
        link: SetupLinkId,
        audit: &AuditRow,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        let finished = setup_link::Entity::update_many()
            .col_expr(setup_link::Column::FinishedAt, Expr::value(now))
            .filter(setup_link::Column::Id.eq(link.as_uuid()))
            .filter(setup_link::Column::FinishedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if finished == 0 {
            return Ok(false);
        }
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    async fn setup_link_row(&self, model: setup_link::Model) -> Result<SetupLinkRow, StoreError> {
        let created_by_email = user::Entity::find_by_id(model.created_by)
            .unique_row(&self.db)
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        Ok(SetupLinkRow {
            id: model.id.into(),
            account_id: model.account_id.into(),
            name: model.name,
            created_by: model.created_by.into(),
            created_by_email,
            created_at: model.created_at,
            expires_at: model.expires_at,
            revoked_at: model.revoked_at,
            last_used_at: model.last_used_at,
            finished_at: model.finished_at,
        })
    }
}

async fn touch(db: &impl sea_orm::ConnectionTrait, link: SetupLinkId, now: DateTime<Utc>) -> Result<(), StoreError> {
    setup_link::Entity::update_many()
        .col_expr(setup_link::Column::LastUsedAt, Expr::value(now))
        .filter(setup_link::Column::Id.eq(link.as_uuid()))
        .exec(db)
        .await?;
    Ok(())
}
