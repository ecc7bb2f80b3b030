//! `/api/v1/comments`, `/api/v1/tweets` and `/api/v1/likes`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::envelope::{Answer, ErrorEnvelope, PageQuery, Paginated, VideotubeResult, VtJson};
use super::videos::VideoDoc;
use super::{TAG, UserDoc, Viewer, path_id};
use crate::db::community::{LikeTarget, PostKind, PostRow, PostWithAuthor};
use crate::db::users::UserRow;
use crate::domain::{PostId, UserId, VideoId};
use crate::error::ApiError;
use crate::http::openapi::ApiRoutes;
use crate::services::community;
use crate::startup::AppState;
use crate::views::rfc3339;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(videotube_list_comments, videotube_add_comment))
        .routes(routes!(videotube_edit_comment, videotube_delete_comment))
        .routes(routes!(videotube_create_tweet))
        .routes(routes!(videotube_user_tweets))
        .routes(routes!(videotube_edit_tweet, videotube_delete_tweet))
        .routes(routes!(videotube_like_video))
        .routes(routes!(videotube_like_comment))
        .routes(routes!(videotube_like_tweet))
        .routes(routes!(videotube_liked_videos))
}

/// A comment or a tweet.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VideotubePost)]
struct PostDoc {
    #[serde(rename = "_id")]
    id: String,
    content: String,
    /// Comments only: the video.
    #[serde(skip_serializing_if = "Option::is_none")]
    video: Option<String>,
    /// The author: its id, or in lists `{_id, username, fullName, avatar}`.
    owner: serde_json::Value,
    /// In lists: how many like it, and whether the caller does.
    #[serde(skip_serializing_if = "Option::is_none")]
    likes_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_liked: Option<bool>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl PostDoc {
    fn new(kind: PostKind, post: PostRow) -> Self {
        Self {
            video: (kind == PostKind::Comment).then(|| post.parent_id.clone()),
            owner: serde_json::Value::String(post.owner_id),
            id: post.id,
            content: post.content,
            likes_count: None,
            is_liked: None,
            created_at: rfc3339(post.created_at),
            updated_at: rfc3339(post.updated_at),
        }
    }

    fn listed(kind: PostKind, p: PostWithAuthor) -> Self {
        let mut doc = Self::new(kind, p.post);
        doc.owner = serde_json::to_value(author(p.author)).unwrap_or_default();
        doc.likes_count = Some(p.likes);
        doc.is_liked = Some(p.liked);
        doc
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Author {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    full_name: String,
    avatar: String,
}

fn author(row: UserRow) -> Author {
    let user = UserDoc::from(row);
    Author { id: user.id, username: user.username, full_name: user.full_name, avatar: user.avatar }
}

/// `{content}`.
#[derive(Debug, Deserialize, ToSchema)]
struct ContentRequest {
    #[schema(value_type = String, required = true)]
    content: Option<String>,
}

async fn list_page(
    state: &AppState,
    caller: &crate::auth::AuthUser,
    kind: PostKind,
    parent: &str,
    query: &PageQuery,
) -> Result<Paginated<PostDoc>, ApiError> {
    let paging = query.parse()?;
    let (rows, total) = community::list(state, caller, kind, parent, paging.offset(), paging.limit).await?;
    Ok(Paginated::new(rows.into_iter().map(|p| PostDoc::listed(kind, p)).collect(), total, paging))
}

/// A video's comments, newest first, each with its author and likes.
#[utoipa::path(
    get,
    path = "/api/v1/comments/{videoId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("videoId" = String, Path, description = "The video's id"), PageQuery),
    responses(
        (status = 200, description = "`data`: a page (`docs`, `totalDocs`, `page`, …) of comments"),
        (status = 400, description = "A malformed id, `page` or `limit`", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such video (or someone else's unpublished one)", body = ErrorEnvelope),
    )
)]
async fn videotube_list_comments(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> VideotubeResult<impl IntoResponse> {
    let video = path_id(&raw, "videoId", VideoId::parse)?.to_string();
    let page = list_page(&state, &caller, PostKind::Comment, &video, &query).await?;
    Ok(Answer(StatusCode::OK, page, "Comments fetched successfully"))
}

/// Comments on a video.
#[utoipa::path(
    post,
    path = "/api/v1/comments/{videoId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("videoId" = String, Path, description = "The video's id")),
    request_body = ContentRequest,
    responses(
        (status = 201, description = "`data`: the comment", body = PostDoc),
        (status = 400, description = "No or too long `content`, a malformed id or JSON", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such video", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body not `application/json`", body = ErrorEnvelope),
    )
)]
async fn videotube_add_comment(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    VtJson(body): VtJson<ContentRequest>,
) -> VideotubeResult<impl IntoResponse> {
    let video = path_id(&raw, "videoId", VideoId::parse)?.to_string();
    let text = community::content(body.content.as_deref())?;
    let comment = community::comment(&state, &caller, &video, &text).await?;
    Ok(Answer(StatusCode::CREATED, PostDoc::new(PostKind::Comment, comment), "Comment added successfully"))
}

async fn edit(
    state: &AppState,
    caller: &crate::auth::AuthUser,
    kind: PostKind,
    raw: &str,
    field: &str,
    body: ContentRequest,
) -> Result<PostDoc, ApiError> {
    let id = path_id(raw, field, PostId::parse)?.to_string();
    let text = community::content(body.content.as_deref())?;
    Ok(PostDoc::new(kind, community::edit(state, caller, kind, &id, &text).await?))
}

/// Edits a comment: its author only.
#[utoipa::path(
    patch,
    path = "/api/v1/comments/c/{commentId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("commentId" = String, Path, description = "The comment's id")),
    request_body = ContentRequest,
    responses(
        (status = 200, description = "`data`: the comment", body = PostDoc),
        (status = 400, description = "No or too long `content`, a malformed id or JSON", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not its author", body = ErrorEnvelope),
        (status = 404, description = "No such comment", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body not `application/json`", body = ErrorEnvelope),
    )
)]
async fn videotube_edit_comment(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    VtJson(body): VtJson<ContentRequest>,
) -> VideotubeResult<impl IntoResponse> {
    let doc = edit(&state, &caller, PostKind::Comment, &raw, "commentId", body).await?;
    Ok(Answer(StatusCode::OK, doc, "Comment updated successfully"))
}

/// Deletes a comment: its author only.
#[utoipa::path(
    delete,
    path = "/api/v1/comments/c/{commentId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("commentId" = String, Path, description = "The comment's id")),
    responses(
        (status = 200, description = "`data: {}`"),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not its author", body = ErrorEnvelope),
        (status = 404, description = "No such comment", body = ErrorEnvelope),
    )
)]
async fn videotube_delete_comment(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    let id = path_id(&raw, "commentId", PostId::parse)?.to_string();
    community::delete(&state, &caller, PostKind::Comment, &id).await?;
    Ok(Answer(StatusCode::OK, serde_json::json!({}), "Comment deleted successfully"))
}

