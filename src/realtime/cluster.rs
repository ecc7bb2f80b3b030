//! What the nodes of a cluster share through Redis: Socket.IO events (carried by the
//! socketioxide Redis adapter over `BusDriver`), who is online, and which cached sessions
//! to drop.
//!
//! Nothing here waits for Redis to start or to come back. A node starts and serves with
//! Redis down (its own sockets, the store), reports `bus: unreachable` in `/readyz`, and
//! joins by itself when Redis answers; every (re)connection to Redis, whatever happened to
//! Redis in between, is followed at once by the same steps: the channels are subscribed
//! again, the node's presence record is written again and the others are told to look.
//!
//! Presence: each node keeps the users with a socket on it in the set
//! `natter:{presence}:node:<id>` with a TTL of `PRESENCE_TTL`, rewritten when it changes and
//! at every heartbeat (TTL/3), and lists itself in `natter:{presence}:nodes`; each write and
//! each read is one Lua script, so a Redis restart in the middle leaves no half-written
//! record. A read returns every other node's set with its remaining TTL, and this node
//! counts those users only until that TTL runs out, unless a later read renews it. So a
//! node that dies at any moment, Redis up or down, stops counting within the TTL (and the
//! next broadcast tick, a heartbeat later, tells the sockets).
//!
//! Session invalidations (logout, password change, role change, deletion) are published
//! on `natter:sessions:invalidate` for the other nodes' session caches; while Redis is
//! down the cache's TTL bounds how long another node trusts a revoked session.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use fred::clients::{Client, SubscriberClient};
use fred::error::{Error as RedisError, ErrorKind};
use fred::interfaces::{ClientLike, EventInterface, KeysInterface, LuaInterface, PubsubInterface};
use fred::prelude::{Config, ReconnectPolicy};
use fred::types::{Builder, RespVersion, Value as RedisValue};
use serde::{Deserialize, Serialize};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use tokio::sync::{Notify, mpsc};

use crate::auth::SessionCache;
use crate::realtime::Presence;
use crate::realtime::presence::{COALESCE, RemoteNode};

// One hash tag for all presence keys: the scripts touch several of them, which Redis
// Cluster allows only within one slot.
const NODES: &str = "natter:{presence}:nodes";
const NODE_PREFIX: &str = "natter:{presence}:node:";
const CHANGED: &str = "natter:{presence}:changed";
const INVALIDATE: &str = "natter:sessions:invalidate";
/// How long a Redis command may take before the caller gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the subscriptions are retried while they are not all in place.
const RESUBSCRIBE_EVERY: Duration = Duration::from_millis(500);

/// Replaces this node's set and lists the node, in one step. KEYS: the node's key, the
/// node list; ARGV: node id, TTL in ms, then the users (added in chunks: Lua's `unpack`
/// takes at most a few thousand values). The set always holds `""` as well, so that a live
/// node with nobody online still has a record: a missing record means a dead node (or a
/// restarted Redis), never an idle one.
const WRITE_SCRIPT: &str = r"
redis.call('DEL', KEYS[1])
redis.call('SADD', KEYS[1], '')
for i = 3, #ARGV, 1000 do
  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
";

/// Every other node's set with its remaining TTL; a node whose record has expired is taken
/// off the list (in the same step, so a node writing its record at that moment is never
/// dropped). KEYS: the node list; ARGV: key prefix, this node's id.
const READ_SCRIPT: &str = r"
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if id ~= ARGV[2] then
    local key = ARGV[1] .. id
    local ttl = redis.call('PTTL', key)
    if ttl == -2 then
      redis.call('SREM', KEYS[1], id)
    elseif ttl > 0 then
      table.insert(out, {id, ttl, redis.call('SMEMBERS', key)})
    end
  end
end
return out
";

fn node_key(node: &str) -> String {
    format!("{NODE_PREFIX}{node}")
}

fn unreachable() -> RedisError {
    RedisError::new(ErrorKind::IO, "Redis is unreachable")
}

/// What a node announces on `natter:{presence}:changed`: read the sets again; with `left`,
/// this node stopped cleanly and its users no longer count.
#[derive(Debug, Serialize, Deserialize)]
struct PresenceChange {
    node: String,
    left: bool,
}

/// A cached session check that another node must drop.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Invalidation {
    Session { node: String, family: String },
    User { node: String, user: String },
}

