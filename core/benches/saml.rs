//! CPU cost of the two SAML messages of every sign-in: checking a signed Response at the ACS (XML parse, the
//! envelope rules, xmlsec signature verification under the process-wide lock, reading the signed assertion; for
//! an encrypted assertion also RSA-OAEP and AES decryption) and writing a signed HTTP-Redirect AuthnRequest
//! (DEFLATE, Base64, RSA-SHA256). Beside each response check, samael's own `parse_xml_response` on the same
//! document, measured in the same run, is the baseline.
//!
//! A third group prices the shapes a stranger can post with no key at all (many references, XPath and XSLT
//! transforms, thousands of transforms, attributes, nesting or elements) against a normal response.
//!
//! `cargo bench -p gatehouse-core --bench saml`. Responses come from the test IdP (`testkit/idp`), signed once
//! before measuring; criterion reports the time per call, and after each plain response a line gives the ratio
//! of our check's time to samael's, the two measured in alternating batches.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_core::ConnectionId;
use gatehouse_core::saml::authn_request::{RequestParams, outgoing};
use gatehouse_core::saml::message_shape;
use gatehouse_core::saml::response::{Expectations, validate_response};
use gatehouse_core::saml::xmlsec;
use gatehouse_core::saml::{AuthnContext, Certificate, KeyState, RequestBinding, SpKey};
use samael::metadata::EntityDescriptor;
use samael::service_provider::{ServiceProvider, ServiceProviderBuilder};
use std::hint::black_box;
use std::time::{Duration as Elapsed, Instant};
use test_idp::{ACS, Encryption, IDP, REQUEST, SP, Signed, Spec, build, idp, sp_key, sp_keys};

/// Entra ID's default claims (object ID, tenant, names, email) plus a few groups: about 6 attributes.
fn entra_claims() -> Vec<(String, Vec<String>)> {
    let claim = |name: &str, value: &str| {
        (
            format!("http://schemas.microsoft.com/identity/claims/{name}"),
            vec![value.to_owned()],
        )
    };
    vec![
        claim("objectidentifier", "4c0fd3a4-6b0e-4d3c-9b1e-5b8f0f2a7c11"),
        claim("tenantid", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
        claim("displayname", "Ada Lovelace"),
        claim(
            "identityprovider",
            "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
        ),
        (
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress".to_owned(),
            vec!["ada@acme.example".to_owned()],
        ),
    ]
}

/// A group claim of `count` object IDs, as Entra sends groups.
fn group_ids(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("{i:08x}-6b0e-4d3c-9b1e-5b8f0f2a7c11"))
        .collect()
}

/// samael as an application would configure it for the test IdP, with the product's clock and request ID.
fn samael_baseline() -> ServiceProvider {
    let metadata = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
        STANDARD.encode(idp().certificate.der())
    );
    let idp_metadata: EntityDescriptor = metadata.parse().expect("test IdP metadata");
    ServiceProviderBuilder::default()
        .entity_id(SP.to_owned())
        .acs_url(ACS.to_owned())
        .idp_metadata(idp_metadata)
        // The test IdP's IssueInstant is a fixed moment; samael compares it with the wall clock.
        .max_issue_delay(Duration::days(36500))
        .build()
        .expect("samael service provider")
}

/// What the test IdP's connection expects of a response at `now`.
fn expectations(certificates: &[Certificate], now: chrono::DateTime<Utc>) -> Expectations<'_> {
    Expectations {
        idp_entity_id: IDP,
        certificates,
        sp_keys: sp_keys(),
        sp_entity_id: SP,
        acs_url: ACS,
        request_id: Some(REQUEST),
        allow_unsolicited: false,
        allow_sha1: false,
        clock_skew: Duration::minutes(3),
        now,
    }
}

