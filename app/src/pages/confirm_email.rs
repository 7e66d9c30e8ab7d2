//! `/confirm-email`: asks a signed-in user to follow the link sent to their address; `/confirm-email/:token`: the
//! page that link opens, which proves the address with one click.

use crate::api::auth::{
    ConfirmEmail, NO_RELAY, ProofLinks, ResendEmailProof, SignOut, email_proof_preview, email_proof_status,
};
use crate::components::{AfterSuccess, ApiForm, AuthCard};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};
use server_fn::ServerFn;

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let next = use_query_map().read_untracked().get("next").unwrap_or_default();
    let status = Resource::new_blocking(|| (), |_| email_proof_status());
    view! {
        <Title text="Confirm your email address" />
        <AuthCard>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let next = next.clone();
                    Suspend::new(async move {
                        match status.await {
                            Ok(None) => view! { <Redirect path="/sign-in?next=/confirm-email" /> }.into_any(),
                            Ok(Some(status)) if status.proven => {
                                view! { <Redirect path=proven_target(&next) /> }.into_any()
                            }
                            Ok(Some(status)) if status.links == ProofLinks::NotSent => view! {
                                <h2>"Confirm your email address"</h2>
                                <p>
                                    "Your account opens once you follow a link we send to " <strong>{status.email}</strong>
                                    "."
                                </p>
                                <div class="banner banner-error" role="alert">{NO_RELAY}</div>
                                <SignOutInstead />
                            }
                            .into_any(),
                            Ok(Some(status)) => {
                                let sent = match status.sent_at {
                                    Some(at) => format!("The last link was sent {at}; it works once, for 24 hours."),
                                    None => "No link is outstanding: ask for a new one below.".to_owned(),
                                };
                                view! {
                                    <h2>"Confirm your email address"</h2>
                                    <p>
                                        "Follow the link we sent to " <strong>{status.email}</strong>
                                        " to open your account."
                                    </p>
                                    <p class="hint">{sent}</p>
                                    {(status.links == ProofLinks::Logged).then(|| view! {
                                        <div class="banner banner-info">
                                            "This server sends no mail (no SMTP relay is configured), so the link was written to the server's log. Ask whoever runs the server for it."
                                        </div>
                                    })}
                                    <ApiForm action=ResendEmailProof::PATH.into() then=AfterSuccess::Reload class=String::new()>
                                        <button type="submit" class="button secondary wide" data-pending-text="Sending…">
                                            "Send a new link"
                                        </button>
                                    </ApiForm>
                                    <SignOutInstead />
                                }
                                .into_any()
                            }
                            Err(e) => view! { <div class="banner banner-error">{e.to_string()}</div> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </AuthCard>
    }
}

/// The way out for a user who typed the wrong address.
#[component]
fn SignOutInstead() -> impl IntoView {
    view! {
        <ApiForm action=SignOut::PATH.into() then=AfterSuccess::OpenAnsweredPath class="auth-switch".into()>
            "Wrong address? "
            <button type="submit" class="button link">"Sign out"</button>
        </ApiForm>
    }
}

/// Where a user whose address is proven goes on to: `next` when the same-site rule accepts it, else home.
#[cfg_attr(not(feature = "ssr"), allow(unused_variables))]
fn proven_target(next: &str) -> String {
    #[cfg(feature = "ssr")]
    if let Some(path) = gatehouse_core::auth::return_path::same_site_path(next) {
        return path.to_owned();
    }
    "/".to_owned()
}

#[component]
pub fn ProveEmailPage() -> impl IntoView {
    let token = use_params_map().read_untracked().get("token").unwrap_or_default();
    let preview = Resource::new_blocking(
        {
            let token = token.clone();
            move || token.clone()
        },
        email_proof_preview,
    );
    view! {
        <Title text="Confirm your email address" />
        <AuthCard>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match preview.await {
                            Ok(email) => view! {
                                <h2>"Confirm your email address"</h2>
                                <p>"Confirm that " <strong>{email}</strong> " is your address."</p>
                                <ApiForm action=ConfirmEmail::PATH.into() then=AfterSuccess::OpenAnsweredPath class=String::new()>
                                    <input type="hidden" name="token" value=token />
                                    <button type="submit" class="button primary wide" data-pending-text="Confirming…">
                                        "Confirm my address"
                                    </button>
                                </ApiForm>
                            }
                            .into_any(),
                            Err(e) => view! {
                                <h2>"This link does not work"</h2>
                                <div class="banner banner-error">{e.to_string()}</div>
                                <a class="button primary wide" href="/sign-in">"Sign in"</a>
                            }
                            .into_any(),
                        }
                    })
                }}
            </Suspense>
        </AuthCard>
    }
}