/// The Redis connection details every client of a node is built from.
fn redis_config(url: &str) -> anyhow::Result<Builder> {
    let mut config = Config::from_url(url).context("invalid REDIS_URL")?;
    // The Socket.IO adapter needs RESP3 (pub/sub on a connection that also runs commands).
    config.version = RespVersion::RESP3;
    // Reconnect for ever, from the first attempt on (a node may start before Redis).
    config.fail_fast = false;
    let mut builder = Builder::from_config(config);
    builder
        .set_policy(ReconnectPolicy::new_constant(0, 500))
        .with_connection_config(|c| {
            c.connection_timeout = COMMAND_TIMEOUT;
            c.internal_command_timeout = COMMAND_TIMEOUT;
        })
        .with_performance_config(|p| p.default_command_timeout = COMMAND_TIMEOUT);
    Ok(builder)
}

/// The pub/sub side of a node: a `socketioxide-redis` driver (its documented extension
/// point) over one fred subscriber connection, used by the Socket.IO adapter and by the
/// cluster's own channels alike.
///
/// Why not the crate's `FredDriver`: it waits in `new` until Redis answers (a node could not
/// start with Redis down), a failed `SSUBSCRIBE` fails the adapter's start for good, and it
/// never subscribes again after a Redis restart. Here the subscriptions are the state
/// wanted: `subscribe` records the channel, and one task makes the subscriptions whenever
/// they are not all in place on the current connection (after every reconnect, and after
/// every new channel), retrying until Redis takes them.
#[derive(Clone)]
pub struct BusDriver {
    inner: Arc<DriverInner>,
}

struct DriverInner {
    conn: SubscriberClient,
    /// The node's command connection, which publishes while it is up: it is the one
    /// readiness checks, and after a Redis restart it may be back before `conn` is.
    publisher: Client,
    handlers: RwLock<HashMap<String, mpsc::Sender<ChanItem>>>,
    /// Bumped by every new channel and every reconnection.
    wanted: AtomicU64,
    /// The `wanted` value at the start of the last subscription pass that succeeded.
    done: AtomicU64,
    wake: Notify,
}

/// Why a publish or subscription failed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BusError(#[from] RedisError);