/// Tweets.
#[utoipa::path(
    post,
    path = "/api/v1/tweets",
    tag = TAG,
    security(("bearerAuth" = [])),
    request_body = ContentRequest,
    responses(
        (status = 201, description = "`data`: the tweet", body = PostDoc),
        (status = 400, description = "No or too long `content`, malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body not `application/json`", body = ErrorEnvelope),
    )
)]
async fn videotube_create_tweet(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    VtJson(body): VtJson<ContentRequest>,
) -> VideotubeResult<impl IntoResponse> {
    let text = community::content(body.content.as_deref())?;
    let tweet = community::tweet(&state, &caller, &text).await?;
    Ok(Answer(StatusCode::CREATED, PostDoc::new(PostKind::Tweet, tweet), "Tweet created successfully"))
}

/// A user's tweets, newest first, each with its likes.
#[utoipa::path(
    get,
    path = "/api/v1/tweets/user/{userId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("userId" = String, Path, description = "The user's id"), PageQuery),
    responses(
        (status = 200, description = "`data`: a page (`docs`, `totalDocs`, `page`, …) of tweets"),
        (status = 400, description = "A malformed id, `page` or `limit`", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such user", body = ErrorEnvelope),
    )
)]
async fn videotube_user_tweets(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> VideotubeResult<impl IntoResponse> {
    let user = path_id(&raw, "userId", UserId::parse)?.to_string();
    let page = list_page(&state, &caller, PostKind::Tweet, &user, &query).await?;
    Ok(Answer(StatusCode::OK, page, "Tweets fetched successfully"))
}

/// Edits a tweet: its author only.
#[utoipa::path(
    patch,
    path = "/api/v1/tweets/{tweetId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("tweetId" = String, Path, description = "The tweet's id")),
    request_body = ContentRequest,
    responses(
        (status = 200, description = "`data`: the tweet", body = PostDoc),
        (status = 400, description = "No or too long `content`, a malformed id or JSON", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not its author", body = ErrorEnvelope),
        (status = 404, description = "No such tweet", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body not `application/json`", body = ErrorEnvelope),
    )
)]
async fn videotube_edit_tweet(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
    VtJson(body): VtJson<ContentRequest>,
) -> VideotubeResult<impl IntoResponse> {
    let doc = edit(&state, &caller, PostKind::Tweet, &raw, "tweetId", body).await?;
    Ok(Answer(StatusCode::OK, doc, "Tweet updated successfully"))
}

/// Deletes a tweet: its author only.
#[utoipa::path(
    delete,
    path = "/api/v1/tweets/{tweetId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("tweetId" = String, Path, description = "The tweet's id")),
    responses(
        (status = 200, description = "`data: {}`"),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 403, description = "Not its author", body = ErrorEnvelope),
        (status = 404, description = "No such tweet", body = ErrorEnvelope),
    )
)]
async fn videotube_delete_tweet(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    let id = path_id(&raw, "tweetId", PostId::parse)?.to_string();
    community::delete(&state, &caller, PostKind::Tweet, &id).await?;
    Ok(Answer(StatusCode::OK, serde_json::json!({}), "Tweet deleted successfully"))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Liked {
    liked: bool,
}

async fn like(
    state: &AppState,
    caller: &crate::auth::AuthUser,
    target: LikeTarget,
    raw: &str,
) -> Result<Answer<Liked>, ApiError> {
    let id = match target {
        LikeTarget::Video => path_id(raw, "videoId", VideoId::parse)?.to_string(),
        LikeTarget::Comment => path_id(raw, "commentId", PostId::parse)?.to_string(),
        LikeTarget::Tweet => path_id(raw, "tweetId", PostId::parse)?.to_string(),
    };
    let liked = community::toggle_like(state, caller, target, &id).await?;
    Ok(Answer(StatusCode::OK, Liked { liked }, if liked { "Liked" } else { "Unliked" }))
}

/// Likes a video, or unlikes it.
#[utoipa::path(
    post,
    path = "/api/v1/likes/toggle/v/{videoId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("videoId" = String, Path, description = "The video's id")),
    responses(
        (status = 200, description = "`data: {liked}`", body = Liked),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such video", body = ErrorEnvelope),
    )
)]
async fn videotube_like_video(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    Ok(like(&state, &caller, LikeTarget::Video, &raw).await?)
}

