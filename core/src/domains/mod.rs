//! Email domains an account claims, proven by a DNS TXT record and kept verified by periodic re-checks.

mod dns;
mod name;
mod verification;

pub use dns::{DnsSettings, DnsSetupError, TxtResolver};
pub(crate) use name::to_ascii;
pub use name::{DomainName, DomainNameError};
pub use verification::{
    CheckResult, DomainStatus, LookupOutcome, Trigger, VerificationPolicy, VerificationState, decide,
};

use crate::audit;
use crate::auth::Caller;
use crate::ids::{AccountId, ConnectionId, DomainId};
use crate::store::{DomainRow, Store, StoreError};
use crate::tenancy::{Permission, TenancyError, TenancyService};
use crate::token;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;

/// The start of every verification value, so owners recognise the record among their others.
pub const RECORD_PREFIX: &str = "gatehouse-verification=";

/// More domains than any organisation has email domains; bounds what one account can make the server check.
pub const MAX_DOMAINS_PER_ACCOUNT: u64 = 500;

/// A claimed domain as its account sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    pub id: DomainId,
    pub name: DomainName,
    /// The TXT record's value to publish at the domain itself.
    pub record_value: String,
    pub added_at: DateTime<Utc>,
    pub state: VerificationState,
    /// Another account has this domain verified, so this one cannot verify it.
    pub verified_elsewhere: bool,
    /// When a lost domain stops counting as verified.
    pub grace_ends_at: Option<DateTime<Utc>>,
    /// The identity-provider connection the domain's users sign in through; `None`: password sign-in.
    pub connection_id: Option<ConnectionId>,
    /// Someone chose password sign-in for it; with no connection and this `false`, its routing was never decided.
    pub password_chosen: bool,
}

impl Domain {
    /// Counts as verified but routed nowhere and never decided: its people sign in with a password although
    /// nobody chose that, which the page flags.
    pub fn routed_nowhere(&self) -> bool {
        self.state.status.counts_as_verified() && self.connection_id.is_none() && !self.password_chosen
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    #[error("{0}")]
    InvalidName(#[from] DomainNameError),
    #[error("{0} is already in this account's list.")]
    AlreadyAdded(String),
    #[error("An account can have at most {MAX_DOMAINS_PER_ACCOUNT} domains; remove one you no longer use.")]
    TooMany,
    #[error("This domain is not in the account's list (it may have been removed).")]
    NotFound,
    #[error("That identity provider is not connected to this account (it may have been removed).")]
    ConnectionNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one pass of the background re-check did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecheckReport {
    pub checked: usize,
    pub verified: usize,
    pub failed: usize,
}

#[derive(Clone)]
pub struct DomainService {
    store: Store,
    tenancy: TenancyService,
    resolver: TxtResolver,
    policy: VerificationPolicy,
    concurrency: usize,
}

/// Who started a check: a person pressing Verify (the Owner or not), or the schedule.
#[derive(Clone, Copy)]
enum Started<'a> {
    Person { owner: bool, actor: &'a str },
    Schedule,
}

/// How long a process holds a claimed check before another may take it: far longer than any lookup.
const CHECK_LEASE: Duration = Duration::minutes(10);
const DUE_BATCH: u64 = 1000;

impl DomainService {
    pub fn new(
        store: Store,
        tenancy: TenancyService,
        resolver: TxtResolver,
        policy: VerificationPolicy,
        concurrency: usize,
    ) -> Self {
        Self {
            store,
            tenancy,
            resolver,
            policy,
            concurrency: concurrency.max(1),
        }
    }

    pub fn policy(&self) -> &VerificationPolicy {
        &self.policy
    }

    /// The account's domains by name; any member who may view the account may list them, and a setup link's holder.
    pub async fn list(&self, caller: &Caller, account: AccountId) -> Result<Vec<Domain>, DomainError> {
        self.tenancy.require(caller, account, Permission::ViewSsoSetup).await?;
        let rows = self.store.domains_of_account(account).await?;
        let elsewhere = self
            .store
            .domains_verified_elsewhere(account, rows.iter().map(|r| &r.name))
            .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let verified_elsewhere = elsewhere.contains(&row.name);
                self.domain_of(row, verified_elsewhere)
            })
            .collect())
    }

