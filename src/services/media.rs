//! Uploads: images from data URLs, and files of any kind streamed from multipart bodies.
//! The type is sniffed from the first bytes (never the name or the declared type), each kind
//! has its size limit, checked while the bytes arrive, and the bytes go through
//! `object_store` to a local directory (default) or any S3-compatible bucket, one code path.
//! Files are stored under server-generated keys and served from `/uploads/<key>`; private
//! ones (message attachments and images) only to those who may read the message.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, Stream, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{
    ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use sha2::{Digest, Sha256};

use crate::auth::AuthUser;
use crate::config::Settings;
use crate::db::media::{self, MediaRow, NewMedia};
use crate::domain::{MediaId, UserId, now_ms};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldErrors};
use crate::services::images;
use crate::startup::AppState;
use crate::views::UploadView;

/// Image types accepted (as images), and the file extension each is stored under.
const IMAGES: &[(&str, &str)] =
    &[("image/png", "png"), ("image/jpeg", "jpg"), ("image/gif", "gif"), ("image/webp", "webp")];
/// Video types accepted (as videos): containers a browser or player seeks in.
const VIDEOS: &[(&str, &str)] = &[
    ("video/mp4", "mp4"),
    ("video/x-m4v", "m4v"),
    ("video/webm", "webm"),
    ("video/quicktime", "mov"),
    ("video/x-matroska", "mkv"),
];
/// How many leading bytes decide the type.
const SNIFF_BYTES: usize = 8 * 1024;
/// Multipart part size on local disk (S3's parts are `STORAGE_PART_SIZE`).
const LOCAL_PART_BYTES: usize = 1024 * 1024;

/// What an upload is, by its sniffed type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Video,
    /// Anything else: served as a download (`Content-Disposition: attachment`).
    File,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::File => "file",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "image" => Self::Image,
            "video" => Self::Video,
            _ => Self::File,
        }
    }
}

/// Which kinds a field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    Images,
    Videos,
    Any,
}

impl Accept {
    fn takes(self, kind: Kind) -> bool {
        matches!((self, kind), (Self::Any, _) | (Self::Images, Kind::Image) | (Self::Videos, Kind::Video))
    }
}

/// Who is served a stored file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Anyone (avatars, public videos).
    Public,
    /// Its owner, staff, and members of a room holding a live message that carries it.
    Private,
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    image: u64,
    video: u64,
    file: u64,
}

impl Limits {
    fn of(&self, kind: Kind) -> u64 {
        match kind {
            Kind::Image => self.image,
            Kind::Video => self.video,
            Kind::File => self.file,
        }
    }
}

#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    /// `local` or `s3`, for `/readyz`.
    backend: &'static str,
    /// Prefix of returned URLs: `PUBLIC_URL` without a trailing slash, or "" for relative URLs.
    public_base: String,
    limits: Limits,
    part_size: usize,
    /// Image re-encodes at once (CPU and up to 256 MB each): one per core.
    image_work: Arc<tokio::sync::Semaphore>,
}

/// A stored upload.
pub struct StoredMedia {
    pub id: MediaId,
    pub url: String,
    pub content_type: &'static str,
    pub bytes: u64,
    pub kind: Kind,
}

impl StoredMedia {
    pub fn view(&self) -> UploadView {
        UploadView {
            id: self.id.to_string(),
            url: self.url.clone(),
            content_type: self.content_type.to_string(),
            bytes: self.bytes,
        }
    }
}

