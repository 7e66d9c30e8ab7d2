//! `/accounts/:account_id/members`: members and roles; the owner invites, changes roles and removes.

use super::account::use_account;
use crate::api::accounts::{
    ASSIGNABLE_ROLES, ChangeMemberRole, InviteMember, MemberView, MembersPage, RemoveMember, RevokeInvitation,
    list_members,
};
use crate::components::{CopyField, ErrorBanner, FieldError, Notice};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Members() -> impl IntoView {
    let account = use_account();
    let account_id = account.id.clone();
    let invite = ServerAction::<InviteMember>::new();
    let change_role = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let page = Resource::new_blocking(
        {
            let account_id = account_id.clone();
            move || {
                (
                    account_id.clone(),
                    invite.version().get(),
                    change_role.version().get(),
                    remove.version().get(),
                    revoke.version().get(),
                )
            }
        },
        |(id, ..)| list_members(id),
    );
    let invite_result = Signal::derive(move || invite.value().get());
    let change_result = Signal::derive(move || change_role.value().get());
    let remove_result = Signal::derive(move || remove.value().get());
    let revoke_result = Signal::derive(move || revoke.value().get());
    let actions = RowActions {
        account_id: account_id.clone(),
        change_role,
        remove,
    };
    let invite_account = account_id.clone();

    view! {
        <Title text=format!("Members of {}", account.name) />
        <section class="panel">
            <div class="panel-head">
                <h2>"Members"</h2>
                <p class="muted">"Everyone who belongs to this account, with their role."</p>
            </div>
            <ErrorBanner result=change_result />
            <ErrorBanner result=remove_result />
            <Suspense fallback=|| view! { <p class="loading">"Loading members…"</p> }>
                {move || {
                    let actions = actions.clone();
                    Suspend::new(async move {
                        match page.await {
                            Ok(page) => view! { <MemberTable page actions /> }.into_any(),
                            Err(e) => view! { <div class="banner banner-error">{e.to_string()}</div> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
        {account.can_manage_members.then(|| view! {
            <section class="panel">
                <div class="panel-head">
                    <h2>"Invite a member"</h2>
                    <p class="muted">
                        "The invitation link works once and expires after 7 days. The person signs in, or creates an account, with the invited address to accept it."
                    </p>
                </div>
                <ErrorBanner result=invite_result fields=&["email", "role"] />
                <ActionForm action=invite attr:class="inline-form">
                    <input type="hidden" name="account_id" value=invite_account />
                    <div class="field">
                        <label for="invite-email">"Email"</label>
                        <input id="invite-email" name="email" type="email" required placeholder="name@company.com" />
                        <FieldError result=invite_result field="email" />
                    </div>
                    <div class="field">
                        <label for="invite-role">"Role"</label>
                        <select id="invite-role" name="role">
                            {ASSIGNABLE_ROLES
                                .map(|(value, label)| view! { <option value=value selected=value == "viewer">{label}</option> })
                                .collect_view()}
                        </select>
                        <FieldError result=invite_result field="role" />
                    </div>
                    <button type="submit" class="button primary" disabled=move || invite.pending().get()>
                        "Create invitation"
                    </button>
                </ActionForm>
                {move || {
                    invite
                        .value()
                        .get()
                        .and_then(Result::ok)
                        .map(|created| {
                            view! {
                                <div class="created">
                                    <Notice>
                                        {format!("Invitation for {} created (valid until {}). ", created.email, created.expires)}
                                        {created.delivery.clone()}
                                    </Notice>
                                    <CopyField label="Invitation link".into() value=created.link id="invitation-link".into() />
                                </div>
                            }
                        })
                }}
                <h3>"Pending invitations"</h3>
                <ErrorBanner result=revoke_result />
                <Suspense fallback=|| ()>
                    {move || {
                        let account_id = account_id.clone();
                        Suspend::new(async move {
                            let invitations = page.await.map(|p| p.invitations).unwrap_or_default();
                            if invitations.is_empty() {
                                return view! { <p class="empty">"No pending invitations."</p> }.into_any();
                            }
                            view! {
                                <table class="table">
                                    <thead>
                                        <tr>
                                            <th scope="col">"Email"</th>
                                            <th scope="col">"Role"</th>
                                            <th scope="col">"Expires"</th>
                                            <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {invitations
                                            .into_iter()
                                            .map(|i| {
                                                let account_id = account_id.clone();
                                                view! {
                                                    <tr>
                                                        <td data-label="Email">{i.email}</td>
                                                        <td data-label="Role">{i.role_label}</td>
                                                        <td data-label="Expires">
                                                            {i.expires}
                                                            {i.expired.then(|| view! { <span class="badge badge-warn">"Expired"</span> })}
                                                        </td>
                                                        <td class="actions">
                                                            <ActionForm action=revoke>
                                                                <input type="hidden" name="account_id" value=account_id.clone() />
                                                                <input type="hidden" name="invitation_id" value=i.id />
                                                                <button type="submit" class="button link danger">"Revoke"</button>
                                                            </ActionForm>
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        })
                    }}
                </Suspense>
            </section>
        })}
    }
}

#[derive(Clone)]
struct RowActions {
    account_id: String,
    change_role: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
}

#[component]
fn MemberTable(page: MembersPage, actions: RowActions) -> impl IntoView {
    let can_manage = page.account.can_manage_members;
    view! {
        <table class="table" id="members">
            <thead>
                <tr>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Member since"</th>
                    {can_manage.then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr>
            </thead>
            <tbody>
                {page
                    .members
                    .into_iter()
                    .map(|member| view! { <MemberRow member can_manage actions=actions.clone() /> })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn MemberRow(member: MemberView, can_manage: bool, actions: RowActions) -> impl IntoView {
    let editable = can_manage && !member.is_owner && !member.is_you;
    let role_select_id = format!("role-{}", member.user_id);
    let RowActions {
        account_id,
        change_role,
        remove,
    } = actions;
    let role_form_account = account_id.clone();
    let role_form_user = member.user_id.clone();
    let role_label_text = format!("Role of {}", member.email);
    let remove_question = format!("Remove {} from this account?", member.email);
    let remove_user = member.user_id.clone();
    let current_role = member.role.clone();
    view! {
        <tr data-email=member.email.clone()>
            <td data-label="Email">
                {member.email.clone()}
                {member.is_you.then(|| view! { <span class="muted">" (you)"</span> })}
            </td>
            <td data-label="Role">
                {if editable {
                    view! {
                        <ActionForm action=change_role attr:class="row-form">
                            <input type="hidden" name="account_id" value=role_form_account />
                            <input type="hidden" name="user_id" value=role_form_user />
                            <label class="visually-hidden" for=role_select_id.clone()>
                                {role_label_text}
                            </label>
                            <select id=role_select_id name="role">
                                {ASSIGNABLE_ROLES
                                    .map(|(value, label)| {
                                        view! { <option value=value selected=value == current_role>{label}</option> }
                                    })
                                    .collect_view()}
                            </select>
                            <button type="submit" class="button secondary small">"Save"</button>
                        </ActionForm>
                    }
                        .into_any()
                } else {
                    view! { <span class="badge">{member.role_label.clone()}</span> }.into_any()
                }}
            </td>
            <td data-label="Member since">{member.joined.clone()}</td>
            {can_manage
                .then(|| {
                    view! {
                        <td class="actions">
                            {editable
                                .then(|| {
                                    view! {
                                        <details class="confirm">
                                            <summary class="button link danger">"Remove"</summary>
                                            <ActionForm action=remove attr:class="confirm-body">
                                                <input type="hidden" name="account_id" value=account_id />
                                                <input type="hidden" name="user_id" value=remove_user />
                                                <p>{remove_question}</p>
                                                <button type="submit" class="button danger small">"Remove member"</button>
                                            </ActionForm>
                                        </details>
                                    }
                                })}
                        </td>
                    }
                })}
        </tr>
    }
}
