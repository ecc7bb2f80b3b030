//! The small query API every store function is written against, once for both engines:
//! `Db::fetch_*` reads, `Db::execute` writes one statement, `Db::transaction` runs a
//! multi-statement write. SQL text uses `$1…$n` placeholders on both engines.
//!
//! PostgreSQL runs through sqlx's pool. SQLite runs through rusqlite, because sqlx's SQLite
//! driver runs every connection on a worker thread and hops to it and back for every
//! statement and row (measured: `SELECT 1` 28 µs through sqlx, 0.2 µs in-thread; a 50-row
//! page 209 µs against 54 µs):
//! - reads run on the calling thread, on a connection taken from a small pool of idle
//!   readers (WAL mode lets them read while the writer writes);
//! - writes go to the one writer thread, which commits them in groups: it takes every write
//!   that is waiting (up to `MAX_BATCH`), runs each in a savepoint of one transaction, commits
//!   once and only then answers each caller. A write that fails rolls back to its savepoint
//!   and leaves the others in the batch untouched. One commit then writes each changed page
//!   of the WAL once for the whole batch instead of once per write.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::future::BoxFuture;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres};
use tokio::sync::{mpsc, oneshot};

/// A store failure, from either engine.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Postgres(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("the query returned no row")]
    RowNotFound,
    #[error("the store is closed")]
    Closed,
    #[error("a SQLite write panicked or awaited something other than the database")]
    WriteAborted,
}

pub type DbResult<T> = Result<T, DbError>;

impl DbError {
    /// A unique-constraint violation (the kind is the same on both engines; the constraint
    /// names are not).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Self::Postgres(sqlx::Error::Database(d)) => d.is_unique_violation(),
            Self::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => matches!(
                f.extended_code,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ),
            _ => false,
        }
    }

    /// Whether the violated constraint (or the message, where the engine names no
    /// constraint) mentions `column`.
    pub fn mentions(&self, column: &str) -> bool {
        match self {
            Self::Postgres(sqlx::Error::Database(d)) => d.constraint().unwrap_or_else(|| d.message()).contains(column),
            Self::Sqlite(rusqlite::Error::SqliteFailure(_, Some(message))) => message.contains(column),
            _ => false,
        }
    }

    /// Whether a failure is worth another try. `idempotent` operations (reads) may also be
    /// retried after a broken connection, where a write might have committed before the
    /// connection broke (retrying could then apply it twice).
    pub fn is_transient(&self, idempotent: bool) -> bool {
        match self {
            // No connection could be had: nothing ran.
            Self::Postgres(sqlx::Error::PoolTimedOut) => true,
            Self::Postgres(sqlx::Error::Io(_)) => idempotent,
            // Serialization failure, deadlock (the transaction was rolled back); the server
            // shutting down or starting (the statement did not run).
            Self::Postgres(sqlx::Error::Database(d)) => {
                matches!(d.code().as_deref(), Some("40001" | "40P01" | "57P01" | "57P02" | "57P03"))
            }
            // Busy or locked past the busy timeout (another process held the database).
            Self::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
                matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            }
            _ => false,
        }
    }

    /// The same failure again, for each write of a batch whose commit failed.
    fn duplicate(&self) -> Self {
        match self {
            Self::Sqlite(rusqlite::Error::SqliteFailure(f, m)) => {
                Self::Sqlite(rusqlite::Error::SqliteFailure(*f, m.clone()))
            }
            Self::Closed => Self::Closed,
            other => Self::Sqlite(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
                Some(other.to_string()),
            )),
        }
    }
}

/// A bound value. Typed, so that PostgreSQL learns the type of a NULL.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(Option<String>),
    Int(Option<i64>),
    Bool(bool),
    /// PostgreSQL only (`text[]`, for `unnest` in batched writes).
    TextArray(Vec<Option<String>>),
    /// PostgreSQL only (`int8[]`).
    IntArray(Vec<i64>),
}

impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}
impl From<&String> for Arg {
    fn from(v: &String) -> Self {
        Self::Text(Some(v.clone()))
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Self::Text(v.map(str::to_owned))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}
impl From<&Option<String>> for Arg {
    fn from(v: &Option<String>) -> Self {
        Self::Text(v.clone())
    }
}
impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Self::Int(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Self::Int(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

/// `args![a, b, …]`: the values of `$1, $2, …`.
macro_rules! args {
    ($($value:expr),* $(,)?) => { vec![$($crate::db::sql::Arg::from($value)),*] };
}
pub(crate) use args;

impl rusqlite::ToSql for Arg {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Self::Text(Some(s)) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Self::Text(None) | Self::Int(None) => ToSqlOutput::Owned(Value::Null),
            Self::Int(Some(i)) => ToSqlOutput::Owned(Value::Integer(*i)),
            Self::Bool(b) => ToSqlOutput::Owned(Value::Integer(i64::from(*b))),
            Self::TextArray(_) | Self::IntArray(_) => {
                return Err(rusqlite::Error::ToSqlConversionFailure("arrays are PostgreSQL's only".into()));
            }
        })
    }
}

/// One column's value type, decodable by both engines.
pub trait Col:
    Sized + Send + rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
{
}
impl<T> Col for T where
    T: Sized + Send + rusqlite::types::FromSql + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
{
}

/// Reads a row's columns left to right.
pub trait Cursor {
    fn next<T: Col>(&mut self) -> DbResult<T>;
}

struct SqliteCursor<'a, 'r> {
    row: &'a rusqlite::Row<'r>,
    at: usize,
}

impl Cursor for SqliteCursor<'_, '_> {
    fn next<T: Col>(&mut self) -> DbResult<T> {
        let value = self.row.get(self.at)?;
        self.at += 1;
        Ok(value)
    }
}

struct PgCursor<'a> {
    row: &'a PgRow,
    at: usize,
}

impl Cursor for PgCursor<'_> {
    fn next<T: Col>(&mut self) -> DbResult<T> {
        let value = sqlx::Row::try_get(self.row, self.at)?;
        self.at += 1;
        Ok(value)
    }
}

/// A result row, read by position: fields in the order of the query's columns.
pub trait Row: Sized + Send + 'static {
    fn read(c: &mut impl Cursor) -> DbResult<Self>;
}

/// `impl_row!(UserRow { id, email, … })`: the fields in the order the queries select them.
macro_rules! impl_row {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        impl $crate::db::sql::Row for $ty {
            fn read(c: &mut impl $crate::db::sql::Cursor) -> $crate::db::sql::DbResult<Self> {
                Ok(Self { $($field: c.next()?),* })
            }
        }
    };
}
pub(crate) use impl_row;

macro_rules! scalar_rows {
    ($($ty:ty),*) => {$(
        impl Row for $ty {
            fn read(c: &mut impl Cursor) -> DbResult<Self> { c.next() }
        }
    )*};
}
scalar_rows!(String, i64, i32, bool, Option<String>, Option<i64>);

impl<A: Col + 'static, B: Col + 'static> Row for (A, B) {
    fn read(c: &mut impl Cursor) -> DbResult<Self> {
        Ok((c.next()?, c.next()?))
    }
}

impl<A: Col + 'static, B: Col + 'static, C: Col + 'static> Row for (A, B, C) {
    fn read(c: &mut impl Cursor) -> DbResult<Self> {
        Ok((c.next()?, c.next()?, c.next()?))
    }
}

// ---- the engines' primitives, shared by the pool-level and transaction-level calls ----

/// Binds `$n` to the n-th argument, as PostgreSQL does. The statement is prepared with each
/// `$n` written `?n`, whose index SQLite makes n: a `$n` would be a named parameter, numbered
/// in order of first appearance (not the `$n` order when a query names `$2` before `$1`) and
/// found by name in a linear search per parameter (quadratic in a room list's `IN` lists,
/// 2 % of its CPU). natter's SQL has no `$` but in its parameters.
fn sqlite_statement<'c>(
    conn: &'c rusqlite::Connection,
    sql: &str,
    args: &[Arg],
) -> DbResult<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(&positional(sql))?;
    let count = stmt.parameter_count();
    if count > args.len() {
        return Err(rusqlite::Error::InvalidParameterCount(count, args.len()).into());
    }
    for (index, arg) in args.iter().enumerate().take(count) {
        stmt.raw_bind_parameter(index + 1, arg)?;
    }
    Ok(stmt)
}

