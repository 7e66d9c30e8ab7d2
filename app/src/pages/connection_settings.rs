//! The per-connection settings below the IdP facts: sign-in options, Gatehouse's own keys and their rotation,
//! the metadata URL monitor, and replacing the IdP settings.

use super::connection_forms::{FormTarget, ManualForm, ManualValues, MetadataFileForm, MetadataUrlForm};
use super::sso::connections::CertificateItem;
use crate::api::sso::{
    ChangeSpKey, ConnectionView, MetadataMonitor, OptionsView, OriginView, SaveConnectionOptions, SpKeyView,
};
use crate::components::{AfterSuccess, ApiForm, FieldError};
use leptos::prelude::*;
use server_fn::ServerFn;

/// The choices of the "Requested authentication context" select, as (value, label).
const AUTHN_CONTEXTS: [(&str, &str); 3] = [
    ("none", "None (the IdP decides, MFA included)"),
    ("password_protected_transport", "Password over a protected transport"),
    ("integrated_windows", "Integrated Windows authentication"),
];

/// A one-button form posting `step` to a connection's server function.
#[component]
fn StepButton(
    action: &'static str,
    account_id: String,
    connection_id: String,
    step: &'static str,
    label: &'static str,
    #[prop(default = "button small")] class: &'static str,
    #[prop(default = "Working…")] pending: &'static str,
) -> impl IntoView {
    view! {
        <ApiForm action=action.into() then=AfterSuccess::Reload class="inline".into()>
            <input type="hidden" name="account_id" value=account_id />
            <input type="hidden" name="connection_id" value=connection_id />
            <input type="hidden" name="step" value=step />
            <button type="submit" class=class data-pending-text=pending>{label}</button>
            <FieldError field="step" />
        </ApiForm>
    }
}

