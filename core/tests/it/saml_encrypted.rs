//! Encrypted assertions at the ACS, against responses signed with xmlsec and encrypted (RSA-OAEP, AES-GCM and
//! AES-CBC) at test time: decrypted with the connection's SP keys, during a rotation too, and then held to every
//! rule of a plain assertion, since anyone can encrypt for the SP's public key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use gatehouse_core::saml::response::{Expectations, Rejection, SignedAssertion, validate_response};
use gatehouse_core::saml::{Certificate, KeyState, SpKey};
use test_idp::*;

fn check_with(xml: &str, keys: &[SpKey], adjust: impl FnOnce(&mut Expectations)) -> Result<SignedAssertion, Rejection> {
    let certificates = vec![idp().certificate.clone()];
    let mut expected = Expectations {
        idp_entity_id: IDP,
        certificates: &certificates,
        sp_keys: keys,
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

/// With the connection's keys in a rotation: active, next and previous.
fn check(xml: &str) -> Result<SignedAssertion, Rejection> {
    check_with(xml, sp_keys(), |_| {})
}

fn for_key(state: KeyState) -> Encryption {
    Encryption::to(&sp_key(state).certificate)
}

fn encrypted(signed: Signed, encryption: Encryption) -> String {
    build(&Spec {
        signed,
        encryption: Some(encryption),
        ..Spec::default()
    })
}

/// The element `<{tag} … </{tag}>` (the first one) in `xml`, with its position.
fn element<'a>(xml: &'a str, tag: &str) -> (usize, &'a str) {
    let start = xml.find(&format!("<{tag}")).unwrap();
    let close = format!("</{tag}>");
    let end = xml[start..].find(&close).unwrap() + start + close.len();
    (start, &xml[start..end])
}

fn encrypted_assertion(xml: &str) -> &str {
    element(xml, "saml:EncryptedAssertion").1
}

/// `xml` with the `which`-th CipherValue (in document order: with the key inside the EncryptedData's KeyInfo,
/// 0 is the EncryptedKey's and 1 the content's) decoded, changed and encoded again.
fn change_cipher_value(xml: &str, which: usize, change: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut at = 0;
    for _ in 0..which {
        at += xml[at..].find("</xenc:CipherValue>").unwrap() + 1;
    }
    let start = at + xml[at..].find("<xenc:CipherValue>").unwrap() + "<xenc:CipherValue>".len();
    let end = start + xml[start..].find("</xenc:CipherValue>").unwrap();
    let compact: String = xml[start..end].chars().filter(|c| !c.is_whitespace()).collect();
    let mut bytes = STANDARD.decode(compact).unwrap();
    change(&mut bytes);
    format!("{}{}{}", &xml[..start], STANDARD.encode(bytes), &xml[end..])
}

const KEY: usize = 0;
const CONTENT: usize = 1;

/// A plain response carrying `carried` instead of its assertion.
fn response_carrying(carried: &str, signed_response: bool) -> String {
    let spec = Spec::default();
    if signed_response {
        let template = response_xml(
            &spec,
            carried,
            &signature_template("_response-1", false, Some(&spec.signer.certificate)),
        );
        strip_declaration(&sign(&template, spec.signer))
    } else {
        response_xml(&spec, carried, "")
    }
}

/// The assertion of `spec`, signed by `signer` on its own, as an IdP signs it before encrypting.
fn signed_assertion(spec: &Spec, signer: &Signer) -> String {
    let template = assertion_xml(
        spec,
        &spec.assertion_id,
        &signature_template(&spec.assertion_id, false, Some(&signer.certificate)),
    );
    strip_declaration(&sign(&template, signer))
}

#[test]
fn an_encrypted_signed_assertion_yields_the_same_identity_as_a_plain_one() {
    let plain = check(&build(&Spec::default())).unwrap();
    for signed in [Signed::Assertion, Signed::Both] {
        let xml = encrypted(signed, for_key(KeyState::Active));
        assert!(xml.contains("<saml:EncryptedAssertion") && !xml.contains("<saml:Assertion"));
        assert!(!xml.contains("ada@acme.example"), "the identity travels encrypted");
        assert_eq!(check(&xml), Ok(plain.clone()));
    }
    // The active key alone is enough, as outside a rotation.
    let active_only = vec![sp_key(KeyState::Active).clone()];
    let xml = encrypted(Signed::Assertion, for_key(KeyState::Active));
    assert_eq!(check_with(&xml, &active_only, |_| {}), Ok(plain));
}

#[test]
fn during_a_rotation_the_next_and_the_previous_key_decrypt_too() {
    for state in [KeyState::Next, KeyState::Previous] {
        let xml = encrypted(Signed::Assertion, for_key(state));
        assert_eq!(check(&xml).unwrap().name_id, "ada@acme.example", "{state:?}");
        // Not naming the certificate, every key is tried in turn.
        let unnamed = encrypted(
            Signed::Assertion,
            Encryption {
                name_certificate: false,
                ..for_key(state)
            },
        );
        assert!(check(&unnamed).is_ok(), "{state:?}");
    }
    // Once the owner removed the previous key, what was encrypted for it no longer decrypts.
    let without_previous: Vec<SpKey> = sp_keys()
        .iter()
        .filter(|k| k.state != KeyState::Previous)
        .cloned()
        .collect();
    let xml = encrypted(Signed::Assertion, for_key(KeyState::Previous));
    assert_eq!(
        check_with(&xml, &without_previous, |_| {}),
        Err(Rejection::NoDecryptionKey(Some(
            sp_key(KeyState::Previous).certificate.sha256_fingerprint.clone()
        )))
    );
}

#[test]
fn an_assertion_encrypted_for_another_key_is_refused_naming_that_key() {
    let foreign = other_sp_key().certificate.sha256_fingerprint.clone();
    let named = encrypted(Signed::Assertion, Encryption::to(&other_sp_key().certificate));
    let refused = check(&named).unwrap_err();
    assert_eq!(refused, Rejection::NoDecryptionKey(Some(foreign)));
    let unnamed = encrypted(
        Signed::Assertion,
        Encryption {
            name_certificate: false,
            ..Encryption::to(&other_sp_key().certificate)
        },
    );
    let refused = check(&unnamed).unwrap_err();
    assert_eq!(refused, Rejection::NoDecryptionKey(None));
    // A connection without keys decrypts nothing.
    let xml = encrypted(Signed::Assertion, for_key(KeyState::Active));
    assert!(matches!(
        check_with(&xml, &[], |_| {}),
        Err(Rejection::NoDecryptionKey(_))
    ));
}

#[test]
fn encryption_is_not_authentication() {
    // Anyone can encrypt an assertion of their choosing for the SP's public key.
    let unsigned = encrypted(Signed::Nothing, for_key(KeyState::Active));
    let refused = check(&unsigned).unwrap_err();
    assert_eq!(refused, Rejection::UnsignedEncrypted);
    // Signed by a key the message names but the owner never configured.
    let forged = build(&Spec {
        signer: attacker(),
        encryption: Some(for_key(KeyState::Active)),
        ..Spec::default()
    });
    match check(&forged) {
        Err(Rejection::Signature {
            configured, offered, ..
        }) => {
            assert_eq!(configured, idp().certificate.sha256_fingerprint);
            assert_eq!(offered, Some(attacker().certificate.sha256_fingerprint.clone()));
        }
        other => panic!("{other:?}"),
    }
    // A genuinely signed assertion changed before being encrypted again.
    let changed = signed_assertion(&Spec::default(), idp())
        .replace("ada@acme.example</saml:NameID>", "eve@acme.example</saml:NameID>");
    let xml = response_carrying(&encrypt(&changed, &for_key(KeyState::Active)), false);
    assert!(matches!(check(&xml), Err(Rejection::Signature { .. })));
}

#[test]
fn a_signed_response_vouches_for_the_encrypted_assertion_it_carries() {
    let xml = encrypted(Signed::Response, for_key(KeyState::Active));
    let accepted = check(&xml).unwrap();
    assert_eq!(accepted.name_id, "ada@acme.example");
    assert_eq!(accepted.id, "_assertion-1");
    // The ciphertext is covered by the Response's signature: another one put in its place breaks it.
    let evil = assertion_xml(
        &Spec {
            name_id: "eve@acme.example".into(),
            ..Spec::default()
        },
        "_assertion-1",
        "",
    );
    let swapped = xml.replace(encrypted_assertion(&xml), &encrypt(&evil, &for_key(KeyState::Active)));
    assert!(matches!(check(&swapped), Err(Rejection::Signature { .. })));
    // A Response signed by someone else vouches for nothing.
    let forged = build(&Spec {
        signed: Signed::Response,
        signer: attacker(),
        encryption: Some(for_key(KeyState::Active)),
        ..Spec::default()
    });
    assert!(matches!(check(&forged), Err(Rejection::Signature { .. })));
    // Every signature must verify, the one inside the ciphertext too.
    let inner_forged = encrypt(
        signed_assertion(&Spec::default(), attacker()),
        &for_key(KeyState::Active),
    );
    assert!(matches!(
        check(&response_carrying(&inner_forged, true)),
        Err(Rejection::Signature { .. })
    ));
    // A signed Response must still name its Destination.
    let no_destination = build(&Spec {
        signed: Signed::Response,
        destination: None,
        encryption: Some(for_key(KeyState::Active)),
        ..Spec::default()
    });
    assert_eq!(check(&no_destination), Err(Rejection::MissingDestination));
}

#[test]
fn a_changed_ciphertext_is_refused_without_panicking() {
    for data in [DataCipher::Aes256Gcm, DataCipher::Aes128Gcm] {
        let xml = encrypted(
            Signed::Assertion,
            Encryption {
                data,
                ..for_key(KeyState::Active)
            },
        );
        // GCM authenticates the ciphertext: any changed bit fails the tag.
        let flipped = change_cipher_value(&xml, CONTENT, |b| b[40] ^= 1);
        assert!(matches!(check(&flipped), Err(Rejection::Undecryptable(_))), "{data:?}");
        let short = change_cipher_value(&xml, CONTENT, |b| b.truncate(20));
        assert!(matches!(check(&short), Err(Rejection::Undecryptable(_))), "{data:?}");
        let empty = change_cipher_value(&xml, CONTENT, Vec::clear);
        assert!(matches!(check(&empty), Err(Rejection::Undecryptable(_))), "{data:?}");
    }
    for data in [DataCipher::Aes256Cbc, DataCipher::Aes128Cbc] {
        let xml = encrypted(
            Signed::Assertion,
            Encryption {
                data,
                ..for_key(KeyState::Active)
            },
        );
        // CBC is malleable: a flipped IV bit flips the same bit of the plaintext (`<saml:Assertion` becomes
        // `<saml:assertion`), which the content and signature checks then catch.
        let renamed = change_cipher_value(&xml, CONTENT, |b| b[6] ^= 0x20);
        assert!(
            matches!(check(&renamed), Err(Rejection::DecryptedContent(_))),
            "{data:?}: {:?}",
            check(&renamed)
        );
        // A bit flipped in the next-to-last block turns the padding length into nonsense.
        let padding = change_cipher_value(&xml, CONTENT, |b| {
            let at = b.len() - 17;
            b[at] ^= 0x80
        });
        assert!(matches!(check(&padding), Err(Rejection::Undecryptable(_))), "{data:?}");
        let ragged = change_cipher_value(&xml, CONTENT, |b| {
            b.pop();
        });
        assert!(matches!(check(&ragged), Err(Rejection::Undecryptable(_))), "{data:?}");
        let iv_only = change_cipher_value(&xml, CONTENT, |b| b.truncate(16));
        assert!(matches!(check(&iv_only), Err(Rejection::Undecryptable(_))), "{data:?}");
    }
    // A changed content key: it names the active key, which does not open it.
    let xml = encrypted(Signed::Assertion, for_key(KeyState::Active));
    let wrong_key = change_cipher_value(&xml, KEY, |b| b[100] ^= 1);
    match check(&wrong_key) {
        Err(Rejection::Undecryptable(reason)) => assert!(
            reason.contains(&sp_key(KeyState::Active).certificate.sha256_fingerprint),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    let unnamed = encrypted(
        Signed::Assertion,
        Encryption {
            name_certificate: false,
            ..for_key(KeyState::Active)
        },
    );
    let wrong_key = change_cipher_value(&unnamed, KEY, |b| b[100] ^= 1);
    assert_eq!(check(&wrong_key), Err(Rejection::NoDecryptionKey(None)));
    let short_key = change_cipher_value(&xml, KEY, |b| b.truncate(3));
    assert!(matches!(check(&short_key), Err(Rejection::Undecryptable(_))));
    // Not Base64, no content, nothing at all.
    let garbled = xml.replacen("<xenc:CipherValue>", "<xenc:CipherValue>*", 2);
    assert!(matches!(check(&garbled), Err(Rejection::MalformedEncryption(_))));
    let (start, data) = element(&xml, "xenc:EncryptedData");
    let no_data = format!("{}{}", &xml[..start], &xml[start + data.len()..]);
    assert!(matches!(check(&no_data), Err(Rejection::MalformedEncryption(_))));
    let empty = response_carrying("<saml:EncryptedAssertion/>", false);
    assert!(matches!(check(&empty), Err(Rejection::MalformedEncryption(_))));
}

#[test]
fn signature_wrapping_around_encrypted_assertions_is_refused() {
    let xml = encrypted(Signed::Assertion, for_key(KeyState::Active));
    let genuine = encrypted_assertion(&xml).to_owned();
    let plain_signed = signed_assertion(&Spec::default(), idp());
    let evil = assertion_xml(
        &Spec {
            name_id: "eve@acme.example".into(),
            ..Spec::default()
        },
        "_evil",
        "",
    );
    let evil_encrypted = encrypt(&evil, &for_key(KeyState::Active));
    // A signed plain assertion beside an encrypted one, either way round.
    for carried in [format!("{plain_signed}{evil_encrypted}"), format!("{genuine}{evil}")] {
        assert_eq!(
            check(&response_carrying(&carried, false)),
            Err(Rejection::MixedAssertions)
        );
    }
    // Two encrypted assertions.
    let two = response_carrying(&format!("{genuine}{evil_encrypted}"), false);
    assert_eq!(check(&two), Err(Rejection::EncryptedAssertionCount(2)));
    // The genuine one hidden in Extensions.
    let hidden = response_carrying(&format!("<samlp:Extensions>{genuine}</samlp:Extensions>"), false);
    assert_eq!(check(&hidden), Err(Rejection::AssertionMisplaced));
    let hidden_and_replaced = response_carrying(
        &format!("<samlp:Extensions>{genuine}</samlp:Extensions>{evil_encrypted}"),
        false,
    );
    assert_eq!(check(&hidden_and_replaced), Err(Rejection::EncryptedAssertionCount(2)));
    // Inside the ciphertext: the signed assertion beside an unsigned one, or nested in one carrying its ID.
    let both_inside = encrypt(format!("{plain_signed}{evil}"), &for_key(KeyState::Active));
    assert_eq!(
        check(&response_carrying(&both_inside, false)),
        Err(Rejection::DecryptedContent(
            "it holds 2 elements; exactly one Assertion is expected".into()
        ))
    );
    let nested = evil.replace("ID=\"_evil\"", "ID=\"_assertion-1\"").replace(
        "</saml:Issuer>",
        &format!("</saml:Issuer><ds:Object xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">{plain_signed}</ds:Object>"),
    );
    let nested = encrypt(&nested, &for_key(KeyState::Active));
    assert_eq!(
        check(&response_carrying(&nested, false)),
        Err(Rejection::AssertionCount(2))
    );
    // A plaintext that tries to close the Response and open another one.
    let escape = encrypt(
        format!("{plain_signed}</samlp:Response><samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\">"),
        &for_key(KeyState::Active),
    );
    assert!(matches!(
        check(&response_carrying(&escape, false)),
        Err(Rejection::DecryptedContent(_))
    ));
    // An encrypted assertion inside the decrypted one.
    let russian_doll = plain_signed.replace("</saml:Issuer>", &format!("</saml:Issuer>{evil_encrypted}"));
    let doll = encrypt(&russian_doll, &for_key(KeyState::Active));
    assert_eq!(check(&response_carrying(&doll, false)), Err(Rejection::MixedAssertions));
}

#[test]
fn decrypted_content_must_be_one_assertion_without_dtd_or_comments() {
    let plain_signed = signed_assertion(&Spec::default(), idp());
    let carrying = |plaintext: &[u8]| response_carrying(&encrypt(plaintext, &for_key(KeyState::Active)), false);
    let dtd = format!("<!DOCTYPE saml:Assertion [<!ENTITY a \"aaaaaaaaaa\">]>{plain_signed}");
    assert_eq!(check(&carrying(dtd.as_bytes())), Err(Rejection::DecryptedDtd));
    let entity = plain_signed.replace("</saml:Issuer>", "</saml:Issuer><!ENTITY a \"b\">");
    assert_eq!(check(&carrying(entity.as_bytes())), Err(Rejection::DecryptedDtd));
    assert_eq!(
        check(&carrying(b"<saml:Subject/>")),
        Err(Rejection::DecryptedContent(
            "it is a Subject, not a SAML Assertion".into()
        ))
    );
    assert!(matches!(
        check(&carrying(b"just text")),
        Err(Rejection::DecryptedContent(_))
    ));
    assert!(matches!(
        check(&carrying(format!("{plain_signed}<!-- trailer -->").as_bytes())),
        Err(Rejection::DecryptedContent(_))
    ));
    assert_eq!(
        check(&carrying(&[0xff, 0xfe, b'<'])),
        Err(Rejection::DecryptedContent("it is not UTF-8 text".into()))
    );
    assert_eq!(
        check(&carrying(b"")),
        Err(Rejection::DecryptedContent(
            "it holds 0 elements; exactly one Assertion is expected".into()
        ))
    );
    // A comment inside the decrypted assertion is refused as in a plain one.
    let spec = Spec {
        name_id: "ada@acme.example<!---->.evil.example".into(),
        ..Spec::default()
    };
    let commented = carrying(signed_assertion(&spec, idp()).as_bytes());
    assert_eq!(check(&commented), Err(Rejection::CommentInAssertion));
    // An XML declaration in front of the element is harmless.
    let declared = carrying(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{plain_signed}").as_bytes());
    assert_eq!(check(&declared).unwrap().name_id, "ada@acme.example");
}

#[test]
fn every_supported_algorithm_decrypts() {
    for data in DataCipher::ALL {
        for key_transport in [KeyTransport::RsaOaepMgf1p, KeyTransport::RsaOaepSha256] {
            for key_beside_data in [false, true] {
                let xml = encrypted(
                    Signed::Assertion,
                    Encryption {
                        data,
                        key_transport,
                        key_beside_data,
                        ..for_key(KeyState::Active)
                    },
                );
                assert!(xml.contains(data.uri()));
                assert_eq!(
                    check(&xml).map(|a| a.name_id),
                    Ok("ada@acme.example".into()),
                    "{data:?} {key_transport:?} beside: {key_beside_data}"
                );
            }
        }
    }
    // rsa-oaep-mgf1p without a DigestMethod means SHA-1.
    let xml = encrypted(Signed::Assertion, for_key(KeyState::Active));
    let bare = xml.replace(
        r#"<ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/>"#,
        "",
    );
    assert_ne!(bare, xml);
    assert!(check(&bare).is_ok());
}

#[test]
fn unsupported_algorithms_are_refused_by_name() {
    let xml = encrypted(Signed::Assertion, for_key(KeyState::Active));
    let cases = [
        (
            DataCipher::Aes256Cbc.uri(),
            "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
        ),
        (
            "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
            "http://www.w3.org/2001/04/xmlenc#rsa-1_5",
        ),
        (
            "http://www.w3.org/2000/09/xmldsig#sha1",
            "http://www.w3.org/2001/04/xmldsig-more#md5",
        ),
    ];
    for (supported, unsupported) in cases {
        let changed = xml.replace(supported, unsupported);
        assert_ne!(changed, xml);
        let refused = check(&changed).unwrap_err();
        assert_eq!(refused, Rejection::UnsupportedEncryption(unsupported.into()));
    }
    // An unknown MGF of XML Encryption 1.1's rsa-oaep.
    let xml = encrypted(
        Signed::Assertion,
        Encryption {
            key_transport: KeyTransport::RsaOaepSha256,
            ..for_key(KeyState::Active)
        },
    );
    let changed = xml.replace("#mgf1sha256", "#mgf1sha3");
    assert_eq!(
        check(&changed),
        Err(Rejection::UnsupportedEncryption(
            "http://www.w3.org/2009/xmlenc11#mgf1sha3".into()
        ))
    );
}

#[test]
fn every_assertion_rule_still_applies_after_decryption() {
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
                not_on_or_after: now() - Duration::minutes(5),
                confirmation_until: Some(now() - Duration::minutes(5)),
                ..Spec::default()
            },
            Rejection::Expired("5 minutes".into()),
        ),
    ];
    for (spec, rejection) in cases {
        for signed in [Signed::Assertion, Signed::Response] {
            let xml = build(&Spec {
                signed,
                encryption: Some(for_key(KeyState::Active)),
                ..spec.clone()
            });
            assert_eq!(check(&xml), Err(rejection.clone()), "{rejection:?}");
        }
    }
    // SHA-1 inside the ciphertext only where the owner allowed it.
    let legacy = build(&Spec {
        sha1: true,
        encryption: Some(for_key(KeyState::Active)),
        ..Spec::default()
    });
    assert!(matches!(check(&legacy), Err(Rejection::Signature { .. })));
    assert!(check_with(&legacy, sp_keys(), |e| e.allow_sha1 = true).is_ok());
    // The size limit holds for encrypted responses too.
    let huge = build(&Spec {
        groups: vec!["g".repeat(200 * 1024)],
        encryption: Some(for_key(KeyState::Active)),
        ..Spec::default()
    });
    assert_eq!(check(&huge), Err(Rejection::TooLarge));
}

#[test]
fn the_test_idp_encrypts_for_the_certificate_it_is_given() {
    // The fixtures themselves: what is encrypted for one SP key is not readable with the others.
    let xml = encrypted(
        Signed::Assertion,
        Encryption {
            name_certificate: false,
            ..for_key(KeyState::Next)
        },
    );
    let only = |state: KeyState| -> Vec<SpKey> { vec![sp_key(state).clone()] };
    assert!(check_with(&xml, &only(KeyState::Next), |_| {}).is_ok());
    for state in [KeyState::Active, KeyState::Previous] {
        assert_eq!(
            check_with(&xml, &only(state), |_| {}),
            Err(Rejection::NoDecryptionKey(None))
        );
    }
    let certificate: &Certificate = &sp_key(KeyState::Next).certificate;
    assert!(
        encrypted_assertion(&encrypted(Signed::Assertion, Encryption::to(certificate)))
            .contains(&certificate.to_base64())
    );
}
