//! Metadata imported from a URL against a real HTTP server on loopback (allowed by the test policy): the
//! background refresh, the fetch guard, and metadata documents signed by their federation.

use crate::support::{TestWorld, fixture, t0, upload};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Duration;
use gatehouse_core::saml::metadata::HTTP_POST;
use gatehouse_core::saml::metadata_signature::SignatureError;
use gatehouse_core::saml::{Certificate, RequestBinding};
use gatehouse_core::sso::metadata_monitor::MONITOR_ACTOR;
use gatehouse_core::sso::{
    Connection, ConnectionError, ConnectionOptions, FetchError, FetchPolicy, OptionsForm, RefreshOutcome,
    RefreshReport, Source, UrlImport,
};
use gatehouse_core::store::KEPT_REFRESHES;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

fn first_certificate(document: &[u8]) -> Certificate {
    let text = String::from_utf8_lossy(document);
    let start = text.find("X509Certificate>").unwrap() + "X509Certificate>".len();
    let end = start + text[start..].find('<').unwrap();
    Certificate::from_base64(&text[start..end]).unwrap()
}

/// Okta's metadata with a second signing certificate, as an IdP publishes it ahead of a rollover.
fn okta_with_next_certificate() -> (Vec<u8>, Certificate) {
    let next = first_certificate(&fixture("google.metadata.xml"));
    let text = String::from_utf8(fixture("okta.metadata.xml")).unwrap();
    let descriptor = format!(
        "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
        next.to_base64()
    );
    let at = text.find("<md:KeyDescriptor").unwrap();
    (format!("{}{descriptor}{}", &text[..at], &text[at..]).into_bytes(), next)
}

/// What the test server answers at `/metadata`, after how long, and how many requests reached it.
#[derive(Clone)]
struct Served {
    answer: Arc<Mutex<(StatusCode, Vec<u8>)>>,
    delay: Arc<Mutex<std::time::Duration>>,
    hold: Arc<Mutex<Option<Hold>>>,
    requests: Arc<AtomicUsize>,
    server: Arc<Mutex<Option<tokio::task::AbortHandle>>>,
}

/// The next request is answered only once the test lets it go.
struct Hold {
    arrived: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}

impl Served {
    fn set(&self, status: StatusCode, body: Vec<u8>) {
        *self.answer.lock().unwrap() = (status, body);
    }

    fn answer_after(&self, delay: std::time::Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    /// Holds the next request's answer: the first channel says that the request arrived, sending on the second
    /// lets the answer go.
    fn hold_next(&self) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (arrived, arrival) = oneshot::channel();
        let (release, released) = oneshot::channel();
        *self.hold.lock().unwrap() = Some(Hold {
            arrived,
            release: released,
        });
        (arrival, release)
    }

