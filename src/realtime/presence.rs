//! Who is online: a user is online while at least one of their sockets is connected.
//!
//! Changes are coalesced: a burst of connects marks the set dirty once, and one
//! `getOnlineUsers` broadcast goes out per interval, not one per connect. The payload is the
//! whole online list (the tutorials' contract) and goes to every socket, so one broadcast
//! costs `list bytes × sockets`: with 10,000 users online that is about 4 GB. The pause
//! after a broadcast therefore grows with its cost so that presence never sends more than
//! `budget` bytes per second; small instances see every change within 100 ms, very large
//! ones less often. A connecting socket is always sent the current list at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::ser::{Serialize, SerializeSeq, Serializer};
use tokio::sync::Notify;

/// How long changes are gathered before one broadcast.
pub const COALESCE: Duration = Duration::from_millis(100);
/// The longest pause between two broadcasts, however large the instance.
const MAX_PAUSE: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct Presence {
    inner: Arc<Inner>,
}

struct Inner {
    sockets_per_user: Mutex<HashMap<String, usize>>,
    sockets: AtomicUsize,
    /// The online list as last computed by the broadcaster, sorted.
    snapshot: Mutex<Arc<Vec<String>>>,
    changed: Notify,
    budget_bytes_per_sec: u64,
}

impl Default for Presence {
    fn default() -> Self {
        Self::new(64 * 1024 * 1024)
    }
}

impl Presence {
    pub fn new(budget_bytes_per_sec: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                sockets_per_user: Mutex::new(HashMap::new()),
                sockets: AtomicUsize::new(0),
                snapshot: Mutex::new(Arc::new(Vec::new())),
                changed: Notify::new(),
                budget_bytes_per_sec: budget_bytes_per_sec.max(1),
            }),
        }
    }

    /// Counts a socket in; true if the user just came online on this node.
    pub fn connect(&self, user_id: &str) -> bool {
        let mut map = self.inner.sockets_per_user.lock().unwrap_or_else(|e| e.into_inner());
        let count = map.entry(user_id.to_string()).or_insert(0);
        *count += 1;
        let came_online = *count == 1;
        drop(map);
        self.inner.sockets.fetch_add(1, Ordering::Relaxed);
        if came_online {
            self.inner.changed.notify_one();
        }
        came_online
    }

    /// Counts a socket out; true if the user just went offline on this node.
    pub fn disconnect(&self, user_id: &str) -> bool {
        let mut map = self.inner.sockets_per_user.lock().unwrap_or_else(|e| e.into_inner());
        let (known, went_offline) = match map.get_mut(user_id) {
            Some(count) if *count > 1 => {
                *count -= 1;
                (true, false)
            }
            Some(_) => {
                map.remove(user_id);
                (true, true)
            }
            None => (false, false),
        };
        drop(map);
        if known {
            self.inner.sockets.fetch_sub(1, Ordering::Relaxed);
        }
        if went_offline {
            self.inner.changed.notify_one();
        }
        went_offline
    }

    /// The users with a socket on this node, sorted.
    pub fn local_users(&self) -> Vec<String> {
        let map = self.inner.sockets_per_user.lock().unwrap_or_else(|e| e.into_inner());
        let mut users: Vec<String> = map.keys().cloned().collect();
        users.sort_unstable();
        users
    }

    /// Sockets open on this node.
    pub fn socket_count(&self) -> usize {
        self.inner.sockets.load(Ordering::Relaxed)
    }

    /// The online list a connecting socket is sent: the last computed list, with its own
    /// user in it (the broadcaster may not have run since it connected).
    pub fn list_for(&self, user_id: &str) -> OnlineList {
        let list = self.snapshot();
        let extra = list.binary_search_by(|u| u.as_str().cmp(user_id)).is_err().then(|| user_id.to_string());
        OnlineList { list, extra }
    }

    /// The last computed online list, sorted.
    pub fn snapshot(&self) -> Arc<Vec<String>> {
        self.inner.snapshot.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Records the list the broadcaster computed.
    pub fn set_snapshot(&self, online: Arc<Vec<String>>) {
        *self.inner.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = online;
    }

    /// Wakes the broadcaster (another node's set changed, or a local one did).
    pub fn mark_changed(&self) {
        self.inner.changed.notify_one();
    }

    pub async fn changed(&self) {
        self.inner.changed.notified().await;
    }

    /// How long to wait after a broadcast of `list_bytes` to this node's sockets, so that
    /// presence stays within its byte budget.
    pub fn pause_after(&self, list_bytes: usize) -> Duration {
        let bytes = list_bytes as f64 * self.socket_count() as f64;
        let pause = Duration::from_secs_f64(bytes / self.inner.budget_bytes_per_sec as f64);
        pause.min(MAX_PAUSE).saturating_sub(COALESCE)
    }
}

