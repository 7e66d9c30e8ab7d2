//! The life of an IdP's signing certificates as the owner follows it: expiry notices at 30, 7 and 1 days and at
//! the end, each once across two server instances, as SSO events and mail (a real SMTP server); the banner of the
//! connections near their end; and "last used" moving to the new certificate of a roll-over.

use crate::sso_setup::{Setup, response_xml, setup, signed_in};
use crate::support::{TestWorld, fresh_database, t0};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use gatehouse_core::mail::Mailer;
use gatehouse_core::saml::KeyEncryptionKey;
use gatehouse_core::saml::sp_keys::{KeyState, SpKey};
use gatehouse_core::sso::certificate_lifecycle::{Ending, NoticeReport};
use gatehouse_core::sso::sign_in::SignedIn;
use gatehouse_core::sso::{Connection, ConnectionError, ConnectionService, FetchPolicy, ManualFields};
use gatehouse_core::tenancy::Role;
use gatehouse_core::{AccountId, Caller, ConnectionId, Store, TenancyService};
use test_idp::{Signer, idp, next_idp};
use test_smtp::SmtpSink;

/// One server instance's connection service on `store`, mailing through `smtp_url`.
fn instance(store: &Store, smtp_url: &str) -> ConnectionService {
    let public_url = url::Url::parse("https://sso.example.com/").unwrap();
    let mailer = Mailer::new(smtp_url, "Gatehouse <no-reply@gatehouse.test>").unwrap();
    let tenancy = TenancyService::new(store.clone(), public_url.clone(), Some(mailer), Duration::days(7));
    ConnectionService::new(
        store.clone(),
        tenancy,
        public_url,
        FetchPolicy::default(),
        Duration::hours(12),
        KeyEncryptionKey::development(),
    )
}

const ENTRA_ENTITY_ID: &str = "https://sts.windows.net/0f1e2d3c-1111-2222-3333-444455556666/";
const ENTRA_SSO_URL: &str = "https://login.microsoftonline.com/0f1e2d3c-1111-2222-3333-444455556666/saml2";

/// A connection typed in by the Owner, trusting the test IdP's certificate (whose end is the notices' clock). It is
/// made a year after the certificate, so Gatehouse's own key, made with it, ends a year after the certificate.
async fn connection_trusting_the_test_idp(
    connections: &ConnectionService,
    owner: &Caller,
    account: AccountId,
    label: &str,
    entity_id: &str,
    sso_url: &str,
) -> Connection {
    let certificate = idp().certificate.to_pem();
    let fields = ManualFields {
        label,
        entity_id,
        sso_url,
        slo_url: "",
        certificates: certificate.as_bytes(),
    };
    connections
        .create_manual(owner, account, &fields, None, t0() + Duration::days(365))
        .await
        .unwrap()
}

/// Both instances run the notice pass at the same moment; what they sent together.
async fn both_pass(a: &ConnectionService, b: &ConnectionService, now: DateTime<Utc>) -> NoticeReport {
    let (first, second) = tokio::join!(a.send_expiry_notices(now), b.send_expiry_notices(now));
    let (first, second) = (first.unwrap(), second.unwrap());
    NoticeReport {
        notices: first.notices + second.notices,
        mails_sent: first.mails_sent + second.mails_sent,
        mails_failed: first.mails_failed + second.mails_failed,
    }
}

