//! The store's connection pools when the database drops their connections.

use gatehouse_core::{PoolSettings, Store};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DbBackend, Statement};
use std::time::{Duration, Instant};

/// A fresh database on the PostgreSQL server `GATEHOUSE_TEST_POSTGRES_URL` names; none without it (the SQLite suite
/// has no server: it skips these tests).
async fn postgres_database() -> Option<String> {
    let server = std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())?;
    Some(Store::create_postgres_test_database(&server).await.unwrap())
}

/// A store on a fresh PostgreSQL database whose pooled connections the server has just dropped, and how many there
/// were.
async fn dropped(settings: PoolSettings) -> Option<(Store, usize)> {
    let url = postgres_database().await?;
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

/// A transaction dropped without a commit (a request that ended mid-way) leaves a `ROLLBACK` queued on its
/// connection. The pool no longer pings a connection that comes back, but it still sends what one has queued, so the
/// transaction ends at once instead of holding its locks until the connection is next used, which may be never.
#[tokio::test]
async fn on_postgresql_a_dropped_transaction_ends_as_its_connection_goes_back() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let store = Store::open(&url).await.unwrap();
    let admin = Database::connect(url.as_str()).await.unwrap();
    let open_transactions = Statement::from_string(
        DbBackend::Postgres,
        "SELECT count(*) AS open FROM pg_stat_activity \
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    );
    let open = async || -> i64 {
        let row = admin.query_one_raw(open_transactions.clone()).await.unwrap().unwrap();
        row.try_get("", "open").unwrap()
    };
    let writes = store.begin_acs_writes().await.unwrap();
    assert_eq!(open().await, 1, "the store's transaction is open on the server");
    drop(writes);
    let dropped_at = Instant::now();
    while open().await > 0 {
        assert!(
            dropped_at.elapsed() < Duration::from_secs(5),
            "the dropped transaction is still open on the server"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A statement whose future was dropped mid-way (a request that ended while it ran) leaves its answer unread on the
/// connection, which now goes back to the pool unpinged: the next statement reads that answer first and gets its
/// own, on the same connection.
#[tokio::test]
async fn on_postgresql_a_statement_dropped_mid_way_leaves_its_connection_usable() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(1)
        .sqlx_logging(false)
        .map_sqlx_postgres_pool_opts(|pool| pool.test_on_release(false));
    let db = Database::connect(options).await.unwrap();
    let slow = db.execute_unprepared("SELECT pg_sleep(0.5)");
    assert!(
        tokio::time::timeout(Duration::from_millis(100), slow).await.is_err(),
        "the statement ended before it was dropped"
    );
    let answer = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT 42 AS answer"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer.try_get::<i32>("", "answer").unwrap(), 42);
}
