//! The SAML HTTP-Redirect and HTTP-POST bindings (SAML bindings §3.4, §3.5) for any protocol message: encoding
//! Gatehouse's messages (raw DEFLATE, Base64, URL-encoding, and a signature over exactly
//! `SAMLRequest=…&RelayState=…&SigAlg=…` or enveloped in the XML), and decoding the IdP's, keeping the exact
//! query-string bytes its signature covers.
//!
//! The redirect encoding is written here rather than taken from samael: samael signs the destination's whole
//! query string, so an endpoint that already carries parameters (Google's `?idpid=…`) gets a signature the IdP
//! computes differently and rejects; and samael has no decoder for signed redirect messages.

use super::certificate::Certificate;
use super::message_shape::{self, ShapeError};
use super::sp_keys::PrivateKeyPem;
use super::xmlsec;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use samael::crypto::CertificateDer;
use samael::signature::{DigestAlgorithm, Signature};
use samael::traits::ToXml;
use std::io::{Read, Write};
use url::Url;
use url::form_urlencoded::byte_serialize;

pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const RSA_SHA384: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384";
const RSA_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";
const RSA_SHA1: &str = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";
/// Real protocol messages are a few kilobytes; the limit applies to the decoded (and inflated) XML.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// Which of the two SAML message parameters a message travels in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parameter {
    SamlRequest,
    SamlResponse,
}

impl Parameter {
    pub fn name(self) -> &'static str {
        match self {
            Parameter::SamlRequest => "SAMLRequest",
            Parameter::SamlResponse => "SAMLResponse",
        }
    }
}

/// The SP key that signs, with its certificate (for an enveloped signature's KeyInfo).
pub struct SigningKey<'a> {
    pub private_key: &'a PrivateKeyPem,
    pub certificate_der: &'a [u8],
}

/// Where the browser goes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    Redirect(Url),
    /// An auto-submitting form posting the Base64 `message` as `parameter`, and `relay_state`, to `action`.
    Post {
        action: Url,
        parameter: Parameter,
        message: String,
        relay_state: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    #[error("the SP key does not load: {0}")]
    Key(String),
    #[error("the message could not be written: {0}")]
    Xml(String),
}

fn encode(value: &str) -> String {
    byte_serialize(value.as_bytes()).collect()
}

fn private_key(key: &SigningKey) -> Result<PKey<Private>, BindingError> {
    key.private_key.parsed().map_err(|e| BindingError::Key(e.to_string()))
}

/// The HTTP-Redirect binding: the message deflated into the destination's query, after any parameters the
/// destination already has, and signed over exactly the SAML parameters when a key is given.
pub fn redirect(
    destination: &Url,
    parameter: Parameter,
    xml: &str,
    relay_state: &str,
    key: Option<&SigningKey>,
) -> Result<Url, BindingError> {
    let mut deflated = Vec::new();
    {
        let mut encoder = DeflateEncoder::new(&mut deflated, Compression::default());
        encoder
            .write_all(xml.as_bytes())
            .map_err(|e| BindingError::Xml(e.to_string()))?;
        encoder.finish().map_err(|e| BindingError::Xml(e.to_string()))?;
    }
    let mut signed_part = format!("{}={}", parameter.name(), encode(&STANDARD.encode(&deflated)));
    if !relay_state.is_empty() {
        signed_part.push_str(&format!("&RelayState={}", encode(relay_state)));
    }
    if let Some(key) = key {
        signed_part.push_str(&format!("&SigAlg={}", encode(RSA_SHA256)));
        let private = private_key(key)?;
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &private)
            .map_err(|e| BindingError::Key(e.to_string()))?;
        signer
            .update(signed_part.as_bytes())
            .map_err(|e| BindingError::Key(e.to_string()))?;
        let signature = signer.sign_to_vec().map_err(|e| BindingError::Key(e.to_string()))?;
        signed_part.push_str(&format!("&Signature={}", encode(&STANDARD.encode(signature))));
    }
    let mut url = destination.clone();
    let query = match url.query() {
        Some(existing) if !existing.is_empty() => format!("{existing}&{signed_part}"),
        _ => signed_part,
    };
    url.set_query(Some(&query));
    Ok(url)
}