/// `sql` with every `$n` written `?n` (see `sqlite_statement`).
fn positional(sql: &str) -> std::borrow::Cow<'_, str> {
    if !sql.contains('$') {
        return sql.into();
    }
    let mut out = sql.to_string();
    for (at, _) in sql.match_indices('$') {
        if sql.as_bytes().get(at + 1).is_some_and(u8::is_ascii_digit) {
            out.replace_range(at..=at, "?");
        }
    }
    out.into()
}

fn sqlite_fetch<T: Row>(conn: &rusqlite::Connection, sql: &str, args: &[Arg], max: usize) -> DbResult<Vec<T>> {
    let mut stmt = sqlite_statement(conn, sql, args)?;
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while out.len() < max
        && let Some(row) = rows.next()?
    {
        out.push(T::read(&mut SqliteCursor { row, at: 0 })?);
    }
    Ok(out)
}

fn sqlite_execute(conn: &rusqlite::Connection, sql: &str, args: &[Arg]) -> DbResult<u64> {
    let mut stmt = sqlite_statement(conn, sql, args)?;
    Ok(stmt.raw_execute()? as u64)
}

fn pg_query<'q>(sql: &'q str, args: &'q [Arg]) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for arg in args {
        q = match arg {
            Arg::Text(v) => q.bind(v.as_deref()),
            Arg::Int(v) => q.bind(*v),
            Arg::Bool(v) => q.bind(*v),
            Arg::TextArray(v) => q.bind(v),
            Arg::IntArray(v) => q.bind(v),
        };
    }
    q
}

async fn pg_fetch<'e, T: Row>(
    conn: impl sqlx::PgExecutor<'e>,
    sql: &str,
    args: &[Arg],
    max: usize,
) -> DbResult<Vec<T>> {
    let rows: Vec<PgRow> = if max == 1 {
        pg_query(sql, args).fetch_optional(conn).await?.into_iter().collect()
    } else {
        pg_query(sql, args).fetch_all(conn).await?
    };
    rows.iter().map(|row| T::read(&mut PgCursor { row, at: 0 })).collect()
}

async fn pg_execute<'e>(conn: impl sqlx::PgExecutor<'e>, sql: &str, args: &[Arg]) -> DbResult<u64> {
    Ok(pg_query(sql, args).execute(conn).await?.rows_affected())
}

// ---- transactions ----

/// The open transaction a multi-statement write runs in.
pub enum Tx<'c> {
    Postgres(&'c mut sqlx::PgConnection),
    Sqlite(&'c mut rusqlite::Connection),
}

impl Tx<'_> {
    pub async fn execute(&mut self, sql: &str, args: Vec<Arg>) -> DbResult<u64> {
        match self {
            Self::Postgres(conn) => pg_execute(&mut **conn, sql, &args).await,
            Self::Sqlite(conn) => sqlite_execute(conn, sql, &args),
        }
    }

    pub async fn fetch_all<T: Row>(&mut self, sql: &str, args: Vec<Arg>) -> DbResult<Vec<T>> {
        match self {
            Self::Postgres(conn) => pg_fetch(&mut **conn, sql, &args, usize::MAX).await,
            Self::Sqlite(conn) => sqlite_fetch(conn, sql, &args, usize::MAX),
        }
    }

    pub async fn fetch_optional<T: Row>(&mut self, sql: &str, args: Vec<Arg>) -> DbResult<Option<T>> {
        let rows = match self {
            Self::Postgres(conn) => pg_fetch(&mut **conn, sql, &args, 1).await?,
            Self::Sqlite(conn) => sqlite_fetch(conn, sql, &args, 1)?,
        };
        Ok(rows.into_iter().next())
    }

    pub async fn fetch_one<T: Row>(&mut self, sql: &str, args: Vec<Arg>) -> DbResult<T> {
        self.fetch_optional(sql, args).await?.ok_or(DbError::RowNotFound)
    }
}

