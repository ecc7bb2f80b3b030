//! Bulk inserts for `natter seed`: realistic data for benchmarks, fast (multi-row INSERTs
//! in one transaction per table batch). Not used by the server.

use super::messages::placeholders;
use super::sql::Arg;
use super::{Db, DbResult, args};

/// Rows per INSERT statement: well under both backends' bind-parameter limits.
const BATCH: usize = 400;

pub struct SeedUser {
    pub id: String,
    pub email: String,
    pub full_name: String,
}

pub struct SeedRoom {
    pub id: String,
    pub kind: &'static str,
    pub direct_key: Option<String>,
    pub name: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub last_message_id: Option<String>,
    pub last_message_at: Option<i64>,
}

pub struct SeedMember {
    pub room_id: String,
    pub user_id: String,
    pub joined_at: i64,
}

pub struct SeedMessage {
    pub id: String,
    pub room_id: String,
    pub sender_id: String,
    pub text: String,
    pub created_at: i64,
}

/// Runs `sql_head` + `VALUES (…), (…)` for `rows` in batches inside one transaction;
/// `row_args` gives one row's `columns` values.
async fn bulk_insert<T>(
    db: &Db,
    sql_head: &str,
    columns: usize,
    rows: &[T],
    row_args: impl Fn(&T) -> Vec<Arg>,
) -> DbResult<()> {
    let statements: Vec<(String, Vec<Arg>)> = rows
        .chunks(BATCH)
        .map(|chunk| {
            let values: Vec<String> =
                (0..chunk.len()).map(|i| format!("({})", placeholders(i * columns + 1, columns))).collect();
            (format!("{sql_head} VALUES {}", values.join(", ")), chunk.iter().flat_map(&row_args).collect())
        })
        .collect();
    db.transaction(statements, |tx, statements| {
        Box::pin(async move {
            for (sql, args) in statements {
                tx.execute(sql, args.clone()).await?;
            }
            Ok(())
        })
    })
    .await
}

pub async fn insert_users(db: &Db, users: &[SeedUser], password_hash: &str, now: i64) -> DbResult<()> {
    bulk_insert(
        db,
        "INSERT INTO users (id, email, full_name, password_hash, profile_pic, role, created_at, updated_at)",
        8,
        users,
        |u| args![&u.id, &u.email, &u.full_name, password_hash, "", "user", now, now],
    )
    .await
}

pub async fn insert_rooms(db: &Db, rooms: &[SeedRoom]) -> DbResult<()> {
    bulk_insert(
        db,
        "INSERT INTO rooms (id, kind, type, name, direct_key, created_by, last_message_id, last_message_at, created_at, updated_at)",
        10,
        rooms,
        |r| {
            args![
                &r.id,
                r.kind,
                "consumer-to-consumer",
                &r.name,
                &r.direct_key,
                &r.created_by,
                &r.last_message_id,
                r.last_message_at,
                r.created_at,
                r.created_at
            ]
        },
    )
    .await
}

pub async fn insert_members(db: &Db, members: &[SeedMember]) -> DbResult<()> {
    bulk_insert(db, "INSERT INTO room_members (room_id, user_id, joined_at, muted, last_read_at)", 5, members, |m| {
        args![&m.room_id, &m.user_id, m.joined_at, false, 0_i64]
    })
    .await
}

pub async fn insert_messages(db: &Db, messages: &[SeedMessage]) -> DbResult<()> {
    bulk_insert(db, "INSERT INTO messages (id, room_id, sender_id, text, created_at, updated_at)", 6, messages, |m| {
        args![&m.id, &m.room_id, &m.sender_id, &m.text, m.created_at, m.created_at]
    })
    .await
}

pub struct SeedSession {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub token_hash: String,
    pub expires_at: i64,
}

pub async fn insert_sessions(db: &Db, sessions: &[SeedSession], now: i64) -> DbResult<()> {
    bulk_insert(
        db,
        "INSERT INTO sessions (id, user_id, family_id, token_hash, expires_at, created_at)",
        6,
        sessions,
        |s| args![&s.id, &s.user_id, &s.family_id, &s.token_hash, s.expires_at, now],
    )
    .await
}

/// After the bulk messages: every room gets a new version, so that no server that read a
/// room in between keeps a cached page of it.
pub async fn bump_room_versions(db: &Db) -> DbResult<()> {
    const SQL: &str = "UPDATE rooms SET version = version + 1";
    db.execute(SQL, args![]).await.map(|_| ())
}

/// Whether the database already holds users (seeding is for fresh databases).
pub async fn has_users(db: &Db) -> DbResult<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM users";
    let n: i64 = db.fetch_one(SQL, args![]).await?;
    Ok(n > 0)
}

/// After a bulk load, as autovacuum would do soon after: without statistics PostgreSQL's
/// planner guessed a 10,000-message conversation at 22 rows and sorted all of it for every
/// page (42 pages/s instead of ~1,500). SQLite plans these queries well without statistics,
/// and statistics would make it re-plan statements whose bound values change.
pub async fn refresh_statistics(db: &Db) -> DbResult<()> {
    if let Db::Postgres(_) = db {
        db.execute("ANALYZE", args![]).await?;
    }
    Ok(())
}
