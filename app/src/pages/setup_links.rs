//! The Owner's setup links, on the account's SSO area: create one for the person who sets up the identity
//! provider (its address is shown once), see whether it was used and whether they finished, revoke it.

use crate::api::setup_links::{CreateSetupLink, LIFETIME_CHOICES, RevokeSetupLink, SetupLinkCreated, SetupLinkView};
use crate::components::{AfterSuccess, ApiForm, CopyField, ErrorBanner, FieldError, Notice, submit};
use leptos::prelude::*;
use server_fn::ServerFn;

/// The panel: what a setup link is for, the create form, and the account's links.
#[component]
pub(crate) fn SetupLinksPanel(account_id: String, links: Vec<SetupLinkView>) -> impl IntoView {
    view! {
        <section class="panel" id="setup-links">
            <div class="panel-head">
                <h2>"Setup links"</h2>
                <p class="muted">
                    "Let your IT admin do the set-up without a Gatehouse account: a setup link opens this account's domains and identity providers, and Test SSO, until it expires or you revoke it. "
                    "It does not open members, settings or the sign-in policy, so turning single sign-on on stays with you. "
                    "Everything done with it shows in the audit log under the link's name, and you are told when they press I'm done."
                </p>
            </div>
            <CreateSetupLinkForm account_id=account_id.clone() />
            {if links.is_empty() {
                view! { <p class="empty" id="no-setup-links">"No setup links yet."</p> }.into_any()
            } else {
                view! { <SetupLinkTable account_id links /> }.into_any()
            }}
        </section>
    }
}

/// The create form, and the new link's address, which is shown only this once (so the page does not reload).
#[island]
fn CreateSetupLinkForm(account_id: String) -> impl IntoView {
    let created = RwSignal::new(None::<SetupLinkCreated>);
    let error = RwSignal::new(None::<String>);
    let form = NodeRef::<leptos::html::Form>::new();
    let on_create = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        submit(form, CreateSetupLink::PATH, None, error.into(), move |answer| {
            if let Ok(link) = serde_json::from_str::<SetupLinkCreated>(&answer) {
                created.set(Some(link));
            }
        });
    };
    view! {
        <ErrorBanner message=error />
        <form action=CreateSetupLink::PATH method="post" class="inline-form" node_ref=form on:submit=on_create>
            <input type="hidden" name="account_id" value=account_id />
            <div class="field grow">
                <label for="setup-link-name">"For whom"</label>
                <input
                    id="setup-link-name"
                    name="name"
                    type="text"
                    required
                    maxlength="80"
                    autocomplete="off"
                    placeholder="Okta admin at Acme IT"
                    aria-describedby="setup-link-name-hint"
                />
                <p class="hint" id="setup-link-name-hint">"The audit log names the link by this."</p>
                <FieldError field="name" />
            </div>
            <div class="field">
                <label for="setup-link-lifetime">"Works for"</label>
                <select id="setup-link-lifetime" name="lifetime_days">
                    {LIFETIME_CHOICES
                        .map(|(days, label)| view! { <option value=days.to_string()>{label}</option> })
                        .collect_view()}
                </select>
                <FieldError field="lifetime_days" />
            </div>
            <button type="submit" class="button primary" data-pending-text="Creating…">
                "Create setup link"
            </button>
        </form>
        {move || {
            created
                .get()
                .map(|created| {
                    view! {
                        <div class="created" id="setup-link-created">
                            <Notice>
                                {format!(
                                    "Setup link {} created, working until {}. Copy it now and send it to them: it is not shown again. Reload the page to see it in the list.",
                                    created.link.name,
                                    created.link.expires,
                                )}
                            </Notice>
                            <CopyField
                                label="Setup link".into()
                                value=created.url
                                id="setup-link-url".into()
                                multiline=false
                            />
                        </div>
                    }
                })
        }}
    }
}

#[component]
fn SetupLinkTable(account_id: String, links: Vec<SetupLinkView>) -> impl IntoView {
    view! {
        <table class="table" id="setup-link-table">
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Created by"</th>
                    <th scope="col">"Works until"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Set-up done"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {links
                    .into_iter()
                    .map(|link| view! { <SetupLinkRow account_id=account_id.clone() link /> })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn SetupLinkRow(account_id: String, link: SetupLinkView) -> impl IntoView {
    let SetupLinkView {
        id,
        name,
        created_by,
        created,
        expires,
        last_used,
        finished,
        status,
    } = link;
    let badge = match status.as_str() {
        "revoked" => Some("Revoked"),
        "expired" => Some("Expired"),
        _ => None,
    };
    let revoke_question = format!("Revoke the setup link {name}? Whoever uses it is signed out at once.");
    view! {
        <tr data-link=name.clone() data-status=status.clone()>
            <td data-label="Name">
                <span>
                    <strong class="setup-link-name">{name.clone()}</strong>
                    <span class="hint">{format!("Created {created}")}</span>
                </span>
            </td>
            <td data-label="Created by"><span>{created_by}</span></td>
            <td data-label="Works until">
                <span>
                    {expires}
                    {badge.map(|label| view! { <span class="badge badge-warn">{label}</span> })}
                </span>
            </td>
            <td data-label="Last used"><span>{last_used.unwrap_or_else(|| "Not yet".into())}</span></td>
            <td data-label="Set-up done">
                <span>
                    {match finished {
                        Some(at) => view! { <span class="badge status-active">{format!("Done {at}")}</span> }.into_any(),
                        None => view! { <span class="muted">"Not yet"</span> }.into_any(),
                    }}
                </span>
            </td>
            <td class="actions">
                {(status == "usable")
                    .then(|| {
                        view! {
                            <details class="confirm">
                                <summary class="button link danger">"Revoke"</summary>
                                <div class="confirm-body">
                                    <ApiForm action=RevokeSetupLink::PATH.into() then=AfterSuccess::Reload class=String::new()>
                                        <input type="hidden" name="account_id" value=account_id />
                                        <input type="hidden" name="link_id" value=id />
                                        <p>{revoke_question}</p>
                                        <button type="submit" class="button danger small">"Yes, revoke"</button>
                                    </ApiForm>
                                </div>
                            </details>
                        }
                    })}
            </td>
        </tr>
    }
}
