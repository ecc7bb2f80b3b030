//! JSON shapes shared by the HTTP API and the Socket.IO events (a `newMessage` carries the
//! same Message a REST call returns).

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::messages::MessageRow;
use crate::db::users::UserRow;

pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A user as every response shows it: never a password or its hash.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = User)]
pub struct UserResponse {
    #[serde(rename = "_id")]
    pub id: String,
    pub full_name: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub username: Option<String>,
    /// A URL, or `""`.
    pub profile_pic: String,
    /// `user`, `moderator` or `admin`.
    #[schema(example = "user")]
    pub role: String,
    /// The chat-API tutorial's `type`, shown only in its documents.
    #[serde(skip)]
    pub user_type: String,
    /// RFC 3339 UTC.
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<UserRow> for UserResponse {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            full_name: row.full_name,
            email: row.email,
            username: row.username,
            profile_pic: row.profile_pic,
            role: row.role,
            user_type: row.user_type,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Message)]
pub struct MessageResponse {
    /// Time-ordered: messages sort by `(createdAt, _id)`.
    #[serde(rename = "_id")]
    pub id: String,
    pub room_id: String,
    pub sender_id: String,
    /// Direct rooms only: the other member.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub receiver_id: Option<String>,
    /// `""` for an image-only message.
    pub text: String,
    /// The image's URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub image: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Set once the author edited it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, format = DateTime)]
    pub edited_at: Option<String>,
    /// The upload sent with the message (`attachment` of the send request). Private: only
    /// the room's members are served its URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = UploadView)]
    pub attachment: Option<Box<serde_json::value::RawValue>>,
}

/// A stored upload: what `POST /api/uploads` answers and what a message's `attachment` shows.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Upload)]
pub struct UploadView {
    #[serde(rename = "_id")]
    pub id: String,
    /// Where `GET /uploads/{key}` serves it.
    pub url: String,
    /// Sniffed from the bytes, e.g. `image/png`, `video/mp4`, `application/pdf`.
    #[schema(example = "image/png")]
    pub content_type: String,
    pub bytes: u64,
}

impl From<MessageRow> for MessageResponse {
    fn from(row: MessageRow) -> Self {
        // In a direct room the receiver is the member of the pair who is not the sender.
        let receiver_id = row.direct_key.as_deref().and_then(|key| {
            let (a, b) = key.split_once(':')?;
            Some(if a == row.sender_id { b.to_string() } else { a.to_string() })
        });
        Self {
            id: row.id,
            room_id: row.room_id,
            sender_id: row.sender_id,
            receiver_id,
            text: row.text.unwrap_or_default(),
            image: row.image.filter(|i| !i.is_empty()),
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
            edited_at: row.edited_at.map(rfc3339),
            // Written by natter at send time; a row that does not parse shows none.
            attachment: row.attachment.and_then(|json| serde_json::value::RawValue::from_string(json).ok()),
        }
    }
}

/// One member's read mark.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReadMark {
    pub user_id: String,
    /// `null` until the member has read anything.
    pub read_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Room)]
pub struct RoomResponse {
    #[serde(rename = "_id")]
    pub id: String,
    /// `direct` (exactly two members) or `group`.
    #[schema(example = "group")]
    pub kind: String,
    /// The tutorial's label: `consumer-to-consumer` (default) or `consumer-to-support`.
    #[serde(rename = "type")]
    #[schema(example = "consumer-to-consumer")]
    pub room_type: String,
    pub name: Option<String>,
    pub created_by: Option<String>,
    /// Shared with the profile cache (`auth::cache`).
    #[schema(value_type = Vec<UserResponse>)]
    pub members: Vec<Arc<UserResponse>>,
    pub reads: Vec<ReadMark>,
    /// Shared with the room cache (`services::room_cache`).
    #[schema(value_type = Option<MessageResponse>)]
    pub last_message: Option<Arc<MessageResponse>>,
    /// Messages of others after the caller's read mark.
    pub unread_count: i64,
    /// Per caller.
    pub muted: bool,
    /// On create only: `true` when the room was created, `false` when an existing room with
    /// the same members and type was returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = bool)]
    pub is_new: Option<bool>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// `messagesRead` and the mark-read response.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadReceipt {
    pub room_id: String,
    pub user_id: String,
    pub read_at: String,
}

/// A user in the chat-API tutorial's shape: its `firstName`/`lastName` are natter's
/// `fullName` split at the first space.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiUser)]
pub struct ChatApiUser {
    #[serde(rename = "_id")]
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    /// `consumer` or `support`.
    #[serde(rename = "type")]
    #[schema(example = "consumer")]
    pub user_type: String,
    pub email: String,
    pub profile_pic: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&UserResponse> for ChatApiUser {
    fn from(u: &UserResponse) -> Self {
        let (first, last) = u.full_name.split_once(' ').unwrap_or((&u.full_name, ""));
        Self {
            id: u.id.clone(),
            first_name: first.to_string(),
            last_name: last.trim().to_string(),
            user_type: u.user_type.clone(),
            email: u.email.clone(),
            profile_pic: u.profile_pic.clone(),
            created_at: u.created_at.clone(),
            updated_at: u.updated_at.clone(),
        }
    }
}

/// A message in the chat-API tutorial's shape (its `post`, its conversation entries and
/// the `{message}` of its `new message` event).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiPost)]
pub struct TutorialPost {
    /// The message id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The message id again (the tutorial's new post carries it as `postId`).
    pub post_id: String,
    pub chat_room_id: String,
    pub message: PostBody,
    /// Always `text`.
    #[serde(rename = "type")]
    pub post_type: &'static str,
    pub posted_by_user: ChatApiUser,
    pub read_by_recipients: Vec<ReadByRecipient>,
    /// The room's members (on a new post only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_room_info: Option<Vec<ChatApiUser>>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiPostBody)]
pub struct PostBody {
    pub message_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    pub image: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiReadBy)]
pub struct ReadByRecipient {
    pub read_by_user_id: String,
    #[schema(format = DateTime)]
    pub read_at: String,
}

/// Who has read a message, from the members' read watermarks: its author (when it was
/// sent) and every member whose mark is at or after it.
pub fn read_by_recipients(m: &MessageResponse, reads: &[ReadMark]) -> Vec<ReadByRecipient> {
    let mut out = vec![ReadByRecipient { read_by_user_id: m.sender_id.clone(), read_at: m.created_at.clone() }];
    for mark in reads.iter().filter(|r| r.user_id != m.sender_id) {
        // Both are `rfc3339` output (fixed width, UTC), so text order is time order.
        if let Some(at) = mark.read_at.as_ref().filter(|at| **at >= m.created_at) {
            out.push(ReadByRecipient { read_by_user_id: mark.user_id.clone(), read_at: at.clone() });
        }
    }
    out
}

impl TutorialPost {
    pub fn new(m: &MessageResponse, author: ChatApiUser, read_by: Vec<ReadByRecipient>) -> Self {
        Self {
            id: m.id.clone(),
            post_id: m.id.clone(),
            chat_room_id: m.room_id.clone(),
            message: PostBody { message_text: m.text.clone(), image: m.image.clone() },
            post_type: "text",
            posted_by_user: author,
            read_by_recipients: read_by,
            chat_room_info: None,
            created_at: m.created_at.clone(),
            updated_at: m.updated_at.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(rfc3339(1_767_323_045_678), "2026-01-02T03:04:05.678Z");
    }
}