impl MediaStore {
    /// The store `STORAGE_URL` names: `file://` (default `DATA_DIR/uploads`) or `s3://`.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        let url = settings.storage_url.as_deref().map(str::trim).filter(|u| !u.is_empty());
        let (store, backend, part_size): (Arc<dyn ObjectStore>, _, _) = match url {
            None => (Arc::new(local_store(&settings.upload_dir())?), "local", LOCAL_PART_BYTES),
            Some(url) if url.starts_with("file://") => {
                let dir = std::path::PathBuf::from(&url["file://".len()..]);
                anyhow::ensure!(
                    dir.is_absolute(),
                    "STORAGE_URL file:// needs an absolute path, e.g. file:///srv/uploads"
                );
                (Arc::new(local_store(&dir)?), "local", LOCAL_PART_BYTES)
            }
            Some(url) if url.starts_with("s3://") => (s3_store(settings, url)?, "s3", settings.storage_part_size),
            Some(_) => anyhow::bail!("STORAGE_URL must start with file:// or s3://"),
        };
        Ok(Self {
            store,
            backend,
            public_base: settings.public_url.as_deref().unwrap_or("").trim_end_matches('/').to_string(),
            limits: Limits {
                image: settings.max_image_bytes as u64,
                video: settings.max_video_bytes as u64,
                file: settings.max_file_bytes as u64,
            },
            part_size,
            image_work: Arc::new(tokio::sync::Semaphore::new(settings.hash_concurrency())),
        })
    }

    pub fn max_image_bytes(&self) -> usize {
        usize::try_from(self.limits.image).unwrap_or(usize::MAX)
    }

    /// The largest upload of any kind: the bound of a multipart body.
    pub fn max_upload_bytes(&self) -> u64 {
        self.limits.image.max(self.limits.video).max(self.limits.file)
    }

    pub fn backend_name(&self) -> &'static str {
        self.backend
    }

    fn url_for(&self, key: &str) -> String {
        format!("{}/uploads/{key}", self.public_base)
    }

    /// Whether the storage answers (a listing of an empty prefix: the bucket must exist).
    pub async fn reachable(&self) -> bool {
        let probe = StorePath::from("natter-readyz");
        match tokio::time::timeout(Duration::from_secs(3), self.store.list_with_delimiter(Some(&probe))).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: file storage unreachable");
                false
            }
            Err(_) => {
                tracing::warn!("readiness: file storage did not answer within 3 s");
                false
            }
        }
    }
}

fn local_store(dir: &std::path::Path) -> anyhow::Result<LocalFileSystem> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the upload directory {}", dir.display()))?;
    Ok(LocalFileSystem::new_with_prefix(dir)?)
}

/// `s3://bucket[/prefix]` with the STORAGE_S3_* settings over the standard `AWS_*`
/// environment. Requests fail fast (two retries) so that a bucket that is down turns into
/// a 503 within seconds instead of holding requests for minutes.
fn s3_store(settings: &Settings, url: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let rest = &url["s3://".len()..];
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    anyhow::ensure!(!bucket.is_empty(), "STORAGE_URL s3:// needs a bucket: s3://bucket[/prefix]");
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_virtual_hosted_style_request(!settings.storage_s3_path_style)
        .with_retry(RetryConfig { max_retries: 2, retry_timeout: Duration::from_secs(10), ..Default::default() })
        .with_client_options(
            ClientOptions::new().with_connect_timeout(Duration::from_secs(3)).with_timeout(Duration::from_secs(60)),
        );
    if let Some(endpoint) = &settings.storage_s3_endpoint {
        builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
    }
    if let Some(region) = &settings.storage_s3_region {
        builder = builder.with_region(region);
    }
    if let Some(key) = &settings.storage_s3_access_key_id {
        builder = builder.with_access_key_id(key);
    }
    if let Some(secret) = &settings.storage_s3_secret_access_key {
        builder = builder.with_secret_access_key(secret);
    }
    let store = builder.build().context("configuring the S3 store (STORAGE_URL, STORAGE_S3_*)")?;
    let prefix = prefix.trim_matches('/');
    Ok(if prefix.is_empty() { Arc::new(store) } else { Arc::new(PrefixStore::new(store, prefix)) })
}

