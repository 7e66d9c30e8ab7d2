//! `/accounts/:account_id`: the account frame (name, tabs) and its overview.

use crate::api::accounts::{AccountView, account_overview};
use crate::components::SignedIn;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Outlet;
use leptos_router::hooks::{use_location, use_params_map};

/// The account id in the current URL.
pub(crate) fn use_account_id() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("account_id").unwrap_or_default())
}

#[component]
pub fn AccountLayout() -> impl IntoView {
    view! {
        <SignedIn>
            <AccountFrame />
        </SignedIn>
    }
}

#[component]
fn AccountFrame() -> impl IntoView {
    let account_id = use_account_id();
    let account = Resource::new_blocking(move || account_id.get(), account_overview);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match account.await {
                    Ok(view) if view.can_view => {
                        provide_context(view.clone());
                        view! {
                            <AccountTabs account=view />
                            <main class="page">
                                <Outlet />
                            </main>
                        }
                            .into_any()
                    }
                    Ok(view) => {
                        view! {
                            <main class="page">
                                <h1>{view.name}</h1>
                                <div class="empty-state">
                                    <h2>"You have no access to this account yet"</h2>
                                    <p>
                                        "You are a member with the role No access. Ask the account owner to give you a role."
                                    </p>
                                </div>
                            </main>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <AccountUnavailable error=e /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AccountUnavailable(error: AppError) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (AppError::NotFound(_), Some(response)) = (&error, use_context::<leptos_axum::ResponseOptions>()) {
        response.set_status(http::StatusCode::NOT_FOUND);
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
}

#[component]
fn AccountTabs(account: AccountView) -> impl IntoView {
    let location = use_location();
    let base = format!("/accounts/{}", account.id);
    let mut tabs = vec![(base.clone(), "Overview"), (format!("{base}/members"), "Members")];
    if account.can_manage_members {
        tabs.push((format!("{base}/settings"), "Settings"));
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
                    .map(|(href, label)| {
                        let target = href.clone();
                        let current = move || (location.pathname.get() == target).then_some("page");
                        view! { <a href=href aria-current=current>{label}</a> }
                    })
                    .collect_view()}
            </nav>
        </div>
    }
}

/// The account the surrounding frame loaded.
pub(crate) fn use_account() -> AccountView {
    expect_context::<AccountView>()
}

#[component]
pub fn Overview() -> impl IntoView {
    let account = use_account();
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
}
