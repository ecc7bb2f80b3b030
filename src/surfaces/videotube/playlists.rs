//! `/api/v1/playlist` and `/api/v1/dashboard`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::envelope::{Answer, ErrorEnvelope, PageQuery, Paginated, VideotubeResult, VtJson};
use super::videos::VideoDoc;
use super::{TAG, Viewer, path_id};
use crate::db::playlists::PlaylistRow;
use crate::db::videos::{VideoQuery, VideoRow};
use crate::domain::{PostId, UserId, VideoId};
use crate::error::{ApiError, FieldErrors};
use crate::http::openapi::ApiRoutes;
use crate::services::{channels, playlists, videos};
use crate::startup::AppState;
use crate::views::rfc3339;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(videotube_create_playlist))
        .routes(routes!(videotube_get_playlist, videotube_update_playlist, videotube_delete_playlist))
        .routes(routes!(videotube_add_to_playlist))
        .routes(routes!(videotube_remove_from_playlist))
        .routes(routes!(videotube_user_playlists))
        .routes(routes!(videotube_dashboard_stats))
        .routes(routes!(videotube_dashboard_videos))
}

/// A playlist; `videos` (the ones the caller can see) on a single playlist only.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VideotubePlaylist)]
struct PlaylistDoc {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    description: String,
    /// The owner's id.
    owner: String,
    total_videos: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<VideoDoc>>)]
    videos: Option<Vec<VideoDoc>>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl PlaylistDoc {
    fn new(p: PlaylistRow, videos: Option<Vec<VideoRow>>) -> Self {
        Self {
            id: p.id,
            name: p.name,
            description: p.description,
            owner: p.owner_id,
            total_videos: p.video_count,
            videos: videos.map(|v| v.into_iter().map(VideoDoc::listed).collect()),
            created_at: rfc3339(p.created_at),
            updated_at: rfc3339(p.updated_at),
        }
    }
}

/// `{name, description}`.
#[derive(Debug, Deserialize, ToSchema)]
struct PlaylistRequest {
    #[schema(value_type = String)]
    name: Option<String>,
    #[schema(value_type = String)]
    description: Option<String>,
}

/// A trimmed text field of at most `max` characters; `required` ones must not be blank.
fn text(value: Option<&str>, key: &str, max: usize, required: bool, errors: &mut FieldErrors) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    match value {
        None if required => errors.add(key, "required", format!("`{key}` is required")),
        Some(v) if v.chars().count() > max => {
            errors.add(key, "too_long", format!("`{key}` is at most {max} characters"))
        }
        _ => {}
    }
    value.filter(|v| v.chars().count() <= max).map(str::to_string)
}

/// Creates a playlist of the caller's.
#[utoipa::path(
    post,
    path = "/api/v1/playlist",
    tag = TAG,
    security(("bearerAuth" = [])),
    request_body = PlaylistRequest,
    responses(
        (status = 201, description = "`data`: the playlist", body = PlaylistDoc),
        (status = 400, description = "No `name`, too-long fields, malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body not `application/json`", body = ErrorEnvelope),
    )
)]
async fn videotube_create_playlist(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    VtJson(body): VtJson<PlaylistRequest>,
) -> VideotubeResult<impl IntoResponse> {
    let mut errors = FieldErrors::new();
    let name = text(body.name.as_deref(), "name", 200, true, &mut errors);
    let description = text(body.description.as_deref(), "description", 5000, false, &mut errors);
    errors.into_result()?;
    let name = name.ok_or_else(|| FieldErrors::single("name", "required", "`name` is required"))?;
    let playlist = playlists::create(&state, &caller, &name, description.as_deref().unwrap_or("")).await?;
    Ok(Answer(StatusCode::CREATED, PlaylistDoc::new(playlist, None), "Playlist created successfully"))
}

/// A playlist, with the videos the caller can see in it.
#[utoipa::path(
    get,
    path = "/api/v1/playlist/{playlistId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("playlistId" = String, Path, description = "The playlist's id")),
    responses(
        (status = 200, description = "`data`: the playlist and its `videos`", body = PlaylistDoc),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such playlist", body = ErrorEnvelope),
    )
)]
async fn videotube_get_playlist(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    let id = path_id(&raw, "playlistId", PostId::parse)?.to_string();
    let (playlist, videos) = playlists::get(&state, &caller, &id).await?;
    Ok(Answer(StatusCode::OK, PlaylistDoc::new(playlist, Some(videos)), "Playlist fetched successfully"))
}

/// Renames a playlist or changes its description: its owner only.
#[utoipa::path(
    patch,
    path = "/api/v1/playlist/{playlistId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("playlistId" = String, Path, description = "The playlist's id")),
    request_body = PlaylistRequest,
    responses(
        (status = 200, description = "`data`: the playlist", body = PlaylistDoc),
        (status = 400, description = "Nothing to change, too-long fields, a malformed id or JSON", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not its owner", body = ErrorEnvelope),
        (status = 404, description = "No such playlist", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body not `application/json`", body = ErrorEnvelope),
    )
)]
async fn videotube_update_playlist(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    VtJson(body): VtJson<PlaylistRequest>,
) -> VideotubeResult<impl IntoResponse> {
    let id = path_id(&raw, "playlistId", PostId::parse)?.to_string();
    let mut errors = FieldErrors::new();
    let name = text(body.name.as_deref(), "name", 200, false, &mut errors);
    let description = text(body.description.as_deref(), "description", 5000, false, &mut errors);
    if errors.is_empty() && name.is_none() && description.is_none() {
        errors.add("name", "required", "Send a name or a description");
    }
    errors.into_result()?;
    let playlist = playlists::update(&state, &caller, &id, name.as_deref(), description.as_deref()).await?;
    Ok(Answer(StatusCode::OK, PlaylistDoc::new(playlist, None), "Playlist updated successfully"))
}