/// The body of a transaction: called with the transaction and the data it was given
/// (borrowed, so that PostgreSQL can run it again after a transient failure).
pub trait TxBody<S, R>:
    for<'t, 'c> Fn(&'t mut Tx<'c>, &'t S) -> BoxFuture<'t, DbResult<R>> + Send + Sync + 'static
{
}
impl<S, R, F> TxBody<S, R> for F where
    F: for<'t, 'c> Fn(&'t mut Tx<'c>, &'t S) -> BoxFuture<'t, DbResult<R>> + Send + Sync + 'static
{
}

// ---- PostgreSQL ----

#[derive(Clone, Debug)]
pub struct PgStore {
    pub pool: PgPool,
    pub(crate) retries: u32,
    /// The group commits of message writes (`messages::Batches`).
    pub(crate) batches: std::sync::Arc<super::messages::Batches>,
}

impl PgStore {
    pub(crate) async fn fetch<T: Row>(&self, sql: &str, args: &[Arg], max: usize) -> DbResult<Vec<T>> {
        retrying(self.retries, true, || pg_fetch(&self.pool, sql, args, max)).await
    }

    pub(crate) async fn execute(&self, sql: &str, args: &[Arg]) -> DbResult<u64> {
        retrying(self.retries, false, || pg_execute(&self.pool, sql, args)).await
    }

    /// A write of one statement with `RETURNING`, in its own implicit transaction (one round
    /// trip: no `BEGIN`/`COMMIT`).
    pub(crate) async fn write_fetch<T: Row>(&self, sql: &str, args: &[Arg], max: usize) -> DbResult<Vec<T>> {
        retrying(self.retries, false, || pg_fetch(&self.pool, sql, args, max)).await
    }

    pub(crate) async fn transaction<S, R>(&self, data: &S, body: &impl TxBody<S, R>) -> DbResult<R> {
        retrying(self.retries, false, || async {
            let mut tx = self.pool.begin().await?;
            let value = body(&mut Tx::Postgres(&mut tx), data).await?;
            tx.commit().await?;
            Ok(value)
        })
        .await
    }
}

/// Runs `attempt` again, up to `retries` times, while it fails for a transient reason.
async fn retrying<T, F: Future<Output = DbResult<T>>>(
    retries: u32,
    idempotent: bool,
    mut attempt: impl FnMut() -> F,
) -> DbResult<T> {
    let mut tries = 0u32;
    loop {
        match attempt().await {
            Err(e) if tries < retries && e.is_transient(idempotent) => {
                tries += 1;
                tracing::warn!(error = %e, attempt = tries, "transient database error; retrying");
                tokio::time::sleep(Duration::from_millis(20 << tries.min(6))).await;
            }
            other => return other,
        }
    }
}

// ---- SQLite ----

/// Most writes one commit takes. A batch of this many sends takes about a millisecond.
const MAX_BATCH: usize = 128;
/// Writes waiting for the writer; a caller past this waits for a place.
const QUEUE: usize = 4096;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<SqliteInner>,
}

struct SqliteInner {
    path: PathBuf,
    idle: Mutex<Vec<rusqlite::Connection>>,
    /// Readers kept idle at most (more may be open while more threads read at once).
    max_idle: usize,
    open_readers: AtomicU32,
    writer: mpsc::Sender<WriterMsg>,
    closed: AtomicBool,
    retries: u32,
    /// Commits the writer made, and the writes they carried.
    commits: Arc<AtomicU64>,
    writes: Arc<AtomicU64>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

enum WriterMsg {
    Write(Box<dyn WriteJob>),
    /// Sent by the checkpointer after each pass over a WAL that grew (see `checkpoint_loop`).
    Checkpoint,
    Close(oneshot::Sender<()>),
}

/// A write waiting for the writer thread: `run` inside the batch's transaction, then
/// `finish` with the outcome of the batch's commit.
trait WriteJob: Send {
    /// Runs the write; false when it failed (its savepoint is then rolled back).
    fn run(&mut self, conn: &mut rusqlite::Connection) -> bool;
    fn finish(self: Box<Self>, commit: Result<(), &DbError>);
}

struct TxJob<S, R, F> {
    data: S,
    body: F,
    result: Option<DbResult<R>>,
    reply: oneshot::Sender<DbResult<R>>,
}

impl<S: Send + Sync + 'static, R: Send + 'static, F: TxBody<S, R>> WriteJob for TxJob<S, R, F> {
    fn run(&mut self, conn: &mut rusqlite::Connection) -> bool {
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut tx = Tx::Sqlite(conn);
            let mut future = (self.body)(&mut tx, &self.data);
            // Every statement of a SQLite transaction completes at once; a body that awaits
            // anything else would stall the writer, so it is refused instead.
            match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(result) => result,
                Poll::Pending => Err(DbError::WriteAborted),
            }
        }));
        let result = outcome.unwrap_or(Err(DbError::WriteAborted));
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), &DbError>) {
        let answer = match (commit, self.result) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(Ok(value))) => Ok(value),
            (Err(e), _) => Err(e.duplicate()),
            (Ok(()), None) => Err(DbError::WriteAborted),
        };
        // The caller may have gone away (its request was cancelled); the write stands.
        let _ = self.reply.send(answer);
    }
}