fn response_checks(c: &mut Criterion) {
    // samael reads the wall clock, so these responses are valid around the real time of the run.
    let now = Utc::now();
    let certificates = vec![idp().certificate.clone()];
    let expected = expectations(&certificates, now);
    let samael = samael_baseline();
    let encrypted = || Some(Encryption::to(&sp_key(KeyState::Active).certificate));
    let cases = [
        ("Entra-shaped, assertion signed", Signed::Assertion, group_ids(2), None),
        ("Entra-shaped, response signed", Signed::Response, group_ids(2), None),
        ("150 groups, assertion signed", Signed::Assertion, group_ids(150), None),
        (
            "Entra-shaped, assertion signed and encrypted",
            Signed::Assertion,
            group_ids(2),
            encrypted(),
        ),
    ];
    for (name, signed, groups, encryption) in cases {
        let plain = encryption.is_none();
        let xml = build(&Spec {
            signed,
            groups,
            attributes: entra_claims(),
            encryption,
            not_before: now - Duration::minutes(1),
            not_on_or_after: now + Duration::hours(1),
            confirmation_until: Some(now + Duration::hours(1)),
            ..Spec::default()
        });
        assert!(validate_response(xml.as_bytes(), &expected).is_ok());
        let mut group = c.benchmark_group(format!("{name}, {} bytes", xml.len()));
        group.bench_function("validate_response", |b| {
            b.iter(|| validate_response(black_box(xml.as_bytes()), &expected).unwrap())
        });
        // samael decrypts with its own key configuration; the baseline covers the plain responses.
        let parse = || {
            // samael calls into libxml2/xmlsec too: the same process-wide lock applies.
            let _xmlsec = xmlsec::lock();
            samael.parse_xml_response(black_box(&xml), Some(&[REQUEST]))
        };
        if plain {
            parse().expect("samael accepts the response");
            group.bench_function("samael parse_xml_response", |b| b.iter(|| parse().unwrap()));
        }
        group.finish();
        if plain {
            let ratio = interleaved_ratio(
                || validate_response(black_box(xml.as_bytes()), &expected).unwrap(),
                || parse().unwrap(),
            );
            println!("{name}: validate_response / samael parse_xml_response = {ratio:.2} (interleaved)\n");
        }
    }
}

/// The time `ours` takes over the time `baseline` takes, both run in alternating batches so that the machine's
/// drift during the run (other load, frequency) weighs on both alike.
fn interleaved_ratio<A, B>(mut ours: impl FnMut() -> A, mut baseline: impl FnMut() -> B) -> f64 {
    const ROUNDS: u32 = 40;
    const BATCH: u32 = 50;
    let time = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..BATCH {
            f();
        }
        start.elapsed()
    };
    let (mut ours_total, mut baseline_total) = (Elapsed::ZERO, Elapsed::ZERO);
    for _ in 0..ROUNDS {
        ours_total += time(&mut || {
            black_box(ours());
        });
        baseline_total += time(&mut || {
            black_box(baseline());
        });
    }
    ours_total.as_secs_f64() / baseline_total.as_secs_f64()
}

/// A Response-signed Entra-shaped response with `from` replaced by `to`: one of the shapes a stranger can post
/// without any key, since references and transforms would be processed before the signature value is checked.
fn hostile(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "{from}");
    base.replacen(from, to, 1)
}

