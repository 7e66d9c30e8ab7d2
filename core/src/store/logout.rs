//! The LogoutRequests Gatehouse sent to IdPs, as rows: each one's IdP session, until its LogoutResponse takes it.

use super::UniqueRow;
use super::schema::sso_logout_request;
use super::{Store, StoreError};
use crate::ids::ConnectionId;
use crate::saml::logout::IdpSession;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

/// A LogoutRequest on its way to the IdP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogoutRequestRow {
    pub id: String,
    pub idp_session: IdpSession,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl From<sso_logout_request::Model> for LogoutRequestRow {
    fn from(m: sso_logout_request::Model) -> Self {
        Self {
            id: m.id,
            idp_session: IdpSession {
                connection_id: m.connection_id.into(),
                name_id: m.name_id,
                name_id_format: m.name_id_format,
                session_index: m.session_index,
            },
            created_at: m.created_at,
            expires_at: m.expires_at,
        }
    }
}

impl Store {
    pub async fn insert_logout_request(&self, row: &LogoutRequestRow) -> Result<(), StoreError> {
        sso_logout_request::Entity::insert(sso_logout_request::ActiveModel {
            id: Set(row.id.clone()),
            connection_id: Set(row.idp_session.connection_id.as_uuid()),
            name_id: Set(row.idp_session.name_id.clone()),
            name_id_format: Set(row.idp_session.name_id_format.clone()),
            session_index: Set(row.idp_session.session_index.clone()),
            created_at: Set(row.created_at),
            expires_at: Set(row.expires_at),
        })
        .exec_without_returning(&self.writer)
        .await?;
        Ok(())
    }

    /// A LogoutRequest of this connection that has not expired, whether or not it was answered yet.
    pub async fn logout_request(
        &self,
        id: &str,
        connection_id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<Option<LogoutRequestRow>, StoreError> {
        Ok(sso_logout_request::Entity::find_by_id(id.to_owned())
            .filter(sso_logout_request::Column::ConnectionId.eq(connection_id.as_uuid()))
            .filter(sso_logout_request::Column::ExpiresAt.gt(now))
            .unique_row(&self.db)
            .await?
            .map(LogoutRequestRow::from))
    }

    /// Removes and returns the LogoutRequest a LogoutResponse answers: once only, and only for its connection
    /// while it has not expired; a second answer (a replay) finds nothing.
    pub async fn take_logout_request(
        &self,
        id: &str,
        connection_id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<Option<LogoutRequestRow>, StoreError> {
        let Some(row) = self.logout_request(id, connection_id, now).await? else {
            return Ok(None);
        };
        let taken = sso_logout_request::Entity::delete_by_id(id.to_owned())
            .exec(&self.writer)
            .await?;
        Ok((taken.rows_affected == 1).then_some(row))
    }

    pub(super) async fn delete_expired_logout_requests(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(sso_logout_request::Entity::delete_many()
            .filter(sso_logout_request::Column::ExpiresAt.lt(now))
            .exec(&self.writer)
            .await?
            .rows_affected)
    }
}
