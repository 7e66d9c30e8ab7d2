//! An account's identity-provider connections: import metadata, enter fields, remove; and the values the IdP needs.
// A server function takes one argument per form field; the options form has ten, and the lint cannot be
// silenced on the function itself because `#[server]` generates the client-side twin.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub valid_from: String,
    pub valid_until: String,
    pub sha256_fingerprint: String,
    pub key: String,
    /// `valid`, `expires_soon`, `expired` or `not_yet_valid`.
    pub validity: String,
    /// A warning for the page, when the dates call for one.
    pub warning: Option<String>,
    /// The certificate as PEM, to copy or edit.
    pub pem: String,
    /// For an IdP's signing certificate: when it last verified a sign-in, in words; `None` for other certificates.
    pub last_used: Option<String>,
}

/// The values to enter at the IdP for one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceProviderView {
    pub entity_id: String,
    pub acs_url: String,
    pub slo_url: String,
    pub metadata_url: String,
    pub sign_on_url: String,
}

/// One role-mapping rule, as shown and as the form sends it back (`role` is the storage name).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleView {
    pub attribute: String,
    pub value: String,
    pub role: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingsView {
    pub rules: Vec<RuleView>,
    /// Storage name of the role given when no rule matches.
    pub default_role: String,
    pub reapply_on_sign_in: bool,
}

/// A connection's sign-in options, as the form shows and sends them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionsView {
    pub allow_idp_initiated: bool,
    pub sign_authn_requests: bool,
    /// `redirect` or `post`.
    pub binding: String,
    /// The bindings the IdP offers, as (value, label).
    pub offered_bindings: Vec<(String, String)>,
    pub authn_context: String,
    /// `nameid` or `attribute`.
    pub email_source: String,
    pub email_attribute: String,
    pub allow_sha1: bool,
    pub clock_skew_seconds: u32,
}

/// One fetch of a monitored metadata URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshView {
    pub at: String,
    /// `updated`, `unchanged` or `failed`.
    pub outcome: String,
    pub detail: String,
}

/// Where the metadata came from and how it is kept current.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OriginView {
    pub url: Option<String>,
    pub monitor: bool,
    pub next_refresh: Option<String>,
    pub signing_certificate: Option<CertificateView>,
    pub refreshes: Vec<RefreshView>,
}

/// One of Gatehouse's own key pairs for a connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpKeyView {
    /// `next`, `active` or `previous`.
    pub state: String,
    pub certificate: CertificateView,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionView {
    pub id: String,
    pub label: String,
    /// How the settings were given: from a metadata document or typed in.
    pub source: String,
    pub idp_entity_id: String,
    pub sso_url: String,
    /// `HTTP-Redirect` or `HTTP-POST`.
    pub sso_binding: String,
    pub slo_url: Option<String>,
    /// The IdP's endpoints at plain http:// addresses, named, for a warning.
    pub plain_http_endpoints: Vec<String>,
    pub certificates: Vec<CertificateView>,
    pub name_id_formats: Vec<String>,
    pub service_provider: ServiceProviderView,
    pub mappings: MappingsView,
    pub options: OptionsView,
    pub origin: OriginView,
    pub sp_keys: Vec<SpKeyView>,
    pub created: String,
    /// The connection's last Test SSO run, if it was tested.
    pub last_test: Option<LastTestView>,
}

