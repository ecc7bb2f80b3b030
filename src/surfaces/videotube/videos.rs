//! `/api/v1/videos` and the watch history (`/api/v1/users/history`).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::envelope::{Answer, ErrorEnvelope, PageQuery, Paginated, VideotubeResult};
use super::{TAG, Viewer, path_id};
use crate::db::users::UserRow;
use crate::db::videos::{VideoQuery, VideoRow};
use crate::domain::{UserId, VideoId};
use crate::error::{ApiError, FieldErrors};
use crate::http::openapi::ApiRoutes;
use crate::http::uploads;
use crate::services::media::{self, Accept, StoredMedia, Visibility};
use crate::services::videos;
use crate::startup::AppState;
use crate::views::rfc3339;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(videotube_list_videos, videotube_publish_video))
        .routes(routes!(videotube_get_video, videotube_update_video, videotube_delete_video))
        .routes(routes!(videotube_toggle_publish))
        .routes(routes!(videotube_watch_history))
}

/// A video's owner as a video shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VideotubeOwner)]
struct OwnerDoc {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    full_name: String,
    avatar: String,
}

impl From<UserRow> for OwnerDoc {
    fn from(row: UserRow) -> Self {
        let user = super::UserDoc::from(row);
        Self { id: user.id, username: user.username, full_name: user.full_name, avatar: user.avatar }
    }
}

/// A video. `owner` is the owner's id in lists and the owner itself on a single video.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VideotubeVideo)]
pub(super) struct VideoDoc {
    #[serde(rename = "_id")]
    id: String,
    /// The file's URL (`/uploads/…`, streamed with `Range` support).
    video_file: String,
    thumbnail: String,
    title: String,
    description: String,
    /// Seconds, read from the file's container.
    duration: f64,
    views: i64,
    is_published: bool,
    /// Its owner's id, or the owner `{_id, username, fullName, avatar}` where a route says so.
    owner: serde_json::Value,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// A single video only: how many like it.
    #[serde(skip_serializing_if = "Option::is_none")]
    likes_count: Option<i64>,
    /// A single video only: whether the caller likes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    is_liked: Option<bool>,
}

impl VideoDoc {
    fn new(v: VideoRow, owner: serde_json::Value) -> Self {
        Self {
            id: v.id,
            video_file: v.video_file,
            thumbnail: v.thumbnail,
            title: v.title,
            description: v.description,
            duration: v.duration_ms as f64 / 1000.0,
            views: v.views,
            is_published: v.is_published,
            owner,
            created_at: rfc3339(v.created_at),
            updated_at: rfc3339(v.updated_at),
            likes_count: None,
            is_liked: None,
        }
    }

    pub(super) fn listed(v: VideoRow) -> Self {
        let owner = serde_json::Value::String(v.owner_id.clone());
        Self::new(v, owner)
    }

    fn with_owner(v: VideoRow, owner: UserRow) -> Self {
        Self::new(v, serde_json::to_value(OwnerDoc::from(owner)).unwrap_or_default())
    }
}

/// The list's query: paging, `query` (title or description), `sortBy` (`createdAt`,
/// `views`, `duration`, `title`), `sortType` (`asc`/`desc`, default `desc`), `userId`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct VideoListQuery {
    /// 1-based page number (default 1).
    page: Option<String>,
    /// Videos per page, 1–100 (default 10).
    limit: Option<String>,
    /// Words to find in the title or the description.
    query: Option<String>,
    sort_by: Option<String>,
    sort_type: Option<String>,
    user_id: Option<String>,
}

/// Published videos (and the caller's own unpublished ones), paged.
#[utoipa::path(
    get,
    path = "/api/v1/videos",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(VideoListQuery),
    responses(
        (status = 200, description = "`data`: a page (`docs`, `totalDocs`, `page`, …) of videos"),
        (status = 400, description = "A bad `page`, `limit`, `sortBy`, `sortType` or `userId`", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
    )
)]
async fn videotube_list_videos(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Query(q): Query<VideoListQuery>,
) -> VideotubeResult<impl IntoResponse> {
    let paging = PageQuery::new(q.page.clone(), q.limit.clone()).parse()?;
    let mut errors = FieldErrors::new();
    let sort_column = match q.sort_by.as_deref().unwrap_or("createdAt") {
        "createdAt" => "created_at",
        "views" => "views",
        "duration" => "duration_ms",
        "title" => "title",
        _ => {
            errors.add("sortBy", "invalid", "sortBy must be createdAt, views, duration or title");
            "created_at"
        }
    };
    let descending = match q.sort_type.as_deref().unwrap_or("desc") {
        "desc" | "-1" => true,
        "asc" | "1" => false,
        _ => {
            errors.add("sortType", "invalid", "sortType must be asc or desc");
            true
        }
    };
    let owner = match q.user_id.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => UserId::parse(raw).or_else(|| {
            errors.add("userId", "invalid", "userId is not a valid id");
            None
        }),
    };
    errors.into_result()?;
    let text = q.query.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let query = VideoQuery {
        viewer: &caller.id,
        owner: owner.as_ref(),
        text,
        sort_column,
        descending,
        offset: i64::try_from(paging.offset()).unwrap_or(i64::MAX),
        limit: i64::from(paging.limit),
    };
    let (rows, total) = videos::list(&state, query).await?;
    let page = Paginated::new(rows.into_iter().map(VideoDoc::listed).collect(), total, paging);
    Ok(Answer(StatusCode::OK, page, "Videos fetched successfully"))
}