#[tokio::test]
async fn each_expiry_notice_goes_out_once_to_owners_and_admins_across_two_instances() {
    let sink = SmtpSink::start();
    let (url, dir) = fresh_database().await;
    let world = TestWorld::with_store(Store::open(&url).await.unwrap(), dir);
    let (owner, account) = world.user("owner@acme.example").await;
    let admin = world.join(&owner, account, "admin@acme.example", Role::Admin).await;
    let viewer = world.join(&owner, account, "viewer@acme.example", Role::Viewer).await;
    let a = instance(&world.store, &sink.url());
    let b = instance(&Store::open(&url).await.unwrap(), &sink.url());
    let connection =
        connection_trusting_the_test_idp(&a, &owner, account, "Entra ID", ENTRA_ENTITY_ID, ENTRA_SSO_URL).await;
    let end = idp().certificate.not_after;

    assert_eq!(
        both_pass(&a, &b, end - Duration::days(31)).await,
        NoticeReport::default()
    );
    assert!(
        a.expiring_connections(&owner, account, end - Duration::days(31))
            .await
            .unwrap()
            .is_empty()
    );

    let mut expected_mails = 0;
    for (at, days) in [
        (end - Duration::days(30), "expires in 30 days"),
        (end - Duration::days(7), "expires in 7 days"),
        (end - Duration::days(1), "expires in 1 day"),
        (end + Duration::hours(1), "expired on"),
    ] {
        let report = both_pass(&a, &b, at).await;
        assert_eq!(
            report,
            NoticeReport {
                notices: 1,
                mails_sent: 2,
                mails_failed: 0
            },
            "{days}: one notice, to the Owner and the Admin"
        );
        expected_mails += 2;
        let again = both_pass(&a, &b, at + Duration::hours(2)).await;
        assert_eq!(again, NoticeReport::default(), "{days}: once only");
        // The banner says the same, at every threshold.
        let banner = a.expiring_connections(&owner, account, at).await.unwrap();
        assert_eq!(banner.len(), 1, "{days}");
        assert!(
            banner[0].summary(at).contains(days),
            "{days}: {}",
            banner[0].summary(at)
        );

        let event = world.store.sso_events(account, None, 1).await.unwrap().remove(0);
        assert_eq!(event.outcome, "certificate");
        assert_eq!(event.connection_id, Some(connection.id));
        assert!(event.reason.contains(days), "{days}: {}", event.reason);
        let fix = event.fix.as_deref().unwrap_or_default();
        assert!(
            fix.contains("Enterprise applications › (your Gatehouse app) › Single sign-on › SAML Certificates"),
            "the fix names where Entra ID makes the next certificate: {fix}"
        );
        let messages = sink.messages();
        assert_eq!(messages.len(), expected_mails);
        for to in ["owner@acme.example", "admin@acme.example"] {
            // The mail names the event's reference.
            let mail = messages
                .iter()
                .find(|m| m.contains(&format!("To: {to}")) && m.contains(&event.reference))
                .unwrap_or_else(|| panic!("{days}: no mail to {to} under {}", event.reference));
            assert!(mail.contains(days), "{mail}");
            assert!(
                mail.contains(&format!(
                    "https://sso.example.com/accounts/{account}/sso/connections/{}",
                    connection.id
                )),
                "{mail}"
            );
        }
        assert!(!messages.iter().any(|m| m.contains("viewer@acme.example")));
    }
    let subjects: Vec<String> = sink
        .messages()
        .iter()
        .filter_map(|m| m.lines().find(|l| l.starts_with("Subject: ")).map(str::to_owned))
        .collect();
    assert_eq!(
        subjects.iter().filter(|s| s.ends_with("has expired")).count(),
        2,
        "{subjects:?}"
    );
    assert_eq!(
        both_pass(&a, &b, end + Duration::days(90)).await,
        NoticeReport::default()
    );

    // The banner: for those who look after connections, with the days left; nobody else sees it.
    let soon = end - Duration::days(5);
    let banner = a.expiring_connections(&admin, account, soon).await.unwrap();
    assert_eq!(banner.len(), 1);
    assert_eq!((banner[0].connection, banner[0].days_left), (connection.id, 5));
    assert!(banner[0].summary(soon).contains("expires in 5 days"));
    assert!(matches!(
        a.expiring_connections(&viewer, account, soon).await,
        Err(ConnectionError::Tenancy(_))
    ));
    // Expired, it stays for as long again; after that its connection's page alone flags it.
    let expired = a
        .expiring_connections(&owner, account, end + Duration::days(29))
        .await
        .unwrap();
    assert!(expired[0].summary(end + Duration::days(29)).contains("expired on"));
    assert!(
        a.expiring_connections(&owner, account, end + Duration::days(31))
            .await
            .unwrap()
            .is_empty()
    );

    // A certificate that lasts longer ends the banner, and the notices start again for its own end.
    let later = SpKey::generate(ConnectionId::new(), "idp.example.com", KeyState::Active, end).unwrap();
    a.add_certificates(
        &owner,
        account,
        connection.id,
        later.certificate.to_pem().as_bytes(),
        soon,
    )
    .await
    .unwrap();
    assert!(a.expiring_connections(&owner, account, soon).await.unwrap().is_empty());
    assert_eq!(
        both_pass(&a, &b, end + Duration::days(1)).await,
        NoticeReport::default()
    );
    let next_end = later.certificate.not_after;
    both_pass(&a, &b, next_end - Duration::days(30)).await;
    let events = world.store.sso_events(account, None, 10).await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e
                .reason
                .starts_with("The last signing certificate of Entra ID expires in 30 days"))
            .count(),
        2,
        "the first certificate's 30-day notice, and now the new one's"
    );
}

