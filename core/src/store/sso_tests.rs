//! The Owner's own round trips through a connection as rows (Test SSO runs and deliberate links: the pending
//! requests they started, and who started them), the Owner's links, and a read-only look at the replay cache.

use super::UniqueRow;
use super::policy::{AuditRow, insert_audit};
use super::schema::{sso_assertion_seen, sso_connection, sso_last_test, sso_link, sso_test_request, user};
use super::{Store, StoreError};
use crate::ids::{AccountId, ConnectionId, UserId};
use crate::sso::test_sso::TestSummary;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

/// What an Owner's own round trip through a connection is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerRunPurpose {
    /// Test SSO: the response is checked and reported; it signs no one in.
    Test,
    /// The Owner links their user to their identity at the IdP.
    Link,
}

impl OwnerRunPurpose {
    fn as_str(self) -> &'static str {
        match self {
            OwnerRunPurpose::Test => "test",
            OwnerRunPurpose::Link => "link",
        }
    }
}

/// A pending request the Owner started for themselves: who (and their email), and what for.
#[derive(Clone, Debug)]
pub struct OwnerRun {
    pub user_id: UserId,
    pub email: String,
    pub purpose: OwnerRunPurpose,
}

impl Store {
    /// Marks the pending request `request_id` as `user_id`'s own round trip for `purpose`.
    pub async fn insert_owner_run(
        &self,
        request_id: &str,
        user_id: UserId,
        purpose: OwnerRunPurpose,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sso_test_request::Entity::insert(sso_test_request::ActiveModel {
            request_id: Set(request_id.to_owned()),
            user_id: Set(user_id.as_uuid()),
            expires_at: Set(expires_at),
            purpose: Set(purpose.as_str().to_owned()),
        })
        .exec_without_returning(&self.writer)
        .await?;
        Ok(())
    }

    /// The Owner's round trip behind the pending request `request_id`; `None` for an ordinary sign-in.
    pub async fn owner_run(&self, request_id: &str) -> Result<Option<OwnerRun>, StoreError> {
        let Some(run) = sso_test_request::Entity::find_by_id(request_id.to_owned())
            .unique_row(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let email = user::Entity::find_by_id(run.user_id)
            .unique_row(&self.db)
            .await?
            .map(|u| u.email)
            .unwrap_or_default();
        Ok(Some(OwnerRun {
            user_id: run.user_id.into(),
            email,
            purpose: if run.purpose == OwnerRunPurpose::Link.as_str() {
                OwnerRunPurpose::Link
            } else {
                OwnerRunPurpose::Test
            },
        }))
    }

    /// Deletes the marks of test requests that can no longer be used.
    pub async fn delete_expired_test_requests(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sso_test_request::Entity::delete_many()
            .filter(sso_test_request::Column::ExpiresAt.lt(now))
            .exec(&self.writer)
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

    /// Keeps `summary` as the connection's last Test SSO run, in place of the one before.
    pub async fn record_last_test(
        &self,
        connection_id: ConnectionId,
        at: DateTime<Utc>,
        summary: &TestSummary,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(summary).map_err(|e| StoreError::Damaged(e.to_string()))?;
        sso_last_test::Entity::insert(sso_last_test::ActiveModel {
            connection_id: Set(connection_id.as_uuid()),
            tested_at: Set(at),
            reference: Set(summary.reference.clone()),
            summary: Set(json),
        })
        .on_conflict(
            OnConflict::column(sso_last_test::Column::ConnectionId)
                .update_columns([
                    sso_last_test::Column::TestedAt,
                    sso_last_test::Column::Reference,
                    sso_last_test::Column::Summary,
                ])
                .to_owned(),
        )
        .exec_without_returning(&self.writer)
        .await?;
        Ok(())
    }

    /// The last Test SSO run of each of the account's connections that was tested, with when it ran.
    pub async fn last_tests(
        &self,
        account_id: AccountId,
    ) -> Result<Vec<(ConnectionId, DateTime<Utc>, TestSummary)>, StoreError> {
        let of_account = Query::select()
            .column(sso_connection::Column::Id)
            .from(sso_connection::Entity)
            .and_where(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .to_owned();
        Ok(sso_last_test::Entity::find()
            .filter(sso_last_test::Column::ConnectionId.in_subquery(of_account))
            .all(&self.db)
            .await?
            .into_iter()
            // A summary is only the display of a past run, replaced by the next one: one that no longer reads is
            // left out (and logged) rather than failing the page that lists the connections.
            .filter_map(|row| match serde_json::from_str(&row.summary) {
                Ok(summary) => Some((row.connection_id.into(), row.tested_at, summary)),
                Err(e) => {
                    tracing::warn!(connection = %row.connection_id, error = %e, "unreadable last Test SSO summary left out");
                    None
                }
            })
            .collect())
    }
}

/// Links the IdP identity (`connection_id`, `name_id`) to the Owner's user, with its audit entry, in the ACS's
/// transaction; `false` when the identity already signs in someone else.
pub(super) async fn link_owner(
    txn: &DatabaseTransaction,
    connection_id: ConnectionId,
    name_id: &str,
    user_id: UserId,
    audit: &AuditRow,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let existing = sso_link::Entity::find_by_id((connection_id.as_uuid(), name_id.to_owned()))
        .unique_row(txn)
        .await?;
    match existing {
        Some(link) if link.user_id != user_id.as_uuid() => return Ok(false),
        Some(_) => {}
        None => {
            sso_link::Entity::insert(sso_link::ActiveModel {
                connection_id: Set(connection_id.as_uuid()),
                name_id: Set(name_id.to_owned()),
                user_id: Set(user_id.as_uuid()),
                created_at: Set(now),
            })
            .exec_without_returning(txn)
            .await?;
        }
    }
    insert_audit(txn, audit).await?;
    Ok(true)
}