    /// Adds a domain with a fresh verification value; it starts Pending and is checked automatically.
    pub async fn add(
        &self,
        caller: &Caller,
        account: AccountId,
        input: &str,
        now: DateTime<Utc>,
    ) -> Result<Domain, DomainError> {
        let role = self.tenancy.require(caller, account, Permission::ManageDomains).await?;
        let name = DomainName::parse(input)?;
        if self.store.count_domains(account).await? >= MAX_DOMAINS_PER_ACCOUNT {
            return Err(DomainError::TooMany);
        }
        let row = DomainRow {
            id: DomainId::new(),
            account_id: account,
            record_value: format!("{RECORD_PREFIX}{}", token::generate()),
            name,
            created_at: now,
            state: VerificationState::new(now, &self.policy),
            connection_id: None,
            password_chosen: false,
            owner_started_check: role.allows(Permission::ManageTrust),
        };
        let entry = audit::entry(account, caller, now, "Domain added", row.name.to_string());
        match self.store.insert_domain(&row, &entry).await {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => return Err(DomainError::AlreadyAdded(row.name.to_string())),
            Err(e) => return Err(e.into()),
        }
        let elsewhere = self
            .store
            .domains_verified_elsewhere(account, [&row.name])
            .await?
            .contains(&row.name);
        Ok(self.domain_of(row, elsewhere))
    }

    /// Looks the TXT record up now and saves the outcome (Active, or the reason it is not). A domain that becomes
    /// Active through the Owner's Verify is routed to the account's only connection, if it has exactly one; an
    /// Admin's Verify routes nothing (routing widens a connection's reach, which is the Owner's alone).
    pub async fn verify(
        &self,
        caller: &Caller,
        account: AccountId,
        id: DomainId,
        now: DateTime<Utc>,
    ) -> Result<Domain, DomainError> {
        let role = self.tenancy.require(caller, account, Permission::ManageDomains).await?;
        let row = self.store.domain(account, id).await?.ok_or(DomainError::NotFound)?;
        let actor = caller.actor();
        let started = Started::Person {
            owner: role.allows(Permission::ManageTrust),
            actor: &actor,
        };
        let (row, elsewhere) = self.check(row, started, now).await?;
        Ok(self.domain_of(row, elsewhere))
    }

    /// Removes the domain; if it was verified here, it becomes free for another account to verify.
    pub async fn remove(
        &self,
        caller: &Caller,
        account: AccountId,
        id: DomainId,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.tenancy.require(caller, account, Permission::ManageDomains).await?;
        let removed = self.store.domain(account, id).await?.ok_or(DomainError::NotFound)?;
        let entry = audit::entry(account, caller, now, "Domain removed", removed.name.to_string());
        if self.store.delete_domain(account, id, &entry).await? {
            Ok(())
        } else {
            Err(DomainError::NotFound)
        }
    }

    /// Sends the domain's users to `connection` to sign in (the Owner's alone: that connection may then sign in
    /// anyone of the domain), or back to password sign-in with `None` (Owner or Admin: it only narrows trust,
    /// as removing the domain or the connection does).
    pub async fn route(
        &self,
        caller: &Caller,
        account: AccountId,
        id: DomainId,
        connection: Option<ConnectionId>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let permission = match connection {
            Some(_) => Permission::ManageTrust,
            None => Permission::ManageDomains,
        };
        self.tenancy.require(caller, account, permission).await?;
        let domain = self.store.domain(account, id).await?.ok_or(DomainError::NotFound)?;
        let target = match connection {
            Some(connection) => {
                let connections = self.store.connections_of_account(account).await?;
                let label = connections
                    .iter()
                    .find(|c| c.id == connection)
                    .map_or("?", |c| c.label.as_str());
                format!("{} → {label}", domain.name)
            }
            None => format!("{} → password sign-in", domain.name),
        };
        let entry = audit::entry(account, caller, now, "Domain routed", target);
        if self.store.route_domain(account, id, connection, &entry).await? {
            Ok(())
        } else {
            Err(DomainError::ConnectionNotFound)
        }
    }

    /// Checks every domain whose automatic check is due, `concurrency` lookups at a time.
    pub async fn recheck_due(&self, now: DateTime<Utc>) -> Result<RecheckReport, DomainError> {
        let mut report = RecheckReport::default();
        loop {
            let due = self.store.domains_due(now, DUE_BATCH).await?;
            if due.is_empty() {
                return Ok(report);
            }
            let results: Vec<Result<Option<DomainRow>, DomainError>> = futures::stream::iter(due)
                .map(|row| self.recheck_claimed(row, now))
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
            for result in results {
                match result? {
                    Some(row) if row.state.status.counts_as_verified() => report.verified += 1,
                    Some(_) => report.failed += 1,
                    None => continue,
                }
                report.checked += 1;
            }
        }
    }

