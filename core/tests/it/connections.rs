//! Identity-provider connections: created from real metadata or typed-in fields, validated whole, per role.

use crate::support::{TestWorld, fixture, t0, upload};
use gatehouse_core::saml::MetadataError;
use gatehouse_core::saml::metadata::HTTP_REDIRECT;
use gatehouse_core::sso::{ConnectionError, ManualFields, Source};
use gatehouse_core::tenancy::{Role, TenancyError};

fn okta_certificate() -> String {
    let xml = String::from_utf8(fixture("okta.metadata.xml")).unwrap();
    let start = xml.find("<ds:X509Certificate>").unwrap() + "<ds:X509Certificate>".len();
    let end = xml.find("</ds:X509Certificate>").unwrap();
    xml[start..end].to_owned()
}

#[tokio::test]
async fn every_real_metadata_file_becomes_a_connection() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let files = [
        "entra.metadata.xml",
        "okta.metadata.xml",
        "google.metadata.xml",
        "onelogin.metadata.xml",
        "jumpcloud.metadata.xml",
        "adfs.metadata.xml",
        "shibboleth.metadata.xml",
        "auth0.metadata.xml",
    ];
    for file in files {
        let created = connections
            .import_metadata(&owner, account, &upload(file, &fixture(file), ""), None, t0())
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(created.source, Source::Metadata);
        assert!(!created.idp.certificates.is_empty());
        assert_eq!(
            created.origin.xml.as_deref().map(str::len),
            Some(fixture(file).len()),
            "kept as uploaded"
        );
    }
    let listed = connections.list(&owner, account).await.unwrap();
    assert_eq!(listed.len(), files.len());
    let entra = listed.iter().find(|c| c.label == "entra.metadata.xml").unwrap();
    assert_eq!(
        entra.idp.entity_id,
        "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/"
    );
    assert_eq!(entra.sso_endpoint().binding, HTTP_REDIRECT, "HTTP-Redirect preferred");
    assert!(entra.idp.slo.is_some());
    let jumpcloud = listed.iter().find(|c| c.label == "jumpcloud.metadata.xml").unwrap();
    assert!(
        jumpcloud.sso_endpoint().binding.ends_with("HTTP-POST"),
        "the only binding it offers"
    );

    let sp = connections.service_provider_values(entra.id);
    assert_eq!(
        sp.entity_id,
        format!("https://sso.example.com/saml/{}/metadata", entra.id)
    );
    assert_eq!(sp.acs_url, format!("https://sso.example.com/saml/{}/acs", entra.id));
    assert_eq!(sp.slo_url, format!("https://sso.example.com/saml/{}/slo", entra.id));
    assert_eq!(sp.metadata_url, sp.entity_id);
}