/// What the last Test SSO run of a connection found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastTestView {
    pub at: String,
    /// The run's reference in the SSO events.
    pub reference: String,
    /// The first check that failed and why; `None` when every check passed.
    pub failed: Option<(String, String)>,
    pub email: Option<String>,
    pub name_id: Option<String>,
    /// The role the role mappings gave the identity, in words.
    pub role: Option<String>,
    /// What to change at the IdP, for a failed run the owner can fix.
    pub fix: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionsPage {
    pub connections: Vec<ConnectionView>,
    /// While the account has no connection: the values its first connection will have, so the IdP can be set up
    /// before its metadata is imported (without a metadata URL: that document is served once the connection exists).
    pub first_connection: Option<ServiceProviderView>,
    /// The caller may look after connections: role mappings, options, keys, removal (Owner or Admin).
    pub can_manage: bool,
    /// The caller may widen trust: add or replace an IdP, add a certificate, route a domain, Test SSO (the Owner,
    /// or a setup link's holder).
    pub can_manage_trust: bool,
    /// The caller is the Owner: the Owner-only switches (IdP-initiated sign-in, SHA-1), linking their own sign-in.
    pub is_owner: bool,
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use crate::api::context::{date, now};
    use gatehouse_core::saml::{Certificate, KeyState, RequestBinding, ServiceProviderValues, Validity};
    use gatehouse_core::sso::test_sso::{TestFailure, TestSummary};
    use gatehouse_core::sso::{Connection, ConnectionService, EmailSource, Source};

    fn binding_label(binding: &str) -> String {
        binding.rsplit(':').next().unwrap_or(binding).to_owned()
    }

    pub fn certificate_view(c: &Certificate) -> CertificateView {
        let (validity, warning) = match c.validity(now()) {
            Validity::Valid => ("valid", None),
            Validity::ExpiresSoon => (
                "expires_soon",
                Some(format!(
                    "Expires on {}. Ask the IdP administrator for the new certificate and add it.",
                    date(c.not_after)
                )),
            ),
            Validity::Expired => (
                "expired",
                Some(
                    "Expired. Gatehouse still accepts signatures made with it, as many IdPs keep signing with an expired certificate; plan to replace it."
                        .to_owned(),
                ),
            ),
            Validity::NotYetValid => ("not_yet_valid", Some(format!("Valid only from {}.", date(c.not_before)))),
        };
        CertificateView {
            subject: c.subject.clone(),
            issuer: c.issuer.clone(),
            serial: c.serial.clone(),
            valid_from: date(c.not_before),
            valid_until: date(c.not_after),
            sha256_fingerprint: c.sha256_fingerprint.clone(),
            key: c.key.clone(),
            validity: validity.into(),
            warning,
            pem: c.to_pem(),
            last_used: None,
        }
    }

    pub fn last_test_view(at: chrono::DateTime<chrono::Utc>, summary: TestSummary) -> LastTestView {
        LastTestView {
            at: date(at),
            reference: summary.reference,
            failed: summary.failed.map(|(check, why)| {
                let why = match why {
                    TestFailure::Refused(refusal) => crate::refusal_reasons::owner_reason(&refusal),
                    TestFailure::Worded(reason) => reason,
                };
                (check.label().to_owned(), why)
            }),
            email: summary.email,
            name_id: summary.name_id,
            role: summary.role.map(|r| r.label().to_owned()),
            fix: summary.fix,
        }
    }

    pub fn service_provider_view(sp: ServiceProviderValues) -> ServiceProviderView {
        ServiceProviderView {
            entity_id: sp.entity_id,
            acs_url: sp.acs_url,
            slo_url: sp.slo_url,
            metadata_url: sp.metadata_url,
            sign_on_url: sp.sign_on_url,
        }
    }

    /// The view of `c`, with its last Test SSO run if it had one.
    pub fn connection_view(
        service: &ConnectionService,
        c: Connection,
        last_test: Option<(chrono::DateTime<chrono::Utc>, TestSummary)>,
    ) -> ConnectionView {
        let sp = service.service_provider_values(c.id);
        let sso = c.sso_endpoint().clone();
        let options = &c.options;
        ConnectionView {
            id: c.id.to_string(),
            label: c.label,
            source: match c.source {
                Source::Metadata => "From IdP metadata".into(),
                Source::MetadataUrl => "From a metadata URL".into(),
                Source::Manual => "Entered by hand".into(),
            },
            plain_http_endpoints: c.idp.plain_http_endpoints(),
            idp_entity_id: c.idp.entity_id,
            sso_url: sso.location.to_string(),
            sso_binding: binding_label(&sso.binding),
            slo_url: c.idp.slo.map(|e| e.location.to_string()),
            certificates: c
                .idp
                .certificates
                .iter()
                .map(|certificate| {
                    let view = certificate_view(certificate);
                    // Once a longer-lasting certificate is here, what is left to do is removing this one.
                    let succeeded = c.idp.certificates.iter().any(|other| other.not_after > certificate.not_after);
                    let warning = match (view.validity.as_str(), succeeded) {
                        ("expires_soon" | "expired", true) => Some(format!(
                            "Ends on {}. A longer-lasting certificate is already added: remove this one once that one shows a sign-in.",
                            date(certificate.not_after)
                        )),
                        _ => view.warning.clone(),
                    };
                    CertificateView {
                        last_used: Some(match c.certificate_uses.get(&certificate.sha256_fingerprint) {
                            Some(at) => format!("Last verified a sign-in {}", date(*at)),
                            None => "Has not verified a sign-in yet".to_owned(),
                        }),
                        warning,
                        ..view
                    }
                })
                .collect(),
            name_id_formats: c.idp.name_id_formats,
            service_provider: service_provider_view(sp),
            mappings: MappingsView {
                rules: c
                    .mappings
                    .rules
                    .iter()
                    .map(|r| RuleView {
                        attribute: r.attribute.clone(),
                        value: r.value.clone(),
                        role: r.role.as_str().into(),
                    })
                    .collect(),
                default_role: c.mappings.default_role.as_str().into(),
                reapply_on_sign_in: c.mappings.reapply_on_sign_in,
            },
            options: OptionsView {
                allow_idp_initiated: options.allow_idp_initiated,
                sign_authn_requests: options.sign_authn_requests,
                binding: options.binding.as_str().into(),
                offered_bindings: c
                    .idp
                    .sso_endpoints
                    .iter()
                    .filter_map(|e| RequestBinding::of_urn(&e.binding))
                    .map(|b| (b.as_str().to_owned(), b.label().to_owned()))
                    .collect(),
                authn_context: options.authn_context.as_str().into(),
                email_source: match options.email {
                    EmailSource::NameId => "nameid".into(),
                    EmailSource::Attribute(_) => "attribute".into(),
                },
                email_attribute: options.email.as_stored().into(),
                allow_sha1: options.allow_sha1,
                clock_skew_seconds: options.clock_skew_seconds,
            },
            origin: OriginView {
                url: c.origin.url.map(|u| u.to_string()),
                monitor: c.origin.monitor,
                next_refresh: c.origin.refresh_due_at.filter(|_| c.origin.monitor).map(date),
                signing_certificate: c.origin.signing_certificate.as_ref().map(certificate_view),
                refreshes: c
                    .refreshes
                    .iter()
                    .map(|r| RefreshView {
                        at: date(r.at),
                        outcome: r.outcome.as_str().into(),
                        detail: r.detail.clone(),
                    })
                    .collect(),
            },
            sp_keys: {
                let mut keys = c.sp_keys;
                keys.sort_by_key(|k| match k.state {
                    KeyState::Active => 0,
                    KeyState::Next => 1,
                    KeyState::Previous => 2,
                });
                keys.iter()
                    .map(|k| SpKeyView {
                        state: k.state.as_str().into(),
                        certificate: certificate_view(&k.certificate),
                    })
                    .collect()
            },
            created: date(c.created_at),
            last_test: last_test.map(|(at, summary)| last_test_view(at, summary)),
        }
    }

    /// An optional connection id from a form: empty means "a new connection".
    pub fn target(text: &str) -> Result<Option<gatehouse_core::ConnectionId>, AppError> {
        match text.trim() {
            "" => Ok(None),
            id => connection_id(id).map(Some),
        }
    }

    pub fn connection_id(text: &str) -> Result<gatehouse_core::ConnectionId, AppError> {
        text.parse().map_err(|_| {
            crate::api::context::respond(AppError::NotFound(
                gatehouse_core::sso::ConnectionError::NotFound.to_string(),
            ))
        })
    }
}

