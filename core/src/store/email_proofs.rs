//! The single-use links that prove a user's email address, and the proof itself, as rows.

use super::UniqueRow;
use super::schema::{email_proof, user};
use super::{Store, StoreError};
use crate::ids::UserId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

#[derive(Clone, Debug)]
pub struct EmailProofRow {
    pub token_hash: String,
    pub user_id: UserId,
    /// The address (canonical form) the link was sent to; it proves that address only.
    pub email_key: String,
    pub return_to: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Links sent to the user since `first_sent_at`, this one included.
    pub links_sent: u32,
    pub first_sent_at: DateTime<Utc>,
}

impl From<email_proof::Model> for EmailProofRow {
    fn from(m: email_proof::Model) -> Self {
        Self {
            token_hash: m.token_hash,
            user_id: m.user_id.into(),
            email_key: m.email_key,
            return_to: m.return_to,
            created_at: m.created_at,
            expires_at: m.expires_at,
            links_sent: u32::try_from(m.links_sent).unwrap_or(u32::MAX),
            first_sent_at: m.first_sent_at,
        }
    }
}

impl Store {
    /// Stores a new link for its user in place of any earlier one: only the newest link works.
    pub async fn replace_email_proof(&self, row: &EmailProofRow) -> Result<(), StoreError> {
        let txn = self.writer.begin().await?;
        email_proof::Entity::delete_many()
            .filter(email_proof::Column::UserId.eq(row.user_id.as_uuid()))
            .exec(&txn)
            .await?;
        email_proof::Entity::insert(email_proof::ActiveModel {
            token_hash: Set(row.token_hash.clone()),
            user_id: Set(row.user_id.as_uuid()),
            email_key: Set(row.email_key.clone()),
            return_to: Set(row.return_to.clone()),
            created_at: Set(row.created_at),
            expires_at: Set(row.expires_at),
            links_sent: Set(i32::try_from(row.links_sent).unwrap_or(i32::MAX)),
            first_sent_at: Set(row.first_sent_at),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The user's outstanding link, if any (there is at most one).
    pub async fn email_proof_of(&self, user_id: UserId) -> Result<Option<EmailProofRow>, StoreError> {
        Ok(email_proof::Entity::find()
            .filter(email_proof::Column::UserId.eq(user_id.as_uuid()))
            .all(&self.db)
            .await?
            .into_iter()
            .max_by_key(|m| m.created_at)
            .map(EmailProofRow::from))
    }

    pub async fn email_proof(&self, token_hash: &str) -> Result<Option<EmailProofRow>, StoreError> {
        Ok(email_proof::Entity::find_by_id(token_hash.to_owned())
            .unique_row(&self.db)
            .await?
            .map(EmailProofRow::from))
    }

    /// Uses the link `row` once: deletes it and marks its user's address proven, if the user still has the
    /// address it was sent to. Of concurrent uses only one deletes the row and gets `true`.
    pub async fn redeem_email_proof(&self, row: &EmailProofRow, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        let deleted = email_proof::Entity::delete_by_id(row.token_hash.clone())
            .exec(&txn)
            .await?
            .rows_affected;
        if deleted == 0 {
            return Ok(false);
        }
        let proven = user::Entity::update_many()
            .col_expr(user::Column::EmailProvenAt, Expr::value(now))
            .filter(user::Column::Id.eq(row.user_id.as_uuid()))
            .filter(user::Column::EmailKey.eq(row.email_key.as_str()))
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        Ok(proven == 1)
    }

    /// Deletes links past their expiry; answers how many.
    pub async fn delete_expired_email_proofs(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let result = email_proof::Entity::delete_many()
            .filter(email_proof::Column::ExpiresAt.lte(now))
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected)
    }
}