/// An enveloped-signature template (RSA-SHA256, SHA-256 digest, exclusive canonicalisation) for the element
/// with ID `reference`, placed in a message before [`sign_enveloped`] fills it in. samael's own template digests
/// with SHA-1.
pub fn signature_template(reference: &str, certificate_der: &[u8]) -> Signature {
    let mut template = Signature::template(reference, &CertificateDer::from(certificate_der.to_vec()));
    for reference in &mut template.signed_info.reference {
        reference.digest_method.algorithm = DigestAlgorithm::Sha256;
    }
    template
}

/// [`signature_template`] as XML, for messages written as text.
pub fn signature_template_xml(reference: &str, certificate_der: &[u8]) -> Result<String, BindingError> {
    signature_template(reference, certificate_der)
        .to_string()
        .map_err(|e| BindingError::Xml(format!("{e:?}")))
}

/// Fills in the signature template a message carries, with the SP key (xmlsec, under the process-wide lock).
pub fn sign_enveloped(xml: &str, key: &SigningKey) -> Result<String, BindingError> {
    use samael::crypto::{Crypto, CryptoProvider};
    let der = private_key(key)?
        .private_key_to_der()
        .map_err(|e| BindingError::Key(e.to_string()))?;
    let _xmlsec = xmlsec::lock();
    Crypto::sign_xml(xml, &der).map_err(|e| BindingError::Xml(e.to_string()))
}

/// The HTTP-POST binding: the (already signed, when signing) message Base64-encoded into a form.
pub fn post(destination: &Url, parameter: Parameter, xml: &str, relay_state: &str) -> Outgoing {
    Outgoing::Post {
        action: destination.clone(),
        parameter,
        message: STANDARD.encode(xml.as_bytes()),
        relay_state: relay_state.to_owned(),
    }
}

/// A message as it arrived from the IdP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub parameter: Parameter,
    /// The decoded (inflated) XML.
    pub xml: String,
    pub relay_state: Option<String>,
    /// HTTP-Redirect: the signature over the query string, if the message was signed. HTTP-POST: `None`, the
    /// signature (if any) is enveloped in the XML.
    pub query_signature: Option<QuerySignature>,
}

/// A signature of the HTTP-Redirect binding, with the exact bytes it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuerySignature {
    pub algorithm: String,
    pub value: Vec<u8>,
    /// `SAMLRequest=…&RelayState=…&SigAlg=…` as received (still URL-encoded), in that order.
    pub signed_part: String,
}

/// Why a message could not even be read, or its query signature does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the request carries no SAMLRequest or SAMLResponse")]
    Missing,
    #[error("the request carries {0} more than once")]
    Repeated(&'static str),
    #[error("the {0} is not Base64")]
    NotBase64(&'static str),
    #[error("the {0} does not inflate (HTTP-Redirect messages are raw DEFLATE)")]
    NotDeflated(&'static str),
    #[error("the message is larger than {MAX_MESSAGE_BYTES} bytes")]
    TooLarge,
    #[error("the message is not UTF-8 text")]
    NotText,
    #[error("the message is refused before parsing: {0}")]
    Shape(#[from] ShapeError),
    #[error("the query has a Signature without SigAlg, or SigAlg without Signature")]
    HalfSigned,
}

fn decode_base64(value: &str, what: &'static str) -> Result<Vec<u8>, DecodeError> {
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.len() > MAX_MESSAGE_BYTES * 4 / 3 + 4 {
        return Err(DecodeError::TooLarge);
    }
    STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| DecodeError::NotBase64(what))
}

fn text(bytes: Vec<u8>) -> Result<String, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge);
    }
    let text = String::from_utf8(bytes).map_err(|_| DecodeError::NotText)?;
    message_shape::check(&text)?;
    Ok(text)
}

