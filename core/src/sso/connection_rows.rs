//! Connections to and from their stored rows; a stored value that no longer reads is a damaged row.

use super::connection::{Connection, IdpSettings, MetadataOrigin, MetadataRefresh, RefreshOutcome, Source};
use super::options::{ConnectionOptions, EmailSource};
use super::role_mapping::{RoleMapping, RoleMappings};
use crate::ids::{AccountId, ConnectionId};
use crate::saml::certificate::Certificate;
use crate::saml::keys_at_rest::{KeyAtRestError, KeyEncryptionKey, KeyRow};
use crate::saml::metadata::{Endpoint, parse_http_url};
use crate::saml::sp_keys::{KeyState, PrivateKeyPem, SpKey};
use crate::saml::{AuthnContext, RequestBinding};
use crate::store::{ConnectionRow, MappingRow, OptionsRow, RefreshRow, RefreshedIdpRow, SpKeyRow, StoreError};
use crate::tenancy::Role;

pub(super) fn row_of(account: AccountId, c: &Connection) -> ConnectionRow {
    let sso = c.sso_endpoint();
    ConnectionRow {
        id: c.id,
        account_id: account,
        label: c.label.clone(),
        idp_entity_id: c.idp.entity_id.clone(),
        sso_url: sso.location.to_string(),
        sso_binding: sso.binding.clone(),
        slo_url: c.idp.slo.as_ref().map(|e| e.location.to_string()),
        slo_binding: c.idp.slo.as_ref().map(|e| e.binding.clone()),
        certificates: c.idp.certificates.iter().map(Certificate::to_base64).collect(),
        signing_valid_until: Some(c.idp.valid_until()),
        name_id_formats: c.idp.name_id_formats.clone(),
        source: c.source.as_str().to_owned(),
        metadata_xml: c.origin.xml.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        default_role: c.mappings.default_role.as_str().to_owned(),
        reapply_roles: c.mappings.reapply_on_sign_in,
        sso_endpoints: c
            .idp
            .sso_endpoints
            .iter()
            .map(|e| format!("{} {}", e.binding, e.location))
            .collect(),
        options: OptionsRow {
            allow_idp_initiated: c.options.allow_idp_initiated,
            sign_authn_requests: c.options.sign_authn_requests,
            requested_authn_context: c.options.authn_context.as_str().to_owned(),
            email_attribute: c.options.email.as_stored().to_owned(),
            allow_sha1: c.options.allow_sha1,
            clock_skew_seconds: c.options.clock_skew_seconds as i32,
        },
        metadata_url: c.origin.url.as_ref().map(ToString::to_string),
        monitor_metadata: c.origin.monitor,
        metadata_signing_certificate: c.origin.signing_certificate.as_ref().map(Certificate::to_base64),
        metadata_refresh_due_at: c.origin.refresh_due_at,
    }
}

/// The values a metadata refresh saves: the IdP's alone.
pub(super) fn refreshed_row_of(idp: &IdpSettings, metadata_xml: String) -> RefreshedIdpRow {
    RefreshedIdpRow {
        idp_entity_id: idp.entity_id.clone(),
        sso_endpoints: idp
            .sso_endpoints
            .iter()
            .map(|e| (e.binding.clone(), e.location.to_string()))
            .collect(),
        slo_url: idp.slo.as_ref().map(|e| e.location.to_string()),
        slo_binding: idp.slo.as_ref().map(|e| e.binding.clone()),
        certificates: idp.certificates.iter().map(Certificate::to_base64).collect(),
        signing_valid_until: idp.valid_until(),
        name_id_formats: idp.name_id_formats.clone(),
        metadata_xml,
    }
}

pub(super) fn key_row(
    connection: ConnectionId,
    key: &SpKey,
    key_encryption: &KeyEncryptionKey,
) -> Result<SpKeyRow, KeyAtRestError> {
    Ok(SpKeyRow {
        id: key.id,
        connection_id: connection,
        state: key.state.as_str().to_owned(),
        sealed_private_key: key
            .private_key
            .stored(key.row(connection), key_encryption)?
            .into_owned(),
        certificate: key.certificate.to_base64(),
        created_at: key.created_at,
        valid_until: Some(key.certificate.not_after),
    })
}