#[tokio::test]
async fn without_smtp_the_notice_is_an_sso_event_alone() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    connection_trusting_the_test_idp(
        &connections,
        &owner,
        account,
        "Test IdP",
        test_idp::IDP,
        "https://idp.example.com/sso",
    )
    .await;
    let at = idp().certificate.not_after - Duration::days(6);
    let report = connections.send_expiry_notices(at).await.unwrap();
    assert_eq!(
        report,
        NoticeReport {
            notices: 1,
            mails_sent: 0,
            mails_failed: 0
        }
    );
    let event = world.store.sso_events(account, None, 1).await.unwrap().remove(0);
    assert!(event.reason.contains("expires in 6 days"), "{}", event.reason);
}

/// A sign-in from a fresh request at `at`, answered by the test IdP signing with `signer`.
async fn sign_in_at(s: &Setup, at: DateTime<Utc>, signer: &'static Signer) -> SignedIn {
    let started = s.sso.start(s.connection, None, at).await.unwrap();
    let answer = STANDARD.encode(response_xml(s, Some(&started.request_id), |spec| {
        spec.signer = signer;
        spec.not_before = at - Duration::minutes(1);
        spec.not_on_or_after = at + Duration::minutes(5);
        spec.confirmation_until = Some(at + Duration::minutes(5));
    }));
    s.sso
        .acs(
            s.connection,
            &answer,
            &started.request_id,
            Some(&started.browser_token),
            None,
            at,
        )
        .await
        .map(signed_in)
        .expect("signed in")
}

/// When each of the connection's certificates last verified a sign-in, as its page shows it.
async fn last_used(s: &Setup, signer: &Signer) -> Option<DateTime<Utc>> {
    let connection = s.connections.list(&s.owner, s.account).await.unwrap().remove(0);
    connection
        .certificate_uses
        .get(&signer.certificate.sha256_fingerprint)
        .copied()
}