/// What a client may send as an image field: a data URL to store, a URL to keep, or "".
pub enum ImageInput<'a> {
    DataUrl(&'a str),
    Url(&'a str),
    Clear,
}

impl<'a> ImageInput<'a> {
    pub fn parse(raw: &'a str) -> Result<Self, &'static str> {
        let s = raw.trim();
        if s.is_empty() {
            Ok(Self::Clear)
        } else if s.starts_with("data:") {
            Ok(Self::DataUrl(s))
        } else if (s.starts_with("https://") || s.starts_with("http://") || s.starts_with("/uploads/"))
            && s.len() <= 2048
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            Ok(Self::Url(s))
        } else {
            Err("invalid")
        }
    }
}

/// An image field resolved: the URL to store ("" to clear) and the upload it stored, if any.
pub struct ResolvedImage {
    pub url: String,
    pub media_id: Option<MediaId>,
}

/// Resolves an image field, storing data URLs with the given visibility.
pub async fn resolve_image(
    state: &AppState,
    owner: &UserId,
    field: &str,
    input: ImageInput<'_>,
    visibility: Visibility,
) -> ApiResult<ResolvedImage> {
    match input {
        ImageInput::Clear => Ok(ResolvedImage { url: String::new(), media_id: None }),
        ImageInput::Url(url) => Ok(ResolvedImage { url: url.to_string(), media_id: None }),
        ImageInput::DataUrl(data_url) => {
            let bytes = decode_data_url(data_url, state.media.max_image_bytes()).map_err(|e| e.for_field(field))?;
            let chunks = futures::stream::iter([Ok(Bytes::from(bytes))]);
            let stored = store_stream(state, Some(owner), Accept::Images, visibility, chunks)
                .await
                .map_err(|e| e.for_field(field))?;
            Ok(ResolvedImage { url: stored.url, media_id: Some(stored.id) })
        }
    }
}

/// Why an upload was refused or failed.
#[derive(Debug)]
pub enum UploadError {
    TooLarge {
        kind: Kind,
        max: u64,
    },
    /// Not a base64 data URL.
    Malformed,
    /// A type the field does not take.
    Unsupported(Accept),
    Empty,
    /// The request body broke off or was malformed mid-file.
    Body(String),
    /// The whole request body is over what any upload may be.
    BodyTooLarge,
    /// The object store failed (down, refusing, timing out).
    Storage(object_store::Error),
    /// An image whose dimensions, decoded size or frame count is over the bounds.
    TooManyPixels,
    Failed(ApiError),
}

impl UploadError {
    /// The error a client sees, naming the form field.
    pub fn for_field(self, field: &str) -> ApiError {
        match self {
            Self::TooLarge { kind, max } => ApiError::PayloadTooLarge(
                format!("`{field}`: {} is larger than the {} limit", kind_noun(kind), bytesize::ByteSize(max)).into(),
            ),
            Self::Malformed => FieldErrors::single(field, "invalid_data_url", "Image must be a base64 data URL"),
            Self::Unsupported(Accept::Images) => ApiError::BadRequest(
                ErrorCode::InvalidImage,
                format!("`{field}` must be a PNG, JPEG, GIF or WebP image").into(),
            ),
            Self::Unsupported(_) => ApiError::BadRequest(
                ErrorCode::InvalidMedia,
                format!("`{field}` must be a video (MP4, WebM, QuickTime or Matroska)").into(),
            ),
            Self::Empty => FieldErrors::single(field, "empty", format!("`{field}` is empty")),
            Self::TooManyPixels => ApiError::BadRequest(
                ErrorCode::InvalidImage,
                format!("`{field}` has too many pixels or frames (at most 12000 × 12000)").into(),
            ),
            Self::BodyTooLarge => {
                ApiError::PayloadTooLarge("The request body is larger than the largest upload accepted".into())
            }
            Self::Body(reason) => {
                ApiError::BadRequest(ErrorCode::ValidationFailed, format!("Malformed multipart body: {reason}").into())
            }
            Self::Storage(e) => {
                tracing::warn!(error = %e, "file storage failed");
                storage_unavailable()
            }
            Self::Failed(e) => e,
        }
    }
}

fn kind_noun(kind: Kind) -> &'static str {
    match kind {
        Kind::Image => "the image",
        Kind::Video => "the video",
        Kind::File => "the file",
    }
}

fn storage_unavailable() -> ApiError {
    ApiError::Unavailable(ErrorCode::StorageUnavailable, "File storage is unavailable, try again later".into())
}

