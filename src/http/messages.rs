//! `/api/messages`: the tutorial's direct-message routes.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::users::{ListUsersQuery, parse_user_id, user_page};
use super::{MessageResponse, check_limit};
use crate::auth::AuthUser;
use crate::db::messages::Page;
use crate::domain::{MessageId, MessageText};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, FieldErrors};
use crate::services::chat::{self, SendMessage, parse_cursor};
use crate::services::media::ImageInput;
use crate::services::users as user_service;
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/messages/users", get(list_sidebar_users))
        .route("/api/messages/send/{id}", post(send_message))
        // GET takes the other user's id; PATCH and DELETE a message id.
        .route("/api/messages/{id}", get(list_messages).patch(edit_message).delete(delete_message))
}

/// Without paging parameters the sidebar gets everyone (up to the 1,000 limit), as the
/// tutorial's frontend expects.
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

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub before: Option<String>,
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

async fn list_messages(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<Vec<MessageResponse>>> {
    let other = parse_user_id(&id)?;
    let page = query.parse(200)?;
    Ok(Json(chat::list_direct(&state, &caller, &other, page.page()).await?))
}

#[derive(Debug, Deserialize)]
pub struct SendMessageRequest {
    text: Option<String>,
    image: Option<String>,
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
    let idempotency_key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(key)) if !key.is_empty() && key.len() <= 255 => Some(key.to_string()),
        Some(_) => {
            errors.add("Idempotency-Key", "invalid", "Idempotency-Key must be 1-255 visible ASCII characters");
            None
        }
    };
    errors.into_result()?;
    Ok(SendMessage { text, image, idempotency_key })
}

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

#[derive(Debug, Deserialize)]
pub struct EditMessageRequest {
    text: Option<String>,
}

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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeletedMessage {
    #[serde(rename = "_id")]
    id: String,
    room_id: String,
    deleted: bool,
}

async fn delete_message(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<DeletedMessage>> {
    let id = parse_message_id(&id)?;
    let message = chat::delete(&state, &caller, &id).await?;
    Ok(Json(DeletedMessage { id: message.id, room_id: message.room_id, deleted: true }))
}
