//! The ACS: a SAML Response as posted (after Base64), through every rule of `validate_response` for a connection
//! that trusts the test IdP's key and decrypts with the SP key the seeds were encrypted for.

use gatehouse_core::saml::response::validate_response;

fn main() {
    let expected = gatehouse_fuzz::response_expectations();
    afl::fuzz!(|data: &[u8]| {
        if let Ok(assertion) = validate_response(data, &expected) {
            assert!(!assertion.name_id.is_empty());
            assert!(assertion.valid_until + expected.clock_skew > expected.now);
        }
    });
}
