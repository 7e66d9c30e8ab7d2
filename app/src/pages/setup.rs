//! The pages of whoever holds a setup link: `/setup/:token` says whose set-up it is and starts it (a POST, so a
//! mail scanner that opens the link starts nothing), and `/setup` is the set-up itself: the guided setup's steps for
//! the link's account, ending with "I'm done" instead of turning SSO on.

use super::sso::setup::{GuidedSetup, LastStep, SetupPage, Step};
use crate::api::auth::{SessionInfo, current_session};
use crate::api::domains::list_domains;
use crate::api::setup_links::{SETUP_PATH, SetupProgressView, StartSetup, setup_link_details, setup_progress};
use crate::api::sso::list_connections;
use crate::components::{AfterSuccess, ApiForm, AuthCard, TopBar};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
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
        <AuthCard>
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
        </AuthCard>
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
struct LinkSetupPage {
    session: SessionInfo,
    progress: SetupProgressView,
    setup: SetupPage,
}

/// Why the set-up page shows nothing to do.
#[derive(Clone, Serialize, Deserialize)]
enum SetupLoaded {
    /// No live setup link session: the link was never opened here, expired or was revoked.
    NoLink,
    Ready(Box<LinkSetupPage>),
}

async fn load_setup(asked: Option<Step>) -> Result<SetupLoaded, AppError> {
    let Some(session) = current_session().await? else {
        return Ok(SetupLoaded::NoLink);
    };
    if session.setup_link.is_none() {
        return Ok(SetupLoaded::NoLink);
    }
    let progress = setup_progress().await?;
    let account_id = progress.account_id.clone();
    let setup = SetupPage {
        last: LastStep::HandOver {
            owner_email: progress.owner_email.clone(),
            finished: progress.finished.clone(),
        },
        domains: list_domains(account_id.clone()).await?,
        connections: list_connections(account_id).await?,
        asked,
    };
    Ok(SetupLoaded::Ready(Box::new(LinkSetupPage {
        session,
        progress,
        setup,
    })))
}

/// `/setup`: the set-up the holder of a setup link works on.
#[component]
pub fn SetupWork() -> impl IntoView {
    let asked = Step::from_query(&use_query_map().read_untracked());
    let loaded = Resource::new_blocking(move || asked, load_setup);
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
        <AuthCard>
            <h2>"Open your setup link"</h2>
            <p>
                "This page is for the person an account's Owner sent a setup link to. Open the link from their message again; if it no longer works, it expired or was revoked: ask them for a new one."
            </p>
        </AuthCard>
    }
}

/// The guided setup's steps 1 to 3 for the link's account, and handing over to the Owner as step 4.
#[component]
fn SetupSteps(page: LinkSetupPage) -> impl IntoView {
    let LinkSetupPage {
        session,
        progress,
        setup,
    } = page;
    let SetupProgressView {
        account_id,
        account_name,
        owner_email,
        expires,
        ..
    } = progress;
    view! {
        <TopBar info=session current_account=account_id.clone() />
        <main class="page">
            <div class="account-head">
                <div class="account-title">
                    <h1>{format!("Single sign-on set-up for {account_name}")}</h1>
                </div>
                <p class="hint">
                    {format!("{owner_email} sent you this setup link. It works until {expires} and opens this set-up only.")}
                </p>
            </div>
            <GuidedSetup account_id base=SETUP_PATH.to_owned() page=setup />
        </main>
    }
}
