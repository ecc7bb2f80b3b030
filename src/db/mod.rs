//! The store: all SQL lives here, and nothing else does. No axum types, no business rules.
//! One code path for SQLite and PostgreSQL: each store function is written once against
//! the query API of `sql` (`fetch_*`, `execute`, `transaction`), which runs it on either.

mod batch;
pub mod channels;
pub mod community;
pub mod media;
pub mod messages;
pub mod playlists;
pub mod rooms;
pub mod seed;
pub mod sessions;
pub mod users;
pub mod videos;

pub(crate) mod sql;

use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, bail};
use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use sql::{Arg, Row, Tx};
pub use sql::{DbError, DbResult, PgStore, SqliteStore};
pub(crate) use sql::{args, impl_row};

/// The store: PostgreSQL through sqlx, or an SQLite file through rusqlite (see `sql`).
#[derive(Clone, Debug)]
pub enum Db {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

/// How to reach the store.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// PostgreSQL: connections in the pool. SQLite: idle reader connections kept.
    pub pool_size: u32,
    /// PostgreSQL `statement_timeout`; zero for none.
    pub statement_timeout: Duration,
    pub retries: u32,
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
            let options = SqliteConnectOptions::from_str(url).with_context(|| "invalid sqlite DATABASE_URL")?;
            let path = options.get_filename();
            if let Some(parent) = path.parent()
                && !parent.as_os_str().is_empty()
            {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating database directory {}", parent.display()))?;
            }
            let store = SqliteStore::open(path, pool_size, opts.retries).context("opening the SQLite database")?;
            Ok(Self::Sqlite(store))
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
            Ok(Self::Postgres(PgStore { pool, retries: opts.retries, batches: Default::default() }))
        } else {
            bail!("DATABASE_URL must start with sqlite: or postgres:// (got an unsupported scheme)")
        }
    }

    /// Applies the embedded migrations. sqlx's migrator runs them on both engines (on
    /// SQLite through a connection of its own, closed afterwards), so its bookkeeping table
    /// `_sqlx_migrations` is the same as it always was.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(store) => {
                let options = SqliteConnectOptions::new().filename(store.path()).busy_timeout(Duration::from_secs(10));
                let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
                let result = sqlx::migrate!("./migrations/sqlite").run(&pool).await;
                pool.close().await;
                result?;
            }
            Self::Postgres(pg) => sqlx::migrate!("./migrations/postgres").run(&pg.pool).await?,
        }
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }

    /// A read: every row.
    pub(crate) async fn fetch_all<T: Row>(&self, sql: &str, args: Vec<Arg>) -> DbResult<Vec<T>> {
        match self {
            Self::Postgres(pg) => pg.fetch(sql, &args, usize::MAX).await,
            Self::Sqlite(store) => store.fetch(sql, &args, usize::MAX),
        }
    }

    /// A read: the first row, if any.
    pub(crate) async fn fetch_optional<T: Row>(&self, sql: &str, args: Vec<Arg>) -> DbResult<Option<T>> {
        let rows = match self {
            Self::Postgres(pg) => pg.fetch(sql, &args, 1).await?,
            Self::Sqlite(store) => store.fetch(sql, &args, 1)?,
        };
        Ok(rows.into_iter().next())
    }

    /// A read: the first row, which must exist.
    pub(crate) async fn fetch_one<T: Row>(&self, sql: &str, args: Vec<Arg>) -> DbResult<T> {
        self.fetch_optional(sql, args).await?.ok_or(DbError::RowNotFound)
    }

    /// A write of one statement; the number of rows it changed.
    pub(crate) async fn execute(&self, sql: &'static str, args: Vec<Arg>) -> DbResult<u64> {
        match self {
            Self::Postgres(pg) => pg.execute(sql, &args).await,
            Self::Sqlite(_) => self.transaction(args, move |tx, args| Box::pin(tx.execute(sql, args.clone()))).await,
        }
    }

    /// A write of one statement with `RETURNING`: every row it returned.
    pub(crate) async fn write_fetch_all<T: Row>(&self, sql: &'static str, args: Vec<Arg>) -> DbResult<Vec<T>> {
        match self {
            Self::Postgres(pg) => pg.write_fetch(sql, &args, usize::MAX).await,
            Self::Sqlite(_) => self.transaction(args, move |tx, args| Box::pin(tx.fetch_all(sql, args.clone()))).await,
        }
    }

    /// A write of one statement with `RETURNING`: the first row it returned, if any.
    pub(crate) async fn write_fetch_optional<T: Row>(&self, sql: &'static str, args: Vec<Arg>) -> DbResult<Option<T>> {
        match self {
            Self::Postgres(pg) => Ok(pg.write_fetch(sql, &args, 1).await?.into_iter().next()),
            Self::Sqlite(_) => {
                self.transaction(args, move |tx, args| Box::pin(tx.fetch_optional(sql, args.clone()))).await
            }
        }
    }

    /// A multi-statement write, all or nothing. `body` gets the transaction and `data`;
    /// on SQLite it runs on the writer thread (in a savepoint of a batch), on PostgreSQL it
    /// may run again after a transient failure, so it must not have other effects.
    pub(crate) async fn transaction<S, R, F>(&self, data: S, body: F) -> DbResult<R>
    where
        S: Send + Sync + 'static,
        R: Send + 'static,
        F: for<'t, 'c> Fn(&'t mut Tx<'c>, &'t S) -> BoxFuture<'t, DbResult<R>> + Send + Sync + 'static,
    {
        match self {
            Self::Postgres(pg) => pg.transaction(&data, &body).await,
            Self::Sqlite(store) => store.transaction(data, body).await,
        }
    }

    /// A trivial round trip, for readiness checks.
    pub async fn ping(&self) -> DbResult<()> {
        self.fetch_one::<i32>("SELECT 1", args![]).await.map(|_| ())
    }

    /// `(pool, in use, idle, max)` of each connection pool, for `/metrics`. SQLite's
    /// "sqlite_write" reports the writes waiting for the writer thread as in use.
    pub fn pool_usage(&self) -> Vec<(&'static str, u32, u32, u32)> {
        match self {
            Self::Postgres(pg) => {
                let idle = u32::try_from(pg.pool.num_idle()).unwrap_or(u32::MAX);
                let size = pg.pool.size();
                vec![("postgres", size.saturating_sub(idle), idle, pg.pool.options().get_max_connections())]
            }
            Self::Sqlite(store) => {
                let (in_use, idle, waiting) = store.usage();
                vec![("sqlite_read", in_use, idle, store.max_idle()), ("sqlite_write", waiting, 0, 1)]
            }
        }
    }

    /// The newest applied migration, `None` on a database never migrated.
    pub async fn schema_version(&self) -> anyhow::Result<Option<i64>> {
        const EXISTS_SQLITE: &str =
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
        const EXISTS_PG: &str = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations'";
        const VERSION: &str = "SELECT MAX(version) FROM _sqlx_migrations WHERE success";
        let exists: i64 = match self {
            Self::Sqlite(_) => self.fetch_one(EXISTS_SQLITE, args![]).await?,
            Self::Postgres(_) => self.fetch_one(EXISTS_PG, args![]).await?,
        };
        if exists == 0 {
            return Ok(None);
        }
        Ok(self.fetch_one::<Option<i64>>(VERSION, args![]).await?)
    }

    pub async fn close(&self) {
        match self {
            Self::Postgres(pg) => pg.pool.close().await,
            Self::Sqlite(store) => store.close().await,
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
        assert!(DbError::from(sqlx::Error::PoolTimedOut).is_transient(false));
        let io = || DbError::from(sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset")));
        assert!(io().is_transient(true), "a read may run again after a broken connection");
        assert!(!io().is_transient(false), "a write might have committed before the connection broke");
        assert!(!DbError::RowNotFound.is_transient(true));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("An_n%"), "%an\\_n\\%%");
    }
}