    /// Shuts the server down: its port refuses connections from then on, as an IdP that is down does.
    fn go_down(&self) {
        if let Some(server) = self.server.lock().unwrap().take() {
            server.abort();
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn metadata(State(served): State<Served>) -> Response {
    served.requests.fetch_add(1, Ordering::SeqCst);
    let hold = served.hold.lock().unwrap().take();
    if let Some(hold) = hold {
        hold.arrived.send(()).unwrap();
        hold.release.await.unwrap();
    }
    let delay = *served.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let (status, body) = served.answer.lock().unwrap().clone();
    (status, [(header::CONTENT_TYPE, "application/samlmetadata+xml")], body).into_response()
}

/// An IdP's metadata endpoint on a loopback port; also `/loop` (redirects forever), `/moved` (redirects to
/// `/metadata`) and `/huge` (3 MB).
async fn metadata_server(body: Vec<u8>) -> (String, Served) {
    let served = Served {
        answer: Arc::new(Mutex::new((StatusCode::OK, body))),
        delay: Arc::default(),
        hold: Arc::default(),
        requests: Arc::new(AtomicUsize::new(0)),
        server: Arc::default(),
    };
    let app = Router::new()
        .route("/metadata", get(metadata))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route("/moved", get(|| async { Redirect::permanent("/metadata") }))
        .route("/huge", get(|| async { vec![b'x'; 3 * 1024 * 1024] }))
        .with_state(served.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    *served.server.lock().unwrap() = Some(server.abort_handle());
    (base, served)
}

/// The connection's newest refresh failed for `reason` and says that the saved settings were kept.
fn assert_refresh_failed(connection: &Connection, reason: &str) {
    let newest = &connection.refreshes[0];
    assert_eq!(newest.outcome, RefreshOutcome::Failed);
    assert!(newest.detail.contains(reason), "{}", newest.detail);
    assert!(newest.detail.contains("The saved configuration is unchanged."));
}

fn url_import<'a>(url: &'a str, monitor: bool) -> UrlImport<'a> {
    UrlImport {
        label: "Okta",
        url,
        entity_id: "",
        monitor,
        signing_certificate: b"",
    }
}

#[tokio::test]
async fn a_monitored_url_picks_up_new_certificates_and_never_applies_a_broken_download() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let (base, served) = metadata_server(fixture("okta.metadata.xml")).await;
    let url = format!("{base}/metadata");
    let created = connections
        .import_metadata_url(&owner, account, &url_import(&url, true), None, t0())
        .await
        .unwrap();
    assert_eq!(created.source, Source::MetadataUrl);
    assert_eq!(created.origin.url.as_ref().map(|u| u.as_str()), Some(url.as_str()));
    assert_eq!(created.origin.refresh_due_at, Some(t0() + Duration::hours(12)));
    assert_eq!(created.idp.certificates.len(), 1);
    assert_eq!(served.requests(), 1);

    // Not due yet: nothing is fetched.
    assert_eq!(
        connections
            .refresh_due_metadata(t0() + Duration::hours(1))
            .await
            .unwrap(),
        RefreshReport::default()
    );
    assert_eq!(served.requests(), 1);

    // Unchanged document.
    let mut at = t0() + Duration::hours(13);
    let report = connections.refresh_due_metadata(at).await.unwrap();
    assert_eq!(
        report,
        RefreshReport {
            unchanged: 1,
            ..Default::default()
        }
    );

    // The IdP publishes its next certificate: picked up, audited, recorded.
    let (with_next, next) = okta_with_next_certificate();
    served.set(StatusCode::OK, with_next);
    at += Duration::hours(13);
    assert_eq!(connections.refresh_due_metadata(at).await.unwrap().updated, 1);
    let updated = connections.list(&owner, account).await.unwrap().remove(0);
    assert_eq!(updated.idp.certificates.len(), 2);
    assert!(updated.idp.certificates.contains(&next));
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.sp_keys, created.sp_keys);
    assert_eq!(updated.refreshes[0].outcome, RefreshOutcome::Updated);
    assert!(updated.refreshes[0].detail.contains(&next.sha256_fingerprint));
    let entry = world.audit().recent(&owner, account).await.unwrap().remove(0);
    assert_eq!(
        (entry.action.as_str(), entry.actor_email.as_str()),
        ("Metadata refreshed", MONITOR_ACTOR)
    );
    // The owner reads it in the SSO events too: both certificates are trusted now.
    let published = world.store.sso_events(account, None, 10).await.unwrap().remove(0);
    assert_eq!(published.outcome, "certificate");
    assert!(
        published.reason.starts_with(&format!(
            "The IdP published a new signing certificate (SHA-256 {},",
            next.sha256_fingerprint
        )) && published
            .reason
            .contains("both are trusted until the old one disappears"),
        "{}",
        published.reason
    );

    // Broken downloads are recorded as failures, retried within the hour, and change nothing.
    let failures: [(StatusCode, Vec<u8>, &str); 4] = [
        (
            StatusCode::OK,
            b"<html>maintenance</html>".to_vec(),
            "not SAML 2.0 metadata",
        ),
        (StatusCode::NOT_FOUND, b"gone".to_vec(), "HTTP 404"),
        (StatusCode::OK, fixture("google.metadata.xml"), "now describes the IdP"),
        (StatusCode::OK, b"<!DOCTYPE x [<!ENTITY a \"b\">]><x/>".to_vec(), "DTD"),
    ];
    for (status, body, reason) in failures {
        served.set(status, body);
        at += Duration::hours(13);
        assert_eq!(
            connections.refresh_due_metadata(at).await.unwrap().failed,
            1,
            "{reason}"
        );
        let after = connections.list(&owner, account).await.unwrap().remove(0);
        assert_eq!(after.idp, updated.idp, "{reason}: the saved settings are kept");
        assert_refresh_failed(&after, reason);
        assert_eq!(after.origin.refresh_due_at, Some(at + Duration::hours(1)));
    }

