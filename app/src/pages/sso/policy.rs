//! The sign-in policy on the SSO Overview (SSO on or off, enforcement, personal accounts), which only the Owner
//! changes, and who signs in where as it stands.

use crate::api::domains::DomainView;
use crate::api::sso::{PolicyView, UpdatePolicy};
use crate::components::{AfterSuccess, ApiForm, FieldError};
use leptos::prelude::*;
use server_fn::ServerFn;

/// Where the people of each domain sign in, one line per domain and one for everyone else, so the Owner reads
/// exactly what turning SSO on changes. `connections` are (id, name).
pub fn who_signs_in_where(sso_enabled: bool, domains: &[DomainView], connections: &[(String, String)]) -> Vec<String> {
    let idp = |id: &String| {
        connections
            .iter()
            .find(|(c, _)| c == id)
            .map(|(_, label)| label.as_str())
    };
    let mut lines: Vec<String> = domains
        .iter()
        .map(|d| {
            let name = &d.display_name;
            match (d.counts_as_verified, d.connection_id.as_ref().and_then(idp)) {
                (true, Some(label)) if sso_enabled => format!("People at {name} sign in through {label}."),
                (true, Some(label)) => {
                    format!("People at {name} sign in with a password; through {label} once SSO is on.")
                }
                (true, None) if d.routed_nowhere => {
                    format!("People at {name} sign in with a password: the domain is routed nowhere.")
                }
                (true, None) => format!("People at {name} sign in with a password, as chosen for the domain."),
                (false, _) => format!("People at {name} sign in with a password until the domain is Active."),
            }
        })
        .collect();
    lines.push(
        if domains.is_empty() {
            "Everyone signs in with a password."
        } else {
            "Everyone else signs in with a password."
        }
        .to_owned(),
    );
    lines
}

#[component]
pub fn PolicyPanel(
    account_id: String,
    policy: PolicyView,
    domains: Vec<DomainView>,
    /// The account's connections as (id, name).
    connections: Vec<(String, String)>,
) -> impl IntoView {
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
    // Enforcement means nothing before SSO can be on: its switches wait, saying why.
    let can_be_on = sso_enabled || (has_verified_domain && has_connection && has_routed_domain);
    let locked = !can_be_on;
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
                    "An Active domain routed to it (Sign-in for … under Domains)"
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
                "When SSO is on, people whose email address is at an Active domain routed to an identity provider sign in through it; everyone else keeps password sign-in."
            </p>
            <ul class="who-where" id="who-signs-in-where" aria-label="Who signs in where">
                {who_signs_in_where(sso_enabled, &domains, &connections)
                    .into_iter()
                    .map(|line| view! { <li>{line}</li> })
                    .collect_view()}
            </ul>
            {checklist}
            {if can_manage {
                view! {
                    <ApiForm action=UpdatePolicy::PATH.into() then=AfterSuccess::Reload class="policy-form".into()>
                        <input type="hidden" name="account_id" value=account_id />
                        <label class="toggle">
                            <input type="checkbox" name="sso_enabled" value="true" checked=sso_enabled />
                            <span>
                                <strong>"SSO enabled"</strong>
                                <span class="hint">"Needs an Active domain routed to a connected identity provider."</span>
                            </span>
                        </label>
                        <FieldError field="sso_enabled" />
                        {locked
                            .then(|| {
                                view! {
                                    <p class="hint" id="enforcement-locked">
                                        "Enforce SSO and No separate account can be changed once SSO can be turned on (see the list above)."
                                    </p>
                                    // Disabled boxes are not sent: keep the saved values.
                                    {enforce_sso.then(|| view! { <input type="hidden" name="enforce_sso" value="true" /> })}
                                    {no_separate_account
                                        .then(|| view! { <input type="hidden" name="no_separate_account" value="true" /> })}
                                }
                            })}
                        <label class="toggle">
                            <input
                                type="checkbox"
                                name="enforce_sso"
                                value="true"
                                checked=enforce_sso
                                disabled=locked
                                aria-describedby=locked.then_some("enforcement-locked")
                            />
                            <span>
                                <strong>"Enforce SSO"</strong>
                                <span class="hint">"Users provisioned by SSO can sign in only through SSO, not with a password."</span>
                            </span>
                        </label>
                        <label class="toggle">
                            <input
                                type="checkbox"
                                name="no_separate_account"
                                value="true"
                                checked=no_separate_account
                                disabled=locked
                                aria-describedby=locked.then_some("enforcement-locked")
                            />
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

#[cfg(test)]
mod tests {
    use super::*;

    fn domain(name: &str, active: bool, connection: Option<&str>, routed_nowhere: bool) -> DomainView {
        DomainView {
            id: format!("id-{name}"),
            name: name.into(),
            display_name: name.into(),
            status: if active { "active" } else { "pending" }.into(),
            status_label: String::new(),
            counts_as_verified: active,
            record_value: String::new(),
            added: String::new(),
            verified: None,
            last_checked: None,
            last_failure: None,
            next_check: None,
            grace_ends: None,
            verified_elsewhere: false,
            connection_id: connection.map(str::to_owned),
            routed_nowhere,
        }
    }

    #[test]
    fn each_domain_says_where_its_people_sign_in() {
        let connections = [("okta-id".to_owned(), "Okta".to_owned())];
        let domains = [
            domain("acme.example", true, Some("okta-id"), false),
            domain("beta.example", true, None, true),
            domain("gamma.example", true, None, false),
            domain("new.example", false, Some("okta-id"), false),
        ];
        assert_eq!(
            who_signs_in_where(true, &domains, &connections),
            [
                "People at acme.example sign in through Okta.",
                "People at beta.example sign in with a password: the domain is routed nowhere.",
                "People at gamma.example sign in with a password, as chosen for the domain.",
                "People at new.example sign in with a password until the domain is Active.",
                "Everyone else signs in with a password.",
            ]
        );
        assert_eq!(
            who_signs_in_where(false, &domains[..1], &connections)[0],
            "People at acme.example sign in with a password; through Okta once SSO is on."
        );
        assert_eq!(
            who_signs_in_where(false, &[], &connections),
            ["Everyone signs in with a password."]
        );
    }
}