/// What each hostile shape costs to refuse, next to checking a normal response: none may cost more than about
/// ten times a normal check.
fn hostile_messages(c: &mut Criterion) {
    let now = Utc::now();
    let certificates = vec![idp().certificate.clone()];
    let expected = expectations(&certificates, now);
    let normal = build(&Spec {
        signed: Signed::Response,
        groups: group_ids(2),
        attributes: entra_claims(),
        not_before: now - Duration::minutes(1),
        not_on_or_after: now + Duration::hours(1),
        confirmation_until: Some(now + Duration::hours(1)),
        ..Spec::default()
    });
    assert!(validate_response(normal.as_bytes(), &expected).is_ok());
    let reference = r##"<ds:Reference URI="#_response-1">"##;
    let transforms = "<ds:Transforms>";
    let reference_copy = &normal[normal.find(reference).unwrap()..normal.find("</ds:Reference>").unwrap() + 15];
    let xpath = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>count(//. | //@* | //namespace::*)</ds:XPath></ds:Transform>"#;
    let xslt = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:call-template name="t"><xsl:with-param name="n" select="20"/></xsl:call-template></xsl:template><xsl:template name="t"><xsl:param name="n"/><xsl:if test="$n &gt; 0"><xsl:call-template name="t"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template><xsl:call-template name="t"><xsl:with-param name="n" select="$n - 1"/></xsl:call-template></xsl:if></xsl:template></xsl:stylesheet></ds:Transform>"#;
    let c14n = r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#;
    let many_attributes: String = (0..20_000).map(|i| format!(" a{i}=\"\"")).collect();
    let cases = [
        (
            "500 References",
            hostile(
                &normal,
                reference,
                &format!("{}{reference}", reference_copy.repeat(499)),
            ),
        ),
        (
            "an XPath transform over the whole document",
            hostile(&normal, transforms, &format!("{transforms}{xpath}")),
        ),
        (
            "an XSLT transform with 2^20 template calls",
            hostile(&normal, transforms, &format!("{transforms}{xslt}")),
        ),
        (
            "3,000 exclusive c14n transforms",
            hostile(&normal, transforms, &format!("{transforms}{}", c14n.repeat(3000))),
        ),
        (
            "20,000 attributes on one element",
            hostile(&normal, "<samlp:Status>", &format!("<samlp:Status{many_attributes}>")),
        ),
        (
            "elements nested 20,000 deep",
            hostile(
                &normal,
                "<samlp:Status>",
                &format!("{}<samlp:Status>", "<x>".repeat(20_000)),
            )
            .replacen(
                "</samlp:Status>",
                &format!("</samlp:Status>{}", "</x>".repeat(20_000)),
                1,
            ),
        ),
        (
            "60,000 sibling elements",
            hostile(
                &normal,
                "<samlp:Status>",
                &format!("{}<samlp:Status>", "<x/>".repeat(60_000)),
            ),
        ),
    ];
    let mut group = c.benchmark_group("hostile messages, refused");
    group.bench_function("normal response, accepted", |b| {
        b.iter(|| validate_response(black_box(normal.as_bytes()), &expected).unwrap())
    });
    for (name, xml) in &cases {
        assert!(
            validate_response(xml.as_bytes(), &expected).is_err(),
            "{name} is refused"
        );
        group.bench_function(*name, |b| {
            b.iter(|| validate_response(black_box(xml.as_bytes()), &expected).unwrap_err())
        });
    }
    group.finish();
    for (name, xml) in &cases {
        let ratio = interleaved_ratio(
            || validate_response(black_box(xml.as_bytes()), &expected).unwrap_err(),
            || validate_response(black_box(normal.as_bytes()), &expected).unwrap(),
        );
        println!(
            "{name} ({} bytes): refusing it / checking a normal response = {ratio:.2}",
            xml.len()
        );
    }
    // What the pre-scan that refuses most of these adds to every normal check.
    let prescan = interleaved_ratio(
        || message_shape::check(black_box(&normal)).unwrap(),
        || validate_response(black_box(normal.as_bytes()), &expected).unwrap(),
    );
    println!("the pre-scan of a normal response / checking it = {prescan:.3}");
}

fn request_signing(c: &mut Criterion) {
    let key = SpKey::generate(ConnectionId::new(), "sso.example.com", KeyState::Active, Utc::now()).unwrap();
    let signing = key.signing_key();
    let destination = "https://login.microsoftonline.com/tenant/saml2".parse().unwrap();
    let params = RequestParams {
        id: "_bench",
        now: test_idp::now(),
        destination: &destination,
        sp_entity_id: SP,
        acs_url: ACS,
        authn_context: AuthnContext::None,
        binding: RequestBinding::Redirect,
        relay_state: "_bench",
    };
    c.bench_function("signed HTTP-Redirect AuthnRequest", |b| {
        b.iter(|| outgoing(black_box(&params), Some(&signing)).unwrap())
    });
}

criterion_group!(benches, response_checks, hostile_messages, request_signing);
criterion_main!(benches);
