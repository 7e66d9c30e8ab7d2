//! Identity-provider connections, as rows.

use super::UniqueRow;
use super::policy::{AuditRow, insert_audit};
use super::schema::{metadata_refresh, role_mapping, sp_key, sso_connection};
use super::{Store, StoreError};
use crate::ids::{AccountId, ConnectionId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};

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
    /// When the last of `certificates` expires (`None` only in rows saved before it was kept).
    pub signing_valid_until: Option<DateTime<Utc>>,
    pub name_id_formats: Vec<String>,
    pub source: String,
    pub metadata_xml: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Storage name of the role given when no mapping matches.
    pub default_role: String,
    pub reapply_roles: bool,
    /// Every SSO endpoint the IdP offers, as `binding location`.
    pub sso_endpoints: Vec<String>,
    pub options: OptionsRow,
    pub metadata_url: Option<String>,
    pub monitor_metadata: bool,
    /// Base64 DER.
    pub metadata_signing_certificate: Option<String>,
    pub metadata_refresh_due_at: Option<DateTime<Utc>>,
}

/// A connection's sign-in options as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionsRow {
    pub allow_idp_initiated: bool,
    pub sign_authn_requests: bool,
    pub requested_authn_context: String,
    /// Empty for the NameID.
    pub email_attribute: String,
    pub allow_sha1: bool,
    pub clock_skew_seconds: i32,
}

/// One SP key pair as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpKeyRow {
    pub id: uuid::Uuid,
    pub connection_id: ConnectionId,
    pub state: String,
    /// Sealed (`v1:<key-encryption key id>:…`, `sso::keys_at_rest`); plain PEM only in rows written before keys
    /// were sealed, until the next start seals them.
    pub sealed_private_key: String,
    /// Base64 DER.
    pub certificate: String,
    pub created_at: DateTime<Utc>,
    /// When the certificate ends (`None` only in rows stored before it was kept).
    pub valid_until: Option<DateTime<Utc>>,
}

/// The IdP's own values from a newer version of its metadata: all a refresh writes. The connection's name,
/// options, source, URL and monitoring are its owner's, who may change them while a download runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshedIdpRow {
    /// The IdP the document was read for; a connection that no longer names it takes nothing.
    pub idp_entity_id: String,
    /// Every SSO endpoint the IdP offers, as `(binding, location)`, preferred first; never empty.
    pub sso_endpoints: Vec<(String, String)>,
    pub slo_url: Option<String>,
    pub slo_binding: Option<String>,
    /// Base64 DER.
    pub certificates: Vec<String>,
    /// When the last of `certificates` expires.
    pub signing_valid_until: DateTime<Utc>,
    pub name_id_formats: Vec<String>,
    pub metadata_xml: String,
}

/// One fetch of a monitored metadata URL and what came of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRow {
    pub connection_id: ConnectionId,
    pub at: DateTime<Utc>,
    pub outcome: String,
    pub detail: String,
}

/// How many refresh results are kept per connection.
pub const KEPT_REFRESHES: u64 = 20;

/// One role-mapping rule as stored: attribute name, attribute value, storage name of the role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingRow {
    pub attribute_name: String,
    pub attribute_value: String,
    pub role: String,
}

pub(super) fn lines(text: &str) -> Vec<String> {
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
            signing_valid_until: m.signing_valid_until,
            name_id_formats: lines(&m.name_id_formats),
            source: m.source,
            metadata_xml: m.metadata_xml,
            created_at: m.created_at,
            updated_at: m.updated_at,
            default_role: m.default_role,
            reapply_roles: m.reapply_roles,
            sso_endpoints: lines(&m.sso_endpoints),
            options: OptionsRow {
                allow_idp_initiated: m.allow_idp_initiated,
                sign_authn_requests: m.sign_authn_requests,
                requested_authn_context: m.requested_authn_context,
                email_attribute: m.email_attribute,
                allow_sha1: m.allow_sha1,
                clock_skew_seconds: m.clock_skew_seconds,
            },
            metadata_url: m.metadata_url,
            monitor_metadata: m.monitor_metadata,
            metadata_signing_certificate: m.metadata_signing_certificate,
            metadata_refresh_due_at: m.metadata_refresh_due_at,
        }
    }
}

