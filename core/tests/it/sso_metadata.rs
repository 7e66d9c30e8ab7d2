//! IdP metadata and certificates as real identity providers export them (`testkit/fixtures/idp-metadata/`),
//! and the documents an attacker or a mistaken upload would send.

use crate::support::fixture;
use chrono::{TimeZone, Utc};
use gatehouse_core::saml::metadata::{HTTP_POST, HTTP_REDIRECT, MAX_METADATA_BYTES};
use gatehouse_core::saml::{
    Certificate, CertificateError, IdpMetadata, MetadataDocument, MetadataError, Validity, parse_metadata,
};

fn single(name: &str) -> IdpMetadata {
    match parse_metadata(&fixture(name)) {
        Ok(MetadataDocument::Single(idp)) => idp,
        other => panic!("{name}: {other:?}"),
    }
}

fn bindings(endpoints: &[gatehouse_core::saml::Endpoint]) -> Vec<&str> {
    endpoints.iter().map(|e| e.binding.as_str()).collect()
}

#[test]
fn every_real_idp_export_imports() {
    // (file, entity ID, signing certificates, SSO bindings, SLO endpoints)
    let expected: [(&str, &str, usize, &[&str], usize); 8] = [
        (
            "entra.metadata.xml",
            "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/",
            1,
            &[HTTP_REDIRECT, HTTP_POST],
            1,
        ),
        (
            "okta.metadata.xml",
            "http://www.okta.com/exkdoocxa1VmjpXmX697",
            1,
            &[HTTP_POST, HTTP_REDIRECT],
            0,
        ),
        (
            "google.metadata.xml",
            "https://accounts.google.com/o/saml2?idpid=C029op2ga",
            1,
            &[HTTP_REDIRECT, HTTP_POST],
            0,
        ),
        (
            "onelogin.metadata.xml",
            "https://app.onelogin.com/saml/metadata/645460",
            1,
            &[HTTP_REDIRECT, HTTP_POST],
            1,
        ),
        ("jumpcloud.metadata.xml", "IdP Entity ID", 1, &[HTTP_POST], 0),
        (
            "adfs.metadata.xml",
            "http://fs.msidlab11.com/adfs/services/trust",
            1,
            &[HTTP_REDIRECT, HTTP_POST],
            2,
        ),
        (
            "shibboleth.metadata.xml",
            "https://idp.msidlab13.com/idp/shibboleth",
            1,
            &[HTTP_POST, HTTP_REDIRECT],
            0,
        ),
        (
            "auth0.metadata.xml",
            "urn:dev-tyj7qyzz.auth0.com",
            1,
            &[HTTP_REDIRECT, HTTP_POST],
            2,
        ),
    ];
    for (file, entity_id, certificates, sso, slo) in expected {
        let idp = single(file);
        assert_eq!(idp.entity_id, entity_id, "{file}");
        assert_eq!(idp.signing_certificates.len(), certificates, "{file}");
        let mut got = bindings(&idp.sso);
        let mut want = sso.to_vec();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{file}: SSO bindings");
        assert_eq!(idp.slo.len(), slo, "{file}: SLO endpoints");
        assert!(idp.preferred_sso().is_some(), "{file}");
        assert!(idp.signing_certificates[0].key.starts_with("RSA"), "{file}");
    }
}

#[test]
fn details_of_real_exports_are_read_as_the_idp_meant_them() {
    let entra = single("entra.metadata.xml");
    assert!(entra.signed, "Entra signs its federation metadata");
    assert_eq!(entra.preferred_sso().unwrap().binding, HTTP_REDIRECT);
    assert!(
        entra.signing_certificates[0]
            .subject
            .contains("Microsoft Azure Federated SSO Certificate")
    );

    let jumpcloud = single("jumpcloud.metadata.xml");
    assert_eq!(jumpcloud.preferred_sso().unwrap().binding, HTTP_POST, "HTTP-POST only");
    assert_eq!(jumpcloud.signing_certificates[0].key, "RSA 4096 bits");
    assert_eq!(
        jumpcloud.name_id_formats,
        ["urn:oasis:names:tc:SAML:1.0:nameid-format:unspecified"]
    );

    let auth0 = single("auth0.metadata.xml");
    assert!(
        auth0.name_id_formats.iter().all(|f| f.trim() == f && !f.is_empty()),
        "trimmed"
    );

    // ADFS lists an encryption key too; only the signing one is taken.
    let adfs = single("adfs.metadata.xml");
    assert!(adfs.signing_certificates[0].subject.contains("ADFS Signing"));
    assert_eq!(adfs.name_id_formats.len(), 3);

    // Shibboleth's KeyDescriptor has no `use`: it signs too.
    let shibboleth = single("shibboleth.metadata.xml");
    assert!(shibboleth.signing_certificates[0].subject.contains("msidlab13.com"));

    let okta = single("okta.metadata.xml");
    assert!(!okta.want_authn_requests_signed);
    let fingerprint = &okta.signing_certificates[0].sha256_fingerprint;
    assert_eq!(fingerprint.len(), 32 * 3 - 1);
    assert!(fingerprint.chars().all(|c| c == ':' || c.is_ascii_hexdigit()));
}

