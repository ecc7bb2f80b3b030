//! Playlists of the video-platform surface. Who may do what: any signed-in user reads any
//! playlist (showing only the videos they can see); only its owner renames, deletes, or
//! adds and removes videos (403 to others), and only videos the owner can see.

use crate::auth::AuthUser;
use crate::db::playlists::{self, PlaylistRow};
use crate::db::videos::VideoRow;
use crate::domain::{PostId, UserId, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::services::videos;
use crate::startup::AppState;

fn playlist_not_found() -> ApiError {
    ApiError::NotFound("Playlist not found".into())
}

pub async fn create(state: &AppState, caller: &AuthUser, name: &str, description: &str) -> ApiResult<PlaylistRow> {
    let now = now_ms();
    let row = PlaylistRow {
        id: PostId::new().to_string(),
        owner_id: caller.id.to_string(),
        name: name.to_string(),
        description: description.to_string(),
        created_at: now,
        updated_at: now,
        video_count: 0,
    };
    playlists::insert_playlist(&state.db, &row).await?;
    Ok(row)
}

/// A playlist with the videos the caller can see.
pub async fn get(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<(PlaylistRow, Vec<VideoRow>)> {
    let playlist = playlists::find_playlist(&state.db, id).await?.ok_or_else(playlist_not_found)?;
    let videos = playlists::playlist_videos(&state.db, id, &caller.id).await?;
    Ok((playlist, videos))
}

/// A page of a user's playlists, and how many.
pub async fn of_user(state: &AppState, user: &UserId, offset: u64, limit: u32) -> ApiResult<(Vec<PlaylistRow>, i64)> {
    crate::services::users::get(state, user).await?;
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    Ok(playlists::list_playlists(&state.db, user, offset, i64::from(limit)).await?)
}

async fn owned(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<PlaylistRow> {
    let playlist = playlists::find_playlist(&state.db, id).await?.ok_or_else(playlist_not_found)?;
    if playlist.owner_id != caller.id.to_string() {
        return Err(ApiError::Forbidden("Only the playlist's owner can change it".into()));
    }
    Ok(playlist)
}

pub async fn update(
    state: &AppState,
    caller: &AuthUser,
    id: &str,
    name: Option<&str>,
    description: Option<&str>,
) -> ApiResult<PlaylistRow> {
    owned(state, caller, id).await?;
    playlists::update_playlist(&state.db, id, name, description, now_ms()).await?;
    playlists::find_playlist(&state.db, id).await?.ok_or_else(playlist_not_found)
}

pub async fn delete(state: &AppState, caller: &AuthUser, id: &str) -> ApiResult<()> {
    owned(state, caller, id).await?;
    Ok(playlists::delete_playlist(&state.db, id).await?)
}

/// Adds a video the owner can see, or removes one; the playlist afterwards.
pub async fn change_video(
    state: &AppState,
    caller: &AuthUser,
    id: &str,
    video: &str,
    add: bool,
) -> ApiResult<PlaylistRow> {
    owned(state, caller, id).await?;
    if add {
        videos::visible(state, caller, video).await?;
        playlists::add_video(&state.db, id, video, now_ms()).await?;
    } else {
        playlists::remove_video(&state.db, id, video).await?;
    }
    playlists::find_playlist(&state.db, id).await?.ok_or_else(playlist_not_found)
}
