//! `/accounts/:account_id/sso/setup`: the guided setup of single sign-on, four steps on one screen (add and verify
//! a domain, connect the IdP, test, turn on). Where the owner stands is worked out from the account itself, so
//! progress is kept when they leave and come back; `?step=N` opens a step again.

use super::super::account::{Tab, account_page};
use super::super::setup_guides::{GuideSteps, guides};
use super::connections::{ConnectForms, ConnectionCards, connection_href};
use super::domains::{AddDomainForm, DnsHelp, DomainTable};
use super::policy::who_signs_in_where;
use super::{Section, SsoNav};
use crate::api::domains::{DomainView, DomainsPage, list_domains};
use crate::api::setup_links::FinishSetup;
use crate::api::sso::{
    ConnectionView, ConnectionsPage, LastTestView, PolicyView, ServiceProviderView, UpdatePolicy, get_policy,
    list_connections,
};
use crate::components::{AfterSuccess, ApiForm, CopyField, DomainWatch, FieldError};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::params::ParamsMap;
use serde::{Deserialize, Serialize};
use server_fn::ServerFn;

/// The steps, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Domain,
    Connect,
    Test,
    /// Turning SSO on, or for a setup link's holder, handing over to the Owner who does.
    Finish,
}

impl Step {
    const ALL: [Step; 4] = [Step::Domain, Step::Connect, Step::Test, Step::Finish];

    fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or_default() + 1
    }

    fn title(self, last: &LastStep) -> &'static str {
        match (self, last) {
            (Step::Domain, _) => "Add your domain",
            (Step::Connect, _) => "Connect your identity provider",
            (Step::Test, _) => "Test single sign-on",
            (Step::Finish, LastStep::TurnOn(_)) => "Turn it on",
            (Step::Finish, LastStep::HandOver { .. }) => "Hand over to the Owner",
        }
    }

    pub(crate) fn from_query(query: &ParamsMap) -> Option<Step> {
        let number: usize = query.get("step")?.parse().ok()?;
        Step::ALL.get(number.checked_sub(1)?).copied()
    }
}

/// How the setup ends, which depends on who works through it.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) enum LastStep {
    /// An account member: the Owner turns SSO on.
    TurnOn(PolicyView),
    /// The holder of a setup link: they tell the Owner (`finished` is when they did), who turns it on.
    HandOver {
        owner_email: String,
        finished: Option<String>,
    },
}

/// Everything the setup shows, loaded at once.
#[derive(Clone, Serialize, Deserialize)]
pub struct SetupPage {
    pub(crate) last: LastStep,
    pub(crate) domains: DomainsPage,
    pub(crate) connections: ConnectionsPage,
    /// The step asked for with `?step=N`.
    pub(crate) asked: Option<Step>,
}

async fn load_setup_page(account_id: String, query: ParamsMap) -> Result<SetupPage, AppError> {
    Ok(SetupPage {
        last: LastStep::TurnOn(get_policy(account_id.clone()).await?),
        domains: list_domains(account_id.clone()).await?,
        connections: list_connections(account_id).await?,
        asked: Step::from_query(&query),
    })
}

/// Which steps are done, read from the account: a domain counts once it is verified, a test once the last run
/// of a connection passed.
struct Progress {
    domain: bool,
    connect: bool,
    test: bool,
    finish: bool,
}

impl Progress {
    fn of(page: &SetupPage) -> Progress {
        Progress {
            domain: page.domains.domains.iter().any(|d| d.counts_as_verified),
            connect: !page.connections.connections.is_empty(),
            test: page.connections.connections.iter().any(passed_test),
            finish: match &page.last {
                LastStep::TurnOn(policy) => policy.sso_enabled,
                LastStep::HandOver { finished, .. } => finished.is_some(),
            },
        }
    }

    fn done(&self, step: Step) -> bool {
        match step {
            Step::Domain => self.domain,
            Step::Connect => self.connect,
            Step::Test => self.test,
            Step::Finish => self.finish,
        }
    }

    /// The first step not done; `None` once all are.
    fn next(&self) -> Option<Step> {
        Step::ALL.into_iter().find(|s| !self.done(*s))
    }
}

