//! `/accounts/:account_id/sso`: the account's email domains (each proven by a DNS TXT record) and its
//! identity-provider connections.

use super::account::{Tab, account_page};
use crate::api::domains::{AddDomain, DomainView, DomainsPage, RemoveDomain, RouteDomain, VerifyDomain, list_domains};
use crate::api::setup_links::{SetupLinkView, list_setup_links};
use crate::api::sso::{
    AuditEntryView, ConnectionsPage, PolicyView, SsoEventView, audit_log, get_policy, list_connections, sso_events,
};
use crate::components::{AfterSuccess, ApiForm, CopyField, FieldError};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::params::ParamsMap;
use serde::{Deserialize, Serialize};
use server_fn::ServerFn;

/// Everything the SSO tab shows, loaded at once.
#[derive(Clone, Serialize, Deserialize)]
pub struct SsoPage {
    policy: PolicyView,
    domains: DomainsPage,
    connections: ConnectionsPage,
    /// Only for members who may read it, as the SSO events.
    audit: Option<Vec<AuditEntryView>>,
    events: Option<Vec<SsoEventView>>,
    /// Only for the Owner, who alone creates them.
    setup_links: Option<Vec<SetupLinkView>>,
}

async fn load_sso_page(account_id: String, _query: ParamsMap) -> Result<SsoPage, AppError> {
    let policy = get_policy(account_id.clone()).await?;
    let (audit, events) = if policy.can_view_audit {
        (
            Some(audit_log(account_id.clone()).await?),
            Some(sso_events(account_id.clone(), None).await?),
        )
    } else {
        (None, None)
    };
    let setup_links = match policy.can_manage {
        true => Some(list_setup_links(account_id.clone()).await?),
        false => None,
    };
    Ok(SsoPage {
        setup_links,
        policy,
        domains: list_domains(account_id.clone()).await?,
        connections: list_connections(account_id).await?,
        audit,
        events,
    })
}

#[component]
pub fn Sso() -> impl IntoView {
    account_page(Tab::Sso, load_sso_page, |account, page| {
        let SsoPage {
            policy,
            domains: page,
            connections,
            audit,
            events,
            setup_links,
        } = page;
        let connection_choices: Vec<(String, String)> = connections
            .connections
            .iter()
            .map(|c| (c.id.clone(), c.label.clone()))
            .collect();
        let can_route = connections.can_manage_trust;
        let DomainsPage {
            domains,
            can_manage,
            recheck_hours,
            grace_days,
            pending_hours,
        } = page;
        let account_id = account.id.clone();
        let account_id_for_links = account.id.clone();
        view! {
            <Title text=format!("SSO for {}", account.name) />
            <super::sso_policy::PolicyPanel
                account_id=account.id.clone()
                policy
                domains=domains.clone()
                connections=connection_choices.clone()
            />
            <section class="panel" id="domains">
                <div class="panel-head">
                    <h2>"Domains"</h2>
                    <p class="muted">
                        "Prove that your organisation owns an email domain by publishing a DNS TXT record. "
                        "Once a domain is Active, people whose email address is at that domain can be sent to your identity provider to sign in."
                    </p>
                </div>
                {can_manage.then(|| view! { <AddDomainForm account_id=account_id.clone() /> })}
                {(can_manage && !can_route)
                    .then(|| {
                        view! {
                            <p class="hint" id="routing-owner-only">
                                "Only the account's Owner chooses which identity provider a domain signs in with: they decide who can sign in."
                            </p>
                        }
                    })}
                {if domains.is_empty() {
                    view! {
                        <div class="empty-state compact" id="no-domains">
                            <h3>"No domains yet"</h3>
                            <p class="muted">
                                {if can_manage {
                                    "Add the domain of your work email addresses, for example example.com. You will get a TXT record to publish in its DNS."
                                } else {
                                    "An owner or admin of this account adds the organisation's email domains here."
                                }}
                            </p>
                        </div>
                    }
                    .into_any()
                } else {
                    view! {
                        <DomainTable account_id domains can_manage can_route connections=connection_choices.clone() />
                    }
                        .into_any()
                }}
                <p class="hint">
                    {format!(
                        "Active domains are checked again every {recheck_hours} hours. If the record disappears, the domain shows Verification lost and keeps working for {grace_days} days, so you have time to put it back."
                    )}
                </p>
            </section>
            <DnsHelp pending_hours />
            <super::connections::Connections account_id=account.id.clone() page=connections />
            {events
                .map(|events| {
                    view! { <super::sso_policy::SsoEventsPanel events connections=connection_choices.clone() /> }
                })}
            {audit.map(|entries| view! { <super::sso_policy::AuditPanel entries /> })}
            {setup_links
                .map(|links| view! { <super::setup_links::SetupLinksPanel account_id=account_id_for_links links /> })}
        }
        .into_any()
    })
}