    /// Checks one due domain unless another process claimed it first (`None` then).
    async fn recheck_claimed(&self, row: DomainRow, now: DateTime<Utc>) -> Result<Option<DomainRow>, DomainError> {
        let Some(due_at) = row.state.next_check_at else {
            return Ok(None);
        };
        if !self.store.claim_domain_check(row.id, due_at, now + CHECK_LEASE).await? {
            return Ok(None);
        }
        match self.check(row, Started::Schedule, now).await {
            Ok((row, _)) => Ok(Some(row)),
            // Removed while it was being checked: nothing left to report.
            Err(DomainError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One lookup and its saved outcome; also answers whether another account holds the domain verified. A domain
    /// that becomes verified by a check the Owner started is routed by default (see [`Self::route_by_default`]).
    async fn check(
        &self,
        row: DomainRow,
        started: Started<'_>,
        now: DateTime<Utc>,
    ) -> Result<(DomainRow, bool), DomainError> {
        let (trigger, owner_started) = match started {
            Started::Person { owner, .. } => (Trigger::Manual, Some(owner)),
            Started::Schedule => (Trigger::Scheduled, None),
        };
        let outcome = self.resolver.lookup_txt(&row.name).await;
        let result = CheckResult::from_lookup(outcome, &row.record_value);
        let jitter = self.jitter();
        let mut next = decide(&row.state, &result, &row.name, trigger, now, jitter, &self.policy);
        let mut kind = result.kind();
        let saved = match self
            .store
            .save_verification(row.account_id, row.id, &row.name, &next, owner_started, now)
            .await
        {
            Err(e) if e.is_unique_violation() => {
                kind = CheckResult::ClaimedElsewhere.kind();
                next = decide(
                    &row.state,
                    &CheckResult::ClaimedElsewhere,
                    &row.name,
                    trigger,
                    now,
                    jitter,
                    &self.policy,
                );
                self.store
                    .save_verification(row.account_id, row.id, &row.name, &next, owner_started, now)
                    .await?
            }
            other => other?,
        };
        crate::metrics::dns_check(trigger.as_str(), kind);
        if !saved {
            return Err(DomainError::NotFound);
        }
        let mut row = DomainRow {
            owner_started_check: owner_started.unwrap_or(row.owner_started_check),
            ..row
        };
        if !row.state.status.counts_as_verified() && next.status.counts_as_verified() {
            row.connection_id = self.route_by_default(&row, started, now).await?;
        }
        let elsewhere = !next.status.counts_as_verified()
            && self
                .store
                .domains_verified_elsewhere(row.account_id, [&row.name])
                .await?
                .contains(&row.name);
        Ok((DomainRow { state: next, ..row }, elsewhere))
    }

    /// Routes a domain that just became verified to the account's only connection, when the Owner started its
    /// verification and nobody chose its sign-in yet; answers its route afterwards. Only an Owner's action may
    /// widen a connection's reach, so an Admin's Verify (or the schedule continuing one) leaves it routed nowhere,
    /// flagged on the page for the Owner.
    async fn route_by_default(
        &self,
        row: &DomainRow,
        started: Started<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<ConnectionId>, DomainError> {
        if !row.owner_started_check {
            return Ok(row.connection_id);
        }
        let (actor, why) = match started {
            Started::Person { actor, .. } => (actor, "verified by the Owner; the account's only identity provider"),
            Started::Schedule => (
                "Gatehouse domains",
                "verification started by the Owner; the account's only identity provider",
            ),
        };
        let routed = self
            .store
            .route_undecided_to_sole_connection(row.account_id, Some(row.id), actor, why, now)
            .await?;
        if routed.is_empty() {
            return Ok(row.connection_id);
        }
        Ok(self
            .store
            .domain(row.account_id, row.id)
            .await?
            .and_then(|r| r.connection_id))
    }

    /// Up to a tenth of the re-check interval, so domains verified together spread out over time.
    fn jitter(&self) -> Duration {
        use rand::Rng;
        let spread = (self.policy.recheck_interval.num_seconds() / 10).max(1);
        Duration::seconds(rand::rng().random_range(0..spread))
    }

    fn domain_of(&self, row: DomainRow, verified_elsewhere: bool) -> Domain {
        Domain {
            grace_ends_at: row.state.grace_ends_at(&self.policy),
            id: row.id,
            name: row.name,
            record_value: row.record_value,
            added_at: row.created_at,
            connection_id: row.connection_id,
            password_chosen: row.password_chosen,
            state: row.state,
            verified_elsewhere,
        }
    }
}