/// Deletes a playlist (not its videos): its owner only.
#[utoipa::path(
    delete,
    path = "/api/v1/playlist/{playlistId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("playlistId" = String, Path, description = "The playlist's id")),
    responses(
        (status = 200, description = "`data: {}`"),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not its owner", body = ErrorEnvelope),
        (status = 404, description = "No such playlist", body = ErrorEnvelope),
    )
)]
async fn videotube_delete_playlist(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    let id = path_id(&raw, "playlistId", PostId::parse)?.to_string();
    playlists::delete(&state, &caller, &id).await?;
    Ok(Answer(StatusCode::OK, serde_json::json!({}), "Playlist deleted successfully"))
}

async fn change(
    state: &AppState,
    caller: &crate::auth::AuthUser,
    video: &str,
    playlist: &str,
    add: bool,
) -> Result<PlaylistDoc, ApiError> {
    let video = path_id(video, "videoId", VideoId::parse)?.to_string();
    let playlist = path_id(playlist, "playlistId", PostId::parse)?.to_string();
    Ok(PlaylistDoc::new(playlists::change_video(state, caller, &playlist, &video, add).await?, None))
}

/// Adds a video to a playlist (once): the playlist's owner only, a video they can see.
#[utoipa::path(
    patch,
    path = "/api/v1/playlist/add/{videoId}/{playlistId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(
        ("videoId" = String, Path, description = "The video's id"),
        ("playlistId" = String, Path, description = "The playlist's id"),
    ),
    responses(
        (status = 200, description = "`data`: the playlist", body = PlaylistDoc),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not the playlist's owner", body = ErrorEnvelope),
        (status = 404, description = "No such playlist or video", body = ErrorEnvelope),
    )
)]
async fn videotube_add_to_playlist(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path((video, playlist)): Path<(String, String)>,
) -> VideotubeResult<impl IntoResponse> {
    let doc = change(&state, &caller, &video, &playlist, true).await?;
    Ok(Answer(StatusCode::OK, doc, "Video added to playlist"))
}

/// Removes a video from a playlist: the playlist's owner only.
#[utoipa::path(
    patch,
    path = "/api/v1/playlist/remove/{videoId}/{playlistId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(
        ("videoId" = String, Path, description = "The video's id"),
        ("playlistId" = String, Path, description = "The playlist's id"),
    ),
    responses(
        (status = 200, description = "`data`: the playlist", body = PlaylistDoc),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not the playlist's owner", body = ErrorEnvelope),
        (status = 404, description = "No such playlist", body = ErrorEnvelope),
    )
)]
async fn videotube_remove_from_playlist(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path((video, playlist)): Path<(String, String)>,
) -> VideotubeResult<impl IntoResponse> {
    let doc = change(&state, &caller, &video, &playlist, false).await?;
    Ok(Answer(StatusCode::OK, doc, "Video removed from playlist"))
}

/// A user's playlists, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/playlist/user/{userId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("userId" = String, Path, description = "The user's id"), PageQuery),
    responses(
        (status = 200, description = "`data`: a page (`docs`, `totalDocs`, `page`, …) of playlists"),
        (status = 400, description = "A malformed id, `page` or `limit`", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such user", body = ErrorEnvelope),
    )
)]
async fn videotube_user_playlists(
    State(state): State<AppState>,
    _viewer: Viewer,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> VideotubeResult<impl IntoResponse> {
    let user =
        UserId::parse(&raw).ok_or_else(|| FieldErrors::single("userId", "invalid", "`userId` is not a valid id"))?;
    let paging = query.parse()?;
    let (rows, total) = playlists::of_user(&state, &user, paging.offset(), paging.limit).await?;
    let page = Paginated::new(rows.into_iter().map(|p| PlaylistDoc::new(p, None)).collect(), total, paging);
    Ok(Answer(StatusCode::OK, page, "Playlists fetched successfully"))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Stats {
    total_videos: i64,
    total_views: i64,
    total_subscribers: i64,
    total_likes: i64,
}

/// The caller's channel totals: videos, views, subscribers, and likes on its videos.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard/stats",
    tag = TAG,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "`data: {totalVideos, totalViews, totalSubscribers, totalLikes}`", body = Stats),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
    )
)]
async fn videotube_dashboard_stats(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
) -> VideotubeResult<impl IntoResponse> {
    let (total_videos, total_views, total_subscribers, total_likes) = channels::stats(&state, &caller).await?;
    let stats = Stats { total_videos, total_views, total_subscribers, total_likes };
    Ok(Answer(StatusCode::OK, stats, "Channel stats fetched successfully"))
}

/// The caller's videos, published or not, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/dashboard/videos",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "`data`: a page (`docs`, `totalDocs`, `page`, …) of videos"),
        (status = 400, description = "A bad `page` or `limit`", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
    )
)]
async fn videotube_dashboard_videos(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Query(query): Query<PageQuery>,
) -> VideotubeResult<impl IntoResponse> {
    let paging = query.parse()?;
    let query = VideoQuery {
        viewer: &caller.id,
        owner: Some(&caller.id),
        text: None,
        sort_column: "created_at",
        descending: true,
        offset: i64::try_from(paging.offset()).unwrap_or(i64::MAX),
        limit: i64::from(paging.limit),
    };
    let (rows, total) = videos::list(&state, query).await?;
    let page = Paginated::new(rows.into_iter().map(VideoDoc::listed).collect(), total, paging);
    Ok(Answer(StatusCode::OK, page, "Channel videos fetched successfully"))
}