#[component]
pub(crate) fn DomainTable(
    account_id: String,
    domains: Vec<DomainView>,
    can_manage: bool,
    /// The caller may route domains to connections (the Owner).
    can_route: bool,
    /// The account's connections as (id, name), for routing.
    connections: Vec<(String, String)>,
) -> impl IntoView {
    view! {
        <table class="table domains-table" id="domain-table">
            <thead>
                <tr>
                    <th scope="col">"Domain"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"TXT record to publish"</th>
                    <th scope="col">"Last checked"</th>
                    {can_manage.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr>
            </thead>
            <tbody>
                {domains
                    .into_iter()
                    .map(|domain| {
                        view! {
                            <DomainRow
                                account_id=account_id.clone()
                                domain
                                can_manage
                                can_route
                                connections=connections.clone()
                            />
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn DomainRow(
    account_id: String,
    domain: DomainView,
    can_manage: bool,
    can_route: bool,
    connections: Vec<(String, String)>,
) -> impl IntoView {
    let DomainView {
        id,
        name,
        display_name,
        status,
        status_label,
        record_value,
        added,
        last_checked,
        last_failure,
        next_check,
        grace_ends,
        verified_elsewhere,
        connection_id,
        routed_nowhere,
        ..
    } = domain;
    let routed_nowhere = routed_nowhere.then(|| {
        let next = match (can_route, connections.is_empty()) {
            (_, true) => "Connect an identity provider below, then choose it here.",
            (true, false) => "Choose an identity provider.",
            (false, false) => "The account's Owner can route it to an identity provider.",
        };
        format!("Routed nowhere: people at this domain sign in with a password. {next}")
    });
    let routing = view! {
        <DomainRouting
            account_id=account_id.clone()
            domain_id=id.clone()
            domain=display_name.clone()
            current=connection_id
            connections
            can_route
        />
    };
    let status_note = match (status.as_str(), &grace_ends, &next_check) {
        ("verification_lost", Some(grace), _) => Some(format!("Still counts as verified until {grace}.")),
        ("active", _, Some(next)) => Some(format!("Next check {next}.")),
        (_, _, Some(next)) => Some(format!("Checking again automatically, next at {next}.")),
        _ => None,
    };
    let can_verify = !verified_elsewhere || status == "active";
    view! {
        <tr id=format!("domain-{name}") data-status=status.clone()>
            <td data-label="Domain">
                <span>
                    <strong class="domain-name">{display_name.clone()}</strong>
                    {(display_name != name).then(|| view! { <span class="hint">{name.clone()}</span> })}
                    <span class="hint">{format!("Added {added}")}</span>
                    {routing}
                    {routed_nowhere.map(|flag| view! { <span class="flag routed-nowhere">{flag}</span> })}
                </span>
            </td>
            <td data-label="Status">
                <span class="status-cell">
                    <span class=format!("badge status-{status}")>{status_label}</span>
                    {verified_elsewhere
                        .then(|| view! { <span class="badge badge-warn">"Verified by another account"</span> })}
                    {last_failure.map(|reason| view! { <span class="reason">{reason}</span> })}
                    {status_note.map(|note| view! { <span class="hint">{note}</span> })}
                </span>
            </td>
            <td data-label="TXT record">
                <dl class="record">
                    <div>
                        <dt>"Name / host"</dt>
                        <dd>
                            <code>"@"</code>
                            <span class="hint">{format!(" (the domain itself: {name})")}</span>
                        </dd>
                    </div>
                    <div>
                        <dt>"Type"</dt>
                        <dd>
                            <code>"TXT"</code>
                        </dd>
                    </div>
                </dl>
                <CopyField label="Value".into() value=record_value id=format!("record-{id}") multiline=true />
            </td>
            <td data-label="Last checked">
                <span>{last_checked.unwrap_or_else(|| "Not yet".into())}</span>
            </td>
            {can_manage
                .then(|| {
                    view! {
                        <td class="actions">
                            <DomainActions account_id domain_id=id domain=display_name can_verify />
                        </td>
                    }
                })}
        </tr>
    }
}

#[component]
pub(crate) fn AddDomainForm(account_id: String) -> impl IntoView {
    view! {
        <ApiForm action=AddDomain::PATH.into() then=AfterSuccess::Reload class="inline-form".into()>
            <input type="hidden" name="account_id" value=account_id />
            <div class="field grow">
                <label for="domain-input">"Domain"</label>
                <input
                    id="domain-input"
                    name="domain"
                    type="text"
                    required
                    maxlength="300"
                    autocomplete="off"
                    spellcheck="false"
                    placeholder="example.com"
                    aria-describedby="domain-hint"
                />
                <p class="hint" id="domain-hint">"The part after @ in your colleagues' email addresses."</p>
                <FieldError field="domain" />
            </div>
            <button type="submit" class="button primary" data-pending-text="Adding…">
                "Add domain"
            </button>
        </ApiForm>
    }
}

/// Which connection the domain's users sign in through: a choice for the Owner, a line for everyone else.
#[component]
fn DomainRouting(
    account_id: String,
    domain_id: String,
    domain: String,
    current: Option<String>,
    connections: Vec<(String, String)>,
    can_route: bool,
) -> impl IntoView {
    let current_label = current
        .as_ref()
        .and_then(|c| connections.iter().find(|(id, _)| id == c))
        .map_or_else(|| "Password (no SSO)".to_owned(), |(_, label)| label.clone());
    if !can_route || connections.is_empty() {
        return view! { <span class="hint routing">{format!("Signs in with: {current_label}")}</span> }.into_any();
    }
    let select_id = format!("route-{domain_id}");
    let current = current.unwrap_or_default();
    view! {
        <ApiForm action=RouteDomain::PATH.into() then=AfterSuccess::Reload class="row-form routing".into()>
            <input type="hidden" name="account_id" value=account_id />
            <input type="hidden" name="domain_id" value=domain_id />
            <label class="visually-hidden" for=select_id.clone()>{format!("Sign-in for {domain}")}</label>
            <select id=select_id name="connection_id">
                <option value="" selected=current.is_empty()>"Password (no SSO)"</option>
                {connections
                    .into_iter()
                    .map(|(id, label)| view! { <option value=id.clone() selected=id == current>{label}</option> })
                    .collect_view()}
            </select>
            <button type="submit" class="button secondary small">"Save"</button>
            <FieldError field="connection_id" />
        </ApiForm>
    }
    .into_any()
}

/// Verify and Remove for one domain.
#[component]
fn DomainActions(account_id: String, domain_id: String, domain: String, can_verify: bool) -> impl IntoView {
    let (verify_account, verify_domain) = (account_id.clone(), domain_id.clone());
    view! {
        <div class="row-actions">
            <ApiForm action=VerifyDomain::PATH.into() then=AfterSuccess::Reload class=String::new()>
                <input type="hidden" name="account_id" value=verify_account />
                <input type="hidden" name="domain_id" value=verify_domain />
                <button
                    type="submit"
                    class="button secondary small"
                    disabled=!can_verify
                    title=(!can_verify).then_some("Another account has verified this domain.")
                    data-pending-text="Checking DNS…"
                >
                    "Verify"
                </button>
            </ApiForm>
            <details class="confirm">
                <summary class="button link danger">"Remove"</summary>
                <div class="confirm-body">
                    <ApiForm action=RemoveDomain::PATH.into() then=AfterSuccess::Reload class=String::new()>
                        <input type="hidden" name="account_id" value=account_id />
                        <input type="hidden" name="domain_id" value=domain_id />
                        <p>{format!("Remove {domain}? Its users can no longer be routed to your identity provider.")}</p>
                        <button type="submit" class="button danger small">"Yes, remove"</button>
                    </ApiForm>
                </div>
            </details>
        </div>
    }
}

/// Where the record goes at common DNS providers; the same three values everywhere, under different labels.
#[component]
pub(crate) fn DnsHelp(pending_hours: i64) -> impl IntoView {
    let providers = [
        (
            "Cloudflare",
            "DNS › Records › Add record. Type TXT, Name @, Content: the value. Keep the default TTL.",
        ),
        (
            "Amazon Route 53",
            "Hosted zones › your domain › Create record. Leave Record name empty, Record type TXT, Value: the value in double quotes.",
        ),
        (
            "Google Cloud DNS",
            "Zone details › Add standard. Leave DNS name empty, Resource record type TXT, TXT data: the value.",
        ),
        (
            "Azure DNS",
            "DNS zone › Record sets › Add. Name @, Type TXT, Value: the value.",
        ),
        (
            "GoDaddy",
            "Domain › DNS › Add New Record. Type TXT, Name @, Value: the value.",
        ),
        (
            "Namecheap",
            "Advanced DNS › Add New Record. TXT Record, Host @, Value: the value.",
        ),
    ];
    view! {
        <section class="panel" id="dns-help">
            <div class="panel-head">
                <h2>"Publishing the TXT record"</h2>
                <p class="muted">
                    "Add one TXT record at the domain itself (often written @) holding exactly the value shown. Keep any other TXT records, such as SPF; they do not interfere. "
                    {format!(
                        "DNS changes usually show within minutes, sometimes up to a day; a domain that is not verified yet is checked again automatically for {pending_hours} hours, or press Verify."
                    )}
                </p>
            </div>
            <dl class="providers">
                {providers
                    .into_iter()
                    .map(|(provider, steps)| {
                        view! {
                            <div>
                                <dt>{provider}</dt>
                                <dd>{steps}</dd>
                            </div>
                        }
                    })
                    .collect_view()}
            </dl>
        </section>
    }
}