/// A message of the HTTP-Redirect binding from the raw query string (as received, still URL-encoded): the
/// inflated XML, and the signature with the bytes it covers. Inflating stops past the size limit.
pub fn from_redirect(raw_query: &str) -> Result<Incoming, DecodeError> {
    let mut found: [Option<&str>; 5] = [None; 5];
    const NAMES: [&str; 5] = ["SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature"];
    for pair in raw_query.split('&') {
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        if let Some(index) = NAMES.iter().position(|n| *n == name) {
            if found[index].is_some() {
                return Err(DecodeError::Repeated(NAMES[index]));
            }
            found[index] = Some(pair);
        }
    }
    let decoded = |pair: Option<&str>| {
        pair.map(|pair| {
            url::form_urlencoded::parse(pair.as_bytes())
                .next()
                .map(|(_, value)| value.into_owned())
                .unwrap_or_default()
        })
    };
    let [request, response, relay_state, algorithm, signature] = found;
    let (parameter, message_pair) = match (request, response) {
        (Some(pair), None) => (Parameter::SamlRequest, pair),
        (None, Some(pair)) => (Parameter::SamlResponse, pair),
        (None, None) => return Err(DecodeError::Missing),
        (Some(_), Some(_)) => return Err(DecodeError::Repeated("a SAML message")),
    };
    let deflated = decode_base64(&decoded(Some(message_pair)).unwrap_or_default(), parameter.name())?;
    let mut inflated = Vec::new();
    DeflateDecoder::new(deflated.as_slice())
        .take(MAX_MESSAGE_BYTES as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|_| DecodeError::NotDeflated(parameter.name()))?;
    let query_signature = match (algorithm, signature) {
        (Some(algorithm_pair), Some(_)) => {
            let signed_part = [Some(message_pair), relay_state, Some(algorithm_pair)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("&");
            Some(QuerySignature {
                algorithm: decoded(algorithm).unwrap_or_default(),
                value: decode_base64(&decoded(signature).unwrap_or_default(), "Signature")?,
                signed_part,
            })
        }
        (None, None) => None,
        _ => return Err(DecodeError::HalfSigned),
    };
    Ok(Incoming {
        parameter,
        xml: text(inflated)?,
        relay_state: decoded(relay_state),
        query_signature,
    })
}

/// A message of the HTTP-POST binding from its form fields.
pub fn from_post(parameter: Parameter, message: &str, relay_state: Option<&str>) -> Result<Incoming, DecodeError> {
    Ok(Incoming {
        parameter,
        xml: text(decode_base64(message, parameter.name())?)?,
        relay_state: relay_state.map(str::to_owned),
        query_signature: None,
    })
}

/// Why a query signature does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum QuerySignatureError {
    #[error("the signature algorithm {0} is not accepted (RSA-SHA256 or stronger)")]
    Algorithm(String),
    #[error("the signature algorithm is SHA-1, which this connection does not accept")]
    Sha1,
    #[error("the query signature does not verify with the configured certificate(s) (SHA-256 {0})")]
    Mismatch(String),
}