/// Decodes `data:<type>;base64,<payload>`. The declared type is ignored: the bytes decide.
/// Public for the fuzz targets (`fuzz/`).
pub fn decode_data_url(data_url: &str, max_bytes: usize) -> Result<Vec<u8>, UploadError> {
    let too_large = || UploadError::TooLarge { kind: Kind::Image, max: max_bytes as u64 };
    let rest = data_url.strip_prefix("data:").ok_or(UploadError::Malformed)?;
    let (header, payload) = rest.split_once(',').ok_or(UploadError::Malformed)?;
    if !header.ends_with(";base64") {
        return Err(UploadError::Malformed);
    }
    // Refuse before decoding: base64 is 4 characters per 3 bytes.
    if payload.len() / 4 * 3 > max_bytes + 3 {
        return Err(too_large());
    }
    let cleaned: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('=')))
        .map_err(|_| UploadError::Malformed)?;
    if bytes.len() > max_bytes {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The kind, content type and extension of a file, judged by its first bytes.
pub fn sniff(head: &[u8]) -> (Kind, &'static str, &'static str) {
    let Some(found) = infer::get(head) else {
        return (Kind::File, "application/octet-stream", "bin");
    };
    let mime = found.mime_type();
    if let Some((m, ext)) = IMAGES.iter().find(|(m, _)| *m == mime) {
        (Kind::Image, m, ext)
    } else if let Some((m, ext)) = VIDEOS.iter().find(|(m, _)| *m == mime) {
        (Kind::Video, m, ext)
    } else {
        (Kind::File, mime, found.extension())
    }
}

/// A multipart upload in progress; aborted (its parts deleted) if dropped unfinished, e.g.
/// when the client goes away mid-file.
struct Multipart(Option<WriteMultipart>);

impl Multipart {
    fn get(&mut self) -> &mut WriteMultipart {
        self.0.as_mut().expect("upload in progress")
    }
    async fn abort(mut self) {
        if let Some(upload) = self.0.take()
            && let Err(e) = upload.abort().await
        {
            tracing::warn!(error = %e, "aborting an upload");
        }
    }
}

impl Drop for Multipart {
    fn drop(&mut self) {
        if let Some(upload) = self.0.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

/// Streams a file to storage and records it. At most one part (`STORAGE_PART_SIZE`, 1 MiB
/// on local disk) is held in memory: a file that fits in one part is stored with one put,
/// a larger one as a multipart upload, one part in flight at a time. The type is sniffed
/// from the first 8 KiB; crossing the kind's limit aborts the upload, leaving nothing.
pub async fn store_stream<S>(
    state: &AppState,
    owner: Option<&UserId>,
    accept: Accept,
    visibility: Visibility,
    mut body: S,
) -> Result<StoredMedia, UploadError>
where
    S: Stream<Item = Result<Bytes, UploadError>> + Unpin,
{
    if let Some(owner) = owner {
        state.limits.uploads_user.check(owner).map_err(UploadError::Failed)?;
    }
    let media = &state.media;
    // The first bytes decide the type and so the limit.
    let mut head = BytesMut::new();
    while head.len() < SNIFF_BYTES {
        match body.next().await {
            Some(chunk) => head.extend_from_slice(&chunk?),
            None => break,
        }
    }
    if head.is_empty() {
        return Err(UploadError::Empty);
    }
    let (kind, content_type, ext) = sniff(&head);
    if !accept.takes(kind) {
        return Err(UploadError::Unsupported(accept));
    }
    let too_large = || UploadError::TooLarge { kind, max: media.limits.of(kind) };
    // What is stored: an image is read whole (it is at most MAX_IMAGE_BYTES) and stored
    // re-encoded, with no limit on the re-encoded pixels (natter's own); anything else streams
    // on from its first bytes under its kind's limit.
    let (first, max, drained, content_type, ext) = if kind == Kind::Image {
        let max = media.limits.of(kind);
        while let Some(chunk) = body.next().await {
            head.extend_from_slice(&chunk?);
            if head.len() as u64 > max {
                return Err(too_large());
            }
        }
        let clean = reencode_image(media, head.freeze(), content_type).await?;
        (Bytes::from(clean.bytes), u64::MAX, true, clean.content_type, clean.ext)
    } else {
        (head.freeze(), media.limits.of(kind), false, content_type, ext)
    };
    let id = MediaId::new();
    let key = format!("{id}.{ext}");
    let location = StorePath::from(key.as_str());
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    // Parts not yet handed to storage; before the multipart upload starts, the whole file.
    let mut pending: Vec<Bytes> = Vec::new();
    let mut pending_bytes = 0usize;
    let mut upload: Option<Multipart> = None;
    let mut next = Some(first);
    loop {
        let chunk = match next.take() {
            Some(chunk) => chunk,
            None if drained => break,
            None => match body.next().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => {
                    if let Some(u) = upload {
                        u.abort().await;
                    }
                    return Err(e);
                }
                None => break,
            },
        };
        total += chunk.len() as u64;
        if total > max {
            if let Some(u) = upload {
                u.abort().await;
            }
            return Err(too_large());
        }
        hasher.update(&chunk);
        match &mut upload {
            Some(u) => {
                // One part in flight at a time: memory stays at about one part.
                if let Err(e) = u.get().wait_for_capacity(0).await {
                    if let Some(u) = upload {
                        u.abort().await;
                    }
                    return Err(UploadError::Storage(e));
                }
                u.get().put(chunk);
            }
            None => {
                pending_bytes += chunk.len();
                pending.push(chunk);
                if pending_bytes >= media.part_size {
                    let started = media.store.put_multipart(&location).await.map_err(UploadError::Storage)?;
                    let mut u = Multipart(Some(WriteMultipart::new_with_chunk_size(started, media.part_size)));
                    for part in pending.drain(..) {
                        u.get().put(part);
                    }
                    upload = Some(u);
                }
            }
        }
    }
    let stored = match upload {
        Some(mut u) => {
            let writer = u.0.take().expect("upload in progress");
            writer.finish().await.map(|_| ())
        }
        None => media.store.put(&location, PutPayload::from_iter(pending)).await.map(|_| ()),
    };
    stored.map_err(UploadError::Storage)?;
    let sha256 = hex::encode(hasher.finalize());
    let row = NewMedia {
        id,
        owner_id: owner,
        storage_key: &key,
        content_type,
        bytes: i64::try_from(total).unwrap_or(i64::MAX),
        sha256: &sha256,
        kind: kind.as_str(),
        private: visibility == Visibility::Private,
        now: now_ms(),
    };
    if let Err(e) = media::insert_media(&state.db, row).await {
        // Keep storage and metadata in step: no orphaned file for a failed insert.
        let _ = media.store.delete(&location).await;
        return Err(UploadError::Failed(e.into()));
    }
    Ok(StoredMedia { id, url: media.url_for(&key), content_type, bytes: total, kind })
}

/// `images::reencode` on a blocking thread, at most one per core at a time.
async fn reencode_image(
    media: &MediaStore,
    bytes: Bytes,
    content_type: &'static str,
) -> Result<images::CleanImage, UploadError> {
    let _permit = media.image_work.acquire().await.map_err(|e| UploadError::Failed(anyhow::anyhow!(e).into()))?;
    let cleaned = tokio::task::spawn_blocking(move || images::reencode(&bytes, content_type))
        .await
        .map_err(|e| UploadError::Failed(anyhow::anyhow!("image re-encode task: {e}").into()))?;
    cleaned.map_err(|refused| match refused {
        images::Refused::Undecodable => UploadError::Unsupported(Accept::Images),
        images::Refused::TooManyPixels => UploadError::TooManyPixels,
    })
}

/// Deletes stored uploads that will not be used after all (a registration that failed after
/// its files arrived): their rows and their bytes. Best effort: a failure is logged.
pub async fn discard(state: &AppState, uploads: &[&StoredMedia]) {
    for upload in uploads {
        discard_id(state, &upload.id).await;
    }
}

/// `discard` for an upload known by its stored id (a video's files when it is deleted).
pub async fn discard_by_id(state: &AppState, id: &str) {
    if let Some(id) = MediaId::parse(id) {
        discard_id(state, &id).await;
    }
}

async fn discard_id(state: &AppState, id: &MediaId) {
    if let Ok(Some(row)) = media::find_media(&state.db, id).await {
        // The row first: a file whose row is gone is never served, whatever happens next.
        if let Err(e) = media::delete_media(&state.db, id).await {
            tracing::warn!(error = %e, "discarding an upload's row");
            return;
        }
        if let Err(e) = state.media.store.delete(&StorePath::from(row.storage_key.as_str())).await {
            tracing::warn!(error = %e, "discarding an upload");
        }
    }
}

/// Gives uploads stored before their owner existed (at registration) to that owner.
pub async fn assign_owner(state: &AppState, uploads: &[&StoredMedia], owner: &UserId) -> ApiResult<()> {
    for upload in uploads {
        media::set_owner(&state.db, &upload.id, owner).await?;
    }
    Ok(())
}

/// A stored file as `Read + Seek`, reading 64 KiB ranges from storage (for the container
/// parsers, which skip the media data by seeking). Runs on a blocking thread.
struct StoredReader {
    store: Arc<dyn ObjectStore>,
    location: StorePath,
    size: u64,
    pos: u64,
    buf: Bytes,
    buf_start: u64,
    rt: tokio::runtime::Handle,
}

impl std::io::Read for StoredReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.size || out.is_empty() {
            return Ok(0);
        }
        let in_buf = self.pos >= self.buf_start && self.pos < self.buf_start + self.buf.len() as u64;
        if !in_buf {
            let end = (self.pos + 64 * 1024).min(self.size);
            self.buf =
                self.rt.block_on(self.store.get_range(&self.location, self.pos..end)).map_err(std::io::Error::other)?;
            self.buf_start = self.pos;
        }
        let from = usize::try_from(self.pos - self.buf_start).unwrap_or(usize::MAX);
        let n = out.len().min(self.buf.len().saturating_sub(from));
        out[..n].copy_from_slice(&self.buf[from..from + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl std::io::Seek for StoredReader {
    fn seek(&mut self, to: std::io::SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            std::io::SeekFrom::Start(n) => Some(n),
            std::io::SeekFrom::End(d) => self.size.checked_add_signed(d),
            std::io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before start"))?;
        Ok(self.pos)
    }
}

/// The duration of a stored video, in milliseconds, from its container's header: MP4 and
/// QuickTime `mvhd` (the `mp4` crate), WebM and Matroska segment `Info` (the `matroska`
/// crate). `None` when the file has no readable duration.
pub async fn video_duration_ms(state: &AppState, video: &StoredMedia) -> Option<i64> {
    let row = media::find_media(&state.db, &video.id).await.ok()??;
    let reader = StoredReader {
        store: state.media.store.clone(),
        location: StorePath::from(row.storage_key.as_str()),
        size: video.bytes,
        pos: 0,
        buf: Bytes::new(),
        buf_start: 0,
        rt: tokio::runtime::Handle::current(),
    };
    let content_type = video.content_type;
    // The parsers are synchronous and trust their input: a blocking thread, and a panic is
    // "no duration", not a crash.
    let parsed = tokio::task::spawn_blocking(move || match content_type {
        "video/webm" | "video/x-matroska" => matroska::Matroska::open(reader)
            .ok()
            .and_then(|m| m.info.duration)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        _ => {
            let size = reader.size;
            let header = mp4::Mp4Reader::read_header(reader, size).ok()?;
            let mvhd = &header.moov.mvhd;
            (mvhd.timescale > 0).then(|| {
                i64::try_from(u128::from(mvhd.duration) * 1000 / u128::from(mvhd.timescale)).unwrap_or(i64::MAX)
            })
        }
    })
    .await;
    parsed.ok().flatten().filter(|ms| *ms > 0)
}

/// The caller's own upload, as a message's attachment: its id and its JSON.
pub async fn attachment(state: &AppState, caller: &AuthUser, id: &MediaId) -> ApiResult<(String, String)> {
    let not_found = || FieldErrors::single("attachment", "not_found", "No upload of yours has this id");
    let row = media::find_media(&state.db, id).await?.ok_or_else(not_found)?;
    if row.owner_id.as_deref() != Some(caller.id.to_string().as_str()) {
        return Err(not_found());
    }
    let view = UploadView {
        id: row.id.clone(),
        url: state.media.url_for(&row.storage_key),
        content_type: row.content_type,
        bytes: u64::try_from(row.bytes).unwrap_or(0),
    };
    let json = serde_json::to_string(&view).map_err(anyhow::Error::from)?;
    Ok((row.id, json))
}

/// A stored file's metadata, if `caller` may read it: public files to anyone; private ones
/// to their owner, staff, and members of a room holding a live message that carries them
/// (401 to anonymous callers, 404 to everyone else, as if it did not exist).
pub async fn find_readable(state: &AppState, key: &str, caller: Option<&AuthUser>) -> ApiResult<MediaRow> {
    let not_found = || ApiError::NotFound("File not found".into());
    if !is_valid_key(key) {
        return Err(not_found());
    }
    let row = media::find_media_by_key(&state.db, key).await?.ok_or_else(not_found)?;
    if !row.private {
        return Ok(row);
    }
    let Some(caller) = caller else {
        return Err(ApiError::Unauthorized("Sign in to see this file".into()));
    };
    let own = row.owner_id.as_deref() == Some(caller.id.to_string().as_str());
    if own || caller.role().is_staff() || media::shared_with(&state.db, &row.id, &caller.id).await? {
        Ok(row)
    } else {
        Err(not_found())
    }
}

/// The bytes of a stored file (a range of them, end exclusive), as a stream.
pub async fn read(
    state: &AppState,
    row: &MediaRow,
    range: Option<std::ops::Range<u64>>,
) -> ApiResult<BoxStream<'static, Result<Bytes, object_store::Error>>> {
    let location = StorePath::from(row.storage_key.as_str());
    let options = GetOptions { range: range.map(GetRange::Bounded), ..Default::default() };
    match state.media.store.get_opts(&location, options).await {
        Ok(result) => Ok(result.into_stream()),
        Err(object_store::Error::NotFound { .. }) => Err(ApiError::NotFound("File not found".into())),
        Err(e) => {
            tracing::warn!(error = %e, key = %row.storage_key, "reading an upload");
            Err(storage_unavailable())
        }
    }
}

/// Keys are `<uuid>.<ext>`, generated here: anything else is not ours.
fn is_valid_key(key: &str) -> bool {
    match key.split_once('.') {
        Some((id, ext)) => {
            MediaId::parse(id).is_some()
                && (1..=8).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG_1X1: &str =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    #[test]
    fn data_urls_decode_and_the_bytes_decide_the_type() {
        let bytes = decode_data_url(&format!("data:image/gif;base64,{PNG_1X1}"), 1024).unwrap();
        assert_eq!(sniff(&bytes), (Kind::Image, "image/png", "png"));
        assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>").0, Kind::File);
        assert_eq!(sniff(b"%PDF-1.4"), (Kind::File, "application/pdf", "pdf"));
        assert_eq!(sniff(b"just some text"), (Kind::File, "application/octet-stream", "bin"));
        let mp4 = [&[0, 0, 0, 0x18][..], b"ftypmp42", &[0; 12]].concat();
        assert_eq!(sniff(&mp4), (Kind::Video, "video/mp4", "mp4"));
    }

    #[test]
    fn malformed_and_oversized_data_urls_are_refused() {
        assert!(matches!(decode_data_url("data:image/png,abc", 1024), Err(UploadError::Malformed)));
        assert!(matches!(decode_data_url("data:image/png;base64,@@@@", 1024), Err(UploadError::Malformed)));
        assert!(matches!(
            decode_data_url(&format!("data:image/png;base64,{PNG_1X1}"), 10),
            Err(UploadError::TooLarge { max: 10, .. })
        ));
    }

    #[test]
    fn only_generated_keys_are_served() {
        let id = MediaId::new();
        assert!(is_valid_key(&format!("{id}.png")));
        assert!(is_valid_key(&format!("{id}.mp4")));
        assert!(!is_valid_key(&format!("{id}.PNG")));
        assert!(!is_valid_key(&format!("{id}.png/../x")));
        assert!(!is_valid_key("../etc/passwd"));
        assert!(!is_valid_key(&format!("{id}")));
        assert!(!is_valid_key(&format!("../{id}.png")));
    }
}
