//! Who is online: a user is online while at least one of their sockets is connected.
//!
//! Changes are coalesced: a burst of connects marks the set dirty once, and one
//! `getOnlineUsers` broadcast goes out per interval, not one per connect. The payload is the
//! whole online list (the tutorials' contract) and goes to every socket, so one broadcast
//! costs `list bytes × sockets`: with 10,000 users online that is about 4 GB. The pause
//! after a broadcast therefore grows with its cost so that presence never sends more than
//! `budget` bytes per second; small instances see every change within 100 ms, very large
//! ones less often. A connecting socket is always sent the current list at once.
//!
//! In a cluster the other nodes' users come from `cluster` (the presence sync), each node's
//! set valid until its record in Redis would expire. The broadcaster never waits on Redis:
//! it reads what the sync last heard, drops what has expired, and always lists this node's
//! own users.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::ser::{Serialize, SerializeSeq, Serializer};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
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
    sockets_per_user: Mutex<HashMap<Arc<str>, usize>>,
    sockets: AtomicUsize,
    /// Users online on other nodes (cluster mode; empty on a single node).
    remote: Mutex<RemoteView>,
    /// The list last broadcast, sorted.
    last_sent: Mutex<Arc<Vec<String>>>,
    /// Wakes the broadcaster.
    changed: Notify,
    /// Set when this node's own set changed since the cluster was last told.
    local_changed: AtomicBool,
    /// Wakes the cluster's presence sync.
    local_notify: Notify,
    budget_bytes_per_sec: u64,
}

impl Presence {
    pub fn new(budget_bytes_per_sec: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                sockets_per_user: Mutex::new(HashMap::new()),
                sockets: AtomicUsize::new(0),
                remote: Mutex::new(RemoteView::default()),
                last_sent: Mutex::new(Arc::new(Vec::new())),
                changed: Notify::new(),
                local_changed: AtomicBool::new(false),
                local_notify: Notify::new(),
                budget_bytes_per_sec: budget_bytes_per_sec.max(1),
            }),
        }
    }

    fn local(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, usize>> {
        self.inner.sockets_per_user.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a socket in; true if the user just came online on this node.
    pub fn connect(&self, user_id: &str) -> bool {
        let mut map = self.local();
        let came_online = match map.get_mut(user_id) {
            Some(count) => {
                *count += 1;
                false
            }
            None => {
                map.insert(Arc::from(user_id), 1);
                true
            }
        };
        drop(map);
        self.inner.sockets.fetch_add(1, Ordering::Relaxed);
        if came_online {
            self.flag_local_change();
        }
        came_online
    }

    /// Counts a socket out; true if the user just went offline on this node.
    pub fn disconnect(&self, user_id: &str) -> bool {
        let mut map = self.local();
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
            self.flag_local_change();
        }
        went_offline
    }

    /// The users with a socket on this node, sorted.
    pub fn local_users(&self) -> Vec<String> {
        let mut users: Vec<String> = self.local().keys().map(|u| u.to_string()).collect();
        users.sort_unstable();
        users
    }

    /// Sockets open on this node.
    pub fn socket_count(&self) -> usize {
        self.inner.sockets.load(Ordering::Relaxed)
    }

    fn flag_local_change(&self) {
        self.inner.local_changed.store(true, Ordering::Release);
        self.inner.changed.notify_one();
        self.inner.local_notify.notify_one();
    }

    /// Whether this node's set changed since the last call (for the cluster's sync).
    pub(super) fn take_local_change(&self) -> bool {
        self.inner.local_changed.swap(false, Ordering::AcqRel)
    }

    /// Resolves after this node's set changed.
    pub(super) async fn local_changed(&self) {
        self.inner.local_notify.notified().await;
    }

    /// Who is online on the other nodes, as the cluster just said; wakes the broadcaster
    /// if that changes the list.
    ///
    /// A node missing from the read is either dead, and then its record has expired and so
    /// has its `until`, or lost with a restarted Redis, and then it writes again within a
    /// heartbeat: either way it counts until its `until`, so that a Redis restart does not
    /// make every other node's users blink offline.
    pub(super) fn set_remote(&self, mut nodes: Vec<RemoteNode>) {
        let now = Instant::now();
        let mut view = self.inner.remote.lock().unwrap_or_else(|e| e.into_inner());
        let before = view.union(now);
        let kept: Vec<RemoteNode> =
            view.nodes.drain(..).filter(|old| old.until > now && !nodes.iter().any(|n| n.id == old.id)).collect();
        nodes.extend(kept);
        view.replace(nodes);
        if *view.union(now) != *before {
            self.inner.changed.notify_one();
        }
    }

    /// A node that stopped cleanly: its users stop counting at once.
    pub(super) fn forget_node(&self, id: &str) {
        let mut view = self.inner.remote.lock().unwrap_or_else(|e| e.into_inner());
        let nodes: Vec<RemoteNode> = view.nodes.drain(..).filter(|n| n.id != id).collect();
        view.replace(nodes);
        self.inner.changed.notify_one();
    }

    /// The other nodes' users whose records have not expired.
    fn remote(&self) -> Arc<HashSet<String>> {
        self.inner.remote.lock().unwrap_or_else(|e| e.into_inner()).union(Instant::now())
    }

    /// Everyone online (this node and the others), sorted.
    pub fn online(&self) -> Vec<String> {
        let remote = self.remote();
        let local = self.local();
        let mut users: Vec<String> = remote.iter().cloned().collect();
        users.extend(local.keys().filter(|u| !remote.contains(&***u)).map(|u| u.to_string()));
        drop(local);
        users.sort_unstable();
        users
    }

    /// The list a connecting socket is sent: this node's users as they are now, and the
    /// other nodes' as last heard. Cheap to build (no sort, shared strings); serialising
    /// it is the cost the contract sets (every online user, to every new socket).
    pub fn list_for_new_socket(&self) -> OnlineList {
        let remote = self.remote();
        let local: Vec<Arc<str>> = self.local().keys().cloned().collect();
        OnlineList { local, remote }
    }

    /// Wakes the broadcaster (another node's set changed, or a local one did).
    pub fn mark_changed(&self) {
        self.inner.changed.notify_one();
    }

    pub async fn changed(&self) {
        self.inner.changed.notified().await;
    }

    /// Records the list just broadcast; false if it is the one sent last time.
    pub fn note_sent(&self, online: &Arc<Vec<String>>) -> bool {
        let mut last = self.inner.last_sent.lock().unwrap_or_else(|e| e.into_inner());
        if **last == **online {
            return false;
        }
        *last = online.clone();
        true
    }

    /// How long to wait after a broadcast of `list_bytes` to this node's sockets, so that
    /// presence stays within its byte budget.
    pub fn pause_after(&self, list_bytes: usize) -> Duration {
        let bytes = list_bytes as f64 * self.socket_count() as f64;
        let pause = Duration::from_secs_f64(bytes / self.inner.budget_bytes_per_sec as f64);
        pause.min(MAX_PAUSE).saturating_sub(COALESCE)
    }
}