#[tokio::test]
async fn last_used_moves_to_the_new_certificate_of_a_roll_over() {
    let s = setup().await;
    let start = test_idp::now();
    assert_eq!(last_used(&s, idp()).await, None, "no sign-in yet");
    sign_in_at(&s, start, idp()).await;
    assert_eq!(last_used(&s, idp()).await, Some(start));
    // Within the precision a busy connection's sign-ins write nothing; past it the time moves.
    sign_in_at(&s, start + Duration::minutes(5), idp()).await;
    assert_eq!(last_used(&s, idp()).await, Some(start));
    let hour = start + Duration::hours(1);
    sign_in_at(&s, hour, idp()).await;
    assert_eq!(last_used(&s, idp()).await, Some(hour));

    // The owner adds the IdP's next certificate; the IdP switches to it.
    s.connections
        .add_certificates(
            &s.owner,
            s.account,
            s.connection,
            next_idp().certificate.to_pem().as_bytes(),
            hour,
        )
        .await
        .unwrap();
    let day = start + Duration::days(1);
    sign_in_at(&s, day, next_idp()).await;
    assert_eq!(last_used(&s, next_idp()).await, Some(day));
    assert_eq!(last_used(&s, idp()).await, Some(hour), "the old one stopped");
    // The owner sees it and removes the old one; sign-ins go on.
    s.connections
        .remove_certificate(
            &s.owner,
            s.account,
            s.connection,
            &idp().certificate.sha256_fingerprint,
            day,
        )
        .await
        .unwrap();
    let later = day + Duration::hours(2);
    sign_in_at(&s, later, next_idp()).await;
    assert_eq!(last_used(&s, next_idp()).await, Some(later));
}

#[tokio::test]
async fn the_next_certificate_can_be_pasted_as_the_idps_metadata() {
    let s = setup().await;
    let metadata = |certificates: &[&Signer]| {
        let keys: String = certificates
            .iter()
            .map(|signer| {
                format!(
                    "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                    signer.certificate.to_base64()
                )
            })
            .collect();
        format!(
            "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{}\"><md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">{keys}<md:SingleSignOnService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\" Location=\"https://idp.example.com/sso\"/></md:IDPSSODescriptor></md:EntityDescriptor>",
            test_idp::IDP
        )
    };
    let add = |text: String| {
        let s = &s;
        async move {
            s.connections
                .add_certificates(&s.owner, s.account, s.connection, text.as_bytes(), t0())
                .await
        }
    };
    assert!(matches!(
        add(metadata(&[idp()])).await,
        Err(ConnectionError::NoNewCertificate)
    ));
    let other = metadata(&[next_idp()]).replace(test_idp::IDP, "https://other-idp.example.com/");
    assert!(matches!(
        add(other).await,
        Err(ConnectionError::MetadataOfOtherIdp { .. })
    ));
    assert!(matches!(
        add("<md:EntityDescriptor>".into()).await,
        Err(ConnectionError::PastedMetadata(_))
    ));
    // None of the refused ones changed what is saved.
    let saved = s.connections.list(&s.owner, s.account).await.unwrap().remove(0);
    assert_eq!(saved.idp.certificates, vec![idp().certificate.clone()]);
    let added = add(metadata(&[idp(), next_idp()])).await.unwrap();
    assert_eq!(
        added.idp.certificates,
        vec![idp().certificate.clone(), next_idp().certificate.clone()]
    );
}

