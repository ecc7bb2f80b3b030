//! Real-time delivery over Socket.IO (socketioxide, on the same port as the API).
//!
//! Every socket joins `user:<id>` (all of a user's tabs and devices) and `session:<sid>`
//! (its login, so revoking the session disconnects exactly its sockets). Services call
//! `Realtime` after their write has committed; events never carry anything the store does
//! not already have, so a client that missed one catches up over REST.

pub mod cluster;
mod presence;
pub mod socket;

use std::time::Duration;

use serde::Serialize;
use socketioxide::SocketIo;
use socketioxide::adapter::{Adapter, Emitter};
use socketioxide::layer::SocketIoLayer;
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tokio::sync::mpsc;

use cluster::{BusDriver, Cluster, Invalidation};

pub use presence::Presence;

use crate::auth::{JwtKeys, SessionCache};
use crate::db::Db;
use crate::views::{MessageResponse, ReadReceipt, TutorialPost};

/// Every event natter emits: names fixed by the tutorials' clients, payloads from `views`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Event<'a> {
    NewMessage(&'a MessageResponse),
    MessageUpdated(&'a MessageResponse),
    MessageDeleted {
        #[serde(rename = "_id")]
        id: &'a str,
        #[serde(rename = "roomId")]
        room_id: &'a str,
    },
    MessagesRead(&'a ReadReceipt),
    Typing {
        #[serde(rename = "roomId")]
        room_id: &'a str,
        #[serde(rename = "userId")]
        user_id: &'a str,
    },
    OnlineUsers(&'a [String]),
    /// The chat-API tutorial's `new message`: `{message: <post>}`.
    RoomPost {
        message: &'a TutorialPost,
    },
    SessionRevoked {
        reason: &'a str,
    },
}

impl Event<'_> {
    pub fn name(&self) -> &'static str {
        match self {
            Self::NewMessage(_) => "newMessage",
            Self::MessageUpdated(_) => "messageUpdated",
            Self::MessageDeleted { .. } => "messageDeleted",
            Self::MessagesRead(_) => "messagesRead",
            Self::Typing { .. } => "typing",
            Self::OnlineUsers(_) => "getOnlineUsers",
            Self::RoomPost { .. } => "new message",
            Self::SessionRevoked { .. } => "sessionRevoked",
        }
    }
}

/// Socket.IO room names, built only here.
pub fn user_room(user_id: &str) -> String {
    format!("user:{user_id}")
}

pub fn session_room(family: &str) -> String {
    format!("session:{family}")
}

pub fn channel_room(room_id: &str) -> String {
    format!("room:{room_id}")
}

/// Sockets are spread over this many presence groups, so that a `getOnlineUsers`
/// broadcast can go out one group at a time (see `presence`).
pub const PRESENCE_GROUPS: u32 = 256;

/// The presence group of a socket, from its id.
pub fn presence_room(socket_id: &str) -> String {
    let hash = socket_id.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    presence_group_room(hash % PRESENCE_GROUPS)
}

pub fn presence_group_room(group: u32) -> String {
    format!("presence:{group}")
}

/// What socket handlers need; deliberately not `AppState` (which holds the `SocketIo`).
#[derive(Clone)]
pub struct SocketContext {
    pub db: Db,
    pub jwt: std::sync::Arc<JwtKeys>,
    pub sessions: SessionCache,
    pub presence: Presence,
    pub limits: crate::services::rate_limit::RateLimits,
}

/// This node's Socket.IO server: with the in-process adapter (one node) or the Redis
/// adapter of socketioxide (a cluster: `io.to(room).emit` reaches sockets on every node).
#[derive(Clone)]
enum Io {
    Local(SocketIo),
    Redis(SocketIo<RedisIo>),
}

type RedisIo = CustomRedisAdapter<Emitter, BusDriver>;

/// Expands `$body` once per adapter with `$io` bound to the `SocketIo`.
macro_rules! on_io {
    ($io:expr, |$s:ident| $body:expr) => {
        match $io {
            Io::Local($s) => $body,
            Io::Redis($s) => $body,
        }
    };
}

/// The Socket.IO layer to mount on the router, whichever the adapter.
pub enum RealtimeLayer {
    Local(SocketIoLayer),
    Redis(SocketIoLayer<RedisIo>),
}

impl RealtimeLayer {
    pub fn mount<S: Clone + Send + Sync + 'static>(self, router: axum::Router<S>) -> axum::Router<S> {
        match self {
            Self::Local(layer) => router.layer(layer),
            Self::Redis(layer) => router.layer(layer),
        }
    }
}