fn sqlite_open(path: &Path) -> rusqlite::Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(128);
    // Checkpoints run on their own thread (below), never inside a commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens the database file (creating it), in WAL mode, and starts the writer and
    /// checkpointer threads.
    pub(crate) fn open(path: &Path, max_idle: u32, retries: u32) -> anyhow::Result<Self> {
        let writer_conn = sqlite_open(path)?;
        writer_conn.pragma_update(None, "journal_mode", "WAL")?;
        writer_conn.pragma_update(None, "synchronous", "NORMAL")?;
        // A WAL that a burst of writes made large is cut back to this when it starts over.
        writer_conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let inner = Arc::new(SqliteInner {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1) as usize,
            open_readers: AtomicU32::new(0),
            writer: tx,
            closed: AtomicBool::new(false),
            retries,
            commits: Arc::default(),
            writes: Arc::default(),
        });
        let counters = (inner.commits.clone(), inner.writes.clone());
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer_conn, rx, counters))?;
        let checkpoints = sqlite_open(path)?;
        let weak = Arc::downgrade(&inner);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_loop(checkpoints, weak))?;
        Ok(Self { inner })
    }

    /// Runs `read` on an idle reader connection, on this thread.
    fn with_reader<T>(&self, read: impl FnOnce(&rusqlite::Connection) -> DbResult<T>) -> DbResult<T> {
        let inner = &*self.inner;
        if inner.closed.load(Ordering::Acquire) {
            return Err(DbError::Closed);
        }
        let idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let conn = sqlite_open(&inner.path)?;
                conn.pragma_update(None, "query_only", true)?;
                inner.open_readers.fetch_add(1, Ordering::Relaxed);
                conn
            }
        };
        let result = read(&conn);
        let mut idle = inner.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < inner.max_idle && !inner.closed.load(Ordering::Acquire) {
            idle.push(conn);
        } else {
            inner.open_readers.fetch_sub(1, Ordering::Relaxed);
        }
        result
    }

    pub(crate) fn fetch<T: Row>(&self, sql: &str, args: &[Arg], max: usize) -> DbResult<Vec<T>> {
        let mut tries = 0;
        loop {
            match self.with_reader(|conn| sqlite_fetch(conn, sql, args, max)) {
                Err(e) if tries < self.inner.retries && e.is_transient(true) => tries += 1,
                other => return other,
            }
        }
    }

    pub(crate) async fn transaction<S, R>(&self, data: S, body: impl TxBody<S, R>) -> DbResult<R>
    where
        S: Send + Sync + 'static,
        R: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(TxJob { data, body, result: None, reply });
        self.inner.writer.send(WriterMsg::Write(job)).await.map_err(|_| DbError::Closed)?;
        answer.await.map_err(|_| DbError::Closed)?
    }

    /// `(readers in use, idle readers, writes waiting)`.
    pub(crate) fn usage(&self) -> (u32, u32, u32) {
        let inner = &*self.inner;
        let idle = u32::try_from(inner.idle.lock().unwrap_or_else(|e| e.into_inner()).len()).unwrap_or(u32::MAX);
        let open = inner.open_readers.load(Ordering::Relaxed);
        let waiting = u32::try_from(QUEUE - inner.writer.capacity()).unwrap_or(u32::MAX);
        (open.saturating_sub(idle), idle, waiting)
    }

    /// `(commits, writes)` the writer has made: writes per commit is the group-commit factor.
    pub fn commits(&self) -> (u64, u64) {
        (self.inner.commits.load(Ordering::Relaxed), self.inner.writes.load(Ordering::Relaxed))
    }

    pub(crate) fn max_idle(&self) -> u32 {
        u32::try_from(self.inner.max_idle).unwrap_or(u32::MAX)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Refuses new reads and writes, lets the writes already queued finish, and closes the
    /// writer's connection.
    pub(crate) async fn close(&self) {
        let inner = &*self.inner;
        inner.closed.store(true, Ordering::Release);
        inner.idle.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let (done, closed) = oneshot::channel();
        if inner.writer.send(WriterMsg::Close(done)).await.is_ok() {
            let _ = closed.await;
        }
    }
}

