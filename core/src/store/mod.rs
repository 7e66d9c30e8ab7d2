//! Persistence: the only module that speaks sea-orm (and sqlx, for the one command `acs_writes` sends past it);
//! every account-owned query takes an `AccountId`.

mod accounts;
mod acs_writes;
mod certificates;
mod checkpoints;
mod connections;
mod domains;
mod email_proofs;
mod logout;
mod policy;
mod schema;
mod setup_links;
mod sso;
mod sso_tests;
mod users;

pub use accounts::InvitationRow;
pub use acs_writes::{AcsWrites, InsertsStored, Newcomer, SignInInserts};
pub use certificates::{ExpiringRow, NoticeRow};
pub use connections::{ConnectionRow, KEPT_REFRESHES, MappingRow, OptionsRow, RefreshRow, RefreshedIdpRow, SpKeyRow};
pub use domains::DomainRow;
pub use email_proofs::EmailProofRow;
pub use logout::LogoutRequestRow;
pub use policy::{AuditRow, PolicyRow};
pub use setup_links::{SetupLinkRow, SetupLinkSessionRow};
pub(crate) use sso::ascii_email_domain;
pub use sso::{
    ExistingUser, LinkRefusal, LinkedMember, PendingRequestRow, Provisioned, Provisioning, SignInDomain, SsoEventRow,
    TakenRequest,
};
pub use sso_tests::{OwnerRun, OwnerRunPurpose};
pub use users::{SessionRow, ThrottleRow, UserRow};

use crate::auth::EmailAddress;
use gatehouse_migrations::MigratorTrait;

/// The schema's migrations, storing email addresses in their canonical form.
pub type Migrator = gatehouse_migrations::Migrator<EmailAddress>;
use checkpoints::Checkpoints;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, EntityTrait, Select, SqlErr,
};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    #[error("cannot create the database directory {path}: {source}")]
    Directory { path: String, source: std::io::Error },
    #[error("{0} database migration(s) not applied")]
    MigrationsPending(usize),
    #[error("{0}")]
    Conflict(String),
    #[error("stored data is damaged: {0}")]
    Damaged(String),
}

impl StoreError {
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))))
    }
}

/// A query by a primary or unique key, run without the `LIMIT ?` that sea-orm's `one()` adds. SQLite (3.51, as
/// bundled) lets a bound LIMIT's value shape the query plan, so it re-prepares such a statement whenever the value
/// is bound again, that is at every execution: an eighth of the server's CPU during sign-ins (docs/performance.md).
/// A unique key finds at most one row without it.
trait UniqueRow<E: EntityTrait> {
    async fn unique_row(self, db: &impl ConnectionTrait) -> Result<Option<E::Model>, DbErr>;
}

impl<E: EntityTrait> UniqueRow<E> for Select<E> {
    async fn unique_row(self, db: &impl ConnectionTrait) -> Result<Option<E::Model>, DbErr> {
        Ok(self.all(db).await?.into_iter().next())
    }
}

/// A handle on the database; cheap to clone (it holds connection pools).
#[derive(Clone, Debug)]
pub struct Store {
    /// Reads. On SQLite these connections are `query_only`, so a write sent here by mistake fails in every test.
    db: DatabaseConnection,
    /// Writes, and the reads a write decides on. On SQLite this is one connection: a writer waits for it in the
    /// pool's queue and is woken when the writer before it ends. With a connection each, writers met in SQLite's
    /// lock and slept in its busy handler (1, 2, 5, 10, 15, 20 ms… a lock held for a fraction of a millisecond
    /// cost the next writer at least one), which made most of the sign-in's p99 (docs/performance.md). On
    /// PostgreSQL the same pool as `db`.
    writer: DatabaseConnection,
    /// On SQLite, the checkpoints of its write-ahead log, held for as long as a clone of this store is.
    _checkpoints: Option<Arc<Checkpoints>>,
    /// Sees the statements the store sends to sqlx itself, past sea-orm's observer ([`Store::open_observed`]).
    observer: Option<StatementObserver>,
}

