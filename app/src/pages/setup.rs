//! The pages of whoever holds a setup link: `/setup/:token` says whose set-up it is and starts it (a POST, so a
//! mail scanner that opens the link starts nothing), and `/setup` is the set-up itself: the account's domains and
//! identity providers, Test SSO, and "I'm done".

use super::sso::connections::ConnectionCards;
use super::sso::domains::{AddDomainForm, DnsHelp, DomainTable};
use crate::api::auth::{SessionInfo, current_session};
use crate::api::domains::{DomainsPage, list_domains};
use crate::api::setup_links::{FinishSetup, SetupProgressView, StartSetup, setup_link_details, setup_progress};
use crate::api::sso::{ConnectionsPage, list_connections};
use crate::components::{AfterSuccess, ApiForm, TopBar};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use server_fn::ServerFn;

/// `/setup/:token`: the link's landing page.
#[component]
pub fn SetupLinkLanding() -> impl IntoView {
    let token = use_params_map().read_untracked().get("token").unwrap_or_default();
    let details = Resource::new_blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        setup_link_details,
    );
    view! {
        <Title text="Single sign-on set-up" />
        <main class="auth-page">
            <div class="auth-card">
                <h1 class="brand-large">"Gatehouse"</h1>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || {
                        let token = token.clone();
                        Suspend::new(async move {
                            match details.await {
                                Err(error) => view! { <LinkUnavailable error /> }.into_any(),
                                Ok(d) => view! {
                                    <h2>{format!("Set up single sign-on for {}", d.account_name)}</h2>
                                    <p>
                                        {format!(
                                            "{} asks you to connect {} to your organisation's identity provider: prove its email domains and connect the IdP, then test it.",
                                            d.owner_email,
                                            d.account_name,
                                        )}
                                    </p>
                                    <p class="hint">
                                        {format!(
                                            "You need no Gatehouse account. This setup link ({}) works until {}; it opens this set-up only.",
                                            d.link_name,
                                            d.expires,
                                        )}
                                    </p>
                                    <ApiForm action=StartSetup::PATH.into() then=AfterSuccess::OpenAnsweredPath class=String::new()>
                                        <input type="hidden" name="token" value=token />
                                        <button type="submit" class="button primary wide" data-pending-text="Starting…">
                                            "Start set-up"
                                        </button>
                                    </ApiForm>
                                }
                                .into_any(),
                            }
                        })
                    }}
                </Suspense>
            </div>
        </main>
    }
}

/// A link that does not open: not found, expired or revoked, with the status that says so.
#[component]
fn LinkUnavailable(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::from_u16(error.status()).unwrap_or(http::StatusCode::NOT_FOUND));
    }
    view! {
        <h2>"Setup link not available"</h2>
        <div class="banner banner-error">{error.to_string()}</div>
    }
}

/// Everything the set-up page shows, loaded at once.
#[derive(Clone, Serialize, Deserialize)]
struct SetupPage {
    session: SessionInfo,
    progress: SetupProgressView,
    domains: DomainsPage,
    connections: ConnectionsPage,
}

/// Why the set-up page shows nothing to do.
#[derive(Clone, Serialize, Deserialize)]
enum SetupLoaded {
    /// No live setup link session: the link was never opened here, expired or was revoked.
    NoLink,
    Ready(Box<SetupPage>),
}

async fn load_setup() -> Result<SetupLoaded, AppError> {
    let Some(session) = current_session().await? else {
        return Ok(SetupLoaded::NoLink);
    };
    if session.setup_link.is_none() {
        return Ok(SetupLoaded::NoLink);
    }
    let progress = setup_progress().await?;
    let account_id = progress.account_id.clone();
    Ok(SetupLoaded::Ready(Box::new(SetupPage {
        session,
        progress,
        domains: list_domains(account_id.clone()).await?,
        connections: list_connections(account_id).await?,
    })))
}

/// `/setup`: the set-up the holder of a setup link works on.
#[component]
pub fn SetupWork() -> impl IntoView {
    let loaded = Resource::new_blocking(|| (), |_| load_setup());
    view! {
        <Title text="Single sign-on set-up" />
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(SetupLoaded::Ready(page)) => view! { <SetupSteps page=*page /> }.into_any(),
                    Ok(SetupLoaded::NoLink) => view! { <NoSetupLink /> }.into_any(),
                    Err(e) => view! {
                        <main class="page">
                            <div class="banner banner-error">{e.to_string()}</div>
                        </main>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NoSetupLink() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::UNAUTHORIZED);
    }
    view! {
        <main class="auth-page">
            <div class="auth-card">
                <h1 class="brand-large">"Gatehouse"</h1>
                <h2>"Open your setup link"</h2>
                <p>
                    "This page is for the person an account's Owner sent a setup link to. Open the link from their message again; if it no longer works, it expired or was revoked: ask them for a new one."
                </p>
            </div>
        </main>
    }
}

#[component]
fn SetupSteps(page: SetupPage) -> impl IntoView {
    let SetupPage {
        session,
        progress,
        domains,
        connections,
    } = page;
    let SetupProgressView {
        account_id,
        account_name,
        link_name: _,
        owner_email,
        expires,
        finished,
    } = progress;
    let connection_choices: Vec<(String, String)> = connections
        .connections
        .iter()
        .map(|c| (c.id.clone(), c.label.clone()))
        .collect();
    let can_route = connections.can_manage_trust;
    let DomainsPage {
        domains,
        can_manage,
        pending_hours,
        ..
    } = domains;
    view! {
        <TopBar info=session current_account=account_id.clone() />
        <main class="page">
            <div class="account-head">
                <div class="account-title">
                    <h1>{format!("Single sign-on set-up for {account_name}")}</h1>
                </div>
                <p>
                    {format!(
                        "{owner_email} asked you to add and verify the organisation's email domains, connect its identity provider and run Test SSO. When the test passes, press I'm done: {owner_email} then turns single sign-on on."
                    )}
                </p>
                <p class="hint">{format!("Your setup link works until {expires}.")}</p>
            </div>
            <section class="panel" id="domains">
                <div class="panel-head">
                    <h2>"Domains"</h2>
                    <p class="muted">
                        "Prove that the organisation owns each email domain by publishing a DNS TXT record, then press Verify."
                    </p>
                </div>
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
            </section>
            <DnsHelp pending_hours />
            <ConnectionCards account_id=account_id.clone() page=connections />
            <FinishPanel owner_email finished />
        </main>
    }
}

#[component]
fn FinishPanel(owner_email: String, finished: Option<String>) -> impl IntoView {
    view! {
        <section class="panel" id="finish">
            <div class="panel-head">
                <h2>"When you are done"</h2>
                <p class="muted">
                    {format!(
                        "When Test SSO passes, tell {owner_email}: they review the set-up and turn single sign-on on for everyone."
                    )}
                </p>
            </div>
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
        </section>
    }
}
