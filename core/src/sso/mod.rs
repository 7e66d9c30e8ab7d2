//! Single sign-on with SAML 2.0: what an account's identity provider is, as read from its metadata or typed in.

pub mod certificate;
pub mod connection;
pub mod metadata;
pub mod policy;
pub mod role_mapping;

pub use certificate::{Certificate, CertificateError, Validity};
pub use connection::{
    Connection, ConnectionError, ConnectionService, IdpSettings, ManualFields, ServiceProviderValues, Source,
};
pub use metadata::{Endpoint, IdpMetadata, MetadataDocument, MetadataError, parse_metadata};
pub use policy::{PolicyError, PolicyService, Readiness, SsoPolicy};
pub use role_mapping::{MappingForm, RoleMapping, RoleMappingError, RoleMappings, RuleInput};
