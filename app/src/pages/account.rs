//! The frame of every account page (top bar, account name, tabs), and the account's overview.
//!
//! Each account page loads everything it shows (session, account, the page's own data) in one resource and
//! renders once it is there; nested loading inside a loaded frame is avoided on purpose, since a resource
//! created under another resource's view can outlive its request on the server.

use crate::api::accounts::{AccountView, account_overview};
use crate::api::auth::{SessionInfo, current_session};
use crate::api::sso::{CertificateNoticeView, certificate_notices};
use crate::components::TopBar;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};
use leptos_router::params::ParamsMap;
use serde::{Serialize, de::DeserializeOwned};
use std::future::Future;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    Overview,
    Members,
    Sso,
    Settings,
}

/// What an account page found when it loaded.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum Loaded<T> {
    SignedOut,
    /// Signed in, but the address is not proven yet: nothing opens before that.
    Unproven,
    Unavailable(SessionInfo, AppError),
    NoAccess(SessionInfo, AccountView),
    Ready(SessionInfo, AccountView, Vec<CertificateNoticeView>, T),
}

async fn load<T, Fut>(
    account_id: String,
    query: ParamsMap,
    page_data: fn(String, ParamsMap) -> Fut,
) -> Result<Loaded<T>, AppError>
where
    Fut: Future<Output = Result<T, AppError>>,
{
    let Some(session) = current_session().await? else {
        return Ok(Loaded::SignedOut);
    };
    if !session.email_proven {
        return Ok(Loaded::Unproven);
    }
    let account = match account_overview(account_id.clone()).await {
        Ok(account) => account,
        Err(e @ (AppError::NotFound(_) | AppError::Forbidden(_) | AppError::SsoRequired { .. })) => {
            return Ok(Loaded::Unavailable(session, e));
        }
        Err(e) => return Err(e),
    };
    if !account.can_view {
        return Ok(Loaded::NoAccess(session, account));
    }
    // Owners and Admins (who may read the SSO events) look after connections: they see the certificate banner.
    let notices = match account.can_view_audit {
        true => certificate_notices(account_id.clone()).await?,
        false => Vec::new(),
    };
    let data = page_data(account_id, query).await?;
    Ok(Loaded::Ready(session, account, notices, data))
}

