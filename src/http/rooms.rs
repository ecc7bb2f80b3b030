//! `/api/rooms`: group and direct rooms, their messages, read marks and members.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::check_limit;
use super::messages::{PageQuery, SendMessageRequest, parse_send};
use super::openapi::{ApiRoutes, ErrorBody};
use crate::auth::AuthUser;
use crate::domain::{RoomId, UserId};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, FieldErrors};
use crate::services::rooms::{self as room_service, DEFAULT_ROOM_TYPE, Initiate, ROOM_TYPES, RoomChange};
use crate::startup::AppState;
use crate::views::{MessageResponse, RoomResponse};

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(list_rooms, create_room))
        .alias("/api/rooms/initiate", routes!(create_room))
        .routes(routes!(get_room, update_room, delete_room))
        .routes(routes!(list_room_messages, post_room_message))
        .routes(routes!(mark_read))
        .alias("/api/rooms/{room_id}/mark-read", routes!(mark_read))
        .routes(routes!(add_members))
        .routes(routes!(remove_member))
}

/// A malformed room id names no room: 404, like a room the caller may not see.
fn parse_room_id(raw: &str) -> ApiResult<RoomId> {
    RoomId::parse(raw).ok_or_else(room_service::room_not_found)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListRoomsQuery {
    /// 1-1000.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// The `X-Next-Cursor` of the previous page.
    cursor: Option<String>,
}

/// The caller's rooms, most recent activity first, each with `lastMessage` and `unreadCount`.
#[utoipa::path(
    get,
    path = "/api/rooms",
    tag = "rooms",
    params(ListRoomsQuery),
    responses(
        (status = 200, description = "A page of rooms (default 50)", body = [RoomResponse],
            headers(("x-next-cursor" = String, description = "Cursor of the next page, when there is one"))),
        (status = 400, description = "Invalid `limit` or `cursor`", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
async fn list_rooms(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<ListRoomsQuery>,
) -> ApiResult<Response> {
    let limit = check_limit(query.limit, 50)?;
    let after = match query.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(raw) => Some(room_service::decode_cursor(raw).ok_or_else(|| {
            FieldErrors::single("cursor", "invalid", "cursor must be the X-Next-Cursor of the previous page")
        })?),
    };
    let (rooms, next) = room_service::list(&state, &caller, after, limit).await?;
    let mut response = Json(rooms).into_response();
    if let Some(next) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert("x-next-cursor", next);
    }
    Ok(response)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoomRequest {
    /// The other members (1-1000 user ids; the caller is added).
    #[schema(value_type = Vec<String>, required = true)]
    user_ids: Option<Vec<String>>,
    /// `consumer-to-consumer` (default) or `consumer-to-support`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    room_type: Option<String>,
    /// 1-100 characters (group rooms).
    #[schema(value_type = String)]
    name: Option<String>,
}

fn parse_user_ids(raw: Option<&[String]>, errors: &mut FieldErrors) -> Vec<UserId> {
    let Some(raw) = raw.filter(|ids| !ids.is_empty()) else {
        errors.add("userIds", "required", "userIds must be a non-empty array of user ids");
        return Vec::new();
    };
    if raw.len() > 1000 {
        errors.add("userIds", "too_many", "At most 1000 users at once");
        return Vec::new();
    }
    let parsed: Vec<UserId> = raw.iter().filter_map(|id| UserId::parse(id)).collect();
    if parsed.len() != raw.len() {
        errors.add("userIds", "invalid", "Every entry of userIds must be a user id");
    }
    parsed
}

fn parse_room_name(raw: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    let name = raw?.trim();
    match name.chars().count() {
        1..=100 if !name.chars().any(char::is_control) => Some(name.to_string()),
        _ => {
            errors.add("name", "invalid", "name must be 1-100 characters");
            None
        }
    }
}

/// Creates a room, or returns the existing one with the same members and type (`isNew`).
///
/// One other user makes a direct room; more make a group.
#[utoipa::path(
    post,
    path = "/api/rooms",
    tag = "rooms",
    request_body = CreateRoomRequest,
    responses(
        (status = 201, description = "The new room (`isNew: true`)", body = RoomResponse),
        (status = 200, description = "The existing room (`isNew: false`)", body = RoomResponse),
        (status = 400, description = "Invalid or unknown `userIds`, `type` or `name`, or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn create_room(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(body): ApiJson<CreateRoomRequest>,
) -> ApiResult<(StatusCode, Json<RoomResponse>)> {
    let mut errors = FieldErrors::new();
    let user_ids = parse_user_ids(body.user_ids.as_deref(), &mut errors);
    let room_type = body.room_type.unwrap_or_else(|| DEFAULT_ROOM_TYPE.to_string());
    if !ROOM_TYPES.contains(&room_type.as_str()) {
        errors.add("type", "invalid", format!("type must be one of {}", ROOM_TYPES.join(", ")));
    }
    let name = parse_room_name(body.name.as_deref(), &mut errors);
    errors.into_result()?;
    let room = room_service::initiate(&state, &caller, Initiate { user_ids, room_type, name }).await?;
    let status = if room.is_new == Some(true) { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(room)))
}

/// One room.
#[utoipa::path(
    get,
    path = "/api/rooms/{room_id}",
    tag = "rooms",
    params(("room_id" = String, Path, description = "Room id")),
    responses(
        (status = 200, description = "The room", body = RoomResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such room, or the caller is not a member", body = ErrorBody),
    )
)]
async fn get_room(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(room_id): ApiPath<String>,
) -> ApiResult<Json<RoomResponse>> {
    let room = parse_room_id(&room_id)?;
    Ok(Json(room_service::get(&state, &caller, &room).await?))
}

/// At least one of the fields.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateRoomRequest {
    /// 1-100 characters; group rooms only, by the creator or an admin.
    #[schema(value_type = String)]
    name: Option<String>,
    /// Per caller.
    #[schema(value_type = bool)]
    muted: Option<bool>,
}