/// A connection whose last signing certificate expires within 30 days (or has expired), as the banner on the
/// account's pages shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateNoticeView {
    /// What ends, as the banner names it ("Signing certificate of Entra ID").
    pub title: String,
    /// The button's words.
    pub action: String,
    /// What runs out, and when.
    pub summary: String,
    /// What to do about it, at the IdP in use.
    pub fix: String,
    /// The connection's certificates on its page.
    pub href: String,
    pub expired: bool,
}

/// The certificate banner of the account: for those who look after its connections (Owner and Admin), empty for
/// everyone else.
#[server(prefix = "/api", endpoint = "sso/certificate-notices")]
pub async fn certificate_notices(account_id: String) -> Result<Vec<CertificateNoticeView>, AppError> {
    use crate::api::context::*;
    use gatehouse_core::sso::ConnectionError;
    use gatehouse_core::sso::certificate_lifecycle::Ending;
    use gatehouse_core::tenancy::TenancyError;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let now = now();
    let expiring = match services()?
        .connections
        .expiring_connections(&caller, account, now)
        .await
    {
        Ok(expiring) => expiring,
        // A member who does not look after connections sees no banner; asking is no error.
        Err(ConnectionError::Tenancy(TenancyError::Forbidden { .. } | TenancyError::SetupLinkOnly)) => {
            return Ok(Vec::new());
        }
        Err(e) => return Err(e.into()),
    };
    Ok(expiring
        .into_iter()
        .map(|expiring| {
            let id = expiring.connection;
            let label = &expiring.label;
            let (title, action, href) = match expiring.ending {
                Ending::IdpSigning => (
                    format!("Signing certificate of {label}"),
                    format!("Open the certificates of {label}"),
                    format!("/accounts/{account_id}/sso/connections/{id}#signing-certificates-{id}"),
                ),
                Ending::SpKey => (
                    format!("Gatehouse's key for {label}"),
                    format!("Open {label} to rotate its key"),
                    format!("/accounts/{account_id}/sso/connections/{id}"),
                ),
            };
            CertificateNoticeView {
                title,
                action,
                href,
                summary: expiring.summary(now),
                fix: expiring.fix(),
                expired: expiring.valid_until <= now,
            }
        })
        .collect())
}

