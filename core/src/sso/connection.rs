//! Connections from an account to its identity providers: created from metadata or typed-in fields, validated
//! whole before anything is saved, and the service-provider values the IdP needs in return.

use super::certificate::{Certificate, CertificateError};
use super::metadata::{
    Endpoint, HTTP_POST, HTTP_REDIRECT, IdpMetadata, MAX_ENTITY_ID, MetadataDocument, MetadataError, parse_http_url,
    parse_metadata,
};
use super::role_mapping::{MappingForm, RoleMapping, RoleMappingError, RoleMappings};
use crate::audit;
use crate::auth::Caller;
use crate::ids::{AccountId, ConnectionId};
use crate::store::{ConnectionRow, MappingRow, Store, StoreError};
use crate::tenancy::{Permission, Role, TenancyError, TenancyService};
use chrono::{DateTime, Utc};
use url::Url;

pub const MAX_LABEL: usize = 120;
/// More identity providers than any organisation runs at once (one being replaced, a second for contractors).
pub const MAX_CONNECTIONS_PER_ACCOUNT: u64 = 20;

/// Where a connection's IdP settings came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Metadata,
    Manual,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Metadata => "metadata",
            Source::Manual => "manual",
        }
    }

    pub fn from_stored(text: &str) -> Self {
        if text == "metadata" {
            Source::Metadata
        } else {
            Source::Manual
        }
    }
}

/// What Gatehouse needs to know about an identity provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpSettings {
    pub entity_id: String,
    pub sso: Endpoint,
    pub slo: Option<Endpoint>,
    /// Never empty: without a signing certificate responses cannot be verified.
    pub certificates: Vec<Certificate>,
    pub name_id_formats: Vec<String>,
}

impl IdpSettings {
    fn from_metadata(idp: IdpMetadata) -> Result<Self, ConnectionError> {
        let sso = idp
            .preferred_sso()
            .cloned()
            .ok_or_else(|| ConnectionError::Metadata(MetadataError::NoSsoEndpoint(idp.entity_id.clone())))?;
        let slo = preferred(&idp.slo).cloned();
        Ok(Self {
            entity_id: idp.entity_id,
            sso,
            slo,
            certificates: idp.signing_certificates,
            name_id_formats: idp.name_id_formats,
        })
    }
}

fn preferred(endpoints: &[Endpoint]) -> Option<&Endpoint> {
    endpoints
        .iter()
        .find(|e| e.binding == HTTP_REDIRECT)
        .or_else(|| endpoints.iter().find(|e| e.binding == HTTP_POST))
}

/// The fields an owner types when the IdP offers no metadata file.
#[derive(Clone, Debug, Default)]
pub struct ManualFields<'a> {
    pub label: &'a str,
    pub entity_id: &'a str,
    pub sso_url: &'a str,
    pub slo_url: &'a str,
    /// One or several certificates: Base64, PEM, or the bytes of a `.cer` file.
    pub certificates: &'a [u8],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub id: ConnectionId,
    pub label: String,
    pub idp: IdpSettings,
    pub source: Source,
    /// The metadata document the settings came from, as uploaded.
    pub metadata_xml: Option<String>,
    pub mappings: RoleMappings,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Connection {
    fn new(label: String, idp: IdpSettings, source: Source, metadata_xml: Option<String>, now: DateTime<Utc>) -> Self {
        Self {
            id: ConnectionId::new(),
            label,
            idp,
            source,
            metadata_xml,
            mappings: RoleMappings {
                rules: Vec::new(),
                default_role: Role::NoAccess,
                reapply_on_sign_in: false,
            },
            created_at: now,
            updated_at: now,
        }
    }
}

