//! Messages built to make the verifier reach outside the message or spend CPU before any rule can refuse them:
//! signatures with outside references, XPath/XSLT transforms, several references, manifests, `RetrievalMethod`,
//! and XML shapes no IdP sends. Each is refused for what it is, and nothing is fetched.

use chrono::Duration;
use gatehouse_core::saml::Certificate;
use gatehouse_core::saml::binding::{self, DecodeError, Parameter};
use gatehouse_core::saml::logout::{LogoutExpectations, LogoutRejection, validate_logout_request};
use gatehouse_core::saml::message_shape::ShapeError;
use gatehouse_core::saml::response::{Expectations, Rejection, validate_response};
use std::net::TcpListener;
use test_idp::*;

/// A loopback listener that must never see a connection.
struct Tripwire(TcpListener);

impl Tripwire {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Self(listener)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.0.local_addr().unwrap())
    }

    fn assert_untouched(&self) {
        match self.0.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("the verifier connected to an outside address: {other:?}"),
        }
    }
}

/// What the test IdP's connection expects, with SHA-1 allowed or not.
fn expectations(certificates: &[Certificate], allow_sha1: bool) -> Expectations<'_> {
    Expectations {
        idp_entity_id: IDP,
        certificates,
        sp_keys: sp_keys(),
        sp_entity_id: SP,
        acs_url: ACS,
        request_id: Some(REQUEST),
        allow_unsolicited: false,
        allow_sha1,
        clock_skew: Duration::minutes(3),
        now: now(),
    }
}

fn check(xml: &str) -> Result<(), Rejection> {
    let certificates = [idp().certificate.clone()];
    validate_response(xml.as_bytes(), &expectations(&certificates, false)).map(|_| ())
}

/// A Response really signed by the IdP, with `from` replaced by `to` inside its signature.
fn signed_response_with(from: &str, to: &str) -> String {
    let xml = build(&Spec {
        signed: Signed::Response,
        ..Spec::default()
    });
    assert!(xml.contains(from), "the signed response has no {from}");
    xml.replacen(from, to, 1)
}

const REFERENCE: &str = r##"URI="#_response-1""##;
const TRANSFORMS: &str = r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#;

