//! The three ways to give Gatehouse an IdP's settings (metadata file, metadata URL, typed-in fields), each
//! creating a connection or replacing the IdP settings of an existing one.

use crate::api::sso::{CreateConnection, ImportMetadata, ImportMetadataUrl};
use crate::components::{AfterSuccess, ApiForm, FieldError};
use leptos::prelude::*;
use server_fn::ServerFn;

/// What the forms act on: a new connection, or the connection whose IdP settings they replace.
#[derive(Clone, Debug)]
pub struct FormTarget {
    pub account_id: String,
    /// `None` for a new connection.
    pub connection_id: Option<String>,
    /// The name the form starts with; `None` asks for no name (a new connection is then named after its IdP).
    pub label: Option<String>,
}

impl FormTarget {
    /// Prefix for element ids, unique on the page.
    fn id(&self, field: &str) -> String {
        format!("{}-{field}", self.connection_id.as_deref().unwrap_or("new"))
    }

    fn replaces(&self) -> bool {
        self.connection_id.is_some()
    }

    fn hidden_fields(&self) -> impl IntoView + use<> {
        view! {
            <input type="hidden" name="account_id" value=self.account_id.clone() />
            <input type="hidden" name="connection_id" value=self.connection_id.clone().unwrap_or_default() />
        }
    }

    fn label_field(&self, which: &str) -> impl IntoView + use<> {
        let id = self.id(&format!("{which}-label"));
        let hint = if self.replaces() {
            "Left empty, the connection keeps its name."
        } else {
            "Left empty, it is named after the IdP, such as Okta or Microsoft Entra ID."
        };
        match self.label.clone() {
            Some(label) => view! {
                <div class="field">
                    <label for=id.clone()>"Name " <span class="muted">"(optional)"</span></label>
                    <input id=id name="label" type="text" maxlength="120" value=label />
                    <span class="hint">{hint}</span>
                    <FieldError field="label" />
                </div>
            }
            .into_any(),
            None => view! { <input type="hidden" name="label" value="" /> }.into_any(),
        }
    }

    /// The optional federation certificate that the metadata document must be signed with.
    fn signing_certificate_field(&self, which: &str) -> impl IntoView + use<> {
        let id = self.id(&format!("{which}-signing-certificate"));
        view! {
            <details class="optional">
                <summary>"Verify the document's signature (optional)"</summary>
                <div class="field">
                    <label for=id.clone()>"Federation signing certificate (Base64 or PEM)"</label>
                    <textarea id=id name="signing_certificate" rows="3" spellcheck="false" placeholder="-----BEGIN CERTIFICATE-----"></textarea>
                    <span class="hint">"When given, the metadata is accepted only if it is signed with this certificate, now and at every refresh."</span>
                    <FieldError field="signing_certificate" />
                </div>
            </details>
        }
    }
}

#[component]
pub fn MetadataFileForm(target: FormTarget) -> impl IntoView {
    let (file, text) = (target.id("metadata-file"), target.id("metadata-text"));
    let submit = if target.replaces() {
        "Replace with this metadata"
    } else {
        "Import metadata"
    };
    view! {
        <ApiForm action=ImportMetadata::PATH.into() then=AfterSuccess::Reload class="metadata-file-form".into()>
            {target.hidden_fields()}
            {target.label_field("metadata")}
            <div class="field">
                <label for=file.clone()>"Metadata file (.xml)"</label>
                <input id=file type="file" accept=".xml,application/xml,text/xml,application/samlmetadata+xml" data-fills="metadata" />
                <label for=text.clone()>"or paste the XML"</label>
                <textarea id=text name="metadata" rows="4" spellcheck="false" placeholder="<EntityDescriptor …>"></textarea>
                <FieldError field="metadata" />
            </div>
            {target.signing_certificate_field("file")}
            <button type="submit" class="button primary" data-pending-text="Importing…">{submit}</button>
        </ApiForm>
    }
}

