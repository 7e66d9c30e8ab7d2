//! A certificate as an owner pastes or uploads it (PEM, one or several blocks; bare Base64; a binary DER file),
//! and the Base64 of a metadata `X509Certificate` element.

use gatehouse_core::saml::Certificate;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(certificates) = Certificate::parse_all(data) {
            for certificate in certificates {
                // What is shown and stored reads back as the same certificate.
                let again = Certificate::parse_all(certificate.to_pem().as_bytes()).expect("its own PEM reads back");
                assert_eq!(again, vec![certificate.clone()]);
                assert_eq!(
                    Certificate::from_base64(&certificate.to_base64()).as_ref(),
                    Ok(&certificate)
                );
                let _ = certificate.validity(gatehouse_fuzz::now());
            }
        }
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = Certificate::from_base64(text);
        }
    });
}