/// A stored role; an unknown value (a damaged row) reads as No access, which grants nothing.
fn stored_role(text: &str) -> Role {
    text.parse().unwrap_or(Role::NoAccess)
}

/// Rebuilds a saved connection; everything was checked when saved, so a failure here is a damaged row. Its SP
/// private keys stay sealed until they are first used.
pub(super) fn connection_of_row(
    row: ConnectionRow,
    rules: Vec<MappingRow>,
    keys: Vec<SpKeyRow>,
    refreshes: Vec<RefreshRow>,
    key_encryption: &KeyEncryptionKey,
) -> Result<Connection, StoreError> {
    let damaged = |what: &str| StoreError::Damaged(format!("connection {} has an unreadable {what}", row.id));
    let endpoint = |url: &str, binding: &str| {
        Some(Endpoint {
            binding: binding.to_owned(),
            location: parse_http_url(url)?,
        })
    };
    let sso_endpoints = row
        .sso_endpoints
        .iter()
        .map(|line| {
            let (binding, url) = line.split_once(' ')?;
            endpoint(url, binding)
        })
        .collect::<Option<Vec<_>>>()
        .filter(|endpoints| !endpoints.is_empty())
        .ok_or_else(|| damaged("SSO endpoint"))?;
    let slo = match (&row.slo_url, &row.slo_binding) {
        (Some(url), Some(binding)) => Some(endpoint(url, binding).ok_or_else(|| damaged("SLO URL"))?),
        _ => None,
    };
    let certificate = |text: &str| Certificate::from_base64(text).map_err(|_| damaged("certificate"));
    let certificates = row
        .certificates
        .iter()
        .map(|c| certificate(c))
        .collect::<Result<Vec<_>, _>>()?;
    let options = ConnectionOptions {
        allow_idp_initiated: row.options.allow_idp_initiated,
        sign_authn_requests: row.options.sign_authn_requests,
        binding: RequestBinding::of_urn(&row.sso_binding).ok_or_else(|| damaged("binding"))?,
        authn_context: AuthnContext::ALL
            .into_iter()
            .find(|c| c.as_str() == row.options.requested_authn_context)
            .ok_or_else(|| damaged("authentication context"))?,
        email: EmailSource::from_stored(&row.options.email_attribute),
        allow_sha1: row.options.allow_sha1,
        clock_skew_seconds: u32::try_from(row.options.clock_skew_seconds).map_err(|_| damaged("clock skew"))?,
    };
    let sp_keys = keys
        .into_iter()
        .map(|k| {
            Ok(SpKey {
                id: k.id,
                state: KeyState::from_stored(&k.state).ok_or_else(|| damaged("key state"))?,
                certificate: certificate(&k.certificate)?,
                private_key: PrivateKeyPem::sealed(
                    k.sealed_private_key,
                    KeyRow {
                        connection: k.connection_id,
                        key: k.id,
                    },
                    key_encryption.clone(),
                ),
                created_at: k.created_at,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let origin = MetadataOrigin {
        xml: row.metadata_xml,
        url: match &row.metadata_url {
            Some(url) => Some(url.parse().map_err(|_| damaged("metadata URL"))?),
            None => None,
        },
        monitor: row.monitor_metadata,
        signing_certificate: row
            .metadata_signing_certificate
            .as_deref()
            .map(certificate)
            .transpose()?,
        refresh_due_at: row.metadata_refresh_due_at,
    };
    Ok(Connection {
        id: row.id,
        label: row.label,
        idp: IdpSettings {
            entity_id: row.idp_entity_id,
            sso_endpoints,
            slo,
            certificates,
            name_id_formats: row.name_id_formats,
        },
        options,
        source: Source::from_stored(&row.source),
        origin,
        mappings: RoleMappings {
            rules: rules
                .into_iter()
                .map(|r| RoleMapping {
                    attribute: r.attribute_name,
                    value: r.attribute_value,
                    role: stored_role(&r.role),
                })
                .collect(),
            default_role: stored_role(&row.default_role),
            reapply_on_sign_in: row.reapply_roles,
        },
        sp_keys,
        refreshes: refreshes
            .into_iter()
            .map(|r| MetadataRefresh {
                at: r.at,
                outcome: RefreshOutcome::from_stored(&r.outcome),
                detail: r.detail,
            })
            .collect(),
        certificate_uses: Default::default(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