/// The account's connections with their certificates and the values for the IdP; any member with a role may look,
/// and the holder of a setup link for the account.
#[server(prefix = "/api", endpoint = "sso/connections")]
pub async fn list_connections(account_id: String) -> Result<ConnectionsPage, AppError> {
    use crate::api::context::*;
    use gatehouse_core::tenancy::Permission;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let services = services()?;
    let access = services.tenancy.access(&caller, account).await?;
    let connections = services.connections.list(&caller, account).await?;
    let mut last_tests = services.connections.last_tests(&caller, account).await?;
    let first_connection = connections.is_empty().then(|| {
        let sp = services
            .connections
            .service_provider_values(gatehouse_core::ConnectionId::first_of(account));
        ServiceProviderView {
            // Served once the connection exists, with its keys.
            metadata_url: String::new(),
            ..convert::service_provider_view(sp)
        }
    });
    Ok(ConnectionsPage {
        first_connection,
        connections: connections
            .into_iter()
            .map(|c| {
                let last_test = last_tests
                    .iter()
                    .position(|(id, ..)| *id == c.id)
                    .map(|at| last_tests.swap_remove(at))
                    .map(|(_, when, summary)| (when, summary));
                convert::connection_view(&services.connections, c, last_test)
            })
            .collect(),
        can_manage: access.allows(Permission::ManageConnections),
        can_manage_trust: access.allows(Permission::ManageTrust),
        is_owner: access.allows(Permission::ManageSsoPolicy),
    })
}

/// Creates a connection from an IdP metadata document (Owner only), or with `connection_id`, replaces that
/// connection's IdP settings. `entity_id` picks one IdP from a file that lists several; `signing_certificate`,
/// when given, is the certificate the document must be signed with.
#[server(prefix = "/api", endpoint = "sso/import-metadata")]
pub async fn import_metadata(
    account_id: String,
    label: String,
    metadata: String,
    #[server(default)] entity_id: String,
    #[server(default)] signing_certificate: String,
    #[server(default)] connection_id: String,
) -> Result<ConnectionView, AppError> {
    use crate::api::context::*;
    use gatehouse_core::sso::MetadataUpload;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let target = convert::target(&connection_id)?;
    let connections = services()?.connections.clone();
    let upload = MetadataUpload {
        label: &label,
        document: metadata.as_bytes(),
        entity_id: &entity_id,
        signing_certificate: signing_certificate.as_bytes(),
    };
    let saved = connections
        .import_metadata(&caller, account, &upload, target, now())
        .await?;
    Ok(convert::connection_view(&connections, saved, None))
}