/// The account's connections as (id, name), as the domain table and the policy's wording take them.
fn connection_choices(page: &ConnectionsPage) -> Vec<(String, String)> {
    page.connections
        .iter()
        .map(|c| (c.id.clone(), c.label.clone()))
        .collect()
}

fn passed_test(connection: &ConnectionView) -> bool {
    connection.last_test.as_ref().is_some_and(|t| t.failed.is_none())
}

/// `/accounts/:account_id/sso/setup`: the members' guided setup, in the SSO tab.
#[component]
pub fn SsoSetup() -> impl IntoView {
    account_page(Tab::Sso, load_setup_page, |account, page| {
        let base = format!("/accounts/{}/sso/setup", account.id);
        view! {
            <SsoNav account=account.clone() current=Section::Setup />
            <GuidedSetup account_id=account.id.clone() base page />
        }
        .into_any()
    })
}

/// The four steps with where the account stands, and the step shown; `base` is the setup's own address.
#[component]
pub(crate) fn GuidedSetup(account_id: String, base: String, page: SetupPage) -> impl IntoView {
    let progress = Progress::of(&page);
    let shown = match &page.last {
        // The holder of a setup link can always come back to hand over (again).
        LastStep::HandOver { .. } => page.asked.or(progress.next()).or(Some(Step::Finish)),
        LastStep::TurnOn(_) => page.asked.or(progress.next()),
    };
    let intro = match &page.last {
        LastStep::TurnOn(_) => "Four steps to send your colleagues to your identity provider. You can leave at any point: this page remembers where you are.".to_owned(),
        LastStep::HandOver { owner_email, .. } => format!(
            "Three steps to connect the account to your identity provider, then tell {owner_email}, who turns single sign-on on. You can leave at any point: this page remembers where you are."
        ),
    };
    let steps = Step::ALL
        .into_iter()
        .map(|step| {
            let done = progress.done(step);
            let state = match (shown == Some(step), done) {
                (true, _) => "current",
                (false, true) => "done",
                (false, false) => "todo",
            };
            view! {
                <li data-state=state>
                    <a href=format!("{base}?step={}", step.number()) aria-current=(shown == Some(step)).then_some("step")>
                        <span class="step-number" aria-hidden="true">
                            {if done { "✓".to_owned() } else { step.number().to_string() }}
                        </span>
                        <span class="step-title">{step.title(&page.last)}</span>
                        <span class="visually-hidden">{if done { " (done)" } else { "" }}</span>
                    </a>
                </li>
            }
        })
        .collect_view();
    let body = match shown {
        None => view! { <SetupFinished account_id page=page.clone() /> }.into_any(),
        Some(step) => view! { <StepPanel account_id base=base.clone() step page=page.clone() /> }.into_any(),
    };
    view! {
        <section class="panel setup" id="sso-setup" aria-labelledby="setup-title">
            <div class="panel-head">
                <h2 id="setup-title">"Set up single sign-on"</h2>
                <p class="muted">{intro}</p>
            </div>
            <nav aria-label="Setup steps">
                <ol class="setup-steps" role="list">{steps}</ol>
            </nav>
            {body}
        </section>
    }
}

/// One step's content, with its heading.
#[component]
fn StepPanel(account_id: String, base: String, step: Step, page: SetupPage) -> impl IntoView {
    let SetupPage {
        last,
        domains,
        connections,
        ..
    } = page;
    let next = |step: Step| {
        (
            format!("{base}?step={}", step.number()),
            step.title(&last).to_lowercase(),
        )
    };
    let heading = format!("Step {} of 4: {}", step.number(), step.title(&last));
    let content = match (step, last.clone()) {
        (Step::Domain, _) => {
            view! { <DomainStep account_id domains connections next=next(Step::Connect) /> }.into_any()
        }
        (Step::Connect, last) => {
            let connection_pages = matches!(last, LastStep::TurnOn(_));
            view! { <ConnectStep account_id page=connections connection_pages next=next(Step::Test) /> }.into_any()
        }
        (Step::Test, _) => view! { <TestStep back=base.clone() page=connections next=next(Step::Finish) /> }.into_any(),
        (Step::Finish, LastStep::TurnOn(policy)) => {
            view! { <TurnOnStep account_id policy domains=domains.domains connections=connections /> }.into_any()
        }
        (Step::Finish, LastStep::HandOver { owner_email, finished }) => {
            view! { <HandOverStep owner_email finished connections /> }.into_any()
        }
    };
    view! {
        <div class="setup-step" id=format!("step-{}", step.number())>
            <h3>{heading}</h3>
            {content}
        </div>
    }
}