#[component]
pub fn OptionsSection(
    account_id: String,
    connection_id: String,
    options: OptionsView,
    can_manage: bool,
    is_owner: bool,
) -> impl IntoView {
    let OptionsView {
        allow_idp_initiated,
        sign_authn_requests,
        binding,
        offered_bindings,
        authn_context,
        email_source,
        email_attribute,
        allow_sha1,
        clock_skew_seconds,
    } = options;
    let [section_id, binding_id, context_id, email_id, skew_id] =
        ["options", "binding", "authn-context", "email-attribute", "clock-skew"]
            .map(|f| format!("{f}-{connection_id}"));
    let disabled = !can_manage;
    let owner_only = !is_owner;
    let email_locked = disabled || owner_only;
    let switch = move |name: &'static str, checked: bool, locked: bool, title: &'static str, hint: &'static str| {
        view! {
            <label class="toggle">
                <input type="checkbox" name=name value="true" checked=checked disabled=locked />
                <span>
                    <strong>{title}</strong>
                    <span class="hint">{hint}</span>
                </span>
            </label>
            <FieldError field=name />
        }
    };
    view! {
        <details class="section" id=section_id>
            <summary><h4>"Sign-in options"</h4></summary>
            <ApiForm action=SaveConnectionOptions::PATH.into() then=AfterSuccess::Reload class="options-form".into()>
                <input type="hidden" name="account_id" value=account_id />
                <input type="hidden" name="connection_id" value=connection_id.clone() />
                {switch(
                    "sign_authn_requests",
                    sign_authn_requests,
                    disabled,
                    "Sign AuthnRequests",
                    "Sign requests with this connection's Gatehouse key (RSA-SHA256). Turn off only if the IdP rejects signed requests.",
                )}
                <div class="inline-form">
                    <div class="field">
                        <label for=binding_id.clone()>"AuthnRequest binding"</label>
                        <select id=binding_id name="binding" disabled=disabled>
                            {offered_bindings
                                .into_iter()
                                .map(|(value, label)| {
                                    let selected = value == binding;
                                    view! { <option value=value selected=selected>{label}</option> }
                                })
                                .collect_view()}
                        </select>
                        <FieldError field="binding" />
                    </div>
                    <div class="field">
                        <label for=context_id.clone()>"Requested authentication context"</label>
                        <select id=context_id name="authn_context" disabled=disabled>
                            {AUTHN_CONTEXTS
                                .map(|(value, label)| {
                                    view! { <option value=value selected=value == authn_context>{label}</option> }
                                })
                                .collect_view()}
                        </select>
                        <FieldError field="authn_context" />
                    </div>
                </div>
                <fieldset class="field">
                    <legend>"Email address comes from"</legend>
                    <label class="choice">
                        <input type="radio" name="email_source" value="nameid" checked=email_source == "nameid" disabled=email_locked />
                        "The NameID"
                    </label>
                    <label class="choice">
                        <input type="radio" name="email_source" value="attribute" checked=email_source == "attribute" disabled=email_locked />
                        "An attribute:"
                    </label>
                    <label class="visually-hidden" for=email_id.clone()>"Email attribute name"</label>
                    <input id=email_id name="email_attribute" type="text" maxlength="256" value=email_attribute.clone() placeholder="email" disabled=email_locked />
                    <FieldError field="email_attribute" />
                    {(can_manage && owner_only)
                        .then(|| {
                            view! {
                                <p class="hint">"Only the account owner can change where the email comes from: it decides whom an assertion names."</p>
                                // Disabled fields are not sent: carry the saved values.
                                <input type="hidden" name="email_source" value=email_source.clone() />
                                <input type="hidden" name="email_attribute" value=email_attribute.clone() />
                            }
                        })}
                </fieldset>
                <div class="field">
                    <label for=skew_id.clone()>"Allowed clock skew (seconds)"</label>
                    <input id=skew_id name="clock_skew_seconds" type="number" min="0" max="600" value=clock_skew_seconds.to_string() disabled=disabled />
                    <span class="hint">"How far the IdP's clock may differ from Gatehouse's. 180 seconds suits almost every IdP."</span>
                    <FieldError field="clock_skew_seconds" />
                </div>
                <h5>"Owner only"</h5>
                {switch(
                    "allow_idp_initiated",
                    allow_idp_initiated,
                    disabled || owner_only,
                    "Allow IdP-initiated sign-in",
                    "Accept sign-ins started from the IdP's portal (My Apps, Okta dashboard). Such responses answer no request of Gatehouse, so they cannot be tied to the browser that receives them: a captured response can be replayed until it expires. Leave off unless users need the portal tile.",
                )}
                {switch(
                    "allow_sha1",
                    allow_sha1,
                    disabled || owner_only,
                    "Allow SHA-1 signatures",
                    "Only for legacy IdPs that cannot sign with SHA-256. SHA-1 is broken: forged signatures are within reach of a determined attacker.",
                )}
                {(can_manage && owner_only)
                    .then(|| {
                        view! {
                            <p class="hint">"Only the account owner can change these two. Unchanged, they are kept when you save."</p>
                            // Disabled checkboxes are not sent: carry the saved values.
                            {allow_idp_initiated.then(|| view! { <input type="hidden" name="allow_idp_initiated" value="true" /> })}
                            {allow_sha1.then(|| view! { <input type="hidden" name="allow_sha1" value="true" /> })}
                        }
                    })}
                {can_manage.then(|| view! { <button type="submit" class="button primary" data-pending-text="Saving…">"Save options"</button> })}
            </ApiForm>
        </details>
    }
}

fn key_state_label(state: &str) -> &'static str {
    match state {
        "active" => "In use: signs requests and decrypts assertions",
        "next" => "New: published in the SP metadata, not used yet",
        _ => "Previous: still decrypts assertions encrypted for it",
    }
}

