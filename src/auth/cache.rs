//! A short-lived, in-memory cache of live sessions and of user profiles.
//!
//! Every authenticated request needs to know that its token's session was not revoked and
//! who its user is now; without the cache that is one database query per request (the
//! largest single cost of a cheap read, see the README's "Performance"). A room list shows
//! every member's profile: without the cache, the same profiles read again on every list.
//! Entries live for `ttl` at most and are dropped at once, on every node, when a session
//! is revoked or a user changes (services call `forget_*` right after their write commits;
//! the cluster bus relays the same to the other nodes). A row read from the store before a
//! `forget_*` and offered after it is not kept (`epoch`), so a revocation or change that
//! raced a lookup is not undone by it. `ttl = 0` turns the cache off.
//!
//! Cached rows never carry the password hash; profiles are kept as their view, built once
//! (a room list of 50 rooms shows ~250 members).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::users::UserRow;
use crate::views::UserResponse;

/// Beyond this many fresh sessions (or profiles) the cache starts over rather than grow
/// without bound.
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone)]
pub struct SessionCache {
    inner: Arc<Mutex<Maps>>,
    ttl: Duration,
}

#[derive(Default)]
struct Maps {
    /// Session family -> its user.
    sessions: Timed<Arc<UserRow>>,
    /// User id -> profile.
    profiles: Timed<Arc<UserResponse>>,
    /// Bumped by every `forget_*`.
    epoch: u64,
}

/// Entries with the time they were stored. Expired entries are dropped whenever the map
/// has doubled since the last sweep (so a sweep costs O(1) per insert, and the map holds
/// at most about twice what was stored within one TTL).
struct Timed<V> {
    map: HashMap<String, (V, Instant)>,
    sweep_at: usize,
}

impl<V> Default for Timed<V> {
    fn default() -> Self {
        Self { map: HashMap::new(), sweep_at: 1024 }
    }
}

impl<V> Timed<V> {
    fn get(&self, key: &str, ttl: Duration) -> Option<&V> {
        self.map.get(key).filter(|(_, stored)| stored.elapsed() < ttl).map(|(value, _)| value)
    }

    fn insert(&mut self, key: String, value: V, stored: Instant, ttl: Duration) {
        if self.map.len() >= self.sweep_at {
            self.map.retain(|_, (_, at)| at.elapsed() < ttl);
            if self.map.len() >= MAX_ENTRIES {
                self.map.clear();
            }
            self.sweep_at = (2 * self.map.len()).max(1024);
        }
        self.map.insert(key, (value, stored));
    }
}

/// When a lookup started (see `SessionCache::epoch`).
#[derive(Clone, Copy, Debug)]
pub struct Epoch(u64);

