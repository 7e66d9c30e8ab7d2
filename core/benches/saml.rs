//! CPU cost of the two SAML messages of every sign-in: checking a signed Response at the ACS (XML parse, the
//! envelope rules, xmlsec signature verification under the process-wide lock, reading the signed assertion; for
//! an encrypted assertion also RSA-OAEP and AES decryption) and writing a signed HTTP-Redirect AuthnRequest
//! (DEFLATE, Base64, RSA-SHA256).
//!
//! `cargo bench -p gatehouse-core --bench saml`. Responses come from the test IdP (`testkit/idp`), signed once
//! before measuring; criterion reports the time per call.

use chrono::{Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use gatehouse_core::ConnectionId;
use gatehouse_core::sso::authn_request::{RequestParams, SigningKey, outgoing};
use gatehouse_core::sso::response::{Expectations, validate_response};
use gatehouse_core::sso::{AuthnContext, KeyState, RequestBinding, SpKey};
use std::hint::black_box;
use test_idp::{ACS, Encryption, IDP, REQUEST, SP, Signed, Spec, build, idp, now, sp_key, sp_keys};

fn response_checks(c: &mut Criterion) {
    let certificates = vec![idp().certificate.clone()];
    let expected = Expectations {
        idp_entity_id: IDP,
        certificates: &certificates,
        sp_keys: sp_keys(),
        sp_entity_id: SP,
        acs_url: ACS,
        request_id: Some(REQUEST),
        allow_unsolicited: false,
        allow_sha1: false,
        clock_skew: Duration::minutes(3),
        now: now(),
    };
    let encrypted = Some(Encryption::to(&sp_key(KeyState::Active).certificate));
    for (name, signed, encryption) in [
        ("assertion signed", Signed::Assertion, None),
        ("response signed", Signed::Response, None),
        ("assertion signed and encrypted", Signed::Assertion, encrypted),
    ] {
        let xml = build(&Spec {
            signed,
            encryption,
            ..Spec::default()
        });
        assert!(validate_response(xml.as_bytes(), &expected).is_ok());
        c.bench_function(&format!("validate_response ({name}, {} bytes)", xml.len()), |b| {
            b.iter(|| validate_response(black_box(xml.as_bytes()), &expected).unwrap())
        });
    }
}

fn request_signing(c: &mut Criterion) {
    let key = SpKey::generate(ConnectionId::new(), "sso.example.com", KeyState::Active, Utc::now()).unwrap();
    let signing = SigningKey {
        private_key_pem: key.private_key.expose(),
        certificate_der: key.certificate.der(),
    };
    let destination = "https://login.microsoftonline.com/tenant/saml2".parse().unwrap();
    let params = RequestParams {
        id: "_bench",
        now: now(),
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

criterion_group!(benches, response_checks, request_signing);
criterion_main!(benches);
