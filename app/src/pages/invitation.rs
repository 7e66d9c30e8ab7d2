//! `/invitations/:token`: what an invitation offers, and accepting it.

use super::encode;
use crate::api::accounts::{AcceptInvitation, get_invitation};
use crate::api::auth::confirm_email_path;
use crate::components::{AfterSuccess, ApiForm, AuthCard};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use server_fn::ServerFn;

#[component]
pub fn Invitation() -> impl IntoView {
    let params = use_params_map();
    let token = params.read_untracked().get("token").unwrap_or_default();
    let details = Resource::new_blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        get_invitation,
    );
    view! {
        <Title text="Invitation" />
        <AuthCard>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        let here = format!("/invitations/{token}");
                        match details.await {
                            Err(e) => view! {
                                <h2>"Invitation not available"</h2>
                                <div class="banner banner-error">{e.to_string()}</div>
                                <a href="/">"Go to Gatehouse"</a>
                            }
                            .into_any(),
                            Ok(d) => {
                                let intro = format!("You are invited to join {} as {}.", d.account_name, d.role_label);
                                let action = match d.signed_in_as.clone() {
                                    Some(_) if d.for_signed_in_user && !d.signed_in_proven => view! {
                                        <p>"Confirm your email address first: follow the link we sent you."</p>
                                        <a class="button primary wide" href=confirm_email_path(&here)>
                                            "Confirm your email address"
                                        </a>
                                    }
                                    .into_any(),
                                    Some(_) if d.for_signed_in_user => {
                                        view! { <AcceptForm token /> }.into_any()
                                    }
                                    Some(me) => view! {
                                        <div class="banner banner-error">
                                            {format!(
                                                "This invitation is for {}, but you are signed in as {me}. Sign out and sign in with the invited address.",
                                                d.email,
                                            )}
                                        </div>
                                    }
                                    .into_any(),
                                    None => view! {
                                        <p>{format!("Sign in or create an account with {} to accept.", d.email)}</p>
                                        <div class="button-row">
                                            <a class="button primary" href=format!("/sign-in?next={}", encode(&here))>
                                                "Sign in"
                                            </a>
                                            <a
                                                class="button secondary"
                                                href=format!("/sign-up?email={}&next={}", encode(&d.email), encode(&here))
                                            >
                                                "Create an account"
                                            </a>
                                        </div>
                                    }
                                    .into_any(),
                                };
                                view! {
                                    <h2>"Invitation"</h2>
                                    <p>{intro}</p>
                                    {action}
                                }
                                .into_any()
                            }
                        }
                    })
                }}
            </Suspense>
        </AuthCard>
    }
}

#[component]
fn AcceptForm(token: String) -> impl IntoView {
    view! {
        <ApiForm action=AcceptInvitation::PATH.into() then=AfterSuccess::OpenAnsweredPath class=String::new()>
            <input type="hidden" name="token" value=token />
            <button type="submit" class="button primary wide" data-pending-text="Accepting…">
                "Accept invitation"
            </button>
        </ApiForm>
    }
}