/// What [`Store::open_observed`] calls with the SQL of each statement.
#[derive(Clone)]
struct StatementObserver(Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for StatementObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatementObserver")
    }
}

/// How many of a pool's connections are open, and how many of those wait idle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUse {
    pub pool: &'static str,
    pub idle: usize,
    pub busy: usize,
}

impl PoolUse {
    fn of<DB: sea_orm::sqlx::Database>(pool: &'static str, connections: &sea_orm::sqlx::Pool<DB>) -> Self {
        let open = connections.size() as usize;
        let idle = connections.num_idle();
        Self {
            pool,
            idle,
            busy: open.saturating_sub(idle),
        }
    }
}

/// How the store's connection pools treat their connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSettings {
    /// How long a PostgreSQL connection sits idle before it is pinged when next handed out. A connection the
    /// server, a proxy or a firewall may have dropped is one that sat idle; one in steady use is not pinged before
    /// every statement (a network round trip each).
    pub postgres_ping_after_idle: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            postgres_ping_after_idle: Duration::from_secs(30),
        }
    }
}

/// Readers of a SQLite database: enough for the pages and sign-ins a server answers at once.
const SQLITE_READERS: u32 = 16;

/// The connections of a SQLite `url`: one writer, or `readers` that may only read.
fn sqlite_options(url: &str, readers: Option<u32>) -> ConnectOptions {
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(readers.unwrap_or(1))
        .connect_timeout(Duration::from_secs(10))
        // A file opened in this process cannot hang up, and a connection's worker thread runs its commands in the
        // order they were sent: the pings sqlx sends before handing a connection out and after it comes back (a
        // round trip to that thread each, with two thread switches) check nothing. They were two of the three
        // round trips of every statement outside a transaction (docs/performance.md).
        .test_before_acquire(false)
        .map_sqlx_sqlite_pool_opts(|pool| pool.test_on_release(false))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(move |sqlite| {
            // WAL lets readers proceed during a write. With WAL, synchronous NORMAL syncs at checkpoints instead
            // of at every commit: a commit survives the process being killed (it is in the OS's cache), and only a
            // power failure can lose the last ones, never corrupt the file. FULL cost one fsync per commit, which
            // made the disk flush half of a sign-in's time (docs/performance.md).
            let sqlite = sqlite
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                // A commit that filled the log past 1,000 pages copied it into the database file itself and synced
                // both, with the one writer connection held meanwhile: every writer behind it waited, which made
                // most of a sign-in's p99 (docs/performance.md). `Checkpoints` does it on a timer instead.
                .pragma("wal_autocheckpoint", "0");
            if readers.is_some() {
                sqlite.pragma("query_only", "ON")
            } else {
                sqlite
            }
        });
    options
}

