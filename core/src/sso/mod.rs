//! Single sign-on as a service of the account: its connections to identity providers (created, monitored,
//! replaced), the sign-in policy, signing users in at the ACS and out again, Test SSO, and what junk may cost.
//! The SAML protocol itself is in [`crate::saml`].

pub mod certificate_lifecycle;
mod certificate_uses;
pub mod connection;
mod connection_rows;
pub mod explanation;
pub mod idp_product;
pub mod junk;
mod kept_connections;
mod key_rotation;
pub mod metadata_fetch;
pub mod metadata_monitor;
pub mod options;
pub mod policy;
pub mod refusal;
pub mod role_mapping;
pub mod sign_in;
pub mod single_logout;
pub mod stored_keys;
pub mod test_sso;

pub use connection::{
    Connection, ConnectionError, ConnectionService, IdpChoice, IdpSettings, ManualFields, MetadataOrigin,
    MetadataRefresh, MetadataUpload, RefreshOutcome, Source,
};
pub use metadata_fetch::{FetchError, FetchPolicy};
pub use metadata_monitor::{RefreshReport, UrlImport};
pub use options::{ConnectionOptions, EmailSource, OptionsForm};
pub use policy::{PolicyError, PolicyService, Readiness, SsoPolicy};
pub use role_mapping::{MappingForm, RoleMapping, RoleMappingError, RoleMappings, RuleInput};
pub use stored_keys::StoredKeysError;
