//! The frame of every signed-in page: top bar with account switcher and sign-out, or a redirect to sign-in.

use crate::api::auth::{SessionInfo, SignOut, current_session};
use crate::pages::load_page;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

/// Renders `children` with the session when someone is signed in; otherwise sends the visitor to sign in
/// and back here afterwards.
#[component]
pub fn SignedIn(children: ChildrenFn) -> impl IntoView {
    let session = Resource::new_blocking(|| (), |_| current_session());
    let location = use_location();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match session.await {
                    Ok(Some(info)) => {
                        provide_context(info.clone());
                        view! {
                            <TopBar info=info />
                            {children.read_value()()}
                        }
                            .into_any()
                    }
                    Ok(None) => {
                        let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
                        let next = url_escape(&here);
                        view! { <Redirect path=format!("/sign-in?next={next}") /> }.into_any()
                    }
                    Err(e) => view! { <div class="banner banner-error">{e.to_string()}</div> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
pub fn TopBar(info: SessionInfo) -> impl IntoView {
    let current = use_location();
    let current_account = move || {
        let path = current.pathname.get();
        path.strip_prefix("/accounts/")
            .map(|rest| rest.split('/').next().unwrap_or_default().to_owned())
    };
    let accounts = info.accounts.clone();
    let current_name = {
        let accounts = accounts.clone();
        move || {
            let id = current_account();
            accounts
                .iter()
                .find(|a| Some(&a.id) == id.as_ref())
                .map(|a| a.name.clone())
                .unwrap_or_else(|| "Choose an account".into())
        }
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Gatehouse"</a>
            <details class="switcher">
                <summary aria-label="Switch account">{current_name}</summary>
                <ul role="list">
                    {accounts
                        .into_iter()
                        .map(|a| {
                            view! {
                                <li>
                                    <a href=format!("/accounts/{}", a.id)>
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
}

#[island]
fn SignOutButton() -> impl IntoView {
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if matches!(sign_out.value().get(), Some(Ok(()))) {
            load_page("/sign-in");
        }
    });
    view! {
        <ActionForm action=sign_out>
            <button type="submit" class="button link">"Sign out"</button>
        </ActionForm>
    }
}
