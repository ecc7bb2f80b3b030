//! Messages: direct conversations (a direct room per pair of users), posting into rooms,
//! edits and deletes. Every write commits first; events go out after.

use crate::auth::AuthUser;
use crate::db::messages::{self, DirectAppend, InsertMessage, MessageRow, NewMessage, Page, RoomAppend};
use crate::db::rooms;
use crate::domain::{MediaId, MessageId, MessageText, Role, UserId, now_ms};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldErrors};
use crate::realtime::Event;
use crate::services::media::{self, ImageInput, Visibility};
use crate::services::page_cache;
use crate::startup::AppState;
use crate::views::{ChatApiUser, MessageResponse, TutorialPost, UserResponse, read_by_recipients};

pub struct SendMessage<'a> {
    pub text: Option<MessageText>,
    pub image: Option<ImageInput<'a>>,
    /// One of the caller's uploads (`POST /api/uploads`), by id.
    pub attachment: Option<MediaId>,
    pub idempotency_key: Option<String>,
}

pub struct Sent {
    pub message: MessageResponse,
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
        return Err(FieldErrors::single("receiverId", "self", "You cannot send a message to yourself"));
    }
    append_and_publish_to(state, caller, Target::Direct(receiver), input).await
}

fn check_content(input: &SendMessage<'_>) -> ApiResult<()> {
    if input.text.is_none() && input.attachment.is_none() && matches!(input.image, None | Some(ImageInput::Clear)) {
        return Err(FieldErrors::single("text", "required", "A message needs text, an image or an attachment"));
    }
    Ok(())
}

