//! `media`: metadata of stored files (the bytes live in object storage).

use super::{Db, DbResult, args, impl_row};
use crate::domain::{MediaId, UserId};

#[derive(Debug, Clone)]
pub struct MediaRow {
    pub storage_key: String,
    pub content_type: String,
    pub bytes: i64,
}
impl_row!(MediaRow { storage_key, content_type, bytes });

pub struct NewMedia<'a> {
    pub id: MediaId,
    pub owner_id: &'a UserId,
    pub storage_key: &'a str,
    pub content_type: &'a str,
    pub bytes: i64,
    pub sha256: &'a str,
    pub now: i64,
}

pub async fn insert_media(db: &Db, new: NewMedia<'_>) -> DbResult<()> {
    const SQL: &str = "INSERT INTO media (id, owner_id, storage_key, content_type, bytes, sha256, created_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7)";
    let args = args![
        new.id.to_string(),
        new.owner_id.to_string(),
        new.storage_key,
        new.content_type,
        new.bytes,
        new.sha256,
        new.now
    ];
    db.execute(SQL, args).await.map(|_| ())
}

pub async fn find_media_by_key(db: &Db, storage_key: &str) -> DbResult<Option<MediaRow>> {
    const SQL: &str = "SELECT storage_key, content_type, bytes FROM media WHERE storage_key = $1";
    db.fetch_optional(SQL, args![storage_key]).await
}
