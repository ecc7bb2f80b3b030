//! The video-platform tutorial's envelope: every answer is `{statusCode, data, message,
//! success}` (`success` is `statusCode < 400`), errors included, as JSON (upstream renders
//! thrown errors as an HTML page).

use axum::Json;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;

/// A success: the HTTP status, the `data` and the `message`.
pub struct Answer<T>(pub StatusCode, pub T, pub &'static str);

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a, T> {
    status_code: u16,
    data: T,
    message: &'a str,
    success: bool,
}

impl<T: Serialize> IntoResponse for Answer<T> {
    fn into_response(self) -> Response {
        let Self(status, data, message) = self;
        (status, Json(Envelope { status_code: status.as_u16(), data, message, success: status.as_u16() < 400 }))
            .into_response()
    }
}

/// The tutorial's error body (its `ApiError`: `data` is always null).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VideotubeError)]
pub struct ErrorEnvelope<'a> {
    #[schema(example = 400)]
    status_code: u16,
    /// Always `null`.
    #[schema(value_type = Option<String>)]
    data: Option<()>,
    #[schema(example = "All fields are required")]
    message: &'a str,
    /// Always `false`.
    success: bool,
    /// One sentence per invalid field (empty otherwise).
    errors: Vec<&'a str>,
    /// natter's stable error code (`validation_failed`, `unauthorized`, …).
    #[schema(example = "validation_failed")]
    code: crate::error::ErrorCode,
}

/// An `ApiError` in the tutorial's envelope, with the native status and headers.
pub struct VideotubeError(pub ApiError);

impl<E: Into<ApiError>> From<E> for VideotubeError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl IntoResponse for VideotubeError {
    fn into_response(self) -> Response {
        let (status, code) = self.0.status_and_code();
        let errors: Vec<&str> = match &self.0 {
            ApiError::Validation(fields) => fields.messages().values().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        let body = serde_json::to_vec(&ErrorEnvelope {
            status_code: status.as_u16(),
            data: None,
            message: self.0.message(),
            success: false,
            errors,
            code,
        });
        // The native rendering keeps status, `WWW-Authenticate`, `Retry-After` and the
        // logging of internal errors; only the body is the tutorial's.
        let (mut parts, _) = self.0.into_response().into_parts();
        parts.headers.remove(axum::http::header::CONTENT_LENGTH);
        match body {
            Ok(bytes) => Response::from_parts(parts, Body::from(bytes)),
            Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, r#"{"success":false}"#).into_response(),
        }
    }
}

pub type VideotubeResult<T> = Result<T, VideotubeError>;

/// `axum::Json` refused in the tutorial's envelope (400 malformed, 413 too large, 415 not
/// JSON).
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(VideotubeError))]
pub struct VtJson<T>(pub T);

/// An optional raw body (the refresh route's), refused in the tutorial's envelope.
pub fn raw_body(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<axum::body::Bytes, VideotubeError> {
    body.map_err(|rejection| {
        let err = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge("Request body is too large".into())
        } else {
            ApiError::BadRequest(crate::error::ErrorCode::ValidationFailed, rejection.body_text().into())
        };
        VideotubeError(err)
    })
}
