//! What a connection carries besides the IdP's own values: sign-in options, Gatehouse's SP keys and their
//! rotation, the SP metadata document, certificate changes and replacing the IdP settings in place.

use crate::support::{TestWorld, fixture, t0, upload};
use gatehouse_core::audit::AuditService;
use gatehouse_core::saml::{AuthnContext, Certificate, KeyState, RequestBinding};
use gatehouse_core::sso::options::MICROSOFT_EMAIL_CLAIM;
use gatehouse_core::sso::{ConnectionError, EmailSource, ManualFields, OptionsForm, Source};
use gatehouse_core::tenancy::{Role, TenancyError};
use std::process::Command;

fn certificate_of(name: &str) -> Certificate {
    let text = String::from_utf8(fixture(name)).unwrap();
    let start = text.find("X509Certificate>").unwrap() + "X509Certificate>".len();
    let end = start + text[start..].find('<').unwrap();
    Certificate::from_base64(&text[start..end]).unwrap()
}

fn options_form() -> OptionsForm<'static> {
    OptionsForm {
        allow_idp_initiated: false,
        sign_authn_requests: true,
        binding: "redirect",
        authn_context: "none",
        email_source: "nameid",
        email_attribute: "",
        allow_sha1: false,
        clock_skew_seconds: "180",
    }
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, ConnectionError>) -> bool {
    matches!(result, Err(ConnectionError::Tenancy(TenancyError::Forbidden { .. })))
}

async fn last_audit(
    audit: &AuditService,
    caller: &gatehouse_core::Caller,
    account: gatehouse_core::AccountId,
) -> (String, String) {
    let entry = audit.recent(caller, account).await.unwrap().remove(0);
    (entry.action, entry.detail)
}