/// The handle services use to emit.
#[derive(Clone)]
pub struct Realtime {
    io: Io,
    outbox: mpsc::Sender<Outgoing>,
    presence: Presence,
    cluster: Option<Cluster>,
}

/// What services hand to the outbox: events leave in the order they were committed, and a
/// request never waits for the bus (with Redis unreachable a publish can take seconds).
enum Outgoing {
    Emit {
        rooms: Vec<String>,
        name: &'static str,
        /// Serialised once, here (a `Value` tree would be built and then serialised again).
        payload: Box<serde_json::value::RawValue>,
    },
    Disconnect {
        rooms: Vec<String>,
    },
    /// For the other nodes' session caches (cluster mode only).
    Invalidate(Invalidation),
}

/// Events waiting beyond this are dropped (and logged): they are all in the store, and a
/// client that missed one catches up over REST.
const OUTBOX_CAPACITY: usize = 100_000;

/// One task per node sends the outbox's events in order.
fn spawn_outbox(io: Io, cluster: Option<Cluster>) -> mpsc::Sender<Outgoing> {
    let (tx, mut rx) = mpsc::channel::<Outgoing>(OUTBOX_CAPACITY);
    tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            match out {
                Outgoing::Emit { rooms, name, payload } => {
                    on_io!(&io, |io| emit_everywhere(io, rooms, name, &payload).await);
                }
                Outgoing::Disconnect { rooms } => {
                    if let Err(e) = on_io!(&io, |io| io.to(rooms.clone()).disconnect().await) {
                        tracing::warn!(error = %e, "disconnecting revoked sockets failed");
                        if let Io::Redis(io) = &io {
                            let _ = io.local().to(rooms).disconnect().await;
                        }
                    }
                }
                Outgoing::Invalidate(invalidation) => {
                    if let Some(cluster) = &cluster {
                        cluster.publish_invalidation(&invalidation).await;
                    }
                }
            }
        }
    });
    tx
}

/// Emits to `rooms` on every node, or, with the bus unreachable, to this node's own sockets
/// at least (the Redis adapter gives up before emitting locally when it cannot publish).
pub(crate) async fn emit_everywhere<A: Adapter, T: Serialize + ?Sized>(
    io: &SocketIo<A>,
    rooms: Vec<String>,
    name: &'static str,
    payload: &T,
) {
    metrics::counter!(crate::telemetry::names::EVENTS_PUBLISHED, "event" => name).increment(1);
    if let Err(e) = io.to(rooms.clone()).emit(name, payload).await {
        crate::telemetry::bus_error("publish");
        tracing::warn!(error = %e, event = name, "emit failed; delivering to this node's sockets only");
        if let Err(e) = io.local().to(rooms).emit(name, payload).await {
            tracing::warn!(error = %e, event = name, "local emit failed");
        }
    }
}

fn builder() -> socketioxide::SocketIoBuilder {
    SocketIo::builder()
        .max_payload(1_000_000)
        // Client frames are small events; a large one still fits (the buffer grows).
        .ws_read_buffer_size(1024)
}

