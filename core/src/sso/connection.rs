//! Connections from an account to its identity providers: created from metadata or typed-in fields, validated
//! whole before anything is saved, and the service-provider values the IdP needs in return.

use super::connection_rows::{connection_of_row, key_row, row_of};
use super::idp_product::default_label;
use super::metadata_fetch::{FetchError, FetchPolicy, MetadataFetcher};
use super::options::{ConnectionOptions, OptionsError, OptionsForm};
use super::role_mapping::{MappingForm, RoleMappingError, RoleMappings};
use super::test_sso::TestSummary;
use crate::audit;
use crate::auth::Caller;
use crate::ids::{AccountId, ConnectionId};
use crate::saml::certificate::{Certificate, CertificateError};
use crate::saml::keys_at_rest::KeyEncryptionKey;
use crate::saml::metadata::{
    Endpoint, HTTP_POST, HTTP_REDIRECT, IdpMetadata, MAX_ENTITY_ID, MetadataDocument, MetadataError, parse_http_url,
    parse_metadata,
};
use crate::saml::metadata_signature::{SignatureError, verified_content};
use crate::saml::sp_keys::{KeyState, SpKey, SpKeyError};
use crate::saml::sp_metadata::sp_metadata_xml;
use crate::saml::{RequestBinding, ServiceProviderValues};
use crate::store::{AuditRow, ConnectionRow, MappingRow, RefreshRow, SpKeyRow, Store, StoreError};
use crate::tenancy::{Permission, Role, TenancyError, TenancyService};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use url::Url;

pub const MAX_LABEL: usize = 120;
/// More identity providers than any organisation runs at once (one being replaced, a second for contractors).
pub const MAX_CONNECTIONS_PER_ACCOUNT: u64 = 20;

/// Where a connection's IdP settings came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Metadata,
    MetadataUrl,
    Manual,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Metadata => "metadata",
            Source::MetadataUrl => "url",
            Source::Manual => "manual",
        }
    }

    pub fn from_stored(text: &str) -> Self {
        match text {
            "metadata" => Source::Metadata,
            "url" => Source::MetadataUrl,
            _ => Source::Manual,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Source::Metadata => "from IdP metadata",
            Source::MetadataUrl => "from a metadata URL",
            Source::Manual => "entered by hand",
        }
    }
}

/// What Gatehouse needs to know about an identity provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpSettings {
    pub entity_id: String,
    /// The SSO endpoints Gatehouse can send requests to (HTTP-Redirect and HTTP-POST), preferred first.
    pub sso_endpoints: Vec<Endpoint>,
    pub slo: Option<Endpoint>,
    /// Never empty: without a signing certificate responses cannot be verified.
    pub certificates: Vec<Certificate>,
    pub name_id_formats: Vec<String>,
}

impl IdpSettings {
    fn from_metadata(idp: IdpMetadata) -> Result<Self, ConnectionError> {
        let mut sso_endpoints: Vec<Endpoint> = [HTTP_REDIRECT, HTTP_POST]
            .iter()
            .filter_map(|binding| idp.sso.iter().find(|e| e.binding == *binding).cloned())
            .collect();
        sso_endpoints.dedup();
        if sso_endpoints.is_empty() {
            return Err(ConnectionError::Metadata(MetadataError::NoSsoEndpoint(idp.entity_id)));
        }
        let slo = preferred(&idp.slo).cloned();
        Ok(Self {
            entity_id: idp.entity_id,
            sso_endpoints,
            slo,
            certificates: idp.signing_certificates,
            name_id_formats: idp.name_id_formats,
        })
    }

    /// The endpoint for a binding, when the IdP offers it.
    pub fn sso(&self, binding: RequestBinding) -> Option<&Endpoint> {
        self.sso_endpoints.iter().find(|e| e.binding == binding.urn())
    }

    fn preferred_sso(&self) -> &Endpoint {
        &self.sso_endpoints[0]
    }

    /// The IdP's endpoints at plain `http://` addresses, each named ("sign-in URL http://…"). They are accepted,
    /// as some IdPs in closed networks use them, but whoever sits on the network path can read or change the
    /// messages, so the page warns about each.
    pub fn plain_http_endpoints(&self) -> Vec<String> {
        let sign_in = self.sso_endpoints.iter().map(|e| ("sign-in URL", e));
        let logout = self.slo.iter().map(|e| ("logout URL", e));
        let mut named: Vec<String> = sign_in
            .chain(logout)
            .filter(|(_, e)| e.location.scheme() == "http")
            .map(|(what, e)| format!("{what} {}", e.location))
            .collect();
        named.dedup();
        named
    }