/// One other node's online set, as read from Redis, and until when it counts.
#[derive(Debug, Clone)]
pub struct RemoteNode {
    pub id: String,
    pub users: HashSet<String>,
    /// When its record expires unless the node renews it (and a later read says so).
    pub until: Instant,
}

/// The other nodes' sets and their union, kept until the first of them expires.
#[derive(Default)]
struct RemoteView {
    nodes: Vec<RemoteNode>,
    union: Arc<HashSet<String>>,
    /// When the first of `nodes` expires.
    next_expiry: Option<Instant>,
    /// `nodes` changed since `union` was built.
    stale: bool,
}

impl RemoteView {
    fn replace(&mut self, nodes: Vec<RemoteNode>) {
        self.nodes = nodes;
        self.stale = true;
    }

    fn union(&mut self, now: Instant) -> Arc<HashSet<String>> {
        if self.stale || self.next_expiry.is_some_and(|t| now >= t) {
            self.nodes.retain(|n| n.until > now);
            self.union = Arc::new(self.nodes.iter().flat_map(|n| n.users.iter().cloned()).collect());
            self.next_expiry = self.nodes.iter().map(|n| n.until).min();
            self.stale = false;
        }
        self.union.clone()
    }
}

/// This node's online users plus the other nodes'; serialises as one array, each user once.
pub struct OnlineList {
    local: Vec<Arc<str>>,
    remote: Arc<HashSet<String>>,
}

