//! Comments, tweets and likes of the video-platform surface. Who may do what: any
//! signed-in user comments on and likes a video they can see (published, or their own),
//! tweets, and likes comments and tweets; only a comment's or a tweet's author edits or
//! deletes it (403 to others).

use crate::auth::AuthUser;
use crate::db::community::{self, LikeTarget, PostKind, PostRow, PostWithAuthor};
use crate::db::videos::VideoRow;
use crate::domain::{PostId, UserId, now_ms};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::services::videos;
use crate::startup::AppState;

/// The most characters a comment or a tweet holds.
pub const MAX_CONTENT_CHARS: usize = 5000;

/// A comment's or tweet's text: trimmed, 1 to `MAX_CONTENT_CHARS` characters.
pub fn content(raw: Option<&str>) -> ApiResult<String> {
    let text = raw.map(str::trim).unwrap_or("");
    match text.chars().count() {
        0 => Err(FieldErrors::single("content", "required", "`content` is required")),
        n if n > MAX_CONTENT_CHARS => Err(FieldErrors::single(
            "content",
            "too_long",
            format!("`content` is at most {MAX_CONTENT_CHARS} characters"),
        )),
        _ => Ok(text.to_string()),
    }
}

fn not_found(kind: PostKind) -> ApiError {
    ApiError::NotFound(match kind {
        PostKind::Comment => "Comment not found".into(),
        PostKind::Tweet => "Tweet not found".into(),
    })
}

/// Comments on a video the caller can see.
pub async fn comment(state: &AppState, caller: &AuthUser, video: &str, text: &str) -> ApiResult<PostRow> {
    state.limits.messages_user.check(&caller.id)?;
    videos::visible(state, caller, video).await?;
    let (id, now) = (PostId::new().to_string(), now_ms());
    community::insert_comment(&state.db, &id, video, &caller.id, text, now).await?;
    Ok(PostRow {
        id,
        parent_id: video.to_string(),
        owner_id: caller.id.to_string(),
        content: text.to_string(),
        created_at: now,
        updated_at: now,
    })
}

/// Tweets.
pub async fn tweet(state: &AppState, caller: &AuthUser, text: &str) -> ApiResult<PostRow> {
    state.limits.messages_user.check(&caller.id)?;
    let (id, now) = (PostId::new().to_string(), now_ms());
    community::insert_tweet(&state.db, &id, &caller.id, text, now).await?;
    Ok(PostRow {
        id,
        parent_id: caller.id.to_string(),
        owner_id: caller.id.to_string(),
        content: text.to_string(),
        created_at: now,
        updated_at: now,
    })
}

/// A page of a video's comments (a video the caller can see) or of a user's tweets.
pub async fn list(
    state: &AppState,
    caller: &AuthUser,
    kind: PostKind,
    parent: &str,
    offset: u64,
    limit: u32,
) -> ApiResult<(Vec<PostWithAuthor>, i64)> {
    match kind {
        PostKind::Comment => {
            videos::visible(state, caller, parent).await?;
        }
        PostKind::Tweet => {
            let user = UserId::parse(parent).ok_or_else(|| ApiError::NotFound("User not found".into()))?;
            crate::services::users::get(state, &user).await?;
        }
    }
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    Ok(community::list_posts(&state.db, kind, parent, &caller.id, offset, i64::from(limit)).await?)
}

/// A comment or tweet of the caller's (404 if none, 403 if someone else's).
async fn authored(state: &AppState, caller: &AuthUser, kind: PostKind, id: &str) -> ApiResult<PostRow> {
    let post = community::find_post(&state.db, kind, id).await?.ok_or_else(|| not_found(kind))?;
    if post.owner_id != caller.id.to_string() {
        return Err(ApiError::Forbidden("Only its author can change it".into()));
    }
    Ok(post)
}

/// Edits the caller's comment or tweet.
pub async fn edit(state: &AppState, caller: &AuthUser, kind: PostKind, id: &str, text: &str) -> ApiResult<PostRow> {
    let post = authored(state, caller, kind, id).await?;
    let now = now_ms();
    community::update_post(&state.db, kind, id, text, now).await?;
    Ok(PostRow { content: text.to_string(), updated_at: now, ..post })
}

/// Deletes the caller's comment or tweet (its likes go with it).
pub async fn delete(state: &AppState, caller: &AuthUser, kind: PostKind, id: &str) -> ApiResult<()> {
    authored(state, caller, kind, id).await?;
    Ok(community::delete_post(&state.db, kind, id).await?)
}

/// Likes, or unlikes, a video the caller can see, a comment on one, or a tweet.
pub async fn toggle_like(state: &AppState, caller: &AuthUser, target: LikeTarget, id: &str) -> ApiResult<bool> {
    match target {
        LikeTarget::Video => {
            videos::visible(state, caller, id).await?;
        }
        LikeTarget::Comment => {
            let comment = community::find_post(&state.db, PostKind::Comment, id)
                .await?
                .ok_or_else(|| not_found(PostKind::Comment))?;
            videos::visible(state, caller, &comment.parent_id).await.map_err(|_| not_found(PostKind::Comment))?;
        }
        LikeTarget::Tweet => {
            community::find_post(&state.db, PostKind::Tweet, id).await?.ok_or_else(|| not_found(PostKind::Tweet))?;
        }
    }
    Ok(community::toggle_like(&state.db, target, id, &caller.id, now_ms()).await?)
}

/// A page of the videos the caller likes, and how many.
pub async fn liked_videos(
    state: &AppState,
    caller: &AuthUser,
    offset: u64,
    limit: u32,
) -> ApiResult<(Vec<VideoRow>, i64)> {
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    Ok(community::liked_videos(&state.db, &caller.id, offset, i64::from(limit)).await?)
}