    /// When the last of the signing certificates expires: from then on no response verifies with a certificate
    /// in date (they still verify; the dates only warn).
    pub fn valid_until(&self) -> DateTime<Utc> {
        self.certificates
            .iter()
            .map(|c| c.not_after)
            .max()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// What changed from `before`, in words for the audit log and the refresh history.
    pub fn changes_from(&self, before: &IdpSettings) -> Vec<String> {
        let mut changes = Vec::new();
        if self.entity_id != before.entity_id {
            changes.push(format!("entity ID {} → {}", before.entity_id, self.entity_id));
        }
        let urls = |endpoints: &[Endpoint]| endpoints.iter().map(|e| e.location.to_string()).collect::<Vec<_>>();
        if urls(&self.sso_endpoints) != urls(&before.sso_endpoints) {
            changes.push(format!("sign-on URL {}", urls(&self.sso_endpoints).join(", ")));
        }
        if self.slo != before.slo {
            let url = self.slo.as_ref().map_or("none".to_owned(), |e| e.location.to_string());
            changes.push(format!("logout URL {url}"));
        }
        let fingerprints =
            |certs: &[Certificate]| certs.iter().map(|c| c.sha256_fingerprint.clone()).collect::<Vec<_>>();
        let (old, new) = (fingerprints(&before.certificates), fingerprints(&self.certificates));
        for added in new.iter().filter(|f| !old.contains(f)) {
            changes.push(format!("certificate added (SHA-256 {added})"));
        }
        for removed in old.iter().filter(|f| !new.contains(f)) {
            changes.push(format!("certificate removed (SHA-256 {removed})"));
        }
        changes
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

/// A metadata document as uploaded or pasted.
#[derive(Clone, Debug, Default)]
pub struct MetadataUpload<'a> {
    pub label: &'a str,
    pub document: &'a [u8],
    /// Picks one IdP from an aggregate; ignored for a single-IdP document.
    pub entity_id: &'a str,
    /// The federation certificate the document must be signed with; empty when the owner gave none.
    pub signing_certificate: &'a [u8],
}

/// Where the metadata came from, and whether Gatehouse keeps watching it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetadataOrigin {
    /// The document the settings came from, as received.
    pub xml: Option<String>,
    pub url: Option<Url>,
    /// Refresh from `url` in the background.
    pub monitor: bool,
    /// The certificate every version of the document must be signed with.
    pub signing_certificate: Option<Certificate>,
    pub refresh_due_at: Option<DateTime<Utc>>,
}

/// One background fetch of a monitored metadata URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataRefresh {
    pub at: DateTime<Utc>,
    pub outcome: RefreshOutcome,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    Updated,
    Unchanged,
    /// The download or the document was bad; the saved configuration was kept.
    Failed,
}

