//! A short-lived, in-memory cache of live sessions: session family → the user behind it.
//!
//! Every authenticated request needs to know that its token's session was not revoked and
//! who its user is now; without the cache that is one database query per request (the
//! largest single cost of a cheap read, see the README's "Performance"). Entries live for
//! `ttl` at most and are dropped at once, on every node, when a session is revoked or a
//! user changes (services call `forget_*` right after their write commits; the cluster
//! bus relays the same to the other nodes). `ttl = 0` turns the cache off.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::users::UserRow;

/// Beyond this many live sessions the cache starts over rather than grow without bound.
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone)]
pub struct SessionCache {
    inner: Arc<Mutex<HashMap<String, Entry>>>,
    ttl: Duration,
}

struct Entry {
    user: UserRow,
    stored: Instant,
}

impl SessionCache {
    pub fn new(ttl: Duration) -> Self {
        Self { inner: Arc::new(Mutex::new(HashMap::new())), ttl }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The user of a live session, if cached and fresh, and if it is `user_id`'s.
    pub fn get(&self, family: &str, user_id: &str) -> Option<UserRow> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.map();
        let entry = map.get(family)?;
        (entry.stored.elapsed() < self.ttl && entry.user.id == user_id).then(|| entry.user.clone())
    }

    pub fn put(&self, family: &str, user: &UserRow) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self.map();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(family.to_string(), Entry { user: user.clone(), stored: Instant::now() });
    }

    /// A session was revoked.
    pub fn forget_session(&self, family: &str) {
        self.map().remove(family);
    }

    /// A user changed (profile, role, password, deletion): drop all their sessions.
    pub fn forget_user(&self, user_id: &str) {
        self.map().retain(|_, entry| entry.user.id != user_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> UserRow {
        UserRow {
            id: id.into(),
            email: format!("{id}@example.com"),
            username: None,
            full_name: id.into(),
            password_hash: String::new(),
            profile_pic: String::new(),
            role: "user".into(),
            user_type: "consumer".into(),
            deleted_at: None,
            created_at: 0,
            updated_at: 0,
            cover_image: String::new(),
        }
    }

    #[test]
    fn entries_are_found_for_their_own_user_only_and_forgotten_on_demand() {
        let cache = SessionCache::new(Duration::from_secs(60));
        cache.put("s1", &user("a"));
        cache.put("s2", &user("a"));
        cache.put("s3", &user("b"));
        assert_eq!(cache.get("s1", "a").map(|u| u.id), Some("a".into()));
        assert!(cache.get("s1", "b").is_none(), "a token naming another user never matches");
        cache.forget_session("s1");
        assert!(cache.get("s1", "a").is_none());
        cache.forget_user("a");
        assert!(cache.get("s2", "a").is_none());
        assert!(cache.get("s3", "b").is_some());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let cache = SessionCache::new(Duration::from_millis(20));
        cache.put("s", &user("a"));
        assert!(cache.get("s", "a").is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(cache.get("s", "a").is_none());
        let off = SessionCache::new(Duration::ZERO);
        off.put("s", &user("a"));
        assert!(off.get("s", "a").is_none());
    }
}
