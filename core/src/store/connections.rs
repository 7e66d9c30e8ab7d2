//! Identity-provider connections, as rows.

use super::policy::{AuditRow, insert_audit};
use super::schema::{role_mapping, sso_connection};
use super::{Store, StoreError};
use crate::ids::{AccountId, ConnectionId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, TransactionTrait};

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
    /// Storage name of the role given when no mapping matches.
    pub default_role: String,
    pub reapply_roles: bool,
}

/// One role-mapping rule as stored: attribute name, attribute value, storage name of the role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingRow {
    pub attribute_name: String,
    pub attribute_value: String,
    pub role: String,
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
            default_role: m.default_role,
            reapply_roles: m.reapply_roles,
        }
    }
}

impl Store {
    /// Adds a connection with its audit entry, in one transaction; a unique violation means the account has
    /// one to this IdP already.
    pub async fn insert_connection(&self, row: &ConnectionRow, audit: &AuditRow) -> Result<(), StoreError> {
        let txn = self.db.begin().await?;
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
            default_role: Set(row.default_role.clone()),
            reapply_roles: Set(row.reapply_roles),
        })
        .exec(&txn)
        .await?;
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
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

    /// Deletes the connection and, in the same transaction, routes its domains back to password sign-in and
    /// writes the audit entry; `false` when the account has no such connection.
    pub async fn delete_connection(
        &self,
        account_id: AccountId,
        id: ConnectionId,
        audit: &AuditRow,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let result = sso_connection::Entity::delete_many()
            .filter(sso_connection::Column::Id.eq(id.as_uuid()))
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        super::schema::domain::Entity::update_many()
            .col_expr(
                super::schema::domain::Column::ConnectionId,
                Expr::value(None::<uuid::Uuid>),
            )
            .filter(super::schema::domain::Column::ConnectionId.eq(id.as_uuid()))
            .exec(&txn)
            .await?;
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The connection's rules in evaluation order.
    pub async fn role_mappings(&self, connection_id: ConnectionId) -> Result<Vec<MappingRow>, StoreError> {
        Ok(role_mapping::Entity::find()
            .filter(role_mapping::Column::ConnectionId.eq(connection_id.as_uuid()))
            .order_by_asc(role_mapping::Column::Position)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| MappingRow {
                attribute_name: m.attribute_name,
                attribute_value: m.attribute_value,
                role: m.role,
            })
            .collect())
    }

    /// Replaces the connection's rules, default role and re-application setting, with the audit entry, in one
    /// transaction; `false` when the account has no such connection.
    pub async fn replace_role_mappings(
        &self,
        account_id: AccountId,
        connection_id: ConnectionId,
        rules: &[MappingRow],
        default_role: &str,
        reapply: bool,
        audit: &AuditRow,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin().await?;
        let updated = sso_connection::Entity::update_many()
            .col_expr(sso_connection::Column::DefaultRole, Expr::value(default_role))
            .col_expr(sso_connection::Column::ReapplyRoles, Expr::value(reapply))
            .col_expr(sso_connection::Column::UpdatedAt, Expr::value(audit.at))
            .filter(sso_connection::Column::Id.eq(connection_id.as_uuid()))
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            return Ok(false);
        }
        role_mapping::Entity::delete_many()
            .filter(role_mapping::Column::ConnectionId.eq(connection_id.as_uuid()))
            .exec(&txn)
            .await?;
        if !rules.is_empty() {
            role_mapping::Entity::insert_many(rules.iter().enumerate().map(|(position, rule)| {
                role_mapping::ActiveModel {
                    connection_id: Set(connection_id.as_uuid()),
                    position: Set(position as i32),
                    attribute_name: Set(rule.attribute_name.clone()),
                    attribute_value: Set(rule.attribute_value.clone()),
                    role: Set(rule.role.clone()),
                }
            }))
            .exec(&txn)
            .await?;
        }
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }
}
