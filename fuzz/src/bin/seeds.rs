//! Writes the fuzz targets' starting inputs: the real IdP metadata files kept with the tests, and messages made
//! and signed by the test IdP (responses in each signed and encrypted layout, logout requests and responses in
//! both bindings), plus the keys they were made with (read back by the targets through `GATEHOUSE_FUZZ_KEYS`).
//!
//! `seeds OUT [METADATA_FOLDER]`: one folder per target under OUT, and OUT/keys. Run it with the same build as
//! the targets and without `GATEHOUSE_FUZZ_KEYS`; it replaces what OUT held, and counts the seeds that pass
//! every rule of their target.

use chrono::{Duration, SecondsFormat};
use gatehouse_core::domains::DomainName;
use gatehouse_core::saml::binding::{self, Parameter, SigningKey, sign_enveloped, signature_template_xml};
use gatehouse_core::saml::logout::{validate_logout_request, validate_logout_response};
use gatehouse_core::saml::response::validate_response;
use gatehouse_core::saml::{Certificate, MetadataDocument, parse_metadata};
use gatehouse_fuzz::{Keys, SLO};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use test_idp::{DataCipher, Encryption, KeyTransport, Signed, Spec};

struct Out {
    root: PathBuf,
}

impl Out {
    fn write(&self, target: &str, name: &str, bytes: impl AsRef<[u8]>) {
        let folder = self.root.join(target);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join(name), bytes).unwrap();
    }
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(Keys::generate)
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let root = PathBuf::from(args.next().expect("usage: seeds OUT [METADATA_FOLDER]"));
    let fixtures = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../testkit/fixtures/idp-metadata"));
    if root.exists() {
        std::fs::remove_dir_all(&root).unwrap();
    }
    let out = Out { root };
    keys().save(&out.root.join("keys")).unwrap();
    let certificates = metadata(&out, &fixtures);
    certificate(&out, &certificates);
    response(&out);
    logout(&out);
    domain(&out);
    for target in ["metadata", "certificate", "response", "logout", "redirect", "domain"] {
        let seeds: Vec<Vec<u8>> = std::fs::read_dir(out.root.join(target))
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        let accepted = seeds.iter().filter(|seed| accepted(target, seed)).count();
        println!("{target}: {} seeds, {accepted} accepted", seeds.len());
    }
}

/// Whether a seed passes every rule of its target, with the keys it was made with: the ones that do lead the
/// fuzzer past the signature checks.
fn accepted(target: &str, seed: &[u8]) -> bool {
    let text = std::str::from_utf8(seed).unwrap_or_default();
    let logout = |incoming: &binding::Incoming| {
        let expected = gatehouse_fuzz::logout_expectations();
        match incoming.parameter {
            Parameter::SamlRequest => validate_logout_request(incoming, &expected).is_ok(),
            Parameter::SamlResponse => validate_logout_response(incoming, &expected).is_ok(),
        }
    };
    match target {
        "metadata" => parse_metadata(seed).is_ok(),
        "certificate" => Certificate::parse_all(seed).is_ok(),
        "response" => validate_response(seed, &gatehouse_fuzz::response_expectations()).is_ok(),
        "logout" => [Parameter::SamlRequest, Parameter::SamlResponse]
            .into_iter()
            .any(|parameter| {
                logout(&binding::Incoming {
                    parameter,
                    xml: text.to_owned(),
                    relay_state: None,
                    query_signature: None,
                })
            }),
        "redirect" => binding::from_redirect(text).is_ok_and(|incoming| logout(&incoming)),
        "domain" => DomainName::parse(text).is_ok(),
        _ => false,
    }
}

/// The real IdP files, when the repository has them, and a small document naming the test IdP. Answers the
/// signing certificates found, as seeds for the certificate target.
fn metadata(out: &Out, fixtures: &Path) -> Vec<Certificate> {
    let mut certificates = vec![keys().idp.certificate.clone()];
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "xml"));
    files.sort();
    if files.is_empty() {
        eprintln!(
            "no IdP metadata files in {}: the metadata target starts from the test IdP's document only",
            fixtures.display()
        );
    }
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        if let Ok(document) = parse_metadata(&bytes) {
            let idps = match document {
                MetadataDocument::Single(idp) => vec![idp],
                MetadataDocument::Aggregate(idps) => idps,
            };
            for idp in idps {
                for c in idp.signing_certificates {
                    if !certificates.contains(&c) {
                        certificates.push(c);
                    }
                }
            }
        }
        out.write("metadata", &file.file_name().unwrap().to_string_lossy(), bytes);
    }
    let entity = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{idp}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="true"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{certificate}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/slo"/><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        idp = test_idp::IDP,
        certificate = keys().idp.certificate.to_base64(),
    );
    out.write("metadata", "test-idp.xml", &entity);
    out.write(
        "metadata",
        "test-idp-aggregate.xml",
        format!(
            r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{entity}</md:EntitiesDescriptor>"#
        ),
    );
    certificates
}