/// Where a message goes.
enum Target<'a> {
    /// The caller's direct room with this user (created by the first message).
    Direct(&'a UserId),
    /// A room the caller belongs to (checked by the caller of `append_and_publish`).
    Room(&'a str),
    /// A room, if the caller belongs to it (else 404, nothing written).
    MemberRoom(&'a str),
}

/// Stores the image (if any), appends the message to a room the caller belongs to, then
/// tells every member's sockets (`newMessage`) and the room's subscribers (`new message`).
pub async fn append_and_publish(
    state: &AppState,
    caller: &AuthUser,
    room_id: &str,
    input: SendMessage<'_>,
) -> ApiResult<Sent> {
    append_and_publish_to(state, caller, Target::Room(room_id), input).await
}

/// Posts to a room if the caller is a member (404 if not): the check, the append and the
/// member list for the fan-out in one store call.
pub async fn post_as_member(
    state: &AppState,
    caller: &AuthUser,
    room_id: &str,
    input: SendMessage<'_>,
) -> ApiResult<Sent> {
    append_and_publish_to(state, caller, Target::MemberRoom(room_id), input).await
}

async fn append_and_publish_to(
    state: &AppState,
    caller: &AuthUser,
    target: Target<'_>,
    input: SendMessage<'_>,
) -> ApiResult<Sent> {
    state.limits.messages_user.check(&caller.id)?;
    // The store checks the receiver or the membership again when it writes; checked first
    // where the request would otherwise fail on its content (a 404 comes before a 400) or
    // store an image for a message that cannot be written.
    let stores_media =
        matches!(input.image, Some(ImageInput::DataUrl(_) | ImageInput::Url(_))) || input.attachment.is_some();
    if check_content(&input).is_err() || stores_media {
        match target {
            Target::Direct(receiver) => {
                crate::services::users::get(state, receiver).await?;
            }
            Target::MemberRoom(room_id) => {
                if !rooms::is_member(&state.db, room_id, &caller.id).await? {
                    return Err(crate::services::rooms::room_not_found());
                }
            }
            Target::Room(_) => {}
        }
    }
    check_content(&input)?;
    let attachment = match &input.attachment {
        Some(id) => Some(media::attachment(state, caller, id).await?),
        None => None,
    };
    // A message's image is private like an attachment: its room's members are served it.
    let image = match input.image {
        Some(image) => Some(media::resolve_image(state, &caller.id, "image", image, Visibility::Private).await?),
        None => None,
    }
    .filter(|i| !i.url.is_empty());
    // A message carries one upload: its attachment, else its stored image.
    let media_id = match (&attachment, &image) {
        (Some((id, _)), _) => Some(id.clone()),
        (None, Some(image)) => image.media_id.map(|id| id.to_string()),
        (None, None) => None,
    };
    let new = |room_id| NewMessage {
        room_id,
        sender: &caller.id,
        text: input.text.as_ref().map(MessageText::as_str),
        image: image.as_ref().map(|i| i.url.as_str()),
        media_id: media_id.as_deref(),
        attachment: attachment.as_ref().map(|(_, json)| json.as_str()),
        idempotency_key: input.idempotency_key.as_deref(),
    };
    let mut members = None;
    let inserted = match target {
        Target::Room(room_id) => messages::append_message(&state.db, new(room_id)).await?,
        Target::MemberRoom(room_id) => match messages::append_as_member(&state.db, new(room_id)).await? {
            RoomAppend::NotMember => return Err(crate::services::rooms::room_not_found()),
            RoomAppend::Appended { inserted, members: ids } => {
                members = Some(ids);
                inserted
            }
        },
        Target::Direct(receiver) => match messages::append_direct(&state.db, receiver, new("")).await? {
            DirectAppend::Appended(inserted) => inserted,
            DirectAppend::ReceiverGone => return Err(ApiError::NotFound("User not found".into())),
            // The pair's first message creates their room.
            DirectAppend::NoRoomYet => {
                let (room_id, _) = rooms::ensure_direct_room(&state.db, &caller.id, receiver, now_ms()).await?;
                messages::append_message(&state.db, new(&room_id)).await?
            }
        },
    };
    let (row, replayed) = match inserted {
        InsertMessage::Inserted(row) => {
            metrics::counter!(crate::telemetry::names::MESSAGES_STORED).increment(1);
            (row, false)
        }
        InsertMessage::Replayed(row) => (row, true),
    };
    let room_id = row.room_id.clone();
    let members = match (members, row.direct_key.as_deref().and_then(|key| key.split_once(':'))) {
        (Some(members), _) => members,
        // A direct room's members are in its key: no query on the DM path.
        (None, Some((a, b))) => vec![a.to_string(), b.to_string()],
        (None, None) if !replayed => rooms::list_member_ids(&state.db, &room_id).await?,
        (None, None) => Vec::new(),
    };
    let message = MessageResponse::from(row);
    if !replayed {
        state.realtime.to_users(members.iter().map(String::as_str), &Event::NewMessage(&message)).await;
        let author = ChatApiUser::from(&UserResponse::from((*caller.user).clone()));
        let post = TutorialPost::new(&message, author, read_by_recipients(&message, &[]));
        state.realtime.to_channel(&room_id, &Event::RoomPost { message: &post }).await;
    }
    Ok(Sent { message, replayed })
}

/// A page of the caller's conversation with `other`, oldest first, as JSON: one lookup of
/// the pair's room and its version, then the page from the cache (or built once). With no
/// conversation yet, `other` must exist (404 if not) and the page is empty.
pub async fn list_direct_json(
    state: &AppState,
    caller: &AuthUser,
    other: &UserId,
    page: Page<'_>,
) -> ApiResult<bytes::Bytes> {
    let key = rooms::direct_key(&caller.id, other);
    match rooms::find_direct_room_version(&state.db, &key).await? {
        // Deleted users keep their history readable.
        Some((room_id, version)) => page_cache::conversation_page(state, &room_id, version, page).await,
        None if crate::db::users::find_user(&state.db, other).await?.is_none() => {
            Err(ApiError::NotFound("User not found".into()))
        }
        None => Ok(bytes::Bytes::from_static(b"[]")),
    }
}

/// A message the caller may see: a member of its room, or a moderator/admin.
async fn visible_message(state: &AppState, caller: &AuthUser, id: &MessageId) -> ApiResult<MessageRow> {
    let message = messages::find_message(&state.db, id).await?.ok_or_else(message_not_found)?;
    if caller.role().is_staff() || rooms::is_member(&state.db, &message.room_id, &caller.id).await? {
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
) -> ApiResult<MessageResponse> {
    let message = visible_message(state, caller, id).await?;
    if message.sender_id != caller.id.to_string() {
        return Err(ApiError::Forbidden("Only the author can edit a message".into()));
    }
    let row =
        messages::update_message_text(&state.db, id, text.as_str(), now_ms()).await?.ok_or_else(message_not_found)?;
    let updated = MessageResponse::from(row);
    let members = rooms::list_member_ids(&state.db, &updated.room_id).await?;
    state.realtime.to_users(members.iter().map(String::as_str), &Event::MessageUpdated(&updated)).await;
    Ok(updated)
}

/// Deletes a message: its author, the creator of its group room, a moderator or an admin.
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn delete(state: &AppState, caller: &AuthUser, id: &MessageId) -> ApiResult<MessageRow> {
    let message = visible_message(state, caller, id).await?;
    let me = caller.id.to_string();
    let is_group_creator = message.direct_key.is_none() && message.room_created_by.as_deref() == Some(me.as_str());
    let allowed = message.sender_id == me || is_group_creator || matches!(caller.role(), Role::Moderator | Role::Admin);
    if !allowed {
        return Err(ApiError::Forbidden("You cannot delete this message".into()));
    }
    if !messages::delete_message(&state.db, id, now_ms()).await? {
        return Err(message_not_found());
    }
    let members = rooms::list_member_ids(&state.db, &message.room_id).await?;
    let event = Event::MessageDeleted { id: &message.id, room_id: &message.room_id };
    state.realtime.to_users(members.iter().map(String::as_str), &event).await;
    Ok(message)
}

/// Parses a paging cursor (a message id).
pub fn parse_cursor(field: &str, raw: Option<&str>) -> ApiResult<Option<MessageId>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => MessageId::parse(raw).map(Some).ok_or_else(|| {
            ApiError::BadRequest(ErrorCode::InvalidCursor, format!("`{field}` must be a message id").into())
        }),
    }
}