/// Step 1: the domain, its TXT record and Verify, with where the record goes at common DNS providers.
#[component]
fn DomainStep(
    account_id: String,
    domains: DomainsPage,
    connections: ConnectionsPage,
    next: (String, String),
) -> impl IntoView {
    let DomainsPage {
        domains,
        can_manage,
        pending_hours,
        ..
    } = domains;
    let verified = domains.iter().any(|d| d.counts_as_verified);
    // Domains the background re-checks by itself: not verified yet, with a check to come.
    let waiting: Vec<(String, String)> = domains
        .iter()
        .filter(|d| !d.counts_as_verified && d.next_check.is_some())
        .map(|d| (d.id.clone(), d.status.clone()))
        .collect();
    let can_route = connections.can_manage_trust;
    let connection_choices = connection_choices(&connections);
    view! {
        <p>
            "Prove that your organisation owns the domain of its email addresses: add it, publish the TXT record Gatehouse shows in the domain's DNS, then press Verify. "
            {format!(
                "A domain that is not verified yet is checked again automatically for {pending_hours} hours, so you can also come back later."
            )}
        </p>
        {can_manage.then(|| view! { <AddDomainForm account_id=account_id.clone() /> })}
        {(!domains.is_empty())
            .then(|| {
                view! {
                    <DomainTable
                        account_id=account_id.clone()
                        domains
                        can_manage
                        can_route
                        connections=connection_choices
                    />
                }
            })}
        {(!waiting.is_empty()).then(|| view! { <DomainWatch account_id=account_id.clone() waiting /> })}
        <details class="setup-help">
            <summary>"Where the record goes at your DNS provider"</summary>
            <DnsHelp pending_hours />
        </details>
        {verified.then(|| view! { <NextStep next /> })}
    }
}

/// Step 2: the IdP first (only its guide shows, with this connection's values to copy), then its metadata or
/// details. The choice of IdP is plain HTML radio buttons, so it works before the page hydrates. Once connected,
/// members see a summary and go on to the connection's own page; a setup link's holder, who has no connection
/// pages, sees each connection in full, to replace its settings here.
#[component]
fn ConnectStep(
    account_id: String,
    page: ConnectionsPage,
    connection_pages: bool,
    next: (String, String),
) -> impl IntoView {
    if !page.connections.is_empty() {
        let connected = if connection_pages {
            page.connections
                .into_iter()
                .map(|connection| view! { <ConnectedSummary account_id=account_id.clone() connection /> })
                .collect_view()
                .into_any()
        } else {
            view! { <ConnectionCards account_id page /> }.into_any()
        };
        return view! {
            {connected}
            <NextStep next />
        }
        .into_any();
    }
    let ConnectionsPage {
        first_connection,
        can_manage_trust,
        ..
    } = page;
    let Some(sp) = first_connection.filter(|_| can_manage_trust) else {
        return view! {
            <p class="hint" id="connect-owner-only">
                "Only the account's Owner connects the identity provider: they decide who can sign in."
            </p>
        }
        .into_any();
    };
    let choices = guides(&sp);
    view! {
        <div class="connect-step">
            <p>
                "Create an app for Gatehouse at your identity provider with the values below, then bring its metadata back here."
            </p>
            <fieldset class="idp-picker">
                <legend>"Your identity provider"</legend>
                <div class="idp-choices">
                    {choices
                        .iter()
                        .map(|g| (g.slug, g.name))
                        .chain([("other", "Another SAML 2.0 IdP")])
                        .map(|(slug, name)| {
                            view! {
                                <label class="idp-choice">
                                    <input type="radio" name="idp" value=slug id=format!("idp-{slug}") />
                                    <span>{name}</span>
                                </label>
                            }
                        })
                        .collect_view()}
                </div>
            </fieldset>
            // The values on their own until an IdP is chosen (and for another IdP): a guide shows each one where
            // its IdP asks for it, with a copy button.
            <ServiceProviderValues sp=sp.clone() />
            // The guide beside the forms on a laptop: what to do at the IdP on the left, what to bring back on
            // the right, so the step fits about two screens.
            <div class="connect-layout">
                <div class="connect-guide">
                    <p class="hint idp-unpicked">"Choose your identity provider above to see how to set it up."</p>
                    {choices
                        .into_iter()
                        .map(|guide| {
                            let (slug, name) = (guide.slug, guide.name);
                            view! {
                                <div class=format!("idp-guide idp-guide-{slug}")>
                                    <h4>{format!("At {name}")}</h4>
                                    <GuideSteps guide>" Then upload it, or give its URL, here."</GuideSteps>
                                </div>
                            }
                        })
                        .collect_view()}
                    <div class="idp-guide idp-guide-other">
                        <h4>"At your identity provider"</h4>
                        <p>
                            "Create a SAML 2.0 application (sometimes called a relying party or service provider) with the values above. "
                            "Have it send the user's email address as the NameID or as an attribute, sign its responses or assertions with SHA-256, and send them with HTTP-POST. "
                            "Then download its metadata (or note its metadata URL) and bring it here; or enter its entity ID, sign-on URL and signing certificate by hand."
                        </p>
                    </div>
                </div>
                <div class="connect-bring">
                    <h4 class="connect-forms-title">"Bring your IdP's settings"</h4>
                    <ConnectForms account_id heading_level=5 ask_name=false />
                </div>
            </div>
        </div>
    }
    .into_any()
}

