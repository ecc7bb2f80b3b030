//! Channels: `/api/v1/users/c/:username` and `/api/v1/subscriptions`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::envelope::{Answer, ErrorEnvelope, PageQuery, Paginated, VideotubeResult};
use super::{TAG, UserDoc, Viewer, path_id};
use crate::db::users::UserRow;
use crate::error::ApiError;
use crate::http::openapi::ApiRoutes;
use crate::startup::AppState;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(videotube_channel_profile))
        .routes(routes!(videotube_toggle_subscription, videotube_channel_subscribers))
        .routes(routes!(videotube_subscribed_channels))
}

/// A channel as its profile page shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VideotubeChannel)]
struct ChannelDoc {
    #[serde(rename = "_id")]
    id: String,
    full_name: String,
    username: String,
    email: String,
    avatar: String,
    cover_image: String,
    subscribers_count: i64,
    channels_subscribed_to_count: i64,
    /// Whether the caller subscribes to it.
    is_subscribed: bool,
}

/// A channel's profile: its counts, and whether the caller subscribes.
#[utoipa::path(
    get,
    path = "/api/v1/users/c/{username}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("username" = String, Path, description = "The channel's username")),
    responses(
        (status = 200, description = "`data`: the channel", body = ChannelDoc),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such channel", body = ErrorEnvelope),
    )
)]
async fn videotube_channel_profile(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(username): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    let profile = crate::services::channels::profile(&state, &caller, &username).await?;
    let user = UserDoc::from(profile.user);
    let doc = ChannelDoc {
        id: user.id,
        full_name: user.full_name,
        username: user.username,
        email: user.email,
        avatar: user.avatar,
        cover_image: user.cover_image,
        subscribers_count: profile.subscribers,
        channels_subscribed_to_count: profile.subscribed_to,
        is_subscribed: profile.is_subscribed,
    };
    Ok(Answer(StatusCode::OK, doc, "User channel fetched successfully"))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Subscribed {
    subscribed: bool,
}

/// Subscribes the caller to the channel, or unsubscribes if subscribed.
#[utoipa::path(
    post,
    path = "/api/v1/subscriptions/c/{channelId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("channelId" = String, Path, description = "The channel's user id")),
    responses(
        (status = 200, description = "`data: {subscribed}`", body = Subscribed),
        (status = 400, description = "A malformed id, or one's own channel", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such channel", body = ErrorEnvelope),
    )
)]
async fn videotube_toggle_subscription(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    Path(raw): Path<String>,
) -> VideotubeResult<impl IntoResponse> {
    let channel = path_id(&raw, "channelId", crate::domain::UserId::parse)?;
    let subscribed = crate::services::channels::toggle_subscription(&state, &caller, &channel).await?;
    let message = if subscribed { "Subscribed successfully" } else { "Unsubscribed successfully" };
    Ok(Answer(StatusCode::OK, Subscribed { subscribed }, message))
}

/// A user as a subscription list shows one.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VideotubeChannelSummary)]
struct ChannelSummary {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    full_name: String,
    avatar: String,
}

impl From<UserRow> for ChannelSummary {
    fn from(row: UserRow) -> Self {
        let doc = UserDoc::from(row);
        Self { id: doc.id, username: doc.username, full_name: doc.full_name, avatar: doc.avatar }
    }
}

async fn subscription_page(
    state: &AppState,
    raw: &str,
    field: &str,
    side: crate::db::channels::Side,
    query: &PageQuery,
) -> Result<Paginated<ChannelSummary>, ApiError> {
    let user = path_id(raw, field, crate::domain::UserId::parse)?;
    let paging = query.parse()?;
    let (rows, total) = crate::services::channels::list(state, &user, side, paging.offset(), paging.limit).await?;
    Ok(Paginated::new(rows.into_iter().map(ChannelSummary::from).collect(), total, paging))
}

/// A channel's subscribers, newest first, paged.
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions/c/{channelId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("channelId" = String, Path, description = "The channel's user id"), PageQuery),
    responses(
        (status = 200, description = "`data`: a page (`docs`, `totalDocs`, `page`, …) of subscribers"),
        (status = 400, description = "A malformed id, `page` or `limit`", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such channel", body = ErrorEnvelope),
    )
)]
async fn videotube_channel_subscribers(
    State(state): State<AppState>,
    _viewer: Viewer,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> VideotubeResult<impl IntoResponse> {
    let page = subscription_page(&state, &raw, "channelId", crate::db::channels::Side::SubscribersOf, &query).await?;
    Ok(Answer(StatusCode::OK, page, "Subscribers fetched successfully"))
}

/// The channels a user subscribes to, newest first, paged.
#[utoipa::path(
    get,
    path = "/api/v1/subscriptions/u/{subscriberId}",
    tag = TAG,
    security(("bearerAuth" = [])),
    params(("subscriberId" = String, Path, description = "The subscriber's user id"), PageQuery),
    responses(
        (status = 200, description = "`data`: a page (`docs`, `totalDocs`, `page`, …) of channels"),
        (status = 400, description = "A malformed id, `page` or `limit`", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 404, description = "No such user", body = ErrorEnvelope),
    )
)]
async fn videotube_subscribed_channels(
    State(state): State<AppState>,
    _viewer: Viewer,
    Path(raw): Path<String>,
    Query(query): Query<PageQuery>,
) -> VideotubeResult<impl IntoResponse> {
    let page = subscription_page(&state, &raw, "subscriberId", crate::db::channels::Side::FollowedBy, &query).await?;
    Ok(Answer(StatusCode::OK, page, "Subscribed channels fetched successfully"))
}
