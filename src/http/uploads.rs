//! `POST /api/uploads` (multipart field `file`, streamed to storage) and `GET /uploads/<key>`
//! (streamed from storage, with validators, conditional requests and byte ranges). The
//! upload body is bounded by the largest per-kind limit, not by BODY_LIMIT.

use std::time::{Duration, UNIX_EPOCH};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http_range_header::RangeUnsatisfiableError;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::openapi::{ApiRoutes, Binary, ErrorBody};
use crate::auth::AuthUser;
use crate::auth::extract::MaybeAuthUser;
use crate::db::media::MediaRow;
use crate::error::{ApiError, ApiPath, ApiResult, FieldErrors};
use crate::services::media::{self, Accept, Kind, UploadError, Visibility};
use crate::startup::AppState;
use crate::views::UploadView;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new().routes(routes!(upload_file)).routes(routes!(serve_upload))
}

/// The multipart form of `POST /api/uploads`.
#[derive(ToSchema)]
#[allow(dead_code)] // only read by the schema derive
struct UploadForm {
    /// The file; its type is decided by its content, not its name.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    file: (),
}

/// What a form may carry on top of its file (other fields, part headers), plus what the
/// multipart parser may have read ahead when the file crosses its kind's limit.
const FORM_OVERHEAD: u64 = 1024 * 1024;

/// A streamed `multipart/form-data` body, bounded to `max_file` plus the form's overhead.
pub fn multipart(headers: &HeaderMap, body: Body, max_file: u64) -> ApiResult<multer::Multipart<'static>> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ApiError::UnsupportedMediaType("Expected a multipart/form-data body with a boundary".into()))?;
    // A backstop: each file's own kind limit is checked as its bytes arrive (`store_stream`).
    let limit = max_file.saturating_add(FORM_OVERHEAD);
    let limits = multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(limit).per_field(limit));
    let body = ReadAhead { inner: body.into_data_stream(), since_pause: 0 };
    Ok(multer::Multipart::with_constraints(body, boundary, limits))
}

/// How much multer may read ahead of the file chunks it has handed out.
const READ_AHEAD: usize = 64 * 1024;

/// multer reads its input until it would block, so a client faster than storage would be
/// buffered in memory up to the socket's window (several MiB). This pauses the body every
/// `READ_AHEAD` bytes (waking the task at once): multer then hands out what it holds before
/// it reads more, and the client is held back by TCP, not by natter's memory.
struct ReadAhead<S> {
    inner: S,
    since_pause: usize,
}

impl<S: futures::Stream<Item = Result<bytes::Bytes, axum::Error>> + Unpin> futures::Stream for ReadAhead<S> {
    type Item = Result<bytes::Bytes, axum::Error>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        if self.since_pause >= READ_AHEAD {
            self.since_pause = 0;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polled = std::pin::Pin::new(&mut self.inner).poll_next(cx);
        match &polled {
            Poll::Ready(Some(Ok(chunk))) => self.since_pause += chunk.len(),
            Poll::Pending => self.since_pause = 0,
            Poll::Ready(_) => {}
        }
        polled
    }
}

/// A multipart error as the client sees it.
pub fn multipart_error(e: multer::Error) -> UploadError {
    match &e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => UploadError::BodyTooLarge,
        _ => UploadError::Body(e.to_string()),
    }
}

/// A file field's bytes, as `store_stream` takes them.
pub fn field_stream(
    field: multer::Field<'static>,
) -> impl futures::Stream<Item = Result<bytes::Bytes, UploadError>> + Unpin + Send {
    Box::pin(field.map(|chunk| chunk.map_err(multipart_error)))
}

