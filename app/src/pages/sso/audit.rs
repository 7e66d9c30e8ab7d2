//! `/accounts/:account_id/sso/audit`: the audit log of every change to domains, identity providers and the
//! sign-in policy, for the Owner and Admins.

use super::{Section, SsoNav};
use crate::api::sso::{AuditEntryView, audit_log};
use crate::error::AppError;
use crate::pages::account::{Tab, account_page};
use leptos::prelude::*;
use leptos_router::params::ParamsMap;

/// The entries, or `None` for a member whose role may not read them.
async fn load_audit(account_id: String, _query: ParamsMap) -> Result<Option<Vec<AuditEntryView>>, AppError> {
    super::readable(audit_log(account_id).await)
}

#[component]
pub fn Audit() -> impl IntoView {
    account_page(Tab::Sso, load_audit, |account, entries| {
        view! {
            <SsoNav account current=Section::Audit />
            {match entries {
                Some(entries) => view! { <AuditPanel entries /> }.into_any(),
                None => view! { <super::NotAllowed what="the audit log" /> }.into_any(),
            }}
        }
        .into_any()
    })
}

#[component]
fn AuditPanel(entries: Vec<AuditEntryView>) -> impl IntoView {
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
