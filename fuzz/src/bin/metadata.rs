//! IdP metadata as an owner uploads it or a refresh downloads it: any bytes, read by `parse_metadata`.

use gatehouse_core::saml::{MetadataDocument, parse_metadata};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(document) = parse_metadata(data) {
            let idps = match document {
                MetadataDocument::Single(idp) => vec![idp],
                MetadataDocument::Aggregate(idps) => idps,
            };
            for idp in idps {
                // What a connection is made of must be usable as it is.
                assert!(!idp.entity_id.is_empty());
                assert!(!idp.signing_certificates.is_empty());
                assert!(idp.preferred_sso().is_some());
            }
        }
    });
}
