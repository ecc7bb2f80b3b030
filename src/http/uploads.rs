//! `POST /api/uploads` (multipart field `file`) and `GET /uploads/<key>`. The request
//! body is bounded by BODY_LIMIT like every other; the file itself by MAX_IMAGE_BYTES.

use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiPath, ApiResult, ErrorCode, FieldErrors};
use crate::services::media;
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/uploads", post(upload_file)).route("/uploads/{*key}", get(serve_upload))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UploadResponse {
    #[serde(rename = "_id")]
    id: String,
    url: String,
    content_type: &'static str,
    bytes: usize,
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("File is too large".into())
    } else {
        ApiError::BadRequest(ErrorCode::ValidationFailed, format!("Malformed multipart body: {}", e.body_text()).into())
    }
}

async fn upload_file(
    State(state): State<AppState>,
    caller: AuthUser,
    mut multipart: Multipart,
) -> ApiResult<impl IntoResponse> {
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let bytes = field.bytes().await.map_err(multipart_error)?;
        let stored = media::store_upload(&state, &caller.id, bytes.to_vec()).await?;
        let body = UploadResponse {
            id: stored.id.to_string(),
            url: stored.url,
            content_type: stored.content_type,
            bytes: stored.bytes,
        };
        return Ok((StatusCode::CREATED, Json(body)));
    }
    Err(FieldErrors::single("file", "required", "A multipart field named `file` is required"))
}

async fn serve_upload(State(state): State<AppState>, ApiPath(key): ApiPath<String>) -> ApiResult<Response> {
    let (content_type, bytes) = media::open(&state, &key).await?;
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Keys are never reused, so the bytes behind a URL never change.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    Ok(response)
}