    // Refresh now answers with the result; turning monitoring off stops the background fetches.
    served.set(StatusCode::OK, fixture("okta.metadata.xml"));
    let now = connections
        .refresh_metadata_now(&owner, account, created.id, at)
        .await
        .unwrap();
    assert_eq!(now.outcome, RefreshOutcome::Updated);
    assert!(
        now.detail
            .contains(&format!("certificate removed (SHA-256 {})", next.sha256_fingerprint))
    );
    let removed = world.store.sso_events(account, None, 10).await.unwrap().remove(0);
    assert_eq!(removed.outcome, "certificate");
    assert!(
        removed.reason.starts_with(&format!(
            "The IdP no longer publishes the signing certificate SHA-256 {}; it was removed",
            next.sha256_fingerprint
        )),
        "{}",
        removed.reason
    );
    assert_eq!(
        world.store.sso_events(account, None, 10).await.unwrap().len(),
        2,
        "failed and unchanged refreshes add no event"
    );
    connections
        .set_monitoring(&owner, account, created.id, false, at)
        .await
        .unwrap();
    let fetched = served.requests();
    assert_eq!(
        connections.refresh_due_metadata(at + Duration::days(30)).await.unwrap(),
        RefreshReport::default()
    );
    assert_eq!(served.requests(), fetched);
    assert_eq!(
        connections.list(&owner, account).await.unwrap()[0].refreshes.len(),
        7,
        "every result is recorded"
    );

    // Only the newest results are kept and shown, newest first.
    for minute in 1..=KEPT_REFRESHES as i64 {
        connections
            .refresh_metadata_now(&owner, account, created.id, at + Duration::minutes(minute))
            .await
            .unwrap();
    }
    let kept = connections.list(&owner, account).await.unwrap()[0].refreshes.clone();
    assert_eq!(kept.len(), KEPT_REFRESHES as usize);
    assert_eq!(kept[0].at, at + Duration::minutes(KEPT_REFRESHES as i64));
    assert_eq!(kept[kept.len() - 1].at, at + Duration::minutes(1));
    assert!(kept.windows(2).all(|pair| pair[0].at > pair[1].at));

    // Monitoring needs a URL.
    let manual = connections
        .import_metadata(
            &owner,
            account,
            &upload("Google", &fixture("google.metadata.xml"), ""),
            None,
            t0(),
        )
        .await
        .unwrap();
    assert!(matches!(
        connections.set_monitoring(&owner, account, manual.id, true, at).await,
        Err(ConnectionError::NotMonitorable)
    ));
}

#[tokio::test]
async fn a_refresh_keeps_the_options_the_owner_changed_while_it_downloaded() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let (base, served) = metadata_server(fixture("okta.metadata.xml")).await;
    let url = format!("{base}/metadata");
    let created = connections
        .import_metadata_url(&owner, account, &url_import(&url, true), None, t0())
        .await
        .unwrap();
    let (with_next, next) = okta_with_next_certificate();
    served.set(StatusCode::OK, with_next);
    let (arrived, release) = served.hold_next();

    // Every option differs from the defaults the refresh read before its download.
    let changed = OptionsForm {
        allow_idp_initiated: true,
        sign_authn_requests: false,
        binding: "post",
        authn_context: "password_protected_transport",
        email_source: "attribute",
        email_attribute: "mail",
        allow_sha1: true,
        clock_skew_seconds: "300",
    };
    let at = t0() + Duration::hours(13);
    let (report, options) = tokio::join!(connections.refresh_due_metadata(at), async {
        arrived.await.unwrap();
        let options = connections
            .save_options(&owner, account, created.id, &changed, at)
            .await
            .unwrap();
        connections
            .set_monitoring(&owner, account, created.id, false, at)
            .await
            .unwrap();
        release.send(()).unwrap();
        options
    });
    assert_eq!(report.unwrap().updated, 1);

    let after = connections.list(&owner, account).await.unwrap().remove(0);
    assert!(
        after.idp.certificates.contains(&next),
        "the IdP's new certificate is saved"
    );
    assert_eq!(after.options, options, "the owner's options are kept");
    assert_eq!(after.sso_endpoint().binding, HTTP_POST);
    assert!(!after.origin.monitor, "monitoring stays off");
    assert_eq!(after.label, created.label);

    // Only an IdP that stops offering the chosen binding moves the connection to the one it still offers.
    let okta = String::from_utf8(fixture("okta.metadata.xml")).unwrap();
    let post = okta
        .find(&format!("<md:SingleSignOnService Binding=\"{HTTP_POST}\""))
        .unwrap();
    let end = post + okta[post..].find("/>").unwrap() + "/>".len();
    served.set(
        StatusCode::OK,
        format!("{}{}", &okta[..post], &okta[end..]).into_bytes(),
    );
    let refreshed = connections
        .refresh_metadata_now(&owner, account, created.id, at)
        .await
        .unwrap();
    assert_eq!(refreshed.outcome, RefreshOutcome::Updated);
    let after = connections.list(&owner, account).await.unwrap().remove(0);
    assert_eq!(after.idp.sso_endpoints.len(), 1);
    assert_eq!(
        after.options,
        ConnectionOptions {
            binding: RequestBinding::Redirect,
            ..options
        }
    );
}