/// The values an IdP administrator enters for Gatehouse, for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceProviderValues {
    pub entity_id: String,
    pub acs_url: String,
    pub slo_url: String,
    pub metadata_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    #[error("{0}")]
    Metadata(#[from] MetadataError),
    #[error(
        "This file lists {} identity providers. Enter the entity ID of the one to connect: {}.",
        .0.len(),
        .0.join(", ")
    )]
    ChooseIdp(Vec<String>),
    #[error("This file does not list an identity provider with entity ID {0}.")]
    UnknownIdp(String),
    #[error("{0}")]
    Certificate(#[from] CertificateError),
    #[error("Enter the IdP's entity ID (its \"Identifier\" or \"Issuer\"), up to {MAX_ENTITY_ID} characters.")]
    InvalidEntityId,
    #[error("Enter the IdP's single sign-on URL: an https:// address.")]
    InvalidSsoUrl,
    #[error("The single logout URL must be an https:// address, or left empty.")]
    InvalidSloUrl,
    #[error("Give the connection a name of 1 to {MAX_LABEL} characters, such as \"Entra ID\".")]
    InvalidLabel,
    #[error("This account already has a connection to the IdP {0}. Edit or remove that one instead.")]
    DuplicateIdp(String),
    #[error("An account can have at most {MAX_CONNECTIONS_PER_ACCOUNT} connections; remove one you no longer use.")]
    TooMany,
    #[error("This connection does not exist (it may have been removed).")]
    NotFound,
    #[error("{0}")]
    RoleMappings(#[from] RoleMappingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct ConnectionService {
    store: Store,
    tenancy: TenancyService,
    public_url: Url,
}

impl ConnectionService {
    pub fn new(store: Store, tenancy: TenancyService, public_url: Url) -> Self {
        Self {
            store,
            tenancy,
            public_url,
        }
    }

    /// The account's connections with their role mappings; any member who may view the account may look.
    pub async fn list(&self, caller: &Caller, account: AccountId) -> Result<Vec<Connection>, ConnectionError> {
        self.tenancy.require(caller, account, Permission::ViewAccount).await?;
        let mut connections = Vec::new();
        for row in self.store.connections_of_account(account).await? {
            let rules = self.store.role_mappings(row.id).await?;
            connections.push(connection_of_row(row, rules)?);
        }
        Ok(connections)
    }

    /// Replaces a connection's role mappings (Owner or Admin): rules tried in order, the first match deciding,
    /// a default role for everyone else, and whether to apply them again at every sign-in.
    pub async fn save_role_mappings(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        form: &MappingForm<'_>,
        now: DateTime<Utc>,
    ) -> Result<RoleMappings, ConnectionError> {
        self.tenancy
            .require(caller, account, Permission::ManageConnections)
            .await?;
        let mappings = form.parse()?;
        let reapply_on_sign_in = mappings.reapply_on_sign_in;
        let stored: Vec<MappingRow> = mappings
            .rules
            .iter()
            .map(|r| MappingRow {
                attribute_name: r.attribute.clone(),
                attribute_value: r.value.clone(),
                role: r.role.as_str().to_owned(),
            })
            .collect();
        let summary: Vec<String> = mappings
            .rules
            .iter()
            .map(|r| format!("{} = {} → {}", r.attribute, r.value, r.role))
            .chain([format!("otherwise → {}", mappings.default_role)])
            .chain(reapply_on_sign_in.then(|| "re-applied at every sign-in".to_owned()))
            .collect();
        let entry = audit::entry(account, caller, now, "Role mappings changed", summary.join("; "));
        let saved = self
            .store
            .replace_role_mappings(
                account,
                id,
                &stored,
                default_role_text(&mappings),
                reapply_on_sign_in,
                &entry,
            )
            .await?;
        if saved {
            Ok(mappings)
        } else {
            Err(ConnectionError::NotFound)
        }
    }

    /// Creates a connection from an IdP metadata document. For an aggregate listing several IdPs, `entity_id`
    /// names the one to connect.
    pub async fn import_metadata(
        &self,
        caller: &Caller,
        account: AccountId,
        label: &str,
        document: &[u8],
        entity_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        self.tenancy
            .require(caller, account, Permission::ManageConnections)
            .await?;
        let label = checked_label(label)?;
        let idp = match parse_metadata(document)? {
            MetadataDocument::Single(idp) => idp,
            MetadataDocument::Aggregate(idps) => match entity_id.map(str::trim).filter(|e| !e.is_empty()) {
                None => {
                    return Err(ConnectionError::ChooseIdp(
                        idps.into_iter().map(|i| i.entity_id).collect(),
                    ));
                }
                Some(wanted) => idps
                    .into_iter()
                    .find(|i| i.entity_id == wanted)
                    .ok_or_else(|| ConnectionError::UnknownIdp(wanted.to_owned()))?,
            },
        };
        let settings = IdpSettings::from_metadata(idp)?;
        let metadata_xml = String::from_utf8_lossy(document).into_owned();
        let connection = Connection::new(label, settings, Source::Metadata, Some(metadata_xml), now);
        self.save_new(caller, account, connection).await
    }

    /// Creates a connection from typed-in fields; every field is checked before anything is saved.
    pub async fn create_manual(
        &self,
        caller: &Caller,
        account: AccountId,
        fields: &ManualFields<'_>,
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        self.tenancy
            .require(caller, account, Permission::ManageConnections)
            .await?;
        let label = checked_label(fields.label)?;
        let entity_id = fields.entity_id.trim();
        if entity_id.is_empty() || entity_id.chars().count() > MAX_ENTITY_ID || entity_id.chars().any(char::is_control)
        {
            return Err(ConnectionError::InvalidEntityId);
        }
        let sso_url = parse_http_url(fields.sso_url.trim()).ok_or(ConnectionError::InvalidSsoUrl)?;
        let slo_url = match fields.slo_url.trim() {
            "" => None,
            text => Some(parse_http_url(text).ok_or(ConnectionError::InvalidSloUrl)?),
        };
        let certificates = Certificate::parse_all(fields.certificates)?;
        let settings = IdpSettings {
            entity_id: entity_id.to_owned(),
            sso: Endpoint {
                binding: HTTP_REDIRECT.to_owned(),
                location: sso_url,
            },
            slo: slo_url.map(|location| Endpoint {
                binding: HTTP_REDIRECT.to_owned(),
                location,
            }),
            certificates,
            name_id_formats: Vec::new(),
        };
        let connection = Connection::new(label, settings, Source::Manual, None, now);
        self.save_new(caller, account, connection).await
    }

    /// Deletes a connection.
    pub async fn remove(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<(), ConnectionError> {
        self.tenancy
            .require(caller, account, Permission::ManageConnections)
            .await?;
        let removed = self
            .store
            .connections_of_account(account)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(ConnectionError::NotFound)?;
        let detail = format!("{} ({})", removed.label, removed.idp_entity_id);
        let entry = audit::entry(account, caller, now, "Connection removed", detail);
        if self.store.delete_connection(account, id, &entry).await? {
            Ok(())
        } else {
            Err(ConnectionError::NotFound)
        }
    }

    /// Entity ID, ACS, SLO and metadata URLs of Gatehouse for this connection, under the public URL.
    pub fn service_provider_values(&self, id: ConnectionId) -> ServiceProviderValues {
        let at = |leaf: &str| {
            let mut url = self.public_url.clone();
            url.path_segments_mut()
                .expect("the public URL is an http(s) URL")
                .pop_if_empty()
                .extend(["saml", &id.to_string(), leaf]);
            url.to_string()
        };
        ServiceProviderValues {
            entity_id: at("metadata"),
            acs_url: at("acs"),
            slo_url: at("slo"),
            metadata_url: at("metadata"),
        }
    }

    async fn save_new(
        &self,
        caller: &Caller,
        account: AccountId,
        connection: Connection,
    ) -> Result<Connection, ConnectionError> {
        if self.store.count_connections(account).await? >= MAX_CONNECTIONS_PER_ACCOUNT {
            return Err(ConnectionError::TooMany);
        }
        let how = match connection.source {
            Source::Metadata => "from IdP metadata",
            Source::Manual => "entered by hand",
        };
        let detail = format!("{} ({}), {how}", connection.label, connection.idp.entity_id);
        let entry = audit::entry(account, caller, connection.created_at, "Connection added", detail);
        match self
            .store
            .insert_connection(&row_of(account, &connection), &entry)
            .await
        {
            Ok(()) => Ok(connection),
            Err(e) if e.is_unique_violation() => Err(ConnectionError::DuplicateIdp(connection.idp.entity_id)),
            Err(e) => Err(e.into()),
        }
    }
}

fn checked_label(label: &str) -> Result<String, ConnectionError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > MAX_LABEL || label.chars().any(char::is_control) {
        return Err(ConnectionError::InvalidLabel);
    }
    Ok(label.to_owned())
}

fn row_of(account: AccountId, c: &Connection) -> ConnectionRow {
    ConnectionRow {
        id: c.id,
        account_id: account,
        label: c.label.clone(),
        idp_entity_id: c.idp.entity_id.clone(),
        sso_url: c.idp.sso.location.to_string(),
        sso_binding: c.idp.sso.binding.clone(),
        slo_url: c.idp.slo.as_ref().map(|e| e.location.to_string()),
        slo_binding: c.idp.slo.as_ref().map(|e| e.binding.clone()),
        certificates: c.idp.certificates.iter().map(Certificate::to_base64).collect(),
        name_id_formats: c.idp.name_id_formats.clone(),
        source: c.source.as_str().to_owned(),
        metadata_xml: c.metadata_xml.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        default_role: default_role_text(&c.mappings).to_owned(),
        reapply_roles: c.mappings.reapply_on_sign_in,
    }
}

fn default_role_text(mappings: &RoleMappings) -> &'static str {
    mappings.default_role.as_str()
}