#[component]
pub fn SpKeysSection(
    account_id: String,
    connection_id: String,
    keys: Vec<SpKeyView>,
    can_manage: bool,
) -> impl IntoView {
    let has = |state: &str| keys.iter().any(|k| k.state == state);
    let (has_next, has_previous) = (has("next"), has("previous"));
    let step = move |step: &'static str, label: &'static str, class: &'static str| {
        view! {
            <StepButton
                action=ChangeSpKey::PATH
                account_id=account_id.clone()
                connection_id=connection_id.clone()
                step
                label
                class
            />
        }
    };
    view! {
        <details class="section">
            <summary><h4>"Gatehouse keys for this connection"</h4></summary>
            <p class="hint">
                "Gatehouse signs its requests and receives encrypted assertions with these keys. The IdP learns the certificates from the SP metadata. To rotate: publish a new key, let the IdP pick up the metadata (or upload it there), then switch."
            </p>
            <ul class="certificates" role="list">
                {keys
                    .into_iter()
                    .map(|key| {
                        view! {
                            <li class=format!("sp-key sp-key-{}", key.state)>
                                <span class="badge">{key_state_label(&key.state)}</span>
                                <ul role="list" class="plain"><CertificateItem certificate=key.certificate /></ul>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {can_manage
                .then(|| {
                    view! {
                        <div class="actions">
                            {if has_next {
                                view! {
                                    {step("activate", "Switch to the new key", "button primary small")}
                                    {step("discard", "Discard the new key", "button link danger")}
                                }
                                    .into_any()
                            } else {
                                step("prepare", "Publish a new key", "button small").into_any()
                            }}
                            {has_previous.then(|| step("remove_previous", "Remove the previous key", "button link danger"))}
                        </div>
                    }
                })}
        </details>
    }
}

fn refresh_label(outcome: &str) -> &'static str {
    match outcome {
        "updated" => "Updated",
        "unchanged" => "No change",
        _ => "Failed",
    }
}

#[component]
pub fn MonitorSection(
    account_id: String,
    connection_id: String,
    origin: OriginView,
    can_manage: bool,
) -> impl IntoView {
    let OriginView {
        url,
        monitor,
        next_refresh,
        signing_certificate,
        refreshes,
    } = origin;
    let url = url?;
    let step = move |step: &'static str, label: &'static str, pending: &'static str| {
        view! {
            <StepButton
                action=MetadataMonitor::PATH
                account_id=account_id.clone()
                connection_id=connection_id.clone()
                step
                label
                pending
            />
        }
    };
    Some(view! {
        <section class="monitor">
            <h4>"Metadata URL"</h4>
            <p><code class="wrap">{url}</code></p>
            <p class="hint">
                {if monitor {
                    format!("Monitored: fetched again regularly{}.", next_refresh.map(|t| format!("; next at {t}")).unwrap_or_default())
                } else {
                    "Not monitored: the settings change only when you import again.".to_owned()
                }}
            </p>
            {signing_certificate
                .map(|c| {
                    view! {
                        <p class="hint">{format!("Accepted only when signed with the federation certificate SHA-256 {}.", c.sha256_fingerprint)}</p>
                    }
                })}
            {can_manage
                .then(|| {
                    view! {
                        <div class="actions">
                            {step("refresh", "Refresh now", "Fetching…")}
                            {if monitor {
                                step("off", "Stop monitoring", "Saving…").into_any()
                            } else {
                                step("on", "Monitor this URL", "Saving…").into_any()
                            }}
                        </div>
                    }
                })}
            {(!refreshes.is_empty())
                .then(|| {
                    view! {
                        <details class="optional">
                            <summary>{format!("Recent refreshes ({})", refreshes.len())}</summary>
                            <table class="table refreshes">
                                <caption class="visually-hidden">"Recent refreshes"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"When"</th>
                                        <th scope="col">"Result"</th>
                                        <th scope="col">"Details"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {refreshes
                                        .into_iter()
                                        .map(|r| {
                                            view! {
                                                <tr class=format!("refresh-{}", r.outcome)>
                                                    <td data-label="When"><span>{r.at}</span></td>
                                                    <td data-label="Result"><span>{refresh_label(&r.outcome)}</span></td>
                                                    <td data-label="Details"><span>{r.detail}</span></td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        </details>
                    }
                })}
        </section>
    })
}

/// Replacing the IdP settings of a connection in place: its id, SP values, keys, options and role mappings stay.
#[component]
pub fn ReplaceSettings(account_id: String, connection: ConnectionView) -> impl IntoView {
    let target = FormTarget {
        account_id,
        connection_id: Some(connection.id.clone()),
        label: Some(connection.label.clone()),
    };
    let values = ManualValues {
        entity_id: connection.idp_entity_id.clone(),
        sso_url: connection.sso_url.clone(),
        slo_url: connection.slo_url.clone().unwrap_or_default(),
        certificates: connection.certificates.iter().map(|c| c.pem.clone()).collect(),
    };
    view! {
        <details class="section">
            <summary><h4>"Edit or replace the IdP settings"</h4></summary>
            <p class="hint">
                "The values you entered at the IdP stay valid: this connection keeps its Entity ID, URLs, keys, options and role mappings. Nothing changes unless the new settings are complete and valid."
            </p>
            <div class="three-columns">
                <div>
                    <h5>"New metadata file"</h5>
                    <MetadataFileForm target=target.clone() />
                </div>
                <div>
                    <h5>"Metadata URL"</h5>
                    <MetadataUrlForm target=target.clone() url=connection.origin.url.clone().unwrap_or_default() monitor=connection.origin.monitor || connection.origin.url.is_none() />
                </div>
                <div>
                    <h5>"Details by hand"</h5>
                    <ManualForm target values />
                </div>
            </div>
        </details>
    }
}
