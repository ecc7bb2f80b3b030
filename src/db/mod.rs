//! The store: all SQL lives here, and nothing else does. No axum types, no business rules.
//! One code path for SQLite and PostgreSQL: `on_db!` expands a body once per backend.

pub mod media;
pub mod messages;
pub mod rooms;
pub mod seed;
pub mod sessions;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgStore),
    Sqlite(SqlitePools),
}

#[derive(Clone, Debug)]
pub struct PgStore {
    pub pool: PgPool,
    retries: u32,
}

/// SQLite allows one writer at a time. Writers that meet in the database wait in its busy
/// handler, which sleeps and retries (1 ms, 2 ms, 5 ms, … ): under a burst of sends that
/// gave p99s of 300 ms. So writes go through a pool of one connection, where they queue
/// in order without sleeping, and reads through the other pool, in parallel (WAL mode
/// lets readers and the writer work at the same time).
#[derive(Clone, Debug)]
pub struct SqlitePools {
    pub read: SqlitePool,
    pub write: SqlitePool,
    retries: u32,
}

/// Expands `$body` once per backend with `$pool` bound to the pool to read from; each arm
/// is type-checked separately. `$body` evaluates to `Result<_, sqlx::Error>` (a `?` inside
/// ends the attempt, not the caller) and is run again, up to `DATABASE_RETRIES` times,
/// when it fails for a transient reason.
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        $crate::db::with_retries!($db, true, |$pool| $body, read)
    };
}
pub(crate) use on_db;

/// `on_db!` for statements that write (or transactions that do): SQLite's single writer.
/// A write is retried only after failures that guarantee it did not commit.
macro_rules! on_db_write {
    ($db:expr, |$pool:ident| $body:expr) => {
        $crate::db::with_retries!($db, false, |$pool| $body, write)
    };
}
pub(crate) use on_db_write;