/// Creates a connection from the metadata at an https URL (Owner only), or replaces `connection_id`'s IdP
/// settings; with `monitor`, the URL is fetched again in the background to pick up new certificates.
#[server(prefix = "/api", endpoint = "sso/import-metadata-url")]
pub async fn import_metadata_url(
    account_id: String,
    label: String,
    url: String,
    #[server(default)] entity_id: String,
    #[server(default)] monitor: bool,
    #[server(default)] signing_certificate: String,
    #[server(default)] connection_id: String,
) -> Result<ConnectionView, AppError> {
    use crate::api::context::*;
    use gatehouse_core::sso::UrlImport;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let target = convert::target(&connection_id)?;
    let connections = services()?.connections.clone();
    let import = UrlImport {
        label: &label,
        url: &url,
        entity_id: &entity_id,
        monitor,
        signing_certificate: signing_certificate.as_bytes(),
    };
    let saved = connections
        .import_metadata_url(&caller, account, &import, target, now())
        .await?;
    Ok(convert::connection_view(&connections, saved, None))
}

/// Creates a connection from typed-in fields (Owner only), or replaces `connection_id`'s IdP settings;
/// `certificate` holds one or several certificates as Base64 or PEM.
#[server(prefix = "/api", endpoint = "sso/create-connection")]
pub async fn create_connection(
    account_id: String,
    label: String,
    entity_id: String,
    sso_url: String,
    #[server(default)] slo_url: String,
    certificate: String,
    #[server(default)] connection_id: String,
) -> Result<ConnectionView, AppError> {
    use crate::api::context::*;
    use gatehouse_core::sso::ManualFields;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let target = convert::target(&connection_id)?;
    let connections = services()?.connections.clone();
    let fields = ManualFields {
        label: &label,
        entity_id: &entity_id,
        sso_url: &sso_url,
        slo_url: &slo_url,
        certificates: certificate.as_bytes(),
    };
    let saved = connections
        .create_manual(&caller, account, &fields, target, now())
        .await?;
    Ok(convert::connection_view(&connections, saved, None))
}

/// Saves a connection's sign-in options (Owner or Admin; IdP-initiated sign-in, SHA-1 and the email source only by
/// the Owner).
/// Checkboxes: a switch left out of the form is off.
#[server(prefix = "/api", endpoint = "sso/connection-options")]
pub async fn save_connection_options(
    account_id: String,
    connection_id: String,
    #[server(default)] allow_idp_initiated: bool,
    #[server(default)] sign_authn_requests: bool,
    binding: String,
    authn_context: String,
    email_source: String,
    #[server(default)] email_attribute: String,
    #[server(default)] allow_sha1: bool,
    clock_skew_seconds: String,
) -> Result<(), AppError> {
    use crate::api::context::*;
    use gatehouse_core::sso::OptionsForm;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::connection_id(&connection_id)?;
    let form = OptionsForm {
        allow_idp_initiated,
        sign_authn_requests,
        binding: &binding,
        authn_context: &authn_context,
        email_source: &email_source,
        email_attribute: &email_attribute,
        allow_sha1,
        clock_skew_seconds: &clock_skew_seconds,
    };
    services()?
        .connections
        .save_options(&caller, account, id, &form, now())
        .await?;
    Ok(())
}

/// Adds one or several signing certificates to a connection (Owner only).
#[server(prefix = "/api", endpoint = "sso/add-certificates")]
pub async fn add_certificates(account_id: String, connection_id: String, certificate: String) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::connection_id(&connection_id)?;
    services()?
        .connections
        .add_certificates(&caller, account, id, certificate.as_bytes(), now())
        .await?;
    Ok(())
}