#[component]
pub fn MetadataUrlForm(target: FormTarget, url: String, monitor: bool) -> impl IntoView {
    let (url_id, monitor_id) = (target.id("metadata-url"), target.id("url-monitor"));
    let submit = if target.replaces() {
        "Replace from this URL"
    } else {
        "Import from URL"
    };
    view! {
        <ApiForm action=ImportMetadataUrl::PATH.into() then=AfterSuccess::Reload class="metadata-url-form".into()>
            {target.hidden_fields()}
            {target.label_field("url")}
            <div class="field">
                <label for=url_id.clone()>"Metadata URL"</label>
                <input id=url_id name="url" type="url" required placeholder="https://" value=url />
                <span class="hint">"Entra ID calls it App Federation Metadata Url; Okta shows it as Metadata URL under Sign On."</span>
                <FieldError field="url" />
            </div>
            <label class="toggle">
                <input id=monitor_id type="checkbox" name="monitor" value="true" checked=monitor />
                <span>
                    <strong>"Monitor metadata URL"</strong>
                    <span class="hint">"Fetch it again regularly to pick up new signing certificates before the IdP rolls over. A failed or invalid download never replaces the saved settings."</span>
                </span>
            </label>
            {target.signing_certificate_field("url")}
            <FieldError field="metadata" />
            <button type="submit" class="button primary" data-pending-text="Fetching…">{submit}</button>
        </ApiForm>
    }
}

/// Values the typed-in form starts with.
#[derive(Clone, Debug, Default)]
pub struct ManualValues {
    pub entity_id: String,
    pub sso_url: String,
    pub slo_url: String,
    /// PEM blocks of the current certificates.
    pub certificates: String,
}

#[component]
pub fn ManualForm(target: FormTarget, values: ManualValues) -> impl IntoView {
    let ids = [
        "manual-entity",
        "manual-sso",
        "manual-slo",
        "manual-certificate",
        "manual-certificate-file",
    ]
    .map(|f| target.id(f));
    let [entity, sso, slo, certificate, certificate_file] = ids;
    let (submit, certificate_label) = if target.replaces() {
        (
            "Save changes",
            "Signing certificates (Base64 or PEM; the list replaces the current one)",
        )
    } else {
        (
            "Save connection",
            "Signing certificate (Base64 or PEM; several allowed)",
        )
    };
    view! {
        <ApiForm action=CreateConnection::PATH.into() then=AfterSuccess::Reload class="manual-form".into()>
            {target.hidden_fields()}
            {target.label_field("manual")}
            <div class="field">
                <label for=entity.clone()>"IdP Entity ID (issuer)"</label>
                <input id=entity name="entity_id" type="text" required maxlength="1024" value=values.entity_id />
                <FieldError field="entity_id" />
            </div>
            <div class="field">
                <label for=sso.clone()>"Single sign-on URL"</label>
                <input id=sso name="sso_url" type="url" required placeholder="https://" value=values.sso_url />
                <FieldError field="sso_url" />
            </div>
            <div class="field">
                <label for=slo.clone()>"Single logout URL " <span class="muted">"(optional)"</span></label>
                <input id=slo name="slo_url" type="url" placeholder="https://" value=values.slo_url />
                <FieldError field="slo_url" />
            </div>
            <div class="field">
                <label for=certificate.clone()>{certificate_label}</label>
                <textarea id=certificate name="certificate" rows="4" spellcheck="false" placeholder="-----BEGIN CERTIFICATE-----">{values.certificates}</textarea>
                <label for=certificate_file.clone()>"or upload a .cer / .pem file"</label>
                <input id=certificate_file type="file" accept=".cer,.crt,.pem,.der" data-fills="certificate" />
                <FieldError field="certificate" />
            </div>
            <button type="submit" class="button primary" data-pending-text="Saving…">{submit}</button>
        </ApiForm>
    }
}
