//! JSON shapes shared by the HTTP API and the Socket.IO events (a `newMessage` carries the
//! same Message a REST call returns).

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
    pub members: Vec<UserResponse>,
    pub reads: Vec<ReadMark>,
    pub last_message: Option<MessageResponse>,
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

/// A message in the chat-API tutorial's shape (`new message` event).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TutorialPost {
    #[serde(rename = "_id")]
    pub id: String,
    pub chat_room_id: String,
    pub message: PostBody,
    #[serde(rename = "type")]
    pub post_type: &'static str,
    pub posted_by_user: String,
    pub read_by_recipients: Vec<ReadByRecipient>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostBody {
    pub message_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadByRecipient {
    pub read_by_user_id: String,
    pub read_at: String,
}

impl From<&MessageResponse> for TutorialPost {
    fn from(m: &MessageResponse) -> Self {
        Self {
            id: m.id.clone(),
            chat_room_id: m.room_id.clone(),
            message: PostBody { message_text: m.text.clone(), image: m.image.clone() },
            post_type: "text",
            posted_by_user: m.sender_id.clone(),
            read_by_recipients: vec![ReadByRecipient {
                read_by_user_id: m.sender_id.clone(),
                read_at: m.created_at.clone(),
            }],
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
