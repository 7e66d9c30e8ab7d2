//! `/accounts/:account_id/sso/events`: each SSO sign-in attempt, Test SSO run, sign-out and certificate notice, a page
//! at a time (`?before=` an event's reference), for the Owner and Admins.

use super::{Section, SsoNav};
use crate::api::sso::{SSO_EVENTS_PER_PAGE, SsoEventView, list_connections, sso_events};
use crate::error::AppError;
use crate::pages::account::{Tab, account_page};
use leptos::prelude::*;
use leptos_router::params::ParamsMap;
use serde::{Deserialize, Serialize};

/// One page of events with the names of the connections they name, for a member who may read them.
#[derive(Clone, Serialize, Deserialize)]
pub struct EventsSection {
    events: Vec<SsoEventView>,
    /// The account's connections as (id, name).
    connections: Vec<(String, String)>,
    before: Option<String>,
}

async fn load_events(account_id: String, query: ParamsMap) -> Result<Option<EventsSection>, AppError> {
    let before = query.get("before").filter(|b| !b.is_empty());
    let Some(events) = super::readable(sso_events(account_id.clone(), before.clone()).await)? else {
        return Ok(None);
    };
    let connections = list_connections(account_id).await?.connections;
    Ok(Some(EventsSection {
        events,
        connections: connections.into_iter().map(|c| (c.id, c.label)).collect(),
        before,
    }))
}

#[component]
pub fn Events() -> impl IntoView {
    account_page(Tab::Sso, load_events, |account, section| {
        let account_id = account.id.clone();
        view! {
            <SsoNav account current=Section::Events />
            {match section {
                Some(EventsSection { events, connections, before }) => {
                    view! { <SsoEventsPanel account_id events connections before /> }.into_any()
                }
                None => view! { <super::NotAllowed what="the SSO events" /> }.into_any(),
            }}
        }
        .into_any()
    })
}

/// How an event's outcome reads in the table and on the Overview.
pub(crate) fn outcome_label(outcome: &str) -> &'static str {
    match outcome {
        "accepted" => "Signed in",
        "test" => "Test SSO",
        "signed-out" => "Signed out",
        "logout-refused" => "Sign-out refused",
        "certificate" => "Certificate",
        _ => "Refused",
    }
}

/// Each SSO sign-in attempt with the check that failed, so the owner can answer "it doesn't work" alone.
#[component]
fn SsoEventsPanel(
    account_id: String,
    events: Vec<SsoEventView>,
    connections: Vec<(String, String)>,
    /// The reference this page starts after; `None` for the newest events.
    before: Option<String>,
) -> impl IntoView {
    let here = Section::Events.href(&account_id);
    let paging = view! {
        <nav class="paging" aria-label="SSO event pages">
            {before.is_some().then(|| view! { <a href=here.clone()>"Newest events"</a> })}
            // Only a full page can have older events after it.
            {events
                .last()
                .filter(|_| events.len() >= SSO_EVENTS_PER_PAGE)
                .map(|oldest| {
                    view! {
                        <a href=format!("{here}?before={}", crate::pages::encode(&oldest.reference))>"Older events"</a>
                    }
                })}
        </nav>
    };
    let empty = if before.is_some() {
        "No older events."
    } else {
        "No one has signed in through SSO yet."
    };
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
                    "Sign-ins, Test SSO runs and sign-outs through an identity provider, and notices about its certificates, 25 at a time, newest first. A user who was refused sees the reference shown here."
                </p>
            </div>
            {if events.is_empty() {
                view! { <p class="empty">{empty}</p> }.into_any()
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
                                    let result = outcome_label(&e.outcome);
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
                                                    {e.fix.map(|fix| view! { <p class="fix"><strong>"How to fix: "</strong>{fix}</p> })}
                                                    {(!e.attributes.is_empty())
                                                        .then(|| {
                                                            view! {
                                                                <details class="optional">
                                                                    <summary>"Attributes received"</summary>
                                                                    <pre class="attributes" tabindex="0">{e.attributes}</pre>
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
        {paging}
        </section>
    }
}
