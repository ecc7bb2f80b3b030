//! HTTP edge: parse and authenticate input, call one service function, shape the response.
//! No SQL and no business rules here.

pub mod auth;
pub mod cookies;
pub mod messages;
pub mod middleware;
pub mod openapi;
pub mod rooms;
pub mod service;
pub mod uploads;
pub mod users;

use axum::Router;
use serde::Serialize;

use crate::startup::AppState;
pub use crate::views::{MessageResponse, UserResponse};

/// Every route of the JSON API and the upload files.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(messages::router())
        .merge(rooms::router())
        .merge(uploads::router())
        .merge(service::router())
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
        Some(_) => Err(crate::error::FieldErrors::single("limit", "out_of_range", "limit must be between 1 and 1000")),
    }
}
