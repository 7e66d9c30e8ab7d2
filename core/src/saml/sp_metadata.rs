//! The SAML metadata document that describes Gatehouse, as the service provider of one connection, to its IdP.

use super::metadata::{HTTP_POST, HTTP_REDIRECT};
use super::sp_keys::SpKey;
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{EncryptionMethod, Endpoint, EntityDescriptor, IndexedEndpoint, KeyDescriptor, SpSsoDescriptor};
use samael::traits::ToXml;

/// The values an IdP administrator enters for Gatehouse, for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceProviderValues {
    pub entity_id: String,
    pub acs_url: String,
    pub slo_url: String,
    pub metadata_url: String,
    /// Starts SP-initiated sign-in through this connection (Entra's "Sign on URL", IdP portal tiles).
    pub sign_on_url: String,
}

const EMAIL_NAME_ID: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const PERSISTENT_NAME_ID: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
/// What Gatehouse decrypts: AES-GCM and AES-CBC content, RSA-OAEP key transport.
const ENCRYPTION_METHODS: [&str; 4] = [
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
];

/// The `EntityDescriptor` for one connection: ACS (HTTP-POST), SLO (both bindings), the NameID formats
/// Gatehouse reads, and a signing and an encryption `KeyDescriptor` for each published key (the active one and,
/// during a rotation, the next).
pub fn sp_metadata_xml(values: &ServiceProviderValues, keys: &[SpKey], sign_authn_requests: bool) -> String {
    let mut published: Vec<&SpKey> = keys.iter().filter(|k| k.state.is_published()).collect();
    published.sort_by_key(|k| k.state);
    let key_descriptor = |key: &SpKey, key_use: &str, methods: Option<Vec<EncryptionMethod>>| KeyDescriptor {
        key_use: Some(key_use.to_owned()),
        key_info: KeyInfo {
            id: None,
            x509_data: Some(X509Data {
                certificates: vec![key.certificate.to_base64()],
            }),
        },
        encryption_methods: methods,
    };
    let encryption_methods = || {
        ENCRYPTION_METHODS
            .iter()
            .map(|algorithm| EncryptionMethod {
                algorithm: (*algorithm).to_owned(),
            })
            .collect()
    };
    let key_descriptors = published
        .iter()
        .flat_map(|key| {
            [
                key_descriptor(key, "signing", None),
                key_descriptor(key, "encryption", Some(encryption_methods())),
            ]
        })
        .collect();
    let slo = |binding: &str| Endpoint {
        binding: binding.to_owned(),
        location: values.slo_url.clone(),
        response_location: None,
    };
    let descriptor = EntityDescriptor {
        entity_id: Some(values.entity_id.clone()),
        sp_sso_descriptors: Some(vec![SpSsoDescriptor {
            protocol_support_enumeration: Some("urn:oasis:names:tc:SAML:2.0:protocol".to_owned()),
            authn_requests_signed: Some(sign_authn_requests),
            want_assertions_signed: Some(true),
            key_descriptors: Some(key_descriptors),
            single_logout_services: Some(vec![slo(HTTP_REDIRECT), slo(HTTP_POST)]),
            name_id_formats: Some(vec![EMAIL_NAME_ID.to_owned(), PERSISTENT_NAME_ID.to_owned()]),
            assertion_consumer_services: vec![IndexedEndpoint {
                binding: HTTP_POST.to_owned(),
                location: values.acs_url.clone(),
                response_location: None,
                index: 0,
                is_default: Some(true),
            }],
            ..SpSsoDescriptor::default()
        }]),
        ..EntityDescriptor::default()
    };
    descriptor
        .to_string()
        .expect("an EntityDescriptor built from plain strings always serialises")
}