/// Gatehouse's values for the IdP, each with a copy button.
#[component]
fn ServiceProviderValues(sp: ServiceProviderView) -> impl IntoView {
    let ServiceProviderView {
        entity_id,
        acs_url,
        slo_url,
        sign_on_url,
        ..
    } = sp;
    view! {
        <div class="sp-values" aria-label="Values to enter at your identity provider" role="group">
            <CopyField label="Entity ID (Identifier, Audience)".into() value=entity_id id="setup-entity-id".into() multiline=false />
            <CopyField label="ACS URL (Reply URL)".into() value=acs_url id="setup-acs-url".into() multiline=false />
            <CopyField label="Single logout URL".into() value=slo_url id="setup-slo-url".into() multiline=false />
            <CopyField
                label="Gatehouse sign-on URL (start sign-in here)".into()
                value=sign_on_url
                id="setup-sign-on-url".into()
                multiline=false
            />
        </div>
    }
}

/// The connected IdP in a few facts, with the way to its full page.
#[component]
fn ConnectedSummary(account_id: String, connection: ConnectionView) -> impl IntoView {
    let ConnectionView {
        id,
        label,
        idp_entity_id,
        certificates,
        plain_http_endpoints,
        ..
    } = connection;
    view! {
        <div class="connected-summary">
            <p>
                <strong>{format!("✓ Connected to {label}.")}</strong>
                " Gatehouse trusts only the signing certificates below."
            </p>
            <dl class="facts">
                <div>
                    <dt>"IdP entity ID"</dt>
                    <dd><code>{idp_entity_id}</code></dd>
                </div>
                <div>
                    <dt>"Signing certificates"</dt>
                    <dd>
                        {certificates
                            .into_iter()
                            .map(|c| view! { <span class="cert-line">{format!("{} (valid until {})", c.subject, c.valid_until)}</span> })
                            .collect_view()}
                    </dd>
                </div>
            </dl>
            {(!plain_http_endpoints.is_empty())
                .then(|| {
                    view! {
                        <p class="flag">
                            {format!(
                                "Plain http:// endpoints ({}): anyone on the network path can read and change these messages.",
                                plain_http_endpoints.join(", ")
                            )}
                        </p>
                    }
                })}
            <p>
                <a href=connection_href(&account_id, &id)>
                    "Role mappings, options and the rest of this connection"
                </a>
            </p>
        </div>
    }
}