/// The multipart form of a video upload.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // only read by the schema derive
struct PublishForm {
    title: String,
    description: String,
    /// A video (MP4, QuickTime, WebM, Matroska), sniffed from its bytes, up to `MAX_VIDEO_BYTES`.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    video_file: (),
    /// An image, up to `MAX_IMAGE_BYTES`.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    thumbnail: (),
}

/// The fields of a video form, files stored as they arrive.
#[derive(Default)]
struct VideoForm {
    text: HashMap<&'static str, String>,
    video: Option<StoredMedia>,
    thumbnail: Option<StoredMedia>,
}

impl VideoForm {
    async fn read(
        &mut self,
        state: &AppState,
        caller: &UserId,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<(), ApiError> {
        let mut form = uploads::multipart(headers, body, state.media.max_upload_bytes())?;
        while let Some(field) = form.next_field().await.map_err(|e| uploads::multipart_error(e).for_field("form"))? {
            let (accept, slot, name) = match field.name() {
                Some("videoFile") if self.video.is_none() => (Accept::Videos, &mut self.video, "videoFile"),
                Some("thumbnail") if self.thumbnail.is_none() => (Accept::Images, &mut self.thumbnail, "thumbnail"),
                Some(name) => {
                    if let Some(key) = ["title", "description"].into_iter().find(|k| *k == name) {
                        let text = field.text().await.map_err(|e| uploads::multipart_error(e).for_field(key))?;
                        self.text.insert(key, text);
                    }
                    continue;
                }
                None => continue,
            };
            let stored =
                media::store_stream(state, Some(caller), accept, Visibility::Public, uploads::field_stream(field))
                    .await
                    .map_err(|e| e.for_field(name))?;
            *slot = Some(stored);
        }
        Ok(())
    }

    /// Title, description, file and thumbnail, all required.
    fn checked(&self) -> Result<(String, String, &StoredMedia, &StoredMedia), ApiError> {
        let mut errors = FieldErrors::new();
        let title = self.field("title", 200, true, &mut errors);
        let description = self.field("description", 5000, true, &mut errors);
        if self.video.is_none() {
            errors.add("videoFile", "required", "Video file is required");
        }
        if self.thumbnail.is_none() {
            errors.add("thumbnail", "required", "Thumbnail is required");
        }
        match (title, description, &self.video, &self.thumbnail) {
            (Some(t), Some(d), Some(v), Some(th)) if errors.is_empty() => Ok((t, d, v, th)),
            _ => Err(ApiError::Validation(errors)),
        }
    }

    fn stored(&self) -> Vec<&StoredMedia> {
        self.video.iter().chain(self.thumbnail.iter()).collect()
    }

    /// A text field, trimmed; `required` fields must be there and not blank.
    fn field(&self, key: &str, max: usize, required: bool, errors: &mut FieldErrors) -> Option<String> {
        let value = self.text.get(key).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        match &value {
            None if required => errors.add(key, "required", format!("`{key}` is required")),
            Some(v) if v.chars().count() > max => {
                errors.add(key, "too_long", format!("`{key}` is at most {max} characters"))
            }
            _ => {}
        }
        value.filter(|v| v.chars().count() <= max)
    }
}

/// Uploads and publishes a video: multipart `title`, `description`, `videoFile` (streamed
/// to storage; its duration read from its container) and `thumbnail`.
#[utoipa::path(
    post,
    path = "/api/v1/videos",
    tag = TAG,
    security(("bearerAuth" = [])),
    request_body(content = PublishForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "`data`: the video", body = VideoDoc),
        (status = 400, description = "A missing field or file, a `videoFile` that is not a video (or has no readable duration), a `thumbnail` that is not an image", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 413, description = "A file over its limit (nothing is kept)", body = ErrorEnvelope),
        (status = 415, description = "Not multipart/form-data", body = ErrorEnvelope),
        (status = 503, description = "File storage is unavailable", body = ErrorEnvelope),
    )
)]
async fn videotube_publish_video(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    headers: HeaderMap,
    body: Body,
) -> VideotubeResult<impl IntoResponse> {
    let mut form = VideoForm::default();
    let read = form.read(&state, &caller.id, &headers, body).await;
    let checked = read.and_then(|()| form.checked());
    let (title, description, video, thumbnail) = match checked {
        Ok(fields) => fields,
        Err(e) => {
            media::discard(&state, &form.stored()).await;
            return Err(e.into());
        }
    };
    let row = videos::publish(&state, &caller, &title, &description, video, thumbnail).await?;
    Ok(Answer(
        StatusCode::CREATED,
        VideoDoc::with_owner(row, std::sync::Arc::unwrap_or_clone(caller.user)),
        "Video published successfully",
    ))
}

