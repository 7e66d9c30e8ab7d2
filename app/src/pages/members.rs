//! `/accounts/:account_id/members`: members and roles; the owner invites, changes roles and removes.

use super::account::{Tab, account_page};
use crate::api::accounts::{
    ASSIGNABLE_ROLES, ChangeMemberRole, InvitationCreated, InvitationView, InviteMember, MemberView, MembersPage,
    RemoveMember, RevokeInvitation, list_members,
};
use crate::components::{AfterSuccess, ApiForm, CopyField, ErrorBanner, FieldError, Notice, submit};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::params::ParamsMap;
use server_fn::ServerFn;

/// The page of members the query string asks for: `?q=` searches emails, `?after=` starts after an email.
async fn load_members(account_id: String, query: ParamsMap) -> Result<MembersPage, AppError> {
    list_members(
        account_id,
        query.get("q").unwrap_or_default(),
        query.get("after").unwrap_or_default(),
    )
    .await
}

#[component]
pub fn Members() -> impl IntoView {
    account_page(Tab::Members, load_members, |account, page| {
        let can_manage = account.can_manage_members;
        let base = format!("/accounts/{}/members", account.id);
        let searched = !page.search.trim().is_empty();
        let shown = page.members.len();
        view! {
            <Title text=format!("Members of {}", account.name) />
            <section class="panel">
                <div class="panel-head">
                    <h2>"Members"</h2>
                    <p class="muted">"Everyone who belongs to this account, with their role."</p>
                </div>
                <form method="get" action=base.clone() class="inline-form member-search" role="search">
                    <div class="field grow">
                        <label for="member-search">"Search by email"</label>
                        <input id="member-search" name="q" type="search" value=page.search.clone() placeholder="name or @company.com" />
                    </div>
                    <button type="submit" class="button secondary">"Search"</button>
                    {searched.then(|| view! { <a class="button link" href=base.clone()>"Show all"</a> })}
                </form>
                {if page.members.is_empty() {
                    let empty = if searched {
                        format!("No member's email contains “{}”.", page.search.trim())
                    } else {
                        "No members on this page.".to_owned()
                    };
                    view! { <p class="empty">{empty}</p> }.into_any()
                } else {
                    view! { <MemberTable account_id=account.id.clone() members=page.members can_manage /> }.into_any()
                }}
                <MemberPager base search=page.search.clone() shown total=page.total later_page=page.later_page next_after=page.next_after />
            </section>
            {can_manage
                .then(|| {
                    view! {
                        <section class="panel">
                            <div class="panel-head">
                                <h2>"Invite a member"</h2>
                                <p class="muted">
                                    "The invitation link works once and expires after 7 days. The person signs in, or creates an account, with the invited address to accept it."
                                </p>
                            </div>
                            <Invitations account_id=account.id.clone() invitations=page.invitations />
                        </section>
                    }
                })}
        }
        .into_any()
    })
}

/// "Showing N of M" and the links to the first and the next page, keeping the search.
#[component]
fn MemberPager(
    base: String,
    search: String,
    shown: usize,
    total: u64,
    later_page: bool,
    next_after: Option<String>,
) -> impl IntoView {
    let search = search.trim().to_owned();
    let first = if search.is_empty() {
        base.clone()
    } else {
        format!("{base}?q={}", super::encode(&search))
    };
    let next = next_after.map(|after| format!("{base}?q={}&after={}", super::encode(&search), super::encode(&after)));
    let count = match (total, search.is_empty()) {
        (1, true) => "1 member".to_owned(),
        (n, true) => format!("{n} members"),
        (n, false) => format!("{n} matching"),
    };
    // Nothing to page through, or nothing found (the empty list says so): no pager.
    (shown > 0 && (later_page || next.is_some() || !search.is_empty())).then(|| {
        view! {
            <nav class="pager" aria-label="Member pages">
                <span class="muted" id="member-count">{format!("Showing {shown} of {count}")}</span>
                {later_page.then(|| view! { <a class="button link" href=first>"First page"</a> })}
                {next.map(|next| view! { <a class="button secondary small" href=next rel="next">"Next page"</a> })}
            </nav>
        }
    })
}