impl ConnectionRow {
    /// Every column, for inserts; `write_settings` leaves out those an update must not touch.
    fn active_model(&self) -> sso_connection::ActiveModel {
        sso_connection::ActiveModel {
            id: Set(self.id.as_uuid()),
            account_id: Set(self.account_id.as_uuid()),
            label: Set(self.label.clone()),
            idp_entity_id: Set(self.idp_entity_id.clone()),
            sso_url: Set(self.sso_url.clone()),
            sso_binding: Set(self.sso_binding.clone()),
            slo_url: Set(self.slo_url.clone()),
            slo_binding: Set(self.slo_binding.clone()),
            certificates: Set(self.certificates.join("\n")),
            signing_valid_until: Set(self.signing_valid_until),
            name_id_formats: Set(self.name_id_formats.join("\n")),
            source: Set(self.source.clone()),
            metadata_xml: Set(self.metadata_xml.clone()),
            created_at: Set(self.created_at),
            updated_at: Set(self.updated_at),
            default_role: Set(self.default_role.clone()),
            reapply_roles: Set(self.reapply_roles),
            sso_endpoints: Set(self.sso_endpoints.join("\n")),
            allow_idp_initiated: Set(self.options.allow_idp_initiated),
            sign_authn_requests: Set(self.options.sign_authn_requests),
            requested_authn_context: Set(self.options.requested_authn_context.clone()),
            email_attribute: Set(self.options.email_attribute.clone()),
            allow_sha1: Set(self.options.allow_sha1),
            clock_skew_seconds: Set(self.options.clock_skew_seconds),
            metadata_url: Set(self.metadata_url.clone()),
            monitor_metadata: Set(self.monitor_metadata),
            metadata_signing_certificate: Set(self.metadata_signing_certificate.clone()),
            metadata_refresh_due_at: Set(self.metadata_refresh_due_at),
        }
    }
}

impl From<sp_key::Model> for SpKeyRow {
    fn from(m: sp_key::Model) -> Self {
        Self {
            id: m.id,
            connection_id: m.connection_id.into(),
            state: m.state,
            sealed_private_key: m.private_key_pem,
            certificate: m.certificate,
            created_at: m.created_at,
            valid_until: m.valid_until,
        }
    }
}