#[test]
fn an_aggregate_offers_each_of_its_idps_and_skips_service_providers() {
    let MetadataDocument::Aggregate(idps) = parse_metadata(&fixture("multi_idp_edugain.entities.xml")).unwrap() else {
        panic!("an EntitiesDescriptor is an aggregate");
    };
    let ids: Vec<&str> = idps.iter().map(|i| i.entity_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "https://si-saai.ualg.pt/idp/shibboleth",
            "https://idp.fccn.pt/idp/shibboleth"
        ]
    );
}

#[test]
fn an_idp_is_named_by_its_display_name_in_english_else_its_organisation() {
    let file = String::from_utf8(fixture("multi_idp_edugain.entities.xml")).unwrap();
    let names = |xml: &str| -> Vec<Option<String>> {
        let MetadataDocument::Aggregate(idps) = parse_metadata(xml.as_bytes()).unwrap() else {
            panic!("an aggregate");
        };
        idps.into_iter().map(|i| i.display_name).collect()
    };
    assert_eq!(
        names(&file),
        [Some("University of Algarve".to_owned()), Some("FCT|FCCN".to_owned())],
        "mdui:DisplayName, English of English and Portuguese"
    );
    let without_ui_names = file.replace("mdui:DisplayName", "mdui:Keywords");
    assert_eq!(
        names(&without_ui_names),
        [Some("University of Algarve".to_owned()), Some("FCCN".to_owned())],
        "the English OrganizationDisplayName"
    );
    let without_english = without_ui_names.replace("xml:lang=\"en\"", "xml:lang=\"es\"");
    assert_eq!(
        names(&without_english),
        [
            Some("Universidade do Algarve".to_owned()),
            Some("FCCN - unidade da FCT I.P.".to_owned())
        ],
        "the first name when none is in English"
    );
    assert_eq!(single("okta.metadata.xml").display_name, None);
}

#[test]
fn certificates_are_flagged_by_their_dates_but_still_read() {
    let onelogin = &single("onelogin.metadata.xml").signing_certificates[0];
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    assert_eq!(
        onelogin.validity(now),
        Validity::Expired,
        "expired 2021, imported anyway"
    );
    let okta = &single("okta.metadata.xml").signing_certificates[0];
    assert_eq!(okta.validity(now), Validity::Valid);
    assert_eq!(
        okta.validity(okta.not_after - chrono::Duration::days(10)),
        Validity::ExpiresSoon
    );
    assert_eq!(
        okta.validity(okta.not_before - chrono::Duration::days(1)),
        Validity::NotYetValid
    );
}

#[test]
fn pasted_certificates_are_accepted_in_every_usual_form() {
    let original = single("okta.metadata.xml").signing_certificates.remove(0);
    let base64 = original.to_base64();
    let wrapped: String = base64
        .as_bytes()
        .chunks(64)
        .map(|line| format!("{}\n", std::str::from_utf8(line).unwrap()))
        .collect();
    let pem = format!("-----BEGIN CERTIFICATE-----\n{wrapped}-----END CERTIFICATE-----\n");
    let other = single("google.metadata.xml").signing_certificates.remove(0);
    let chain = format!(
        "{pem}-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        other.to_base64()
    );
    for input in [
        base64.clone(),
        wrapped.clone(),
        format!("  {base64}  \r\n"),
        pem.clone(),
        pem.replace('\n', "\r\n"),
    ] {
        let parsed = Certificate::parse_all(input.as_bytes()).unwrap_or_else(|e| panic!("{e}: {input:.40}"));
        assert_eq!(parsed, vec![original.clone()]);
    }
    assert_eq!(
        Certificate::parse_all(original.der()).unwrap(),
        vec![original.clone()],
        "binary .cer"
    );
    assert_eq!(Certificate::parse_all(chain.as_bytes()).unwrap(), vec![original, other]);
}

#[test]
fn what_is_not_a_certificate_is_named() {
    assert_eq!(Certificate::parse_all(b"  \n "), Err(CertificateError::Empty));
    assert!(matches!(
        Certificate::parse_all(b"this is not base64!"),
        Err(CertificateError::NotBase64(_))
    ));
    assert!(matches!(
        Certificate::parse_all(b"aGVsbG8gd29ybGQ="),
        Err(CertificateError::NotACertificate(_))
    ));
    assert_eq!(
        Certificate::parse_all(b"-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"),
        Err(CertificateError::PrivateKey)
    );
    let truncated = &single("okta.metadata.xml").signing_certificates[0].to_base64()[..200];
    assert!(Certificate::parse_all(truncated.as_bytes()).is_err());
}

