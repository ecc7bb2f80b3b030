//! `videos`, `video_views` and `watch_history`: the video-platform tutorial's videos.

use super::users::UserRow;
use super::{Db, DbResult, args, impl_row, like_pattern};
use crate::domain::UserId;

/// The columns of `VideoRow` (`v` = videos).
const COLUMNS: &str = "v.id, v.owner_id, v.title, v.description, v.video_file, v.video_media_id, v.thumbnail, \
                       v.thumbnail_media_id, v.duration_ms, v.views, v.is_published, v.created_at, v.updated_at";

#[derive(Debug, Clone)]
pub struct VideoRow {
    pub id: String,
    pub owner_id: String,
    pub title: String,
    pub description: String,
    pub video_file: String,
    pub video_media_id: String,
    pub thumbnail: String,
    pub thumbnail_media_id: String,
    pub duration_ms: i64,
    pub views: i64,
    pub is_published: bool,
    pub created_at: i64,
    pub updated_at: i64,
}
impl_row!(VideoRow {
    id,
    owner_id,
    title,
    description,
    video_file,
    video_media_id,
    thumbnail,
    thumbnail_media_id,
    duration_ms,
    views,
    is_published,
    created_at,
    updated_at
});

pub async fn insert_video(db: &Db, v: &VideoRow) -> DbResult<()> {
    const SQL: &str = "INSERT INTO videos (id, owner_id, title, description, video_file, video_media_id, thumbnail, \
                       thumbnail_media_id, duration_ms, views, is_published, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";
    let args = args![
        &v.id,
        &v.owner_id,
        &v.title,
        &v.description,
        &v.video_file,
        &v.video_media_id,
        &v.thumbnail,
        &v.thumbnail_media_id,
        v.duration_ms,
        v.views,
        v.is_published,
        v.created_at,
        v.updated_at
    ];
    db.execute(SQL, args).await.map(|_| ())
}

pub async fn find_video(db: &Db, id: &str) -> DbResult<Option<VideoRow>> {
    let sql = format!("SELECT {COLUMNS} FROM videos v WHERE v.id = $1");
    db.fetch_optional(&sql, args![id]).await
}

/// What a list asks for.
pub struct VideoQuery<'a> {
    /// Sees its own unpublished videos.
    pub viewer: &'a UserId,
    pub owner: Option<&'a UserId>,
    /// A case-insensitive substring of the title or the description.
    pub text: Option<&'a str>,
    /// `created_at`, `views`, `duration_ms` or `title` (checked by the caller).
    pub sort_column: &'static str,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

/// A page of videos (published ones, and the viewer's own) and how many match.
pub async fn list_videos(db: &Db, q: &VideoQuery<'_>) -> DbResult<(Vec<VideoRow>, i64)> {
    const FILTER: &str = "(v.is_published OR v.owner_id = $1) AND ($2 IS NULL OR v.owner_id = $2) \
                          AND ($3 IS NULL OR LOWER(v.title) LIKE $3 ESCAPE '\\' OR LOWER(v.description) LIKE $3 ESCAPE '\\')";
    let direction = if q.descending { "DESC" } else { "ASC" };
    let page = format!(
        "SELECT {COLUMNS} FROM videos v WHERE {FILTER} ORDER BY v.{} {direction}, v.id {direction} LIMIT $4 OFFSET $5",
        q.sort_column
    );
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM videos v WHERE {FILTER}");
    let viewer = q.viewer.to_string();
    let owner = q.owner.map(ToString::to_string);
    let text = q.text.map(|t| like_pattern(&t.to_lowercase()));
    let rows = db.fetch_all(&page, args![&viewer, &owner, &text, q.limit, q.offset]).await?;
    let total = db.fetch_one(&count, args![viewer, owner, text]).await?;
    Ok((rows, total))
}

pub struct VideoPatch<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    pub thumbnail: Option<(&'a str, &'a str)>,
}

