//! `/sign-in`: email and password, or email alone for single sign-on.

use super::encode;
use crate::api::auth::{SessionInfo, SignIn, current_session};
use crate::components::{AfterSuccess, ApiForm, AuthCard, FieldError};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    let confirmed = query.read_untracked().get("confirmed").is_some();
    let session = Resource::new_blocking(|| (), |_| current_session());
    let sign_up_link = if next.is_empty() {
        "/sign-up".to_owned()
    } else {
        format!("/sign-up?next={}", encode(&next))
    };
    let target_next = next.clone();
    view! {
        <Title text="Sign in" />
        <Suspense fallback=|| ()>
            {move || {
                let next = target_next.clone();
                Suspend::new(async move {
                    // Already signed in (also where a plain form post lands after signing in): go on.
                    session.await.ok().flatten().map(|info| {
                        view! { <Redirect path=signed_in_target(&next, &info) /> }
                    })
                })
            }}
        </Suspense>
        <AuthCard>
            <h2>"Sign in"</h2>
            {confirmed.then(|| view! {
                <div class="banner banner-info" role="status">"Your email address is confirmed. Sign in to continue."</div>
            })}
            <SignInForm next />
            <p class="auth-switch">"New to Gatehouse? " <a href=sign_up_link>"Create an account"</a></p>
        </AuthCard>
    }
}

/// Where a user who is already signed in goes from here: `next` when the same-site rule that every redirect uses
/// accepts it, else their first account. Pages render on the server, where that rule runs.
#[cfg_attr(not(feature = "ssr"), allow(unused_variables))]
fn signed_in_target(next: &str, info: &SessionInfo) -> String {
    #[cfg(feature = "ssr")]
    if let Some(path) = gatehouse_core::auth::return_path::same_site_path(next) {
        return match info.email_proven {
            true => path.to_owned(),
            false => crate::api::auth::confirm_email_path(path),
        };
    }
    info.home()
}

#[component]
fn SignInForm(next: String) -> impl IntoView {
    view! {
        <ApiForm action=SignIn::PATH.into() then=AfterSuccess::OpenAnsweredPath class=String::new()>
            <input type="hidden" name="next" value=next />
            <div class="field">
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required autofocus />
                <FieldError field="email" />
            </div>
            <div class="field">
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" aria-describedby="password-sso-hint" />
                <span class="hint" id="password-sso-hint">"Signing in with your organisation's single sign-on? Leave the password empty."</span>
                <FieldError field="password" />
            </div>
            <button type="submit" class="button primary wide" data-pending-text="Signing in…">
                "Sign in"
            </button>
        </ApiForm>
    }
}