/// Likes a comment, or unlikes it.
#[utoipa::path(
    post,
    path = "/api/v1/likes/toggle/c/{commentId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("commentId" = String, Path, description = "The comment's id")),
    responses(
        (status = 200, description = "`data: {liked}`", body = Liked),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such comment", body = ErrorEnvelope),
    )
)]
async fn videotube_like_comment(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    Ok(like(&state, &caller, LikeTarget::Comment, &raw).await?)
}

/// Likes a tweet, or unlikes it.
#[utoipa::path(
    post,
    path = "/api/v1/likes/toggle/t/{tweetId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("tweetId" = String, Path, description = "The tweet's id")),
    responses(
        (status = 200, description = "`data: {liked}`", body = Liked),
        (status = 400, description = "A malformed id", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such tweet", body = ErrorEnvelope),
    )
)]
async fn videotube_like_tweet(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    Ok(like(&state, &caller, LikeTarget::Tweet, &raw).await?)
}

/// The videos the caller likes, most recently liked first.
#[utoipa::path(
    get,
    path = "/api/v1/likes/videos",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "`data`: a page (`docs`, `totalDocs`, `page`, …) of videos"),
        (status = 400, description = "A bad `page` or `limit`", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
    )
)]
async fn videotube_liked_videos(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Query(query): Query<PageQuery>,
) -> VideotubeResult<impl IntoResponse> {
    let paging = query.parse()?;
    let (rows, total) = community::liked_videos(&state, &caller, paging.offset(), paging.limit).await?;
    let page = Paginated::new(rows.into_iter().map(VideoDoc::listed).collect(), total, paging);
    Ok(Answer(StatusCode::OK, page, "Liked videos fetched successfully"))
}