impl Serialize for OnlineList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let local: HashSet<&str> = self.local.iter().map(|u| &**u).collect();
        let mut seq = serializer.serialize_seq(None)?;
        for user in &self.local {
            seq.serialize_element(&**user)?;
        }
        for user in self.remote.iter().filter(|u| !local.contains(u.as_str())) {
            seq.serialize_element(user)?;
        }
        seq.end()
    }
}

/// One task per node: after a change, waits `COALESCE`, then sends the online list once
/// to this node's own sockets (if it changed; every node tells its own), then pauses as
/// the budget says. In a cluster it also looks again at every `tick`, so that the sockets
/// hear of another node's users expiring even when nothing else happens.
pub fn spawn_broadcaster<A: Adapter>(io: SocketIo<A>, presence: Presence, tick: Option<Duration>) {
    tokio::spawn(async move {
        let mut beat = tokio::time::interval(tick.unwrap_or(MAX_PAUSE));
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = presence.changed() => {}
                _ = beat.tick() => {}
            }
            tokio::time::sleep(COALESCE).await;
            let online = Arc::new(presence.online());
            // A user who left and came back within the interval changes nothing to say.
            if !presence.note_sent(&online) {
                continue;
            }
            let event = super::Event::OnlineUsers(&online);
            // Serialised once here: socketioxide encodes the payload of every `emit` call,
            // and the list goes out in `PRESENCE_GROUPS` calls.
            let payload = match serde_json::value::to_raw_value(&event) {
                Ok(payload) => payload,
                Err(e) => {
                    tracing::error!(error = %e, "online list not serialisable");
                    continue;
                }
            };
            // One group of sockets at a time, paced to the budget: each socket copies the
            // whole list into its own websocket frame, and with 10,000 users online that is
            // 4 GB for one broadcast; sent at once it would hold up every message behind it
            // for seconds. Spread over the pause instead, each group costs a few ms.
            let pause = presence.pause_after(payload.get().len());
            let bytes = payload.get().len() as u64 * presence.socket_count() as u64;
            metrics::counter!(crate::telemetry::names::PRESENCE_BROADCAST_BYTES).increment(bytes);
            let groups = super::PRESENCE_GROUPS;
            for group in 0..groups {
                let room = super::presence_group_room(group);
                if let Err(e) = io.local().to(room).emit(event.name(), &payload).await {
                    tracing::warn!(error = %e, "presence broadcast failed");
                }
                if !pause.is_zero() {
                    tokio::time::sleep(pause / groups).await;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_online_while_any_socket_is_connected() {
        let p = Presence::new(1_000_000);
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
    fn a_new_socket_is_sent_this_node_s_users_and_the_other_nodes_once_each() {
        let p = Presence::new(1_000_000);
        p.connect("a");
        p.connect("b");
        p.set_remote(vec![remote("n1", &["b", "c"], Duration::from_secs(60))]);
        let mut sent: Vec<String> =
            serde_json::from_value(serde_json::to_value(p.list_for_new_socket()).unwrap()).unwrap();
        sent.sort();
        assert_eq!(sent, vec!["a", "b", "c"]);
        assert_eq!(p.online(), vec!["a", "b", "c"]);
        p.disconnect("a");
        assert_eq!(p.online(), vec!["b", "c"]);
    }

    fn remote(id: &str, users: &[&str], lives: Duration) -> RemoteNode {
        let users = users.iter().map(|u| u.to_string()).collect();
        RemoteNode { id: id.to_string(), users, until: Instant::now() + lives }
    }

    #[test]
    fn another_node_s_users_count_until_its_record_expires_and_local_users_always() {
        let p = Presence::new(1_000_000);
        p.connect("a");
        let (short, long) = (Duration::from_millis(50), Duration::from_secs(60));
        p.set_remote(vec![remote("n1", &["b"], short), remote("n2", &["c", "a"], long)]);
        assert_eq!(p.online(), vec!["a", "b", "c"]);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(p.online(), vec!["a", "c"], "n1 was not heard from in time");
        p.set_remote(vec![remote("n3", &["d"], long)]);
        assert_eq!(p.online(), vec!["a", "c", "d"], "n2 missing from a read (Redis restarted) counts until it expires");
        p.set_remote(vec![remote("n2", &[], long)]);
        assert_eq!(p.online(), vec!["a", "d"], "a newer read of n2 replaces what it said before");
        p.forget_node("n3");
        p.forget_node("n2");
        assert_eq!(p.online(), vec!["a"], "this node's own users whatever the others say");
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
    }
}