async fn insert_sp_key(db: &impl ConnectionTrait, key: &SpKeyRow) -> Result<(), StoreError> {
    sp_key::Entity::insert(sp_key::ActiveModel {
        id: Set(key.id),
        connection_id: Set(key.connection_id.as_uuid()),
        state: Set(key.state.clone()),
        private_key_pem: Set(key.sealed_private_key.clone()),
        certificate: Set(key.certificate.clone()),
        created_at: Set(key.created_at),
        valid_until: Set(key.valid_until),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Saves a connection's IdP settings and options; the role-mapping columns belong to `replace_role_mappings`.
async fn write_settings(db: &impl ConnectionTrait, row: &ConnectionRow) -> Result<(), StoreError> {
    let mut model = row.active_model();
    model.default_role = sea_orm::ActiveValue::NotSet;
    model.reapply_roles = sea_orm::ActiveValue::NotSet;
    model.created_at = sea_orm::ActiveValue::NotSet;
    sso_connection::Entity::update(model).exec(db).await?;
    Ok(())
}

/// Writes a refreshed IdP's values in one UPDATE; `false` when the connection no longer names that IdP. The
/// owner's choice of binding is read by the same statement, so a choice saved during the download stands; only
/// a binding the IdP no longer offers gives way to the IdP's preferred one.
async fn write_refreshed_idp(
    db: &impl ConnectionTrait,
    id: ConnectionId,
    idp: &RefreshedIdpRow,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    use sso_connection::Column;
    let ((preferred_binding, preferred_url), others) =
        idp.sso_endpoints.split_first().expect("an IdP offers an SSO endpoint");
    let offered = idp.sso_endpoints.iter().map(|(binding, _)| binding.clone());
    let binding = Expr::case(Column::SsoBinding.is_in(offered), Expr::col(Column::SsoBinding))
        .finally(Expr::val(preferred_binding.clone()));
    let url = others
        .iter()
        .fold(Expr::val(preferred_url.clone()), |otherwise, (binding, url)| {
            Expr::case(Column::SsoBinding.eq(binding.clone()), Expr::val(url.clone()))
                .finally(otherwise)
                .into()
        });
    let endpoints = idp
        .sso_endpoints
        .iter()
        .map(|(binding, url)| format!("{binding} {url}"));
    let result = sso_connection::Entity::update_many()
        .col_expr(Column::SsoUrl, url)
        .col_expr(Column::SsoBinding, binding.into())
        .col_expr(
            Column::SsoEndpoints,
            Expr::value(endpoints.collect::<Vec<_>>().join("\n")),
        )
        .col_expr(Column::SloUrl, Expr::value(idp.slo_url.clone()))
        .col_expr(Column::SloBinding, Expr::value(idp.slo_binding.clone()))
        .col_expr(Column::Certificates, Expr::value(idp.certificates.join("\n")))
        .col_expr(Column::SigningValidUntil, Expr::value(idp.signing_valid_until))
        .col_expr(Column::NameIdFormats, Expr::value(idp.name_id_formats.join("\n")))
        .col_expr(Column::MetadataXml, Expr::value(idp.metadata_xml.clone()))
        .col_expr(Column::UpdatedAt, Expr::value(at))
        .filter(Column::Id.eq(id.as_uuid()))
        .filter(Column::IdpEntityId.eq(idp.idp_entity_id.clone()))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Whether the account has this connection, read inside the caller's transaction.
async fn owns_connection(
    db: &impl ConnectionTrait,
    account_id: AccountId,
    id: ConnectionId,
) -> Result<bool, StoreError> {
    Ok(sso_connection::Entity::find_by_id(id.as_uuid())
        .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
        .unique_row(db)
        .await?
        .is_some())
}

impl Store {
    /// Adds a connection with its audit entry, in one transaction; a unique violation means the account has
    /// one to this IdP already.
    pub async fn insert_connection(
        &self,
        row: &ConnectionRow,
        keys: &[SpKeyRow],
        audit: &AuditRow,
    ) -> Result<(), StoreError> {
        let txn = self.writer.begin().await?;
        sso_connection::Entity::insert(row.active_model()).exec(&txn).await?;
        for key in keys {
            insert_sp_key(&txn, key).await?;
        }
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Replaces a connection's IdP settings and options (not its role mappings) with its audit entry, in one
    /// transaction; `false` when the account has no such connection. A unique violation means the account has
    /// another connection to the new IdP entity ID.
    pub async fn update_connection(&self, row: &ConnectionRow, audit: &AuditRow) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        if !owns_connection(&txn, row.account_id, row.id).await? {
            return Ok(false);
        }
        write_settings(&txn, row).await?;
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    pub async fn connection(
        &self,
        account_id: AccountId,
        id: ConnectionId,
    ) -> Result<Option<ConnectionRow>, StoreError> {
        Ok(sso_connection::Entity::find_by_id(id.as_uuid())
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .unique_row(&self.db)
            .await?
            .map(ConnectionRow::from))
    }

    /// Whether `id` is one of the account's own connections.
    pub async fn is_connection_of(&self, account_id: AccountId, id: ConnectionId) -> Result<bool, StoreError> {
        owns_connection(&self.db, account_id, id).await
    }

    /// A connection by id alone, for public endpoints that name it in their path (the SP metadata).
    pub async fn connection_by_id(&self, id: ConnectionId) -> Result<Option<ConnectionRow>, StoreError> {
        Ok(sso_connection::Entity::find_by_id(id.as_uuid())
            .unique_row(&self.db)
            .await?
            .map(ConnectionRow::from))
    }

    /// The connection's revision, which moves with every change to what signs users in through it (its row, role
    /// mappings, SP keys and its account's SSO policy; database triggers move it): how an instance knows that the
    /// connection it keeps in memory is still the stored one.
    pub async fn connection_revision(&self, id: ConnectionId) -> Result<Option<i64>, StoreError> {
        let revisions: Vec<i64> = sso_connection::Entity::find_by_id(id.as_uuid())
            .select_only()
            .column_as(Expr::col("revision"), "revision")
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(revisions.into_iter().next())
    }

    /// The connection's SP keys.
    pub async fn sp_keys(&self, connection_id: ConnectionId) -> Result<Vec<SpKeyRow>, StoreError> {
        Ok(sp_key::Entity::find()
            .filter(sp_key::Column::ConnectionId.eq(connection_id.as_uuid()))
            .order_by_asc(sp_key::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(SpKeyRow::from)
            .collect())
    }

    /// Adds a key (the next one, ahead of a rotation) with its audit entry; a unique violation means the
    /// connection has a key in that state already. `false` when the account has no such connection.
    pub async fn add_sp_key(
        &self,
        account_id: AccountId,
        key: &SpKeyRow,
        audit: &AuditRow,
    ) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        if !owns_connection(&txn, account_id, key.connection_id).await? {
            return Ok(false);
        }
        insert_sp_key(&txn, key).await?;
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Deletes the keys in state `delete`, then moves keys from one state to another in order, with the audit
    /// entry, in one transaction that holds the connection row locked: a rotation is `delete previous;
    /// active → previous; next → active`. `false` (and nothing changed) when the account has no such connection
    /// or no key is in state `requires`, such as when a concurrent rotation got there first.
    pub async fn shift_sp_keys(
        &self,
        account_id: AccountId,
        connection_id: ConnectionId,
        requires: &str,
        delete: Option<&str>,
        moves: &[(&str, &str)],
        audit: &AuditRow,
    ) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        let locked = sso_connection::Entity::find_by_id(connection_id.as_uuid())
            .filter(sso_connection::Column::AccountId.eq(account_id.as_uuid()))
            .lock_exclusive()
            .unique_row(&txn)
            .await?
            .is_some();
        let of_connection = sp_key::Column::ConnectionId.eq(connection_id.as_uuid());
        let required = sp_key::Entity::find()
            .filter(of_connection.clone())
            .filter(sp_key::Column::State.eq(requires))
            .count(&txn)
            .await?;
        if !locked || required == 0 {
            return Ok(false);
        }
        if let Some(state) = delete {
            sp_key::Entity::delete_many()
                .filter(of_connection.clone())
                .filter(sp_key::Column::State.eq(state))
                .exec(&txn)
                .await?;
        }
        for (from, to) in moves {
            sp_key::Entity::update_many()
                .col_expr(sp_key::Column::State, Expr::value(*to))
                .filter(of_connection.clone())
                .filter(sp_key::Column::State.eq(*from))
                .exec(&txn)
                .await?;
        }
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Gives every SP key whose stored private key does not begin with `keep_prefix` the value `rewrite` answers
    /// for its row, in one transaction that holds those rows locked: any error, from `rewrite` or the database,
    /// leaves every row as it was. Answers how many rows changed.
    pub async fn rewrite_sp_private_keys<E: From<StoreError>>(
        &self,
        keep_prefix: &str,
        mut rewrite: impl FnMut(&SpKeyRow) -> Result<String, E>,
    ) -> Result<usize, E> {
        let txn = self.writer.begin().await.map_err(StoreError::from)?;
        let rows = sp_key::Entity::find()
            .filter(
                Condition::all()
                    .add(sp_key::Column::PrivateKeyPem.starts_with(keep_prefix))
                    .not(),
            )
            .lock_exclusive()
            .all(&txn)
            .await
            .map_err(StoreError::from)?;
        let changed = rows.len();
        for row in rows.into_iter().map(SpKeyRow::from) {
            sp_key::Entity::update_many()
                .col_expr(sp_key::Column::PrivateKeyPem, Expr::value(rewrite(&row)?))
                .filter(sp_key::Column::Id.eq(row.id))
                .exec(&txn)
                .await
                .map_err(StoreError::from)?;
        }
        txn.commit().await.map_err(StoreError::from)?;
        Ok(changed)
    }

    /// Monitored connections whose metadata refresh is due, oldest first.
    pub async fn metadata_refreshes_due(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<ConnectionRow>, StoreError> {
        Ok(sso_connection::Entity::find()
            .filter(sso_connection::Column::MonitorMetadata.eq(true))
            .filter(sso_connection::Column::MetadataRefreshDueAt.lte(now))
            .order_by_asc(sso_connection::Column::MetadataRefreshDueAt)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(ConnectionRow::from)
            .collect())
    }

    /// Takes a due refresh for this process by moving its time to `lease_until`, only if no one else moved it
    /// since it was read (as `claim_domain_check` does for domains).
    pub async fn claim_metadata_refresh(
        &self,
        id: ConnectionId,
        due_at: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = sso_connection::Entity::update_many()
            .col_expr(sso_connection::Column::MetadataRefreshDueAt, Expr::value(lease_until))
            .filter(sso_connection::Column::Id.eq(id.as_uuid()))
            .filter(sso_connection::Column::MetadataRefreshDueAt.eq(due_at))
            .exec(&self.writer)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Records one refresh of the document at `metadata_url` and when the next is due; with `updated`, also
    /// saves the IdP's new values (nothing else of the connection) and the audit entry; all in one transaction.
    /// A connection removed, or given another URL or IdP, while the document was fetched records nothing
    /// (`false`). Only the newest [`KEPT_REFRESHES`] results are kept.
    pub async fn record_metadata_refresh(
        &self,
        refresh: &RefreshRow,
        metadata_url: &str,
        next_due: DateTime<Utc>,
        updated: Option<(&RefreshedIdpRow, &AuditRow)>,
    ) -> Result<bool, StoreError> {
        let txn = self.writer.begin().await?;
        let found = sso_connection::Entity::update_many()
            .col_expr(sso_connection::Column::MetadataRefreshDueAt, Expr::value(next_due))
            .filter(sso_connection::Column::Id.eq(refresh.connection_id.as_uuid()))
            .filter(sso_connection::Column::MetadataUrl.eq(metadata_url))
            .exec(&txn)
            .await?;
        if found.rows_affected == 0 {
            return Ok(false);
        }
        if let Some((idp, audit)) = updated {
            if !write_refreshed_idp(&txn, refresh.connection_id, idp, refresh.at).await? {
                return Ok(false);
            }
            insert_audit(&txn, audit).await?;
        }
        metadata_refresh::Entity::insert(metadata_refresh::ActiveModel {
            id: Set(uuid::Uuid::new_v4()),
            connection_id: Set(refresh.connection_id.as_uuid()),
            at: Set(refresh.at),
            outcome: Set(refresh.outcome.clone()),
            detail: Set(refresh.detail.clone()),
        })
        .exec(&txn)
        .await?;
        // SQLite accepts OFFSET only after a LIMIT, so the newest are skipped here instead.
        let stale: Vec<uuid::Uuid> = metadata_refresh::Entity::find()
            .filter(metadata_refresh::Column::ConnectionId.eq(refresh.connection_id.as_uuid()))
            .order_by_desc(metadata_refresh::Column::At)
            .all(&txn)
            .await?
            .into_iter()
            .skip(KEPT_REFRESHES as usize)
            .map(|m| m.id)
            .collect();
        if !stale.is_empty() {
            metadata_refresh::Entity::delete_many()
                .filter(metadata_refresh::Column::Id.is_in(stale))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(true)
    }

    /// The connection's newest [`KEPT_REFRESHES`] refresh results, newest first. Counted here rather than by a
    /// LIMIT, which SQLite would re-prepare at every call ([`UniqueRow`]): recording a result already deletes all
    /// but the newest, so at most a result or two more than that (written at the same moment) are read.
    pub async fn metadata_refreshes(&self, connection_id: ConnectionId) -> Result<Vec<RefreshRow>, StoreError> {
        Ok(metadata_refresh::Entity::find()
            .filter(metadata_refresh::Column::ConnectionId.eq(connection_id.as_uuid()))
            .order_by_desc(metadata_refresh::Column::At)
            .all(&self.db)
            .await?
            .into_iter()
            .take(KEPT_REFRESHES as usize)
            .map(|m| RefreshRow {
                connection_id: m.connection_id.into(),
                at: m.at,
                outcome: m.outcome,
                detail: m.detail,
            })
            .collect())
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
        let txn = self.writer.begin().await?;
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
        let txn = self.writer.begin().await?;
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
