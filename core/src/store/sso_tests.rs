//! Test SSO requests as rows: the pending requests an Owner started to test a connection, and a read-only look
//! at the replay cache.

use super::UniqueRow;
use super::schema::{sso_assertion_seen, sso_test_request};
use super::{Store, StoreError};
use crate::ids::{ConnectionId, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

impl Store {
    /// Marks the pending request `request_id` as a Test SSO run started by `user_id`.
    pub async fn insert_test_request(
        &self,
        request_id: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sso_test_request::Entity::insert(sso_test_request::ActiveModel {
            request_id: Set(request_id.to_owned()),
            user_id: Set(user_id.as_uuid()),
            expires_at: Set(expires_at),
        })
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    /// Who started the pending request `request_id` as a Test SSO run; `None` for an ordinary sign-in.
    pub async fn test_request_user(&self, request_id: &str) -> Result<Option<UserId>, StoreError> {
        Ok(sso_test_request::Entity::find_by_id(request_id.to_owned())
            .unique_row(&self.db)
            .await?
            .map(|m| m.user_id.into()))
    }

    /// Deletes the marks of test requests that can no longer be used.
    pub async fn delete_expired_test_requests(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sso_test_request::Entity::delete_many()
            .filter(sso_test_request::Column::ExpiresAt.lt(now))
            .exec(&self.db)
            .await?
            .rows_affected)
    }

    /// Whether the connection already accepted the assertion `assertion_id`, without recording it.
    pub async fn assertion_seen(&self, connection_id: ConnectionId, assertion_id: &str) -> Result<bool, StoreError> {
        Ok(
            sso_assertion_seen::Entity::find_by_id((connection_id.as_uuid(), assertion_id.to_owned()))
                .unique_row(&self.db)
                .await?
                .is_some(),
        )
    }
}