#[tokio::test]
async fn a_new_connection_gets_strict_options_suited_to_its_idp_and_one_active_key() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let entra = connections
        .import_metadata(
            &owner,
            account,
            &upload("Entra", &fixture("entra.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        entra.options.email,
        EmailSource::Attribute(MICROSOFT_EMAIL_CLAIM.into())
    );
    assert_eq!(entra.options.binding, RequestBinding::Redirect);
    assert!(entra.options.sign_authn_requests && !entra.options.allow_idp_initiated && !entra.options.allow_sha1);
    assert_eq!(entra.options.clock_skew_seconds, 180);
    assert_eq!(entra.options.authn_context, AuthnContext::None);
    assert_eq!(entra.sp_keys.len(), 1);
    assert_eq!(entra.sp_keys[0].state, KeyState::Active);
    assert_eq!(entra.sp_keys[0].certificate.key, "RSA 2048 bits");

    let jumpcloud = connections
        .import_metadata(
            &owner,
            account,
            &upload("JumpCloud", &fixture("jumpcloud.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        jumpcloud.options.binding,
        RequestBinding::Post,
        "JumpCloud offers only HTTP-POST"
    );
    assert_eq!(jumpcloud.options.email, EmailSource::NameId);
    assert_ne!(
        jumpcloud.sp_keys[0].certificate.sha256_fingerprint, entra.sp_keys[0].certificate.sha256_fingerprint,
        "each connection has its own key pair"
    );
    // What was generated is what is read back.
    let listed = connections.list(&owner, account).await.unwrap();
    assert!(listed.len() == 2 && listed.contains(&entra) && listed.contains(&jumpcloud));
}

#[tokio::test]
async fn options_are_validated_audited_and_the_risky_switches_and_the_email_source_are_the_owners() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let admin = world.join(&owner, account, "admin@acme.example", Role::Admin).await;
    let viewer = world.join(&owner, account, "viewer@acme.example", Role::Viewer).await;
    let connections = world.connections();
    let audit = world.audit();
    let okta = connections
        .import_metadata(
            &owner,
            account,
            &upload("Okta", &fixture("okta.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();

    let changed = OptionsForm {
        binding: "post",
        authn_context: "password_protected_transport",
        email_source: "attribute",
        email_attribute: "email",
        clock_skew_seconds: "60",
        sign_authn_requests: false,
        ..options_form()
    };
    // Where the email comes from is the Owner's: it decides whom an assertion names.
    assert!(forbidden(
        connections.save_options(&admin, account, okta.id, &changed, t0()).await
    ));
    let saved = connections
        .save_options(&owner, account, okta.id, &changed, t0())
        .await
        .unwrap();
    assert_eq!(saved.binding, RequestBinding::Post);
    assert_eq!(saved.email, EmailSource::Attribute("email".into()));
    let (action, detail) = last_audit(&audit, &owner, account).await;
    assert_eq!(action, "Connection options changed");
    for change in [
        "Sign AuthnRequests: on → off",
        "Binding: HTTP-Redirect → HTTP-POST",
        "Requested authentication context: None (the IdP decides) → Password over a protected transport",
        "Email from: the NameID → attribute email",
        "Clock skew: 180 s → 60 s",
    ] {
        assert!(detail.contains(change), "{detail} lacks {change}");
    }
    let reread = connections.list(&viewer, account).await.unwrap().remove(0);
    assert_eq!(reread.options, saved);
    assert_eq!(reread.sso_endpoint().binding, RequestBinding::Post.urn());

    // The Admin may not switch on IdP-initiated sign-in or SHA-1; the Owner may; a Viewer changes nothing.
    let risky = OptionsForm {
        allow_sha1: true,
        ..changed
    };
    assert!(forbidden(
        connections.save_options(&admin, account, okta.id, &risky, t0()).await
    ));
    assert!(forbidden(
        connections
            .save_options(&viewer, account, okta.id, &changed, t0())
            .await
    ));
    assert_eq!(
        connections.list(&owner, account).await.unwrap().remove(0).options,
        saved
    );
    let idp_initiated = OptionsForm {
        allow_idp_initiated: true,
        ..risky
    };
    connections
        .save_options(&owner, account, okta.id, &idp_initiated, t0())
        .await
        .unwrap();
    let (_, detail) = last_audit(&audit, &owner, account).await;
    assert!(detail.contains("IdP-initiated sign-in: off → on") && detail.contains("SHA-1 signatures: off → on"));
    // Once on, the Admin may still save other options as long as the Owner's switches stay as they are…
    let admin_edit = OptionsForm {
        clock_skew_seconds: "120",
        ..idp_initiated
    };
    connections
        .save_options(&admin, account, okta.id, &admin_edit, t0())
        .await
        .unwrap();
    // …but not turn them off.
    assert!(forbidden(
        connections
            .save_options(
                &admin,
                account,
                okta.id,
                &OptionsForm {
                    allow_sha1: false,
                    ..admin_edit
                },
                t0()
            )
            .await
    ));

    // Bad values are refused and change nothing.
    let before = connections.list(&owner, account).await.unwrap().remove(0).options;
    for (form, field) in [
        (
            OptionsForm {
                clock_skew_seconds: "601",
                ..options_form()
            },
            "clock_skew_seconds",
        ),
        (
            OptionsForm {
                email_source: "attribute",
                email_attribute: " ",
                ..options_form()
            },
            "email_attribute",
        ),
        (
            OptionsForm {
                authn_context: "smartcard",
                ..options_form()
            },
            "authn_context",
        ),
        (
            OptionsForm {
                binding: "soap",
                ..options_form()
            },
            "binding",
        ),
    ] {
        match connections.save_options(&owner, account, okta.id, &form, t0()).await {
            Err(ConnectionError::Options(e)) => assert_eq!(e.field(), field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(
        connections.list(&owner, account).await.unwrap().remove(0).options,
        before
    );

    // JumpCloud offers no HTTP-Redirect endpoint, so that binding cannot be chosen.
    let jumpcloud = connections
        .import_metadata(
            &owner,
            account,
            &upload("JumpCloud", &fixture("jumpcloud.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(
        connections
            .save_options(&owner, account, jumpcloud.id, &options_form(), t0())
            .await,
        Err(ConnectionError::Options(_))
    ));

    // Another account cannot reach the connection.
    let (other, other_account) = world.user("other@else.example").await;
    assert!(matches!(
        connections
            .save_options(&other, other_account, okta.id, &options_form(), t0())
            .await,
        Err(ConnectionError::NotFound)
    ));
}

#[tokio::test]
async fn sp_keys_rotate_with_an_overlap() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let viewer = world.join(&owner, account, "viewer@acme.example", Role::Viewer).await;
    let connections = world.connections();
    let audit = world.audit();
    let okta = connections
        .import_metadata(
            &owner,
            account,
            &upload("Okta", &fixture("okta.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    let first = okta.sp_keys[0].clone();
    let keys = |c: &gatehouse_core::sso::Connection| {
        let mut keys: Vec<(KeyState, String)> = c
            .sp_keys
            .iter()
            .map(|k| (k.state, k.certificate.sha256_fingerprint.clone()))
            .collect();
        keys.sort();
        keys
    };
    let current = || async { connections.list(&owner, account).await.unwrap().remove(0) };

    assert!(matches!(
        connections.activate_next_key(&owner, account, okta.id, t0()).await,
        Err(ConnectionError::KeyRotation(_))
    ));
    assert!(forbidden(
        connections.prepare_next_key(&viewer, account, okta.id, t0()).await
    ));
    connections
        .prepare_next_key(&owner, account, okta.id, t0())
        .await
        .unwrap();
    let prepared = current().await;
    let next = prepared
        .sp_keys
        .iter()
        .find(|k| k.state == KeyState::Next)
        .unwrap()
        .clone();
    assert_eq!(keys(&prepared).len(), 2);
    assert!(matches!(
        connections.prepare_next_key(&owner, account, okta.id, t0()).await,
        Err(ConnectionError::KeyRotation(_))
    ));
    // Both published keys are in the SP metadata; the next one is not used yet.
    let metadata = connections.service_provider_metadata(okta.id).await.unwrap().unwrap();
    assert!(metadata.contains(&first.certificate.to_base64()) && metadata.contains(&next.certificate.to_base64()));

    connections
        .activate_next_key(&owner, account, okta.id, t0())
        .await
        .unwrap();
    let rotated = current().await;
    assert_eq!(keys(&rotated), {
        let mut expected = vec![
            (KeyState::Active, next.certificate.sha256_fingerprint.clone()),
            (KeyState::Previous, first.certificate.sha256_fingerprint.clone()),
        ];
        expected.sort();
        expected
    });
    let metadata = connections.service_provider_metadata(okta.id).await.unwrap().unwrap();
    assert!(
        !metadata.contains(&first.certificate.to_base64()),
        "the previous key is no longer published"
    );
    assert_eq!(last_audit(&audit, &owner, account).await.0, "SP key rotated");

    // A second rotation replaces the previous key.
    connections
        .prepare_next_key(&owner, account, okta.id, t0())
        .await
        .unwrap();
    connections
        .discard_next_key(&owner, account, okta.id, t0())
        .await
        .unwrap();
    assert_eq!(
        keys(&current().await),
        keys(&rotated),
        "discarding leaves the rotation where it was"
    );
    connections
        .remove_previous_key(&owner, account, okta.id, t0())
        .await
        .unwrap();
    let remaining = current().await;
    assert_eq!(remaining.sp_keys.len(), 1);
    assert_eq!(remaining.sp_keys[0].state, KeyState::Active);
    assert!(matches!(
        connections.remove_previous_key(&owner, account, okta.id, t0()).await,
        Err(ConnectionError::KeyRotation(_))
    ));
}

/// Checks a document against the SAML 2.0 metadata schema Debian ships, offline.
fn validate_against_metadata_schema(xml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sp.xml");
    std::fs::write(&file, xml).unwrap();
    let catalog = format!("{}/tests/schemas/catalog.xml", env!("CARGO_MANIFEST_DIR"));
    let output = Command::new("xmllint")
        .env("XML_CATALOG_FILES", catalog)
        .args([
            "--noout",
            "--nonet",
            "--schema",
            "/usr/share/xml/opensaml/saml-schema-metadata-2.0.xsd",
        ])
        .arg(&file)
        .output()
        .expect("xmllint (Debian package libxml2-utils) runs");
    assert!(
        output.status.success(),
        "not valid SAML metadata:\n{}\n{xml}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn the_sp_metadata_is_valid_saml_metadata_with_every_value_the_idp_needs() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let okta = connections
        .import_metadata(
            &owner,
            account,
            &upload("Okta", &fixture("okta.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    let values = connections.service_provider_values(okta.id);
    let xml = connections.service_provider_metadata(okta.id).await.unwrap().unwrap();
    validate_against_metadata_schema(&xml);
    let document = roxmltree::Document::parse(&xml).unwrap();
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "EntityDescriptor");
    assert_eq!(root.attribute("entityID"), Some(values.entity_id.as_str()));
    let sp = root.children().find(|n| n.has_tag_name("SPSSODescriptor")).unwrap();
    assert_eq!(sp.attribute("AuthnRequestsSigned"), Some("true"));
    assert_eq!(sp.attribute("WantAssertionsSigned"), Some("true"));
    let acs = sp
        .children()
        .find(|n| n.has_tag_name("AssertionConsumerService"))
        .unwrap();
    assert_eq!(acs.attribute("Location"), Some(values.acs_url.as_str()));
    assert_eq!(
        acs.attribute("Binding"),
        Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    );
    let slo: Vec<_> = sp
        .children()
        .filter(|n| n.has_tag_name("SingleLogoutService"))
        .collect();
    assert_eq!(slo.len(), 2);
    assert!(
        slo.iter()
            .all(|s| s.attribute("Location") == Some(values.slo_url.as_str()))
    );
    let uses: Vec<_> = sp
        .children()
        .filter(|n| n.has_tag_name("KeyDescriptor"))
        .map(|k| k.attribute("use").unwrap())
        .collect();
    assert_eq!(uses, ["signing", "encryption"]);
    assert!(xml.contains(&okta.sp_keys[0].certificate.to_base64()));
    assert!(xml.contains("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"));

    // During a rotation both keys are published, and the document stays valid; with signing off it says so.
    connections
        .prepare_next_key(&owner, account, okta.id, t0())
        .await
        .unwrap();
    connections
        .save_options(
            &owner,
            account,
            okta.id,
            &OptionsForm {
                sign_authn_requests: false,
                ..options_form()
            },
            t0(),
        )
        .await
        .unwrap();
    let rotating = connections.service_provider_metadata(okta.id).await.unwrap().unwrap();
    validate_against_metadata_schema(&rotating);
    assert_eq!(
        rotating.matches("<md:KeyDescriptor").count() + rotating.matches("<KeyDescriptor").count(),
        4
    );
    assert!(rotating.contains("AuthnRequestsSigned=\"false\""));
    assert_eq!(
        connections
            .service_provider_metadata(gatehouse_core::ConnectionId::new())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn certificates_are_added_and_removed_but_the_last_one_stays() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let audit = world.audit();
    let okta = connections
        .import_metadata(
            &owner,
            account,
            &upload("Okta", &fixture("okta.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    let current = okta.idp.certificates[0].clone();
    let google = certificate_of("google.metadata.xml");
    assert!(matches!(
        connections
            .add_certificates(&owner, account, okta.id, current.to_pem().as_bytes(), t0())
            .await,
        Err(ConnectionError::DuplicateCertificate(_))
    ));
    assert!(matches!(
        connections
            .add_certificates(&owner, account, okta.id, b"hello", t0())
            .await,
        Err(ConnectionError::Certificate(_))
    ));
    let added = connections
        .add_certificates(&owner, account, okta.id, google.to_pem().as_bytes(), t0())
        .await
        .unwrap();
    assert_eq!(added.idp.certificates, vec![current.clone(), google.clone()]);
    let (action, detail) = last_audit(&audit, &owner, account).await;
    assert_eq!(action, "Certificates changed");
    assert!(detail.contains(&format!("certificate added (SHA-256 {})", google.sha256_fingerprint)));
    assert!(matches!(
        connections
            .remove_certificate(&owner, account, okta.id, "AB:CD", t0())
            .await,
        Err(ConnectionError::UnknownCertificate(_))
    ));
    let removed = connections
        .remove_certificate(&owner, account, okta.id, &current.sha256_fingerprint, t0())
        .await
        .unwrap();
    assert_eq!(removed.idp.certificates, vec![google.clone()]);
    assert!(matches!(
        connections
            .remove_certificate(&owner, account, okta.id, &google.sha256_fingerprint, t0())
            .await,
        Err(ConnectionError::LastCertificate)
    ));
    assert_eq!(
        connections.list(&owner, account).await.unwrap()[0].idp.certificates,
        vec![google]
    );
}

#[tokio::test]
async fn replacing_the_idp_settings_keeps_the_connection_and_everything_entered_at_the_idp() {
    use gatehouse_core::sso::{MappingForm, RuleInput};
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let audit = world.audit();
    let okta = connections
        .import_metadata(
            &owner,
            account,
            &upload("Okta", &fixture("okta.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    let rows = [RuleInput {
        attribute: "groups",
        value: "admins",
        role: "admin",
    }];
    connections
        .save_role_mappings(
            &owner,
            account,
            okta.id,
            &MappingForm {
                rows: &rows,
                default_role: "viewer",
                reapply_on_sign_in: true,
            },
            t0(),
        )
        .await
        .unwrap();
    let before = connections.list(&owner, account).await.unwrap().remove(0);

    // The same IdP typed in by hand: the id, SP values, keys and role mappings stay.
    let certificate = before.idp.certificates[0].to_pem();
    let fields = ManualFields {
        label: "Okta (manual)",
        entity_id: "http://www.okta.com/exkdoocxa1VmjpXmX697",
        sso_url: "https://trial-1022863.okta.com/app/sso/saml",
        slo_url: "https://trial-1022863.okta.com/app/slo/saml",
        certificates: certificate.as_bytes(),
    };
    let manual = connections
        .create_manual(&owner, account, &fields, Some(okta.id), t0())
        .await
        .unwrap();
    assert_eq!(manual.id, okta.id);
    assert_eq!(manual.source, Source::Manual);
    assert_eq!(manual.sp_keys, before.sp_keys);
    assert_eq!(manual.mappings, before.mappings);
    let (action, detail) = last_audit(&audit, &owner, account).await;
    assert_eq!(action, "Connection settings replaced");
    assert!(detail.contains("name Okta → Okta (manual)"), "{detail}");
    assert!(
        detail.contains("logout URL https://trial-1022863.okta.com/app/slo/saml"),
        "{detail}"
    );

    // A different IdP's metadata replaces it too (an IdP move), keeping the SP side.
    let google = connections
        .import_metadata(
            &owner,
            account,
            &upload("Google", &fixture("google.metadata.xml"), ""),
            Some(okta.id),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(google.id, okta.id);
    assert!(google.idp.entity_id.starts_with("https://accounts.google.com/"));
    assert_eq!(
        connections.service_provider_values(google.id),
        connections.service_provider_values(okta.id)
    );
    let listed = connections.list(&owner, account).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].sp_keys, before.sp_keys);

    // Replacing with an IdP another connection of the account already uses is refused; nothing changes.
    let jumpcloud = connections
        .import_metadata(
            &owner,
            account,
            &upload("JumpCloud", &fixture("jumpcloud.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    let snapshot = connections.list(&owner, account).await.unwrap();
    assert!(matches!(
        connections
            .import_metadata(
                &owner,
                account,
                &upload("Dup", &fixture("google.metadata.xml"), ""),
                Some(jumpcloud.id),
                t0()
            )
            .await,
        Err(ConnectionError::DuplicateIdp(_))
    ));
    // A broken document changes nothing either.
    assert!(matches!(
        connections
            .import_metadata(&owner, account, &upload("Broken", b"<x>", ""), Some(jumpcloud.id), t0())
            .await,
        Err(ConnectionError::Metadata(_))
    ));
    assert_eq!(connections.list(&owner, account).await.unwrap(), snapshot);

    // Another account's connection cannot be targeted.
    let (other, other_account) = world.user("other@else.example").await;
    assert!(matches!(
        connections
            .import_metadata(
                &other,
                other_account,
                &upload("X", &fixture("okta.metadata.xml"), ""),
                Some(okta.id),
                t0()
            )
            .await,
        Err(ConnectionError::NotFound)
    ));
}