/// Renders one account page: the frame, and `body` with the page's data once everything has loaded. The page's
/// data comes from `page_data`, given the account's ID and the page's query string with the route's own
/// parameters (such as a connection's ID) in it.
pub(crate) fn account_page<T, Fut>(
    tab: Tab,
    page_data: fn(String, ParamsMap) -> Fut,
    body: fn(AccountView, T) -> AnyView,
) -> impl IntoView
where
    T: Clone + Serialize + DeserializeOwned + Send + Sync + 'static,
    Fut: Future<Output = Result<T, AppError>> + Send + 'static,
{
    let route = use_params_map().get_untracked();
    let account_id = route.get("account_id").unwrap_or_default();
    // Read here, in the router's context: the loader runs later, after awaits, without it.
    let mut query = use_query_map().get_untracked();
    for (name, value) in route.latest_values() {
        query.replace(name.clone(), value.to_owned());
    }
    let location = use_location();
    let here = format!(
        "{}{}",
        location.pathname.get_untracked(),
        location.search.get_untracked()
    );
    let loaded = Resource::new_blocking(
        {
            let account_id = account_id.clone();
            move || account_id.clone()
        },
        move |id| load(id, query.clone(), page_data),
    );
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || {
                let account_id = account_id.clone();
                let here = here.clone();
                Suspend::new(async move {
                    match loaded.await {
                        Ok(Loaded::SignedOut) => {
                            let next = super::encode(&here);
                            view! { <Redirect path=format!("/sign-in?next={next}") /> }.into_any()
                        }
                        Ok(Loaded::Unproven) => {
                            view! { <Redirect path=crate::api::auth::confirm_email_path(&here) /> }.into_any()
                        }
                        Ok(Loaded::Unavailable(session, error)) => view! {
                            <TopBar info=session current_account=account_id />
                            <AccountUnavailable error />
                        }
                        .into_any(),
                        Ok(Loaded::NoAccess(session, account)) => view! {
                            <TopBar info=session current_account=account_id />
                            <main class="page">
                                <h1>{account.name}</h1>
                                <div class="empty-state">
                                    <h2>"You have no access to this account yet"</h2>
                                    <p>"You are a member with the role No access. Ask the account owner to give you a role."</p>
                                </div>
                            </main>
                        }
                        .into_any(),
                        Ok(Loaded::Ready(session, account, notices, data)) => view! {
                            <TopBar info=session current_account=account_id />
                            <AccountHead account=account.clone() tab />
                            <main class="page">
                                <CertificateNotices notices />
                                {body(account, data)}
                            </main>
                        }
                        .into_any(),
                        Err(e) => view! {
                            <main class="page">
                                <div class="banner banner-error">{e.to_string()}</div>
                            </main>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The banner of connections whose last signing certificate or SP key ends within 30 days, or has ended, each
/// with what to do and a link to the connection.
#[component]
fn CertificateNotices(notices: Vec<CertificateNoticeView>) -> impl IntoView {
    notices
        .into_iter()
        .map(|notice| {
            let class = if notice.expired {
                "banner banner-error certificate-notice"
            } else {
                "banner banner-warning certificate-notice"
            };
            view! {
                <section class=class role="status" aria-label=notice.title>
                    <p class="notice-summary"><strong>{notice.summary}</strong></p>
                    <p class="notice-fix">{notice.fix}</p>
                    <a class="button secondary" href=notice.href>{notice.action}</a>
                </section>
            }
        })
        .collect_view()
}

#[component]
fn AccountUnavailable(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && matches!(
            error,
            AppError::NotFound(_) | AppError::Forbidden(_) | AppError::SsoRequired { .. }
        )
    {
        response.set_status(http::StatusCode::from_u16(error.status()).unwrap_or(http::StatusCode::NOT_FOUND));
    }
    if let AppError::SsoRequired { message, sign_in } = error {
        return view! { <SsoSignInNeeded message sign_in /> }.into_any();
    }
    view! {
        <main class="page">
            <div class="empty-state">
                <h1>"Account not available"</h1>
                <p>{error.to_string()}</p>
                <a class="button primary" href="/">"Go to your account"</a>
            </div>
        </main>
    }
    .into_any()
}

/// The account enforces SSO and this session did not come through its identity provider: say so, and offer the
/// sign-in that opens it (the same user, so it replaces this session and comes back here).
#[component]
fn SsoSignInNeeded(message: String, sign_in: Option<String>) -> impl IntoView {
    view! {
        <main class="page">
            <div class="empty-state">
                <h1>"Sign in through your organisation"</h1>
                <p>{message}</p>
                {match sign_in {
                    Some(path) => {
                        view! { <a class="button primary" href=path>"Sign in with single sign-on"</a> }.into_any()
                    }
                    None => {
                        view! {
                            <p class="hint">"Single sign-on is not set up for your email's domain here: ask the account's administrator."</p>
                        }
                            .into_any()
                    }
                }}
            </div>
        </main>
    }
}

#[component]
fn AccountHead(account: AccountView, tab: Tab) -> impl IntoView {
    let base = format!("/accounts/{}", account.id);
    let mut tabs = vec![
        (Tab::Overview, base.clone(), "Overview"),
        (Tab::Members, format!("{base}/members"), "Members"),
        (Tab::Sso, format!("{base}/sso"), "SSO"),
    ];
    if account.can_manage_members {
        tabs.push((Tab::Settings, format!("{base}/settings"), "Settings"));
    }
    view! {
        <div class="account-head">
            <div class="account-title">
                <h1>{account.name}</h1>
                <span class="badge">{account.role}</span>
            </div>
            <nav class="tabs" aria-label="Account sections">
                {tabs
                    .into_iter()
                    .map(|(t, href, label)| view! { <a href=href aria-current=(t == tab).then_some("page")>{label}</a> })
                    .collect_view()}
            </nav>
        </div>
    }
}

async fn nothing(_account_id: String, _query: ParamsMap) -> Result<(), AppError> {
    Ok(())
}

#[component]
pub fn Overview() -> impl IntoView {
    account_page(Tab::Overview, nothing, |account, ()| {
        let base = format!("/accounts/{}", account.id);
        view! {
            <Title text=account.name.clone() />
            <section class="cards">
                <article class="card">
                    <h2>"Members"</h2>
                    <p>"See who belongs to this account and what each person may do."</p>
                    <a class="button secondary" href=format!("{base}/members")>
                        {if account.can_manage_members { "Manage members" } else { "View members" }}
                    </a>
                </article>
                <article class="card">
                    <h2>"Single sign-on"</h2>
                    <p>"Prove that your organisation owns its email domains, so their sign-ins can go to your identity provider."</p>
                    <a class="button secondary" href=format!("{base}/sso/domains")>
                        {if account.can_manage_domains { "Set up domains" } else { "View domains" }}
                    </a>
                </article>
                <article class="card">
                    <h2>"Your role"</h2>
                    <p>
                        "You are " <strong>{account.role.clone()}</strong> " in " {account.name.clone()} ". "
                        {if account.can_manage_members {
                            "As the owner you manage members, roles and the account's settings."
                        } else {
                            "You can see this account; the owner manages its members and settings."
                        }}
                    </p>
                </article>
            </section>
        }
        .into_any()
    })
}
