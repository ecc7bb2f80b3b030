//! `POST /api/uploads` (multipart field `file`) and `GET /uploads/<key>`. The request
//! body is bounded by BODY_LIMIT like every other; the file itself by MAX_IMAGE_BYTES.

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::openapi::{ApiRoutes, Binary, ErrorBody};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiPath, ApiResult, ErrorCode, FieldErrors};
use crate::services::media;
use crate::startup::AppState;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new().routes(routes!(upload_file)).routes(routes!(serve_upload))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Upload)]
struct UploadResponse {
    #[serde(rename = "_id")]
    id: String,
    /// Where `GET /uploads/{key}` serves it.
    url: String,
    /// Sniffed from the bytes: `image/png`, `image/jpeg`, `image/gif` or `image/webp`.
    #[schema(example = "image/png")]
    content_type: &'static str,
    bytes: usize,
}

/// The multipart form of `POST /api/uploads`.
#[derive(ToSchema)]
#[allow(dead_code)] // only read by the schema derive
struct UploadForm {
    /// The file; its type is decided by its content, not its name.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    file: (),
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge("File is too large".into())
    } else {
        ApiError::BadRequest(ErrorCode::ValidationFailed, format!("Malformed multipart body: {}", e.body_text()).into())
    }
}

/// Stores an image sent as the multipart field `file`.
#[utoipa::path(
    post,
    path = "/api/uploads",
    tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = UploadResponse),
        (status = 400, description = "Not a multipart body, no `file` field, or not an accepted image (`invalid_image`)", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 413, description = "Body or file over the limit", body = ErrorBody),
    )
)]
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

/// The bytes of an uploaded file, with the stored content type and `nosniff`.
#[utoipa::path(
    get,
    path = "/uploads/{*key}",
    tag = "uploads",
    security(()),
    params(("key" = String, Path, description = "The key of the file's URL, `<id>.<ext>`")),
    responses(
        (status = 200, description = "The file, immutable", content_type = "application/octet-stream", body = Binary),
        (status = 404, description = "No such file", body = ErrorBody),
    )
)]
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
