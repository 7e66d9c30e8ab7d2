//! Starts Gatehouse: reads configuration, opens the database, serves HTTP until stopped.
#![recursion_limit = "256"]

use clap::Parser;
use gatehouse_core::Store;
use gatehouse_core::saml::KeyEncryptionKey;
use gatehouse_core::sso::stored_keys;
use server::config::{Command, Config, LogFormat, read_key_encryption_key};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

// A request allocates and frees many short-lived buffers (the posted form, the decoded message, pages) across the
// runtime's threads; glibc's allocator spent about a tenth of a sign-in's CPU on them (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let config = Config::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let outcome = match config.command.clone() {
        Some(Command::RotateKeyEncryptionKey {
            old_key_file,
            new_key_file,
        }) => rotate_key_encryption_key(&config, old_key_file.as_deref(), &new_key_file).await,
        None => run(config).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let state = server::state(&config, server::leptos_options()).await?;
    server::jobs::spawn_cleanup(state.services.auth.clone(), state.services.sso.clone());
    server::jobs::spawn_domain_rechecks(
        state.services.domains.clone(),
        std::time::Duration::from_secs(config.domain_check_tick_seconds),
    );
    server::jobs::spawn_metadata_refreshes(
        state.services.connections.clone(),
        std::time::Duration::from_secs(config.metadata_refresh_tick_seconds),
    );
    server::jobs::spawn_certificate_notices(
        state.services.connections.clone(),
        std::time::Duration::from_secs(config.certificate_notice_tick_seconds),
    );
    if let Some(address) = config.metrics_listen {
        let metrics = server::metrics::router(state.store.clone());
        let listener = server::listen("metrics-listen", address).await?;
        tracing::info!(listen = %address, "serving metrics at /metrics");
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, metrics).await {
                tracing::error!(error = %e, "the metrics endpoint stopped");
            }
        });
    }
    let app = server::router(state, config.max_body_bytes);
    let listener = server::listen("listen", config.listen).await?;
    tracing::info!(listen = %config.listen, public_url = %config.public_url, "Gatehouse is serving");
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Re-encrypts every stored SP private key with the key in `new_key_file`, in one transaction.
async fn rotate_key_encryption_key(
    config: &Config,
    old_key_file: Option<&Path>,
    new_key_file: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let old = match old_key_file {
        Some(path) => read_key_encryption_key(path)?,
        None => KeyEncryptionKey::development(),
    };
    let new = read_key_encryption_key(new_key_file)?;
    let store = Store::open_with(&config.database_url, config.pool_settings()).await?;
    let rotated = stored_keys::rotate_key_encryption_key(&store, &old, &new).await?;
    tracing::info!(
        rotated,
        old = old.id(),
        new = new.id(),
        "SP private keys re-encrypted; start Gatehouse with the new key-encryption key"
    );
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler succeeds");
    tokio::select! {
        _ = interrupt => {},
        _ = terminate.recv() => {},
    }
}