macro_rules! with_retries {
    ($db:expr, $idempotent:expr, |$pool:ident| $body:expr, $sqlite_pool:ident) => {{
        let db: &$crate::db::Db = $db;
        let mut attempt = 0u32;
        loop {
            let result = async {
                match db {
                    $crate::db::Db::Postgres(pg) => {
                        let $pool = &pg.pool;
                        $body
                    }
                    $crate::db::Db::Sqlite(pools) => {
                        let $pool = &pools.$sqlite_pool;
                        $body
                    }
                }
            }
            .await;
            match result {
                Err(e) if attempt < db.retries() && $crate::db::is_transient(&e, $idempotent) => {
                    attempt += 1;
                    $crate::db::pause_before_retry(&e, attempt).await;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use with_retries;

/// Whether a failure is worth another try. `idempotent` operations (reads) may also be
/// retried after a broken connection, where a write might have committed before the
/// connection broke (retrying could then apply it twice).
pub(crate) fn is_transient(e: &sqlx::Error, idempotent: bool) -> bool {
    match e {
        // No connection could be had: nothing ran.
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Io(_) => idempotent,
        sqlx::Error::Database(d) => matches!(
            d.code().as_deref(),
            // PostgreSQL: serialization failure, deadlock (the transaction was rolled back);
            // the server shutting down or starting (the statement did not run).
            Some("40001" | "40P01" | "57P01" | "57P02" | "57P03")
            // SQLite: busy, locked, busy snapshot (the statement did not run).
            | Some("5" | "6" | "517")
        ),
        _ => false,
    }
}

/// A short, growing pause before another attempt.
pub(crate) async fn pause_before_retry(e: &sqlx::Error, attempt: u32) {
    tracing::warn!(error = %e, attempt, "transient database error; retrying");
    tokio::time::sleep(Duration::from_millis(20 << attempt.min(6))).await;
}

/// SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages:
/// that commit then copies the pages back and syncs the file, 10–20 ms on this machine's
/// disk, which showed as the p99 of message sends. A passive checkpoint from a reader
/// connection once a second does the same work without holding up the writer.
fn spawn_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !pool.is_closed() {
            tick.tick().await;
            if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await
                && !pool.is_closed()
            {
                tracing::warn!(error = %e, "WAL checkpoint failed");
            }
        }
    });
}

/// How to reach the store.
#[derive(Debug, Clone)]
pub struct DbOptions {
    pub pool_size: u32,
    /// PostgreSQL `statement_timeout`; zero for none.
    pub statement_timeout: Duration,
    pub retries: u32,
}

/// True for a unique-constraint violation (the kind is the same on both backends; the
/// constraint names are not).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Which column a unique violation is about, as far as the driver tells.
pub(crate) fn violated_column_mentions(e: &sqlx::Error, column: &str) -> bool {
    match e {
        sqlx::Error::Database(d) => d.constraint().unwrap_or_else(|| d.message()).contains(column),
        _ => false,
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

impl Db {
    /// Connects by URL scheme: `sqlite:` or `postgres:`/`postgresql:`. Anything else is an
    /// error, never a silently created file.
    pub async fn connect(url: &str, opts: &DbOptions) -> anyhow::Result<Self> {
        let pool_size = opts.pool_size;
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| "invalid sqlite DATABASE_URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Checkpoints run in the background (below), not inside a commit.
                .pragma("wal_autocheckpoint", "0");
            if let Some(parent) = options.get_filename().parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating database directory {}", parent.display()))?;
            }
            // No ping before each acquire: the database is in-process, and a ping is one
            // more round trip to the connection's worker thread for every query.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .connect_with(options.clone())
                .await
                .context("opening the SQLite database")?;
            let read = SqlitePoolOptions::new()
                .max_connections(pool_size.max(1))
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .context("opening the SQLite database")?;
            spawn_checkpointer(read.clone());
            Ok(Self::Sqlite(SqlitePools { read, write, retries: opts.retries }))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let mut options = PgConnectOptions::from_str(url).context("invalid postgres DATABASE_URL")?;
            if !opts.statement_timeout.is_zero() {
                let ms = opts.statement_timeout.as_millis().to_string();
                options = options.options([("statement_timeout", ms.as_str())]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(pool_size.max(1))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .context("connecting to PostgreSQL")?;
            Ok(Self::Postgres(PgStore { pool, retries: opts.retries }))
        } else {
            bail!("DATABASE_URL must start with sqlite: or postgres:// (got an unsupported scheme)")
        }
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(pools) => sqlx::migrate!("./migrations/sqlite").run(&pools.write).await?,
            Self::Postgres(pg) => sqlx::migrate!("./migrations/postgres").run(&pg.pool).await?,
        }
        Ok(())
    }

    pub(crate) fn retries(&self) -> u32 {
        match self {
            Self::Postgres(pg) => pg.retries,
            Self::Sqlite(pools) => pools.retries,
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// A trivial round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_db!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// `(pool, in use, idle, max)` of each connection pool, for `/metrics`.
    pub fn pool_usage(&self) -> Vec<(&'static str, u32, u32, u32)> {
        fn usage<DB: sqlx::Database>(name: &'static str, pool: &sqlx::Pool<DB>) -> (&'static str, u32, u32, u32) {
            let idle = u32::try_from(pool.num_idle()).unwrap_or(u32::MAX);
            let size = pool.size();
            (name, size.saturating_sub(idle), idle, pool.options().get_max_connections())
        }
        match self {
            Self::Postgres(pg) => vec![usage("postgres", &pg.pool)],
            Self::Sqlite(pools) => vec![usage("sqlite_read", &pools.read), usage("sqlite_write", &pools.write)],
        }
    }

    /// The newest applied migration, `None` on a database never migrated.
    pub async fn schema_version(&self) -> anyhow::Result<Option<i64>> {
        const EXISTS_SQLITE: &str =
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
        const EXISTS_PG: &str = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations'";
        const VERSION: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
        let exists: i64 = match self {
            Self::Sqlite(pools) => sqlx::query_scalar(EXISTS_SQLITE).fetch_one(&pools.read).await?,
            Self::Postgres(pg) => sqlx::query_scalar(EXISTS_PG).fetch_one(&pg.pool).await?,
        };
        if exists == 0 {
            return Ok(None);
        }
        Ok(match self {
            Self::Sqlite(pools) => sqlx::query_scalar(VERSION).fetch_one(&pools.read).await?,
            Self::Postgres(pg) => sqlx::query_scalar(VERSION).fetch_one(&pg.pool).await?,
        })
    }

    pub async fn close(&self) {
        match self {
            Self::Postgres(pg) => pg.pool.close().await,
            Self::Sqlite(pools) => {
                pools.read.close().await;
                pools.write.close().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |dir: &str| {
            let mut v: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let sqlite = names(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"));
        let postgres = names(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"));
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, postgres);
    }

    #[test]
    fn only_failures_that_ran_nothing_are_retried_for_writes() {
        assert!(is_transient(&sqlx::Error::PoolTimedOut, false));
        let io = || sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"));
        assert!(is_transient(&io(), true), "a read may run again after a broken connection");
        assert!(!is_transient(&io(), false), "a write might have committed before the connection broke");
        assert!(!is_transient(&sqlx::Error::RowNotFound, true));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("An_n%"), "%an\\_n\\%%");
    }
}
