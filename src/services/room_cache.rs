//! What a room list shows of each room that is the same for every member until the room
//! changes: its row and its last message, keyed by the room's `version` (bumped in the same
//! transaction by every send, edit, delete, rename and membership change); and each
//! member's unread count, keyed by that version and the member's read mark. A room list
//! takes the versions and read marks from the store with the list's one ordering statement,
//! so, as with pages (`page_cache`), nothing cached is ever older than what the store holds
//! for its key, on any node, and nothing needs invalidating: old versions age out.
//! Members and their read marks are not cached (a read mark moves without a new version).

use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{Equivalent, Weighter};

use crate::db::rooms::RoomRow;
use crate::views::MessageResponse;

/// A room's row and its last message (when it has a live one) at one version.
#[derive(Debug)]
pub struct RoomSummary {
    pub row: RoomRow,
    pub last_message: Option<Arc<MessageResponse>>,
}

type RoomKey = (String, i64);

/// `(room, version, member, read mark)`.
type UnreadKey = (String, i64, String, i64);

/// A key looked up by reference (a list looks up ~100 per request): hashes as the owned
/// tuple does (`String` hashes as its `str`).
#[derive(Hash)]
struct Borrowed<'a, K>(&'a K);

impl Equivalent<RoomKey> for Borrowed<'_, (&str, i64)> {
    fn equivalent(&self, key: &RoomKey) -> bool {
        self.0.0 == key.0 && self.0.1 == key.1
    }
}

impl Equivalent<UnreadKey> for Borrowed<'_, (&str, i64, &str, i64)> {
    fn equivalent(&self, key: &UnreadKey) -> bool {
        let (room, version, member, read_at) = *self.0;
        room == key.0 && version == key.1 && member == key.2 && read_at == key.3
    }
}

#[derive(Clone)]
struct SummaryWeighter;

impl Weighter<RoomKey, Arc<RoomSummary>> for SummaryWeighter {
    fn weight(&self, _key: &RoomKey, summary: &Arc<RoomSummary>) -> u64 {
        // The row's and message's strings (ids are 36 bytes, times 20 as text) and the
        // entry's bookkeeping, roughly.
        let row = &summary.row;
        let text = summary.last_message.as_ref().map_or(0, |m| m.text.len() + 300);
        (512 + row.name.as_ref().map_or(0, String::len) + text) as u64
    }
}

#[derive(Clone)]
struct UnreadWeighter;

impl Weighter<UnreadKey, i64> for UnreadWeighter {
    fn weight(&self, _key: &UnreadKey, _count: &i64) -> u64 {
        160
    }
}

#[derive(Clone)]
pub struct RoomCache {
    summaries: Option<Arc<Cache<RoomKey, Arc<RoomSummary>, SummaryWeighter>>>,
    unread: Option<Arc<Cache<UnreadKey, i64, UnreadWeighter>>>,
}

impl RoomCache {
    /// Caches of at most `bytes` together (0: none; every list reads the store).
    pub fn new(bytes: usize) -> Self {
        let half = (bytes / 2) as u64;
        let summaries =
            (bytes > 0).then(|| Arc::new(Cache::with_weighter((bytes / 2048).max(16), half, SummaryWeighter)));
        let unread = (bytes > 0).then(|| Arc::new(Cache::with_weighter((bytes / 320).max(16), half, UnreadWeighter)));
        Self { summaries, unread }
    }

    pub fn summary(&self, room_id: &str, version: i64) -> Option<Arc<RoomSummary>> {
        self.summaries.as_ref()?.get(&Borrowed(&(room_id, version)))
    }

    /// Keeps a summary under the version its row was read at.
    pub fn put_summary(&self, summary: Arc<RoomSummary>) {
        if let Some(cache) = &self.summaries {
            cache.insert((summary.row.id.clone(), summary.row.version), summary);
        }
    }

    pub fn unread(&self, room_id: &str, version: i64, member: &str, read_at: i64) -> Option<i64> {
        self.unread.as_ref()?.get(&Borrowed(&(room_id, version, member, read_at)))
    }

    /// Keeps a count read after `version` was (so never older than that version).
    pub fn put_unread(&self, room_id: &str, version: i64, member: &str, read_at: i64, count: i64) {
        if let Some(cache) = &self.unread {
            cache.insert((room_id.to_string(), version, member.to_string(), read_at), count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, version: i64) -> RoomRow {
        RoomRow {
            id: id.into(),
            kind: "group".into(),
            room_type: "consumer-to-consumer".into(),
            name: None,
            direct_key: None,
            created_by: None,
            last_message_id: None,
            last_message_at: None,
            version,
            created_at: 1,
            updated_at: 1,
        }
    }

    #[test]
    fn entries_are_found_by_borrowed_keys_and_only_at_their_version() {
        let cache = RoomCache::new(1 << 20);
        cache.put_summary(Arc::new(RoomSummary { row: row("r1", 3), last_message: None }));
        assert_eq!(cache.summary("r1", 3).map(|s| s.row.version), Some(3));
        assert!(cache.summary("r1", 2).is_none() && cache.summary("r2", 3).is_none());
        cache.put_unread("r1", 3, "u1", 10, 7);
        assert_eq!(cache.unread("r1", 3, "u1", 10), Some(7));
        assert_eq!(cache.unread("r1", 3, "u1", 11), None, "another read mark");
        assert_eq!(cache.unread("r1", 4, "u1", 10), None, "another version");
        assert_eq!(cache.unread("r1", 3, "u2", 10), None, "another member");
        assert!(RoomCache::new(0).summary("r1", 3).is_none());
    }
}
