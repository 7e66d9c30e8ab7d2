//! `/accounts/:account_id/settings`: the owner renames the account or hands ownership to another member.

use super::account::use_account;
use super::load_page;
use crate::api::accounts::{RenameAccount, TransferOwnership, list_members};
use crate::components::{ErrorBanner, FieldError};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Settings() -> impl IntoView {
    let account = use_account();
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
    let rename = ServerAction::<RenameAccount>::new();
    let transfer = ServerAction::<TransferOwnership>::new();
    let rename_result = Signal::derive(move || rename.value().get());
    let transfer_result = Signal::derive(move || transfer.value().get());
    let account_path = format!("/accounts/{}", account.id);
    Effect::new({
        let account_path = account_path.clone();
        move |_| {
            if matches!(rename.value().get(), Some(Ok(()))) || matches!(transfer.value().get(), Some(Ok(()))) {
                load_page(&account_path);
            }
        }
    });
    let members = Resource::new_blocking(
        {
            let id = account.id.clone();
            move || id.clone()
        },
        list_members,
    );
    let account_id = account.id.clone();
    view! {
        <Title text="Settings" />
        <section class="panel">
            <div class="panel-head">
                <h2>"Account name"</h2>
                <p class="muted">"Shown to members in the account switcher and in invitations."</p>
            </div>
            <ErrorBanner result=rename_result fields=&["name"] />
            <ActionForm action=rename attr:class="inline-form">
                <input type="hidden" name="account_id" value=account.id.clone() />
                <div class="field grow">
                    <label for="account-name">"Name"</label>
                    <input id="account-name" name="name" type="text" required maxlength="120" value=account.name.clone() />
                    <FieldError result=rename_result field="name" />
                </div>
                <button type="submit" class="button primary">"Save name"</button>
            </ActionForm>
        </section>
        <section class="panel">
            <div class="panel-head">
                <h2>"Transfer ownership"</h2>
                <p class="muted">
                    "An account has exactly one owner. The member you choose becomes the owner; you become an Admin."
                </p>
            </div>
            <ErrorBanner result=transfer_result fields=&[] />
            <Suspense fallback=|| ()>
                {move || {
                    let account_id = account_id.clone();
                    Suspend::new(async move {
                        let candidates: Vec<_> = members
                            .await
                            .map(|p| p.members.into_iter().filter(|m| !m.is_owner).collect())
                            .unwrap_or_default();
                        if candidates.is_empty() {
                            return view! {
                                <p class="empty">"Invite a member first: ownership can only go to someone already in the account."</p>
                            }
                                .into_any();
                        }
                        view! {
                            <ActionForm action=transfer attr:class="inline-form">
                                <input type="hidden" name="account_id" value=account_id />
                                <div class="field grow">
                                    <label for="new-owner">"New owner"</label>
                                    <select id="new-owner" name="user_id">
                                        {candidates
                                            .into_iter()
                                            .map(|m| view! { <option value=m.user_id>{format!("{} ({})", m.email, m.role_label)}</option> })
                                            .collect_view()}
                                    </select>
                                </div>
                                <button type="submit" class="button danger">"Transfer ownership"</button>
                            </ActionForm>
                        }
                            .into_any()
                    })
                }}
            </Suspense>
        </section>
    }
        .into_any()
}
