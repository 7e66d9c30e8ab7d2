//! Starts the whole application on port 0 with a fresh database (SQLite, or PostgreSQL when
//! `GATEHOUSE_TEST_POSTGRES_URL` names a server) and talks to it like a browser or a script would.

use clap::Parser;
use reqwest::header::{ACCEPT, ORIGIN};
use server::config::Config;
use std::net::SocketAddr;
use test_smtp::SmtpSink;

pub struct TestApp {
    pub address: String,
    database_url: String,
    extra_args: Vec<String>,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

pub async fn spawn_app_with(extra_args: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let database_url = fresh_database_url(dir.path()).await;
    let extra_args: Vec<String> = extra_args.iter().map(|a| a.to_string()).collect();
    serve(listener, &address, &database_url, &extra_args).await;
    TestApp {
        address,
        database_url,
        extra_args,
        _dir: dir,
    }
}

impl TestApp {
    /// Starts another instance of the same application, on its own port but with the same database and public
    /// URL, as a second server behind one load balancer; answers its address.
    pub async fn another_instance(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        serve(listener, &self.address, &self.database_url, &self.extra_args).await;
        address
    }

    /// The application's database, for what no page can do: planting a session as an older version left it.
    pub async fn store(&self) -> gatehouse_core::Store {
        gatehouse_core::Store::open(&self.database_url).await.unwrap()
    }
}

async fn serve(listener: tokio::net::TcpListener, public_url: &str, database_url: &str, extra_args: &[String]) {
    let (state, max_body_bytes) = app_state(public_url, database_url, extra_args).await;
    let app = server::router(state, max_body_bytes);
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap();
    });
}

/// The state a server for `public_url` on `database_url` starts with, and its body limit: what
/// [`server::router`] takes.
pub async fn app_state(public_url: &str, database_url: &str, extra_args: &[String]) -> (server::AppState, usize) {
    // Mail (proof links, invitations) goes to the test process's SMTP server, where tests read it.
    let smtp_url = SmtpSink::shared().url();
    let mut args = vec![
        "gatehouse",
        "--public-url",
        public_url,
        "--database-url",
        database_url,
        "--smtp-url",
        &smtp_url,
    ];
    args.extend(extra_args.iter().map(String::as_str));
    let config = Config::parse_from(args);
    let state = server::state(&config, server::leptos_options())
        .await
        .expect("the application starts");
    (state, config.max_body_bytes)
}

/// A fresh SQLite file in `dir`, or a fresh database on the PostgreSQL test server.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("GATEHOUSE_TEST_POSTGRES_URL") {
        Ok(server) if !server.is_empty() => gatehouse_core::Store::create_postgres_test_database(&server)
            .await
            .expect("create a PostgreSQL test database"),
        _ => format!("sqlite://{}", dir.join("gatehouse.sqlite").display()),
    }
}

/// A client with its own cookie jar: one browser.
pub struct Browser {
    pub client: reqwest::Client,
    pub base: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self::at(&app.address)
    }

    /// A browser whose relative paths go to `base`.
    pub fn at(base: &str) -> Self {
        Self::with_jar(base, reqwest::cookie::Jar::default())
    }

    /// A browser that already holds the session `token`.
    pub fn with_session(app: &TestApp, token: &str) -> Self {
        let jar = reqwest::cookie::Jar::default();
        jar.add_cookie_str(
            &format!("gatehouse_session={token}; Path=/"),
            &app.address.parse().unwrap(),
        );
        Self::with_jar(&app.address, jar)
    }

    fn with_jar(base: &str, jar: reqwest::cookie::Jar) -> Self {
        let client = reqwest::Client::builder()
            .cookie_provider(std::sync::Arc::new(jar))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            client,
            base: base.to_owned(),
        }
    }

    /// The same browser (cookie jar and all) with its relative paths going to another server.
    pub fn with_base(&self, base: &str) -> Self {
        Self {
            client: self.client.clone(),
            base: base.to_owned(),
        }
    }

    /// Loads a page as a browser navigation does.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header(ACCEPT, "text/html")
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function as a page's script does: same origin, form-encoded, JSON answer.
    pub async fn call(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header(ORIGIN, &self.base)
            .header(ACCEPT, "application/json")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Calls a server function that must succeed and answers its JSON.
    pub async fn call_ok(&self, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
        json(self.call(path, form).await, 200).await
    }

    /// Signs up with `email`, follows the link mailed to it, and answers the new personal account's ID.
    pub async fn sign_up(&self, email: &str) -> String {
        let response = self
            .call(
                "/api/auth/sign-up",
                &[("email", email), ("password", "correct horse battery")],
            )
            .await;
        assert_eq!(response.status(), 200, "sign-up of {email}");
        let path: String = response.json().await.unwrap();
        self.confirm_email(email).await;
        let next = path
            .strip_prefix("/confirm-email?next=")
            .expect("sign-up asks for the proof first");
        next.strip_prefix("/accounts/")
            .and_then(|account| account.strip_suffix("/sso/setup"))
            .expect("a new account opens on its guided SSO setup")
            .to_owned()
    }

    /// Follows the newest proof link mailed to `email` by this browser's server, as its user would; answers where
    /// the page sent them.
    pub async fn confirm_email(&self, email: &str) -> String {
        let link = SmtpSink::shared().take_link(email, &format!("{}/confirm-email/", self.base));
        let token = link.rsplit('/').next().unwrap();
        let answer = self.call_ok("/api/auth/confirm-email", &[("token", token)]).await;
        answer.as_str().unwrap().to_owned()
    }
}

/// The owner invites `email` with `role`; `member` signs up with it and accepts.
pub async fn invite_and_join(owner: &Browser, account: &str, member: &Browser, email: &str, role: &str) {
    let response = owner
        .call(
            "/api/accounts/invite",
            &[("account_id", account), ("email", email), ("role", role)],
        )
        .await;
    assert_eq!(response.status(), 200);
    let created: serde_json::Value = response.json().await.unwrap();
    let link = created["link"].as_str().unwrap();
    assert_eq!(
        created["delivery"],
        format!("An email with this link was sent to {email}.")
    );
    let token = link.rsplit('/').next().unwrap();
    member.sign_up(email).await;
    let accepted = member.call("/api/invitations/accept", &[("token", token)]).await;
    assert_eq!(accepted.status(), 200);
}

/// Checks the status of an answer and reads its JSON body.
pub async fn json(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status(), status, "{}", response.url());
    response.json().await.unwrap()
}

/// An IdP metadata file from `testkit/fixtures/idp-metadata/` (real IdP exports; their sources are in SOURCES.md).
pub fn fixture(name: &str) -> String {
    let path = format!("{}/../testkit/fixtures/idp-metadata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
