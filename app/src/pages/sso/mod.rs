//! The SSO tab, in sections with their own addresses (Overview, Domains, Identity providers, SSO events, Audit
//! log): the section navigation, and the Overview with the sign-in policy and a summary of the other sections.
//!
//! Each section is its own page loading only what it shows; the parts other pages reuse (`domains::AddDomainForm`,
//! `domains::DomainTable`, `domains::DnsHelp`, and the connection forms in `pages::connection_forms`) are
//! `pub(crate)`.

pub mod audit;
pub mod connections;
pub mod domains;
pub mod events;
mod policy;
pub mod setup;

use super::account::{Tab, account_page};
use crate::api::accounts::AccountView;
use crate::api::domains::{DomainsPage, list_domains};
use crate::api::setup_links::{SetupLinkView, list_setup_links};
use crate::api::sso::{PolicyView, SsoEventView, get_policy, list_connections, sso_events};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::params::ParamsMap;
use serde::{Deserialize, Serialize};

/// One section of the SSO tab.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Overview,
    Setup,
    Domains,
    Connections,
    Events,
    Audit,
}

impl Section {
    /// The section's address under the account, and its name in the navigation.
    fn path_and_label(self) -> (&'static str, &'static str) {
        match self {
            Section::Overview => ("sso", "Overview"),
            Section::Setup => ("sso/setup", "Guided setup"),
            Section::Domains => ("sso/domains", "Domains"),
            Section::Connections => ("sso/connections", "Identity providers"),
            Section::Events => ("sso/events", "SSO events"),
            Section::Audit => ("sso/audit", "Audit log"),
        }
    }

    /// The section's address for `account_id`.
    pub(crate) fn href(self, account_id: &str) -> String {
        format!("/accounts/{account_id}/{}", self.path_and_label().0)
    }

    /// The page title: the section, then the account.
    fn title(self, account: &AccountView) -> String {
        match self {
            Section::Overview => format!("SSO for {}", account.name),
            _ => format!("{} · SSO for {}", self.path_and_label().1, account.name),
        }
    }
}

/// The SSO tab's own navigation and the page title; the SSO events and the audit log only for those who may read
/// them.
#[component]
pub(crate) fn SsoNav(account: AccountView, current: Section) -> impl IntoView {
    let sections = [
        Some(Section::Overview),
        // The setup's steps are Owner's and Admin's work, as are the events and the audit log.
        account.can_view_audit.then_some(Section::Setup),
        Some(Section::Domains),
        Some(Section::Connections),
        account.can_view_audit.then_some(Section::Events),
        account.can_view_audit.then_some(Section::Audit),
    ];
    view! {
        <Title text=current.title(&account) />
        <nav class="subnav" aria-label="Single sign-on sections">
            {sections
                .into_iter()
                .flatten()
                .map(|section| {
                    view! {
                        <a href=section.href(&account.id) aria-current=(section == current).then_some("page")>
                            {section.path_and_label().1}
                        </a>
                    }
                })
                .collect_view()}
        </nav>
    }
}

/// What the Overview shows: the policy, and enough of the other sections to summarise them.
#[derive(Clone, Serialize, Deserialize)]
pub struct OverviewPage {
    policy: PolicyView,
    domains: DomainsPage,
    /// The connections as (id, name).
    connections: Vec<(String, String)>,
    /// The newest SSO event (only loaded for members who may read them).
    last_event: Option<SsoEventView>,
    /// Only for the Owner, who alone creates them.
    setup_links: Option<Vec<SetupLinkView>>,
}

async fn load_overview(account_id: String, _query: ParamsMap) -> Result<OverviewPage, AppError> {
    let policy = get_policy(account_id.clone()).await?;
    let last_event = if policy.can_view_audit {
        sso_events(account_id.clone(), None).await?.into_iter().next()
    } else {
        None
    };
    let setup_links = match policy.can_manage {
        true => Some(list_setup_links(account_id.clone()).await?),
        false => None,
    };
    Ok(OverviewPage {
        setup_links,
        policy,
        domains: list_domains(account_id.clone()).await?,
        connections: list_connections(account_id)
            .await?
            .connections
            .into_iter()
            .map(|c| (c.id, c.label))
            .collect(),
        last_event,
    })
}

