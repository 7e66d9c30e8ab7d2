//! Checks a metadata document's own XML signature against the federation certificate the owner supplied, and
//! keeps only what that signature covers.

use super::certificate::Certificate;
use super::verification_keys;
use samael::crypto::{AllowedSignatureAlgorithm, CryptoError, ReduceMode};

/// SHA-256 and stronger: the same floor as for responses.
const ALLOWED: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "The metadata is not signed, but a federation signing certificate is configured. Use the signed metadata, or remove the certificate."
    )]
    Unsigned,
    #[error(
        "The metadata's signature does not verify with the federation certificate (SHA-256 {0}). The file was changed after signing, or it was signed with another certificate."
    )]
    Invalid(String),
    #[error(
        "The metadata's signature is refused before verification: {0}. Metadata signatures refer to the signed element by its ID and use exclusive canonicalisation; ask the publisher for a standard signed file."
    )]
    Disallowed(String),
}

/// Verifies the document's signature with `certificate` only (never a key carried in the document), with
/// SHA-256 or stronger, and returns the signed element as a document of its own: data outside the signature
/// (a wrapped or appended `EntityDescriptor`) is dropped rather than trusted. xmlsec is C and CPU-bound:
/// call this off the async runtime.
pub fn verified_content(document: &str, certificate: &Certificate) -> Result<String, SignatureError> {
    let document = document.trim_start_matches('\u{feff}');
    if !document.contains("SignatureValue") {
        return Err(SignatureError::Unsigned);
    }
    verification_keys::reduce_to_signed(
        document,
        std::slice::from_ref(certificate),
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(&ALLOWED),
    )
    .map_err(|e| match e {
        CryptoError::DisallowedSignature { reason } => SignatureError::Disallowed(reason),
        _ => SignatureError::Invalid(certificate.sha256_fingerprint.clone()),
    })
}