#[tokio::test]
async fn a_connection_left_unnamed_is_named_after_its_idp_and_a_replacement_keeps_the_name() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let named = [
        ("entra.metadata.xml", "Microsoft Entra ID"),
        ("okta.metadata.xml", "Okta"),
        ("google.metadata.xml", "Google Workspace"),
        ("onelogin.metadata.xml", "OneLogin"),
        ("jumpcloud.metadata.xml", "JumpCloud"),
        ("adfs.metadata.xml", "AD FS"),
        ("shibboleth.metadata.xml", "idp.msidlab13.com"),
        ("auth0.metadata.xml", "Auth0"),
    ];
    for (file, name) in named {
        let created = connections
            .import_metadata(&owner, account, &upload("  ", &fixture(file), ""), None, t0())
            .await
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(created.label, name, "{file}");
    }
    let okta = connections
        .list(&owner, account)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.label == "Okta")
        .unwrap();
    let replaced = connections
        .import_metadata(
            &owner,
            account,
            &upload("", &fixture("okta.metadata.xml"), ""),
            Some(okta.id),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(replaced.label, "Okta");
    let renamed = connections
        .import_metadata(
            &owner,
            account,
            &upload("Staff", &fixture("okta.metadata.xml"), ""),
            Some(okta.id),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(renamed.label, "Staff");
}

/// A federation aggregate as federations publish them, built from the real documents here: every vendor's
/// `EntityDescriptor` as published (the Entra ID one with its enveloped signature), and the eduGAIN extract as a
/// nested `EntitiesDescriptor`.
fn federation_of_every_fixture() -> (Vec<u8>, Vec<&'static str>) {
    let vendors = [
        (
            "entra.metadata.xml",
            "https://sts.windows.net/a9054a0f-2011-4e31-b3ac-fd8c354146ec/",
        ),
        ("okta.metadata.xml", "http://www.okta.com/exkdoocxa1VmjpXmX697"),
        (
            "google.metadata.xml",
            "https://accounts.google.com/o/saml2?idpid=C029op2ga",
        ),
        ("onelogin.metadata.xml", "https://app.onelogin.com/saml/metadata/645460"),
        ("jumpcloud.metadata.xml", "IdP Entity ID"),
        ("adfs.metadata.xml", "http://fs.msidlab11.com/adfs/services/trust"),
        ("shibboleth.metadata.xml", "https://idp.msidlab13.com/idp/shibboleth"),
        ("auth0.metadata.xml", "urn:dev-tyj7qyzz.auth0.com"),
        (
            "multi_idp_edugain.entities.xml",
            "https://si-saai.ualg.pt/idp/shibboleth",
        ),
    ];
    let without_declaration = |file: &str| {
        let text = String::from_utf8(fixture(file)).unwrap();
        let text = text.trim_start_matches('\u{feff}');
        match text.strip_prefix("<?xml") {
            Some(rest) => rest[rest.find("?>").unwrap() + 2..].to_owned(),
            None => text.to_owned(),
        }
    };
    let entities: String = vendors.iter().map(|(file, _)| without_declaration(file)).collect();
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" Name="urn:example:federation">{entities}</md:EntitiesDescriptor>"#
    );
    let mut idps: Vec<&str> = vendors.iter().map(|(_, entity_id)| *entity_id).collect();
    idps.push("https://idp.fccn.pt/idp/shibboleth");
    (document.into_bytes(), idps)
}

#[tokio::test]
async fn a_federation_with_a_nested_aggregate_lists_every_idp_and_connects_the_chosen_one() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let (federation, idps) = federation_of_every_fixture();
    let asked = connections
        .import_metadata(&owner, account, &upload("", &federation, ""), None, t0())
        .await;
    let Err(ConnectionError::ChooseIdp(choices)) = asked else {
        panic!("{asked:?}");
    };
    let mut listed: Vec<&str> = choices.iter().map(|c| c.entity_id.as_str()).collect();
    let mut expected = idps.clone();
    listed.sort_unstable();
    expected.sort_unstable();
    assert_eq!(
        listed, expected,
        "ten IdPs, nested ones included; the service provider left out"
    );
    assert!(choices.iter().all(|c| c.sign_on_url.scheme().starts_with("http")));

    let entra = connections
        .import_metadata(&owner, account, &upload("", &federation, idps[0]), None, t0())
        .await
        .unwrap();
    assert_eq!(entra.label, "Microsoft Entra ID");
    assert_eq!(entra.idp.entity_id, idps[0]);
    assert_eq!(entra.idp.certificates.len(), 1);
    assert_eq!(
        connections.list(&owner, account).await.unwrap().len(),
        1,
        "only the chosen IdP is connected"
    );
}

#[tokio::test]
async fn two_first_connections_added_at_once_are_both_saved_or_the_second_is_told_to_reload() {
    let world = TestWorld::new().await;
    let connections = world.connections();
    let (okta, google) = (fixture("okta.metadata.xml"), fixture("google.metadata.xml"));
    let (okta, google) = (upload("", &okta, ""), upload("", &google, ""));
    for round in 0..4 {
        let (owner, account) = world.user(&format!("owner{round}@acme.example")).await;
        // Both ask for the account's first connection id while it has none.
        let (first, second) = tokio::join!(
            connections.import_metadata(&owner, account, &okta, None, t0()),
            connections.import_metadata(&owner, account, &google, None, t0()),
        );
        match (first, second) {
            (Ok(a), Ok(b)) => assert_ne!(a.id, b.id),
            (Ok(_), Err(ConnectionError::AddedMeanwhile)) | (Err(ConnectionError::AddedMeanwhile), Ok(_)) => {}
            other => panic!("round {round}: {other:?}"),
        }
    }
    // The same IdP twice at once is still named as the IdP already connected.
    let (owner, account) = world.user("owner-same@acme.example").await;
    let (first, second) = tokio::join!(
        connections.import_metadata(&owner, account, &okta, None, t0()),
        connections.import_metadata(&owner, account, &okta, None, t0()),
    );
    assert!(
        matches!(
            (&first, &second),
            (Ok(_), Err(ConnectionError::DuplicateIdp(_))) | (Err(ConnectionError::DuplicateIdp(_)), Ok(_))
        ),
        "{first:?} {second:?}"
    );
}

