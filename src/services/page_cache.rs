//! Serialised pages of conversations, shared by every reader of a hot conversation: a page
//! is built (queried and turned into JSON) once per version of its room and then served as
//! bytes. The key holds the room's `version`, which every append, edit and delete bumps in
//! its own transaction, and which a reader takes from the store before looking here; so a
//! cached page is never older than what the store holds for that version, on any node,
//! and nothing needs invalidating (old versions age out of the cache).

use bytes::Bytes;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::db::messages::{self, Page};
use crate::error::ApiResult;
use crate::startup::AppState;
use crate::views::MessageResponse;

/// Which page of which version of a room.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub room_id: String,
    pub version: i64,
    pub before: Option<String>,
    pub after: Option<String>,
    pub limit: u32,
}

#[derive(Clone)]
struct ByteWeighter;

impl Weighter<PageKey, Bytes> for ByteWeighter {
    fn weight(&self, key: &PageKey, page: &Bytes) -> u64 {
        // The bytes plus the key and the entry's bookkeeping, never zero.
        (page.len() + key.room_id.len() + 96) as u64
    }
}

#[derive(Clone)]
pub struct PageCache {
    cache: Option<std::sync::Arc<Cache<PageKey, Bytes, ByteWeighter>>>,
}

/// Pages are a few KiB to a few hundred; this sizes the cache's table for that.
const TYPICAL_PAGE_BYTES: usize = 16 * 1024;

impl PageCache {
    /// A cache of at most `bytes` (0: none; every page is built for its reader).
    pub fn new(bytes: usize) -> Self {
        let cache = (bytes > 0).then(|| {
            let items = (bytes / TYPICAL_PAGE_BYTES).max(16);
            std::sync::Arc::new(Cache::with_weighter(items, bytes as u64, ByteWeighter))
        });
        Self { cache }
    }

    pub fn get(&self, key: &PageKey) -> Option<Bytes> {
        self.cache.as_ref()?.get(key)
    }

    pub fn put(&self, key: PageKey, page: Bytes) {
        if let Some(cache) = &self.cache {
            cache.insert(key, page);
        }
    }
}

/// A page of a room's messages as the JSON array the API returns, from the cache when this
/// version of the room was read before. Callers have checked who may read the room.
pub async fn conversation_page(state: &AppState, room_id: &str, version: i64, page: Page<'_>) -> ApiResult<Bytes> {
    let key = PageKey {
        room_id: room_id.to_string(),
        version,
        before: page.before.map(|id| id.to_string()),
        after: page.after.map(|id| id.to_string()),
        limit: page.limit,
    };
    if let Some(hit) = state.pages.get(&key) {
        return Ok(hit);
    }
    let rows = messages::list_messages(&state.db, room_id, page).await?;
    let views: Vec<MessageResponse> = rows.into_iter().map(MessageResponse::from).collect();
    let bytes = Bytes::from(serde_json::to_vec(&views).map_err(anyhow::Error::from)?);
    state.pages.put(key, bytes.clone());
    Ok(bytes)
}