#[test]
fn entity_expansion_and_external_entities_are_refused() {
    let billion_laughs = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol2;"/>"#;
    assert_eq!(parse_metadata(billion_laughs), Err(MetadataError::Dtd));
    let external = br#"<?xml version="1.0"?>
<!DOCTYPE md [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&xxe;"/>"#;
    assert_eq!(parse_metadata(external), Err(MetadataError::Dtd));
}

#[test]
fn a_web_page_is_named_as_one_with_where_the_metadata_is_and_a_real_dtd_is_still_refused() {
    let pages: [&[u8]; 6] = [
        b"<!DOCTYPE html><html lang=\"en\"><head><title>Microsoft Entra admin center</title></head><body></body></html>",
        b"\xef\xbb\xbf\r\n  <!doctype HTML>\n<html><body><script>var a = 1 < 2;</script></body></html>",
        b"<HTML><BODY>Sign in</BODY></HTML>",
        b"<html/>",
        br#"<?xml version="1.0" encoding="utf-8"?>
<!-- saved from the admin console -->
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>"#,
        br#"<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>"#,
    ];
    for page in pages {
        assert_eq!(
            parse_metadata(page),
            Err(MetadataError::HtmlPage),
            "{}",
            String::from_utf8_lossy(page)
        );
    }
    let message = MetadataError::HtmlPage.to_string();
    for says in [
        "HTML web page, not SAML 2.0 metadata",
        "Federation Metadata XML",
        "App Federation Metadata Url",
        "Sign On tab",
        "Download metadata",
    ] {
        assert!(message.contains(says), "{says}: {message}");
    }
    assert!(!message.contains("DTD"));

    // A DTD in a document that is not a web page is still the attack it looks like.
    let named_like_a_page = br#"<!DOCTYPE htmlish [<!ENTITY a "b">]><htmlish/>"#;
    assert_eq!(parse_metadata(named_like_a_page), Err(MetadataError::Dtd));
    let after_a_declaration = br#"<?xml version="1.0"?><!DOCTYPE md [<!ENTITY a "b">]><md/>"#;
    assert_eq!(parse_metadata(after_a_declaration), Err(MetadataError::Dtd));
}

#[test]
fn broken_huge_and_wrong_documents_are_rejected_with_a_reason() {
    assert_eq!(parse_metadata(b""), Err(MetadataError::Empty));
    assert_eq!(parse_metadata(&[0xff, 0xfe, 0x00]), Err(MetadataError::NotText));
    let huge = vec![b' '; MAX_METADATA_BYTES + 1];
    assert_eq!(
        parse_metadata(&huge),
        Err(MetadataError::TooLarge(MAX_METADATA_BYTES + 1))
    );
    assert!(matches!(
        parse_metadata(b"<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">"),
        Err(MetadataError::Malformed(_))
    ));
    assert_eq!(
        parse_metadata(b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>News</title></feed>"),
        Err(MetadataError::NotMetadata("feed".into()))
    );
    // A document truncated half-way (an interrupted download) is malformed, never half-read.
    let entra = fixture("entra.metadata.xml");
    assert!(matches!(
        parse_metadata(&entra[..entra.len() / 2]),
        Err(MetadataError::Malformed(_))
    ));

    let sp = br#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"#;
    assert_eq!(parse_metadata(sp), Err(MetadataError::NotAnIdp));

    // Without a signing certificate an IdP cannot be trusted, so its metadata is refused.
    let okta = String::from_utf8(fixture("okta.metadata.xml")).unwrap();
    let start = okta.find("<md:KeyDescriptor").unwrap();
    let end = okta.find("</md:KeyDescriptor>").unwrap() + "</md:KeyDescriptor>".len();
    let keyless = format!("{}{}", &okta[..start], &okta[end..]);
    assert_eq!(
        parse_metadata(keyless.as_bytes()),
        Err(MetadataError::NoSigningCertificate(
            "http://www.okta.com/exkdoocxa1VmjpXmX697".into()
        ))
    );
    let encryption_only = okta.replace("use=\"signing\"", "use=\"encryption\"");
    assert!(matches!(
        parse_metadata(encryption_only.as_bytes()),
        Err(MetadataError::NoSigningCertificate(_))
    ));
    let garbled = okta.replacen("MIIDqjCCApKgAwIBAgIGAY8W9FSq", "MIIDqjCCApKgAwIBAgIGAY8W9FS!", 1);
    assert!(matches!(
        parse_metadata(garbled.as_bytes()),
        Err(MetadataError::BadCertificate(_))
    ));
    let no_sso = okta.replace("SingleSignOnService", "ArtifactResolutionService");
    assert!(matches!(
        parse_metadata(no_sso.as_bytes()),
        Err(MetadataError::NoSsoEndpoint(_))
    ));
    let bad_url = okta.replace("Location=\"https://", "Location=\"javascript://");
    assert!(matches!(
        parse_metadata(bad_url.as_bytes()),
        Err(MetadataError::InvalidEndpoint(_))
    ));
}
