//! The ACS rules against responses signed for real with xmlsec at test time: one valid response, and for every
//! rule a response that breaks only that rule (the attack classes in SAML-SECURITY.md among them).

use chrono::Duration;
use gatehouse_core::saml::Certificate;
use gatehouse_core::saml::message_shape::ShapeError;
use gatehouse_core::saml::response::{Expectations, Rejection, SignedAssertion, validate_response};
use test_idp::*;

fn trusted() -> Vec<Certificate> {
    vec![idp().certificate.clone()]
}

fn check_with(xml: &str, adjust: impl FnOnce(&mut Expectations)) -> Result<SignedAssertion, Rejection> {
    check_trusting(xml, &trusted(), adjust)
}

fn check_trusting(
    xml: &str,
    certificates: &[Certificate],
    adjust: impl FnOnce(&mut Expectations),
) -> Result<SignedAssertion, Rejection> {
    let mut expected = Expectations {
        idp_entity_id: IDP,
        certificates,
        sp_keys: sp_keys(),
        sp_entity_id: SP,
        acs_url: ACS,
        request_id: Some(REQUEST),
        allow_unsolicited: false,
        allow_sha1: false,
        clock_skew: Duration::minutes(3),
        now: now(),
    };
    adjust(&mut expected);
    validate_response(xml.as_bytes(), &expected)
}

fn check(xml: &str) -> Result<SignedAssertion, Rejection> {
    check_with(xml, |_| {})
}

#[test]
fn a_valid_signed_response_yields_the_signed_identity() {
    for signed in [Signed::Assertion, Signed::Response] {
        let assertion = check(&build(&Spec {
            signed,
            ..Spec::default()
        }))
        .unwrap();
        assert_eq!(assertion.name_id, "ada@acme.example");
        assert_eq!(assertion.id, "_assertion-1");
        assert_eq!(assertion.issuer, IDP);
        assert_eq!(assertion.session_index.as_deref(), Some("_session-7"));
        assert_eq!(assertion.in_response_to.as_deref(), Some(REQUEST));
        assert_eq!(assertion.valid_until, now() + Duration::minutes(5));
        assert_eq!(
            assertion.attributes,
            vec![
                (
                    "groups".to_owned(),
                    vec!["Gatehouse Admins".to_owned(), "Staff".to_owned()]
                ),
                ("email".to_owned(), vec!["ada@acme.example".to_owned()]),
            ]
        );
    }
    // Without KeyInfo, as some IdPs send it: the configured certificate is all that is needed.
    assert!(
        check(&build(&Spec {
            key_info: false,
            ..Spec::default()
        }))
        .is_ok()
    );
    // A rolled-over IdP: any configured certificate may have signed.
    let both = vec![attacker().certificate.clone(), idp().certificate.clone()];
    assert!(check_trusting(&build(&Spec::default()), &both, |_| {}).is_ok());
}

#[test]
fn signatures_count_only_with_the_configured_certificate() {
    // Unsigned.
    assert_eq!(
        check(&build(&Spec {
            signed: Signed::Nothing,
            ..Spec::default()
        })),
        Err(Rejection::Unsigned)
    );
    // Signed by another key that the message itself offers in KeyInfo: the message's certificate is not trusted.
    let forged = build(&Spec {
        signer: attacker(),
        ..Spec::default()
    });
    match check(&forged) {
        Err(Rejection::Signature {
            configured,
            offered,
            offered_subject,
        }) => {
            assert_eq!(configured, idp().certificate.sha256_fingerprint);
            assert_eq!(offered, Some(attacker().certificate.sha256_fingerprint.clone()));
            assert_eq!(offered_subject, Some(attacker().certificate.subject.clone()));
        }
        other => panic!("{other:?}"),
    }
    // Changed after signing.
    let tampered = build(&Spec::default()).replace("ada@acme.example</saml:NameID>", "eve@acme.example</saml:NameID>");
    assert!(matches!(check(&tampered), Err(Rejection::Signature { .. })));
    // The signature removed from a signed response.
    let signed = build(&Spec::default());
    let start = signed.find("<ds:Signature").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let stripped = format!("{}{}", &signed[..start], &signed[end..]);
    assert_eq!(check(&stripped), Err(Rejection::Unsigned));
}

