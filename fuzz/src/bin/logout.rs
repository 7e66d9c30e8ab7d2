//! An IdP's LogoutRequest or LogoutResponse as the HTTP-POST binding delivers it (the XML after Base64), through
//! every rule of `validate_logout_request` and `validate_logout_response`.

use gatehouse_core::saml::binding::{Incoming, Parameter};
use gatehouse_core::saml::logout::{validate_logout_request, validate_logout_response};

fn main() {
    let expected = gatehouse_fuzz::logout_expectations();
    afl::fuzz!(|data: &[u8]| {
        let Ok(xml) = std::str::from_utf8(data) else {
            return;
        };
        let incoming = |parameter| Incoming {
            parameter,
            xml: xml.to_owned(),
            relay_state: None,
            query_signature: None,
        };
        if let Ok(request) = validate_logout_request(&incoming(Parameter::SamlRequest), &expected) {
            assert!(!request.name_id.is_empty());
        }
        if let Ok(response) = validate_logout_response(&incoming(Parameter::SamlResponse), &expected) {
            assert!(!response.in_response_to.is_empty());
        }
    });
}