#[tokio::test]
async fn an_idp_that_is_slow_or_down_leaves_the_saved_configuration_in_place() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections_with(FetchPolicy {
        allow_http: true,
        allow_private_addresses: true,
        timeout: std::time::Duration::from_secs(1),
    });
    let (base, served) = metadata_server(fixture("okta.metadata.xml")).await;
    let url = format!("{base}/metadata");
    let created = connections
        .import_metadata_url(&owner, account, &url_import(&url, true), None, t0())
        .await
        .unwrap();

    // Slow: the answer would come after the download's time limit.
    served.answer_after(std::time::Duration::from_secs(3));
    let mut at = t0() + Duration::hours(13);
    let began = std::time::Instant::now();
    assert_eq!(connections.refresh_due_metadata(at).await.unwrap().failed, 1);
    assert!(
        began.elapsed() < std::time::Duration::from_secs(3),
        "given up on at the limit"
    );
    let after = connections.list(&owner, account).await.unwrap().remove(0);
    assert_eq!(after.idp, created.idp);
    assert_refresh_failed(&after, "did not answer within 1 seconds");

    // Down: nothing listens on the port any more.
    served.go_down();
    at += Duration::hours(13);
    assert_eq!(connections.refresh_due_metadata(at).await.unwrap().failed, 1);
    let after = connections.list(&owner, account).await.unwrap().remove(0);
    assert_eq!(after.idp, created.idp);
    assert_refresh_failed(&after, "The download failed");
    // Refresh now says the same to the owner, and still changes nothing.
    let now = connections
        .refresh_metadata_now(&owner, account, created.id, at)
        .await
        .unwrap();
    assert_eq!(now.outcome, RefreshOutcome::Failed);
    assert_eq!(connections.list(&owner, account).await.unwrap()[0].idp, created.idp);
}

#[tokio::test]
async fn two_servers_refresh_a_due_connection_once() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let (base, served) = metadata_server(fixture("okta.metadata.xml")).await;
    let url = format!("{base}/metadata");
    let (first, second) = (world.connections(), world.connections());
    first
        .import_metadata_url(&owner, account, &url_import(&url, true), None, t0())
        .await
        .unwrap();
    let at = t0() + Duration::hours(13);
    let (a, b) = tokio::join!(first.refresh_due_metadata(at), second.refresh_due_metadata(at));
    let total = a.unwrap().unchanged + b.unwrap().unchanged;
    assert_eq!(total, 1);
    assert_eq!(served.requests(), 2, "one import, one refresh");
}