fn writer_loop(
    mut conn: rusqlite::Connection,
    mut queue: mpsc::Receiver<WriterMsg>,
    (commits, writes): (Arc<AtomicU64>, Arc<AtomicU64>),
) {
    let mut batch: Vec<Box<dyn WriteJob>> = Vec::with_capacity(MAX_BATCH);
    let mut closing = None;
    let mut checkpoint = false;
    while let Some(msg) = queue.blocking_recv() {
        // Woken by the first write of a burst, the writer steps aside once, so that the
        // request threads (on a busy core, the very thread this one just preempted) can hand
        // over the writes they are about to make: they then share this commit. With nothing
        // else to run, this returns at once.
        std::thread::yield_now();
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            match msg {
                WriterMsg::Write(job) => batch.push(job),
                WriterMsg::Checkpoint => checkpoint = true,
                WriterMsg::Close(done) => {
                    closing = Some(done);
                    break;
                }
            }
            if batch.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            writes.fetch_add(batch.len() as u64, Ordering::Relaxed);
            commits.fetch_add(1, Ordering::Relaxed);
            metrics::histogram!(crate::telemetry::names::DB_WRITE_BATCH).record(batch.len() as f64);
            commit_batch(&mut conn, &mut batch);
        }
        if std::mem::take(&mut checkpoint) {
            finish_checkpoint(&conn);
        }
        if let Some(done) = closing.take() {
            queue.close();
            // Writes queued behind the close are answered "closed" as they drop.
            while queue.try_recv().is_ok() {}
            drop(conn);
            let _ = done.send(());
            return;
        }
    }
}

/// A transaction-control statement, prepared once per connection (they run several times
/// per commit; parsing each anew showed in profiles).
fn control(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.raw_execute().map(|_| ())
}

/// One transaction for the whole batch, a savepoint per write, one commit.
fn commit_batch(conn: &mut rusqlite::Connection, batch: &mut Vec<Box<dyn WriteJob>>) {
    let single = batch.len() == 1;
    let begun = control(conn, "BEGIN IMMEDIATE").map_err(DbError::from);
    if let Err(e) = &begun {
        for job in batch.drain(..) {
            job.finish(Err(e));
        }
        return;
    }
    let mut all_ok = true;
    for job in batch.iter_mut() {
        if single {
            all_ok = job.run(conn);
            break;
        }
        let ok = control(conn, "SAVEPOINT w").is_ok() && job.run(conn);
        let ended = if ok {
            control(conn, "RELEASE w")
        } else {
            control(conn, "ROLLBACK TO w").and(control(conn, "RELEASE w"))
        };
        if let Err(e) = ended {
            tracing::error!(error = %e, "ending a savepoint failed");
        }
    }
    let committed = control(conn, if all_ok { "COMMIT" } else { "ROLLBACK" }).map_err(DbError::from);
    if committed.is_err() && !conn.is_autocommit() {
        let _ = control(conn, "ROLLBACK");
    }
    let outcome = committed.as_ref().map(|_| ());
    for job in batch.drain(..) {
        job.finish(outcome);
    }
}