/// Each certificate as PEM, the test IdP's also as bare Base64 wrapped and not, binary DER, and a chain.
fn certificate(out: &Out, certificates: &[Certificate]) {
    for (i, c) in certificates.iter().enumerate() {
        out.write("certificate", &format!("{i:02}.pem"), c.to_pem());
    }
    let idp = &keys().idp.certificate;
    out.write("certificate", "idp.der", idp.der());
    out.write("certificate", "idp.b64", idp.to_base64());
    let wrapped: Vec<String> = idp
        .to_base64()
        .as_bytes()
        .chunks(64)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect();
    out.write("certificate", "idp-wrapped.b64", wrapped.join("\r\n"));
    let chain: String = certificates.iter().take(2).map(Certificate::to_pem).collect();
    out.write("certificate", "chain.pem", chain);
    out.write(
        "certificate",
        "private-key.pem",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    );
}

/// Responses in the layouts IdPs send: assertion or Response signed or both, SHA-1, no KeyInfo, each encryption
/// an IdP offers, IdP-initiated, a failure status, Entra-like attributes; and a few that break one rule.
fn response(out: &Out) {
    let signer = &keys().idp;
    let sp = &keys().sp[0].certificate;
    let base = || Spec {
        signer,
        ..Spec::default()
    };
    let mut specs: Vec<(&str, Spec)> = vec![
        ("assertion-signed", base()),
        (
            "response-signed",
            Spec {
                signed: Signed::Response,
                ..base()
            },
        ),
        (
            "both-signed",
            Spec {
                signed: Signed::Both,
                ..base()
            },
        ),
        (
            "unsigned",
            Spec {
                signed: Signed::Nothing,
                ..base()
            },
        ),
        ("sha1", Spec { sha1: true, ..base() }),
        (
            "no-key-info",
            Spec {
                key_info: false,
                ..base()
            },
        ),
        (
            "idp-initiated",
            Spec {
                in_response_to: None,
                confirmation_in_response_to: None,
                ..base()
            },
        ),
        (
            "status-failure",
            Spec {
                status: "urn:oasis:names:tc:SAML:2.0:status:Responder".into(),
                ..base()
            },
        ),
        (
            "entra-claims",
            Spec {
                attributes: vec![
                    (
                        "http://schemas.microsoft.com/identity/claims/tenantid".into(),
                        vec!["0c2f-4e2a".into()],
                    ),
                    (
                        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".into(),
                        vec!["ada@acme.example".into()],
                    ),
                ],
                ..base()
            },
        ),
        (
            "expired",
            Spec {
                not_on_or_after: test_idp::now() - Duration::minutes(10),
                ..base()
            },
        ),
        (
            "wrong-audience",
            Spec {
                audience: Some("https://other.example/sp".into()),
                ..base()
            },
        ),
    ];
    for data in DataCipher::ALL {
        specs.push((
            data.uri().rsplit('#').next().unwrap(),
            Spec {
                encryption: Some(Encryption {
                    data,
                    ..Encryption::to(sp)
                }),
                ..base()
            },
        ));
    }
    specs.push((
        "encrypted-rsa-oaep-key-beside",
        Spec {
            signed: Signed::Response,
            encryption: Some(Encryption {
                key_transport: KeyTransport::RsaOaepSha256,
                key_beside_data: true,
                name_certificate: false,
                ..Encryption::to(sp)
            }),
            ..base()
        },
    ));
    specs.push((
        "encrypted-unsigned",
        Spec {
            signed: Signed::Nothing,
            encryption: Some(Encryption::to(sp)),
            ..base()
        },
    ));
    for (name, spec) in specs {
        out.write("response", &format!("{name}.xml"), test_idp::build(&spec));
    }
    // A signature over another element than the assertion that carries the identity (wrapping).
    let signed = test_idp::build(&base());
    out.write(
        "response",
        "reference-elsewhere.xml",
        signed.replace(r##"URI="#_assertion-1""##, r##"URI="#_response-1""##),
    );
}

fn logout_request(id: &str, signature: &str) -> String {
    format!(
        r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{SLO}" NotOnOrAfter="{until}"><saml:Issuer>{idp}</saml:Issuer>{signature}<saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">ada@acme.example</saml:NameID><samlp:SessionIndex>_session-7</samlp:SessionIndex></samlp:LogoutRequest>"#,
        now = test_idp::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        until = (test_idp::now() + Duration::minutes(5)).to_rfc3339_opts(SecondsFormat::Millis, true),
        idp = test_idp::IDP,
    )
}

fn logout_response(id: &str, status: &str, signature: &str) -> String {
    format!(
        r#"<samlp:LogoutResponse xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{SLO}" InResponseTo="_gatehouse-lr-1"><saml:Issuer>{idp}</saml:Issuer>{signature}<samlp:Status><samlp:StatusCode Value="{status}"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:PartialLogout"/></samlp:StatusCode><samlp:StatusMessage>done</samlp:StatusMessage></samlp:Status></samlp:LogoutResponse>"#,
        now = test_idp::now().to_rfc3339(),
        idp = test_idp::IDP,
    )
}

/// Logout requests and responses from the IdP: enveloped-signed and unsigned as HTTP-POST carries them (the
/// logout target), signed and unsigned query strings of HTTP-Redirect (the redirect target).
fn logout(out: &Out) {
    let signer = &keys().idp;
    let pem = signer.private_key();
    let key = SigningKey {
        private_key: &pem,
        certificate_der: signer.certificate.der(),
    };
    let enveloped = |xml: &dyn Fn(&str) -> String, id: &str| {
        let template = signature_template_xml(id, signer.certificate.der()).unwrap();
        sign_enveloped(&xml(&template), &key).unwrap()
    };
    const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
    const RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";
    let request = |signature: &str| logout_request("_idp-lr-1", signature);
    let success = |signature: &str| logout_response("_idp-lres-1", SUCCESS, signature);
    let failure = |signature: &str| logout_response("_idp-lres-2", RESPONDER, signature);
    out.write("logout", "request-signed.xml", enveloped(&request, "_idp-lr-1"));
    out.write("logout", "response-signed.xml", enveloped(&success, "_idp-lres-1"));
    out.write(
        "logout",
        "response-failure-signed.xml",
        enveloped(&failure, "_idp-lres-2"),
    );
    out.write("logout", "request-unsigned.xml", request(""));
    out.write("logout", "response-unsigned.xml", success(""));

    let destination = url::Url::parse(SLO).unwrap();
    let query = |parameter, xml: &str, relay_state: &str, key: Option<&SigningKey>| {
        binding::redirect(&destination, parameter, xml, relay_state, key)
            .unwrap()
            .query()
            .unwrap()
            .to_owned()
    };
    let redirect = [
        (
            "request-signed",
            query(Parameter::SamlRequest, &request(""), "rs-1", Some(&key)),
        ),
        (
            "request-signed-no-relay-state",
            query(Parameter::SamlRequest, &request(""), "", Some(&key)),
        ),
        (
            "response-signed",
            query(Parameter::SamlResponse, &success(""), "rs-2", Some(&key)),
        ),
        (
            "response-failure-signed",
            query(Parameter::SamlResponse, &failure(""), "", Some(&key)),
        ),
        (
            "request-unsigned",
            query(Parameter::SamlRequest, &request(""), "rs-3", None),
        ),
    ];
    for (name, query) in redirect {
        out.write("redirect", &format!("{name}.txt"), query);
    }
}

/// Domains as owners type them: plain, with a trailing dot or spaces, internationalised either way, and the
/// kinds that are refused (a public suffix, an address, a URL, an email address, a single label).
fn domain(out: &Out) {
    let names = [
        "example.com",
        " Example.COM. ",
        "mail.acme.co.uk",
        "bücher.example",
        "xn--bcher-kva.example",
        "straße.de",
        "東京.jp",
        "co.uk",
        "github.io",
        "192.0.2.1",
        "[2001:db8::1]",
        "https://example.com/",
        "ada@example.com",
        "localhost",
        "a-.example",
        "corp.internal",
    ];
    for (i, name) in names.iter().enumerate() {
        out.write("domain", &format!("{i:02}.txt"), name);
    }
}