/// A video, with its owner; counts the caller's view (once per viewer every 6 hours) and
/// puts it first in the caller's watch history. Unpublished: only its owner sees it.
#[utoipa::path(
    get,
    path = "/api/v1/videos/{videoId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("videoId" = String, Path, description = "The video's id")),
    responses(
        (status = 200, description = "`data`: the video with its `owner`", body = VideoDoc),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such video, or someone else's unpublished one", body = ErrorEnvelope),
    )
)]
async fn videotube_get_video(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    let watched = videos::watch(&state, &caller, &path_id(&raw, "videoId", VideoId::parse)?.to_string()).await?;
    let mut doc = VideoDoc::with_owner(watched.video, watched.owner);
    doc.likes_count = Some(watched.likes);
    doc.is_liked = Some(watched.liked);
    Ok(Answer(StatusCode::OK, doc, "Video fetched successfully"))
}

/// Changes a video's `title`, `description` and/or `thumbnail` (multipart, as the
/// tutorial's clients send it): its owner only.
#[utoipa::path(
    patch,
    path = "/api/v1/videos/{videoId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("videoId" = String, Path, description = "The video's id")),
    request_body(content = String, content_type = "multipart/form-data", description = "Optional `title`, `description`, file `thumbnail`; at least one"),
    responses(
        (status = 200, description = "`data`: the video", body = VideoDoc),
        (status = 400, description = "Nothing to change, a too-long field, a thumbnail that is not an image", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not the video's owner", body = ErrorEnvelope),
        (status = 404, description = "No such video", body = ErrorEnvelope),
        (status = 413, description = "A thumbnail over `MAX_IMAGE_BYTES`", body = ErrorEnvelope),
        (status = 415, description = "Not multipart/form-data", body = ErrorEnvelope),
    )
)]
async fn videotube_update_video(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> VideotubeResult<impl IntoResponse> {
    let id = path_id(&raw, "videoId", VideoId::parse)?.to_string();
    let mut form = VideoForm::default();
    let read = form.read(&state, &caller.id, &headers, body).await;
    let mut errors = FieldErrors::new();
    let title = form.field("title", 200, false, &mut errors);
    let description = form.field("description", 5000, false, &mut errors);
    if form.video.is_some() {
        errors.add("videoFile", "not_allowed", "A video's file cannot be replaced: upload a new video");
    }
    if errors.is_empty() && title.is_none() && description.is_none() && form.thumbnail.is_none() {
        errors.add("title", "required", "Send a title, a description or a thumbnail");
    }
    if let Err(e) = read.and_then(|()| errors.into_result()) {
        media::discard(&state, &form.stored()).await;
        return Err(e.into());
    }
    let video =
        videos::update(&state, &caller, &id, title.as_deref(), description.as_deref(), form.thumbnail.as_ref()).await?;
    Ok(Answer(StatusCode::OK, VideoDoc::listed(video), "Video updated successfully"))
}

/// Deletes a video and its files: its owner only.
#[utoipa::path(
    delete,
    path = "/api/v1/videos/{videoId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("videoId" = String, Path, description = "The video's id")),
    responses(
        (status = 200, description = "`data: {}`"),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not the video's owner", body = ErrorEnvelope),
        (status = 404, description = "No such video", body = ErrorEnvelope),
    )
)]
async fn videotube_delete_video(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    videos::delete(&state, &caller, &path_id(&raw, "videoId", VideoId::parse)?.to_string()).await?;
    Ok(Answer(StatusCode::OK, serde_json::json!({}), "Video deleted successfully"))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Published {
    is_published: bool,
}

/// Publishes or unpublishes a video: its owner only.
#[utoipa::path(
    patch,
    path = "/api/v1/videos/toggle/publish/{videoId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("videoId" = String, Path, description = "The video's id")),
    responses(
        (status = 200, description = "`data: {isPublished}`", body = Published),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not the video's owner", body = ErrorEnvelope),
        (status = 404, description = "No such video", body = ErrorEnvelope),
    )
)]
async fn videotube_toggle_publish(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    let is_published =
        videos::toggle_publish(&state, &caller, &path_id(&raw, "videoId", VideoId::parse)?.to_string()).await?;
    Ok(Answer(StatusCode::OK, Published { is_published }, "Publish status toggled successfully"))
}

/// The caller's watch history, newest first (at most 100), each video with its owner.
#[utoipa::path(
    get,
    path = "/api/v1/users/history",
    tag = TAG,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "`data`: videos, newest watched first", body = [VideoDoc]),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
    )
)]
async fn videotube_watch_history(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
) -> VideotubeResult<impl IntoResponse> {
    let watched = videos::history(&state, &caller).await?;
    let docs: Vec<VideoDoc> = watched.into_iter().map(|(v, owner)| VideoDoc::with_owner(v, owner)).collect();
    Ok(Answer(StatusCode::OK, docs, "Watch history fetched successfully"))
}
