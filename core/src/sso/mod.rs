//! Single sign-on with SAML 2.0: what an account's identity provider is, as read from its metadata or typed in,
//! and what Gatehouse tells the IdP about itself.

pub mod authn_request;
pub mod binding;
pub mod certificate;
pub mod connection;
mod connection_rows;
pub mod idp_product;
pub mod junk;
mod kept;
mod key_rotation;
pub mod keys_at_rest;
pub mod logout;
pub mod message_shape;
pub mod metadata;
pub mod metadata_fetch;
pub mod metadata_monitor;
pub mod metadata_signature;
pub mod options;
pub mod policy;
pub mod response;
pub mod role_mapping;
pub mod sign_in;
pub mod single_logout;
pub mod sp_keys;
pub mod sp_metadata;
pub mod test_sso;
mod verification_keys;

pub use certificate::{Certificate, CertificateError, Validity};
pub use connection::{
    Connection, ConnectionError, ConnectionService, IdpChoice, IdpSettings, ManualFields, MetadataOrigin,
    MetadataRefresh, MetadataUpload, RefreshOutcome, ServiceProviderValues, Source,
};
pub use keys_at_rest::{KeyAtRestError, KeyEncryptionKey};
pub use metadata::{Endpoint, IdpMetadata, MetadataDocument, MetadataError, parse_metadata};
pub use metadata_fetch::{FetchError, FetchPolicy};
pub use metadata_monitor::{RefreshReport, UrlImport};
pub use options::{AuthnContext, ConnectionOptions, EmailSource, OptionsForm, RequestBinding};
pub use policy::{PolicyError, PolicyService, Readiness, SsoPolicy};
pub use role_mapping::{MappingForm, RoleMapping, RoleMappingError, RoleMappings, RuleInput};
pub use sp_keys::{KeyState, SpKey};
