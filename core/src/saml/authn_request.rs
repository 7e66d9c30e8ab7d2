//! The AuthnRequest Gatehouse sends to a connection's IdP, in the binding the connection uses (HTTP-Redirect or
//! HTTP-POST, see [`super::binding`]).

use super::binding::{self, BindingError, Parameter, sign_enveloped, signature_template};
pub use super::binding::{Outgoing, SigningKey};
use super::metadata::{HTTP_POST, HTTP_REDIRECT};
use chrono::{DateTime, Utc};
use samael::schema::{AuthnContextClassRef, AuthnRequest, Issuer, NameIdPolicy, RequestedAuthnContext};
use samael::traits::ToXml;
use url::Url;

const HTTP_POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const EMAIL_NAME_ID: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

/// What one AuthnRequest says.
#[derive(Clone, Debug)]
pub struct RequestParams<'a> {
    /// Unique, and starting with a letter or underscore (an XML ID).
    pub id: &'a str,
    pub now: DateTime<Utc>,
    /// The IdP's SSO endpoint for the binding used.
    pub destination: &'a Url,
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub authn_context: AuthnContext,
    pub binding: RequestBinding,
    /// An opaque reference to the pending request; never a URL.
    pub relay_state: &'a str,
}

fn request(params: &RequestParams) -> AuthnRequest {
    AuthnRequest {
        id: params.id.to_owned(),
        version: "2.0".to_owned(),
        issue_instant: params.now,
        destination: Some(params.destination.to_string()),
        issuer: Some(Issuer {
            value: Some(params.sp_entity_id.to_owned()),
            ..Issuer::default()
        }),
        name_id_policy: Some(NameIdPolicy {
            format: Some(EMAIL_NAME_ID.to_owned()),
            sp_name_qualifier: None,
            allow_create: Some(true),
        }),
        requested_authn_context: params.authn_context.class_ref().map(|class| RequestedAuthnContext {
            authn_context_class_refs: Some(vec![AuthnContextClassRef {
                value: Some(class.to_owned()),
            }]),
            authn_context_decl_refs: None,
            comparison: None,
        }),
        assertion_consumer_service_url: Some(params.acs_url.to_owned()),
        protocol_binding: Some(HTTP_POST_BINDING.to_owned()),
        ..AuthnRequest::default()
    }
}

/// Builds the request and the browser's next step.
pub fn outgoing(params: &RequestParams, key: Option<&SigningKey>) -> Result<Outgoing, BindingError> {
    let mut request = request(params);
    let xml_error = |e: Box<dyn std::error::Error>| BindingError::Xml(e.to_string());
    match params.binding {
        RequestBinding::Redirect => {
            let xml = request.to_string().map_err(xml_error)?;
            binding::redirect(
                params.destination,
                Parameter::SamlRequest,
                &xml,
                params.relay_state,
                key,
            )
            .map(Outgoing::Redirect)
        }
        RequestBinding::Post => {
            let xml = match key {
                Some(key) => {
                    request.signature = Some(signature_template(params.id, key.certificate_der));
                    sign_enveloped(&request.to_string().map_err(xml_error)?, key)?
                }
                None => request.to_string().map_err(xml_error)?,
            };
            Ok(binding::post(
                params.destination,
                Parameter::SamlRequest,
                &xml,
                params.relay_state,
            ))
        }
    }
}

/// The `RequestedAuthnContext` an AuthnRequest carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthnContext {
    /// No requirement: the IdP decides how users authenticate (MFA included).
    #[default]
    None,
    PasswordProtectedTransport,
    /// Kerberos / integrated Windows authentication, as ADFS and Entra offer on corporate networks.
    IntegratedWindows,
}