#[component]
fn MemberTable(account_id: String, members: Vec<MemberView>, can_manage: bool) -> impl IntoView {
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
                {members
                    .into_iter()
                    .map(|member| {
                        let editable = can_manage && !member.is_owner && !member.is_you;
                        view! {
                            <tr data-email=member.email.clone()>
                                <td data-label="Email">
                                    <span>
                                        {member.email.clone()}
                                        {member.is_you.then(|| view! { <span class="muted">" (you)"</span> })}
                                    </span>
                                </td>
                                <td data-label="Role">
                                    {if editable {
                                        view! {
                                            <RoleForm
                                                account_id=account_id.clone()
                                                user_id=member.user_id.clone()
                                                email=member.email.clone()
                                                role=member.role.clone()
                                            />
                                        }
                                            .into_any()
                                    } else {
                                        view! { <span class="badge">{member.role_label.clone()}</span> }.into_any()
                                    }}
                                </td>
                                <td data-label="Member since"><span>{member.joined.clone()}</span></td>
                                {can_manage.then(|| view! {
                                    <td class="actions">
                                        {editable.then(|| view! {
                                            <RemoveForm account_id=account_id.clone() user_id=member.user_id.clone() email=member.email.clone() />
                                        })}
                                    </td>
                                })}
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn RoleForm(account_id: String, user_id: String, email: String, role: String) -> impl IntoView {
    let select_id = format!("role-{user_id}");
    view! {
        <ApiForm action=ChangeMemberRole::PATH.into() then=AfterSuccess::Reload class="row-form".into()>
            <input type="hidden" name="account_id" value=account_id />
            <input type="hidden" name="user_id" value=user_id />
            <label class="visually-hidden" for=select_id.clone()>{format!("Role of {email}")}</label>
            <select id=select_id name="role">
                {ASSIGNABLE_ROLES
                    .map(|(value, label)| view! { <option value=value selected=value == role>{label}</option> })
                    .collect_view()}
            </select>
            <button type="submit" class="button secondary small">"Save"</button>
        </ApiForm>
    }
}

#[component]
fn RemoveForm(account_id: String, user_id: String, email: String) -> impl IntoView {
    view! {
        <details class="confirm">
            <summary class="button link danger">"Remove"</summary>
            <div class="confirm-body">
                <ApiForm action=RemoveMember::PATH.into() then=AfterSuccess::Reload class=String::new()>
                    <input type="hidden" name="account_id" value=account_id />
                    <input type="hidden" name="user_id" value=user_id />
                    <p>{format!("Remove {email} from this account?")}</p>
                    <button type="submit" class="button danger small">"Remove member"</button>
                </ApiForm>
            </div>
        </details>
    }
}

/// The invitation form and the pending invitations, in one island so a new or withdrawn invitation shows at once
/// (the link is shown only this once, so the page is not reloaded).
#[island]
fn Invitations(account_id: String, invitations: Vec<InvitationView>) -> impl IntoView {
    let pending = RwSignal::new(invitations);
    let created = RwSignal::new(None::<InvitationCreated>);
    let invite_error = RwSignal::new(None::<String>);
    let revoke_error = RwSignal::new(None::<String>);
    let invite_form = NodeRef::<leptos::html::Form>::new();
    let on_invite = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submit(
            invite_form,
            InviteMember::PATH,
            None,
            invite_error.into(),
            move |answer| {
                let Ok(invitation) = serde_json::from_str::<InvitationCreated>(&answer) else {
                    return;
                };
                pending.update(|list| {
                    // A new invitation to the same address replaces the old one, as on the server.
                    list.retain(|i| i.email != invitation.invitation.email && i.id != invitation.invitation.id);
                    list.insert(0, invitation.invitation.clone());
                });
                created.set(Some(invitation));
            },
        );
    };
    let revoke_account = StoredValue::new(account_id.clone());
    view! {
        <ErrorBanner message=invite_error />
        <form action=InviteMember::PATH method="post" class="inline-form" node_ref=invite_form on:submit=on_invite>
            <input type="hidden" name="account_id" value=account_id />
            <div class="field">
                <label for="invite-email">"Email"</label>
                <input id="invite-email" name="email" type="email" required placeholder="name@company.com" />
                <FieldError field="email" />
            </div>
            <div class="field">
                <label for="invite-role">"Role"</label>
                <select id="invite-role" name="role">
                    {ASSIGNABLE_ROLES
                        .map(|(value, label)| view! { <option value=value selected=value == "viewer">{label}</option> })
                        .collect_view()}
                </select>
                <FieldError field="role" />
            </div>
            <button type="submit" class="button primary">"Create invitation"</button>
        </form>
        {move || {
            created
                .get()
                .map(|created| {
                    view! {
                        <div class="created">
                            <Notice>
                                {format!(
                                    "Invitation for {} created, valid until {}. ",
                                    created.invitation.email,
                                    created.invitation.expires,
                                )}
                                {created.delivery.clone()}
                            </Notice>
                            <CopyField
                                label="Invitation link".into()
                                value=created.link
                                id="invitation-link".into()
                                multiline=false
                            />
                        </div>
                    }
                })
        }}
        <h3>"Pending invitations"</h3>
        <ErrorBanner message=revoke_error />
        <Show
            when=move || !pending.read().is_empty()
            fallback=|| view! { <p class="empty">"No pending invitations."</p> }
        >
            <table class="table" id="invitations">
                <thead>
                    <tr>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || pending.get() key=|i| i.id.clone() let(i)>
                        <tr>
                            <td data-label="Email"><span>{i.email}</span></td>
                            <td data-label="Role"><span>{i.role_label}</span></td>
                            <td data-label="Expires">
                                <span>
                                    {i.expires}
                                    {i.expired.then(|| view! { <span class="badge badge-warn">"Expired"</span> })}
                                </span>
                            </td>
                            <td class="actions">
                                <RevokeButton account_id=revoke_account.get_value() invitation_id=i.id pending revoke_error />
                            </td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </Show>
    }
}

#[component]
fn RevokeButton(
    account_id: String,
    invitation_id: String,
    pending: RwSignal<Vec<InvitationView>>,
    revoke_error: RwSignal<Option<String>>,
) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    let on_revoke = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submit(form, RevokeInvitation::PATH, None, revoke_error.into(), move |answer| {
            if let Ok(revoked) = serde_json::from_str::<String>(&answer) {
                pending.update(|list| list.retain(|i| i.id != revoked));
            }
        });
    };
    view! {
        <form action=RevokeInvitation::PATH method="post" node_ref=form on:submit=on_revoke>
            <input type="hidden" name="account_id" value=account_id />
            <input type="hidden" name="invitation_id" value=invitation_id />
            <button type="submit" class="button link danger">"Revoke"</button>
        </form>
    }
}