impl RefreshOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshOutcome::Updated => "updated",
            RefreshOutcome::Unchanged => "unchanged",
            RefreshOutcome::Failed => "failed",
        }
    }

    pub fn from_stored(text: &str) -> Self {
        match text {
            "updated" => RefreshOutcome::Updated,
            "unchanged" => RefreshOutcome::Unchanged,
            _ => RefreshOutcome::Failed,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub id: ConnectionId,
    pub label: String,
    pub idp: IdpSettings,
    pub options: ConnectionOptions,
    pub source: Source,
    pub origin: MetadataOrigin,
    pub mappings: RoleMappings,
    /// Gatehouse's own key pairs for this connection.
    pub sp_keys: Vec<SpKey>,
    /// Newest first; only for monitored metadata URLs.
    pub refreshes: Vec<MetadataRefresh>,
    /// When each signing certificate (by SHA-256 fingerprint) last verified a sign-in; read for the owner's
    /// pages only.
    pub certificate_uses: BTreeMap<String, DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Connection {
    /// Where AuthnRequests go: the endpoint for the chosen binding.
    pub fn sso_endpoint(&self) -> &Endpoint {
        self.idp
            .sso(self.options.binding)
            .unwrap_or_else(|| self.idp.preferred_sso())
    }
}

/// One IdP of an aggregate metadata document, as the owner chooses among them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdpChoice {
    pub entity_id: String,
    pub display_name: Option<String>,
    /// Where its sign-ins would go: the endpoint Gatehouse would use.
    pub sign_on_url: Url,
}

impl IdpChoice {
    fn of(idp: &IdpMetadata) -> Option<Self> {
        Some(Self {
            entity_id: idp.entity_id.clone(),
            display_name: idp.display_name.clone(),
            sign_on_url: idp.preferred_sso()?.location.clone(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
    #[error("{0}")]
    Metadata(#[from] MetadataError),
    #[error("This file lists {} identity providers. Choose the one to connect.", .0.len())]
    ChooseIdp(Vec<IdpChoice>),
    #[error("This file does not list an identity provider with entity ID {0}.")]
    UnknownIdp(String),
    #[error("{0}")]
    Certificate(#[from] CertificateError),
    #[error("Federation certificate: {0}")]
    SigningCertificate(CertificateError),
    #[error("{0}")]
    Signature(#[from] SignatureError),
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("Enter the IdP's entity ID (its \"Identifier\" or \"Issuer\"), up to {MAX_ENTITY_ID} characters.")]
    InvalidEntityId,
    #[error("Enter the IdP's single sign-on URL: an https:// address.")]
    InvalidSsoUrl,
    #[error("The single logout URL must be an https:// address, or left empty.")]
    InvalidSloUrl,
    #[error(
        "A connection's name is at most {MAX_LABEL} characters, on one line; leave it empty to name it after the IdP."
    )]
    InvalidLabel,
    #[error("This account already has a connection to the IdP {0}. Edit or remove that one instead.")]
    DuplicateIdp(String),
    #[error("An account can have at most {MAX_CONNECTIONS_PER_ACCOUNT} connections; remove one you no longer use.")]
    TooMany,
    #[error("Another identity provider was connected to this account at the same moment. Reload the page to see it.")]
    AddedMeanwhile,
    #[error("This connection does not exist (it may have been removed).")]
    NotFound,
    #[error("{0}")]
    RoleMappings(#[from] RoleMappingError),
    #[error("{0}")]
    Options(#[from] OptionsError),
    #[error("The connection already has this certificate (SHA-256 {0}).")]
    DuplicateCertificate(String),
    #[error(
        "The connection already has every signing certificate of this metadata; the IdP has not published a new one yet."
    )]
    NoNewCertificate,
    #[error("This metadata does not give a certificate to add: {0}")]
    PastedMetadata(String),
    #[error("This metadata describes the IdP {found}, not this connection's IdP {expected}.")]
    MetadataOfOtherIdp { found: String, expected: String },
    #[error("This is the connection's only signing certificate. Add the new one first, then remove this one.")]
    LastCertificate,
    #[error("The connection has no certificate with SHA-256 fingerprint {0}.")]
    UnknownCertificate(String),
    #[error("{0}")]
    KeyRotation(&'static str),
    #[error("This connection was not imported from a metadata URL; import one to have it refreshed.")]
    NotMonitorable,
    /// A blocking task (key generation, XML signature checks) did not finish.
    #[error("{0}")]
    Worker(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SpKeyError> for ConnectionError {
    fn from(error: SpKeyError) -> Self {
        ConnectionError::Store(StoreError::Damaged(error.to_string()))
    }
}

#[derive(Clone)]
pub struct ConnectionService {
    pub(super) store: Store,
    pub(super) tenancy: TenancyService,
    public_url: Url,
    pub(super) fetcher: MetadataFetcher,
    pub(super) refresh_interval: Duration,
    pub(super) key_encryption: KeyEncryptionKey,
}

impl ConnectionService {
    pub fn new(
        store: Store,
        tenancy: TenancyService,
        public_url: Url,
        fetch_policy: FetchPolicy,
        refresh_interval: Duration,
        key_encryption: KeyEncryptionKey,
    ) -> Self {
        Self {
            store,
            tenancy,
            public_url,
            fetcher: MetadataFetcher::new(fetch_policy),
            refresh_interval,
            key_encryption,
        }
    }

    /// The account's connections with their role mappings, keys and refresh history; any member who may view
    /// the account may look, and a setup link's holder.
    pub async fn list(&self, caller: &Caller, account: AccountId) -> Result<Vec<Connection>, ConnectionError> {
        self.tenancy.require(caller, account, Permission::ViewSsoSetup).await?;
        let mut connections = Vec::new();
        for row in self.store.connections_of_account(account).await? {
            connections.push(self.assemble(row).await?);
        }
        Ok(connections)
    }

    /// The last Test SSO run of each of the account's connections that was tested, with when it ran; part of the
    /// SSO set-up, as the connections are.
    pub async fn last_tests(
        &self,
        caller: &Caller,
        account: AccountId,
    ) -> Result<Vec<(ConnectionId, DateTime<Utc>, TestSummary)>, ConnectionError> {
        self.tenancy.require(caller, account, Permission::ViewSsoSetup).await?;
        Ok(self.store.last_tests(account).await?)
    }

    /// One connection of the account, after checking `permission`.
    pub(super) async fn load(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        permission: Permission,
    ) -> Result<Connection, ConnectionError> {
        self.tenancy.require(caller, account, permission).await?;
        let row = self
            .store
            .connection(account, id)
            .await?
            .ok_or(ConnectionError::NotFound)?;
        self.assemble(row).await
    }

    pub(super) async fn assemble(&self, row: ConnectionRow) -> Result<Connection, ConnectionError> {
        let id = row.id;
        let refreshes = self.store.metadata_refreshes(id).await?;
        let mut connection = self.assemble_with(row, refreshes).await?;
        connection.certificate_uses = self.store.certificate_uses(id).await?.into_iter().collect();
        Ok(connection)
    }

    /// A connection as sign-in and single logout read it: without the metadata document and its refresh history,
    /// which only the owner's pages show (instances keep such connections in memory, and a document can be large).
    pub(super) async fn assemble_for_messages(&self, row: ConnectionRow) -> Result<Connection, ConnectionError> {
        let mut connection = self.assemble_with(row, Vec::new()).await?;
        connection.origin.xml = None;
        Ok(connection)
    }

    async fn assemble_with(
        &self,
        row: ConnectionRow,
        refreshes: Vec<RefreshRow>,
    ) -> Result<Connection, ConnectionError> {
        let rules = self.store.role_mappings(row.id).await?;
        let keys = self.store.sp_keys(row.id).await?;
        Ok(connection_of_row(row, rules, keys, refreshes, &self.key_encryption)?)
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
                mappings.default_role.as_str(),
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

    /// Creates a connection from an IdP metadata document, or with `target`, replaces that connection's IdP
    /// settings (keeping its id, options, keys and role mappings); the Owner's alone, as it widens trust. For an
    /// aggregate listing several IdPs, `entity_id` names the one to connect.
    pub async fn import_metadata(
        &self,
        caller: &Caller,
        account: AccountId,
        upload: &MetadataUpload<'_>,
        target: Option<ConnectionId>,
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        self.tenancy.require(caller, account, Permission::ManageTrust).await?;
        let label = checked_label(upload.label)?;
        let signing_certificate = signing_certificate(upload.signing_certificate)?;
        let (idp, xml) = read_document(upload.document.to_vec(), upload.entity_id, signing_certificate.clone()).await?;
        let origin = MetadataOrigin {
            xml: Some(xml),
            signing_certificate,
            ..MetadataOrigin::default()
        };
        self.save_settings(caller, account, target, label, idp, Source::Metadata, origin, now)
            .await
    }

    /// Creates a connection from typed-in fields, or with `target` replaces that connection's IdP settings (the
    /// Owner's alone); every field is checked before anything is saved.
    pub async fn create_manual(
        &self,
        caller: &Caller,
        account: AccountId,
        fields: &ManualFields<'_>,
        target: Option<ConnectionId>,
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        self.tenancy.require(caller, account, Permission::ManageTrust).await?;
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
        // IdPs take requests in both bindings at the one URL they show for manual set-up.
        let sso_endpoints = [HTTP_REDIRECT, HTTP_POST]
            .map(|binding| Endpoint {
                binding: binding.to_owned(),
                location: sso_url.clone(),
            })
            .to_vec();
        let idp = IdpSettings {
            entity_id: entity_id.to_owned(),
            sso_endpoints,
            slo: slo_url.map(|location| Endpoint {
                binding: HTTP_REDIRECT.to_owned(),
                location,
            }),
            certificates,
            name_id_formats: Vec::new(),
        };
        self.save_settings(
            caller,
            account,
            target,
            label,
            idp,
            Source::Manual,
            MetadataOrigin::default(),
            now,
        )
        .await
    }

    /// Saves validated IdP settings: as a new connection (with options suited to the IdP and a fresh SP key
    /// pair), or over the IdP settings of `target`, keeping everything else about it. Without a `label`, a new
    /// connection is named after its IdP and a replaced one keeps its name.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn save_settings(
        &self,
        caller: &Caller,
        account: AccountId,
        target: Option<ConnectionId>,
        label: Option<String>,
        idp: IdpSettings,
        source: Source,
        origin: MetadataOrigin,
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        let Some(id) = target else {
            let label = label.unwrap_or_else(|| default_label(&idp.entity_id, idp.preferred_sso().location.as_str()));
            return self.insert_new(caller, account, label, idp, source, origin, now).await;
        };
        let before = self.load(caller, account, id, Permission::ManageTrust).await?;
        let label = label.unwrap_or_else(|| before.label.clone());
        let mut options = before.options.clone();
        if idp.sso(options.binding).is_none() {
            options.binding = RequestBinding::of_urn(&idp.preferred_sso().binding).unwrap_or(RequestBinding::Redirect);
        }
        let mut changes = idp.changes_from(&before.idp);
        if label != before.label {
            changes.insert(0, format!("name {} → {label}", before.label));
        }
        if source != before.source {
            changes.push(format!("now {}", source.describe()));
        }
        if changes.is_empty() {
            changes.push("no change".to_owned());
        }
        let updated = Connection {
            label,
            idp,
            options,
            source,
            origin,
            updated_at: now,
            ..before
        };
        let detail = format!("{}: {}", updated.label, changes.join("; "));
        let entry = audit::entry(account, caller, now, "Connection settings replaced", detail);
        self.write(&updated, account, &entry).await?;
        Ok(updated)
    }

    /// Saves a changed connection; a unique violation means another connection of the account has its IdP.
    pub(super) async fn write(
        &self,
        connection: &Connection,
        account: AccountId,
        entry: &AuditRow,
    ) -> Result<(), ConnectionError> {
        match self.store.update_connection(&row_of(account, connection), entry).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ConnectionError::NotFound),
            Err(e) if e.is_unique_violation() => Err(ConnectionError::DuplicateIdp(connection.idp.entity_id.clone())),
            Err(e) => Err(e.into()),
        }
    }

    /// Why a new connection was refused as taken: the account has this IdP already, or another first connection
    /// took the account's first connection id at the same moment.
    async fn refused_as_taken(&self, account: AccountId, entity_id: String) -> ConnectionError {
        match self.store.connections_of_account(account).await {
            Ok(rows) if !rows.iter().any(|row| row.idp_entity_id == entity_id) => ConnectionError::AddedMeanwhile,
            Ok(_) => ConnectionError::DuplicateIdp(entity_id),
            Err(e) => e.into(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_new(
        &self,
        caller: &Caller,
        account: AccountId,
        label: String,
        idp: IdpSettings,
        source: Source,
        origin: MetadataOrigin,
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        let existing = self.store.count_connections(account).await?;
        if existing >= MAX_CONNECTIONS_PER_ACCOUNT {
            return Err(ConnectionError::TooMany);
        }
        let id = if existing == 0 {
            ConnectionId::first_of(account)
        } else {
            ConnectionId::new()
        };
        let key = self.generate_key(id, KeyState::Active, now).await?;
        let connection = Connection {
            id,
            label,
            options: ConnectionOptions::defaults_for(&idp.entity_id, idp.preferred_sso()),
            idp,
            source,
            origin,
            mappings: RoleMappings {
                rules: Vec::new(),
                default_role: Role::NoAccess,
                reapply_on_sign_in: false,
            },
            sp_keys: vec![key],
            refreshes: Vec::new(),
            certificate_uses: BTreeMap::new(),
            created_at: now,
            updated_at: now,
        };
        let detail = format!(
            "{} ({}), {}",
            connection.label,
            connection.idp.entity_id,
            connection.source.describe()
        );
        let entry = audit::entry(account, caller, now, "Connection added", detail);
        let keys = connection
            .sp_keys
            .iter()
            .map(|k| key_row(id, k, &self.key_encryption))
            .collect::<Result<Vec<SpKeyRow>, _>>()
            .map_err(SpKeyError::from)?;
        match self
            .store
            .insert_connection(&row_of(account, &connection), &keys, &entry)
            .await
        {
            Ok(()) => {}
            Err(e) if e.is_unique_violation() => {
                return Err(self.refused_as_taken(account, connection.idp.entity_id).await);
            }
            Err(e) => return Err(e.into()),
        }
        // Only the Owner adds connections (or a setup link the Owner made), so the first one may take the Active
        // domains nobody routed yet: with a single IdP that is what the Owner means, and a domain set to password
        // sign-in stays so.
        let why = match caller.setup_link {
            Some(_) => "the account's only identity provider, added through the Owner's setup link",
            None => "the account's only identity provider, added by the Owner",
        };
        self.store
            .route_undecided_to_sole_connection(account, None, &caller.actor(), why, now)
            .await?;
        Ok(connection)
    }

    /// A new SP key pair for the connection, generated off the async runtime.
    pub(super) async fn generate_key(
        &self,
        id: ConnectionId,
        state: KeyState,
        now: DateTime<Utc>,
    ) -> Result<SpKey, ConnectionError> {
        let host = self.public_url.host_str().unwrap_or("gatehouse").to_owned();
        let key_encryption = self.key_encryption.clone();
        let key =
            tokio::task::spawn_blocking(move || SpKey::generate(id, &host, state, now)?.sealed(id, &key_encryption))
                .await
                .map_err(|e| ConnectionError::Worker(format!("key generation stopped: {e}")))??;
        Ok(key)
    }

    /// Saves the connection's sign-in options (Owner or Admin; switching IdP-initiated sign-in or SHA-1, or where
    /// the email comes from, is the Owner's alone).
    pub async fn save_options(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        form: &OptionsForm<'_>,
        now: DateTime<Utc>,
    ) -> Result<ConnectionOptions, ConnectionError> {
        let before = self.load(caller, account, id, Permission::ManageConnections).await?;
        let options = form.parse(&before.idp.sso_endpoints)?;
        self.tenancy
            .require(caller, account, options.permission_to_change_from(&before.options))
            .await?;
        let changes = options.changes_from(&before.options);
        if changes.is_empty() {
            return Ok(options);
        }
        let detail = format!("{}: {}", before.label, changes.join("; "));
        let entry = audit::entry(account, caller, now, "Connection options changed", detail);
        let updated = Connection {
            options: options.clone(),
            updated_at: now,
            ..before
        };
        self.write(&updated, account, &entry).await?;
        Ok(options)
    }

    /// Adds signing certificates (an IdP's next certificate, before it rolls over), pasted as certificates or as
    /// the IdP's metadata; the Owner's alone: whoever holds a trusted certificate's key can sign in anyone of the
    /// connection's domains.
    pub async fn add_certificates(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        input: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        let before = self.load(caller, account, id, Permission::ManageTrust).await?;
        let mut idp = before.idp.clone();
        if input.trim_ascii_start().starts_with(b"<") {
            // The IdP's metadata, pasted or uploaded: its signing certificates the connection does not have yet,
            // read under the same rules (and federation certificate) as an import.
            let (offered, _) = read_document(
                input.to_vec(),
                &before.idp.entity_id,
                before.origin.signing_certificate.clone(),
            )
            .await
            .map_err(|e| ConnectionError::PastedMetadata(e.to_string()))?;
            if offered.entity_id != before.idp.entity_id {
                return Err(ConnectionError::MetadataOfOtherIdp {
                    found: offered.entity_id,
                    expected: before.idp.entity_id,
                });
            }
            let count = idp.certificates.len();
            for certificate in offered.certificates {
                if !idp.certificates.contains(&certificate) {
                    idp.certificates.push(certificate);
                }
            }
            if idp.certificates.len() == count {
                return Err(ConnectionError::NoNewCertificate);
            }
        } else {
            for certificate in Certificate::parse_all(input)? {
                if idp.certificates.contains(&certificate) {
                    return Err(ConnectionError::DuplicateCertificate(certificate.sha256_fingerprint));
                }
                idp.certificates.push(certificate);
            }
        }
        self.change_certificates(caller, account, before, idp, now).await
    }

    /// Removes one signing certificate, named by its SHA-256 fingerprint; the last one stays. Owner or Admin:
    /// it only narrows trust.
    pub async fn remove_certificate(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        fingerprint: &str,
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        let before = self.load(caller, account, id, Permission::ManageConnections).await?;
        let mut idp = before.idp.clone();
        let count = idp.certificates.len();
        idp.certificates.retain(|c| c.sha256_fingerprint != fingerprint.trim());
        if idp.certificates.len() == count {
            return Err(ConnectionError::UnknownCertificate(fingerprint.trim().to_owned()));
        }
        if idp.certificates.is_empty() {
            return Err(ConnectionError::LastCertificate);
        }
        self.change_certificates(caller, account, before, idp, now).await
    }

    async fn change_certificates(
        &self,
        caller: &Caller,
        account: AccountId,
        before: Connection,
        idp: IdpSettings,
        now: DateTime<Utc>,
    ) -> Result<Connection, ConnectionError> {
        let detail = format!("{}: {}", before.label, idp.changes_from(&before.idp).join("; "));
        let entry = audit::entry(account, caller, now, "Certificates changed", detail);
        let updated = Connection {
            idp,
            updated_at: now,
            ..before
        };
        self.write(&updated, account, &entry).await?;
        Ok(updated)
    }

    /// Deletes a connection (Owner or Admin: it only narrows trust); its domains go back to password sign-in.
    pub async fn remove(
        &self,
        caller: &Caller,
        account: AccountId,
        id: ConnectionId,
        now: DateTime<Utc>,
    ) -> Result<(), ConnectionError> {
        let removed = self.load(caller, account, id, Permission::ManageConnections).await?;
        let detail = format!("{} ({})", removed.label, removed.idp.entity_id);
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
            sign_on_url: at("login"),
        }
    }

    /// The SP metadata document of a connection, for anyone who has its URL (IdPs fetch it unauthenticated);
    /// `None` when there is no such connection.
    pub async fn service_provider_metadata(&self, id: ConnectionId) -> Result<Option<String>, ConnectionError> {
        let Some(row) = self.store.connection_by_id(id).await? else {
            return Ok(None);
        };
        let connection = self.assemble(row).await?;
        Ok(Some(sp_metadata_xml(
            &self.service_provider_values(id),
            &connection.sp_keys,
            connection.options.sign_authn_requests,
        )))
    }
}

/// Parses a metadata document into IdP settings, after checking its signature when a federation certificate is
/// given (then only the signed content is read). Returns the settings and the document as text.
pub(super) async fn read_document(
    document: Vec<u8>,
    entity_id: &str,
    signing_certificate: Option<Certificate>,
) -> Result<(IdpSettings, String), ConnectionError> {
    let entity_id = entity_id.trim().to_owned();
    tokio::task::spawn_blocking(move || {
        let text = String::from_utf8_lossy(&document).into_owned();
        let trusted = match &signing_certificate {
            // A too-large or non-text document is refused by the parser before any XML-DSig work.
            Some(certificate) => {
                parse_metadata(&document)?;
                verified_content(&text, certificate)?
            }
            None => text.clone(),
        };
        let idp = match parse_metadata(trusted.as_bytes())? {
            MetadataDocument::Single(idp) => idp,
            MetadataDocument::Aggregate(idps) if entity_id.is_empty() => {
                return Err(ConnectionError::ChooseIdp(
                    idps.iter().filter_map(IdpChoice::of).collect(),
                ));
            }
            MetadataDocument::Aggregate(idps) => idps
                .into_iter()
                .find(|i| i.entity_id == entity_id)
                .ok_or(ConnectionError::UnknownIdp(entity_id))?,
        };
        Ok((IdpSettings::from_metadata(idp)?, text))
    })
    .await
    .map_err(|e| ConnectionError::Worker(format!("reading the metadata stopped: {e}")))?
}

/// The optional federation certificate of a metadata import.
pub(super) fn signing_certificate(input: &[u8]) -> Result<Option<Certificate>, ConnectionError> {
    if input.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let mut certificates = Certificate::parse_all(input).map_err(ConnectionError::SigningCertificate)?;
    Ok(Some(certificates.swap_remove(0)))
}

/// The name the owner gave, if any: an empty one is left to the IdP (see [`default_label`]).
pub(super) fn checked_label(label: &str) -> Result<Option<String>, ConnectionError> {
    let label = label.trim();
    if label.chars().count() > MAX_LABEL || label.chars().any(char::is_control) {
        return Err(ConnectionError::InvalidLabel);
    }
    Ok(Some(label.to_owned()).filter(|l| !l.is_empty()))
}
