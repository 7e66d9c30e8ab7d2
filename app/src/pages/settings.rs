//! `/accounts/:account_id/settings`: the owner renames the account or hands ownership to another member.

use super::account::{Tab, account_page};
use crate::api::accounts::{MemberView, RenameAccount, TransferOwnership, ownership_candidates};
use crate::components::{AfterSuccess, ApiForm, FieldError};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::params::ParamsMap;
use server_fn::ServerFn;

async fn load_candidates(account_id: String, _query: ParamsMap) -> Result<Vec<MemberView>, AppError> {
    ownership_candidates(account_id).await
}

#[component]
pub fn Settings() -> impl IntoView {
    account_page(Tab::Settings, load_candidates, |account, candidates| {
        if !account.can_manage_members {
            return view! {
                <Title text="Settings" />
                <div class="empty-state" id="owner-only">
                    <h2>"Only the account owner can open the settings"</h2>
                    <p>"Your role is " {account.role.clone()} ". Ask the account owner if something here needs to change."</p>
                </div>
            }
            .into_any();
        }
        let candidates: Vec<(String, String)> = candidates
            .into_iter()
            .map(|m| (m.user_id, format!("{} ({})", m.email, m.role_label)))
            .collect();
        view! {
            <Title text="Settings" />
            <section class="panel">
                <div class="panel-head">
                    <h2>"Account name"</h2>
                    <p class="muted">"Shown to members in the account switcher and in invitations."</p>
                </div>
                <RenameForm account_id=account.id.clone() name=account.name.clone() />
            </section>
            <section class="panel">
                <div class="panel-head">
                    <h2>"Transfer ownership"</h2>
                    <p class="muted">
                        "An account has exactly one owner. The member you choose becomes the owner; you become an Admin."
                    </p>
                </div>
                {if candidates.is_empty() {
                    view! {
                        <p class="empty">
                            "Invite a member first: ownership can only go to someone already in the account."
                        </p>
                    }
                    .into_any()
                } else {
                    view! { <TransferForm account_id=account.id.clone() candidates /> }.into_any()
                }}
            </section>
        }
        .into_any()
    })
}

#[component]
fn RenameForm(account_id: String, name: String) -> impl IntoView {
    view! {
        <ApiForm action=RenameAccount::PATH.into() then=AfterSuccess::Reload class="inline-form".into()>
            <input type="hidden" name="account_id" value=account_id />
            <div class="field grow">
                <label for="account-name">"Name"</label>
                <input id="account-name" name="name" type="text" required maxlength="120" value=name />
                <FieldError field="name" />
            </div>
            <button type="submit" class="button primary">"Save name"</button>
        </ApiForm>
    }
}

#[component]
fn TransferForm(account_id: String, candidates: Vec<(String, String)>) -> impl IntoView {
    // The former owner may no longer open the settings: show the account's overview.
    let overview = format!("/accounts/{account_id}");
    view! {
        <ApiForm action=TransferOwnership::PATH.into() then=AfterSuccess::Open(overview) class="inline-form".into()>
            <input type="hidden" name="account_id" value=account_id />
            <div class="field grow">
                <label for="new-owner">"New owner"</label>
                <select id="new-owner" name="user_id">
                    {candidates.into_iter().map(|(id, label)| view! { <option value=id>{label}</option> }).collect_view()}
                </select>
            </div>
            <details class="confirm">
                <summary class="button danger">"Transfer ownership…"</summary>
                <div class="confirm-body">
                    <p>"You become an Admin at once and cannot take the Owner role back yourself."</p>
                    <button type="submit" class="button danger small">"Yes, transfer ownership"</button>
                </div>
            </details>
        </ApiForm>
    }
}
