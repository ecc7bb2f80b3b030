//! HTTP edge: parse and authenticate input, call one service function, shape the response.
//! No SQL and no business rules here.

pub mod auth;
pub mod cookies;
pub mod docs;
pub mod messages;
pub mod middleware;
pub mod openapi;
pub mod rooms;
pub mod security;
pub mod service;
pub mod uploads;
pub mod users;
pub mod webclient;

use axum::http::Method;
use axum::{Extension, Router};
use serde::Serialize;

use self::openapi::ApiRoutes;
use crate::startup::AppState;
pub use crate::views::{MessageResponse, UserResponse};

/// Every route natter serves over HTTP (Socket.IO aside), registered with its OpenAPI
/// documentation: each module's `routes()` lists its handlers, one `.routes(routes!(…))`
/// line per path (see `openapi`).
pub fn api_routes() -> ApiRoutes {
    ApiRoutes::new()
        .merge(auth::routes())
        .merge(users::routes())
        .merge(messages::routes())
        .merge(rooms::routes())
        .merge(uploads::routes())
        .merge(service::routes())
        .merge(docs::routes())
        .merge(crate::surfaces::routes())
}

/// The router of `api_routes()`, serving its own OpenAPI document at `/api/openapi.json`.
pub fn router() -> Router<AppState> {
    let (router, spec) = api_routes().split();
    router.layer(Extension(docs::Docs::new(&spec)))
}

/// Every (method, path) `router()` mounts, in axum's path syntax (`{*key}` is a wildcard).
pub fn route_table() -> Vec<(Method, String)> {
    api_routes().table()
}

/// The OpenAPI document `/api/openapi.json` serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split().1
}

/// `{"message": "..."}` bodies.
#[derive(Debug, Serialize, utoipa::ToSchema)]
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

/// A body that is already JSON (a cached page), sent as `application/json`.
pub fn json_bytes(body: bytes::Bytes) -> axum::response::Response {
    use axum::response::IntoResponse;
    ([(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"))], body)
        .into_response()
}
