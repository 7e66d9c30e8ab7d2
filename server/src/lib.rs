//! The Gatehouse server: turns configuration into a running HTTP service.
#![recursion_limit = "256"]

pub mod config;
pub mod jobs;
pub mod metrics;
mod origin_guard;
mod routes;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderValue, header};
use config::Config;
use gatehouse_core::audit::AuditService;
use gatehouse_core::auth::{ProofMail, ThrottlePolicy};
use gatehouse_core::domains::TxtResolver;
use gatehouse_core::mail::Mailer;
use gatehouse_core::saml::KeyEncryptionKey;
use gatehouse_core::setup_link::SetupLinkService;
use gatehouse_core::sso::sign_in::SsoService;
use gatehouse_core::sso::stored_keys::{self, StoredKeysError};
use gatehouse_core::sso::{ConnectionService, PolicyService};
use gatehouse_core::{AuthService, DomainService, Store, TenancyService};
use gatehouse_web::Services;
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::sync::{Arc, LazyLock};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// Everything a request handler may need, behind one `Arc`: axum clones the state for every request (the route,
/// the `State` extractor and the origin guard each take a copy), and copying the services' handles each time was a
/// twentieth of a sign-in's server time (docs/performance.md).
#[derive(Clone)]
pub struct AppState(Arc<SharedState>);

impl std::ops::Deref for AppState {
    type Target = SharedState;

    fn deref(&self) -> &SharedState {
        &self.0
    }
}

