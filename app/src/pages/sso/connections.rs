//! The identity providers of the SSO tab: `/accounts/:account_id/sso/connections` lists the connections and
//! offers the three ways to add one (metadata, or fields typed in); `…/connections/:connection_id` is one
//! connection with its certificates, the values to enter at the IdP and its settings.

use super::{Section, SsoNav};
use crate::api::accounts::ASSIGNABLE_ROLES;
use crate::api::sso::{
    AddCertificates, CertificateView, ConnectionView, ConnectionsPage, MappingsView, RemoveCertificate,
    RemoveConnection, RuleView, SaveRoleMappings, list_connections,
};
use crate::components::{AddRow, AfterSuccess, ApiForm, CopyField, FieldError};
use crate::error::AppError;
use crate::pages::account::{Tab, account_page};
use crate::pages::connection_forms::{FormTarget, ManualForm, ManualValues, MetadataFileForm, MetadataUrlForm};
use crate::pages::connection_settings::{MonitorSection, OptionsSection, ReplaceSettings, SpKeysSection};
use crate::pages::setup_guides::SetupGuides;
use leptos::prelude::*;
use leptos_router::params::ParamsMap;
use serde::{Deserialize, Serialize};
use server_fn::ServerFn;

/// Why an Admin sees no way to add an IdP or a certificate; the server refuses them too.
const TRUST_IS_THE_OWNERS: &str =
    "Only the account's Owner can add identity providers or certificates: they decide who can sign in.";

/// A connection's own page, under the account.
pub(crate) fn connection_href(account_id: &str, connection_id: &str) -> String {
    format!("{}/{connection_id}", Section::Connections.href(account_id))
}

async fn load_connections(account_id: String, _query: ParamsMap) -> Result<ConnectionsPage, AppError> {
    list_connections(account_id).await
}

#[component]
pub fn Connections() -> impl IntoView {
    account_page(Tab::Sso, load_connections, |account, page| {
        let account_id = account.id.clone();
        view! {
            <SsoNav account current=Section::Connections />
            <ConnectionList account_id page />
        }
        .into_any()
    })
}

