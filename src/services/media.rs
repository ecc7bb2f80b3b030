//! Uploaded images: decoded from data URLs (or multipart), type checked from the bytes
//! against an allow-list, size limited, stored through `object_store` (local directory by
//! default) under server-generated keys, served back from `/uploads/<key>`.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use crate::db::media::{self, NewMedia};
use crate::domain::{MediaId, UserId, now_ms};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldErrors};
use crate::startup::AppState;

/// Content types accepted, and the file extension each is stored under.
const ALLOWED: &[(&str, &str)] =
    &[("image/png", "png"), ("image/jpeg", "jpg"), ("image/gif", "gif"), ("image/webp", "webp")];

#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    /// Prefix of returned URLs: `PUBLIC_URL` without a trailing slash, or "" for relative URLs.
    public_base: String,
    max_bytes: usize,
}

/// A stored upload.
pub struct StoredMedia {
    pub id: MediaId,
    pub url: String,
    pub content_type: &'static str,
    pub bytes: usize,
}

impl MediaStore {
    pub fn local(dir: &std::path::Path, public_url: Option<&str>, max_bytes: usize) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self {
            store: Arc::new(store),
            public_base: public_url.unwrap_or("").trim_end_matches('/').to_string(),
            max_bytes,
        })
    }

    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn url_for(&self, key: &str) -> String {
        format!("{}/uploads/{key}", self.public_base)
    }
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

/// Resolves an image field to the URL to store ("" to clear), storing data URLs.
pub async fn resolve_image(state: &AppState, owner: &UserId, field: &str, input: ImageInput<'_>) -> ApiResult<String> {
    match input {
        ImageInput::Clear => Ok(String::new()),
        ImageInput::Url(url) => Ok(url.to_string()),
        ImageInput::DataUrl(data_url) => {
            let bytes = decode_data_url(data_url, state.media.max_bytes).map_err(|e| e.for_field(field))?;
            Ok(store_bytes(state, owner, bytes).await.map_err(|e| e.for_field(field))?.url)
        }
    }
}

/// Why an image was refused.
#[derive(Debug)]
pub enum ImageError {
    TooLarge(usize),
    Malformed,
    UnsupportedType,
    Failed(ApiError),
}

impl ImageError {
    fn for_field(self, field: &str) -> ApiError {
        match self {
            Self::TooLarge(max) => {
                ApiError::PayloadTooLarge(format!("Image is larger than the {} KiB limit", max / 1024).into())
            }
            Self::Malformed => FieldErrors::single(field, "invalid_data_url", "Image must be a base64 data URL"),
            Self::UnsupportedType => {
                ApiError::BadRequest(ErrorCode::InvalidImage, "Image must be a PNG, JPEG, GIF or WebP file".into())
            }
            Self::Failed(e) => e,
        }
    }
}

/// Decodes `data:<type>;base64,<payload>`. The declared type is ignored: the bytes decide.
fn decode_data_url(data_url: &str, max_bytes: usize) -> Result<Vec<u8>, ImageError> {
    let rest = data_url.strip_prefix("data:").ok_or(ImageError::Malformed)?;
    let (header, payload) = rest.split_once(',').ok_or(ImageError::Malformed)?;
    if !header.ends_with(";base64") {
        return Err(ImageError::Malformed);
    }
    // Refuse before decoding: base64 is 4 characters per 3 bytes.
    if payload.len() / 4 * 3 > max_bytes + 3 {
        return Err(ImageError::TooLarge(max_bytes));
    }
    let cleaned: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('=')))
        .map_err(|_| ImageError::Malformed)?;
    if bytes.len() > max_bytes {
        return Err(ImageError::TooLarge(max_bytes));
    }
    Ok(bytes)
}

/// The allowed content type of `bytes`, judged by their magic numbers.
fn sniff(bytes: &[u8]) -> Option<(&'static str, &'static str)> {
    let kind = infer::get(bytes)?;
    ALLOWED.iter().copied().find(|(mime, _)| *mime == kind.mime_type())
}