#[tokio::test]
async fn the_fetch_guard_refuses_plain_http_private_addresses_endless_redirects_and_huge_documents() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let (base, served) = metadata_server(fixture("okta.metadata.xml")).await;
    let port = base.rsplit(':').next().unwrap().to_owned();
    let import = |connections: gatehouse_core::sso::ConnectionService, url: String| {
        let owner = owner.clone();
        async move {
            connections
                .import_metadata_url(&owner, account, &url_import(&url, false), None, t0())
                .await
        }
    };
    let fetch_error = |result: Result<gatehouse_core::sso::Connection, ConnectionError>| match result {
        Err(ConnectionError::Fetch(e)) => e,
        other => panic!("{other:?}"),
    };

    let strict = world.connections_with(FetchPolicy::default());
    assert_eq!(
        fetch_error(import(strict.clone(), format!("{base}/metadata")).await),
        FetchError::NotHttps
    );
    assert_eq!(
        fetch_error(import(strict.clone(), format!("https://127.0.0.1:{port}/metadata")).await),
        FetchError::PrivateAddress("127.0.0.1".into())
    );
    assert_eq!(
        fetch_error(
            import(
                strict.clone(),
                "https://[::ffff:169.254.169.254]/latest/meta-data".into()
            )
            .await
        ),
        FetchError::PrivateAddress("::ffff:169.254.169.254".into())
    );
    // A host name is judged by the addresses it resolves to, before anything is sent.
    let http_only = world.connections_with(FetchPolicy {
        allow_http: true,
        allow_private_addresses: false,
        ..FetchPolicy::default()
    });
    assert!(matches!(
        fetch_error(import(http_only, format!("http://localhost:{port}/metadata")).await),
        FetchError::PrivateAddress(_)
    ));
    assert_eq!(served.requests(), 0, "no request reached the private server");

    let relaxed = world.connections();
    assert_eq!(
        fetch_error(import(relaxed.clone(), format!("{base}/loop")).await),
        FetchError::TooManyRedirects
    );
    assert_eq!(
        fetch_error(import(relaxed.clone(), format!("{base}/huge")).await),
        FetchError::TooLarge
    );
    assert_eq!(
        fetch_error(import(relaxed.clone(), format!("{base}/missing")).await),
        FetchError::Status(404)
    );
    assert_eq!(
        fetch_error(import(relaxed.clone(), "ftp://example.com/md".into()).await),
        FetchError::InvalidUrl
    );
    assert!(
        relaxed.list(&owner, account).await.unwrap().is_empty(),
        "nothing was saved"
    );
    let moved = import(relaxed.clone(), format!("{base}/moved")).await.unwrap();
    assert_eq!(moved.idp.entity_id, "http://www.okta.com/exkdoocxa1VmjpXmX697");
}

fn signed<'a>(document: &'a [u8], certificate: &'a str) -> gatehouse_core::sso::MetadataUpload<'a> {
    gatehouse_core::sso::MetadataUpload {
        label: "Entra",
        document,
        entity_id: "",
        signing_certificate: certificate.as_bytes(),
    }
}