#[tokio::test]
async fn an_aggregate_asks_which_idp_to_connect() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let file = fixture("multi_idp_edugain.entities.xml");
    let asked = connections
        .import_metadata(&owner, account, &upload("Uni", &file, ""), None, t0())
        .await;
    let Err(ConnectionError::ChooseIdp(choices)) = asked else {
        panic!("{asked:?}");
    };
    let listed: Vec<(Option<&str>, &str, &str)> = choices
        .iter()
        .map(|c| (c.display_name.as_deref(), c.entity_id.as_str(), c.sign_on_url.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            (
                Some("University of Algarve"),
                "https://si-saai.ualg.pt/idp/shibboleth",
                "https://si-saai.ualg.pt/idp/profile/SAML2/Redirect/SSO"
            ),
            (
                Some("FCT|FCCN"),
                "https://idp.fccn.pt/idp/shibboleth",
                "https://idp.fccn.pt/idp/profile/SAML2/Redirect/SSO"
            ),
        ],
        "the service provider in the file is not offered"
    );
    assert!(matches!(
        connections
            .import_metadata(
                &owner,
                account,
                &upload("Uni", &file, "https://webtut.fccn.pt"),
                None,
                t0()
            )
            .await,
        Err(ConnectionError::UnknownIdp(_))
    ));
    let chosen = connections
        .import_metadata(
            &owner,
            account,
            &upload("Uni", &file, " https://idp.fccn.pt/idp/shibboleth "),
            None,
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(chosen.idp.entity_id, "https://idp.fccn.pt/idp/shibboleth");
}

#[tokio::test]
async fn typed_in_fields_are_checked_one_by_one_and_nothing_half_valid_is_saved() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let certificate = okta_certificate();
    let good = ManualFields {
        label: "Okta",
        entity_id: "http://www.okta.com/exkdoocxa1VmjpXmX697",
        sso_url: "https://acme.okta.com/app/acme/sso/saml",
        slo_url: "",
        certificates: certificate.as_bytes(),
    };
    let refused = [
        (
            ManualFields {
                label: "two\nlines",
                ..good.clone()
            },
            "label",
        ),
        (
            ManualFields {
                entity_id: "",
                ..good.clone()
            },
            "entity",
        ),
        (
            ManualFields {
                sso_url: "acme.okta.com/sso",
                ..good.clone()
            },
            "sso",
        ),
        (
            ManualFields {
                sso_url: "javascript:alert(1)",
                ..good.clone()
            },
            "sso",
        ),
        (
            ManualFields {
                slo_url: "ftp://acme.okta.com/slo",
                ..good.clone()
            },
            "slo",
        ),
        (
            ManualFields {
                certificates: b"",
                ..good.clone()
            },
            "certificate",
        ),
        (
            ManualFields {
                certificates: b"not a certificate",
                ..good.clone()
            },
            "certificate",
        ),
    ];
    for (fields, what) in refused {
        let result = connections.create_manual(&owner, account, &fields, None, t0()).await;
        let ok = matches!(
            (what, &result),
            ("label", Err(ConnectionError::InvalidLabel))
                | ("entity", Err(ConnectionError::InvalidEntityId))
                | ("sso", Err(ConnectionError::InvalidSsoUrl))
                | ("slo", Err(ConnectionError::InvalidSloUrl))
                | ("certificate", Err(ConnectionError::Certificate(_)))
        );
        assert!(ok, "{what}: {result:?}");
    }
    assert!(connections.list(&owner, account).await.unwrap().is_empty());

    let created = connections
        .create_manual(&owner, account, &good, None, t0())
        .await
        .unwrap();
    assert_eq!(created.source, Source::Manual);
    assert_eq!(created.idp.certificates.len(), 1);
    assert_eq!(created.idp.slo, None);

    // The same IdP twice in one account is refused; the first connection is untouched.
    let again = connections.create_manual(&owner, account, &good, None, t0()).await;
    assert!(matches!(again, Err(ConnectionError::DuplicateIdp(_))), "{again:?}");
    assert!(matches!(
        connections
            .import_metadata(
                &owner,
                account,
                &upload("Okta again", &fixture("okta.metadata.xml"), ""),
                None,
                t0()
            )
            .await,
        Err(ConnectionError::DuplicateIdp(_))
    ));
    assert_eq!(connections.list(&owner, account).await.unwrap(), vec![created]);
}