/// Stores raw image bytes (already size-checked against the caller's limit).
pub async fn store_bytes(state: &AppState, owner: &UserId, bytes: Vec<u8>) -> Result<StoredMedia, ImageError> {
    if bytes.len() > state.media.max_bytes {
        return Err(ImageError::TooLarge(state.media.max_bytes));
    }
    let (content_type, ext) = sniff(&bytes).ok_or(ImageError::UnsupportedType)?;
    let id = MediaId::new();
    let key = format!("{id}.{ext}");
    let size = bytes.len();
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let location = StorePath::from(key.as_str());
    state
        .media
        .store
        .put(&location, PutPayload::from(Bytes::from(bytes)))
        .await
        .map_err(|e| ImageError::Failed(anyhow::Error::from(e).context("storing an upload").into()))?;
    let row = NewMedia {
        id,
        owner_id: owner,
        storage_key: &key,
        content_type,
        bytes: i64::try_from(size).unwrap_or(i64::MAX),
        sha256: &sha256,
        now: now_ms(),
    };
    if let Err(e) = media::insert_media(&state.db, row).await {
        // Keep storage and metadata in step: no orphaned file for a failed insert.
        let _ = state.media.store.delete(&location).await;
        return Err(ImageError::Failed(e.into()));
    }
    Ok(StoredMedia { id, url: state.media.url_for(&key), content_type, bytes: size })
}

/// Stores an upload received as multipart bytes.
pub async fn store_upload(state: &AppState, owner: &UserId, bytes: Vec<u8>) -> ApiResult<StoredMedia> {
    store_bytes(state, owner, bytes).await.map_err(|e| e.for_field("file"))
}

/// The bytes and content type of a stored file, by key.
pub async fn open(state: &AppState, key: &str) -> ApiResult<(String, Bytes)> {
    let not_found = || ApiError::NotFound("File not found".into());
    if !is_valid_key(key) {
        return Err(not_found());
    }
    let row = media::find_media_by_key(&state.db, key).await?.ok_or_else(not_found)?;
    let location = StorePath::from(row.storage_key.as_str());
    let result = match state.media.store.get(&location).await {
        Ok(result) => result,
        Err(object_store::Error::NotFound { .. }) => return Err(not_found()),
        Err(e) => return Err(anyhow::Error::from(e).context("reading an upload").into()),
    };
    let bytes = result.bytes().await.map_err(|e| anyhow::Error::from(e).context("reading an upload"))?;
    Ok((row.content_type, bytes))
}

/// Keys are `<uuid>.<ext>`, generated here: anything else is not ours.
fn is_valid_key(key: &str) -> bool {
    match key.split_once('.') {
        Some((id, ext)) => MediaId::parse(id).is_some() && ALLOWED.iter().any(|(_, e)| *e == ext),
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
        assert_eq!(sniff(&bytes), Some(("image/png", "png")));
        assert!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_none());
        assert!(sniff(b"%PDF-1.4").is_none());
    }

    #[test]
    fn malformed_and_oversized_data_urls_are_refused() {
        assert!(matches!(decode_data_url("data:image/png,abc", 1024), Err(ImageError::Malformed)));
        assert!(matches!(decode_data_url("data:image/png;base64,@@@@", 1024), Err(ImageError::Malformed)));
        assert!(matches!(
            decode_data_url(&format!("data:image/png;base64,{PNG_1X1}"), 10),
            Err(ImageError::TooLarge(10))
        ));
    }

    #[test]
    fn only_generated_keys_are_served() {
        let id = MediaId::new();
        assert!(is_valid_key(&format!("{id}.png")));
        assert!(!is_valid_key(&format!("{id}.svg")));
        assert!(!is_valid_key("../etc/passwd"));
        assert!(!is_valid_key(&format!("{id}")));
    }
}
