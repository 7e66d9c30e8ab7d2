//! The frames of pages: the top bar of every signed-in page (account switcher, who is signed in, sign-out), and
//! the single card of the pages before it (signing in and up, invitations, proving an address, setup links).

use super::{AfterSuccess, ApiForm};
use crate::api::auth::{SessionInfo, SignOut};
use leptos::prelude::*;
use server_fn::ServerFn;

#[component]
pub fn TopBar(info: SessionInfo, current_account: String) -> impl IntoView {
    if let Some(link) = info.setup_link {
        // The holder of a setup link has no accounts to switch between: only the set-up, and a way to leave.
        return view! {
            <header class="topbar">
                <a class="brand" href=crate::api::setup_links::SETUP_PATH>"Gatehouse"</a>
                <div class="topbar-user">
                    <span class="user-email">{format!("Setup link: {link}")}</span>
                    <SignOutButton />
                </div>
            </header>
        }
        .into_any();
    }
    let current_name = info
        .accounts
        .iter()
        .find(|a| a.id == current_account)
        .map(|a| a.name.clone())
        .unwrap_or_else(|| "Choose an account".into());
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Gatehouse"</a>
            <details class="switcher">
                <summary>
                    <span class="visually-hidden">"Switch account. Current account: "</span>
                    {current_name}
                </summary>
                <ul role="list">
                    {info
                        .accounts
                        .into_iter()
                        .map(|a| {
                            let current = (a.id == current_account).then_some("page");
                            view! {
                                <li>
                                    <a href=format!("/accounts/{}", a.id) aria-current=current>
                                        <span class="switcher-name">{a.name}</span>
                                        <span class="badge">{a.role}</span>
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </details>
            <div class="topbar-user">
                <span class="user-email">{info.email}</span>
                <SignOutButton />
            </div>
        </header>
    }
    .into_any()
}

#[component]
fn SignOutButton() -> impl IntoView {
    view! {
        <ApiForm action=SignOut::PATH.into() then=AfterSuccess::OpenAnsweredPath class=String::new()>
            <button type="submit" class="button link">"Sign out"</button>
        </ApiForm>
    }
}

/// A page that is one card under the product's name.
#[component]
pub fn AuthCard(children: Children) -> impl IntoView {
    view! {
        <main class="auth-page">
            <div class="auth-card">
                <h1 class="brand-large">"Gatehouse"</h1>
                {children()}
            </div>
        </main>
    }
}
