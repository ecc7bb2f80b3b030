//! `sessions`: refresh tokens (stored as SHA-256 hashes), grouped into families per login.

use super::{Db, on_db, on_db_write};
use crate::domain::{SessionId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub replaced_by: Option<String>,
    pub rotated_at: Option<i64>,
}

pub struct NewSession<'a> {
    pub id: SessionId,
    pub user_id: &'a UserId,
    pub family_id: &'a str,
    pub token_hash: &'a str,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
    pub now: i64,
}

const INSERT: &str = "INSERT INTO sessions (id, user_id, family_id, token_hash, expires_at, user_agent, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7)";

macro_rules! bind_new_session {
    ($q:expr, $s:expr) => {
        $q.bind($s.id.to_string())
            .bind($s.user_id.to_string())
            .bind($s.family_id)
            .bind($s.token_hash)
            .bind($s.expires_at)
            .bind($s.user_agent)
            .bind($s.now)
    };
}

pub async fn insert_session(db: &Db, new: NewSession<'_>) -> Result<(), sqlx::Error> {
    on_db_write!(db, |pool| bind_new_session!(sqlx::query(INSERT), new).execute(pool).await.map(|_| ()))
}

pub async fn find_session_by_hash(db: &Db, token_hash: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, user_id, family_id, expires_at, revoked_at, replaced_by, rotated_at \
                       FROM sessions WHERE token_hash = $1";
    on_db!(db, |pool| sqlx::query_as::<_, SessionRow>(SQL).bind(token_hash).fetch_optional(pool).await)
}

/// Replaces `old` by `new` atomically. `false` when `old` was already rotated or revoked in
/// the meantime (a concurrent refresh won): the caller treats that as reuse.
pub async fn rotate_session(db: &Db, old_id: &str, new: NewSession<'_>) -> Result<bool, sqlx::Error> {
    const MARK: &str = "UPDATE sessions SET replaced_by = $2, rotated_at = $3 \
                        WHERE id = $1 AND replaced_by IS NULL AND revoked_at IS NULL";
    on_db_write!(db, |pool| {
        // The first statement writes, so SQLite takes the write lock at once (no upgrade).
        let mut tx = pool.begin().await?;
        let marked = sqlx::query(MARK)
            .bind(old_id)
            .bind(new.id.to_string())
            .bind(new.now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if marked != 1 {
            return Ok(false);
        }
        bind_new_session!(sqlx::query(INSERT), new).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}

/// Revokes every token of one login (logout, reuse detection).
pub async fn revoke_family(db: &Db, family_id: &str, now: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL";
    on_db_write!(db, |pool| sqlx::query(SQL).bind(family_id).bind(now).execute(pool).await.map(|_| ()))
}

/// Revokes all of a user's logins except `keep_family` (password change); returns the
/// families it revoked.
pub async fn revoke_user_sessions(
    db: &Db,
    user_id: &UserId,
    keep_family: Option<&str>,
    now: i64,
) -> Result<Vec<String>, sqlx::Error> {
    const SQL: &str = "UPDATE sessions SET revoked_at = $3 \
                       WHERE user_id = $1 AND revoked_at IS NULL AND ($2 IS NULL OR family_id <> $2) \
                       RETURNING family_id";
    let mut families: Vec<String> = on_db_write!(db, |pool| {
        sqlx::query_scalar(SQL).bind(user_id.to_string()).bind(keep_family).bind(now).fetch_all(pool).await
    })?;
    families.sort();
    families.dedup();
    Ok(families)
}
