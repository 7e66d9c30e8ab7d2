//! `/sign-up`: a new user with a personal account they own.

use super::encode;
use crate::api::auth::SignUp;
use crate::components::{AfterSuccess, ApiForm, AuthCard, FieldError};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

#[component]
pub fn SignUpPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.read_untracked().get("next").unwrap_or_default();
    let email = query.read_untracked().get("email").unwrap_or_default();
    let sign_in_link = if next.is_empty() {
        "/sign-in".to_owned()
    } else {
        format!("/sign-in?next={}", encode(&next))
    };
    view! {
        <Title text="Create an account" />
        <AuthCard>
            <h2>"Create an account"</h2>
            <SignUpForm next email />
            <p class="auth-switch">"Already have an account? " <a href=sign_in_link>"Sign in"</a></p>
        </AuthCard>
    }
}

#[component]
fn SignUpForm(next: String, email: String) -> impl IntoView {
    view! {
        <ApiForm action=SignUp::PATH.into() then=AfterSuccess::OpenAnsweredPath class=String::new()>
            <input type="hidden" name="next" value=next />
            <div class="field">
                <label for="email">"Work email"</label>
                <input id="email" name="email" type="email" autocomplete="email" required value=email />
                <FieldError field="email" />
            </div>
            <div class="field">
                <label for="password">"Password"</label>
                <input
                    id="password"
                    name="password"
                    type="password"
                    autocomplete="new-password"
                    minlength="10"
                    required
                    aria-describedby="password-hint"
                />
                <p class="hint" id="password-hint">"At least 10 characters. A passphrase of a few words works well."</p>
                <FieldError field="password" />
            </div>
            <button type="submit" class="button primary wide" data-pending-text="Creating account…">
                "Create account"
            </button>
        </ApiForm>
    }
}
