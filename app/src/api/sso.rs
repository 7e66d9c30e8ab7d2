//! An account's identity-provider connections: import metadata, enter fields, remove; and the values the IdP needs.

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
}

/// The values to enter at the IdP for one connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceProviderView {
    pub entity_id: String,
    pub acs_url: String,
    pub slo_url: String,
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
    pub certificates: Vec<CertificateView>,
    pub name_id_formats: Vec<String>,
    pub service_provider: ServiceProviderView,
    pub mappings: MappingsView,
    pub created: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionsPage {
    pub connections: Vec<ConnectionView>,
    /// The caller may create and remove connections (Owner or Admin).
    pub can_manage: bool,
}

#[cfg(feature = "ssr")]
mod convert {
    use super::*;
    use crate::api::context::{date, now};
    use gatehouse_core::sso::{Certificate, Connection, ConnectionService, Source, Validity};

    fn binding_label(binding: &str) -> String {
        binding.rsplit(':').next().unwrap_or(binding).to_owned()
    }

    fn certificate_view(c: &Certificate) -> CertificateView {
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
        }
    }

    pub fn connection_view(service: &ConnectionService, c: Connection) -> ConnectionView {
        let sp = service.service_provider_values(c.id);
        ConnectionView {
            id: c.id.to_string(),
            label: c.label,
            source: match c.source {
                Source::Metadata => "From IdP metadata".into(),
                Source::Manual => "Entered by hand".into(),
            },
            idp_entity_id: c.idp.entity_id,
            sso_url: c.idp.sso.location.to_string(),
            sso_binding: binding_label(&c.idp.sso.binding),
            slo_url: c.idp.slo.map(|e| e.location.to_string()),
            certificates: c.idp.certificates.iter().map(certificate_view).collect(),
            name_id_formats: c.idp.name_id_formats,
            service_provider: ServiceProviderView {
                entity_id: sp.entity_id,
                acs_url: sp.acs_url,
                slo_url: sp.slo_url,
            },
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
            created: date(c.created_at),
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

/// The account's connections with their certificates and the values for the IdP; any member with a role may look.
#[server(prefix = "/api", endpoint = "sso/connections")]
pub async fn list_connections(account_id: String) -> Result<ConnectionsPage, AppError> {
    use crate::api::context::*;
    use gatehouse_core::tenancy::Permission;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let services = services()?;
    let role = services.tenancy.membership(&caller, account).await?.role;
    let connections = services.connections.list(&caller, account).await?;
    Ok(ConnectionsPage {
        connections: connections
            .into_iter()
            .map(|c| convert::connection_view(&services.connections, c))
            .collect(),
        can_manage: role.allows(Permission::ManageConnections),
    })
}

/// Creates a connection from an IdP metadata document (Owner or Admin). `entity_id` picks one IdP from a file
/// that lists several.
#[server(prefix = "/api", endpoint = "sso/import-metadata")]
pub async fn import_metadata(
    account_id: String,
    label: String,
    metadata: String,
    #[server(default)] entity_id: String,
) -> Result<ConnectionView, AppError> {
    use crate::api::context::*;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let connections = services()?.connections;
    let created = connections
        .import_metadata(&caller, account, &label, metadata.as_bytes(), Some(&entity_id), now())
        .await?;
    Ok(convert::connection_view(&connections, created))
}

/// Creates a connection from typed-in fields (Owner or Admin); `certificate` holds one or several certificates
/// as Base64 or PEM.
#[server(prefix = "/api", endpoint = "sso/create-connection")]
pub async fn create_connection(
    account_id: String,
    label: String,
    entity_id: String,
    sso_url: String,
    #[server(default)] slo_url: String,
    certificate: String,
) -> Result<ConnectionView, AppError> {
    use crate::api::context::*;
    use gatehouse_core::sso::ManualFields;
    let caller = caller().await?;
    let account = parse_account_id(&account_id)?;
    let connections = services()?.connections;
    let fields = ManualFields {
        label: &label,
        entity_id: &entity_id,
        sso_url: &sso_url,
        slo_url: &slo_url,
        certificates: certificate.as_bytes(),
    };
    let created = connections.create_manual(&caller, account, &fields, now()).await?;
    Ok(convert::connection_view(&connections, created))
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