/// Verifies a query signature with the configured certificates only.
pub fn verify_query_signature(
    signature: &QuerySignature,
    certificates: &[Certificate],
    allow_sha1: bool,
) -> Result<(), QuerySignatureError> {
    let digest = match signature.algorithm.as_str() {
        RSA_SHA256 => MessageDigest::sha256(),
        RSA_SHA384 => MessageDigest::sha384(),
        RSA_SHA512 => MessageDigest::sha512(),
        RSA_SHA1 if allow_sha1 => MessageDigest::sha1(),
        RSA_SHA1 => return Err(QuerySignatureError::Sha1),
        other => return Err(QuerySignatureError::Algorithm(other.to_owned())),
    };
    let verifies = |certificate: &Certificate| -> Result<bool, openssl::error::ErrorStack> {
        let public = openssl::x509::X509::from_der(certificate.der())?.public_key()?;
        let mut verifier = openssl::sign::Verifier::new(digest, &public)?;
        verifier.update(signature.signed_part.as_bytes())?;
        verifier.verify(&signature.value)
    };
    if certificates.iter().any(|c| verifies(c).unwrap_or(false)) {
        Ok(())
    } else {
        Err(QuerySignatureError::Mismatch(
            certificates
                .iter()
                .map(|c| c.sha256_fingerprint.clone())
                .collect::<Vec<_>>()
                .join(", "),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ConnectionId;
    use crate::saml::sp_keys::{KeyState, SpKey};
    use chrono::Utc;

    fn key() -> SpKey {
        SpKey::generate(ConnectionId::new(), "idp.example.com", KeyState::Active, Utc::now()).unwrap()
    }

    #[test]
    fn a_signed_redirect_decodes_to_the_same_message_and_verifies_only_with_its_certificate() {
        let (signer, other) = (key(), key());
        let destination: Url = "https://sso.example.com/saml/c/slo?tenant=7".parse().unwrap();
        let xml = "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_1\"/>";
        let url = redirect(
            &destination,
            Parameter::SamlRequest,
            xml,
            "r/1 +",
            Some(&signer.signing_key()),
        )
        .unwrap();
        let incoming = from_redirect(url.query().unwrap()).unwrap();
        assert_eq!(incoming.parameter, Parameter::SamlRequest);
        assert_eq!(incoming.xml, xml);
        assert_eq!(incoming.relay_state.as_deref(), Some("r/1 +"));
        let signature = incoming.query_signature.unwrap();
        assert!(
            !signature.signed_part.contains("tenant=7"),
            "the endpoint's own parameters are not signed"
        );
        verify_query_signature(
            &signature,
            &[other.certificate.clone(), signer.certificate.clone()],
            false,
        )
        .unwrap();
        assert!(matches!(
            verify_query_signature(&signature, std::slice::from_ref(&other.certificate), false),
            Err(QuerySignatureError::Mismatch(_))
        ));

        // Any change to the signed bytes, or another algorithm claimed, breaks it.
        let tampered = url.query().unwrap().replace("RelayState=r%2F1", "RelayState=r%2F2");
        let tampered = from_redirect(&tampered).unwrap().query_signature.unwrap();
        assert!(verify_query_signature(&tampered, std::slice::from_ref(&signer.certificate), false).is_err());
        let sha1 = QuerySignature {
            algorithm: RSA_SHA1.into(),
            ..signature.clone()
        };
        assert_eq!(
            verify_query_signature(&sha1, std::slice::from_ref(&signer.certificate), false),
            Err(QuerySignatureError::Sha1)
        );
        let hmac = QuerySignature {
            algorithm: "http://www.w3.org/2000/09/xmldsig#hmac-sha1".into(),
            ..signature
        };
        assert!(matches!(
            verify_query_signature(&hmac, &[signer.certificate], true),
            Err(QuerySignatureError::Algorithm(_))
        ));
    }

    #[test]
    fn malformed_redirect_queries_are_refused_with_a_reason() {
        assert_eq!(from_redirect("RelayState=x"), Err(DecodeError::Missing));
        assert_eq!(
            from_redirect("SAMLRequest=a&SAMLRequest=b"),
            Err(DecodeError::Repeated("SAMLRequest"))
        );
        assert_eq!(
            from_redirect("SAMLRequest=%%%"),
            Err(DecodeError::NotBase64("SAMLRequest"))
        );
        assert_eq!(
            from_redirect("SAMLResponse=aGVsbG8="),
            Err(DecodeError::NotDeflated("SAMLResponse"))
        );
        let url = redirect(
            &"https://x.example/slo".parse().unwrap(),
            Parameter::SamlResponse,
            "<x/>",
            "",
            None,
        )
        .unwrap();
        assert_eq!(
            from_redirect(&format!("{}&SigAlg=x", url.query().unwrap())),
            Err(DecodeError::HalfSigned)
        );
        // A deflate bomb stops at the limit instead of filling memory.
        let mut bomb = Vec::new();
        {
            let mut encoder = DeflateEncoder::new(&mut bomb, Compression::best());
            encoder.write_all(&vec![b'a'; MAX_MESSAGE_BYTES * 4]).unwrap();
            encoder.finish().unwrap();
        }
        let query = format!("SAMLRequest={}", encode(&STANDARD.encode(bomb)));
        assert_eq!(from_redirect(&query), Err(DecodeError::TooLarge));
    }
}