impl BusDriver {
    /// Starts the connection in the background; returns at once.
    fn start(builder: &Builder, publisher: Client) -> anyhow::Result<Self> {
        let conn = builder.build_subscriber_client().context("building a Redis subscriber")?;
        let inner = Arc::new(DriverInner {
            conn,
            publisher,
            handlers: RwLock::new(HashMap::new()),
            wanted: AtomicU64::new(1),
            done: AtomicU64::new(0),
            wake: Notify::new(),
        });
        // Subscribed before `connect`, so that the first connection counts too.
        let mut messages = inner.conn.message_rx();
        let mut reconnects = inner.conn.reconnect_rx();
        let pump = inner.clone();
        tokio::spawn(async move {
            loop {
                match messages.recv().await {
                    Ok(message) => {
                        let channel = message.channel.to_string();
                        let Some(data) = message.value.into_owned_bytes() else { continue };
                        let handler = pump.handlers().get(&channel).cloned();
                        if let Some(tx) = handler
                            && let Err(e) = tx.try_send((channel, data))
                        {
                            tracing::warn!(error = %e, "a cluster message was dropped (its reader is behind)");
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "cluster messages dropped (the reader is behind)");
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        let watcher = inner.clone();
        tokio::spawn(async move {
            // Redis forgets every subscription when it restarts, and a new connection has none.
            while reconnects.recv().await.is_ok() {
                watcher.want_again();
            }
        });
        let reconciler = inner.clone();
        tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(RESUBSCRIBE_EVERY, reconciler.wake.notified()).await;
                reconciler.subscribe_all().await;
            }
        });
        let _connection = inner.conn.connect();
        Ok(Self { inner })
    }

    /// Records a channel; its messages arrive once the subscription is made (at once when
    /// Redis answers, else after the next connection).
    fn listen(&self, chan: String, size: usize) -> MessageStream<ChanItem> {
        let (tx, rx) = mpsc::channel(size);
        self.inner.handlers.write().unwrap_or_else(|e| e.into_inner()).insert(chan, tx);
        self.inner.want_again();
        MessageStream::new(rx)
    }

    /// Whether every channel is subscribed on the current connection.
    pub fn subscribed(&self) -> bool {
        self.inner.conn.is_connected()
            && self.inner.done.load(Ordering::Acquire) == self.inner.wanted.load(Ordering::Acquire)
    }
}

impl DriverInner {
    fn handlers(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, mpsc::Sender<ChanItem>>> {
        self.handlers.read().unwrap_or_else(|e| e.into_inner())
    }

    fn want_again(&self) {
        self.wanted.fetch_add(1, Ordering::AcqRel);
        self.wake.notify_one();
    }

    async fn subscribe_all(&self) {
        let wanted = self.wanted.load(Ordering::Acquire);
        if self.done.load(Ordering::Acquire) == wanted || !self.conn.is_connected() {
            return;
        }
        let channels: Vec<String> = self.handlers().keys().cloned().collect();
        let result = if channels.is_empty() { Ok(()) } else { self.conn.ssubscribe(channels).await };
        match result {
            Ok(()) => {
                self.done.store(wanted, Ordering::Release);
                tracing::info!("subscribed to the cluster channels");
            }
            Err(e) => {
                crate::telemetry::bus_error("subscribe");
                tracing::warn!(error = %e, "subscribing to the cluster channels failed; retrying");
            }
        }
    }
}

impl Driver for BusDriver {
    type Error = BusError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), BusError> {
        // Fail at once rather than after the command timeout: the caller delivers to this
        // node's own sockets instead, and a queue of events must not wait 2 s each.
        if self.inner.publisher.is_connected() {
            self.inner.publisher.spublish::<i64, _, _>(chan, val).await?;
        } else if self.inner.conn.is_connected() {
            self.inner.conn.spublish::<i64, _, _>(chan, val).await?;
        } else {
            return Err(unreachable().into());
        }
        Ok(())
    }

    async fn subscribe(&self, chan: String, size: usize) -> Result<MessageStream<ChanItem>, BusError> {
        Ok(self.listen(chan, size))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), BusError> {
        self.inner.handlers.write().unwrap_or_else(|e| e.into_inner()).remove(&chan);
        if self.inner.conn.is_connected() {
            self.inner.conn.sunsubscribe(chan).await?;
        }
        Ok(())
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, BusError> {
        if !self.inner.conn.is_connected() {
            return Err(unreachable().into());
        }
        let (_, num): (String, u16) = self.inner.conn.pubsub_shardnumsub(chan).await?;
        Ok(num)
    }
}

#[derive(Clone)]
pub struct Cluster {
    node: Arc<str>,
    commands: Client,
    bus: BusDriver,
    ttl: Duration,
    /// This node's presence record is in Redis since the last (re)connection.
    registered: Arc<AtomicBool>,
    /// Set by `leave`; held by the presence sync while it writes, so that no write lands
    /// after the record was withdrawn (the sockets closing at shutdown change the set).
    left: Arc<tokio::sync::Mutex<bool>>,
    /// Another node announced a presence change.
    others_changed: Arc<Notify>,
}

impl Cluster {
    /// Joins the cluster behind `url`: starts the connections (in the background: Redis may
    /// be down), the presence sync and the listener of the cluster channels.
    pub fn start(url: &str, ttl: Duration, presence: Presence, sessions: SessionCache) -> anyhow::Result<Self> {
        let builder = redis_config(url)?;
        let commands = builder.build().context("building a Redis client")?;
        let cluster = Self {
            node: Arc::from(uuid::Uuid::now_v7().simple().to_string()),
            bus: BusDriver::start(&builder, commands.clone())?,
            commands,
            ttl,
            registered: Arc::new(AtomicBool::new(false)),
            left: Arc::new(tokio::sync::Mutex::new(false)),
            others_changed: Arc::new(Notify::new()),
        };
        cluster.spawn_listener(presence.clone(), sessions);
        // Subscribed before `connect`, so that the first connection is seen too.
        let reconnects = cluster.commands.reconnect_rx();
        cluster.spawn_presence_sync(presence, reconnects);
        let _connection = cluster.commands.connect();
        Ok(cluster)
    }

    /// The driver the Socket.IO adapter publishes and subscribes through.
    pub fn bus(&self) -> BusDriver {
        self.bus.clone()
    }

    pub fn node_id(&self) -> &str {
        &self.node
    }

    /// How often a node refreshes its presence record and reads the others'.
    pub fn heartbeat(&self) -> Duration {
        (self.ttl / 3).max(Duration::from_millis(100))
    }

    /// Whether this node is in the cluster now: Redis answers, every channel is subscribed
    /// and this node's presence record is written.
    pub async fn ready(&self) -> bool {
        self.registered.load(Ordering::Acquire)
            && self.bus.subscribed()
            && self.commands.is_connected()
            && self.commands.ping::<String>(None).await.is_ok()
    }

    /// Replaces this node's online set and refreshes its TTL (one script: all or nothing).
    async fn write_local(&self, users: Vec<String>) -> Result<(), RedisError> {
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX).to_string();
        let mut args = Vec::with_capacity(users.len() + 2);
        args.push(self.node.to_string());
        args.push(ttl_ms);
        args.extend(users);
        let keys = vec![node_key(&self.node), NODES.to_string()];
        let _: RedisValue = self.commands.eval(WRITE_SCRIPT, keys, args).await?;
        Ok(())
    }

    /// The other nodes' online sets, each valid until its record expires.
    async fn read_others(&self) -> Result<Vec<RemoteNode>, RedisError> {
        let asked_at = Instant::now();
        let args = vec![NODE_PREFIX.to_string(), self.node.to_string()];
        let reply: RedisValue = self.commands.eval(READ_SCRIPT, NODES, args).await?;
        Ok(parse_nodes(reply, asked_at))
    }

    /// Tells the other nodes to read the online sets again (or that this node left).
    async fn publish_presence_change(&self, left: bool) -> Result<(), RedisError> {
        let payload = serde_json::to_string(&PresenceChange { node: self.node.to_string(), left })
            .map_err(|e| RedisError::new(ErrorKind::Parse, e.to_string()))?;
        let _: i64 = self.commands.spublish(CHANGED, payload).await?;
        Ok(())
    }

    /// A clean exit: this node's users stop counting at once.
    pub async fn leave(&self) {
        let mut left = self.left.lock().await;
        *left = true;
        if !self.commands.is_connected() {
            return;
        }
        let _: Result<(), _> = self.commands.del(node_key(&self.node)).await;
        let _: Result<(), _> = fred::interfaces::SetsInterface::srem(&self.commands, NODES, self.node.as_ref()).await;
        let _ = self.publish_presence_change(true).await;
    }

    pub async fn publish_invalidation(&self, invalidation: &Invalidation) {
        let Ok(payload) = serde_json::to_string(invalidation) else { return };
        let result = if self.commands.is_connected() {
            self.commands.spublish::<i64, _, _>(INVALIDATE, payload).await.map(drop)
        } else {
            Err(unreachable())
        };
        if let Err(e) = result {
            // The TTL of the cache bounds how long the other nodes trust the session.
            crate::telemetry::bus_error("invalidate_sessions");
            tracing::warn!(error = %e, "could not tell the other nodes about a revoked session");
        }
    }

    /// Keeps this node's presence record in Redis and the other nodes' sets in `presence`:
    /// writes on a local change, at every heartbeat and after every (re)connection; reads
    /// after each of those and when another node announces a change. Never holds up the
    /// broadcaster (which only reads `presence`).
    fn spawn_presence_sync(
        &self,
        presence: Presence,
        mut reconnects: tokio::sync::broadcast::Receiver<fred::types::config::Server>,
    ) {
        let cluster = self.clone();
        tokio::spawn(async move {
            let mut beat = tokio::time::interval(cluster.heartbeat());
            beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A write is owed: at a heartbeat, or (with an announcement) after a reconnection.
            let (mut beat_due, mut announce) = (false, false);
            loop {
                tokio::select! {
                    () = presence.local_changed() => {}
                    () = cluster.others_changed.notified() => {}
                    _ = beat.tick() => beat_due = true,
                    event = reconnects.recv() => match event {
                        Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                            // A restarted Redis holds no record of this node.
                            cluster.registered.store(false, Ordering::Release);
                            announce = true;
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                    },
                }
                tokio::time::sleep(COALESCE).await;
                if !cluster.commands.is_connected() {
                    // Nothing to do until the next connection (its event wakes this loop).
                    continue;
                }
                let left = cluster.left.lock().await;
                if *left {
                    return;
                }
                let local_changed = presence.take_local_change();
                if local_changed || beat_due || announce || !cluster.registered.load(Ordering::Acquire) {
                    match cluster.write_local(presence.local_users()).await {
                        Ok(()) => {
                            cluster.registered.store(true, Ordering::Release);
                            beat_due = false;
                            if local_changed || announce {
                                match cluster.publish_presence_change(false).await {
                                    Ok(()) => announce = false,
                                    Err(e) => {
                                        crate::telemetry::bus_error("presence_announce");
                                        tracing::warn!(error = %e, "could not announce a presence change");
                                    }
                                }
                            }
                        }
                        Err(e) => {
                            crate::telemetry::bus_error("presence_write");
                            tracing::warn!(error = %e, "could not write this node's presence; retrying");
                            announce |= local_changed;
                        }
                    }
                }
                drop(left);
                match cluster.read_others().await {
                    Ok(nodes) => presence.set_remote(nodes),
                    Err(e) => {
                        crate::telemetry::bus_error("presence_read");
                        tracing::warn!(error = %e, "could not read the other nodes' presence");
                    }
                }
            }
        });
    }

    /// Listens to the other nodes: presence changes wake this node's presence sync;
    /// invalidations empty this node's session cache.
    fn spawn_listener(&self, presence: Presence, sessions: SessionCache) {
        use futures::StreamExt;
        let me = self.node.clone();
        let others_changed = self.others_changed.clone();
        let mut messages =
            futures::stream::select(self.bus.listen(CHANGED.into(), 1024), self.bus.listen(INVALIDATE.into(), 1024));
        tokio::spawn(async move {
            while let Some((channel, data)) = messages.next().await {
                let Ok(payload) = std::str::from_utf8(&data) else { continue };
                if channel == CHANGED {
                    match serde_json::from_str::<PresenceChange>(payload) {
                        Ok(change) if *change.node != *me => {
                            if change.left {
                                presence.forget_node(&change.node);
                            }
                            others_changed.notify_one();
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "unreadable presence change"),
                    }
                } else {
                    match serde_json::from_str::<Invalidation>(payload) {
                        Ok(Invalidation::Session { node, family }) if *node != *me => sessions.forget_session(&family),
                        Ok(Invalidation::User { node, user }) if *node != *me => sessions.forget_user(&user),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "unreadable cluster invalidation"),
                    }
                }
            }
        });
    }
}

/// Reads the presence script's reply: `[[node id, ttl_ms, [user…]]…]`.
fn parse_nodes(reply: RedisValue, asked_at: Instant) -> Vec<RemoteNode> {
    reply
        .into_array()
        .into_iter()
        .filter_map(|node| {
            let mut fields = node.into_array().into_iter();
            let id = fields.next()?.into_string()?;
            let ttl_ms = fields.next()?.as_u64()?;
            let users: HashSet<String> = fields
                .next()?
                .into_array()
                .into_iter()
                .filter_map(|u| u.into_string())
                .filter(|u| !u.is_empty())
                .collect();
            // Counted from when the question was sent: never past the record's real expiry.
            Some(RemoteNode { id, users, until: asked_at + Duration::from_millis(ttl_ms) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidations_round_trip_as_tagged_json() {
        let i = Invalidation::Session { node: "n1".into(), family: "f".into() };
        let json = serde_json::to_string(&i).unwrap();
        assert_eq!(json, r#"{"kind":"session","node":"n1","family":"f"}"#);
        assert_eq!(serde_json::from_str::<Invalidation>(&json).unwrap(), i);
    }

    #[test]
    fn a_read_counts_each_node_until_its_record_expires() {
        let asked_at = Instant::now();
        let reply = RedisValue::Array(vec![
            RedisValue::Array(vec![
                RedisValue::from("n1"),
                RedisValue::Integer(1500),
                RedisValue::Array(vec![RedisValue::from(""), RedisValue::from("ann"), RedisValue::from("bob")]),
            ]),
            RedisValue::Array(vec![
                RedisValue::from("n2"),
                RedisValue::Integer(200),
                RedisValue::Array(vec![RedisValue::from("")]),
            ]),
        ]);
        let nodes = parse_nodes(reply, asked_at);
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].id, "n1");
        assert_eq!(nodes[0].users, HashSet::from(["ann".to_string(), "bob".to_string()]), "the marker is no user");
        assert_eq!(nodes[0].until, asked_at + Duration::from_millis(1500));
        assert!(nodes[1].users.is_empty());
    }
}
