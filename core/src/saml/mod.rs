//! The SAML 2.0 protocol in plain Rust, with no database and no services: reading an IdP's metadata and checking
//! its signature, Gatehouse's own SP metadata and key pairs, the AuthnRequest, the HTTP-Redirect and HTTP-POST
//! bindings, the rules one Response or logout message meets, the caches of parsed keys that make checking cheap,
//! and the one lock every call into libxml2 and xmlsec takes. Every function takes the current time and the
//! trusted certificates as arguments.

pub mod authn_request;
pub mod binding;
pub mod certificate;
pub mod keys_at_rest;
pub mod logout;
pub mod message_shape;
pub mod metadata;
pub mod metadata_signature;
pub mod response;
pub mod sp_keys;
pub mod sp_metadata;
mod verification_keys;
pub mod xmlsec;

pub use authn_request::{AuthnContext, RequestBinding};
pub use certificate::{Certificate, CertificateError, Validity};
pub use keys_at_rest::{KeyAtRestError, KeyEncryptionKey};
pub use metadata::{Endpoint, IdpMetadata, MetadataDocument, MetadataError, parse_metadata};
pub use sp_keys::{KeyState, SpKey};
pub use sp_metadata::ServiceProviderValues;
