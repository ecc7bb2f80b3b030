//! `/api/messages`: the tutorial's direct-message routes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::openapi::{ApiRoutes, ErrorBody};
use super::users::{ListUsersQuery, parse_user_id, user_page};
use super::{MessageResponse, UserResponse, check_limit};
use crate::auth::AuthUser;
use crate::db::messages::Page;
use crate::domain::{MediaId, MessageId, MessageText};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, FieldErrors};
use crate::services::chat::{self, SendMessage, parse_cursor};
use crate::services::media::ImageInput;
use crate::services::users as user_service;
use crate::startup::AppState;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(list_sidebar_users))
        .routes(routes!(send_message))
        // GET takes the other user's id; PATCH and DELETE a message id.
        .routes(routes!(list_messages, edit_message, delete_message))
}

/// Everyone except the caller, for the sidebar.
///
/// Without paging parameters the sidebar gets everyone (up to the 1,000 limit), as the
/// tutorial's frontend expects.
#[utoipa::path(
    get,
    path = "/api/messages/users",
    tag = "messages",
    params(ListUsersQuery),
    responses(
        (status = 200, description = "Users, by `_id`", body = [UserResponse],
            headers(("x-next-cursor" = String, description = "Cursor of the next page, when this one is full"))),
        (status = 400, description = "Invalid `limit` or `cursor`", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
async fn list_sidebar_users(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<ListUsersQuery>,
) -> ApiResult<Response> {
    let parsed = query.parse(1000, true)?;
    let limit = parsed.limit;
    let rows = user_service::list(&state, &caller, parsed).await?;
    Ok(user_page(rows, limit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-1000 (default 50 when paging).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only messages before this message id.
    pub before: Option<String>,
    /// Only messages after this message id (catch-up after a reconnect).
    pub after: Option<String>,
}

/// Parsed paging parameters; without any, the newest `unpaged_default` messages.
pub struct ParsedPage {
    before: Option<MessageId>,
    after: Option<MessageId>,
    limit: u32,
}

impl PageQuery {
    pub fn parse(&self, unpaged_default: u32) -> ApiResult<ParsedPage> {
        let unpaged = self.limit.is_none() && self.before.is_none() && self.after.is_none();
        Ok(ParsedPage {
            before: parse_cursor("before", self.before.as_deref())?,
            after: parse_cursor("after", self.after.as_deref())?,
            limit: check_limit(self.limit, if unpaged { unpaged_default } else { 50 })?,
        })
    }
}

impl ParsedPage {
    pub fn page(&self) -> Page<'_> {
        Page { before: self.before.as_ref(), after: self.after.as_ref(), limit: self.limit }
    }
}

/// The direct conversation with a user, oldest first.
///
/// Without paging parameters: the newest 200.
#[utoipa::path(
    get,
    path = "/api/messages/{id}",
    tag = "messages",
    params(("id" = String, Path, description = "The other user's id"), PageQuery),
    responses(
        (status = 200, description = "Messages, oldest first", body = [MessageResponse]),
        (status = 400, description = "Invalid `limit`, `before` or `after` (`invalid_cursor`)", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn list_messages(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Response> {
    let other = parse_user_id(&id)?;
    let page = query.parse(200)?;
    Ok(super::json_bytes(chat::list_direct_json(&state, &caller, &other, page.page()).await?))
}

/// Text, an image, or both.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SendMessageRequest {
    #[schema(value_type = String, example = "hello")]
    text: Option<String>,
    /// An image as a base64 `data:` URL, or a URL.
    #[schema(value_type = String)]
    image: Option<String>,
    /// The `_id` of one of the caller's uploads (`POST /api/uploads`) to attach.
    #[schema(value_type = String)]
    attachment: Option<String>,
}

/// Parses `{text?, image?}`; both absent or empty is a 400 in the service.
pub fn parse_send<'a>(body: &'a SendMessageRequest, headers: &HeaderMap) -> ApiResult<SendMessage<'a>> {
    let mut errors = FieldErrors::new();
    let text = MessageText::parse(body.text.as_deref().unwrap_or(""))
        .map_err(|r| {
            errors.add("text", r, format!("Message text must be at most {} characters", MessageText::MAX_CHARS))
        })
        .ok()
        .flatten();
    let image = body.image.as_deref().and_then(|raw| {
        ImageInput::parse(raw).map_err(|r| errors.add("image", r, "image must be an image data URL or a URL")).ok()
    });
    let attachment = body.attachment.as_deref().filter(|a| !a.is_empty()).and_then(|raw| {
        let id = MediaId::parse(raw);
        if id.is_none() {
            errors.add("attachment", "invalid", "attachment must be the _id of an upload");
        }
        id
    });
    let idempotency_key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(key)) if !key.is_empty() && key.len() <= 255 => Some(key.to_string()),
        Some(_) => {
            errors.add("Idempotency-Key", "invalid", "Idempotency-Key must be 1-255 visible ASCII characters");
            None
        }
    };
    errors.into_result()?;
    Ok(SendMessage { text, image, attachment, idempotency_key })
}

/// Sends a direct message; the receiver gets `newMessage` in real time.
///
/// With an `Idempotency-Key`, a retry returns the original message.
#[utoipa::path(
    post,
    path = "/api/messages/send/{id}",
    tag = "messages",
    params(
        ("id" = String, Path, description = "The receiver's user id"),
        ("idempotency-key" = Option<String>, Header, description = "1-255 visible ASCII characters; a retry with the same key returns the original message"),
    ),
    request_body = SendMessageRequest,
    responses(
        (status = 201, description = "The message", body = MessageResponse),
        (status = 400, description = "Neither text nor image, to oneself, invalid fields or image (`validation_failed`, `invalid_image`), or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 413, description = "Body or image over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn send_message(
    State(state): State<AppState>,
    caller: AuthUser,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SendMessageRequest>,
) -> ApiResult<impl IntoResponse> {
    let receiver = parse_user_id(&id)?;
    let input = parse_send(&body, &headers)?;
    let sent = chat::send_direct(&state, &caller, &receiver, input).await?;
    // A replay answers like the original send did, with the original message.
    Ok((StatusCode::CREATED, Json(sent.message)))
}

fn parse_message_id(raw: &str) -> ApiResult<MessageId> {
    MessageId::parse(raw).ok_or_else(|| ApiError::NotFound("Message not found".into()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditMessageRequest {
    #[schema(value_type = String, required = true)]
    text: Option<String>,
}

/// Edits a message's text (author only; sets `editedAt`).
#[utoipa::path(
    patch,
    path = "/api/messages/{id}",
    tag = "messages",
    params(("id" = String, Path, description = "Message id")),
    request_body = EditMessageRequest,
    responses(
        (status = 200, description = "The edited message", body = MessageResponse),
        (status = 400, description = "Missing or too long `text`, or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not the author", body = ErrorBody),
        (status = 404, description = "No such message (or not visible to the caller)", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn edit_message(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<EditMessageRequest>,
) -> ApiResult<Json<MessageResponse>> {
    let id = parse_message_id(&id)?;
    let text = match MessageText::parse(body.text.as_deref().unwrap_or("")) {
        Ok(Some(text)) => text,
        Ok(None) => {
            return Err(FieldErrors::single("text", "required", "Message text is required"));
        }
        Err(r) => return Err(FieldErrors::single("text", r, "Message text is too long")),
    };
    Ok(Json(chat::edit(&state, &caller, &id, text).await?))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DeletedMessage {
    #[serde(rename = "_id")]
    id: String,
    room_id: String,
    deleted: bool,
}

/// Deletes a message (author, room creator, moderator or admin).
#[utoipa::path(
    delete,
    path = "/api/messages/{id}",
    tag = "messages",
    params(("id" = String, Path, description = "Message id")),
    responses(
        (status = 200, description = "Deleted", body = DeletedMessage),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not allowed to delete it", body = ErrorBody),
        (status = 404, description = "No such message (or not visible to the caller)", body = ErrorBody),
    )
)]
async fn delete_message(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeletedMessage>> {
    let id = parse_message_id(&id)?;
    let message = chat::delete(&state, &caller, &id).await?;
    Ok(Json(DeletedMessage { id: message.id, room_id: message.room_id, deleted: true }))
}