/// Step 3: Test SSO through each connection, coming back here with the run's findings.
#[component]
fn TestStep(back: String, page: ConnectionsPage, next: (String, String)) -> impl IntoView {
    if page.connections.is_empty() {
        return view! { <p>"Connect your identity provider first (step 2)."</p> }.into_any();
    }
    let back = super::super::encode(&back);
    let can_test = page.can_manage_trust;
    let passed = page.connections.iter().any(passed_test);
    view! {
        <p>
            "Sign in at your identity provider as one of your colleagues would. Gatehouse runs every check of a real sign-in and shows what it found here; nobody is signed in and nothing changes."
        </p>
        {page
            .connections
            .into_iter()
            .map(|c| {
                view! {
                    <div class="test-connection">
                        {can_test
                            .then(|| {
                                view! {
                                    <a class="button primary" href=format!("/saml/{}/test?return_to={back}", c.id)>
                                        {format!("Test SSO with {}", c.label)}
                                    </a>
                                }
                            })}
                        {match c.last_test {
                            Some(test) => view! { <LastTest test /> }.into_any(),
                            None => view! { <p class="hint">"Not tested yet."</p> }.into_any(),
                        }}
                    </div>
                }
            })
            .collect_view()}
        {(!can_test).then(|| view! { <p class="hint">"Only the account's Owner runs Test SSO."</p> })}
        {passed.then(|| view! { <NextStep next /> })}
    }
    .into_any()
}

/// What a connection's last Test SSO run found: the verdict, the identity, or the check that failed and why.
#[component]
pub fn LastTest(test: LastTestView) -> impl IntoView {
    let LastTestView {
        at,
        reference,
        failed,
        email,
        name_id,
        role,
        fix,
    } = test;
    let passed = failed.is_none();
    view! {
        <div class=if passed { "last-test passed" } else { "last-test failed" } role="status">
            <p>
                <strong>{if passed { "✓ Test passed" } else { "✗ Test failed" }}</strong>
                {format!(" on {at} (reference {reference}).")}
            </p>
            {failed
                .map(|(check, why)| {
                    view! {
                        <p>
                            {format!("Failed check: {check}.")} <br />
                            <span class="reason">{why}</span>
                        </p>
                    }
                })}
            {fix.map(|fix| view! { <p class="fix"><strong>"How to fix: "</strong>{fix}</p> })}
            <dl class="facts">
                {email.map(|email| view! { <div><dt>"Email"</dt><dd>{email}</dd></div> })}
                {name_id.map(|name_id| view! { <div><dt>"NameID"</dt><dd><code>{name_id}</code></dd></div> })}
                {role.map(|role| view! { <div><dt>"Role the mappings give"</dt><dd>{role}</dd></div> })}
            </dl>
        </div>
    }
}

/// The last Test SSO run of each connection that was tested.
#[component]
fn LastTests(connections: Vec<ConnectionView>) -> impl IntoView {
    connections
        .into_iter()
        .filter_map(|c| c.last_test)
        .map(|test| view! { <LastTest test /> })
        .collect_view()
}

