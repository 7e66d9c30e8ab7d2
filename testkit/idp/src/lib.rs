//! A SAML IdP for tests: an RSA key pair and responses signed with xmlsec at test time, every part of which a
//! test may change before signing.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_core::ConnectionId;
use gatehouse_core::sso::metadata_signature::XMLSEC;
use gatehouse_core::sso::{Certificate, KeyState, SpKey};
use openssl::pkey::PKey;
use samael::crypto::{Crypto, CryptoProvider};
use std::sync::OnceLock;

pub const IDP: &str = "https://idp.example.com/saml";
pub const SP: &str = "https://sso.example.com/saml/6f1c1c1e-8d59-4c4e-9c55-2f3f0a0b7e11/metadata";
pub const ACS: &str = "https://sso.example.com/saml/6f1c1c1e-8d59-4c4e-9c55-2f3f0a0b7e11/acs";
pub const REQUEST: &str = "_request-1";

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

/// An IdP's key pair (made with the same generator as SP keys, which is just an RSA key and a certificate).
pub struct Signer {
    pub der: Vec<u8>,
    pub certificate: Certificate,
}

pub fn signer(which: usize) -> &'static Signer {
    static SIGNERS: OnceLock<Vec<Signer>> = OnceLock::new();
    &SIGNERS.get_or_init(|| {
        (0..2)
            .map(|_| {
                let key = SpKey::generate(ConnectionId::new(), "idp.example.com", KeyState::Active, now()).unwrap();
                let der = PKey::private_key_from_pem(key.private_key.expose().as_bytes())
                    .unwrap()
                    .private_key_to_der()
                    .unwrap();
                Signer {
                    der,
                    certificate: key.certificate,
                }
            })
            .collect()
    })[which]
}

pub fn idp() -> &'static Signer {
    signer(0)
}

pub fn attacker() -> &'static Signer {
    signer(1)
}

#[derive(Clone, Copy, PartialEq)]
pub enum Signed {
    Assertion,
    Response,
    Nothing,
}

/// The parts of a response a test may change before it is signed.
#[derive(Clone)]
pub struct Spec {
    /// Values of the `groups` attribute.
    pub groups: Vec<String>,
    pub assertion_id: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub status: String,
    pub issuer: String,
    pub name_id: String,
    pub recipient: String,
    pub confirmation_in_response_to: Option<String>,
    pub confirmation_until: Option<DateTime<Utc>>,
    pub not_before: DateTime<Utc>,
    pub not_on_or_after: DateTime<Utc>,
    pub audience: Option<String>,
    pub signed: Signed,
    pub sha1: bool,
    pub key_info: bool,
    pub signer: &'static Signer,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            groups: vec!["Gatehouse Admins".into(), "Staff".into()],
            assertion_id: "_assertion-1".into(),
            destination: Some(ACS.into()),
            in_response_to: Some(REQUEST.into()),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".into(),
            issuer: IDP.into(),
            name_id: "ada@acme.example".into(),
            recipient: ACS.into(),
            confirmation_in_response_to: Some(REQUEST.into()),
            confirmation_until: Some(now() + Duration::minutes(5)),
            not_before: now() - Duration::minutes(1),
            not_on_or_after: now() + Duration::minutes(5),
            audience: Some(SP.into()),
            signed: Signed::Assertion,
            sha1: false,
            key_info: true,
            signer: idp(),
        }
    }
}

pub fn signature_template(reference: &str, sha1: bool, key_info: Option<&Certificate>) -> String {
    let (method, digest) = if sha1 {
        (
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
        )
    } else {
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
        )
    };
    let key_info = key_info
        .map(|c| {
            format!(
                "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                c.to_base64()
            )
        })
        .unwrap_or_default();
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="#{reference}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>{key_info}</ds:Signature>"##
    )
}

pub fn attribute(name: &str, value: Option<&str>) -> String {
    value.map(|v| format!(" {name}=\"{v}\"")).unwrap_or_default()
}

pub fn assertion_xml(spec: &Spec, id: &str, signature: &str) -> String {
    let audience = spec
        .audience
        .as_ref()
        .map(|a| format!("<saml:AudienceRestriction><saml:Audience>{a}</saml:Audience></saml:AudienceRestriction>"))
        .unwrap_or_default();
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}"><saml:Issuer>{issuer}</saml:Issuer>{signature}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData{until}{recipient}{irt}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{noa}">{audience}</saml:Conditions><saml:AuthnStatement AuthnInstant="{now}" SessionIndex="_session-7"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="groups">{groups}</saml:Attribute><saml:Attribute Name="email"><saml:AttributeValue>ada@acme.example</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
        now = now().to_rfc3339(),
        issuer = spec.issuer,
        name_id = spec.name_id,
        groups = spec
            .groups
            .iter()
            .map(|g| format!("<saml:AttributeValue>{g}</saml:AttributeValue>"))
            .collect::<String>(),
        until = attribute(
            "NotOnOrAfter",
            spec.confirmation_until.map(|t| t.to_rfc3339()).as_deref()
        ),
        recipient = attribute("Recipient", Some(&spec.recipient)),
        irt = attribute("InResponseTo", spec.confirmation_in_response_to.as_deref()),
        nb = spec.not_before.to_rfc3339(),
        noa = spec.not_on_or_after.to_rfc3339(),
    )
}

pub fn response_xml(spec: &Spec, assertion: &str, signature: &str) -> String {
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_response-1" Version="2.0" IssueInstant="{now}"{destination}{irt}><saml:Issuer>{issuer}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>{assertion}</samlp:Response>"#,
        now = now().to_rfc3339(),
        destination = attribute("Destination", spec.destination.as_deref()),
        irt = attribute("InResponseTo", spec.in_response_to.as_deref()),
        issuer = spec.issuer,
        status = spec.status,
    )
}

pub fn sign(xml: &str, signer: &Signer) -> String {
    let _xmlsec = XMLSEC.lock().unwrap_or_else(|p| p.into_inner());
    Crypto::sign_xml(xml, &signer.der).expect("xmlsec signs the template")
}

pub fn build(spec: &Spec) -> String {
    let key_info = spec.key_info.then_some(&spec.signer.certificate);
    let assertion_signature = if spec.signed == Signed::Assertion {
        signature_template(&spec.assertion_id, spec.sha1, key_info)
    } else {
        String::new()
    };
    let response_signature = if spec.signed == Signed::Response {
        signature_template("_response-1", spec.sha1, key_info)
    } else {
        String::new()
    };
    let assertion = assertion_xml(spec, &spec.assertion_id, &assertion_signature);
    let xml = response_xml(spec, &assertion, &response_signature);
    if spec.signed == Signed::Nothing {
        xml
    } else {
        strip_declaration(&sign(&xml, spec.signer))
    }
}

pub fn strip_declaration(xml: &str) -> String {
    match xml.strip_prefix("<?xml") {
        Some(rest) => rest[rest.find("?>").unwrap() + 2..].trim_start().to_owned(),
        None => xml.to_owned(),
    }
}