/// `/accounts/:account_id/sso`: the sign-in policy, and where each other section stands.
#[component]
pub fn Overview() -> impl IntoView {
    account_page(Tab::Sso, load_overview, |account, page| {
        let OverviewPage {
            policy,
            domains,
            connections,
            last_event,
            setup_links,
        } = page;
        let account_id = account.id.clone();
        let show_events = account.can_view_audit;
        view! {
            <SsoNav account current=Section::Overview />
            <SetupCallToAction account_id=account_id.clone() policy=policy.clone() />
            <policy::PolicyPanel
                account_id=account_id.clone()
                policy
                domains=domains.domains.clone()
                connections=connections.clone()
            />
            <StatusSummary account_id=account_id.clone() domains connections last_event show_events />
            {setup_links.map(|links| view! { <super::setup_links::SetupLinksPanel account_id links /> })}
        }
        .into_any()
    })
}

/// The top of the Overview, where setting SSO up starts: until SSO can be turned on, the one next step to take
/// and the way to it; the first steps are taken in the guided setup.
#[component]
fn SetupCallToAction(account_id: String, policy: PolicyView) -> impl IntoView {
    let next = if policy.sso_enabled {
        None
    } else if !policy.has_verified_domain {
        Some((
            Section::Setup,
            "Add and verify your organisation's email domain.",
            "Continue the guided setup",
        ))
    } else if !policy.has_connection {
        Some((
            Section::Setup,
            "Connect your identity provider.",
            "Continue the guided setup",
        ))
    } else if !policy.has_routed_domain {
        Some((
            Section::Domains,
            "Choose the identity provider an Active domain signs in with.",
            "Go to domains",
        ))
    } else {
        Some((
            Section::Setup,
            "Test single sign-on, then turn it on.",
            "Continue the guided setup",
        ))
    };
    next.map(|(section, step, action)| {
        view! {
            <section class="panel next-step" id="sso-next-step" aria-labelledby="sso-next-step-title">
                <h2 id="sso-next-step-title">"Next step"</h2>
                <p>{step}</p>
                <a class="button primary" href=section.href(&account_id)>{action}</a>
            </section>
        }
    })
}

/// One line per other section: how many domains and how many of them are Active, the connections, the newest
/// SSO event.
#[component]
fn StatusSummary(
    account_id: String,
    domains: DomainsPage,
    connections: Vec<(String, String)>,
    last_event: Option<SsoEventView>,
    /// The caller may read the SSO events.
    show_events: bool,
) -> impl IntoView {
    let active = domains.domains.iter().filter(|d| d.status == "active").count();
    let domains_line = match domains.domains.len() {
        0 => "No domains yet.".to_owned(),
        1 => format!("1 domain, {active} Active."),
        n => format!("{n} domains, {active} Active."),
    };
    let connections_line = match connections.as_slice() {
        [] => "No identity provider connected yet.".to_owned(),
        [(_, one)] => format!("1 connected: {one}."),
        more => format!(
            "{} connected: {}.",
            more.len(),
            more.iter()
                .map(|(_, label)| label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let events_row = show_events.then(|| {
        let line = match last_event {
            Some(event) => format!(
                "Latest: {} at {} (ref. {}).",
                events::outcome_label(&event.outcome),
                event.at,
                event.reference
            ),
            None => "No one has signed in through SSO yet.".to_owned(),
        };
        (Section::Events, "SSO events", line)
    });
    let rows = [
        Some((Section::Domains, "Domains", domains_line)),
        Some((Section::Connections, "Identity providers", connections_line)),
        events_row,
    ];
    view! {
        <section class="panel" id="sso-status" aria-labelledby="sso-status-title">
            <h2 id="sso-status-title">"Status"</h2>
            <dl class="facts status-summary">
                {rows
                    .into_iter()
                    .flatten()
                    .map(|(section, name, line)| {
                        view! {
                            <div>
                                <dt>
                                    <a href=section.href(&account_id)>{name}</a>
                                </dt>
                                <dd>{line}</dd>
                            </div>
                        }
                    })
                    .collect_view()}
            </dl>
        </section>
    }
}

/// A section's data, or `None` when the caller's role may not read it (the section then says so).
fn readable<T>(loaded: Result<T, AppError>) -> Result<Option<T>, AppError> {
    match loaded {
        Ok(data) => Ok(Some(data)),
        Err(AppError::Forbidden(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Inside the frame, with status 403: the caller's role may not read this section.
#[component]
fn NotAllowed(what: &'static str) -> impl IntoView {
    respond_with(http_status::FORBIDDEN);
    view! {
        <div class="empty-state" id="section-not-allowed">
            <h2>"Not available for your role"</h2>
            <p class="muted">{format!("Only the account's Owner and Admins can read {what}.")}</p>
        </div>
    }
}

/// Sets the status of the page being rendered on the server.
fn respond_with(status: u16) {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR));
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
}

/// The statuses the SSO sections answer with, as numbers so the browser build needs no HTTP crate.
mod http_status {
    pub const FORBIDDEN: u16 = 403;
    pub const NOT_FOUND: u16 = 404;
}