/// SQLite's automatic checkpoint runs inside whichever commit crosses 1,000 WAL pages:
/// that commit then copies the pages back and syncs the file, 10–20 ms on this machine's
/// disk, which showed as the p99 of message sends. A passive checkpoint from a connection
/// of its own once a second does that work without holding up the writer.
///
/// But the WAL only starts over from its beginning when a write begins with every frame
/// copied back, and under a steady stream of writes some always arrive while a pass runs:
/// the file then grew without end (4.7 GB in 80 s of benchmark writes, and every commit
/// slower as it grew). So after each pass over a WAL that grew, the writer is asked to
/// copy back the few frames written during the pass itself, between two of its commits;
/// the next write then starts the WAL over.
fn checkpoint_loop(conn: rusqlite::Connection, store: std::sync::Weak<SqliteInner>) {
    let mut last_size = 0;
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let Some(inner) = store.upgrade().filter(|inner| !inner.closed.load(Ordering::Acquire)) else {
            return;
        };
        match passive_checkpoint(&conn) {
            Ok((0, frames, _)) if frames > 0 && frames != last_size => {
                last_size = frames;
                // A full queue is busy writing; the next pass asks again.
                let _ = inner.writer.try_send(WriterMsg::Checkpoint);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed"),
        }
    }
}

/// `(busy, frames in the WAL, frames copied back)`.
fn passive_checkpoint(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
}