impl Realtime {
    /// Builds the Socket.IO layer (mounted at `/socket.io/`) and its handle, and starts the
    /// presence broadcaster. With a Redis URL the node joins the cluster behind it.
    pub async fn new(
        ctx: SocketContext,
        redis_url: Option<&str>,
        presence_ttl: Duration,
    ) -> anyhow::Result<(RealtimeLayer, Self)> {
        let presence = ctx.presence.clone();
        let Some(url) = redis_url else {
            let (layer, io) = builder().with_state(ctx).build_layer();
            socket::register(&io);
            presence::spawn_broadcaster(io.clone(), presence.clone(), None);
            let outbox = spawn_outbox(Io::Local(io.clone()), None);
            return Ok((RealtimeLayer::Local(layer), Self { io: Io::Local(io), outbox, presence, cluster: None }));
        };
        // Nothing below waits for Redis: a node started while it is down serves its own
        // sockets and the store, and joins the cluster when Redis answers.
        let cluster = Cluster::start(url, presence_ttl, presence.clone(), ctx.sessions.clone())?;
        let adapter =
            RedisAdapterCtr::new_with_driver(cluster.bus(), RedisAdapterConfig::new().with_prefix("natter-sio"));
        let (layer, io) = builder().with_adapter::<RedisIo>(adapter).with_state(ctx).build_layer();
        // Completes at once: the driver records the adapter's channels and subscribes them
        // whenever Redis answers.
        socket::register(&io).await.map_err(|e| anyhow::anyhow!("starting the Socket.IO cluster adapter: {e}"))?;
        presence::spawn_broadcaster(io.clone(), presence.clone(), Some(cluster.heartbeat()));
        tracing::info!(node = cluster.node_id(), "cluster node started; joining through Redis");
        let outbox = spawn_outbox(Io::Redis(io.clone()), Some(cluster.clone()));
        Ok((RealtimeLayer::Redis(layer), Self { io: Io::Redis(io), outbox, presence, cluster: Some(cluster) }))
    }

    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// `Some(in the cluster)` in cluster mode (Redis answers, the channels are subscribed
    /// and this node's presence is written), `None` on a single node (nothing to reach).
    pub async fn bus_reachable(&self) -> Option<bool> {
        match &self.cluster {
            Some(cluster) => Some(cluster.ready().await),
            None => None,
        }
    }

    fn send(&self, out: Outgoing) {
        if let Err(e) = self.outbox.try_send(out) {
            metrics::counter!(crate::telemetry::names::EVENTS_DROPPED).increment(1);
            tracing::warn!(error = %e, "realtime outbox full or closed; event dropped (clients catch up over REST)");
        }
    }

    /// Emits to `rooms` on every node, after the events queued before it.
    async fn emit_to(&self, rooms: Vec<String>, event: &Event<'_>) {
        match serde_json::value::to_raw_value(event) {
            Ok(payload) => self.send(Outgoing::Emit { rooms, name: event.name(), payload }),
            Err(e) => tracing::error!(error = %e, event = event.name(), "event not serialisable"),
        }
    }

    /// Emits to every socket of each of `users`.
    pub async fn to_users<'u>(&self, users: impl IntoIterator<Item = &'u str>, event: &Event<'_>) {
        let rooms: Vec<String> = users.into_iter().map(user_room).collect();
        if !rooms.is_empty() {
            self.emit_to(rooms, event).await;
        }
    }

    /// Emits to the sockets subscribed to a room's channel.
    pub async fn to_channel(&self, room_id: &str, event: &Event<'_>) {
        self.emit_to(vec![channel_room(room_id)], event).await;
    }

    /// Tells the sockets of these sessions why, then disconnects them.
    pub async fn revoke_sessions(&self, families: &[String], reason: &str) {
        let rooms: Vec<String> = families.iter().map(|f| session_room(f)).collect();
        if !rooms.is_empty() {
            self.kick(rooms, reason).await;
        }
    }

    /// Tells the other nodes that these sessions were revoked, so that their session caches
    /// drop them too (through the outbox: the request does not wait for Redis). A single
    /// node has nobody to tell.
    pub async fn forget_sessions(&self, families: &[String]) {
        if let Some(cluster) = &self.cluster {
            for family in families {
                let node = cluster.node_id().to_string();
                self.send(Outgoing::Invalidate(Invalidation::Session { node, family: family.clone() }));
            }
        }
    }

    /// Tells the other nodes that a user changed (see `forget_sessions`).
    pub async fn forget_user(&self, user_id: &str) {
        if let Some(cluster) = &self.cluster {
            let node = cluster.node_id().to_string();
            self.send(Outgoing::Invalidate(Invalidation::User { node, user: user_id.to_string() }));
        }
    }

    /// Disconnects every socket of a user (account deleted).
    pub async fn disconnect_user(&self, user_id: &str, reason: &str) {
        self.kick(vec![user_room(user_id)], reason).await;
    }

    async fn kick(&self, rooms: Vec<String>, reason: &str) {
        let event = Event::SessionRevoked { reason };
        self.emit_to(rooms.clone(), &event).await;
        self.send(Outgoing::Disconnect { rooms });
    }

    /// Closes this node's sockets; a cluster node also withdraws its presence record.
    pub async fn close(&self) {
        if let Some(cluster) = &self.cluster {
            cluster.leave().await;
        }
        on_io!(&self.io, |io| io.close().await);
    }
}
