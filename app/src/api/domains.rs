//! An account's email domains: add, verify by DNS TXT record, remove.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainView {
    pub id: String,
    /// The ASCII form (punycode for internationalised names): what DNS and the record use.
    pub name: String,
    /// The form people read; equal to `name` unless the domain is internationalised.
    pub display_name: String,
    /// Storage name of the status (`pending`, `active`, `failed`, `verification_lost`).
    pub status: String,
    pub status_label: String,
    pub counts_as_verified: bool,
    /// The TXT record: at the domain itself (`@`), this exact value.
    pub record_value: String,
    pub added: String,
    pub verified: Option<String>,
    pub last_checked: Option<String>,
    /// Why the last check failed, in plain words.
    pub last_failure: Option<String>,
    /// When the background task looks again, if it will.
    pub next_check: Option<String>,
    /// For a lost domain: when it stops counting as verified.
    pub grace_ends: Option<String>,
    pub verified_elsewhere: bool,
    /// The connection the domain's users sign in through; `None`: password sign-in.
    pub connection_id: Option<String>,
    /// Active but routed nowhere, and nobody chose password sign-in for it: flagged on the page.
    pub routed_nowhere: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainsPage {
    pub domains: Vec<DomainView>,
    /// The caller may add, verify and remove domains (Owner or Admin).
    pub can_manage: bool,
    pub recheck_hours: i64,
    pub grace_days: i64,
    /// How long a domain that is not verified yet is checked automatically.
    pub pending_hours: i64,
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use crate::api::context::date;
    use gatehouse_core::domains::Domain;

    pub fn domain_view(d: Domain) -> DomainView {
        let routed_nowhere = d.routed_nowhere();
        DomainView {
            id: d.id.to_string(),
            display_name: d.name.to_unicode(),
            name: d.name.to_string(),
            status: d.state.status.as_str().into(),
            status_label: d.state.status.label().into(),
            counts_as_verified: d.state.status.counts_as_verified(),
            record_value: d.record_value,
            added: date(d.added_at),
            verified: d.state.verified_at.map(date),
            last_checked: d.state.last_checked_at.map(date),
            last_failure: d.state.last_failure,
            next_check: d.state.next_check_at.map(date),
            grace_ends: d.grace_ends_at.map(date),
            verified_elsewhere: d.verified_elsewhere,
            routed_nowhere,
            connection_id: d.connection_id.map(|c| c.to_string()),
        }
    }

    pub fn domain_id(text: &str) -> Result<gatehouse_core::DomainId, AppError> {
        text.parse().map_err(|_| {
            crate::api::context::respond(AppError::NotFound(gatehouse_core::DomainError::NotFound.to_string()))
        })
    }
}

/// The account's domains with their records and verification state; any member with a role may look, and the
/// holder of a setup link for the account.
#[server(prefix = "/api", endpoint = "domains/list")]
pub async fn list_domains(account_id: String) -> Result<DomainsPage, AppError> {
    use crate::api::context::*;
    use gatehouse_core::tenancy::Permission;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let services = services()?;
    let access = services.tenancy.access(&caller, account).await?;
    let domains = services.domains.list(&caller, account).await?;
    let policy = services.domains.policy();
    Ok(DomainsPage {
        domains: domains.into_iter().map(convert::domain_view).collect(),
        can_manage: access.allows(Permission::ManageDomains),
        recheck_hours: policy.recheck_interval.num_hours(),
        grace_days: policy.grace_period.num_days(),
        pending_hours: policy.pending_window.num_hours(),
    })
}

/// Adds a domain (Owner or Admin) and answers it with the TXT record to publish.
#[server(prefix = "/api", endpoint = "domains/add")]
pub async fn add_domain(account_id: String, domain: String) -> Result<DomainView, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let added = services()?.domains.add(&caller, account, &domain, now()).await?;
    Ok(convert::domain_view(added))
}

/// Looks the domain's TXT record up now (Owner or Admin) and answers the saved outcome: Active, or the
/// reason it is not. A record that is not there yet is an outcome, not an error.
#[server(prefix = "/api", endpoint = "domains/verify")]
pub async fn verify_domain(account_id: String, domain_id: String) -> Result<DomainView, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::domain_id(&domain_id)?;
    let checked = services()?.domains.verify(&caller, account, id, now()).await?;
    Ok(convert::domain_view(checked))
}

/// Removes a domain (Owner or Admin); a domain verified here becomes free for other accounts.
#[server(prefix = "/api", endpoint = "domains/remove")]
pub async fn remove_domain(account_id: String, domain_id: String) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::domain_id(&domain_id)?;
    Ok(services()?.domains.remove(&caller, account, id, now()).await?)
}

/// Sends a domain's users to one of the account's identity-provider connections to sign in (Owner only); an
/// empty `connection_id` routes it back to password sign-in (Owner or Admin).
#[server(prefix = "/api", endpoint = "domains/route")]
pub async fn route_domain(
    account_id: String,
    domain_id: String,
    #[server(default)] connection_id: String,
) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::domain_id(&domain_id)?;
    let connection = match connection_id.trim() {
        "" => None,
        text => Some(text.parse().map_err(|_| {
            respond(AppError::invalid(
                "connection_id",
                gatehouse_core::DomainError::ConnectionNotFound,
            ))
        })?),
    };
    Ok(services()?
        .domains
        .route(&caller, account, id, connection, now())
        .await?)
}