#[test]
fn a_kept_key_verifies_only_what_its_own_certificate_signed() {
    // Each certificate's key is read once and then kept for the process, by the certificate's DER. Every check
    // runs twice: the first may read a key, the second finds it kept.
    let by_idp = build(&Spec::default());
    let by_other = build(&Spec {
        signer: attacker(),
        ..Spec::default()
    });
    let idp_only = vec![idp().certificate.clone()];
    let other_only = vec![attacker().certificate.clone()];
    let rolled_over = vec![attacker().certificate.clone(), idp().certificate.clone()];
    let refused = |result: Result<SignedAssertion, Rejection>| matches!(result, Err(Rejection::Signature { .. }));
    for _ in 0..2 {
        assert!(check_trusting(&by_idp, &idp_only, |_| {}).is_ok());
        // The IdP's key is kept: another key's signature, with that key's certificate offered in KeyInfo, is
        // still refused, and the other way round.
        assert!(refused(check_trusting(&by_other, &idp_only, |_| {})));
        assert!(check_trusting(&by_other, &other_only, |_| {}).is_ok());
        assert!(refused(check_trusting(&by_idp, &other_only, |_| {})));
        // During a roll-over both certificates count, in either order, and each key still only for its own
        // signatures.
        for list in [rolled_over.clone(), rolled_over.iter().rev().cloned().collect()] {
            assert!(check_trusting(&by_idp, &list, |_| {}).is_ok());
            assert!(check_trusting(&by_other, &list, |_| {}).is_ok());
        }
        assert!(refused(check_trusting(&by_idp, &[], |_| {})));
    }
}

#[test]
fn sha1_signatures_are_refused_unless_the_owner_allowed_them() {
    let legacy = build(&Spec {
        sha1: true,
        ..Spec::default()
    });
    assert!(matches!(check(&legacy), Err(Rejection::Signature { .. })));
    assert!(check_with(&legacy, |e| e.allow_sha1 = true).is_ok());
}

#[test]
fn extra_and_wrapped_assertions_are_refused() {
    let signed = build(&Spec::default());
    let unsigned = assertion_xml(
        &Spec {
            name_id: "eve@acme.example".into(),
            ..Spec::default()
        },
        "_evil",
        "",
    );
    // A second, unsigned assertion after the signed one.
    let appended = signed.replace("</samlp:Response>", &format!("{unsigned}</samlp:Response>"));
    assert_eq!(check(&appended), Err(Rejection::AssertionCount(2)));
    // The signed assertion moved into Extensions and an unsigned one in its place (XSW layout).
    let start = signed.find("<saml:Assertion").unwrap();
    let end = signed.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let original = &signed[start..end];
    let wrapped = format!(
        "{}<samlp:Extensions>{original}</samlp:Extensions>{unsigned}{}",
        &signed[..start],
        &signed[end..]
    );
    assert_eq!(check(&wrapped), Err(Rejection::AssertionCount(2)));
    // Only the signed one, but hidden inside Extensions.
    let hidden = format!(
        "{}<samlp:Extensions>{original}</samlp:Extensions>{}",
        &signed[..start],
        &signed[end..]
    );
    assert_eq!(check(&hidden), Err(Rejection::AssertionMisplaced));
    // An unsigned assertion carrying the ID of the signed one, with the signed one nested in its signature.
    let duplicate_id = unsigned.replace("ID=\"_evil\"", "ID=\"_assertion-1\"");
    let nested = format!(
        "{}{}{}",
        &signed[..start],
        duplicate_id.replace(
            "</saml:Issuer>",
            &format!("</saml:Issuer><ds:Object xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{original}</ds:Object>")
        ),
        &signed[end..]
    );
    assert!(check(&nested).is_err());
    // No assertion at all.
    let empty = format!("{}{}", &signed[..start], &signed[end..]);
    assert_eq!(check(&empty), Err(Rejection::AssertionCount(0)));
}

#[test]
fn comments_inside_an_assertion_are_refused() {
    // `ada@acme.example<!---->.evil.example` must never be read as its first text node (CVE-2017-11427 class);
    // a comment survives signing because canonicalisation drops it, so it is refused wherever it appears.
    let xml = build(&Spec {
        name_id: "ada@acme.example<!---->.evil.example".into(),
        ..Spec::default()
    });
    assert_eq!(check(&xml), Err(Rejection::CommentInAssertion));
    let spec = Spec::default();
    let key_info = Some(&spec.signer.certificate);
    let assertion = assertion_xml(
        &spec,
        "_assertion-1",
        &signature_template("_assertion-1", false, key_info),
    )
    .replace(">Staff<", ">Sta<!-- x -->ff.evil<");
    let xml = strip_declaration(&sign(&response_xml(&spec, &assertion, ""), spec.signer));
    assert_eq!(check(&xml), Err(Rejection::CommentInAssertion));
    // A comment outside the assertion changes nothing.
    let outside = build(&Spec::default()).replace("<samlp:Status>", "<!-- status --><samlp:Status>");
    assert!(check(&outside).is_ok());
}