/// What [`AppState`] shares. The services sit in an `Arc` of their own because the pages' leptos context takes a
/// copy of them for every page request.
pub struct SharedState {
    pub leptos_options: LeptosOptions,
    pub store: Store,
    pub services: Arc<Services>,
    pub public_url: url::Url,
    /// The body limit of the SAML endpoints.
    pub saml_max_body_bytes: usize,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database: {0}")]
    Database(#[from] gatehouse_core::StoreError),
    #[error("mail settings: {0}")]
    Mail(#[from] gatehouse_core::mail::MailError),
    #[error("{0}")]
    Dns(#[from] gatehouse_core::domains::DnsSetupError),
    #[error("key-encryption key: {0}")]
    KeyEncryptionKey(String),
    #[error("SP private keys: {0}")]
    StoredKeys(#[from] StoredKeysError),
}

/// The configured key-encryption key, or the development key with a warning that grows louder outside
/// development.
fn key_encryption_key(config: &Config) -> Result<KeyEncryptionKey, StartError> {
    if let Some(key) = config
        .configured_key_encryption_key()
        .map_err(StartError::KeyEncryptionKey)?
    {
        return Ok(key);
    }
    if config.is_development() {
        tracing::warn!(
            "no key-encryption key configured: SP private keys are encrypted with the public development key"
        );
    } else {
        tracing::warn!(
            public_url = %config.public_url,
            "NO KEY-ENCRYPTION KEY CONFIGURED. The SP private keys of every SAML connection are encrypted with the \
             public development key, so anyone with a copy of the database can read them. Set \
             GATEHOUSE_KEY_ENCRYPTION_KEY_FILE (or GATEHOUSE_KEY_ENCRYPTION_KEY) to 32 random bytes in Base64, \
             then run `gatehouse rotate-key-encryption-key --new-key-file …` (docs/deployment.md)."
        );
    }
    Ok(KeyEncryptionKey::development())
}

/// Opens the database (applying migrations) and wires the services.
pub async fn state(config: &Config, leptos_options: LeptosOptions) -> Result<AppState, StartError> {
    let store = Store::open_with(&config.database_url, config.pool_settings()).await?;
    let key_encryption = key_encryption_key(config)?;
    let sealed = stored_keys::seal_stored_keys(&store, &key_encryption).await?;
    if sealed > 0 {
        tracing::info!(
            sealed,
            key = key_encryption.id(),
            "SP private keys stored in plain text are now encrypted"
        );
    }
    let mailer = config
        .smtp_url
        .as_deref()
        .map(|url| Mailer::new(url, &config.mail_from))
        .transpose()?;
    let tenancy = TenancyService::new(
        store.clone(),
        config.public_url.clone(),
        mailer.clone(),
        config.invitation_lifetime(),
    );
    let auth = AuthService::new(
        store.clone(),
        config.session_policy(),
        ThrottlePolicy::default(),
        ProofMail::new(config.public_url.clone(), mailer.clone(), config.is_development()),
    );
    let connections = ConnectionService::new(
        store.clone(),
        tenancy.clone(),
        config.public_url.clone(),
        config.metadata_fetch_policy(),
        config.metadata_refresh_interval(),
        key_encryption,
    );
    let services = Services {
        auth: auth.clone(),
        domains: DomainService::new(
            store.clone(),
            tenancy.clone(),
            TxtResolver::new(&config.dns_settings())?,
            config.verification_policy(),
            config.domain_check_concurrency as usize,
        ),
        connections: connections.clone(),
        sso: SsoService::new(store.clone(), connections, auth, config.junk_policy()),
        policy: PolicyService::new(store.clone(), tenancy.clone()),
        audit: AuditService::new(store.clone(), tenancy.clone()),
        setup_links: SetupLinkService::new(store.clone(), tenancy.clone(), config.public_url.clone(), mailer),
        tenancy,
        secure_cookies: config.secure_cookies(),
        trust_forwarded_for: config.trust_forwarded_for,
    };
    Ok(AppState(Arc::new(SharedState {
        leptos_options,
        store,
        services: Arc::new(services),
        public_url: config.public_url.clone(),
        saml_max_body_bytes: usize::try_from(config.saml_max_body_bytes).unwrap_or(usize::MAX),
    })))
}

/// An address the server was told to listen on could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {address} (--{flag}): {source}")]
pub struct ListenError {
    pub flag: &'static str,
    pub address: std::net::SocketAddr,
    pub source: std::io::Error,
}

/// Listens on `address`, which the setting `flag` named; the error says which setting to change.
pub async fn listen(flag: &'static str, address: std::net::SocketAddr) -> Result<tokio::net::TcpListener, ListenError> {
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| ListenError { flag, address, source })
}

/// The pages' routes, listed once per process, when the first router is built.
///
/// leptos lists them by rendering the app once with resource loading switched off, and the switch is one static
/// flag for the whole process (`SuppressResourceLoad`, which sets `leptos_server`'s `IS_SUPPRESSING_RESOURCE_LOAD`
/// until the listing ends). A page that another server of the same process rendered meanwhile found the flag set at
/// its first resource and awaited a future that never wakes, so its request was never answered. Listed once, before
/// any router of the process exists, the flag is never set while a page can render; every later router (a second
/// instance, each test's own server) reuses the list.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(app::App));
    ROUTES.clone()
}

/// The whole HTTP application; tests start it on port 0.
pub fn router(state: AppState, max_body_bytes: usize) -> Router {
    let routes = page_routes();
    let services = state.services.clone();
    let options = state.leptos_options.clone();
    Router::new()
        .merge(routes::health::routes())
        .merge(routes::saml::routes(state.saml_max_body_bytes))
        .merge(routes::sso_events::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(services.clone()),
            move || app::shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(app::shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin_guard::refuse_cross_origin,
        ))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        // No page of Gatehouse is ever shown inside another site's frame: a framed dashboard or sign-in switch
        // page could be clicked through by a page laid over it.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Where the built site (`pkg/gatehouse.js`, `.wasm`, `.css`) is served from: `LEPTOS_SITE_ROOT`, by default
/// `target/site` relative to the working directory. Read here rather than baked in at build time, so the same
/// binary runs whether cargo-leptos or plain cargo built it.
pub fn leptos_options() -> LeptosOptions {
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".to_owned());
    LeptosOptions::builder()
        .output_name("gatehouse")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .build()
}