/// The writer's part of a checkpoint: the frames the last pass did not reach.
fn finish_checkpoint(conn: &rusqlite::Connection) {
    let started = std::time::Instant::now();
    match passive_checkpoint(conn) {
        Ok((_, frames, copied)) => {
            tracing::debug!(frames, copied, took = ?started.elapsed(), "writer finished a WAL checkpoint");
        }
        Err(e) => tracing::warn!(error = %e, "WAL checkpoint on the writer failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("t.db"), 2, 0).expect("open");
        (dir, store)
    }

    async fn write(store: &SqliteStore, sql: &'static str, args: Vec<Arg>) -> DbResult<u64> {
        store.transaction(args, move |tx, args| Box::pin(tx.execute(sql, args.clone()))).await
    }

    fn count(store: &SqliteStore, sql: &str) -> i64 {
        store.fetch::<i64>(sql, &[], 1).expect("count")[0]
    }

    #[tokio::test]
    async fn readers_and_the_writer_have_wal_and_foreign_keys() {
        let (_dir, store) = store();
        assert_eq!(store.fetch::<String>("PRAGMA journal_mode", &[], 1).unwrap(), ["wal"]);
        assert_eq!(store.fetch::<i64>("PRAGMA foreign_keys", &[], 1).unwrap(), [1]);
        let on_writer = store
            .transaction((), |tx, ()| {
                Box::pin(async move { tx.fetch_one::<i64>("PRAGMA foreign_keys", args![]).await })
            })
            .await;
        assert_eq!(on_writer.unwrap(), 1);
        let refused = store.fetch::<i64>("CREATE TABLE nope (x)", &[], 1);
        assert!(refused.is_err(), "reader connections are query-only");
    }

    #[tokio::test]
    async fn dollar_placeholders_bind_by_number_not_by_first_appearance() {
        let (_dir, store) = store();
        let args = args![7_i64, "second"];
        let got = store.fetch::<(String, i64)>("SELECT $2, $1 + 0", &args, 1).unwrap();
        assert_eq!(got, [("second".to_string(), 7)]);
        let args = args![0_i64, "x", 5_i64];
        let got = store.fetch::<(i64, String, i64)>("SELECT $3, $2 || '$', $3 + 1", &args, 1);
        assert_eq!(got.unwrap(), [(5, "x$".to_string(), 6)], "a `$` not before a digit is left alone");
        let few = store.fetch::<i64>("SELECT $3", &args[..1], 1);
        assert!(few.is_err(), "a missing argument is an error, not a NULL");
    }

    /// Under writes that never pause, the WAL still starts over (it grew without end when
    /// only the checkpointer's passes ran: some write always arrived during a pass).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_writes_that_never_pause() {
        let (dir, store) = store();
        write(&store, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)", args![]).await.unwrap();
        let until = std::time::Instant::now() + Duration::from_millis(4500);
        let writers: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    while std::time::Instant::now() < until {
                        write(&store, "INSERT INTO t (v) VALUES (zeroblob(2000))", args![]).await.unwrap();
                        // Readers hold snapshots now and then, as requests do.
                        count(&store, "SELECT count(*) FROM t WHERE id > (SELECT max(id) - 10 FROM t)");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
        // The WAL header's checkpoint sequence number counts the times it started over.
        let header = std::fs::read(dir.path().join("t.db-wal")).unwrap();
        let restarts = u32::from_be_bytes(header[12..16].try_into().unwrap());
        let (commits, _) = store.commits();
        assert!(commits > 1000, "only {commits} commits in 4.5 s");
        assert!(restarts >= 2, "the WAL started over {restarts} times in 4.5 s of writes");
    }

    /// While the writer is held, writes queue; released, they go in one commit, and the one
    /// that fails is rolled back alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_commit_together_and_a_failing_one_leaves_the_others() {
        let (_dir, store) = store();
        write(&store, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE NOT NULL)", args![]).await.unwrap();
        let (commits_before, _) = store.commits();

        let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        let holder = {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .transaction((held_tx, release_rx), |tx, (held, release)| {
                        Box::pin(async move {
                            tx.execute("INSERT INTO t (v) VALUES ('holder')", args![]).await?;
                            held.send(()).expect("tell the test");
                            release.lock().unwrap().recv().expect("released");
                            Ok(())
                        })
                    })
                    .await
            })
        };
        held_rx.recv().expect("the writer holds the first write");

        let mut writes = Vec::new();
        for i in 0..50 {
            let store = store.clone();
            writes.push(tokio::spawn(async move {
                store
                    .transaction(i, |tx, &i| {
                        Box::pin(async move {
                            tx.execute("INSERT INTO t (v) VALUES ($1)", args![format!("row {i}")]).await?;
                            // The 13th also writes a duplicate (of the holder's row, committed
                            // before): all of it must go.
                            if i == 13 {
                                tx.execute("INSERT INTO t (v) VALUES ('holder')", args![]).await?;
                            }
                            Ok(i)
                        })
                    })
                    .await
            }));
        }
        while store.usage().2 < 50 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        release_tx.send(()).unwrap();
        holder.await.unwrap().unwrap();
        for (i, write) in writes.into_iter().enumerate() {
            match write.await.unwrap() {
                Err(e) if i == 13 => assert!(e.is_unique_violation(), "{e}"),
                result => assert_eq!(result.unwrap(), i),
            }
        }
        assert_eq!(store.commits().0 - commits_before, 2, "the holder's commit, then one for the 50 queued");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM t"), 50, "the holder and 49 rows");
        assert_eq!(count(&store, "SELECT COUNT(*) FROM t WHERE v = 'row 13'"), 0, "the failed write left nothing");
    }

    #[tokio::test]
    async fn a_write_that_panics_or_awaits_is_refused_and_the_writer_goes_on() {
        let (_dir, store) = store();
        let panicked: DbResult<()> =
            store.transaction((), |_, ()| Box::pin(async { panic!("a bug in a write") })).await;
        assert!(matches!(panicked, Err(DbError::WriteAborted)));
        let awaited = store
            .transaction((), |_, ()| {
                Box::pin(async {
                    tokio::task::yield_now().await;
                    Ok(())
                })
            })
            .await;
        assert!(matches!(awaited, Err(DbError::WriteAborted)));
        assert_eq!(write(&store, "CREATE TABLE t (x)", args![]).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn closing_finishes_queued_writes_and_refuses_later_ones() {
        let (_dir, store) = store();
        write(&store, "CREATE TABLE t (x)", args![]).await.unwrap();
        let queued = write(&store, "INSERT INTO t VALUES (1)", args![]);
        let (queued, ()) = tokio::join!(queued, store.close());
        assert_eq!(queued.unwrap(), 1);
        assert!(matches!(write(&store, "INSERT INTO t VALUES (2)", args![]).await, Err(DbError::Closed)));
        assert!(matches!(store.fetch::<i64>("SELECT 1", &[], 1), Err(DbError::Closed)));
    }
}
