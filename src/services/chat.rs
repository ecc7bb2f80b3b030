//! Messages: direct conversations (a direct room per pair of users), edits and deletes.

use crate::auth::AuthUser;
use crate::db::messages::{self, InsertMessage, MessageRow, NewDirectMessage, Page};
use crate::domain::{MessageId, MessageText, Role, UserId, now_ms};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldErrors};
use crate::services::media::{self, ImageInput};
use crate::services::users;
use crate::startup::AppState;

pub struct SendMessage<'a> {
    pub text: Option<MessageText>,
    pub image: Option<ImageInput<'a>>,
    pub idempotency_key: Option<String>,
}

pub struct Sent {
    pub message: MessageRow,
    /// True when the idempotency key matched an earlier send: nothing new was written.
    pub replayed: bool,
}

fn message_not_found() -> ApiError {
    ApiError::NotFound("Message not found".into())
}

/// Sends a direct message; the pair's room is created by the first message.
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn send_direct(
    state: &AppState,
    caller: &AuthUser,
    receiver: &UserId,
    input: SendMessage<'_>,
) -> ApiResult<Sent> {
    if *receiver == caller.id {
        return Err(FieldErrors::single(
            "receiverId",
            "self",
            "You cannot send a message to yourself",
        ));
    }
    if input.text.is_none() && matches!(input.image, None | Some(ImageInput::Clear)) {
        return Err(FieldErrors::single(
            "text",
            "required",
            "A message needs text or an image",
        ));
    }
    users::get(state, receiver)
        .await
        .map_err(|_| ApiError::NotFound("User not found".into()))?;
    let image = match input.image {
        Some(image) => Some(media::resolve_image(state, &caller.id, "image", image).await?)
            .filter(|u| !u.is_empty()),
        None => None,
    };
    let inserted = messages::insert_direct_message(
        &state.db,
        NewDirectMessage {
            sender: &caller.id,
            receiver,
            text: input.text.as_ref().map(MessageText::as_str),
            image: image.as_deref(),
            idempotency_key: input.idempotency_key.as_deref(),
        },
        now_ms(),
    )
    .await?;
    Ok(match inserted {
        InsertMessage::Inserted(message) => Sent {
            message,
            replayed: false,
        },
        InsertMessage::Replayed(message) => Sent {
            message,
            replayed: true,
        },
    })
}

/// A page of the caller's conversation with `other`, oldest first.
pub async fn list_direct(
    state: &AppState,
    caller: &AuthUser,
    other: &UserId,
    page: Page<'_>,
) -> ApiResult<Vec<MessageRow>> {
    // Deleted users keep their history readable; unknown ids are 404.
    crate::db::users::find_user(&state.db, other)
        .await?
        .ok_or_else(|| ApiError::NotFound("User not found".into()))?;
    let Some(room_id) = messages::find_direct_room(&state.db, &caller.id, other).await? else {
        return Ok(Vec::new());
    };
    if !messages::is_member(&state.db, &room_id, &caller.id).await? {
        return Ok(Vec::new());
    }
    Ok(messages::list_room_messages(&state.db, &room_id, page).await?)
}

/// A message the caller may see: a member of its room, or a moderator/admin.
async fn visible_message(
    state: &AppState,
    caller: &AuthUser,
    id: &MessageId,
) -> ApiResult<MessageRow> {
    let message = messages::find_message(&state.db, id)
        .await?
        .ok_or_else(message_not_found)?;
    if caller.role().is_staff()
        || messages::is_member(&state.db, &message.room_id, &caller.id).await?
    {
        Ok(message)
    } else {
        Err(message_not_found())
    }
}

/// Edits a message's text: its author only.
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn edit(
    state: &AppState,
    caller: &AuthUser,
    id: &MessageId,
    text: MessageText,
) -> ApiResult<MessageRow> {
    let message = visible_message(state, caller, id).await?;
    if message.sender_id != caller.id.to_string() {
        return Err(ApiError::Forbidden(
            "Only the author can edit a message".into(),
        ));
    }
    messages::update_message_text(&state.db, id, text.as_str(), now_ms())
        .await?
        .ok_or_else(message_not_found)
}

/// Deletes a message: its author, the room's creator, a moderator or an admin.
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn delete(state: &AppState, caller: &AuthUser, id: &MessageId) -> ApiResult<MessageRow> {
    let message = visible_message(state, caller, id).await?;
    let me = caller.id.to_string();
    let is_group_creator =
        message.direct_key.is_none() && message.room_created_by.as_deref() == Some(me.as_str());
    let allowed = message.sender_id == me
        || is_group_creator
        || matches!(caller.role(), Role::Moderator | Role::Admin);
    if !allowed {
        return Err(ApiError::Forbidden("You cannot delete this message".into()));
    }
    if !messages::delete_message(&state.db, id, now_ms()).await? {
        return Err(message_not_found());
    }
    Ok(message)
}

/// Parses a paging cursor (a message id).
pub fn parse_cursor(field: &str, raw: Option<&str>) -> ApiResult<Option<MessageId>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => MessageId::parse(raw).map(Some).ok_or_else(|| {
            ApiError::BadRequest(
                ErrorCode::InvalidCursor,
                format!("`{field}` must be a message id").into(),
            )
        }),
    }
}