/// Every hostile shape of a signature: (what it is, the text it replaces in a signed response, its replacement).
fn hostile_signatures(tripwire: &Tripwire) -> Vec<(&'static str, &'static str, String)> {
    vec![
        ("an http reference", REFERENCE, format!(r#"URI="{}""#, tripwire.url("reference"))),
        ("a file reference", REFERENCE, r#"URI="file:///dev/zero""#.to_owned()),
        ("an XPointer reference", REFERENCE, r##"URI="#xpointer(/)""##.to_owned()),
        ("a reference to another element", REFERENCE, r##"URI="#_assertion-1""##.to_owned()),
        (
            "an XPath transform",
            TRANSFORMS,
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>count(//. | //@* | //namespace::*)</ds:XPath></ds:Transform>"#.to_owned(),
        ),
        (
            "an XPath Filter 2 transform",
            TRANSFORMS,
            r#"<ds:Transform Algorithm="http://www.w3.org/2002/06/xmldsig-filter2"><XPath xmlns="http://www.w3.org/2002/06/xmldsig-filter2" Filter="union">//.</XPath></ds:Transform>"#.to_owned(),
        ),
        (
            "an XSLT transform",
            TRANSFORMS,
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:copy-of select="document('file:///etc/passwd')"/></xsl:template></xsl:stylesheet></ds:Transform>"#.to_owned(),
        ),
        (
            "three transforms",
            TRANSFORMS,
            format!(r#"{TRANSFORMS}<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>{TRANSFORMS}"#),
        ),
        (
            "a second reference",
            "<ds:Reference ",
            format!(
                r#"<ds:Reference URI="{}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference><ds:Reference "#,
                tripwire.url("second")
            ),
        ),
        (
            "a manifest in an Object",
            "</ds:SignatureValue>",
            format!(
                r#"</ds:SignatureValue><ds:Object><ds:Manifest><ds:Reference URI="{}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:Manifest></ds:Object>"#,
                tripwire.url("manifest")
            ),
        ),
        (
            "a RetrievalMethod in KeyInfo",
            "<ds:KeyInfo>",
            format!(r#"<ds:KeyInfo><ds:RetrievalMethod URI="{}"/>"#, tripwire.url("key")),
        ),
    ]
}

#[test]
fn signatures_that_reach_outside_the_message_or_run_transforms_are_refused_unprocessed() {
    let tripwire = Tripwire::new();
    for (what, from, to) in hostile_signatures(&tripwire) {
        let refused = check(&signed_response_with(from, &to));
        assert!(
            matches!(refused, Err(Rejection::DisallowedSignature(_))),
            "{what}: {refused:?}"
        );
    }
    tripwire.assert_untouched();
}

#[test]
fn the_refusal_says_the_signature_refers_outside_the_message() {
    let tripwire = Tripwire::new();
    let to = format!(r#"URI="{}""#, tripwire.url("x"));
    let refused = check(&signed_response_with(REFERENCE, &to)).unwrap_err();
    assert!(
        matches!(&refused, Rejection::DisallowedSignature(why) if why.contains("refers to something outside the message")),
        "{refused:?}"
    );
    tripwire.assert_untouched();
}

#[test]
fn the_same_signatures_on_a_logout_request_are_refused_unprocessed() {
    let tripwire = Tripwire::new();
    let certificates = [idp().certificate.clone()];
    let expected = LogoutExpectations {
        idp_entity_id: IDP,
        certificates: &certificates,
        slo_url: "https://gatehouse.example/saml/c/slo",
        allow_sha1: false,
        clock_skew: Duration::minutes(3),
        now: now(),
    };
    let template = signature_template("_logout-1", false, Some(&idp().certificate));
    let request = format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_logout-1" Version="2.0" IssueInstant="{}" Destination="https://gatehouse.example/saml/c/slo"><saml:Issuer>{IDP}</saml:Issuer>{template}<saml:NameID>ada@acme.example</saml:NameID></samlp:LogoutRequest>"#,
        now().to_rfc3339()
    );
    let signed = strip_declaration(&sign(&request, idp()));
    for (what, from, to) in hostile_signatures(&tripwire) {
        let from = from.replace("_response-1", "_logout-1");
        if what == "a reference to another element" {
            continue;
        }
        let hostile = signed.replacen(&from, &to, 1);
        let incoming = binding::from_post(Parameter::SamlRequest, &base64(&hostile), None).unwrap();
        let refused = validate_logout_request(&incoming, &expected);
        assert!(
            matches!(refused, Err(LogoutRejection::DisallowedSignature(_))),
            "{what}: {refused:?}"
        );
    }
    tripwire.assert_untouched();
}

fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn shapes_no_idp_sends_are_refused_before_parsing() {
    let many_attributes: String = (0..20_000).map(|i| format!(" a{i}=\"\"")).collect();
    let wide = signed_response_with("<samlp:Status>", &format!("<samlp:Status{many_attributes}>"));
    assert_eq!(check(&wide), Err(Rejection::Shape(ShapeError::TooManyAttributes)));

    let deep = signed_response_with("<samlp:Status>", &format!("{}<samlp:Status>", "<x>".repeat(40))).replacen(
        "</samlp:Status>",
        &format!("</samlp:Status>{}", "</x>".repeat(40)),
        1,
    );
    assert_eq!(check(&deep), Err(Rejection::Shape(ShapeError::TooDeep)));

    let deep_logout = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    assert!(matches!(
        binding::from_post(Parameter::SamlRequest, &base64(&deep_logout), None),
        Err(DecodeError::Shape(ShapeError::TooDeep))
    ));
}

#[test]
fn sha1_allowed_means_rsa_sha1_not_any_algorithm() {
    let certificates = [idp().certificate.clone()];
    let expectations = |allow_sha1| expectations(&certificates, allow_sha1);
    let sha1 = build(&Spec {
        sha1: true,
        ..Spec::default()
    });
    assert!(validate_response(sha1.as_bytes(), &expectations(false)).is_err());
    assert!(validate_response(sha1.as_bytes(), &expectations(true)).is_ok());
    // HMAC keyed with the IdP's public certificate (an algorithm confusion) stays refused with SHA-1 allowed.
    let hmac = sha1.replacen(
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
        "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
        1,
    );
    assert!(validate_response(hmac.as_bytes(), &expectations(true)).is_err());
}
