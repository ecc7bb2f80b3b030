//! HTTP edge: parse and authenticate input, call one service function, shape the response.
//! No SQL and no business rules here.

pub mod auth;
pub mod cookies;
pub mod messages;
pub mod middleware;
pub mod service;
pub mod uploads;
pub mod users;

use axum::Router;
use serde::Serialize;

use crate::db::messages::MessageRow;
use crate::db::users::UserRow;
use crate::startup::AppState;

/// Every route of the JSON API and the upload files.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(messages::router())
        .merge(uploads::router())
        .merge(service::router())
}

fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A user as every response shows it: never a password or its hash.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    #[serde(rename = "_id")]
    pub id: String,
    pub full_name: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub profile_pic: String,
    pub role: String,
    pub created_at: String,
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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageResponse {
    #[serde(rename = "_id")]
    pub id: String,
    pub room_id: String,
    pub sender_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_id: Option<String>,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
}

impl From<MessageRow> for MessageResponse {
    fn from(row: MessageRow) -> Self {
        // In a direct room the receiver is the member of the pair who is not the sender.
        let receiver_id = row.direct_key.as_deref().and_then(|key| {
            let (a, b) = key.split_once(':')?;
            Some(if a == row.sender_id {
                b.to_string()
            } else {
                a.to_string()
            })
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

/// `{"message": "..."}` bodies.
#[derive(Debug, Serialize)]
pub struct MessageBody {
    pub message: &'static str,
}

/// `limit` for list routes: 1–1000.
pub fn check_limit(limit: Option<u32>, default: u32) -> crate::error::ApiResult<u32> {
    match limit {
        None => Ok(default),
        Some(n @ 1..=1000) => Ok(n),
        Some(_) => Err(crate::error::FieldErrors::single(
            "limit",
            "out_of_range",
            "limit must be between 1 and 1000",
        )),
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
