//! Bulk inserts for `natter seed`: realistic data for benchmarks, fast (multi-row INSERTs
//! in one transaction per table batch). Not used by the server.

use super::messages::placeholders;
use super::{Db, on_db, on_db_write};

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
/// `bind_row` binds one row's `columns` values.
macro_rules! bulk_insert {
    ($db:expr, $sql_head:expr, $columns:expr, $rows:expr, |$q:ident, $row:ident| $bind:expr) => {{
        let rows = $rows;
        on_db_write!($db, |pool| {
            let mut tx = pool.begin().await?;
            for chunk in rows.chunks(BATCH) {
                let values: Vec<String> =
                    (0..chunk.len()).map(|i| format!("({})", placeholders(i * $columns + 1, $columns))).collect();
                let sql = format!("{} VALUES {}", $sql_head, values.join(", "));
                let mut $q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for $row in chunk {
                    $q = $bind;
                }
                $q.execute(&mut *tx).await?;
            }
            tx.commit().await
        })
    }};
}

pub async fn insert_users(db: &Db, users: &[SeedUser], password_hash: &str, now: i64) -> Result<(), sqlx::Error> {
    bulk_insert!(
        db,
        "INSERT INTO users (id, email, full_name, password_hash, profile_pic, role, created_at, updated_at)",
        8,
        users,
        |q, u| q
            .bind(&u.id)
            .bind(&u.email)
            .bind(&u.full_name)
            .bind(password_hash)
            .bind("")
            .bind("user")
            .bind(now)
            .bind(now)
    )
}

pub async fn insert_rooms(db: &Db, rooms: &[SeedRoom]) -> Result<(), sqlx::Error> {
    bulk_insert!(
        db,
        "INSERT INTO rooms (id, kind, type, name, direct_key, created_by, last_message_id, last_message_at, created_at, updated_at)",
        10,
        rooms,
        |q, r| q
            .bind(&r.id)
            .bind(r.kind)
            .bind("consumer-to-consumer")
            .bind(&r.name)
            .bind(&r.direct_key)
            .bind(&r.created_by)
            .bind(&r.last_message_id)
            .bind(r.last_message_at)
            .bind(r.created_at)
            .bind(r.created_at)
    )
}

pub async fn insert_members(db: &Db, members: &[SeedMember]) -> Result<(), sqlx::Error> {
    bulk_insert!(
        db,
        "INSERT INTO room_members (room_id, user_id, joined_at, muted, last_read_at)",
        5,
        members,
        |q, m| q.bind(&m.room_id).bind(&m.user_id).bind(m.joined_at).bind(false).bind(0_i64)
    )
}

pub async fn insert_messages(db: &Db, messages: &[SeedMessage]) -> Result<(), sqlx::Error> {
    bulk_insert!(
        db,
        "INSERT INTO messages (id, room_id, sender_id, text, created_at, updated_at)",
        6,
        messages,
        |q, m| q.bind(&m.id).bind(&m.room_id).bind(&m.sender_id).bind(&m.text).bind(m.created_at).bind(m.created_at)
    )
}

pub struct SeedSession {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub token_hash: String,
    pub expires_at: i64,
}

pub async fn insert_sessions(db: &Db, sessions: &[SeedSession], now: i64) -> Result<(), sqlx::Error> {
    bulk_insert!(
        db,
        "INSERT INTO sessions (id, user_id, family_id, token_hash, expires_at, created_at)",
        6,
        sessions,
        |q, s| q.bind(&s.id).bind(&s.user_id).bind(&s.family_id).bind(&s.token_hash).bind(s.expires_at).bind(now)
    )
}

/// After the bulk messages: every room gets a new version, so that no server that read a
/// room in between keeps a cached page of it.
pub async fn bump_room_versions(db: &Db) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE rooms SET version = version + 1";
    on_db_write!(db, |pool| sqlx::query(SQL).execute(pool).await.map(|_| ()))
}

/// Whether the database already holds users (seeding is for fresh databases).
pub async fn has_users(db: &Db) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT COUNT(*) FROM users";
    let n: i64 = on_db!(db, |pool| sqlx::query_scalar(SQL).fetch_one(pool).await)?;
    Ok(n > 0)
}

/// After a bulk load, as autovacuum would do soon after: without statistics PostgreSQL's
/// planner guessed a 10,000-message conversation at 22 rows and sorted all of it for every
/// page (42 pages/s instead of ~1,500). SQLite plans these queries well without statistics,
/// and statistics would make it re-plan statements whose bound values change.
pub async fn refresh_statistics(db: &Db) -> Result<(), sqlx::Error> {
    if let Db::Postgres(pg) = db {
        sqlx::query("ANALYZE").execute(&pg.pool).await?;
    }
    Ok(())
}