#[test]
fn every_envelope_rule_is_checked() {
    let cases: Vec<(Spec, Rejection)> = vec![
        (
            Spec {
                destination: Some(format!("{ACS}/extra")),
                ..Spec::default()
            },
            Rejection::Destination {
                found: format!("{ACS}/extra"),
                expected: ACS.into(),
            },
        ),
        (
            Spec {
                destination: Some(ACS[..ACS.len() - 1].into()),
                ..Spec::default()
            },
            Rejection::Destination {
                found: ACS[..ACS.len() - 1].into(),
                expected: ACS.into(),
            },
        ),
        (
            Spec {
                destination: None,
                signed: Signed::Response,
                ..Spec::default()
            },
            Rejection::MissingDestination,
        ),
        (
            Spec {
                status: "urn:oasis:names:tc:SAML:2.0:status:Responder".into(),
                ..Spec::default()
            },
            Rejection::Status {
                code: "urn:oasis:names:tc:SAML:2.0:status:Responder".into(),
                message: None,
            },
        ),
        (
            Spec {
                issuer: "https://other-idp.example.com".into(),
                ..Spec::default()
            },
            Rejection::Issuer {
                found: "https://other-idp.example.com".into(),
                expected: IDP.into(),
            },
        ),
        (
            Spec {
                in_response_to: Some("_someone-elses".into()),
                ..Spec::default()
            },
            Rejection::InResponseTo {
                found: "_someone-elses".into(),
                expected: Some(REQUEST.into()),
            },
        ),
        (
            Spec {
                confirmation_in_response_to: Some("_someone-elses".into()),
                ..Spec::default()
            },
            Rejection::InResponseTo {
                found: "_someone-elses".into(),
                expected: Some(REQUEST.into()),
            },
        ),
        (
            Spec {
                in_response_to: None,
                confirmation_in_response_to: None,
                ..Spec::default()
            },
            Rejection::Unsolicited,
        ),
        (
            Spec {
                recipient: format!("{ACS}0"),
                ..Spec::default()
            },
            Rejection::Recipient {
                found: format!("{ACS}0"),
                expected: ACS.into(),
            },
        ),
        (
            Spec {
                audience: None,
                ..Spec::default()
            },
            Rejection::NoAudience(SP.into()),
        ),
        (
            Spec {
                audience: Some("https://other-sp.example.com".into()),
                ..Spec::default()
            },
            Rejection::Audience {
                found: "https://other-sp.example.com".into(),
                expected: SP.into(),
            },
        ),
        (
            Spec {
                confirmation_until: None,
                ..Spec::default()
            },
            Rejection::MissingTime("SubjectConfirmationData NotOnOrAfter".into()),
        ),
        (
            Spec {
                not_on_or_after: now() - Duration::minutes(5),
                confirmation_until: Some(now() - Duration::minutes(5)),
                ..Spec::default()
            },
            Rejection::Expired("5 minutes".into()),
        ),
        (
            Spec {
                not_before: now() + Duration::minutes(10),
                ..Spec::default()
            },
            Rejection::NotYetValid {
                from: (now() + Duration::minutes(10)).to_rfc3339(),
                ahead: "10 minutes".into(),
            },
        ),
    ];
    for (spec, rejection) in cases {
        assert_eq!(check(&build(&spec)), Err(rejection.clone()), "{rejection:?}");
    }
}

#[test]
fn clock_skew_and_unsolicited_responses_follow_the_connection() {
    // Expired two minutes ago: within a three-minute skew, outside a one-minute one.
    let late = build(&Spec {
        not_on_or_after: now() - Duration::minutes(2),
        confirmation_until: Some(now() - Duration::minutes(2)),
        ..Spec::default()
    });
    assert!(check(&late).is_ok());
    assert_eq!(
        check_with(&late, |e| e.clock_skew = Duration::minutes(1)),
        Err(Rejection::Expired("2 minutes".into()))
    );
    // IdP-initiated: accepted only when allowed, and never when it claims to answer another request.
    let unsolicited = build(&Spec {
        in_response_to: None,
        confirmation_in_response_to: None,
        ..Spec::default()
    });
    assert_eq!(
        check_with(&unsolicited, |e| e.request_id = None),
        Err(Rejection::Unsolicited)
    );
    let accepted = check_with(&unsolicited, |e| {
        e.request_id = None;
        e.allow_unsolicited = true;
    })
    .unwrap();
    assert_eq!(accepted.in_response_to, None);
    let solicited = build(&Spec::default());
    assert!(matches!(
        check_with(&solicited, |e| {
            e.request_id = None;
            e.allow_unsolicited = true;
        }),
        Err(Rejection::InResponseTo { .. })
    ));
}

#[test]
fn hostile_documents_are_refused_before_any_signature_work() {
    let dtd = format!(
        "<!DOCTYPE r [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
        build(&Spec::default())
    );
    assert_eq!(check(&dtd), Err(Rejection::Shape(ShapeError::Dtd)));
    assert_eq!(check(&"x".repeat(300 * 1024)), Err(Rejection::TooLarge));
    assert!(matches!(
        check("<samlp:Response"),
        Err(Rejection::Malformed(_) | Rejection::Shape(ShapeError::Malformed(_)))
    ));
    assert!(matches!(
        check(r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>"#),
        Err(Rejection::NotAResponse(_))
    ));
}
