//! `/api/rooms`: group and direct rooms, their messages, read marks and members.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::check_limit;
use super::messages::{PageQuery, SendMessageRequest, parse_send};
use crate::auth::AuthUser;
use crate::domain::{RoomId, UserId};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, FieldErrors};
use crate::services::rooms::{self as room_service, DEFAULT_ROOM_TYPE, Initiate, ROOM_TYPES, RoomChange};
use crate::startup::AppState;
use crate::views::{MessageResponse, RoomResponse};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/rooms", get(list_rooms).post(create_room))
        .route("/api/rooms/initiate", post(create_room))
        .route("/api/rooms/{room_id}", get(get_room).patch(update_room).delete(delete_room))
        .route("/api/rooms/{room_id}/messages", get(list_room_messages).post(post_room_message))
        .route("/api/rooms/{room_id}/read", put(mark_read))
        .route("/api/rooms/{room_id}/mark-read", put(mark_read))
        .route("/api/rooms/{room_id}/members", post(add_members))
        .route("/api/rooms/{room_id}/members/{user_id}", delete(remove_member))
}

/// A malformed room id names no room: 404, like a room the caller may not see.
fn parse_room_id(raw: &str) -> ApiResult<RoomId> {
    RoomId::parse(raw).ok_or_else(room_service::room_not_found)
}

#[derive(Debug, Deserialize)]
pub struct ListRoomsQuery {
    limit: Option<u32>,
    cursor: Option<String>,
}

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateRoomRequest {
    user_ids: Option<Vec<String>>,
    #[serde(rename = "type")]
    room_type: Option<String>,
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

async fn get_room(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(room_id): ApiPath<String>,
) -> ApiResult<Json<RoomResponse>> {
    let room = parse_room_id(&room_id)?;
    Ok(Json(room_service::get(&state, &caller, &room).await?))
}

#[derive(Debug, Deserialize)]
pub struct UpdateRoomRequest {
    name: Option<String>,
    muted: Option<bool>,
}

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

async fn list_room_messages(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(room_id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Vec<MessageResponse>>> {
    let room = parse_room_id(&room_id)?;
    let page = query.parse(50)?;
    Ok(Json(room_service::list_messages(&state, &caller, &room, page.page()).await?))
}

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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MarkReadResponse {
    room_id: String,
    user_id: String,
    read_at: String,
    unread_count: i64,
}

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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddMembersRequest {
    user_ids: Option<Vec<String>>,
}

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

async fn remove_member(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath((room_id, user_id)): ApiPath<(String, String)>,
) -> ApiResult<Json<RoomResponse>> {
    let room = parse_room_id(&room_id)?;
    let user = UserId::parse(&user_id).ok_or_else(|| ApiError::NotFound("User not found".into()))?;
    Ok(Json(room_service::remove_member(&state, &caller, &room, &user).await?))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeletedRoom {
    #[serde(rename = "_id")]
    id: String,
    deleted_messages_count: i64,
}

async fn delete_room(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(room_id): ApiPath<String>,
) -> ApiResult<Json<DeletedRoom>> {
    let room = parse_room_id(&room_id)?;
    let (id, deleted_messages_count) = room_service::delete(&state, &caller, &room).await?;
    Ok(Json(DeletedRoom { id, deleted_messages_count }))
}
