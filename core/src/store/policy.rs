//! Each account's sign-in policy and its audit log, as rows.

use super::UniqueRow;
use super::schema::{audit_event, domain, sso_settings};
use super::{Store, StoreError};
use crate::ids::AccountId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolicyRow {
    pub sso_enabled: bool,
    pub enforce_sso: bool,
    pub no_separate_account: bool,
}

impl PolicyRow {
    /// Whether the account's SSO-provisioned members (but its Owner) sign in through SSO only.
    pub fn enforces_sso(&self) -> bool {
        self.sso_enabled && self.enforce_sso
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRow {
    pub account_id: AccountId,
    pub at: DateTime<Utc>,
    pub actor_email: String,
    pub action: String,
    pub detail: String,
}

impl Store {
    /// The account's policy; an account that never saved one has everything off.
    pub async fn sso_policy(&self, account_id: AccountId) -> Result<PolicyRow, StoreError> {
        Ok(sso_settings::Entity::find_by_id(account_id.as_uuid())
            .unique_row(&self.db)
            .await?
            .map(|m| PolicyRow {
                sso_enabled: m.sso_enabled,
                enforce_sso: m.enforce_sso,
                no_separate_account: m.no_separate_account,
            })
            .unwrap_or_default())
    }

    /// Saves the policy and its audit entry together: a change is never applied without its record.
    pub async fn save_sso_policy(
        &self,
        account_id: AccountId,
        policy: PolicyRow,
        audit: &AuditRow,
    ) -> Result<(), StoreError> {
        let txn = self.writer.begin().await?;
        sso_settings::Entity::insert(sso_settings::ActiveModel {
            account_id: Set(account_id.as_uuid()),
            sso_enabled: Set(policy.sso_enabled),
            enforce_sso: Set(policy.enforce_sso),
            no_separate_account: Set(policy.no_separate_account),
            updated_at: Set(audit.at),
        })
        .on_conflict(
            OnConflict::column(sso_settings::Column::AccountId)
                .update_columns([
                    sso_settings::Column::SsoEnabled,
                    sso_settings::Column::EnforceSso,
                    sso_settings::Column::NoSeparateAccount,
                    sso_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
        insert_audit(&txn, audit).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The newest `limit` entries of the account's audit log, newest first.
    /// Writes one audit entry for something that changes nothing else here.
    pub async fn insert_audit_entry(&self, audit: &AuditRow) -> Result<(), StoreError> {
        insert_audit(&self.writer, audit).await
    }

    pub async fn audit_events(&self, account_id: AccountId, limit: u64) -> Result<Vec<AuditRow>, StoreError> {
        Ok(audit_event::Entity::find()
            .filter(audit_event::Column::AccountId.eq(account_id.as_uuid()))
            .order_by_desc(audit_event::Column::At)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| AuditRow {
                account_id: m.account_id.into(),
                at: m.at,
                actor_email: m.actor_email,
                action: m.action,
                detail: m.detail,
            })
            .collect())
    }

    /// Whether one of the account's domains counts as verified now.
    pub async fn has_verified_domain(&self, account_id: AccountId) -> Result<bool, StoreError> {
        Ok(domain::Entity::find()
            .filter(domain::Column::AccountId.eq(account_id.as_uuid()))
            .filter(domain::Column::VerifiedName.is_not_null())
            .count(&self.db)
            .await?
            > 0)
    }

    /// Whether one of the account's domains counts as verified now and is routed to one of its connections: only
    /// then does turning SSO on send anyone to an identity provider.
    pub async fn has_routed_domain(&self, account_id: AccountId) -> Result<bool, StoreError> {
        Ok(domain::Entity::find()
            .filter(domain::Column::AccountId.eq(account_id.as_uuid()))
            .filter(domain::Column::VerifiedName.is_not_null())
            .filter(domain::Column::ConnectionId.is_not_null())
            .count(&self.db)
            .await?
            > 0)
    }
}

pub(super) async fn insert_audit(db: &impl ConnectionTrait, audit: &AuditRow) -> Result<(), StoreError> {
    audit_event::Entity::insert(audit_event::ActiveModel {
        id: Set(uuid::Uuid::new_v4()),
        account_id: Set(audit.account_id.as_uuid()),
        at: Set(audit.at),
        actor_email: Set(audit.actor_email.clone()),
        action: Set(audit.action.clone()),
        detail: Set(audit.detail.clone()),
    })
    .exec(db)
    .await?;
    Ok(())
}