impl Store {
    /// Connects to `url` (`sqlite://path` or `postgres://…`), creating a SQLite file and its
    /// directory when missing, and applies pending migrations. A failed migration stops start-up.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, PoolSettings::default()).await
    }

    /// [`Self::open`] with pools set up as `settings` say.
    pub async fn open_with(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        let url = prepare_sqlite_url(url)?;
        if !url.starts_with("sqlite:") {
            let mut options = ConnectOptions::new(url);
            options
                .max_connections(16)
                .connect_timeout(Duration::from_secs(10))
                .test_before_acquire_if_idle_for(settings.postgres_ping_after_idle)
                // Instead of a ping on release (a round trip and a task for every statement outside a transaction),
                // a connection finishes what it has outstanding as it goes back: a dropped transaction's rollback is
                // sent, and one that broke under its statement is closed (`vendor/sqlx-core/PATCH.md`).
                .map_sqlx_postgres_pool_opts(|pool| pool.test_on_release(false))
                .sqlx_logging(false);
            let db = Database::connect(options).await?;
            Migrator::up(&db, None).await?;
            return Ok(Self {
                writer: db.clone(),
                db,
                _checkpoints: None,
                observer: None,
            });
        }
        let writer = Database::connect(sqlite_options(&url, None)).await?;
        Migrator::up(&writer, None).await?;
        let db = Database::connect(sqlite_options(&url, Some(SQLITE_READERS))).await?;
        let checkpoints = Checkpoints::start(&url, writer.clone()).await?;
        Ok(Self {
            db,
            writer,
            _checkpoints: Some(Arc::new(checkpoints)),
            observer: None,
        })
    }

    /// [`Self::open`], calling `on_statement` with the SQL of every statement the store runs from then on: how
    /// tests see what an operation costs the database.
    pub async fn open_observed(
        url: &str,
        on_statement: impl Fn(&str) + Send + Sync + 'static,
    ) -> Result<Self, StoreError> {
        let mut store = Self::open(url).await?;
        let on_statement = Arc::new(on_statement);
        for pool in [&mut store.db, &mut store.writer] {
            let on_statement = on_statement.clone();
            pool.set_metric_callback(move |info| on_statement(&info.statement.sql));
        }
        store.observer = Some(StatementObserver(on_statement));
        Ok(store)
    }

    /// A private in-memory SQLite database, for tests.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let mut options = ConnectOptions::new("sqlite::memory:");
        // One connection: every pooled connection to ":memory:" would otherwise be a separate empty database.
        options.max_connections(1).min_connections(1).sqlx_logging(false);
        let db = Database::connect(options).await?;
        Migrator::up(&db, None).await?;
        Ok(Self {
            writer: db.clone(),
            db,
            _checkpoints: None,
            observer: None,
        })
    }

    /// Creates an empty database with a random name on the PostgreSQL server at `server_url` and returns
    /// its URL: how test suites give every test a database of its own.
    pub async fn create_postgres_test_database(server_url: &str) -> Result<String, StoreError> {
        let name = format!("gatehouse_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(server_url).await?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await?;
        admin.close().await?;
        let base = server_url.rsplit_once('/').map_or(server_url, |(base, _)| base);
        Ok(format!("{base}/{name}"))
    }

    /// The database answers and no migration is pending.
    pub async fn is_ready(&self) -> Result<(), StoreError> {
        self.db.ping().await?;
        let pending = Migrator::get_pending_migrations(&self.writer).await?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError::MigrationsPending(pending.len()))
        }
    }

    /// The connections of each pool, idle and busy: `reader` and `writer` on SQLite, one `pool` on PostgreSQL.
    pub fn pool_use(&self) -> Vec<PoolUse> {
        match self.db.get_database_backend() {
            DbBackend::Sqlite => [("reader", &self.db), ("writer", &self.writer)]
                .into_iter()
                .map(|(name, pool)| PoolUse::of(name, pool.get_sqlite_connection_pool()))
                .collect(),
            DbBackend::Postgres => vec![PoolUse::of("pool", self.db.get_postgres_connection_pool())],
            _ => Vec::new(),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self.db.get_database_backend() {
            DbBackend::Sqlite => "sqlite",
            DbBackend::Postgres => "postgres",
            _ => "other",
        }
    }
}

