//! The account's audit log (who changed which SSO setting, when, from what to what) and its SSO events (how
//! each sign-in through an identity provider went).

use crate::auth::Caller;
use crate::ids::AccountId;
use crate::store::{AuditRow, SsoEventRow, Store, StoreError};
use crate::tenancy::{Permission, TenancyError, TenancyService};
use chrono::{DateTime, Utc};

/// How many audit entries the page shows.
pub const AUDIT_PAGE: u64 = 100;
/// How many SSO events one page shows (each may carry many attributes).
pub const SSO_EVENTS_PAGE: u64 = 25;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub actor_email: String,
    /// What was done, e.g. "Connection added".
    pub action: String,
    /// What changed, with before and after where there is a before.
    pub detail: String,
}

/// An entry about to be written for a change `caller` made.
pub(crate) fn entry(account: AccountId, caller: &Caller, at: DateTime<Utc>, action: &str, detail: String) -> AuditRow {
    AuditRow {
        account_id: account,
        at,
        actor_email: caller.actor(),
        action: action.to_owned(),
        detail,
    }
}

/// An entry for a change Gatehouse made by itself, such as a monitored metadata refresh.
pub(crate) fn system_entry(
    account: AccountId,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    detail: String,
) -> AuditRow {
    AuditRow {
        account_id: account,
        at,
        actor_email: actor.to_owned(),
        action: action.to_owned(),
        detail,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct AuditService {
    store: Store,
    tenancy: TenancyService,
}

impl AuditService {
    pub fn new(store: Store, tenancy: TenancyService) -> Self {
        Self { store, tenancy }
    }

    /// The newest entries, newest first (Owner and Admin).
    pub async fn recent(&self, caller: &Caller, account: AccountId) -> Result<Vec<AuditEvent>, AuditError> {
        self.tenancy.require(caller, account, Permission::ViewAudit).await?;
        Ok(self
            .store
            .audit_events(account, AUDIT_PAGE)
            .await?
            .into_iter()
            .map(|row| AuditEvent {
                at: row.at,
                actor_email: row.actor_email,
                action: row.action,
                detail: row.detail,
            })
            .collect())
    }

    /// One page of SSO events (sign-ins, Test SSO runs, sign-outs) with their outcome and reason, newest first;
    /// with `before` (an event's reference), the page after that event (Owner and Admin).
    pub async fn sso_events(
        &self,
        caller: &Caller,
        account: AccountId,
        before: Option<&str>,
    ) -> Result<Vec<SsoEventRow>, AuditError> {
        self.tenancy.require(caller, account, Permission::ViewAudit).await?;
        Ok(self.store.sso_events(account, before, SSO_EVENTS_PAGE).await?)
    }

    /// The raw response kept with an SSO event, while it is kept (Owner and Admin).
    pub async fn sso_event_response(
        &self,
        caller: &Caller,
        account: AccountId,
        reference: &str,
    ) -> Result<Option<String>, AuditError> {
        self.tenancy.require(caller, account, Permission::ViewAudit).await?;
        Ok(self.store.sso_event_response(account, reference).await?)
    }
}
