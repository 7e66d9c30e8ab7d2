//! A fresh, migrated database per test and helpers to sign people up.

use chrono::{DateTime, Duration, TimeZone, Utc};
use gatehouse_core::auth::ThrottlePolicy;
use gatehouse_core::{AccountId, AuthService, Caller, SessionPolicy, Store, TenancyService};

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
    match std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => {
            let url = Store::create_postgres_test_database(&server)
                .await
                .expect("create a PostgreSQL test database");
            (Store::open(&url).await.expect("open PostgreSQL store"), None)
        }
        _ => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}", dir.path().join("gatehouse.sqlite").display());
            (Store::open(&url).await.expect("open SQLite store"), Some(dir))
        }
    }
}

impl TestWorld {
    pub async fn new() -> Self {
        let (store, dir) = fresh_store().await;
        let auth = AuthService::new(store.clone(), SessionPolicy::default(), ThrottlePolicy::default());
        let tenancy = TenancyService::new(
            store.clone(),
            url::Url::parse("https://sso.example.com/").unwrap(),
            None,
            Duration::days(7),
        );
        Self {
            store,
            auth,
            tenancy,
            _dir: dir,
        }
    }

    /// Signs a new user up and returns them as a caller, with their personal account.
    pub async fn user(&self, email: &str) -> (Caller, AccountId) {
        let signed_up = self
            .auth
            .sign_up(email, "correct horse battery", t0())
            .await
            .expect("sign up");
        let caller = self
            .auth
            .authenticate(&signed_up.session.token, t0())
            .await
            .expect("session works");
        (caller, signed_up.account_id)
    }
}