/// A stored role; an unknown value (a damaged row) reads as No access, which grants nothing.
fn stored_role(text: &str) -> Role {
    text.parse().unwrap_or(Role::NoAccess)
}

/// Rebuilds a saved connection; the certificates were checked when saved, so a failure here is a damaged row.
fn connection_of_row(row: ConnectionRow, rules: Vec<MappingRow>) -> Result<Connection, ConnectionError> {
    let damaged = |what: &str| StoreError::Damaged(format!("connection {} has an unreadable {what}", row.id));
    let endpoint = |url: &str, binding: &str| {
        Some(Endpoint {
            binding: binding.to_owned(),
            location: parse_http_url(url)?,
        })
    };
    let sso = endpoint(&row.sso_url, &row.sso_binding).ok_or_else(|| damaged("SSO URL"))?;
    let slo = match (&row.slo_url, &row.slo_binding) {
        (Some(url), Some(binding)) => Some(endpoint(url, binding).ok_or_else(|| damaged("SLO URL"))?),
        _ => None,
    };
    let certificates = row
        .certificates
        .iter()
        .map(|c| Certificate::from_base64(c))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| damaged("certificate"))?;
    Ok(Connection {
        id: row.id,
        label: row.label,
        idp: IdpSettings {
            entity_id: row.idp_entity_id,
            sso,
            slo,
            certificates,
            name_id_formats: row.name_id_formats,
        },
        source: Source::from_stored(&row.source),
        metadata_xml: row.metadata_xml,
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
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}