/// Renames a group room and/or mutes it for the caller.
#[utoipa::path(
    patch,
    path = "/api/rooms/{room_id}",
    tag = "rooms",
    params(("room_id" = String, Path, description = "Room id")),
    request_body = UpdateRoomRequest,
    responses(
        (status = 200, description = "The room", body = RoomResponse),
        (status = 400, description = "Nothing to change, invalid `name`, a name for a direct room, or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Renaming by someone else than the creator or an admin", body = ErrorBody),
        (status = 404, description = "No such room, or the caller is not a member", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn update_room(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(room_id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateRoomRequest>,
) -> ApiResult<Json<RoomResponse>> {
    let room = parse_room_id(&room_id)?;
    let mut errors = FieldErrors::new();
    if body.name.is_none() && body.muted.is_none() {
        errors.add("name", "required", "Nothing to change: send name or muted");
    }
    let name = parse_room_name(body.name.as_deref(), &mut errors);
    errors.into_result()?;
    Ok(Json(room_service::update(&state, &caller, &room, RoomChange { name, muted: body.muted }).await?))
}

/// A room's messages, oldest first (`?after=<last seen _id>` catches up after a reconnect).
#[utoipa::path(
    get,
    path = "/api/rooms/{room_id}/messages",
    tag = "rooms",
    params(("room_id" = String, Path, description = "Room id"), PageQuery),
    responses(
        (status = 200, description = "Messages, oldest first (default: the newest 50)", body = [MessageResponse]),
        (status = 400, description = "Invalid `limit`, `before` or `after` (`invalid_cursor`)", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such room, or the caller is not a member", body = ErrorBody),
    )
)]
async fn list_room_messages(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(room_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Response> {
    let room = parse_room_id(&room_id)?;
    let page = query.parse(50)?;
    Ok(super::json_bytes(room_service::list_messages_json(&state, &caller, &room, page.page()).await?))
}

/// Posts a message to a room; members get `newMessage` in real time.
#[utoipa::path(
    post,
    path = "/api/rooms/{room_id}/messages",
    tag = "rooms",
    params(
        ("room_id" = String, Path, description = "Room id"),
        ("idempotency-key" = Option<String>, Header, description = "1-255 visible ASCII characters; a retry with the same key returns the original message"),
    ),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "The message", body = MessageResponse),
        (status = 400, description = "Neither text nor image, invalid fields or image (`validation_failed`, `invalid_image`), or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such room, or the caller is not a member", body = ErrorBody),
        (status = 413, description = "Body or image over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn post_room_message(
    State(state): State<AppState>,
    caller: AuthUser,
    headers: HeaderMap,
    ApiPath(room_id): ApiPath<String>,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> ApiResult<(StatusCode, Json<MessageResponse>)> {
    let room = parse_room_id(&room_id)?;
    let input = parse_send(&body, &headers)?;
    let sent = room_service::post_message(&state, &caller, &room, input).await?;
    Ok((StatusCode::CREATED, Json(sent.message)))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct MarkReadResponse {
    room_id: String,
    user_id: String,
    #[schema(format = DateTime)]
    read_at: String,
    /// Always 0.
    unread_count: i64,
}

/// Marks the room read up to now for the caller; members get `messagesRead`.
#[utoipa::path(
    put,
    path = "/api/rooms/{room_id}/read",
    tag = "rooms",
    params(("room_id" = String, Path, description = "Room id")),
    responses(
        (status = 200, description = "The read mark", body = MarkReadResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such room, or the caller is not a member", body = ErrorBody),
    )
)]
async fn mark_read(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(room_id): ApiPath<String>,
) -> ApiResult<Json<MarkReadResponse>> {
    let room = parse_room_id(&room_id)?;
    let receipt = room_service::mark_read(&state, &caller, &room).await?;
    Ok(Json(MarkReadResponse {
        room_id: receipt.room_id,
        user_id: receipt.user_id,
        read_at: receipt.read_at,
        unread_count: 0,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddMembersRequest {
    /// 1-1000 user ids.
    #[schema(value_type = Vec<String>, required = true)]
    user_ids: Option<Vec<String>>,
}

/// Adds members to a group room (its creator or an admin).
#[utoipa::path(
    post,
    path = "/api/rooms/{room_id}/members",
    tag = "rooms",
    params(("room_id" = String, Path, description = "Room id")),
    request_body = AddMembersRequest,
    responses(
        (status = 200, description = "The room", body = RoomResponse),
        (status = 400, description = "Invalid or unknown `userIds`, a direct room, or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Neither the creator nor an admin", body = ErrorBody),
        (status = 404, description = "No such room, or the caller is not a member", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn add_members(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(room_id): ApiPath<String>,
    ApiJson(body): ApiJson<AddMembersRequest>,
) -> ApiResult<Json<RoomResponse>> {
    let room = parse_room_id(&room_id)?;
    let mut errors = FieldErrors::new();
    let users = parse_user_ids(body.user_ids.as_deref(), &mut errors);
    errors.into_result()?;
    Ok(Json(room_service::add_members(&state, &caller, &room, users).await?))
}

/// Removes a member: leaving (oneself), or removal by the creator or an admin.
#[utoipa::path(
    delete,
    path = "/api/rooms/{room_id}/members/{user_id}",
    tag = "rooms",
    params(("room_id" = String, Path, description = "Room id"), ("user_id" = String, Path, description = "The member's user id")),
    responses(
        (status = 200, description = "The room (as the caller now sees it)", body = RoomResponse),
        (status = 400, description = "A direct room (nobody leaves it)", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Removing someone else without being the creator or an admin", body = ErrorBody),
        (status = 404, description = "No such room, or the user is not a member", body = ErrorBody),
    )
)]
async fn remove_member(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath((room_id, user_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<RoomResponse>> {
    let room = parse_room_id(&room_id)?;
    let user = UserId::parse(&user_id).ok_or_else(|| ApiError::NotFound("User not found".into()))?;
    Ok(Json(room_service::remove_member(&state, &caller, &room, &user).await?))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeletedRoom {
    #[serde(rename = "_id")]
    id: String,
    deleted_messages_count: i64,
}

/// Deletes a room and its messages (its creator or an admin).
#[utoipa::path(
    delete,
    path = "/api/rooms/{room_id}",
    tag = "rooms",
    params(("room_id" = String, Path, description = "Room id")),
    responses(
        (status = 200, description = "Deleted", body = DeletedRoom),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Neither the creator nor an admin", body = ErrorBody),
        (status = 404, description = "No such room, or the caller is not a member", body = ErrorBody),
    )
)]
async fn delete_room(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(room_id): ApiPath<String>,
) -> ApiResult<Json<DeletedRoom>> {
    let room = parse_room_id(&room_id)?;
    let (id, deleted_messages_count) = room_service::delete(&state, &caller, &room).await?;
    Ok(Json(DeletedRoom { id, deleted_messages_count }))
}
