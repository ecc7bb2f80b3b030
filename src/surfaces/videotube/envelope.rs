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

/// Documents each success of an operation as the envelope it is sent in: the schema a
/// handler declares for its answer is that of `data`, what the client receives is
/// `{statusCode, data, message, success: true}` (an answer declared without a schema has any
/// `data`).
pub fn document_success_envelope(operation: &mut utoipa::openapi::path::Operation) {
    use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, RefOr, Schema};
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        if !status.starts_with('2') {
            continue;
        }
        let data: RefOr<Schema> = response
            .content
            .get("application/json")
            .and_then(|c| match c {
                RefOr::T(content) => content.schema.clone(),
                RefOr::Ref(_) => None,
            })
            .unwrap_or_else(|| RefOr::T(Schema::Object(Object::new())));
        let envelope = ObjectBuilder::new()
            .property(
                "statusCode",
                ObjectBuilder::new().schema_type(Type::Integer).examples([status.parse::<u16>().unwrap_or(200)]),
            )
            .property("data", data)
            .property("message", ObjectBuilder::new().schema_type(Type::String))
            .property("success", ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([true])))
            .required("statusCode")
            .required("data")
            .required("message")
            .required("success")
            .build();
        response.content.clear();
        response
            .content
            .insert("application/json".into(), RefOr::T(ContentBuilder::new().schema(Some(envelope)).build()));
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

/// A page in mongoose-aggregate-paginate-v2's shape (`page` is 1-based).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paginated<T> {
    pub docs: Vec<T>,
    pub total_docs: i64,
    pub limit: u32,
    pub page: u64,
    pub total_pages: u64,
    /// The 1-based position of the page's first document.
    pub paging_counter: u64,
    pub has_prev_page: bool,
    pub has_next_page: bool,
    pub prev_page: Option<u64>,
    pub next_page: Option<u64>,
}

impl<T> Paginated<T> {
    pub fn new(docs: Vec<T>, total_docs: i64, paging: Paging) -> Self {
        let total = u64::try_from(total_docs).unwrap_or(0);
        let limit = u64::from(paging.limit);
        let total_pages = total.div_ceil(limit).max(1);
        let page = paging.page;
        Self {
            docs,
            total_docs,
            limit: paging.limit,
            page,
            total_pages,
            paging_counter: (page - 1) * limit + 1,
            has_prev_page: page > 1,
            has_next_page: page < total_pages,
            prev_page: (page > 1).then(|| page - 1),
            next_page: (page < total_pages).then(|| page + 1),
        }
    }
}

/// `?page` (1-based, default 1) and `?limit` (1–100, default 10).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number (default 1).
    page: Option<String>,
    /// Documents per page, 1–100 (default 10).
    limit: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub page: u64,
    pub limit: u32,
}

impl Paging {
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(u64::from(self.limit))
    }
}

impl PageQuery {
    pub fn new(page: Option<String>, limit: Option<String>) -> Self {
        Self { page, limit }
    }

    /// The tutorial's clients send numbers as query strings; anything else is a 400.
    pub fn parse(&self) -> Result<Paging, ApiError> {
        let mut errors = crate::error::FieldErrors::new();
        let page = match self.page.as_deref().map(str::parse::<u64>) {
            None => 1,
            Some(Ok(n)) if (1..=1_000_000).contains(&n) => n,
            Some(_) => {
                errors.add("page", "invalid", "page must be a whole number from 1");
                1
            }
        };
        let limit = match self.limit.as_deref().map(str::parse::<u32>) {
            None => 10,
            Some(Ok(n)) if (1..=100).contains(&n) => n,
            Some(_) => {
                errors.add("limit", "invalid", "limit must be a whole number from 1 to 100");
                10
            }
        };
        errors.into_result()?;
        Ok(Paging { page, limit })
    }
}