/// For SQLite, makes sure the file's directory exists and asks sqlx to create the file (`mode=rwc`).
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Ok(url.to_owned());
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_owned());
    }
    if let Some(dir) = std::path::Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory {
            path: dir.display().to_string(),
            source,
        })?;
    }
    if query.contains("mode=") {
        Ok(url.to_owned())
    } else if query.is_empty() {
        Ok(format!("sqlite://{path}?mode=rwc"))
    } else {
        Ok(format!("sqlite://{path}?{query}&mode=rwc"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::TransactionTrait;

    #[test]
    fn sqlite_urls_create_the_file() {
        assert_eq!(prepare_sqlite_url("sqlite://x.db").unwrap(), "sqlite://x.db?mode=rwc");
        assert_eq!(
            prepare_sqlite_url("sqlite:x.db?cache=shared").unwrap(),
            "sqlite://x.db?cache=shared&mode=rwc"
        );
        assert_eq!(
            prepare_sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
        assert_eq!(prepare_sqlite_url("postgres://h/db").unwrap(), "postgres://h/db");
    }

    #[tokio::test]
    async fn on_sqlite_only_the_writer_writes_and_it_is_one_connection() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
        let store = Store::open(&url).await.unwrap();
        let refused = store.db.execute_unprepared("CREATE TABLE stray (a)").await.unwrap_err();
        assert!(refused.to_string().contains("readonly"), "{refused}");
        store.writer.execute_unprepared("CREATE TABLE stray (a)").await.unwrap();
        let writers = store
            .writer
            .get_sqlite_connection_pool()
            .options()
            .get_max_connections();
        assert_eq!(writers, 1);
    }

    /// No commit copies SQLite's write-ahead log into the database file; the checkpoints do. Under a steady stream
    /// of commits, with reads beside them, the log is reused from its start: it stays smaller than two pages (of
    /// 4 KiB) for each commit, where each commit here appends at least three, so a log never copied or never
    /// reused fails; one that missed being reused for a round or two in twelve passes.
    #[tokio::test]
    async fn on_sqlite_the_log_is_reused_under_a_steady_stream_of_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gatehouse.db");
        let store = Store::open(&format!("sqlite://{}", path.display())).await.unwrap();
        let autocheckpoint = store
            .writer
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "PRAGMA wal_autocheckpoint",
            ))
            .await;
        assert_eq!(autocheckpoint.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap(), 0);
        store
            .writer
            .execute_unprepared("CREATE TABLE stream (payload BLOB)")
            .await
            .unwrap();
        let reads = store.db.clone();
        let reader = tokio::spawn(async move {
            loop {
                reads.execute_unprepared("SELECT max(rowid) FROM stream").await.unwrap();
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let until = std::time::Instant::now() + 12 * checkpoints::EVERY;
        let mut commits: u64 = 0;
        while std::time::Instant::now() < until {
            store
                .writer
                .execute_unprepared("INSERT INTO stream VALUES (zeroblob(10000))")
                .await
                .unwrap();
            commits += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        reader.abort();
        let log = std::fs::metadata(path.with_extension("db-wal")).unwrap().len();
        assert!(
            log < commits * 2 * 4096,
            "the log is {log} bytes after {commits} commits: it was not reused"
        );
    }

    /// The pool returns a SQLite connection without pinging it (`vendor/sqlx-core/PATCH.md`), so the rollback of a
    /// transaction dropped unfinished may still be queued on the connection's thread when the next user gets it:
    /// their transaction must start after that rollback, and see none of the dropped one.
    #[tokio::test]
    async fn on_sqlite_a_dropped_transaction_is_rolled_back_before_the_connection_is_used_again() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
        let store = Store::open(&url).await.unwrap();
        store
            .writer
            .execute_unprepared("CREATE TABLE marks (a TEXT)")
            .await
            .unwrap();
        for round in 0..50 {
            let dropped = store.writer.begin().await.unwrap();
            dropped
                .execute_unprepared(&format!("INSERT INTO marks VALUES ('dropped {round}')"))
                .await
                .unwrap();
            drop(dropped);
            let next = store.writer.begin().await.unwrap();
            next.execute_unprepared(&format!("INSERT INTO marks VALUES ('kept {round}')"))
                .await
                .unwrap();
            next.commit().await.unwrap();
        }
        let rows = store
            .db
            .query_all_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "SELECT a FROM marks ORDER BY rowid",
            ))
            .await
            .unwrap();
        let marks: Vec<String> = rows.iter().map(|row| row.try_get_by_index(0).unwrap()).collect();
        let expected: Vec<String> = (0..50).map(|round| format!("kept {round}")).collect();
        assert_eq!(marks, expected);
    }
}
