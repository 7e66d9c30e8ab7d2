//! Identity-provider connections, as rows.

use super::schema::sso_connection;
use super::{Store, StoreError};
use crate::ids::{AccountId, ConnectionId};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionRow {
    pub id: ConnectionId,
    pub account_id: AccountId,
    pub label: String,
    pub idp_entity_id: String,
    pub sso_url: String,
    pub sso_binding: String,
    pub slo_url: Option<String>,
    pub slo_binding: Option<String>,
    /// Base64 DER.
    pub certificates: Vec<String>,
    pub name_id_formats: Vec<String>,
    pub source: String,
    pub metadata_xml: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn lines(text: &str) -> Vec<String> {
    text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

impl From<sso_connection::Model> for ConnectionRow {
    fn from(m: sso_connection::Model) -> Self {
        Self {
            id: m.id.into(),
            account_id: m.account_id.into(),
            label: m.label,
            idp_entity_id: m.idp_entity_id,
            sso_url: m.sso_url,
            sso_binding: m.sso_binding,
            slo_url: m.slo_url,
            slo_binding: m.slo_binding,
            certificates: lines(&m.certificates),
            name_id_formats: lines(&m.name_id_formats),
            source: m.source,
            metadata_xml: m.metadata_xml,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

impl Store {
    /// Adds a connection; a unique violation means the account has one to this IdP already.
    pub async fn insert_connection(&self, row: &ConnectionRow) -> Result<(), StoreError> {
        sso_connection::Entity::insert(sso_connection::ActiveModel {
            id: Set(row.id.as_uuid()),
            account_id: Set(row.account_id.as_uuid()),
            label: Set(row.label.clone()),
            idp_entity_id: Set(row.idp_entity_id.clone()),
            sso_url: Set(row.sso_url.clone()),
            sso_binding: Set(row.sso_binding.clone()),
            slo_url: Set(row.slo_url.clone()),
            slo_binding: Set(row.slo_binding.clone()),
            certificates: Set(row.certificates.join("\n")),
            name_id_formats: Set(row.name_id_formats.join("\n")),
            source: Set(row.source.clone()),
            metadata_xml: Set(row.metadata_xml.clone()),
            created_at: Set(row.created_at),
            updated_at: Set(row.updated_at),
        })
        .exec(&self.db)
        .await?;
        Ok(())
    }

    pub async fn connections_of_account(&self, account_id: AccountId) -> Result<Vec<ConnectionRow>, StoreError> {
        Ok(sso_connection::Entity::find()
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .order_by_asc(sso_connection::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(ConnectionRow::from)
            .collect())
    }

    pub async fn count_connections(&self, account_id: AccountId) -> Result<u64, StoreError> {
        Ok(sso_connection::Entity::find()
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .count(&self.db)
            .await?)
    }

    pub async fn delete_connection(&self, account_id: AccountId, id: ConnectionId) -> Result<bool, StoreError> {
        let result = sso_connection::Entity::delete_many()
            .filter(sso_connection::Column::Id.eq(id.as_uuid()))
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .exec(&self.db)
            .await?;
        Ok(result.rows_affected == 1)
    }
}