/// A sorted online list plus, possibly, one user not yet in it; serialises as one array.
pub struct OnlineList {
    list: Arc<Vec<String>>,
    extra: Option<String>,
}

impl Serialize for OnlineList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.list.len() + usize::from(self.extra.is_some())))?;
        for user in self.list.iter().chain(self.extra.iter()) {
            seq.serialize_element(user)?;
        }
        seq.end()
    }
}

/// The serialised size of a list of ids, for the budget.
pub fn json_len(list: &[String]) -> usize {
    2 + list.iter().map(|u| u.len() + 2).sum::<usize>() + list.len().saturating_sub(1)
}

/// One task per node: after a change, waits `COALESCE`, then sends the online list once
/// to this node's sockets (if it changed), then pauses as the budget says.
pub fn spawn_broadcaster(io: socketioxide::SocketIo, presence: Presence) {
    tokio::spawn(async move {
        loop {
            presence.changed().await;
            tokio::time::sleep(COALESCE).await;
            let online = presence.local_users();
            // A user who left and came back within the interval changes nothing to say.
            if *presence.snapshot() == online {
                continue;
            }
            let online = Arc::new(online);
            presence.set_snapshot(online.clone());
            let event = super::Event::OnlineUsers(&online);
            if let Err(e) = io.emit(event.name(), &event).await {
                tracing::warn!(error = %e, "presence broadcast failed");
            }
            tokio::time::sleep(presence.pause_after(json_len(&online))).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_online_while_any_socket_is_connected() {
        let p = Presence::default();
        assert!(p.connect("a"));
        assert!(!p.connect("a"), "second tab: no change");
        assert!(p.connect("b"));
        assert_eq!(p.local_users(), vec!["a", "b"]);
        assert_eq!(p.socket_count(), 3);
        assert!(!p.disconnect("a"));
        assert_eq!(p.local_users(), vec!["a", "b"]);
        assert!(p.disconnect("a"));
        assert_eq!(p.local_users(), vec!["b"]);
        assert!(!p.disconnect("zed"), "unknown users are ignored");
        assert_eq!(p.socket_count(), 1);
    }

    #[test]
    fn a_connecting_user_is_in_the_list_it_is_sent() {
        let p = Presence::default();
        p.set_snapshot(Arc::new(vec!["a".into(), "c".into()]));
        assert_eq!(serde_json::to_value(p.list_for("b")).unwrap(), serde_json::json!(["a", "c", "b"]));
        assert_eq!(serde_json::to_value(p.list_for("c")).unwrap(), serde_json::json!(["a", "c"]));
    }

    #[test]
    fn the_pause_after_a_broadcast_grows_with_its_cost() {
        let p = Presence::new(1_000_000);
        for i in 0..1000 {
            p.connect(&format!("user-{i}"));
        }
        assert_eq!(p.pause_after(100), Duration::ZERO, "100 KB in all: within the 100 ms window");
        let big = p.pause_after(40_000); // 40 MB to 1,000 sockets at 1 MB/s
        assert_eq!(big, Duration::from_secs(40) - COALESCE);
        assert_eq!(p.pause_after(10_000_000), MAX_PAUSE - COALESCE, "capped");
        assert_eq!(json_len(&["ab".to_string(), "c".to_string()]), r#"["ab","c"]"#.len());
    }
}
