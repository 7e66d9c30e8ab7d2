//! The account's sign-in policy: whether SSO is on, whether it is enforced, and whether SSO users also get a
//! personal account. Only the Owner changes it, and SSO turns on only when it can work.

use crate::audit;
use crate::auth::Caller;
use crate::ids::AccountId;
use crate::store::{PolicyRow, Store, StoreError};
use crate::tenancy::{Permission, TenancyError, TenancyService};
use chrono::{DateTime, Utc};

/// The account's policy; everything is off until the Owner turns it on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SsoPolicy {
    /// Sign-ins at the account's verified domains go to its identity provider.
    pub sso_enabled: bool,
    /// Users provisioned by SSO may sign in only through SSO.
    pub enforce_sso: bool,
    /// Users provisioned by SSO do not also get a personal account (applies to newly provisioned users).
    pub no_separate_account: bool,
}

/// What SSO still needs before it can be turned on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readiness {
    pub has_verified_domain: bool,
    pub has_connection: bool,
    /// An Active domain is routed to a connection: without one, SSO on would send nobody to an IdP.
    pub has_routed_domain: bool,
}

impl Readiness {
    pub fn is_ready(self) -> bool {
        self.has_verified_domain && self.has_connection && self.has_routed_domain
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    #[error("SSO cannot be turned on yet: {0}.")]
    NotReady(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct PolicyService {
    store: Store,
    tenancy: TenancyService,
}

impl PolicyService {
    pub fn new(store: Store, tenancy: TenancyService) -> Self {
        Self { store, tenancy }
    }

    /// The policy and what SSO still needs; any member who may view the account may look.
    pub async fn get(&self, caller: &Caller, account: AccountId) -> Result<(SsoPolicy, Readiness), PolicyError> {
        self.tenancy.require(caller, account, Permission::ViewAccount).await?;
        Ok((self.policy(account).await?, self.readiness(account).await?))
    }

    /// Saves a new policy (Owner only) with an audit entry naming each change. Turning SSO on needs an Active
    /// domain routed to a connected identity provider; turning it off is always allowed.
    pub async fn update(
        &self,
        caller: &Caller,
        account: AccountId,
        wanted: SsoPolicy,
        now: DateTime<Utc>,
    ) -> Result<SsoPolicy, PolicyError> {
        self.tenancy
            .require(caller, account, Permission::ManageSsoPolicy)
            .await?;
        let current = self.policy(account).await?;
        if wanted.sso_enabled && !current.sso_enabled {
            let readiness = self.readiness(account).await?;
            let mut missing = Vec::new();
            if !readiness.has_verified_domain {
                missing.push("verify at least one domain");
            }
            if !readiness.has_connection {
                missing.push("connect an identity provider");
            }
            if readiness.has_verified_domain && readiness.has_connection && !readiness.has_routed_domain {
                missing.push(
                    "route an Active domain to the identity provider (Sign-in for … under Domains), so that \
                     its people are sent there",
                );
            }
            if !missing.is_empty() {
                return Err(PolicyError::NotReady(missing.join(" and ")));
            }
        }
        let changes = describe_changes(&current, &wanted);
        if changes.is_empty() {
            return Ok(current);
        }
        let row = PolicyRow {
            sso_enabled: wanted.sso_enabled,
            enforce_sso: wanted.enforce_sso,
            no_separate_account: wanted.no_separate_account,
        };
        let entry = audit::entry(account, caller, now, "Sign-in policy changed", changes.join("; "));
        self.store.save_sso_policy(account, row, &entry).await?;
        Ok(wanted)
    }

    async fn policy(&self, account: AccountId) -> Result<SsoPolicy, PolicyError> {
        let row = self.store.sso_policy(account).await?;
        Ok(SsoPolicy {
            sso_enabled: row.sso_enabled,
            enforce_sso: row.enforce_sso,
            no_separate_account: row.no_separate_account,
        })
    }

    async fn readiness(&self, account: AccountId) -> Result<Readiness, PolicyError> {
        Ok(Readiness {
            has_verified_domain: self.store.has_verified_domain(account).await?,
            has_connection: self.store.count_connections(account).await? > 0,
            has_routed_domain: self.store.has_routed_domain(account).await?,
        })
    }
}

/// "SSO enabled: off → on", one line per setting that differs.
fn describe_changes(before: &SsoPolicy, after: &SsoPolicy) -> Vec<String> {
    let on_off = |v: bool| if v { "on" } else { "off" };
    [
        ("SSO enabled", before.sso_enabled, after.sso_enabled),
        ("Enforce SSO", before.enforce_sso, after.enforce_sso),
        (
            "No separate account",
            before.no_separate_account,
            after.no_separate_account,
        ),
    ]
    .into_iter()
    .filter(|(_, b, a)| b != a)
    .map(|(name, b, a)| format!("{name}: {} → {}", on_off(b), on_off(a)))
    .collect()
}
