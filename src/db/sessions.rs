//! `sessions`: refresh tokens (stored as SHA-256 hashes), grouped into families per login.
//! A login (what `/api/auth/sessions` lists) is a family; its newest token is the one whose
//! `replaced_by` is unset.

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
    /// When the login started (its first token's `created_at`).
    pub started_at: i64,
    /// The login's absolute end, whatever its use; `None` for logins from before it existed.
    pub ends_at: Option<i64>,
}
impl_row!(SessionRow { id, user_id, family_id, expires_at, revoked_at, replaced_by, rotated_at, started_at, ends_at });

/// A live login as its user sees it: the newest token of its family.
#[derive(Debug, Clone)]
pub struct LiveSessionRow {
    pub family_id: String,
    pub user_id: String,
    pub started_at: i64,
    /// When the login last got tokens (logged in or refreshed).
    pub last_used_at: i64,
    /// The earlier of the idle expiry and the absolute end.
    pub expires_at: i64,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}
impl_row!(LiveSessionRow { family_id, user_id, started_at, last_used_at, expires_at, user_agent, ip });

pub struct NewSession<'a> {
    pub id: SessionId,
    pub user_id: &'a UserId,
    pub family_id: &'a str,
    pub token_hash: &'a str,
    pub expires_at: i64,
    pub user_agent: Option<&'a str>,
    pub ip: Option<String>,
    pub started_at: i64,
    pub ends_at: Option<i64>,
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
            self.now,
            self.ip.clone(),
            self.started_at,
            self.ends_at
        ]
    }
}

const INSERT: &str = "INSERT INTO sessions \
                      (id, user_id, family_id, token_hash, expires_at, user_agent, created_at, ip, started_at, ends_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

pub async fn insert_session(db: &Db, new: NewSession<'_>) -> DbResult<()> {
    db.execute(INSERT, new.args()).await.map(|_| ())
}

pub async fn find_session_by_hash(db: &Db, token_hash: &str) -> DbResult<Option<SessionRow>> {
    const SQL: &str = "SELECT id, user_id, family_id, expires_at, revoked_at, replaced_by, rotated_at, \
                       COALESCE(started_at, created_at), ends_at FROM sessions WHERE token_hash = $1";
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

/// Revokes every token of one login (logout, reuse detection, `DELETE /api/auth/sessions/:id`).
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

/// The newest token of each live login, `$1` being now.
macro_rules! live_sessions_sql {
    ($($rest:literal),*) => {
        concat!(
            "SELECT family_id, user_id, COALESCE(started_at, created_at), created_at, \
             CASE WHEN ends_at IS NOT NULL AND ends_at < expires_at THEN ends_at ELSE expires_at END, \
             user_agent, ip FROM sessions \
             WHERE replaced_by IS NULL AND revoked_at IS NULL AND expires_at > $1 \
               AND (ends_at IS NULL OR ends_at > $1)",
            $($rest),*
        )
    };
}

/// A user's live logins, most recently used first (at most 1000: older ones are not shown).
pub async fn live_sessions(db: &Db, user_id: &UserId, now: i64) -> DbResult<Vec<LiveSessionRow>> {
    const SQL: &str = live_sessions_sql!(" AND user_id = $2 ORDER BY created_at DESC, family_id LIMIT 1000");
    db.fetch_all(SQL, args![now, user_id.to_string()]).await
}

/// One live login by its family id.
pub async fn live_session(db: &Db, family_id: &str, now: i64) -> DbResult<Option<LiveSessionRow>> {
    const SQL: &str = live_sessions_sql!(" AND family_id = $2");
    db.fetch_optional(SQL, args![now, family_id]).await
}