/// Removes a signing certificate, named by its SHA-256 fingerprint (Owner or Admin); the last one stays.
#[server(prefix = "/api", endpoint = "sso/remove-certificate")]
pub async fn remove_certificate(
    account_id: String,
    connection_id: String,
    fingerprint: String,
) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::connection_id(&connection_id)?;
    services()?
        .connections
        .remove_certificate(&caller, account, id, &fingerprint, now())
        .await?;
    Ok(())
}

/// One step of an SP key rotation (Owner or Admin): `prepare` publishes a new key, `activate` switches to it,
/// `discard` deletes it unused, `remove_previous` deletes the key a rotation replaced.
#[server(prefix = "/api", endpoint = "sso/sp-key")]
pub async fn change_sp_key(account_id: String, connection_id: String, step: String) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::connection_id(&connection_id)?;
    let connections = services()?.connections.clone();
    let at = now();
    match step.as_str() {
        "prepare" => connections.prepare_next_key(&caller, account, id, at).await?,
        "activate" => connections.activate_next_key(&caller, account, id, at).await?,
        "discard" => connections.discard_next_key(&caller, account, id, at).await?,
        "remove_previous" => connections.remove_previous_key(&caller, account, id, at).await?,
        _ => return Err(respond(AppError::invalid("step", "Unknown key rotation step."))),
    }
    Ok(())
}

/// Monitoring of a URL-imported connection (Owner or Admin): `on`, `off`, or `refresh` now (which answers with
/// the refresh's result).
#[server(prefix = "/api", endpoint = "sso/metadata-monitor")]
pub async fn metadata_monitor(
    account_id: String,
    connection_id: String,
    step: String,
) -> Result<Option<RefreshView>, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::connection_id(&connection_id)?;
    let connections = services()?.connections.clone();
    match step.as_str() {
        "on" | "off" => {
            connections
                .set_monitoring(&caller, account, id, step == "on", now())
                .await?;
            Ok(None)
        }
        "refresh" => {
            let refresh = connections.refresh_metadata_now(&caller, account, id, now()).await?;
            Ok(Some(RefreshView {
                at: date(refresh.at),
                outcome: refresh.outcome.as_str().into(),
                detail: refresh.detail,
            }))
        }
        _ => Err(respond(AppError::invalid("step", "Unknown monitoring step."))),
    }
}

/// Deletes a connection (Owner or Admin).
#[server(prefix = "/api", endpoint = "sso/remove-connection")]
pub async fn remove_connection(account_id: String, connection_id: String) -> Result<(), AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::connection_id(&connection_id)?;
    Ok(services()?.connections.remove(&caller, account, id, now()).await?)
}

/// The account's sign-in policy and what SSO still needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyView {
    pub sso_enabled: bool,
    pub enforce_sso: bool,
    pub no_separate_account: bool,
    pub has_verified_domain: bool,
    pub has_connection: bool,
    /// An Active domain is routed to a connection (else SSO on would send nobody to an IdP).
    pub has_routed_domain: bool,
    /// The caller may change the policy (the Owner).
    pub can_manage: bool,
    /// The caller may read the audit log (Owner and Admin).
    pub can_view_audit: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: String,
}

/// The sign-in policy; any member with a role may look.
#[server(prefix = "/api", endpoint = "sso/policy")]
pub async fn get_policy(account_id: String) -> Result<PolicyView, AppError> {
    use crate::api::context::*;
    use gatehouse_core::tenancy::Permission;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let services = services()?;
    let role = services.tenancy.membership(&caller, account).await?.role;
    let (policy, readiness) = services.policy.get(&caller, account).await?;
    Ok(PolicyView {
        sso_enabled: policy.sso_enabled,
        enforce_sso: policy.enforce_sso,
        no_separate_account: policy.no_separate_account,
        has_verified_domain: readiness.has_verified_domain,
        has_connection: readiness.has_connection,
        has_routed_domain: readiness.has_routed_domain,
        can_manage: role.allows(Permission::ManageSsoPolicy),
        can_view_audit: role.allows(Permission::ViewAudit),
    })
}

