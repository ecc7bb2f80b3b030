//! `playlists` and `playlist_videos`.

use super::videos::VideoRow;
use super::{Db, DbResult, args, impl_row};
use crate::domain::UserId;

#[derive(Debug, Clone)]
pub struct PlaylistRow {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    /// How many videos it holds (all of them, whoever can see them).
    pub video_count: i64,
}
impl_row!(PlaylistRow { id, owner_id, name, description, created_at, updated_at, video_count });

const COLUMNS: &str = "p.id, p.owner_id, p.name, p.description, p.created_at, p.updated_at, \
                       (SELECT CAST(COUNT(*) AS BIGINT) FROM playlist_videos pv WHERE pv.playlist_id = p.id)";

pub async fn insert_playlist(db: &Db, p: &PlaylistRow) -> DbResult<()> {
    const SQL: &str = "INSERT INTO playlists (id, owner_id, name, description, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $6)";
    db.execute(SQL, args![&p.id, &p.owner_id, &p.name, &p.description, p.created_at, p.updated_at]).await.map(|_| ())
}

pub async fn find_playlist(db: &Db, id: &str) -> DbResult<Option<PlaylistRow>> {
    let sql = format!("SELECT {COLUMNS} FROM playlists p WHERE p.id = $1");
    db.fetch_optional(&sql, args![id]).await
}

/// A page of a user's playlists, newest first, and how many there are.
pub async fn list_playlists(db: &Db, owner: &UserId, offset: i64, limit: i64) -> DbResult<(Vec<PlaylistRow>, i64)> {
    let sql = format!(
        "SELECT {COLUMNS} FROM playlists p WHERE p.owner_id = $1 ORDER BY p.created_at DESC, p.id LIMIT $2 OFFSET $3"
    );
    let rows = db.fetch_all(&sql, args![owner.to_string(), limit, offset]).await?;
    let total = db
        .fetch_one("SELECT CAST(COUNT(*) AS BIGINT) FROM playlists WHERE owner_id = $1", args![owner.to_string()])
        .await?;
    Ok((rows, total))
}

/// The videos of a playlist `viewer` can see (published, or their own), in the order added.
pub async fn playlist_videos(db: &Db, playlist: &str, viewer: &UserId) -> DbResult<Vec<VideoRow>> {
    const SQL: &str = "SELECT v.id, v.owner_id, v.title, v.description, v.video_file, v.video_media_id, v.thumbnail, \
                         v.thumbnail_media_id, v.duration_ms, v.views, v.is_published, v.created_at, v.updated_at \
                       FROM playlist_videos pv JOIN videos v ON v.id = pv.video_id \
                       WHERE pv.playlist_id = $1 AND (v.is_published OR v.owner_id = $2) \
                       ORDER BY pv.added_at, v.id LIMIT 1000";
    db.fetch_all(SQL, args![playlist, viewer.to_string()]).await
}

pub async fn update_playlist(
    db: &Db,
    id: &str,
    name: Option<&str>,
    description: Option<&str>,
    now: i64,
) -> DbResult<()> {
    const SQL: &str = "UPDATE playlists SET name = COALESCE($2, name), description = COALESCE($3, description), \
                       updated_at = $4 WHERE id = $1";
    db.execute(SQL, args![id, name, description, now]).await.map(|_| ())
}

pub async fn delete_playlist(db: &Db, id: &str) -> DbResult<()> {
    db.execute("DELETE FROM playlists WHERE id = $1", args![id]).await.map(|_| ())
}

/// Adds a video (once: adding it again changes nothing).
pub async fn add_video(db: &Db, playlist: &str, video: &str, now: i64) -> DbResult<()> {
    const SQL: &str = "INSERT INTO playlist_videos (playlist_id, video_id, added_at) VALUES ($1, $2, $3) \
                       ON CONFLICT (playlist_id, video_id) DO NOTHING";
    db.execute(SQL, args![playlist, video, now]).await.map(|_| ())
}

pub async fn remove_video(db: &Db, playlist: &str, video: &str) -> DbResult<()> {
    const SQL: &str = "DELETE FROM playlist_videos WHERE playlist_id = $1 AND video_id = $2";
    db.execute(SQL, args![playlist, video]).await.map(|_| ())
}