#[tokio::test]
async fn a_signed_metadata_document_is_accepted_only_with_its_federation_certificate() {
    let world = TestWorld::new().await;
    let (owner, account) = world.user("owner@acme.example").await;
    let connections = world.connections();
    let entra = fixture("entra.metadata.xml");
    let entra_signer = first_certificate(&entra).to_pem();
    let okta_cert = first_certificate(&fixture("okta.metadata.xml")).to_pem();
    let (entra, entra_signer, okta_cert) = (entra.as_slice(), entra_signer.as_str(), okta_cert.as_str());

    let wrong_key = connections
        .import_metadata(&owner, account, &signed(entra, okta_cert), None, t0())
        .await;
    assert!(
        matches!(wrong_key, Err(ConnectionError::Signature(SignatureError::Invalid(_)))),
        "{wrong_key:?}"
    );
    let tampered =
        String::from_utf8_lossy(entra).replacen("https://login.microsoftonline.com/", "https://login.example.com/", 1);
    let tampered = connections
        .import_metadata(&owner, account, &signed(tampered.as_bytes(), entra_signer), None, t0())
        .await;
    assert!(
        matches!(tampered, Err(ConnectionError::Signature(SignatureError::Invalid(_)))),
        "{tampered:?}"
    );
    let okta = fixture("okta.metadata.xml");
    let unsigned = connections
        .import_metadata(&owner, account, &signed(&okta, entra_signer), None, t0())
        .await;
    assert!(
        matches!(unsigned, Err(ConnectionError::Signature(SignatureError::Unsigned))),
        "{unsigned:?}"
    );
    let not_a_certificate = connections
        .import_metadata(&owner, account, &signed(entra, "hello"), None, t0())
        .await;
    assert!(matches!(not_a_certificate, Err(ConnectionError::SigningCertificate(_))));
    assert!(connections.list(&owner, account).await.unwrap().is_empty());

    let verified = connections
        .import_metadata(&owner, account, &signed(entra, entra_signer), None, t0())
        .await
        .unwrap();
    assert!(verified.idp.entity_id.starts_with("https://sts.windows.net/"));
    assert_eq!(
        verified
            .origin
            .signing_certificate
            .as_ref()
            .map(Certificate::to_pem)
            .as_deref(),
        Some(entra_signer)
    );
    // ADFS signs its federation metadata the same way.
    let adfs = fixture("adfs.metadata.xml");
    let adfs_signer = first_certificate(&adfs).to_pem();
    let adfs_upload = gatehouse_core::sso::MetadataUpload {
        label: "ADFS",
        document: &adfs,
        entity_id: "",
        signing_certificate: adfs_signer.as_bytes(),
    };
    connections
        .import_metadata(&owner, account, &adfs_upload, None, t0())
        .await
        .unwrap();

    // A monitored URL with a federation certificate refuses a version that is not signed with it.
    let (base, served) = metadata_server(entra.to_vec()).await;
    let url = format!("{base}/metadata");
    let import = UrlImport {
        label: "Entra",
        url: &url,
        entity_id: "",
        monitor: true,
        signing_certificate: entra_signer.as_bytes(),
    };
    let monitored = connections
        .import_metadata_url(&owner, account, &import, Some(verified.id), t0())
        .await
        .unwrap();
    let tampered =
        String::from_utf8_lossy(entra).replacen("https://login.microsoftonline.com/", "https://evil.example/", 1);
    served.set(StatusCode::OK, tampered.into_bytes());
    assert_eq!(
        connections
            .refresh_due_metadata(t0() + Duration::hours(13))
            .await
            .unwrap()
            .failed,
        1
    );
    let after = connections
        .list(&owner, account)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.id == monitored.id)
        .unwrap();
    assert_eq!(after.idp, monitored.idp);
    assert!(
        after.refreshes[0].detail.contains("signature does not verify"),
        "{}",
        after.refreshes[0].detail
    );
}

#[test]
fn each_refresh_is_counted_for_the_operator_by_its_outcome() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // The recorder is this thread's only, so the runtime runs here too: other tests' refreshes are not counted.
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let world = TestWorld::new().await;
            let (owner, account) = world.user("owner@acme.example").await;
            let connections = world.connections();
            let (base, served) = metadata_server(fixture("okta.metadata.xml")).await;
            let url = format!("{base}/metadata");
            let created = connections
                .import_metadata_url(&owner, account, &url_import(&url, true), None, t0())
                .await
                .unwrap();
            let refresh = || connections.refresh_metadata_now(&owner, account, created.id, t0());
            assert_eq!(refresh().await.unwrap().outcome, RefreshOutcome::Unchanged);
            served.set(StatusCode::OK, okta_with_next_certificate().0);
            assert_eq!(refresh().await.unwrap().outcome, RefreshOutcome::Updated);
            served.set(StatusCode::INTERNAL_SERVER_ERROR, Vec::new());
            assert_eq!(refresh().await.unwrap().outcome, RefreshOutcome::Failed);
            assert_eq!(refresh().await.unwrap().outcome, RefreshOutcome::Failed);
        })
    });
    let mut counted: Vec<(String, u64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| key.key().name() == gatehouse_core::metrics::METADATA_REFRESHES)
        .map(|(key, _, _, value)| {
            let outcome = key
                .key()
                .labels()
                .find(|l| l.key() == "outcome")
                .unwrap()
                .value()
                .to_owned();
            let DebugValue::Counter(count) = value else {
                panic!("{outcome} is counted");
            };
            (outcome, count)
        })
        .collect();
    counted.sort();
    assert_eq!(
        counted,
        [("failed".into(), 2), ("unchanged".into(), 1), ("updated".into(), 1)]
    );
}
