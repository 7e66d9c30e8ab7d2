//! A fresh, migrated database per test and helpers to sign people up.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_core::audit::AuditService;
use gatehouse_core::auth::{EmailAddress, ProofMail, ThrottlePolicy};
use gatehouse_core::domains::{DnsSettings, TxtResolver, VerificationPolicy};
use gatehouse_core::saml::KeyEncryptionKey;
use gatehouse_core::sso::{ConnectionService, FetchPolicy, MetadataUpload, PolicyService};
use gatehouse_core::store::EmailProofRow;
use gatehouse_core::{
    AccountId, AuthService, Caller, DomainService, Role, SessionPolicy, Store, TenancyService, UserId,
};
use std::net::SocketAddr;

pub struct TestWorld {
    pub store: Store,
    pub auth: AuthService,
    pub tenancy: TenancyService,
    // Keeps the SQLite file alive for the test's duration.
    _dir: Option<tempfile::TempDir>,
}

/// A fixed clock, so tests never depend on the time they run at.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

pub async fn fresh_store() -> (Store, Option<tempfile::TempDir>) {
    let (url, dir) = fresh_database().await;
    (Store::open(&url).await.expect("open the store"), dir)
}

/// The URL of an empty database: a SQLite file in a temporary directory (kept alive by the second value), or a new
/// database on the PostgreSQL server `GATEHOUSE_TEST_POSTGRES_URL` names.
pub async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => {
            let url = Store::create_postgres_test_database(&server)
                .await
                .expect("create a PostgreSQL test database");
            (url, None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("gatehouse.sqlite").display());
            (url, Some(dir))
        }
    }
}

impl TestWorld {
    pub async fn new() -> Self {
        let (store, dir) = fresh_store().await;
        Self::with_store(store, dir)
    }

    /// The services on `store`; `dir` holds its SQLite file.
    pub fn with_store(store: Store, dir: Option<tempfile::TempDir>) -> Self {
        let public_url = url::Url::parse("https://sso.example.com/").unwrap();
        let auth = AuthService::new(
            store.clone(),
            SessionPolicy::default(),
            ThrottlePolicy::default(),
            ProofMail::new(public_url.clone(), None, false),
        );
        let tenancy = TenancyService::new(store.clone(), public_url, None, Duration::days(7));
        Self {
            store,
            auth,
            tenancy,
            _dir: dir,
        }
    }

    /// Signs a new user up, proves their address, and returns them as a caller, with their personal account.
    pub async fn user(&self, email: &str) -> (Caller, AccountId) {
        let signed_up = self
            .auth
            .sign_up(email, "correct horse battery", None, t0())
            .await
            .expect("sign up");
        self.prove_email(signed_up.session.user_id, email).await;
        let caller = self
            .auth
            .authenticate(&signed_up.session.token, t0())
            .await
            .expect("session works");
        (caller, signed_up.account_id)
    }

    /// Follows a proof link for `user`'s address `email`, as if read from their inbox: the link mailed at sign-up
    /// went to the log here (no SMTP relay), so one with a known secret takes its place.
    pub async fn prove_email(&self, user: UserId, email: &str) {
        let secret = format!("test-proof-{user}");
        let row = EmailProofRow {
            token_hash: gatehouse_core::token::digest(&secret),
            user_id: user,
            email_key: EmailAddress::parse(email).unwrap().key().to_owned(),
            return_to: None,
            created_at: t0(),
            expires_at: t0() + Duration::hours(1),
            links_sent: 1,
            first_sent_at: t0(),
        };
        self.store.replace_email_proof(&row).await.unwrap();
        self.auth
            .prove_email(&secret, t0())
            .await
            .expect("the link proves the address");
    }

    /// Invites `email` to `account` with `role` and accepts as that user (signing them up first).
    pub async fn join(&self, owner: &Caller, account: AccountId, email: &str, role: Role) -> Caller {
        let invitation = self
            .tenancy
            .invite(owner, account, email, role, t0())
            .await
            .expect("invite");
        let (member, _) = self.user(email).await;
        let secret = invitation.link.rsplit('/').next().unwrap();
        self.tenancy
            .accept_invitation(&member, secret, t0())
            .await
            .expect("accept");
        member
    }

    /// The domain rules, asking the DNS server at `nameserver`, with a short timeout so unanswered lookups
    /// fail fast.
    pub fn domains(&self, nameserver: SocketAddr) -> DomainService {
        let resolver = TxtResolver::new(&DnsSettings {
            nameservers: vec![nameserver],
            timeout: std::time::Duration::from_millis(300),
            attempts: 1,
        })
        .expect("resolver");
        DomainService::new(
            self.store.clone(),
            self.tenancy.clone(),
            resolver,
            VerificationPolicy::default(),
            8,
        )
    }

    /// Connections whose metadata URLs may be plain http on loopback, where the tests' IdP servers run.
    pub fn connections(&self) -> ConnectionService {
        self.connections_with(FetchPolicy {
            allow_http: true,
            allow_private_addresses: true,
            ..FetchPolicy::default()
        })
    }

    pub fn connections_with(&self, fetch_policy: FetchPolicy) -> ConnectionService {
        ConnectionService::new(
            self.store.clone(),
            self.tenancy.clone(),
            url::Url::parse("https://sso.example.com/").unwrap(),
            fetch_policy,
            chrono::Duration::hours(12),
            KeyEncryptionKey::development(),
        )
    }

    pub fn policy(&self) -> PolicyService {
        PolicyService::new(self.store.clone(), self.tenancy.clone())
    }

    pub fn audit(&self) -> AuditService {
        AuditService::new(self.store.clone(), self.tenancy.clone())
    }
}

/// A metadata upload as the form sends it, without a federation certificate.
pub fn upload<'a>(label: &'a str, document: &'a [u8], entity_id: &'a str) -> MetadataUpload<'a> {
    MetadataUpload {
        label,
        document,
        entity_id,
        signing_certificate: b"",
    }
}

/// An IdP metadata file from `testkit/fixtures/idp-metadata/` (real IdP exports; their sources are in SOURCES.md).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../testkit/fixtures/idp-metadata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