/// Step 4: SSO on, with the two enforcement options explained.
#[component]
fn TurnOnStep(
    account_id: String,
    policy: PolicyView,
    domains: Vec<DomainView>,
    connections: ConnectionsPage,
) -> impl IntoView {
    let after = who_signs_in_where(true, &domains, &connection_choices(&connections));
    let ready = policy.has_verified_domain && policy.has_connection && policy.has_routed_domain;
    let tested = connections.connections.iter().any(passed_test);
    view! {
        <LastTests connections=connections.connections />
        <p>"Once SSO is on:"</p>
        <ul class="who-where" aria-label="Who signs in where once SSO is on">
            {after.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
        </ul>
        {(!tested)
            .then(|| {
                view! { <p class="flag">"No Test SSO run has passed yet: test first (step 3), so nobody is locked out."</p> }
            })}
        {if !policy.can_manage {
            view! { <p class="hint">"Only the account's Owner turns SSO on."</p> }.into_any()
        } else if !ready {
            view! {
                <p class="flag" id="turn-on-blocked">
                    "SSO can be turned on once an Active domain is routed to a connected identity provider (steps 1 and 2)."
                </p>
            }
            .into_any()
        } else {
            view! {
                <ApiForm action=UpdatePolicy::PATH.into() then=AfterSuccess::Reload class="policy-form".into()>
                    <input type="hidden" name="account_id" value=account_id />
                    <input type="hidden" name="sso_enabled" value="true" />
                    <label class="toggle">
                        <input type="checkbox" name="enforce_sso" value="true" checked=policy.enforce_sso />
                        <span>
                            <strong>"Enforce SSO"</strong>
                            <span class="hint">
                                "Users your IdP created sign in only through it, never with a password. Leave off while you try SSO out; you can turn it on later."
                            </span>
                        </span>
                    </label>
                    <label class="toggle">
                        <input
                            type="checkbox"
                            name="no_separate_account"
                            value="true"
                            checked=policy.no_separate_account
                        />
                        <span>
                            <strong>"No separate account"</strong>
                            <span class="hint">
                                "People your IdP signs in for the first time do not also get a personal account of their own."
                            </span>
                        </span>
                    </label>
                    <p class="hint owner-note">
                        "You keep signing in with your password as the Owner, so you can always get in to change this."
                    </p>
                    <FieldError field="sso_enabled" />
                    <button type="submit" class="button primary" data-pending-text="Turning on…">
                        "Turn on single sign-on"
                    </button>
                </ApiForm>
            }
            .into_any()
        }}
    }
}

/// The way on to the next step (its address and title), once the current one is done.
#[component]
fn NextStep(next: (String, String)) -> impl IntoView {
    let (href, title) = next;
    view! {
        <p class="next-step">
            <a class="button secondary" href=href>{format!("Next: {title}")}</a>
        </p>
    }
}

/// After the last step: what is on now, and where everything else lives.
#[component]
fn SetupFinished(account_id: String, page: SetupPage) -> impl IntoView {
    let lines = who_signs_in_where(true, &page.domains.domains, &connection_choices(&page.connections));
    view! {
        <div class="setup-step" id="setup-finished">
            <h3>"Single sign-on is on"</h3>
            <ul class="who-where" aria-label="Who signs in where">
                {lines.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
            </ul>
            <p>
                <a class="button secondary" href=format!("/accounts/{account_id}/sso")>"Go to the SSO settings"</a>
            </p>
        </div>
    }
}

/// The last step for a setup link's holder: tell the Owner the set-up is ready (an audit entry, and a mail when
/// the server sends mail).
#[component]
fn HandOverStep(owner_email: String, finished: Option<String>, connections: ConnectionsPage) -> impl IntoView {
    let tested = connections.connections.iter().any(passed_test);
    view! {
        <LastTests connections=connections.connections />
        <p>
            {format!(
                "When Test SSO passes, tell {owner_email}: they review the set-up and turn single sign-on on for everyone."
            )}
        </p>
        {(!tested)
            .then(|| view! { <p class="flag">"No Test SSO run has passed yet: test first (step 3)."</p> })}
        {match finished {
            Some(at) => view! {
                <p class="banner banner-info" role="status" id="finished">
                    {format!("You told {owner_email} the set-up is done ({at}). You can still make changes until the link expires.")}
                </p>
            }
            .into_any(),
            None => view! {
                <ApiForm action=FinishSetup::PATH.into() then=AfterSuccess::Reload class=String::new()>
                    <button type="submit" class="button primary" data-pending-text="Telling them…">
                        "I'm done"
                    </button>
                </ApiForm>
            }
            .into_any(),
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(value: &str) -> Option<Step> {
        let mut query = ParamsMap::new();
        query.insert("step", value.to_owned());
        Step::from_query(&query)
    }

    #[test]
    fn a_step_is_reopened_by_its_number_and_anything_else_opens_where_the_account_stands() {
        assert_eq!(asked("1"), Some(Step::Domain));
        assert_eq!(asked("4"), Some(Step::Finish));
        for junk in ["0", "5", "-1", "2.5", "", "two", "99999999999999999999999"] {
            assert_eq!(asked(junk), None, "{junk:?}");
        }
        assert_eq!(Step::from_query(&ParamsMap::new()), None);
    }
}
