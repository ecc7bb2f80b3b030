//! Channels of the video-platform surface (a channel is a user): subscriptions and the
//! channel profile. Who may do what: any signed-in user subscribes to any other live user's
//! channel (not their own) and reads subscription lists, as the tutorial's routes allow.

use crate::auth::AuthUser;
use crate::db::channels::{self, Side};
use crate::db::users::{self, UserRow};
use crate::domain::{UserId, now_ms};
use crate::error::{ApiError, ApiResult, FieldErrors};
use crate::startup::AppState;

fn channel_not_found() -> ApiError {
    ApiError::NotFound("Channel does not exist".into())
}

/// A live user, as a channel.
async fn channel(state: &AppState, id: &UserId) -> ApiResult<UserRow> {
    users::find_user(&state.db, id).await?.filter(|u| u.deleted_at.is_none()).ok_or_else(channel_not_found)
}

/// Subscribes the caller to `channel`, or unsubscribes; whether subscribed afterwards.
pub async fn toggle_subscription(state: &AppState, caller: &AuthUser, channel_id: &UserId) -> ApiResult<bool> {
    if *channel_id == caller.id {
        return Err(FieldErrors::single("channelId", "self", "You cannot subscribe to your own channel"));
    }
    channel(state, channel_id).await?;
    Ok(channels::toggle_subscription(&state.db, &caller.id, channel_id, now_ms()).await?)
}

/// A channel as a viewer sees it.
pub struct ChannelProfile {
    pub user: UserRow,
    pub subscribers: i64,
    pub subscribed_to: i64,
    pub is_subscribed: bool,
}

/// The channel of `username` (case-insensitive), with its counts for `viewer`.
pub async fn profile(state: &AppState, viewer: &AuthUser, username: &str) -> ApiResult<ChannelProfile> {
    let wanted = username.trim().to_ascii_lowercase();
    let user = users::find_user_by_login(&state.db, &wanted)
        .await?
        .filter(|u| u.username.as_deref() == Some(wanted.as_str()))
        .ok_or_else(channel_not_found)?;
    let id = user.user_id()?;
    let (subscribers, subscribed_to, is_subscribed) =
        channels::channel_counts(&state.db, &id, Some(&viewer.id)).await?;
    Ok(ChannelProfile { user, subscribers, subscribed_to, is_subscribed })
}

/// A page of a channel's subscribers (or of the channels a user follows) and the total.
pub async fn list(
    state: &AppState,
    user: &UserId,
    side: Side,
    offset: u64,
    limit: u32,
) -> ApiResult<(Vec<UserRow>, i64)> {
    channel(state, user).await?;
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    Ok(channels::list_subscriptions(&state.db, user, side, offset, i64::from(limit)).await?)
}

/// The caller's channel totals (the dashboard): videos, views, subscribers, likes.
pub async fn stats(state: &AppState, caller: &AuthUser) -> ApiResult<(i64, i64, i64, i64)> {
    Ok(channels::channel_stats(&state.db, &caller.id).await?)
}