#[tokio::test]
async fn a_broken_document_changes_nothing() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    connections
        .import_metadata(
            &owner,
            account,
            &upload("Google", &fixture("google.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    let before = connections.list(&owner, account).await.unwrap();
    let okta = fixture("okta.metadata.xml");
    for broken in [&okta[..okta.len() / 2], b"<html/>".as_slice(), b"".as_slice()] {
        let result = connections
            .import_metadata(&owner, account, &upload("Okta", broken, ""), None, t0())
            .await;
        assert!(matches!(result, Err(ConnectionError::Metadata(_))), "{result:?}");
    }
    assert!(matches!(
        connections
            .import_metadata(
                &owner,
                account,
                &upload("Okta", b"<!DOCTYPE x [<!ENTITY a \"b\">]><x/>", ""),
                None,
                t0()
            )
            .await,
        Err(ConnectionError::Metadata(MetadataError::Dtd))
    ));
    assert!(matches!(
        connections
            .import_metadata(
                &owner,
                account,
                &upload(
                    "Entra",
                    b"<!DOCTYPE html><html><body>Microsoft Entra admin center</body></html>",
                    ""
                ),
                None,
                t0()
            )
            .await,
        Err(ConnectionError::Metadata(MetadataError::HtmlPage))
    ));
    assert_eq!(connections.list(&owner, account).await.unwrap(), before);
}

#[tokio::test]
async fn owners_add_connections_admins_remove_them_viewers_only_see_them() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let admin = world.join(&owner, account, "admin@acme.example", Role::Admin).await;
    let viewer = world.join(&owner, account, "viewer@acme.example", Role::Viewer).await;
    let nobody = world.join(&owner, account, "none@acme.example", Role::NoAccess).await;
    let (stranger, _) = world.user("stranger@else.example").await;
    let connections = world.connections();

    let created = connections
        .import_metadata(
            &owner,
            account,
            &upload("Okta", &fixture("okta.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(connections.list(&viewer, account).await.unwrap().len(), 1);

    fn forbidden<T: std::fmt::Debug>(result: Result<T, ConnectionError>) -> bool {
        matches!(
            result,
            Err(ConnectionError::Tenancy(
                TenancyError::Forbidden { .. } | TenancyError::AccountNotFound
            ))
        )
    }
    assert!(forbidden(
        connections
            .import_metadata(
                &viewer,
                account,
                &upload("Google", &fixture("google.metadata.xml"), ""),
                None,
                t0()
            )
            .await
    ));
    let certificate = okta_certificate();
    let fields = ManualFields {
        label: "X",
        entity_id: "urn:x",
        sso_url: "https://x.example/sso",
        slo_url: "",
        certificates: certificate.as_bytes(),
    };
    assert!(forbidden(
        connections.create_manual(&viewer, account, &fields, None, t0()).await
    ));
    assert!(forbidden(connections.remove(&viewer, account, created.id, t0()).await));
    assert!(forbidden(connections.list(&nobody, account).await));
    assert!(forbidden(connections.list(&stranger, account).await));
    assert!(forbidden(
        connections.remove(&stranger, account, created.id, t0()).await
    ));

    // Another account cannot remove it through its own account either.
    let (other, other_account) = world.user("other@else.example").await;
    assert!(matches!(
        connections.remove(&other, other_account, created.id, t0()).await,
        Err(ConnectionError::NotFound)
    ));
    connections.remove(&admin, account, created.id, t0()).await.unwrap();
    assert!(connections.list(&owner, account).await.unwrap().is_empty());
}

#[tokio::test]
async fn role_mappings_are_saved_whole_in_order_and_only_by_owners_and_admins() {
    use gatehouse_core::sso::{MappingForm, RoleMappingError, RuleInput};
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let viewer = world.join(&owner, account, "viewer@acme.example", Role::Viewer).await;
    let connections = world.connections();
    let created = connections
        .import_metadata(
            &owner,
            account,
            &upload("Okta", &fixture("okta.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        created.mappings.default_role,
        Role::NoAccess,
        "new users get no permissions by default"
    );
    assert!(created.mappings.rules.is_empty());

    let rows = [
        RuleInput {
            attribute: "groups",
            value: "Gatehouse Admins",
            role: "admin",
        },
        RuleInput::default(),
        RuleInput {
            attribute: "groups",
            value: "Everyone",
            role: "viewer",
        },
    ];
    let form = MappingForm {
        rows: &rows,
        default_role: "no_access",
        reapply_on_sign_in: true,
    };
    let saved = connections
        .save_role_mappings(&owner, account, created.id, &form, t0())
        .await
        .unwrap();
    assert_eq!(saved.rules.len(), 2);
    let listed = connections.list(&owner, account).await.unwrap().remove(0);
    assert_eq!(listed.mappings, saved);
    assert_eq!(listed.mappings.rules[0].role, Role::Admin);
    assert!(listed.mappings.reapply_on_sign_in);

    // A wrong row refuses the whole form; what was saved stays.
    let bad = [RuleInput {
        attribute: "groups",
        value: "",
        role: "admin",
    }];
    let refused = connections
        .save_role_mappings(
            &owner,
            account,
            created.id,
            &MappingForm {
                rows: &bad,
                default_role: "viewer",
                reapply_on_sign_in: false,
            },
            t0(),
        )
        .await;
    assert!(matches!(
        refused,
        Err(ConnectionError::RoleMappings(RoleMappingError::MissingValue(1)))
    ));
    assert_eq!(
        connections.list(&owner, account).await.unwrap().remove(0).mappings,
        saved
    );

    assert!(matches!(
        connections
            .save_role_mappings(&viewer, account, created.id, &form, t0())
            .await,
        Err(ConnectionError::Tenancy(TenancyError::Forbidden { .. }))
    ));
    let (other, other_account) = world.user("other@else.example").await;
    assert!(matches!(
        connections
            .save_role_mappings(&other, other_account, created.id, &form, t0())
            .await,
        Err(ConnectionError::NotFound)
    ));
    let log = world.audit().recent(&owner, account).await.unwrap();
    assert_eq!(log[0].action, "Role mappings changed");
    assert_eq!(
        log[0].detail,
        "groups = Gatehouse Admins → Admin; groups = Everyone → Viewer; otherwise → No access; re-applied at every sign-in"
    );
}

#[tokio::test]
async fn plain_http_endpoints_from_metadata_are_accepted_and_named_for_a_warning() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let okta = fixture("okta.metadata.xml");
    let secure = connections
        .import_metadata(&owner, account, &upload("Okta", &okta, ""), None, t0())
        .await
        .unwrap();
    assert!(secure.idp.plain_http_endpoints().is_empty());

    let plain = String::from_utf8(okta)
        .unwrap()
        .replace("https://trial-1022863.okta.com/", "http://trial-1022863.okta.com/");
    let replaced = connections
        .import_metadata(
            &owner,
            account,
            &upload("Okta", plain.as_bytes(), ""),
            Some(secure.id),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(
        replaced.idp.plain_http_endpoints(),
        [
            "sign-in URL http://trial-1022863.okta.com/app/trial-1022863_oktalocalhostbis_1/exkdoocxa1VmjpXmX697/sso/saml"
        ]
    );
}