#[component]
pub(crate) fn ConnectionList(account_id: String, page: ConnectionsPage) -> impl IntoView {
    let ConnectionsPage {
        connections,
        can_manage,
        can_manage_trust,
        ..
    } = page;
    view! {
        <section class="panel" id="connections">
            <div class="panel-head">
                <h2>"Identity providers"</h2>
                <p class="muted">
                    "Connect the account to your SAML 2.0 identity provider (Microsoft Entra ID, Okta, Google Workspace, OneLogin, JumpCloud or any other). "
                    "Gatehouse trusts only the signing certificates listed here."
                </p>
                {(can_manage && !can_manage_trust)
                    .then(|| view! { <p class="hint" id="trust-owner-only">{TRUST_IS_THE_OWNERS}</p> })}
            </div>
            {if connections.is_empty() {
                view! {
                    <div class="empty-state compact" id="no-connections">
                        <h3>"No identity provider connected yet"</h3>
                        <p class="muted">
                            {if can_manage_trust {
                                "Upload the metadata file your IdP offers (often called Federation Metadata XML), or enter its details by hand below."
                            } else {
                                "The account's Owner connects the identity provider here."
                            }}
                        </p>
                    </div>
                }
                .into_any()
            } else {
                view! {
                    <table class="table connections-table" id="connection-table">
                        <thead>
                            <tr>
                                <th scope="col">"Name"</th>
                                <th scope="col">"IdP entity ID"</th>
                                <th scope="col">"Status"</th>
                                <th scope="col">"Certificates valid until"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {connections
                                .into_iter()
                                .map(|connection| view! { <ConnectionRow account_id=account_id.clone() connection /> })
                                .collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
        {can_manage_trust.then(|| view! { <AddConnection account_id /> })}
    }
}

/// Every connection in full, as its own page shows it, and the ways to add one: for a setup link's holder, who
/// has the one set-up page and no connection pages.
#[component]
pub(crate) fn ConnectionCards(account_id: String, page: ConnectionsPage) -> impl IntoView {
    let ConnectionsPage {
        connections,
        can_manage,
        can_manage_trust,
        is_owner,
        ..
    } = page;
    view! {
        <section class="panel" id="connections">
            <div class="panel-head">
                <h2>"Identity providers"</h2>
                <p class="muted">"Gatehouse trusts only the signing certificates listed here."</p>
            </div>
            {connections
                .into_iter()
                .map(|connection| {
                    view! {
                        <ConnectionCard account_id=account_id.clone() connection can_manage can_manage_trust is_owner />
                    }
                })
                .collect_view()}
        </section>
        {can_manage_trust.then(|| view! { <AddConnection account_id /> })}
    }
}

/// How a connection stands, from its signing certificates: whether the IdP's signatures can be checked now.
fn connection_status(certificates: &[CertificateView]) -> (&'static str, &'static str) {
    let usable = |c: &&CertificateView| matches!(c.validity.as_str(), "valid" | "expires_soon");
    match certificates
        .iter()
        .filter(usable)
        .map(|c| c.validity.as_str())
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => ("expired", "No valid certificate"),
        now if now.contains(&"valid") => ("active", "Ready"),
        _ => ("expires_soon", "Certificate expires soon"),
    }
}

#[component]
fn ConnectionRow(account_id: String, connection: ConnectionView) -> impl IntoView {
    let (status, status_label) = connection_status(&connection.certificates);
    view! {
        <tr id=format!("connection-row-{}", connection.id) data-status=status>
            <td data-label="Name">
                <span>
                    <a class="connection-link" href=connection_href(&account_id, &connection.id)>
                        <strong>{connection.label}</strong>
                    </a>
                    <span class="hint">{format!("{} · added {}", connection.source, connection.created)}</span>
                </span>
            </td>
            <td data-label="IdP entity ID">
                <code>{connection.idp_entity_id}</code>
            </td>
            <td data-label="Status">
                <span class=format!("badge status-{status}")>{status_label}</span>
            </td>
            <td data-label="Certificates valid until">
                <ul class="plain" role="list">
                    {connection
                        .certificates
                        .into_iter()
                        .map(|c| view! { <li class=format!("certificate-{}", c.validity)>{c.valid_until}</li> })
                        .collect_view()}
                </ul>
            </td>
        </tr>
    }
}

/// One connection and what the caller may do with it, or `None` when the account has no such connection.
#[derive(Clone, Serialize, Deserialize)]
pub struct ConnectionSection {
    connection: Option<ConnectionView>,
    can_manage: bool,
    can_manage_trust: bool,
    is_owner: bool,
}

async fn load_connection(account_id: String, address: ParamsMap) -> Result<ConnectionSection, AppError> {
    let connection_id = address.get("connection_id").unwrap_or_default();
    let ConnectionsPage {
        connections,
        can_manage,
        can_manage_trust,
        is_owner,
        ..
    } = list_connections(account_id).await?;
    Ok(ConnectionSection {
        connection: connections.into_iter().find(|c| c.id == connection_id),
        can_manage,
        can_manage_trust,
        is_owner,
    })
}

#[component]
pub fn Connection() -> impl IntoView {
    account_page(Tab::Sso, load_connection, |account, section| {
        let ConnectionSection {
            connection,
            can_manage,
            can_manage_trust,
            is_owner,
        } = section;
        let account_id = account.id.clone();
        let back = Section::Connections.href(&account_id);
        let body = match connection {
            Some(connection) => view! {
                <p class="breadcrumb">
                    <a href=back>"← All identity providers"</a>
                </p>
                <ConnectionCard account_id connection can_manage can_manage_trust is_owner />
            }
            .into_any(),
            None => view! { <ConnectionNotFound back /> }.into_any(),
        };
        view! {
            <SsoNav account current=Section::Connections />
            {body}
        }
        .into_any()
    })
}

/// Inside the frame, with status 404: no connection of this account has that ID (removed, mistyped, or
/// another account's, which is not revealed).
#[component]
fn ConnectionNotFound(back: String) -> impl IntoView {
    super::respond_with(super::http_status::NOT_FOUND);
    view! {
        <div class="empty-state" id="connection-not-found">
            <h2>"No such identity provider"</h2>
            <p class="muted">"This account has no connection at this address: it may have been removed."</p>
            <a class="button primary" href=back>"See the identity providers"</a>
        </div>
    }
}

#[component]
fn ConnectionCard(
    account_id: String,
    connection: ConnectionView,
    can_manage: bool,
    can_manage_trust: bool,
    is_owner: bool,
) -> impl IntoView {
    let replace = can_manage_trust
        .then(|| view! { <ReplaceSettings account_id=account_id.clone() connection=connection.clone() /> });
    let ConnectionView {
        id,
        label,
        source,
        idp_entity_id,
        sso_url,
        sso_binding,
        slo_url,
        plain_http_endpoints,
        certificates,
        name_id_formats,
        service_provider,
        mappings,
        options,
        origin,
        sp_keys,
        created,
        last_test,
    } = connection;
    let removable = can_manage && certificates.len() > 1;
    let certificate_remover = {
        let (account_id, id) = (account_id.clone(), id.clone());
        move |fingerprint: String| {
            let (account_id, id) = (account_id.clone(), id.clone());
            removable.then(move || {
                // A confirm step in plain HTML: the IdP's responses signed with this certificate are refused after.
                view! {
                    <details class="confirm certificate-remove">
                        <summary class="button link danger">"Remove certificate"</summary>
                        <div class="confirm-body">
                            <ApiForm action=RemoveCertificate::PATH.into() then=AfterSuccess::Reload class=String::new()>
                                <input type="hidden" name="account_id" value=account_id />
                                <input type="hidden" name="connection_id" value=id />
                                <input type="hidden" name="fingerprint" value=fingerprint.clone() />
                                <p>
                                    {format!(
                                        "Remove the certificate with SHA-256 {fingerprint}? Responses the IdP signs with it will be refused."
                                    )}
                                </p>
                                <button type="submit" class="button danger small" data-pending-text="Removing…">
                                    "Yes, remove certificate"
                                </button>
                            </ApiForm>
                        </div>
                    </details>
                }
            })
        }
    };
    let guides_sp = service_provider.clone();
    let metadata_download = format!("{}?download=true", service_provider.metadata_url);
    view! {
        <article class="connection" id=format!("connection-{id}") aria-label=label.clone()>
            <header class="connection-head">
                <h2>{label.clone()}</h2>
                <span class="badge">{source}</span>
                <span class="hint">{format!("Added {created}")}</span>
                {can_manage
                    .then(|| {
                        let (account_id, remove_id, remove_label) = (account_id.clone(), id.clone(), label.clone());
                        view! {
                            <details class="confirm connection-remove">
                                <summary class="button link danger">"Remove"</summary>
                                <div class="confirm-body">
                                    <ApiForm
                                        action=RemoveConnection::PATH.into()
                                        then=AfterSuccess::Open(Section::Connections.href(&account_id))
                                        class=String::new()
                                    >
                                        <input type="hidden" name="account_id" value=account_id />
                                        <input type="hidden" name="connection_id" value=remove_id />
                                        <p>
                                            {format!("Remove the connection {remove_label}? Sign-in through it stops at once.")}
                                        </p>
                                        <button type="submit" class="button danger small">"Yes, remove"</button>
                                    </ApiForm>
                                </div>
                            </details>
                        }
                    })}
            </header>
            {can_manage_trust
                .then(|| {
                    view! {
                        <p class="connection-test">
                            <a
                                class="button secondary small"
                                href=format!("/saml/{id}/test")
                                target="_blank"
                                rel="noopener"
                            >
                                "Test SSO"
                            </a>
                            <span class="hint">
                                " Signs you in at your IdP in a new tab and shows every check, without signing anyone in here."
                            </span>
                        </p>
                        {last_test.map(|test| view! { <super::setup::LastTest test /> })}
                    }
                })}
            {is_owner
                .then(|| {
                    view! {
                        <form class="connection-test" method="post" action=format!("/saml/{id}/link")>
                            <input type="hidden" name="return_to" value=connection_href(&account_id, &id) />
                            <button type="submit" class="button secondary small">
                                "Link my sign-in"
                            </button>
                            <span class="hint">
                                " As the Owner you sign in with your password; an assertion naming you is refused until you link your own identity at this IdP here, by signing in there as yourself."
                            </span>
                        </form>
                    }
                })}
            <div class="connection-body">
                <div>
                    <h4>"Your identity provider"</h4>
                    <dl class="facts">
                        <div>
                            <dt>"Entity ID (issuer)"</dt>
                            <dd>
                                <code>{idp_entity_id}</code>
                            </dd>
                        </div>
                        <div>
                            <dt>"IdP sign-in URL"</dt>
                            <dd>
                                <code>{sso_url}</code>
                                <span class="hint">{format!(" {sso_binding}")}</span>
                            </dd>
                        </div>
                        <div>
                            <dt>"IdP logout URL"</dt>
                            <dd>
                                {match slo_url {
                                    Some(url) => view! { <code>{url}</code> }.into_any(),
                                    None => view! { <span class="muted">"None: signing out ends the Gatehouse session only."</span> }.into_any(),
                                }}
                            </dd>
                        </div>
                        {(!name_id_formats.is_empty())
                            .then(|| {
                                view! {
                                    <div>
                                        <dt>"NameID formats"</dt>
                                        <dd>{name_id_formats.join(", ")}</dd>
                                    </div>
                                }
                            })}
                    </dl>
                    {plain_http_endpoints
                        .into_iter()
                        .map(|endpoint| {
                            view! {
                                <p class="flag plain-http">
                                    {format!(
                                        "Plain http:// endpoint: the IdP's {endpoint}. Accepted, but anyone on the network path can read or change what passes; ask the IdP for an https:// address unless it runs inside a closed network."
                                    )}
                                </p>
                            }
                        })
                        .collect_view()}
                    <h4 id=format!("signing-certificates-{id}")>"Signing certificates"</h4>
                    <ul class="certificates idp-certificates" role="list">
                        {certificates
                            .into_iter()
                            .map(|c| {
                                let remove = certificate_remover(c.sha256_fingerprint.clone());
                                view! { <CertificateItem certificate=c>{remove}</CertificateItem> }
                            })
                            .collect_view()}
                    </ul>
                    {can_manage_trust
                        .then(|| {
                            let (account_id, id) = (account_id.clone(), id.clone());
                            let cert_field = format!("add-certificate-{id}");
                            view! {
                                <details class="optional">
                                    <summary>"Add a certificate (before the IdP rolls over to a new one)"</summary>
                                    <ApiForm action=AddCertificates::PATH.into() then=AfterSuccess::Reload class=String::new()>
                                        <input type="hidden" name="account_id" value=account_id />
                                        <input type="hidden" name="connection_id" value=id />
                                        <div class="field">
                                            <label for=cert_field.clone()>"New signing certificate (Base64 or PEM), or the IdP's new metadata XML"</label>
                                            <textarea id=cert_field name="certificate" rows="3" spellcheck="false" placeholder="-----BEGIN CERTIFICATE-----"></textarea>
                                            <span class="hint">"Both are trusted until you remove the old one. Remove it once the new one shows \"Last verified a sign-in\"."</span>
                                            <FieldError field="certificate" />
                                        </div>
                                        <button type="submit" class="button small" data-pending-text="Adding…">"Add certificate"</button>
                                    </ApiForm>
                                </details>
                            }
                        })}
                    <MonitorSection account_id=account_id.clone() connection_id=id.clone() origin can_manage />
                </div>
                <div>
                    <h4>"Enter these at your identity provider"</h4>
                    <CopyField
                        label="Identifier (Entity ID)".into()
                        value=service_provider.entity_id
                        id=format!("sp-entity-{id}")
                        multiline=true
                    />
                    <CopyField
                        label="Reply URL (Assertion Consumer Service, HTTP-POST)".into()
                        value=service_provider.acs_url
                        id=format!("sp-acs-{id}")
                        multiline=true
                    />
                    <CopyField
                        label="Logout URL".into()
                        value=service_provider.slo_url
                        id=format!("sp-slo-{id}")
                        multiline=true
                    />
                    <CopyField
                        label="Gatehouse sign-on URL (start sign-in here)".into()
                        value=service_provider.sign_on_url
                        id=format!("sp-sign-on-{id}")
                        multiline=true
                    />
                    <CopyField
                        label="SP metadata URL".into()
                        value=service_provider.metadata_url
                        id=format!("sp-metadata-{id}")
                        multiline=true
                    />
                    <p>
                        <a class="button small" href=metadata_download download="">"Download SP metadata (.xml)"</a>
                    </p>
                </div>
            </div>
            <OptionsSection account_id=account_id.clone() connection_id=id.clone() options can_manage is_owner />
            <RoleMappingsSection
                account_id=account_id.clone()
                connection_id=id.clone()
                mappings
                can_manage
            />
            <SpKeysSection account_id connection_id=id.clone() keys=sp_keys can_manage />
            {replace}
            <SetupGuides connection_id=id.clone() sp=guides_sp />
        </article>
    }
}

/// Blank rows offered after the saved ones, so rules can be added without WebAssembly (with it, *Add a rule*
/// adds more in place).
const BLANK_RULES: usize = 3;

fn role_label(value: &str) -> &'static str {
    ASSIGNABLE_ROLES
        .iter()
        .find(|(v, _)| *v == value)
        .map_or("No access", |(_, label)| label)
}

fn role_options(selected: String) -> impl IntoView {
    ASSIGNABLE_ROLES
        .map(|(value, label)| view! { <option value=value selected=value == selected>{label}</option> })
        .collect_view()
}

/// One editable rule, as indexed form fields; `index` and `number` are text so that the template for rows added
/// in the browser can hold placeholders.
fn rule_row(connection_id: &str, index: &str, number: &str, rule: RuleView) -> impl IntoView + use<> {
    let id = |part: &str| format!("rule-{connection_id}-{index}-{part}");
    let name = |part: &str| format!("rules[{index}][{part}]");
    let role = if rule.role.is_empty() {
        "viewer".to_owned()
    } else {
        rule.role
    };
    view! {
        <tr>
            <td data-label="Rule"><span>{number.to_owned()}</span></td>
            <td data-label="IdP attribute">
                <label class="visually-hidden" for=id("attribute")>{format!("Rule {number} attribute name")}</label>
                <input id=id("attribute") type="text" name=name("attribute") value=rule.attribute placeholder="groups" maxlength="256" />
            </td>
            <td data-label="Value">
                <label class="visually-hidden" for=id("value")>{format!("Rule {number} value")}</label>
                <input id=id("value") type="text" name=name("value") value=rule.value maxlength="1024" />
            </td>
            <td data-label="Role">
                <label class="visually-hidden" for=id("role")>{format!("Rule {number} role")}</label>
                <select id=id("role") name=name("role")>{role_options(role)}</select>
            </td>
        </tr>
    }
}

#[component]
fn RoleMappingsSection(
    account_id: String,
    connection_id: String,
    mappings: MappingsView,
    can_manage: bool,
) -> impl IntoView {
    let MappingsView {
        rules,
        default_role,
        reapply_on_sign_in,
    } = mappings;
    // Folded like the other settings, with what it holds in one line, so the connection's page stays short.
    let held = format!(
        " {}; everyone else: {}",
        match rules.len() {
            0 => "no rules".to_owned(),
            1 => "1 rule".to_owned(),
            n => format!("{n} rules"),
        },
        role_label(&default_role)
    );
    let intro = view! {
        <summary>
            <h4>"Role mappings"</h4>
            <span class="hint">{held}</span>
        </summary>
        <p class="hint">
            "When a user signs in through this IdP, the rules are tried from the top; the first whose attribute carries the value gives the role. Everyone else gets the default role."
        </p>
    };
    if !can_manage {
        return view! {
            <details class="section mappings">
                {intro}
                <table class="table">
                    <thead>
                        <tr>
                            <th scope="col">"IdP attribute"</th>
                            <th scope="col">"Value"</th>
                            <th scope="col">"Role"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rules
                            .into_iter()
                            .map(|r| {
                                view! {
                                    <tr>
                                        <td data-label="IdP attribute"><span>{r.attribute}</span></td>
                                        <td data-label="Value"><span>{r.value}</span></td>
                                        <td data-label="Role"><span>{role_label(&r.role)}</span></td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
                <p>
                    {format!("Otherwise: {}.", role_label(&default_role))}
                    {if reapply_on_sign_in { " Re-applied at every sign-in." } else { "" }}
                </p>
            </details>
        }
        .into_any();
    }
    let rows: Vec<RuleView> = rules
        .into_iter()
        .chain(std::iter::repeat_n(RuleView::default(), BLANK_RULES))
        .collect();
    let (rows_id, template_id) = (
        format!("rules-{connection_id}"),
        format!("rule-template-{connection_id}"),
    );
    view! {
        <details class="section mappings">
            {intro}
            <ApiForm action=SaveRoleMappings::PATH.into() then=AfterSuccess::Reload class=String::new()>
                <input type="hidden" name="account_id" value=account_id />
                <input type="hidden" name="connection_id" value=connection_id.clone() />
                <table class="table mapping-table">
                    <thead>
                        <tr>
                            <th scope="col">"#"</th>
                            <th scope="col">"IdP attribute name"</th>
                            <th scope="col">"Attribute value"</th>
                            <th scope="col">"Role"</th>
                        </tr>
                    </thead>
                    <tbody id=rows_id.clone()>
                        {rows
                            .into_iter()
                            .enumerate()
                            .map(|(i, rule)| rule_row(&connection_id, &i.to_string(), &(i + 1).to_string(), rule))
                            .collect_view()}
                    </tbody>
                </table>
                <template id=template_id.clone()>
                    {rule_row(&connection_id, "__index__", "__number__", RuleView::default())}
                </template>
                <AddRow rows_id template_id label="Add a rule".into() />
                <FieldError field="rules" />
                <p class="hint">"Clear a row's name and value to remove it. Empty rows are ignored."</p>
                <div class="inline-form">
                    <div class="field">
                        <label for=format!("default-role-{connection_id}")>"Everyone else gets"</label>
                        <select id=format!("default-role-{connection_id}") name="default_role">{role_options(default_role)}</select>
                    </div>
                </div>
                <label class="toggle">
                    <input type="checkbox" name="reapply_on_sign_in" value="true" checked=reapply_on_sign_in />
                    <span>
                        <strong>"Enforce role mapping on every sign-in"</strong>
                        <span class="hint">"Roles changed by hand in Gatehouse are set back to what the rules say at the next sign-in."</span>
                    </span>
                </label>
                <button type="submit" class="button primary" data-pending-text="Saving…">"Save role mappings"</button>
            </ApiForm>
        </details>
    }
    .into_any()
}

#[component]
pub fn CertificateItem(certificate: CertificateView, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    let CertificateView {
        subject,
        issuer,
        serial,
        valid_from,
        valid_until,
        sha256_fingerprint,
        key,
        validity,
        warning,
        pem: _,
        last_used,
    } = certificate;
    view! {
        <li class=format!("certificate certificate-{validity}")>
            <strong class="certificate-subject">{subject}</strong>
            <span class="hint">{format!("Issued by {issuer} · serial {serial} · {key}")}</span>
            <span class="hint">{format!("Valid {valid_from} to {valid_until}")}</span>
            <span class="hint">"SHA-256 " <code class="fingerprint">{sha256_fingerprint}</code></span>
            {last_used.map(|words| view! { <span class="hint certificate-last-used">{words}</span> })}
            {warning.map(|w| view! { <span class="certificate-warning" role="note">{w}</span> })}
            {children.map(|c| c())}
        </li>
    }
}

/// The three ways to connect an IdP, as a panel of the identity-provider page.
#[component]
fn AddConnection(account_id: String) -> impl IntoView {
    view! {
        <section class="panel" id="add-connection">
            <div class="panel-head">
                <h2>"Connect an identity provider"</h2>
                <p class="muted">"Nothing is saved unless everything in the file, the download or the fields is valid."</p>
            </div>
            <ConnectForms account_id heading_level=3 ask_name=true />
        </section>
    }
}

/// The three ways to connect an IdP: a metadata file or URL side by side, and the fields typed in folded below
/// them (most IdPs offer metadata; the folded form keeps the page short). All end in the same validated
/// connection. `heading_level` fits their headings into the page around them; without `ask_name` the
/// connection is named after its IdP.
#[component]
pub(crate) fn ConnectForms(account_id: String, heading_level: u8, ask_name: bool) -> impl IntoView {
    let target = FormTarget {
        account_id,
        connection_id: None,
        label: ask_name.then(String::new),
    };
    let heading = move |text: &'static str| match heading_level {
        3 => view! { <h3>{text}</h3> }.into_any(),
        4 => view! { <h4>{text}</h4> }.into_any(),
        _ => view! { <h5>{text}</h5> }.into_any(),
    };
    view! {
        <div class="connect-ways">
            <div>
                {heading("Upload IdP metadata")}
                <MetadataFileForm target=target.clone() />
            </div>
            <div>
                {heading("Or import it from a URL")}
                <MetadataUrlForm target=target.clone() url=String::new() monitor=true />
            </div>
        </div>
        <details class="connect-manual">
            <summary>{heading("Or enter the details by hand")}</summary>
            <ManualForm target values=ManualValues::default() />
        </details>
    }
}