/// Saves the sign-in policy (Owner only). Checkboxes: a setting left out of the form is off.
#[server(prefix = "/api", endpoint = "sso/update-policy")]
pub async fn update_policy(
    account_id: String,
    #[server(default)] sso_enabled: bool,
    #[server(default)] enforce_sso: bool,
    #[server(default)] no_separate_account: bool,
) -> Result<(), AppError> {
    use crate::api::context::*;
    use gatehouse_core::sso::SsoPolicy;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let wanted = SsoPolicy {
        sso_enabled,
        enforce_sso,
        no_separate_account,
    };
    services()?.policy.update(&caller, account, wanted, now()).await?;
    Ok(())
}

/// One SSO event (a sign-in attempt, a Test SSO run or a sign-out), as the owner reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoEventView {
    pub at: String,
    /// `accepted`, `refused`, `test`, `signed-out` or `logout-refused`.
    pub outcome: String,
    pub connection_id: Option<String>,
    /// What the end user was shown; also the `before` of the next page.
    pub reference: String,
    pub reason: String,
    pub name_id: Option<String>,
    /// `name = values` per line.
    pub attributes: String,
    /// Where the response as received can be read, while it is kept.
    pub raw_response_url: Option<String>,
    /// What to change at the IdP, for a refusal the owner can act on.
    pub fix: Option<String>,
}

/// How many SSO events a page holds (core's `audit::SSO_EVENTS_PAGE`): a shorter page is the last one.
pub const SSO_EVENTS_PER_PAGE: usize = 25;

/// A page of SSO events, newest first, [`SSO_EVENTS_PER_PAGE`] at most; with `before` (an event's reference), the
/// page after that event (Owner and Admin).
#[server(prefix = "/api", endpoint = "sso/events")]
pub async fn sso_events(account_id: String, before: Option<String>) -> Result<Vec<SsoEventView>, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    Ok(services()?
        .audit
        .sso_events(&caller, account, before.as_deref().filter(|b| !b.is_empty()))
        .await?
        .into_iter()
        .map(|e| SsoEventView {
            at: date(e.at),
            reason: crate::refusal_reasons::event_reason(&e.outcome, e.reason, e.refusal.as_deref()),
            outcome: e.outcome,
            connection_id: e.connection_id.map(|c| c.to_string()),
            raw_response_url: e
                .raw_response
                .is_some()
                .then(|| format!("/accounts/{account}/sso/events/{}/response", e.reference)),
            reference: e.reference,
            name_id: e.name_id,
            attributes: e.attributes,
            fix: e.fix,
        })
        .collect())
}

/// The newest entries of the account's audit log (Owner and Admin).
#[server(prefix = "/api", endpoint = "sso/audit")]
pub async fn audit_log(account_id: String) -> Result<Vec<AuditEntryView>, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    Ok(services()?
        .audit
        .recent(&caller, account)
        .await?
        .into_iter()
        .map(|e| AuditEntryView {
            at: date(e.at),
            actor: e.actor_email,
            action: e.action,
            detail: e.detail,
        })
        .collect())
}

/// Replaces a connection's role mappings (Owner or Admin). Rows come as `rules[0][attribute]`,
/// `rules[0][value]`, `rules[0][role]`, …; blank rows are ignored; the first matching rule decides.
#[server(prefix = "/api", endpoint = "sso/role-mappings")]
pub async fn save_role_mappings(
    account_id: String,
    connection_id: String,
    #[server(default)] rules: Vec<RuleView>,
    default_role: String,
    #[server(default)] reapply_on_sign_in: bool,
) -> Result<(), AppError> {
    use crate::api::context::*;
    use gatehouse_core::sso::{MappingForm, RuleInput};
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let id = convert::connection_id(&connection_id)?;
    let rows: Vec<RuleInput> = rules
        .iter()
        .map(|r| RuleInput {
            attribute: &r.attribute,
            value: &r.value,
            role: &r.role,
        })
        .collect();
    let form = MappingForm {
        rows: &rows,
        default_role: &default_role,
        reapply_on_sign_in,
    };
    services()?
        .connections
        .save_role_mappings(&caller, account, id, &form, now())
        .await?;
    Ok(())
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn a_page_of_events_is_as_long_as_core_makes_it() {
        assert_eq!(
            super::SSO_EVENTS_PER_PAGE as u64,
            gatehouse_core::audit::SSO_EVENTS_PAGE
        );
    }
}
