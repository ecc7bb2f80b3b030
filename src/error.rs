//! One error type for every edge: `ApiError` renders the single JSON error shape of API.md
//! (`{success:false, statusCode, code, message, errors?}`). Extractor rejections, unknown
//! routes, wrong methods and panics all end up here.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::extract::FromRequest;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub type ApiResult<T> = Result<T, ApiError>;

/// Stable, machine-readable error codes: clients branch on these, never on `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    ValidationFailed,
    MalformedJson,
    InvalidCredentials,
    InvalidImage,
    /// An upload of a type the field does not take (a non-video `videoFile`, say).
    InvalidMedia,
    InvalidCursor,
    Unauthorized,
    Forbidden,
    NotFound,
    RouteNotFound,
    MethodNotAllowed,
    EmailTaken,
    UsernameTaken,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    /// A dependency the request needs is down (file storage): retry later.
    StorageUnavailable,
    RangeNotSatisfiable,
    InternalError,
}

/// Field name → reason code (`too_short`, `invalid`, …) plus one human sentence per field.
#[derive(Debug, Default)]
pub struct FieldErrors {
    fields: BTreeMap<String, String>,
    /// Field name → its sentence (the first one added for the field).
    messages: BTreeMap<String, String>,
    first_message: Option<String>,
}

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: &str, reason: &str, message: impl Into<String>) {
        let message = message.into();
        if self.first_message.is_none() {
            self.first_message = Some(message.clone());
        }
        self.fields.entry(field.to_string()).or_insert_with(|| reason.to_string());
        self.messages.entry(field.to_string()).or_insert(message);
    }

    /// Field name → sentence, for surfaces whose error bodies carry sentences per field.
    pub fn messages(&self) -> &BTreeMap<String, String> {
        &self.messages
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// `Ok(())` when nothing was added, else the validation error.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.is_empty() { Ok(()) } else { Err(ApiError::Validation(self)) }
    }

    /// A single-field validation error.
    pub fn single(field: &str, reason: &str, message: impl Into<String>) -> ApiError {
        let mut errors = Self::new();
        errors.add(field, reason, message);
        ApiError::Validation(errors)
    }
}

type Msg = Cow<'static, str>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("request validation failed")]
    Validation(FieldErrors),
    #[error("bad request: {1}")]
    BadRequest(ErrorCode, Msg),
    #[error("authentication required: {0}")]
    Unauthorized(Msg),
    #[error("not allowed: {0}")]
    Forbidden(Msg),
    #[error("not found: {0}")]
    NotFound(Msg),
    #[error("conflict: {1}")]
    Conflict(ErrorCode, Msg),
    #[error("payload too large: {0}")]
    PayloadTooLarge(Msg),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(Msg),
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("range not satisfiable for {0} bytes")]
    RangeNotSatisfiable(u64),
    #[error("unavailable: {1}")]
    Unavailable(ErrorCode, Msg),
    #[error("route not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Internal(e.into())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    success: bool,
    status_code: u16,
    code: ErrorCode,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a BTreeMap<String, String>>,
    /// The `X-Request-Id` of the request, to quote when reporting a problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<std::sync::Arc<str>>,
}

impl ApiError {
    pub fn status_and_code(&self) -> (StatusCode, ErrorCode) {
        use ErrorCode as C;
        match self {
            Self::Validation(_) => (StatusCode::BAD_REQUEST, C::ValidationFailed),
            Self::BadRequest(code, _) => (StatusCode::BAD_REQUEST, *code),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, C::Unauthorized),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, C::Forbidden),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, C::NotFound),
            Self::Conflict(code, _) => (StatusCode::CONFLICT, *code),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, C::PayloadTooLarge),
            Self::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, C::UnsupportedMediaType),
            Self::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, C::RateLimited),
            Self::Unavailable(code, _) => (StatusCode::SERVICE_UNAVAILABLE, *code),
            Self::RangeNotSatisfiable(_) => (StatusCode::RANGE_NOT_SATISFIABLE, C::RangeNotSatisfiable),
            Self::RouteNotFound => (StatusCode::NOT_FOUND, C::RouteNotFound),
            Self::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, C::MethodNotAllowed),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, C::InternalError),
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Validation(f) => f.first_message.as_deref().unwrap_or("Invalid input"),
            Self::BadRequest(_, m)
            | Self::Unauthorized(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::Conflict(_, m)
            | Self::PayloadTooLarge(m)
            | Self::UnsupportedMediaType(m)
            | Self::Unavailable(_, m) => m,
            Self::RateLimited { .. } => "Too many requests, try again later",
            Self::RangeNotSatisfiable(_) => "The requested range is outside the file",
            Self::RouteNotFound => "Route not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Internal(_) => "Internal server error",
        }
    }
}

/// The error body for a bare status (used for responses produced outside our handlers).
pub fn error_response_for_status(status: StatusCode) -> Response {
    let err = match status {
        StatusCode::NOT_FOUND => ApiError::RouteNotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge("Request body is too large".into()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType("Unsupported content type".into()),
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized("Authentication required".into()),
        StatusCode::FORBIDDEN => ApiError::Forbidden("Not allowed".into()),
        s if s.is_client_error() => ApiError::BadRequest(ErrorCode::ValidationFailed, "Bad request".into()),
        _ => {
            return render(status, ErrorCode::InternalError, "Internal server error", None);
        }
    };
    let mut response = err.into_response();
    *response.status_mut() = status;
    response
}

fn render(status: StatusCode, code: ErrorCode, message: &str, errors: Option<&BTreeMap<String, String>>) -> Response {
    let request_id = crate::telemetry::current_request_id();
    let body = ErrorBody { success: false, status_code: status.as_u16(), code, message, errors, request_id };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(e) = &self {
            tracing::error!(error = ?e, "internal error");
        }
        let errors = match &self {
            Self::Validation(f) => Some(&f.fields),
            _ => None,
        };
        let mut response = render(status, code, self.message(), errors);
        match &self {
            Self::Unauthorized(_) => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::RateLimited { retry_after_secs } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            Self::RangeNotSatisfiable(len) => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    response.headers_mut().insert(header::CONTENT_RANGE, v);
                }
            }
            Self::Unavailable(..) => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                Self::UnsupportedMediaType("Expected a JSON body with Content-Type: application/json".into())
            }
            JsonRejection::JsonSyntaxError(e) => {
                Self::BadRequest(ErrorCode::MalformedJson, format!("Malformed JSON: {}", e.body_text()).into())
            }
            JsonRejection::JsonDataError(e) => {
                Self::BadRequest(ErrorCode::ValidationFailed, format!("Invalid JSON body: {}", e.body_text()).into())
            }
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Self::PayloadTooLarge("Request body is too large".into())
            }
            other => Self::BadRequest(ErrorCode::MalformedJson, other.body_text().into()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(ErrorCode::ValidationFailed, rejection.body_text().into())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(ErrorCode::ValidationFailed, format!("Invalid query: {}", rejection.body_text()).into())
    }
}

/// `axum::Json` whose rejection is an `ApiError`.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejection is an `ApiError`.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` whose rejection is an `ApiError`.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);