/// Updates the fields given; the updated row, or `None` when the video is gone.
pub async fn update_video(db: &Db, id: &str, patch: VideoPatch<'_>, now: i64) -> DbResult<Option<VideoRow>> {
    const SQL: &str = "UPDATE videos SET title = COALESCE($2, title), description = COALESCE($3, description), \
           thumbnail = COALESCE($4, thumbnail), thumbnail_media_id = COALESCE($5, thumbnail_media_id), updated_at = $6 \
         WHERE id = $1 RETURNING id, owner_id, title, description, video_file, video_media_id, thumbnail, \
           thumbnail_media_id, duration_ms, views, is_published, created_at, updated_at";
    let (thumbnail, thumbnail_id) = patch.thumbnail.unzip();
    db.write_fetch_optional(SQL, args![id, patch.title, patch.description, thumbnail, thumbnail_id, now]).await
}

/// Flips `is_published`; the new value, or `None` when the video is gone.
pub async fn toggle_published(db: &Db, id: &str, now: i64) -> DbResult<Option<bool>> {
    const SQL: &str =
        "UPDATE videos SET is_published = NOT is_published, updated_at = $2 WHERE id = $1 RETURNING is_published";
    db.write_fetch_optional(SQL, args![id, now]).await
}

/// Deletes a video (its views and history entries go with it); false when it was gone.
pub async fn delete_video(db: &Db, id: &str) -> DbResult<bool> {
    Ok(db.execute("DELETE FROM videos WHERE id = $1", args![id]).await? == 1)
}

/// Counts a view by `viewer` unless one was counted in the same window, and moves the video
/// to the top of the viewer's history; the video's view count afterwards.
pub async fn record_view(db: &Db, video: &str, viewer: &UserId, window_start: i64, now: i64) -> DbResult<i64> {
    const VIEW: &str = "INSERT INTO video_views (video_id, viewer_id, window_start) VALUES ($1, $2, $3) \
                        ON CONFLICT (video_id, viewer_id, window_start) DO NOTHING";
    const BUMP: &str = "UPDATE videos SET views = views + 1 WHERE id = $1";
    const HISTORY: &str = "INSERT INTO watch_history (user_id, video_id, watched_at) VALUES ($2, $1, $3) \
                           ON CONFLICT (user_id, video_id) DO UPDATE SET watched_at = $3";
    const VIEWS: &str = "SELECT views FROM videos WHERE id = $1";
    let (video, viewer) = (video.to_string(), viewer.to_string());
    db.transaction((video, viewer), move |tx, (video, viewer)| {
        Box::pin(async move {
            if tx.execute(VIEW, args![video, viewer, window_start]).await? == 1 {
                tx.execute(BUMP, args![video]).await?;
            }
            tx.execute(HISTORY, args![video, viewer, now]).await?;
            tx.fetch_one(VIEWS, args![video]).await
        })
    })
    .await
}

/// A user's watch history, newest first, with each video's owner (published videos and
/// the user's own).
pub async fn watch_history(db: &Db, user: &UserId, limit: i64) -> DbResult<Vec<(VideoRow, UserRow)>> {
    let sql = format!(
        "SELECT {COLUMNS}, u.id, u.email, u.username, u.full_name, u.password_hash, u.profile_pic, u.role, \
                u.user_type, u.deleted_at, u.created_at, u.updated_at, u.cover_image \
         FROM watch_history h JOIN videos v ON v.id = h.video_id JOIN users u ON u.id = v.owner_id \
         WHERE h.user_id = $1 AND (v.is_published OR v.owner_id = $1) ORDER BY h.watched_at DESC LIMIT $2"
    );
    let rows: Vec<WithOwner> = db.fetch_all(&sql, args![user.to_string(), limit]).await?;
    Ok(rows.into_iter().map(|r| (r.video, r.owner)).collect())
}

struct WithOwner {
    video: VideoRow,
    owner: UserRow,
}

impl super::sql::Row for WithOwner {
    fn read(c: &mut impl super::sql::Cursor) -> DbResult<Self> {
        Ok(Self { video: VideoRow::read(c)?, owner: UserRow::read(c)? })
    }
}