/// Stores the multipart field `file`: streamed to storage as it arrives, never held whole.
///
/// The type is sniffed from the first bytes: images (PNG, JPEG, GIF, WebP; `MAX_IMAGE_BYTES`),
/// videos (MP4, WebM, QuickTime, Matroska; `MAX_VIDEO_BYTES`), anything else a file served as
/// a download (`MAX_FILE_BYTES`). Uploads are private: served to their owner, and to the
/// members of a room once a message carries them as its `attachment`.
#[utoipa::path(
    post,
    path = "/api/uploads",
    tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = UploadView),
        (status = 400, description = "Malformed multipart body, no `file` field, or an empty file", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 413, description = "The file is over its kind's limit (nothing is kept)", body = ErrorBody),
        (status = 415, description = "Not a multipart/form-data body", body = ErrorBody),
        (status = 503, description = "File storage is unavailable (`storage_unavailable`); nothing was recorded", body = ErrorBody),
    )
)]
async fn upload_file(
    State(state): State<AppState>,
    caller: AuthUser,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<impl IntoResponse> {
    let mut form = multipart(&headers, body, state.media.max_upload_bytes())?;
    while let Some(field) = form.next_field().await.map_err(|e| multipart_error(e).for_field("file"))? {
        if field.name() != Some("file") {
            continue;
        }
        let stored =
            media::store_stream(&state, Some(&caller.id), Accept::Any, Visibility::Private, field_stream(field))
                .await
                .map_err(|e| e.for_field("file"))?;
        return Ok((StatusCode::CREATED, Json(stored.view())));
    }
    Err(FieldErrors::single("file", "required", "A multipart field named `file` is required"))
}

/// The bytes of an uploaded file, streamed from storage.
///
/// Answers `ETag`, `Last-Modified`, `Accept-Ranges`; `If-None-Match` / `If-Modified-Since`
/// give 304, a single `Range` (`bytes=a-b`, `bytes=a-`, `bytes=-n`) 206 with
/// `Content-Range` (several ranges: the whole file), a range outside the file 416. Private
/// files (message attachments and images) need the caller to be signed in and allowed to
/// read a message carrying them; the cookie is enough, so `<img src>` works in the browser.
#[utoipa::path(
    get,
    path = "/uploads/{*key}",
    tag = "uploads",
    security((), ("bearerAuth" = []), ("jwtCookie" = [])),
    params(("key" = String, Path, description = "The key of the file's URL, `<id>.<ext>`")),
    responses(
        (status = 200, description = "The file, with its stored (sniffed) content type", content_type = "*/*", body = Binary),
        (status = 206, description = "The requested range, with the file's content type", content_type = "*/*", body = Binary),
        (status = 304, description = "Not modified (`If-None-Match` / `If-Modified-Since`)"),
        (status = 401, description = "A private file, and no valid token", body = ErrorBody),
        (status = 404, description = "No such file, or one the caller may not read", body = ErrorBody),
        (status = 416, description = "Range outside the file (`Content-Range: bytes */<size>`)", body = ErrorBody),
        (status = 503, description = "File storage is unavailable", body = ErrorBody),
    )
)]
async fn serve_upload(
    State(state): State<AppState>,
    MaybeAuthUser(caller): MaybeAuthUser,
    method: Method,
    headers: HeaderMap,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Response> {
    let row = media::find_readable(&state, &key, caller.as_ref()).await?;
    let size = u64::try_from(row.bytes).unwrap_or(0);
    let validators = Validators::of(&row);
    let mut response = if validators.not_modified(&headers) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let range = requested_range(&headers, &validators, size)?;
        let length = range.as_ref().map_or(size, |r| r.end - r.start);
        let body = if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from_stream(media::read(&state, &row, range.clone()).await?)
        };
        let mut response = Response::new(body);
        let h = response.headers_mut();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(&row.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
        if Kind::parse(&row.kind) == Kind::File {
            // Not an image or a video: downloaded, never rendered in natter's origin.
            h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
        }
        if let Some(range) = range {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let value = format!("bytes {}-{}/{size}", range.start, range.end - 1);
            response.headers_mut().insert(header::CONTENT_RANGE, HeaderValue::from_str(&value).expect("ascii"));
        }
        response
    };
    let h = response.headers_mut();
    h.insert(header::ETAG, validators.etag_header());
    h.insert(header::LAST_MODIFIED, validators.last_modified_header());
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if row.private {
            // Cached by the browser only, and revalidated (304) so that a member who left
            // the room stops getting it.
            "private, no-cache"
        } else {
            // Keys are never reused, so the bytes behind a URL never change.
            "public, max-age=31536000, immutable"
        }),
    );
    Ok(response)
}

/// A stored file's validators: its content hash and its creation time.
struct Validators {
    etag: String,
    /// Seconds since the epoch (HTTP dates have no finer precision).
    modified_secs: u64,
}

impl Validators {
    fn of(row: &MediaRow) -> Self {
        let hash = row.sha256.get(..32).unwrap_or(&row.sha256);
        Self { etag: format!("\"{hash}\""), modified_secs: u64::try_from(row.created_at / 1000).unwrap_or(0) }
    }

    fn etag_header(&self) -> HeaderValue {
        HeaderValue::from_str(&self.etag).expect("hex")
    }

    fn last_modified(&self) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(self.modified_secs))
    }

    fn last_modified_header(&self) -> HeaderValue {
        HeaderValue::from_str(&self.last_modified()).expect("http date")
    }

    /// `If-None-Match` (weak comparison, `*`) decides when present, else `If-Modified-Since`.
    fn not_modified(&self, headers: &HeaderMap) -> bool {
        if let Some(value) = headers.get(header::IF_NONE_MATCH) {
            let value = value.to_str().unwrap_or("");
            return value.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == self.etag);
        }
        headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|since| since.duration_since(UNIX_EPOCH).ok())
            .is_some_and(|since| self.modified_secs <= since.as_secs())
    }

    /// `If-Range`: the range applies only if the client's copy is this one.
    fn range_applies(&self, headers: &HeaderMap) -> bool {
        match headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
            None => true,
            Some(v) if v.starts_with('"') => v == self.etag,
            Some(v) => v == self.last_modified(),
        }
    }
}

/// The one byte range (end exclusive) the request asks for, if it asks for one this answer
/// honours; a range outside the file is 416.
fn requested_range(headers: &HeaderMap, validators: &Validators, size: u64) -> ApiResult<Option<std::ops::Range<u64>>> {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    if !validators.range_applies(headers) {
        return Ok(None);
    }
    let parsed = match http_range_header::parse_range_header(value) {
        Ok(parsed) => parsed,
        // `bytes=-0` asks for nothing: unsatisfiable.
        Err(RangeUnsatisfiableError::ZeroSuffix) => return Err(ApiError::RangeNotSatisfiable(size)),
        // A Range header that does not parse is ignored (RFC 9110, 14.2): the whole file.
        Err(_) => return Ok(None),
    };
    match parsed.validate(size) {
        Ok(ranges) if ranges.len() == 1 => {
            let r = &ranges[0];
            if *r.start() >= size {
                return Err(ApiError::RangeNotSatisfiable(size));
            }
            Ok(Some(*r.start()..r.end() + 1))
        }
        // Several ranges: the whole file, which RFC 9110 allows instead of multipart/byteranges.
        Ok(_) => Ok(None),
        // A suffix longer than the file is the whole file.
        Err(RangeUnsatisfiableError::FileSuffixOutOfBounds) if parsed.ranges.len() == 1 => Ok(Some(0..size)),
        Err(_) => Err(ApiError::RangeNotSatisfiable(size)),
    }
}
