//! Who is online: a user is online while at least one of their sockets is connected.
//!
//! Changes are coalesced: a burst of connects marks the set dirty once, and one
//! `getOnlineUsers` broadcast goes out per interval, not one per connect. The payload is the
//! whole online list (the tutorials' contract) and goes to every socket, so one broadcast
//! costs `list bytes × sockets`: with 10,000 users online that is about 4 GB. The pause
//! after a broadcast therefore grows with its cost so that presence never sends more than
//! `budget` bytes per second; small instances see every change within 100 ms, very large
//! ones less often. A connecting socket is always sent the current list at once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::ser::{Serialize, SerializeSeq, Serializer};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use tokio::sync::Notify;

use super::cluster::Cluster;

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
    remote: Mutex<Arc<HashSet<String>>>,
    /// The list last broadcast, sorted.
    last_sent: Mutex<Arc<Vec<String>>>,
    changed: Notify,
    /// Set when this node's own set changed since the cluster was last told.
    local_changed: AtomicBool,
    budget_bytes_per_sec: u64,
}

impl Presence {
    pub fn new(budget_bytes_per_sec: u64) -> Self {
        Self {
            inner: Arc::new(Inner {
                sockets_per_user: Mutex::new(HashMap::new()),
                sockets: AtomicUsize::new(0),
                remote: Mutex::new(Arc::new(HashSet::new())),
                last_sent: Mutex::new(Arc::new(Vec::new())),
                changed: Notify::new(),
                local_changed: AtomicBool::new(false),
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
    }

    fn take_local_change(&self) -> bool {
        self.inner.local_changed.swap(false, Ordering::AcqRel)
    }

    /// Who is online on the other nodes, as the cluster last said.
    pub fn set_remote(&self, users: HashSet<String>) {
        *self.inner.remote.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(users);
    }

    fn remote(&self) -> Arc<HashSet<String>> {
        self.inner.remote.lock().unwrap_or_else(|e| e.into_inner()).clone()
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
/// the budget says. In a cluster it also writes this node's set to Redis when it changed
/// and at every heartbeat, and reads the other nodes' sets.
pub fn spawn_broadcaster<A: Adapter>(io: SocketIo<A>, presence: Presence, cluster: Option<Cluster>) {
    tokio::spawn(async move {
        let heartbeat = cluster.as_ref().map_or(Duration::from_secs(3600), Cluster::heartbeat);
        let mut beat = tokio::time::interval(heartbeat);
        beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let beat_due = tokio::select! {
                () = presence.changed() => false,
                _ = beat.tick() => true,
            };
            tokio::time::sleep(COALESCE).await;
            if let Some(cluster) = &cluster {
                sync_with_cluster(cluster, &presence, beat_due).await;
            }
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

/// Publishes this node's set if it changed (or the heartbeat is due) and reads the others'.
/// With Redis unreachable the last known view of the other nodes stays.
async fn sync_with_cluster(cluster: &Cluster, presence: &Presence, beat_due: bool) {
    let local_changed = presence.take_local_change();
    if local_changed || beat_due {
        if let Err(e) = cluster.write_local(&presence.local_users()).await {
            tracing::warn!(error = %e, "could not publish this node's presence");
            presence.flag_local_change(); // try again next time
        } else if local_changed && let Err(e) = cluster.publish_presence_change().await {
            tracing::warn!(error = %e, "could not announce a presence change");
        }
    }
    match cluster.others_online().await {
        Ok(others) => presence.set_remote(others),
        Err(e) => tracing::warn!(error = %e, "could not read the other nodes' presence"),
    }
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
        p.set_remote(["b".to_string(), "c".to_string()].into());
        let mut sent: Vec<String> =
            serde_json::from_value(serde_json::to_value(p.list_for_new_socket()).unwrap()).unwrap();
        sent.sort();
        assert_eq!(sent, vec!["a", "b", "c"]);
        assert_eq!(p.online(), vec!["a", "b", "c"]);
        p.disconnect("a");
        assert_eq!(p.online(), vec!["b", "c"]);
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