impl SessionCache {
    pub fn new(ttl: Duration) -> Self {
        Self { inner: Arc::new(Mutex::new(Maps::default())), ttl }
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Taken before reading the store: a row read after it is cached only if nothing was
    /// forgotten in between.
    pub fn epoch(&self) -> Epoch {
        Epoch(self.maps().epoch)
    }

    /// The user of a live session, if cached and fresh, and if it is `user_id`'s.
    pub fn get(&self, family: &str, user_id: &str) -> Option<Arc<UserRow>> {
        if self.ttl.is_zero() {
            return None;
        }
        self.maps().sessions.get(family, self.ttl).filter(|user| user.id == user_id).cloned()
    }

    /// Caches a session checked against the store at `epoch`; the row without its hash.
    pub fn put(&self, family: &str, user: UserRow, epoch: Epoch) -> Arc<UserRow> {
        let user = Arc::new(UserRow { password_hash: String::new(), ..user });
        if self.ttl.is_zero() {
            return user;
        }
        let mut maps = self.maps();
        if maps.epoch == epoch.0 {
            maps.sessions.insert(family.to_string(), user.clone(), Instant::now(), self.ttl);
        }
        user
    }

    /// The fresh cached profiles among `ids`, and the ids not found.
    pub fn profiles(&self, ids: &[&str]) -> (HashMap<String, Arc<UserResponse>>, Vec<String>) {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        let maps = (!self.ttl.is_zero()).then(|| self.maps());
        for id in ids {
            match maps.as_ref().and_then(|m| m.profiles.get(id, self.ttl)) {
                Some(view) => {
                    found.insert((*id).to_string(), view.clone());
                }
                None => missing.push((*id).to_string()),
            }
        }
        (found, missing)
    }

    /// Caches profiles read from the store at `epoch`, and returns their views.
    pub fn put_profiles(&self, rows: Vec<UserRow>, epoch: Epoch) -> Vec<Arc<UserResponse>> {
        let views: Vec<Arc<UserResponse>> = rows.into_iter().map(|row| Arc::new(UserResponse::from(row))).collect();
        if !self.ttl.is_zero() {
            let mut maps = self.maps();
            if maps.epoch == epoch.0 {
                let stored = Instant::now();
                for view in &views {
                    maps.profiles.insert(view.id.clone(), view.clone(), stored, self.ttl);
                }
            }
        }
        views
    }

    /// A session was revoked.
    pub fn forget_session(&self, family: &str) {
        let mut maps = self.maps();
        maps.epoch += 1;
        maps.sessions.map.remove(family);
    }

    /// A user changed (profile, role, password, deletion): drop their profile and sessions.
    pub fn forget_user(&self, user_id: &str) {
        let mut maps = self.maps();
        maps.epoch += 1;
        maps.profiles.map.remove(user_id);
        maps.sessions.map.retain(|_, (user, _)| user.id != user_id);
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
        let epoch = cache.epoch();
        cache.put("s1", user("a"), epoch);
        cache.put("s2", user("a"), epoch);
        cache.put("s3", user("b"), epoch);
        assert_eq!(cache.get("s1", "a").map(|u| u.id.clone()), Some("a".into()));
        assert!(cache.get("s1", "b").is_none(), "a token naming another user never matches");
        cache.forget_session("s1");
        assert!(cache.get("s1", "a").is_none());
        cache.forget_user("a");
        assert!(cache.get("s2", "a").is_none());
        assert!(cache.get("s3", "b").is_some());
        let epoch = cache.epoch();
        cache.put_profiles(vec![user("a"), user("b")], epoch);
        cache.forget_user("a");
        let (found, missing) = cache.profiles(&["a", "b"]);
        assert_eq!(found.keys().collect::<Vec<_>>(), ["b"], "a's profile is forgotten with a's sessions");
        assert_eq!(missing, ["a"]);
    }

    #[test]
    fn rows_are_kept_without_their_hash() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let stored = cache.put("s1", UserRow { password_hash: "$argon2id$secret".into(), ..user("a") }, cache.epoch());
        assert!(stored.password_hash.is_empty());
        assert!(cache.get("s1", "a").unwrap().password_hash.is_empty());
    }

    #[test]
    fn a_row_read_before_a_forget_is_not_cached_after_it() {
        let cache = SessionCache::new(Duration::from_secs(60));
        let before = cache.epoch();
        cache.forget_session("s1"); // revoked while the lookup ran
        let row = cache.put("s1", user("a"), before);
        assert_eq!(row.id, "a", "the caller still gets the row it read");
        assert!(cache.get("s1", "a").is_none());
        cache.forget_user("b");
        cache.put_profiles(vec![user("b")], before);
        assert_eq!(cache.profiles(&["b"]).1, ["b"]);
        let now = cache.epoch();
        cache.put_profiles(vec![user("b")], now);
        assert!(cache.profiles(&["b"]).1.is_empty());
    }

    #[test]
    fn entries_expire_and_a_zero_ttl_caches_nothing() {
        let cache = SessionCache::new(Duration::from_millis(20));
        cache.put("s", user("a"), cache.epoch());
        cache.put_profiles(vec![user("a")], cache.epoch());
        assert!(cache.get("s", "a").is_some());
        assert!(cache.profiles(&["a"]).1.is_empty());
        std::thread::sleep(Duration::from_millis(30));
        assert!(cache.get("s", "a").is_none());
        assert_eq!(cache.profiles(&["a"]).1, ["a"]);
        let off = SessionCache::new(Duration::ZERO);
        off.put("s", user("a"), off.epoch());
        off.put_profiles(vec![user("b")], off.epoch());
        assert!(off.get("s", "a").is_none());
        assert_eq!(off.profiles(&["a", "b"]).1, ["a", "b"]);
    }

    #[test]
    fn expired_entries_are_swept_as_new_ones_come() {
        let cache = SessionCache::new(Duration::from_millis(20));
        let epoch = cache.epoch();
        for i in 0..1000 {
            cache.put(&format!("old{i}"), user("a"), epoch);
        }
        std::thread::sleep(Duration::from_millis(30));
        for i in 0..1100 {
            cache.put(&format!("new{i}"), user("a"), epoch);
        }
        let held = cache.maps().sessions.map.len();
        assert!(held <= 1100, "the expired sessions are gone: {held} held");
        assert!(cache.get("new1099", "a").is_some());
    }
}