#[tokio::test]
async fn a_notice_mail_that_failed_is_tried_again_until_it_reaches_everyone() {
    let sink = SmtpSink::start();
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (url, dir) = fresh_database().await;
    let world = TestWorld::with_store(Store::open(&url).await.unwrap(), dir);
    let (owner, account) = world.user("owner@acme.example").await;
    world.join(&owner, account, "admin@acme.example", Role::Admin).await;
    // The same database, first with the SMTP relay down, then with it back.
    let down = instance(&world.store, &format!("smtp://127.0.0.1:{closed_port}"));
    let up = instance(&world.store, &sink.url());
    connection_trusting_the_test_idp(&down, &owner, account, "Entra ID", ENTRA_ENTITY_ID, ENTRA_SSO_URL).await;
    let at = idp().certificate.not_after - Duration::days(7);

    let first = down.send_expiry_notices(at).await.unwrap();
    assert_eq!((first.notices, first.mails_sent, first.mails_failed), (1, 0, 2));
    let reference = world
        .store
        .sso_events(account, None, 1)
        .await
        .unwrap()
        .remove(0)
        .reference;
    // Too soon to try again; then tried again once, by one instance, and never after it got through.
    assert_eq!(
        up.send_expiry_notices(at + Duration::minutes(5)).await.unwrap(),
        NoticeReport::default()
    );
    let (a, b) = tokio::join!(
        up.send_expiry_notices(at + Duration::minutes(20)),
        up.send_expiry_notices(at + Duration::minutes(20))
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!((a.notices + b.notices, a.mails_sent + b.mails_sent), (0, 2));
    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    assert!(
        messages
            .iter()
            .all(|m| m.contains(&reference) && m.contains("expires in 7 days"))
    );
    assert_eq!(
        up.send_expiry_notices(at + Duration::hours(2)).await.unwrap(),
        NoticeReport::default()
    );
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(
        world.store.sso_events(account, None, 10).await.unwrap().len(),
        1,
        "one notice, one event, however often its mail was tried"
    );

    // A relay that stays down is given up on after five tries in all.
    let (other_owner, other_account) = world.user("owner@other.example").await;
    connection_trusting_the_test_idp(
        &down,
        &other_owner,
        other_account,
        "Okta",
        "http://www.okta.com/exk1",
        "https://acme.okta.com/app/sso/saml",
    )
    .await;
    let mut tries = 0;
    for quarter in 0..10 {
        let report = down
            .send_expiry_notices(at + Duration::days(1) + Duration::minutes(16 * quarter))
            .await
            .unwrap();
        tries += usize::from(report.mails_failed > 0);
    }
    assert_eq!(tries, 5);
}

#[tokio::test]
async fn gatehouses_own_key_is_due_for_rotation_before_its_certificate_ends() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    // The IdP's certificate lasts a year longer than the key Gatehouse makes now, so only the key is due.
    let idp_certificate = SpKey::generate(
        ConnectionId::new(),
        "idp.example.com",
        KeyState::Active,
        t0() + Duration::days(400),
    )
    .unwrap()
    .certificate
    .to_pem();
    let fields = ManualFields {
        label: "Test IdP",
        entity_id: test_idp::IDP,
        sso_url: "https://idp.example.com/sso",
        slo_url: "",
        certificates: idp_certificate.as_bytes(),
    };
    let connection = connections
        .create_manual(&owner, account, &fields, None, t0())
        .await
        .unwrap();
    let key_end = connection.sp_keys[0].certificate.not_after;

    assert_eq!(
        connections
            .send_expiry_notices(key_end - Duration::days(31))
            .await
            .unwrap()
            .notices,
        0
    );
    let due = key_end - Duration::days(30);
    assert_eq!(connections.send_expiry_notices(due).await.unwrap().notices, 1);
    assert_eq!(
        connections
            .send_expiry_notices(due + Duration::hours(1))
            .await
            .unwrap()
            .notices,
        0
    );
    let event = world.store.sso_events(account, None, 1).await.unwrap().remove(0);
    assert_eq!(event.outcome, "certificate");
    assert!(
        event
            .reason
            .starts_with("The certificate of Gatehouse's key for Test IdP (SP key) expires in 30 days"),
        "{}",
        event.reason
    );
    assert!(event.fix.unwrap_or_default().contains("Publish a new key"));
    let banner = connections.expiring_connections(&owner, account, due).await.unwrap();
    assert_eq!(banner.len(), 1);
    assert_eq!((banner[0].ending, banner[0].valid_until), (Ending::SpKey, key_end));

    // The owner rotates the key: the new one lasts ten years, so the banner goes and no further notice comes.
    let rotated = key_end - Duration::days(20);
    connections
        .prepare_next_key(&owner, account, connection.id, rotated)
        .await
        .unwrap();
    connections
        .activate_next_key(&owner, account, connection.id, rotated)
        .await
        .unwrap();
    assert!(
        connections
            .expiring_connections(&owner, account, rotated)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        connections
            .send_expiry_notices(key_end - Duration::days(7))
            .await
            .unwrap()
            .notices,
        0
    );
}
