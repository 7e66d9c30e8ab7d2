//! SQLite's checkpoints (copying the write-ahead log into the database file and syncing both), run on a timer,
//! so that no commit pays for one.
//!
//! SQLite reuses the log from its start only when a writer begins with all of it copied. Under a steady stream of
//! commits a copy made beside the writer is always a few commits behind, and the log grew without end (780 MB in a
//! minute of sign-ins), so each round copies the bulk beside the writer, and some rounds then copy the few pages
//! committed meanwhile in the writer's turn. That second copy cannot finish while a reader still reads an older
//! snapshot; when the log has grown past a limit all the same, the writer waits for such readers to move on.
//!
//! Each copy ends with an fsync (4–9 ms here), and while one runs, the writer's appends to the log and the readers'
//! page reads stall now and then. Every half second for both copies, those stalls made most of a sign-in's p99 at
//! 200 a second, so the rounds are a second apart and the writer takes its turn every other round, or as soon as
//! the log is large (docs/performance.md).

use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, Statement};
use std::time::Duration;
use tokio::task::AbortHandle;
use tokio::time::MissedTickBehavior;

/// How often the log is copied. It grows by what is committed meanwhile: about 11 pages a sign-in.
pub(super) const EVERY: Duration = Duration::from_millis(1000);

/// Rounds between the writer's turns while the log is small.
const WRITER_TURN_EVERY: u32 = 2;

/// Pages in the log (about 4 KiB each) past which the writer takes its turn in any round.
const LOG_LARGE: i64 = 4_096;

/// Pages in the log past which the writer waits for readers so the log starts again.
const LOG_LIMIT: i64 = 8_192;

/// The checkpoints of one SQLite database, until dropped (with the last clone of its store).
#[derive(Debug)]
pub(super) struct Checkpoints(AbortHandle);

impl Checkpoints {
    /// Starts them on the database at `url` (a `sqlite:` URL whose connections have automatic checkpoints off),
    /// whose one writer connection is `writer`.
    pub(super) async fn start(url: &str, writer: DatabaseConnection) -> Result<Self, DbErr> {
        let beside = Database::connect(super::sqlite_options(url, None)).await?;
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(EVERY);
            every.set_missed_tick_behavior(MissedTickBehavior::Delay);
            for round in (1..=WRITER_TURN_EVERY).cycle() {
                every.tick().await;
                let log = checkpoint(&beside, "PASSIVE").await;
                if round < WRITER_TURN_EVERY && log.is_some_and(|log| log <= LOG_LARGE) {
                    continue;
                }
                if checkpoint(&writer, "PASSIVE").await.is_some_and(|log| log > LOG_LIMIT) {
                    checkpoint(&writer, "RESTART").await;
                }
            }
        });
        Ok(Self(task.abort_handle()))
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Copies the log in `mode` (PASSIVE waits for no one; RESTART waits for readers of older snapshots, in the busy
/// handler, so the next writer starts the log again) and answers how many pages the log holds.
async fn checkpoint(connection: &DatabaseConnection, mode: &str) -> Option<i64> {
    let statement = Statement::from_string(DbBackend::Sqlite, format!("PRAGMA wal_checkpoint({mode})"));
    match connection.query_one_raw(statement).await {
        Ok(row) => row.and_then(|row| row.try_get_by_index(1).ok()),
        Err(e) => {
            tracing::warn!(error = %e, mode, "copying SQLite's write-ahead log into the database failed");
            None
        }
    }
}
