//! `media`: metadata of stored files (the bytes live in object storage).

use super::{Db, on_db, on_db_write};
use crate::domain::{MediaId, UserId};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediaRow {
    pub storage_key: String,
    pub content_type: String,
    pub bytes: i64,
}

pub struct NewMedia<'a> {
    pub id: MediaId,
    pub owner_id: &'a UserId,
    pub storage_key: &'a str,
    pub content_type: &'a str,
    pub bytes: i64,
    pub sha256: &'a str,
    pub now: i64,
}

pub async fn insert_media(db: &Db, new: NewMedia<'_>) -> Result<(), sqlx::Error> {
    const SQL: &str = "INSERT INTO media (id, owner_id, storage_key, content_type, bytes, sha256, created_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7)";
    on_db_write!(db, |pool| {
        sqlx::query(SQL)
            .bind(new.id.to_string())
            .bind(new.owner_id.to_string())
            .bind(new.storage_key)
            .bind(new.content_type)
            .bind(new.bytes)
            .bind(new.sha256)
            .bind(new.now)
            .execute(pool)
            .await
            .map(|_| ())
    })
}

pub async fn find_media_by_key(db: &Db, storage_key: &str) -> Result<Option<MediaRow>, sqlx::Error> {
    const SQL: &str = "SELECT storage_key, content_type, bytes FROM media WHERE storage_key = $1";
    on_db!(db, |pool| sqlx::query_as::<_, MediaRow>(SQL).bind(storage_key).fetch_optional(pool).await)
}