impl AuthnContext {
    pub const ALL: [AuthnContext; 3] = [
        AuthnContext::None,
        AuthnContext::PasswordProtectedTransport,
        AuthnContext::IntegratedWindows,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthnContext::None => "none",
            AuthnContext::PasswordProtectedTransport => "password_protected_transport",
            AuthnContext::IntegratedWindows => "integrated_windows",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AuthnContext::None => "None (the IdP decides)",
            AuthnContext::PasswordProtectedTransport => "Password over a protected transport",
            AuthnContext::IntegratedWindows => "Integrated Windows authentication",
        }
    }

    /// The SAML authentication-context class reference requested, if any.
    pub fn class_ref(self) -> Option<&'static str> {
        match self {
            AuthnContext::None => None,
            AuthnContext::PasswordProtectedTransport => {
                Some("urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport")
            }
            AuthnContext::IntegratedWindows => Some("urn:federation:authentication:windows"),
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Which AuthnRequest binding to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestBinding {
    Redirect,
    Post,
}

impl RequestBinding {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestBinding::Redirect => "redirect",
            RequestBinding::Post => "post",
        }
    }

    pub fn urn(self) -> &'static str {
        match self {
            RequestBinding::Redirect => HTTP_REDIRECT,
            RequestBinding::Post => HTTP_POST,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            RequestBinding::Redirect => "HTTP-Redirect",
            RequestBinding::Post => "HTTP-POST",
        }
    }

    pub fn of_urn(urn: &str) -> Option<Self> {
        [RequestBinding::Redirect, RequestBinding::Post]
            .into_iter()
            .find(|b| b.urn() == urn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ConnectionId;
    use crate::saml::binding::RSA_SHA256;
    use crate::saml::sp_keys::{KeyState, SpKey};
    use crate::saml::xmlsec;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use flate2::read::DeflateDecoder;
    use openssl::hash::MessageDigest;
    use openssl::x509::X509;
    use samael::crypto::CertificateDer;
    use std::io::Read;

    fn params<'a>(destination: &'a Url, binding: RequestBinding) -> RequestParams<'a> {
        RequestParams {
            id: "_req-42",
            now: "2026-11-23T09:00:00Z".parse().unwrap(),
            destination,
            sp_entity_id: "https://sso.example.com/saml/c/metadata",
            acs_url: "https://sso.example.com/saml/c/acs",
            authn_context: AuthnContext::PasswordProtectedTransport,
            binding,
            relay_state: "r-7f3a",
        }
    }

    fn query_value(url: &Url, name: &str) -> Option<String> {
        url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }

    #[test]
    fn a_signed_redirect_signs_exactly_the_saml_parameters_and_keeps_the_idps_own() {
        let key = SpKey::generate(ConnectionId::new(), "sso.example.com", KeyState::Active, Utc::now()).unwrap();
        let signing = key.signing_key();
        let destination: Url = "https://accounts.google.com/o/saml2/idp?idpid=C029op2ga"
            .parse()
            .unwrap();
        let Outgoing::Redirect(url) =
            outgoing(&params(&destination, RequestBinding::Redirect), Some(&signing)).unwrap()
        else {
            panic!("redirect expected");
        };
        assert_eq!(query_value(&url, "idpid").as_deref(), Some("C029op2ga"));
        assert_eq!(query_value(&url, "RelayState").as_deref(), Some("r-7f3a"));
        assert_eq!(query_value(&url, "SigAlg").as_deref(), Some(RSA_SHA256));

        // The request inflates to the XML with every field the IdP needs.
        let deflated = STANDARD.decode(query_value(&url, "SAMLRequest").unwrap()).unwrap();
        let mut xml = String::new();
        DeflateDecoder::new(deflated.as_slice())
            .read_to_string(&mut xml)
            .unwrap();
        for part in [
            "ID=\"_req-42\"",
            "Destination=\"https://accounts.google.com/o/saml2/idp?idpid=C029op2ga\"",
            "AssertionConsumerServiceURL=\"https://sso.example.com/saml/c/acs\"",
            "https://sso.example.com/saml/c/metadata</saml2:Issuer>",
            "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport",
            "nameid-format:emailAddress",
        ] {
            assert!(xml.contains(part), "{part} missing from {xml}");
        }

        // The signature covers `SAMLRequest=…&RelayState=…&SigAlg=…` as it appears in the query, nothing else.
        let query = url.query().unwrap();
        let signed = &query[query.find("SAMLRequest=").unwrap()..query.find("&Signature=").unwrap()];
        let signature = STANDARD.decode(query_value(&url, "Signature").unwrap()).unwrap();
        let public = X509::from_der(key.certificate.der()).unwrap().public_key().unwrap();
        let mut verifier = openssl::sign::Verifier::new(MessageDigest::sha256(), &public).unwrap();
        verifier.update(signed.as_bytes()).unwrap();
        assert!(verifier.verify(&signature).unwrap());
    }

    #[test]
    fn an_unsigned_redirect_has_no_signature_parameters() {
        let destination: Url = "https://login.microsoftonline.com/t/saml2".parse().unwrap();
        let Outgoing::Redirect(url) = outgoing(&params(&destination, RequestBinding::Redirect), None).unwrap() else {
            panic!("redirect expected");
        };
        assert!(query_value(&url, "SigAlg").is_none() && query_value(&url, "Signature").is_none());
        assert!(
            url.as_str()
                .starts_with("https://login.microsoftonline.com/t/saml2?SAMLRequest=")
        );
    }

    #[test]
    fn a_post_request_carries_an_enveloped_signature_that_verifies_with_the_sp_certificate() {
        use samael::crypto::{Crypto, CryptoProvider};
        let key = SpKey::generate(ConnectionId::new(), "sso.example.com", KeyState::Active, Utc::now()).unwrap();
        let signing = key.signing_key();
        let destination: Url = "https://sso.jumpcloud.com/saml2/acme".parse().unwrap();
        let Outgoing::Post {
            action,
            parameter,
            message,
            relay_state,
        } = outgoing(&params(&destination, RequestBinding::Post), Some(&signing)).unwrap()
        else {
            panic!("post expected");
        };
        assert_eq!(action, destination);
        assert_eq!((parameter, relay_state.as_str()), (Parameter::SamlRequest, "r-7f3a"));
        let xml = String::from_utf8(STANDARD.decode(message).unwrap()).unwrap();
        assert!(xml.contains("SignatureValue") && xml.contains("ID=\"_req-42\""));
        assert!(
            xml.contains("xmlenc#sha256") && !xml.contains("xmldsig#sha1"),
            "SHA-256 digest"
        );
        let _xmlsec = xmlsec::lock();
        Crypto::verify_signed_xml(&xml, &CertificateDer::from(key.certificate.der().to_vec()), Some("ID")).unwrap();
    }
}
