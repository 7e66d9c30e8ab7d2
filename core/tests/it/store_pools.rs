//! The store's connection pools when the database drops their connections.

use gatehouse_core::{PoolSettings, Store};
use sea_orm::{ConnectionTrait, Database};
use std::time::Duration;

/// A store on a fresh PostgreSQL database (`GATEHOUSE_TEST_POSTGRES_URL`; none without it) whose pooled
/// connections the server has just dropped, and how many there were.
async fn dropped(settings: PoolSettings) -> Option<(Store, usize)> {
    let server = std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())?;
    let url = Store::create_postgres_test_database(&server).await.unwrap();
    let store = Store::open_with(&url, settings).await.unwrap();
    store.domain_route("example.com").await.unwrap();
    let pooled: usize = store.pool_use().iter().map(|pool| pool.idle + pool.busy).sum();
    let admin = Database::connect(url.as_str()).await.unwrap();
    admin
        .execute_unprepared(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await
        .unwrap();
    Some((store, pooled))
}

/// On PostgreSQL a connection in steady use is not pinged before each statement (only one idle for 30 seconds is),
/// so one the server dropped fails the statement that finds it, once: the pool then closes it, and the connections
/// that replace it work. The SQLite suite has no server to drop connections: it skips this.
#[tokio::test]
async fn on_postgresql_a_connection_the_server_dropped_fails_once_and_is_replaced() {
    let Some((store, pooled)) = dropped(PoolSettings::default()).await else {
        return;
    };
    let mut failed = 0;
    while store.domain_route("example.com").await.is_err() {
        failed += 1;
        assert!(
            failed <= pooled,
            "{failed} statements failed with {pooled} connections dropped"
        );
    }
    assert!(
        failed >= 1,
        "no statement met a dropped connection: the test dropped none"
    );
    for _ in 0..2 * pooled {
        store.domain_route("example.com").await.unwrap();
    }
}

/// With the idle threshold at zero (`--postgres-ping-after-idle-seconds 0`, for a proxy that drops connections
/// sooner than anyone can tell), every connection is pinged before each use, so a dropped one is replaced before
/// any statement meets it.
#[tokio::test]
async fn on_postgresql_pinging_before_every_use_replaces_a_dropped_connection_unseen() {
    let settings = PoolSettings {
        postgres_ping_after_idle: Duration::ZERO,
    };
    let Some((store, pooled)) = dropped(settings).await else {
        return;
    };
    for _ in 0..2 * pooled {
        store.domain_route("example.com").await.unwrap();
    }
}
