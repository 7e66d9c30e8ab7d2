//! The top and bottom of the SSO tab: the sign-in policy (SSO on or off, enforcement, personal accounts), which
//! only the Owner changes, and the audit log of SSO changes.

use crate::api::sso::{AuditEntryView, PolicyView, SsoEventView, UpdatePolicy};
use crate::components::{AfterSuccess, ApiForm, FieldError};
use leptos::prelude::*;
use server_fn::ServerFn;

#[component]
pub fn PolicyPanel(account_id: String, policy: PolicyView) -> impl IntoView {
    let PolicyView {
        sso_enabled,
        enforce_sso,
        no_separate_account,
        has_verified_domain,
        has_connection,
        has_routed_domain,
        can_manage,
        ..
    } = policy;
    let checklist = (!sso_enabled).then(|| {
        view! {
            <ul class="checklist" role="list" aria-label="What SSO needs">
                <li data-done=has_verified_domain.to_string()>
                    {if has_verified_domain { "✓ " } else { "○ " }} "At least one Active domain"
                </li>
                <li data-done=has_connection.to_string()>
                    {if has_connection { "✓ " } else { "○ " }} "An identity provider connected"
                </li>
                <li data-done=has_routed_domain.to_string()>
                    {if has_routed_domain { "✓ " } else { "○ " }}
                    "An Active domain routed to it (Sign-in for … on the Domains table)"
                </li>
            </ul>
        }
    });
    view! {
        <section class="panel" id="sso-policy">
            <div class="panel-head policy-head">
                <h2>"Single sign-on"</h2>
                <span class=if sso_enabled { "badge status-active" } else { "badge" }>
                    {if sso_enabled { "On" } else { "Off" }}
                </span>
            </div>
            <p class="muted">
                "When SSO is on, people whose email address is at an Active domain routed to an identity provider sign in through it; the other domains keep password sign-in."
            </p>
            {checklist}
            {if can_manage {
                view! {
                    <ApiForm action=UpdatePolicy::PATH.into() then=AfterSuccess::Reload class="policy-form".into()>
                        <input type="hidden" name="account_id" value=account_id />
                        <label class="toggle">
                            <input type="checkbox" name="sso_enabled" value="true" checked=sso_enabled />
                            <span>
                                <strong>"SSO enabled"</strong>
                                <span class="hint">"Needs an Active domain and a connected identity provider."</span>
                            </span>
                        </label>
                        <FieldError field="sso_enabled" />
                        <label class="toggle">
                            <input type="checkbox" name="enforce_sso" value="true" checked=enforce_sso />
                            <span>
                                <strong>"Enforce SSO"</strong>
                                <span class="hint">"Users provisioned by SSO can sign in only through SSO, not with a password."</span>
                            </span>
                        </label>
                        <label class="toggle">
                            <input type="checkbox" name="no_separate_account" value="true" checked=no_separate_account />
                            <span>
                                <strong>"No separate account"</strong>
                                <span class="hint">
                                    "Users created through SSO do not also get a personal account of their own. Applies to users provisioned from now on; existing users keep theirs."
                                </span>
                            </span>
                        </label>
                        <button type="submit" class="button primary" data-pending-text="Saving…">"Save sign-in policy"</button>
                    </ApiForm>
                }
                .into_any()
            } else {
                let on_off = |on: bool| if on { "On" } else { "Off" };
                view! {
                    <dl class="facts policy-readonly">
                        <div>
                            <dt>"Enforce SSO"</dt>
                            <dd>{on_off(enforce_sso)}</dd>
                        </div>
                        <div>
                            <dt>"No separate account"</dt>
                            <dd>{on_off(no_separate_account)}</dd>
                        </div>
                    </dl>
                    <p class="hint" id="policy-owner-only">"Only the account owner can turn SSO on or off and change these settings."</p>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
pub fn AuditPanel(entries: Vec<AuditEntryView>) -> impl IntoView {
    view! {
        <section class="panel" id="audit-log">
            <div class="panel-head">
                <h2>"Audit log"</h2>
                <p class="muted">"Every change to domains, identity providers and the sign-in policy, newest first."</p>
            </div>
            {if entries.is_empty() {
                view! { <p class="empty">"No changes yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead>
                            <tr>
                                <th scope="col">"When"</th>
                                <th scope="col">"Who"</th>
                                <th scope="col">"What"</th>
                                <th scope="col">"Details"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {entries
                                .into_iter()
                                .map(|e| {
                                    view! {
                                        <tr>
                                            <td data-label="When"><span>{e.at}</span></td>
                                            <td data-label="Who"><span>{e.actor}</span></td>
                                            <td data-label="What"><span>{e.action}</span></td>
                                            <td data-label="Details"><span>{e.detail}</span></td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
    }
}

/// Each SSO sign-in attempt with the check that failed, so the owner can answer "it doesn't work" alone.
#[component]
pub fn SsoEventsPanel(events: Vec<SsoEventView>, connections: Vec<(String, String)>) -> impl IntoView {
    let label_of = move |id: &Option<String>| {
        id.as_ref()
            .and_then(|id| connections.iter().find(|(c, _)| c == id))
            .map_or("(removed connection)".to_owned(), |(_, label)| label.clone())
    };
    view! {
        <section class="panel" id="sso-events">
            <div class="panel-head">
                <h2>"SSO events"</h2>
                <p class="muted">
                    "Sign-ins, Test SSO runs and sign-outs through an identity provider: the latest 25, newest first. A user who was refused sees the reference shown here."
                </p>
            </div>
            {if events.is_empty() {
                view! { <p class="empty">"No one has signed in through SSO yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table sso-events">
                        <thead>
                            <tr>
                                <th scope="col">"When"</th>
                                <th scope="col">"Connection"</th>
                                <th scope="col">"Result"</th>
                                <th scope="col">"Details"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {events
                                .into_iter()
                                .map(|e| {
                                    let connection = label_of(&e.connection_id);
                                    let result = match e.outcome.as_str() {
                                        "accepted" => "Signed in",
                                        "test" => "Test SSO",
                                        "signed-out" => "Signed out",
                                        "logout-refused" => "Sign-out refused",
                                        _ => "Refused",
                                    };
                                    view! {
                                        <tr class=format!("sso-event-{}", e.outcome)>
                                            <td data-label="When"><span>{e.at}</span></td>
                                            <td data-label="Connection"><span>{connection}</span></td>
                                            <td data-label="Result">
                                                <span>{result} <span class="hint">{format!(" ref. {}", e.reference)}</span></span>
                                            </td>
                                            <td data-label="Details">
                                                <span>
                                                    {e.reason}
                                                    {e.name_id.map(|n| view! { <span class="hint">{format!(" · NameID {n}")}</span> })}
                                                    {(!e.attributes.is_empty())
                                                        .then(|| {
                                                            view! {
                                                                <details class="optional">
                                                                    <summary>"Attributes received"</summary>
                                                                    <pre class="attributes">{e.attributes}</pre>
                                                                </details>
                                                            }
                                                        })}
                                                    {e.raw_response_url
                                                        .map(|url| {
                                                            view! {
                                                                <a class="raw-response" href=url target="_blank" rel="noopener">
                                                                    "Raw response"
                                                                </a>
                                                            }
                                                        })}
                                                </span>
                                            </td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
    }
}
