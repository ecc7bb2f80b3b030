//! Who is online: a user is online while at least one of their sockets is connected.
//! Changes are coalesced: a burst of connects marks the set dirty once, and one
//! `getOnlineUsers` broadcast goes out per interval, not one per connect.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketioxide::SocketIo;
use tokio::sync::Notify;

use super::Event;

/// How long changes are gathered before one broadcast.
const COALESCE: Duration = Duration::from_millis(100);

#[derive(Clone, Default)]
pub struct Presence {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    sockets_per_user: Mutex<HashMap<String, usize>>,
    changed: Notify,
}

impl Presence {
    /// Counts a socket in; true if the user just came online.
    pub fn connect(&self, user_id: &str) -> bool {
        let mut map = self.inner.sockets_per_user.lock().unwrap_or_else(|e| e.into_inner());
        let count = map.entry(user_id.to_string()).or_insert(0);
        *count += 1;
        let came_online = *count == 1;
        drop(map);
        if came_online {
            self.inner.changed.notify_one();
        }
        came_online
    }

    /// Counts a socket out; true if the user just went offline.
    pub fn disconnect(&self, user_id: &str) -> bool {
        let mut map = self.inner.sockets_per_user.lock().unwrap_or_else(|e| e.into_inner());
        let went_offline = match map.get_mut(user_id) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                map.remove(user_id);
                true
            }
            None => false,
        };
        drop(map);
        if went_offline {
            self.inner.changed.notify_one();
        }
        went_offline
    }

    /// The online user ids, sorted.
    pub fn online(&self) -> Vec<String> {
        let map = self.inner.sockets_per_user.lock().unwrap_or_else(|e| e.into_inner());
        let mut users: Vec<String> = map.keys().cloned().collect();
        users.sort();
        users
    }

    async fn changed(&self) {
        self.inner.changed.notified().await;
    }
}

/// One task per node: after a change, waits `COALESCE`, then broadcasts the set once.
pub fn spawn_broadcaster(io: SocketIo, presence: Presence) {
    tokio::spawn(async move {
        let mut last_sent: Option<Vec<String>> = None;
        loop {
            presence.changed().await;
            tokio::time::sleep(COALESCE).await;
            let online = presence.online();
            // A user who left and came back within the interval changes nothing to say.
            if last_sent.as_ref() == Some(&online) {
                continue;
            }
            let event = Event::OnlineUsers(&online);
            if let Err(e) = io.emit(event.name(), &event).await {
                tracing::warn!(error = %e, "presence broadcast failed");
            }
            last_sent = Some(online);
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
        assert_eq!(p.online(), vec!["a", "b"]);
        assert!(!p.disconnect("a"));
        assert_eq!(p.online(), vec!["a", "b"]);
        assert!(p.disconnect("a"));
        assert_eq!(p.online(), vec!["b"]);
        assert!(!p.disconnect("zed"), "unknown users are ignored");
    }
}
