//! The HTTP-Redirect binding: a raw query string as the SLO endpoint receives it, decoded by `from_redirect`
//! (URL decoding, Base64, DEFLATE, the query signature's parts), then the logout rules with the query signature.

use gatehouse_core::saml::binding::{Parameter, from_redirect, redirect};
use gatehouse_core::saml::logout::{validate_logout_request, validate_logout_response};

fn main() {
    let expected = gatehouse_fuzz::logout_expectations();
    let destination = url::Url::parse(gatehouse_fuzz::SLO).unwrap();
    afl::fuzz!(|data: &[u8]| {
        let Ok(query) = std::str::from_utf8(data) else {
            return;
        };
        let Ok(incoming) = from_redirect(query) else {
            return;
        };
        // What was decoded travels again unchanged: encoding and decoding are inverse.
        let relay_state = incoming.relay_state.as_deref().unwrap_or_default();
        let again = redirect(&destination, incoming.parameter, &incoming.xml, relay_state, None).unwrap();
        let decoded = from_redirect(again.query().unwrap()).expect("an encoded message decodes");
        assert_eq!(decoded.xml, incoming.xml);
        assert_eq!(decoded.parameter, incoming.parameter);
        if !relay_state.is_empty() {
            assert_eq!(decoded.relay_state.as_deref(), Some(relay_state));
        }
        match incoming.parameter {
            Parameter::SamlRequest => {
                let _ = validate_logout_request(&incoming, &expected);
            }
            Parameter::SamlResponse => {
                let _ = validate_logout_response(&incoming, &expected);
            }
        }
    });
}
