//! Videos of the video-platform surface. Who may do what: any signed-in user lists and
//! watches published videos; an unpublished video exists only for its owner (404 to
//! everyone else); only the owner changes, publishes or deletes a video (403 to others).

use crate::auth::AuthUser;
use crate::db::users::UserRow;
use crate::db::videos::{self, VideoPatch, VideoQuery, VideoRow};
use crate::domain::{UserId, VideoId, now_ms};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::media::{self, StoredMedia};
use crate::startup::AppState;

/// A view counts once per viewer per this window.
pub const VIEW_WINDOW_MS: i64 = 6 * 3600 * 1000;

fn video_not_found() -> ApiError {
    ApiError::NotFound("Video not found".into())
}

fn not_owner() -> ApiError {
    ApiError::Forbidden("Only the video's owner can do this".into())
}

/// Publishes a video whose file and thumbnail were just stored: its duration is read from
/// the file's container; a file without one is refused and both files deleted.
pub async fn publish(
    state: &AppState,
    caller: &AuthUser,
    title: &str,
    description: &str,
    file: &StoredMedia,
    thumbnail: &StoredMedia,
) -> ApiResult<VideoRow> {
    let Some(duration_ms) = media::video_duration_ms(state, file).await else {
        media::discard(state, &[file, thumbnail]).await;
        return Err(ApiError::BadRequest(
            ErrorCode::InvalidMedia,
            "`videoFile` has no readable duration: send an MP4, QuickTime, WebM or Matroska video".into(),
        ));
    };
    let now = now_ms();
    let row = VideoRow {
        id: VideoId::new().to_string(),
        owner_id: caller.id.to_string(),
        title: title.to_string(),
        description: description.to_string(),
        video_file: file.url.clone(),
        video_media_id: file.id.to_string(),
        thumbnail: thumbnail.url.clone(),
        thumbnail_media_id: thumbnail.id.to_string(),
        duration_ms,
        views: 0,
        is_published: true,
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = videos::insert_video(&state.db, &row).await {
        media::discard(state, &[file, thumbnail]).await;
        return Err(e.into());
    }
    Ok(row)
}

/// A page of videos the caller may see, and how many there are.
pub async fn list(state: &AppState, query: VideoQuery<'_>) -> ApiResult<(Vec<VideoRow>, i64)> {
    Ok(videos::list_videos(&state.db, &query).await?)
}

/// A video the caller may see (published, or their own).
pub(crate) async fn visible(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<VideoRow> {
    let video = videos::find_video(&state.db, id).await?.ok_or_else(video_not_found)?;
    if video.is_published || video.owner_id == caller.id.to_string() { Ok(video) } else { Err(video_not_found()) }
}

/// A video the caller owns (404 if they cannot see it, 403 if it is someone else's).
async fn owned(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<VideoRow> {
    let video = visible(state, caller, id).await?;
    if video.owner_id == caller.id.to_string() { Ok(video) } else { Err(not_owner()) }
}

/// A watched video: with its owner, its like count and whether the viewer likes it.
pub struct Watched {
    pub video: VideoRow,
    pub owner: UserRow,
    pub likes: i64,
    pub liked: bool,
}

/// Watches a video: counts the caller's view (once per `VIEW_WINDOW_MS`), puts it first in
/// their history, and returns it with its owner and likes.
pub async fn watch(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<Watched> {
    let mut video = visible(state, caller, id).await?;
    let now = now_ms();
    video.views = videos::record_view(&state.db, &video.id, &caller.id, now - now % VIEW_WINDOW_MS, now).await?;
    let owner_id = UserId::parse(&video.owner_id).ok_or_else(|| anyhow::anyhow!("stored owner id is not a UUID"))?;
    let owner = crate::db::users::find_user(&state.db, &owner_id).await?.ok_or_else(video_not_found)?;
    let (likes, liked) = crate::db::community::video_likes(&state.db, &video.id, &caller.id).await?;
    Ok(Watched { video, owner, likes, liked })
}

/// Changes title, description and/or thumbnail: the owner only. A replaced thumbnail's
/// file is deleted; a new one is deleted if the update is refused.
pub async fn update(
    state: &AppState,
    caller: &AuthUser,
    id: &str,
    title: Option<&str>,
    description: Option<&str>,
    thumbnail: Option<&StoredMedia>,
) -> ApiResult<VideoRow> {
    let video = match owned(state, caller, id).await {
        Ok(video) => video,
        Err(e) => {
            media::discard(state, &thumbnail.into_iter().collect::<Vec<_>>()).await;
            return Err(e);
        }
    };
    let new_thumbnail = thumbnail.map(|t| (t.url.clone(), t.id.to_string()));
    let patch = VideoPatch {
        title,
        description,
        thumbnail: new_thumbnail.as_ref().map(|(url, id)| (url.as_str(), id.as_str())),
    };
    let updated = videos::update_video(&state.db, id, patch, now_ms()).await?.ok_or_else(video_not_found)?;
    if thumbnail.is_some() {
        media::discard_by_id(state, &video.thumbnail_media_id).await;
    }
    Ok(updated)
}

/// Publishes or unpublishes: the owner only. Returns the new state.
pub async fn toggle_publish(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<bool> {
    owned(state, caller, id).await?;
    videos::toggle_published(&state.db, id, now_ms()).await?.ok_or_else(video_not_found)
}

/// Deletes a video and its files: the owner only.
pub async fn delete(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<()> {
    let video = owned(state, caller, id).await?;
    if videos::delete_video(&state.db, id).await? {
        media::discard_by_id(state, &video.video_media_id).await;
        media::discard_by_id(state, &video.thumbnail_media_id).await;
    }
    Ok(())
}

/// The caller's watch history, newest first (at most 100), with each video's owner.
pub async fn history(state: &AppState, caller: &AuthUser) -> ApiResult<Vec<(VideoRow, UserRow)>> {
    Ok(videos::watch_history(&state.db, &caller.id, 100).await?)
}
