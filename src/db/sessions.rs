//! `sessions`: refresh tokens (stored as SHA-256 hashes), grouped into families per login.

use super::sql::Arg;
use super::{Db, DbResult, args, impl_row};
use crate::domain::{SessionId, UserId};

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub family_id: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub replaced_by: Option<String>,
    pub rotated_at: Option<i64>,
}
impl_row!(SessionRow { id, user_id, family_id, expires_at, revoked_at, replaced_by, rotated_at });

pub struct NewSession<'a> {
    pub id: SessionId,
    pub user_id: &'a UserId,
    pub family_id: &'a str,
    pub token_hash: &'a str,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
    pub now: i64,
}

impl NewSession<'_> {
    fn args(&self) -> Vec<Arg> {
        args![
            self.id.to_string(),
            self.user_id.to_string(),
            self.family_id,
            self.token_hash,
            self.expires_at,
            self.user_agent,
            self.now
        ]
    }
}

const INSERT: &str = "INSERT INTO sessions (id, user_id, family_id, token_hash, expires_at, user_agent, created_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub async fn insert_session(db: &Db, new: NewSession<'_>) -> DbResult<()> {
    db.execute(INSERT, new.args()).await.map(|_| ())
}

pub async fn find_session_by_hash(db: &Db, token_hash: &str) -> DbResult<Option<SessionRow>> {
    const SQL: &str = "SELECT id, user_id, family_id, expires_at, revoked_at, replaced_by, rotated_at \
                       FROM sessions WHERE token_hash = $1";
    db.fetch_optional(SQL, args![token_hash]).await
}

/// Replaces `old` by `new` atomically. `false` when `old` was already rotated or revoked in
/// the meantime (a concurrent refresh won): the caller treats that as reuse.
pub async fn rotate_session(db: &Db, old_id: &str, new: NewSession<'_>) -> DbResult<bool> {
    const MARK: &str = "UPDATE sessions SET replaced_by = $2, rotated_at = $3 \
                        WHERE id = $1 AND replaced_by IS NULL AND revoked_at IS NULL";
    let mark = args![old_id, new.id.to_string(), new.now];
    db.transaction((mark, new.args()), |tx, (mark, insert)| {
        Box::pin(async move {
            // The first statement writes, so SQLite takes the write lock at once (no upgrade).
            if tx.execute(MARK, mark.clone()).await? != 1 {
                return Ok(false);
            }
            tx.execute(INSERT, insert.clone()).await?;
            Ok(true)
        })
    })
    .await
}

/// Revokes every token of one login (logout, reuse detection).
pub async fn revoke_family(db: &Db, family_id: &str, now: i64) -> DbResult<()> {
    const SQL: &str = "UPDATE sessions SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL";
    db.execute(SQL, args![family_id, now]).await.map(|_| ())
}

/// Revokes all of a user's logins except `keep_family` (password change); returns the
/// families it revoked.
pub async fn revoke_user_sessions(
    db: &Db,
    user_id: &UserId,
    keep_family: Option<&str>,
    now: i64,
) -> DbResult<Vec<String>> {
    const SQL: &str = "UPDATE sessions SET revoked_at = $3 \
                       WHERE user_id = $1 AND revoked_at IS NULL AND ($2 IS NULL OR family_id <> $2) \
                       RETURNING family_id";
    let mut families: Vec<String> = db.write_fetch_all(SQL, args![user_id.to_string(), keep_family, now]).await?;
    families.sort();
    families.dedup();
    Ok(families)
}
