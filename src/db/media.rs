//! `media`: metadata of stored files (the bytes live in object storage).

use super::{Db, DbResult, args, impl_row};
use crate::domain::{MediaId, UserId};

/// The columns of `MediaRow`, in its field order.
const COLUMNS: &str = "id, owner_id, storage_key, content_type, bytes, sha256, created_at, kind, private";

#[derive(Debug, Clone)]
pub struct MediaRow {
    pub id: String,
    pub owner_id: Option<String>,
    pub storage_key: String,
    pub content_type: String,
    pub bytes: i64,
    pub sha256: String,
    pub created_at: i64,
    /// `image`, `video` or `file`.
    pub kind: String,
    /// Served only to its owner and to members of a room holding a message that carries it.
    pub private: bool,
}
impl_row!(MediaRow { id, owner_id, storage_key, content_type, bytes, sha256, created_at, kind, private });

pub struct NewMedia<'a> {
    pub id: MediaId,
    /// `None` until the owner exists (files of a registration).
    pub owner_id: Option<&'a UserId>,
    pub storage_key: &'a str,
    pub content_type: &'a str,
    pub bytes: i64,
    pub sha256: &'a str,
    pub kind: &'a str,
    pub private: bool,
    pub now: i64,
}

pub async fn insert_media(db: &Db, new: NewMedia<'_>) -> DbResult<()> {
    const SQL: &str = "INSERT INTO media (id, owner_id, storage_key, content_type, bytes, sha256, kind, private, created_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
    let args = args![
        new.id.to_string(),
        new.owner_id.map(ToString::to_string),
        new.storage_key,
        new.content_type,
        new.bytes,
        new.sha256,
        new.kind,
        new.private,
        new.now
    ];
    db.execute(SQL, args).await.map(|_| ())
}

pub async fn find_media_by_key(db: &Db, storage_key: &str) -> DbResult<Option<MediaRow>> {
    let sql = format!("SELECT {COLUMNS} FROM media WHERE storage_key = $1");
    db.fetch_optional(&sql, args![storage_key]).await
}

pub async fn find_media(db: &Db, id: &MediaId) -> DbResult<Option<MediaRow>> {
    let sql = format!("SELECT {COLUMNS} FROM media WHERE id = $1");
    db.fetch_optional(&sql, args![id.to_string()]).await
}

/// Whether `user` is a member of a room holding a live message that carries the upload.
pub async fn shared_with(db: &Db, media_id: &str, user: &UserId) -> DbResult<bool> {
    const SQL: &str = "SELECT 1 FROM messages m JOIN room_members rm ON rm.room_id = m.room_id AND rm.user_id = $2 \
                       WHERE m.media_id = $1 AND m.deleted_at IS NULL LIMIT 1";
    let found: Option<i32> = db.fetch_optional(SQL, args![media_id, user.to_string()]).await?;
    Ok(found.is_some())
}

/// How many files are recorded (what the storage should hold).
pub async fn count_media(db: &Db) -> DbResult<i64> {
    db.fetch_one("SELECT CAST(COUNT(*) AS BIGINT) FROM media", args![]).await
}

pub async fn delete_media(db: &Db, id: &MediaId) -> DbResult<()> {
    db.execute("DELETE FROM media WHERE id = $1", args![id.to_string()]).await.map(|_| ())
}

pub async fn set_owner(db: &Db, id: &MediaId, owner: &UserId) -> DbResult<()> {
    db.execute("UPDATE media SET owner_id = $2 WHERE id = $1", args![id.to_string(), owner.to_string()])
        .await
        .map(|_| ())
}
