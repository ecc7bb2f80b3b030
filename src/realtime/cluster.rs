//! What the nodes of a cluster share through Redis besides Socket.IO events (which the
//! socketioxide Redis adapter carries): who is online, and which cached sessions to drop.
//!
//! Presence: each node keeps the set of users with a socket on it in
//! `natter:presence:node:<node id>`, rewritten whenever it changes and at every heartbeat,
//! with a TTL of `PRESENCE_TTL`, and lists itself in `natter:presence:nodes`. A user is
//! online while any live node's set holds them. A node that dies without cleaning up
//! stops heartbeating; its set expires after the TTL and the others stop counting its
//! users at their next heartbeat (at most TTL + TTL/3 later). After a change a node
//! publishes on `natter:presence:changed` so that the others look again at once.
//!
//! Session invalidations (logout, password change, role change, deletion) are published
//! on `natter:sessions:invalidate` for the other nodes' session caches.
//!
//! Every call here is bounded by a command timeout: with Redis down, requests go on
//! (messages are stored either way) and the calls fail fast until it is back; the fred
//! clients reconnect and resubscribe by themselves.

use std::collections::HashSet;
use std::time::Duration;

use anyhow::Context;
use fred::clients::{Client, SubscriberClient};
use fred::interfaces::{ClientLike, EventInterface, KeysInterface, PubsubInterface, SetsInterface};
use fred::prelude::{Config, ReconnectPolicy};
use fred::types::{Builder, RespVersion};
use serde::{Deserialize, Serialize};

use crate::auth::SessionCache;
use crate::realtime::Presence;

const NODES: &str = "natter:presence:nodes";
const CHANGED: &str = "natter:presence:changed";
const INVALIDATE: &str = "natter:sessions:invalidate";
/// How long a Redis command may take before the caller gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

fn node_key(node: &str) -> String {
    format!("natter:presence:node:{node}")
}

/// A cached session check that another node must drop.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Invalidation {
    Session { node: String, family: String },
    User { node: String, user: String },
}

/// The Redis connection details every client of a node is built from.
pub fn redis_config(url: &str) -> anyhow::Result<Builder> {
    let mut config = Config::from_url(url).context("invalid REDIS_URL")?;
    // The Socket.IO adapter needs RESP3 (pub/sub on a connection that also runs commands).
    config.version = RespVersion::RESP3;
    // A node starts even if Redis is not up yet, and reconnects for ever.
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

/// A subscriber that re-subscribes to its channels after every reconnect (Redis forgets
/// them when it restarts).
pub async fn subscriber(builder: &Builder) -> anyhow::Result<SubscriberClient> {
    let client = builder.build_subscriber_client().context("building a Redis subscriber")?;
    client.init().await.context("connecting to Redis")?;
    // Not fred's `manage_subscriptions`: its `resubscribe_all` sends SUBSCRIBE with no
    // channel when a client only has shard channels (as the Socket.IO adapter's has),
    // Redis refuses that, and the shard channels were never subscribed again.
    let watched = client.clone();
    tokio::spawn(async move {
        let mut reconnects = watched.reconnect_rx();
        while reconnects.recv().await.is_ok() {
            if let Err(e) = resubscribe(&watched).await {
                tracing::error!(error = %e, "re-subscribing after a Redis reconnect failed");
            }
        }
    });
    Ok(client)
}

async fn resubscribe(client: &SubscriberClient) -> Result<(), fred::error::Error> {
    let channels: Vec<String> = client.tracked_channels().iter().map(ToString::to_string).collect();
    if !channels.is_empty() {
        client.subscribe(channels).await?;
    }
    for channel in client.tracked_shard_channels() {
        client.ssubscribe(channel.to_string()).await?;
    }
    tracing::info!("re-subscribed to the cluster channels after a Redis reconnect");
    Ok(())
}

#[derive(Clone)]
pub struct Cluster {
    node: String,
    commands: Client,
    ttl: Duration,
}

impl Cluster {
    pub async fn connect(builder: &Builder, ttl: Duration) -> anyhow::Result<Self> {
        let commands = builder.build().context("building a Redis client")?;
        commands.init().await.context("connecting to Redis")?;
        Ok(Self { node: uuid::Uuid::now_v7().simple().to_string(), commands, ttl })
    }

    pub fn node_id(&self) -> &str {
        &self.node
    }

    /// How often a node refreshes its presence record.
    pub fn heartbeat(&self) -> Duration {
        (self.ttl / 3).max(Duration::from_millis(100))
    }

    /// Whether Redis answers now.
    pub async fn ping(&self) -> bool {
        self.commands.ping::<String>(None).await.is_ok()
    }

    /// Replaces this node's online set (atomically, by renaming a fresh copy over it) and
    /// refreshes its TTL.
    pub async fn write_local(&self, users: &[String]) -> anyhow::Result<()> {
        let key = node_key(&self.node);
        let ttl_ms = i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        if users.is_empty() {
            let _: () = self.commands.del(&key).await?;
        } else {
            let tmp = format!("{key}:next");
            let _: () = self.commands.del(&tmp).await?;
            let _: () = self.commands.sadd(&tmp, users.to_vec()).await?;
            let _: () = self.commands.pexpire(&tmp, ttl_ms, None).await?;
            let _: () = self.commands.rename(&tmp, &key).await?;
        }
        let _: () = self.commands.sadd(NODES, self.node.as_str()).await?;
        Ok(())
    }

    /// Tells the other nodes to look at the online sets again.
    pub async fn publish_presence_change(&self) -> anyhow::Result<()> {
        let _: i64 = self.commands.publish(CHANGED, self.node.as_str()).await?;
        Ok(())
    }

    /// The users online on the other live nodes.
    pub async fn others_online(&self) -> anyhow::Result<HashSet<String>> {
        let nodes: Vec<String> = self.commands.smembers(NODES).await?;
        let mut keys = Vec::new();
        for node in nodes.iter().filter(|n| **n != self.node) {
            let key = node_key(node);
            let live: i64 = self.commands.exists(&key).await?;
            if live == 0 {
                // Expired (dead node) or empty: it lists itself again at its next heartbeat.
                let _: () = self.commands.srem(NODES, node.as_str()).await?;
            } else {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Ok(HashSet::new());
        }
        Ok(self.commands.sunion(keys).await?)
    }

    /// A clean exit: this node's users stop counting at once.
    pub async fn leave(&self) {
        let _: Result<(), _> = self.commands.del(node_key(&self.node)).await;
        let _: Result<(), _> = self.commands.srem(NODES, self.node.as_str()).await;
        let _ = self.publish_presence_change().await;
    }

    pub async fn publish_invalidation(&self, invalidation: &Invalidation) {
        let Ok(payload) = serde_json::to_string(invalidation) else { return };
        if let Err(e) = self.commands.publish::<i64, _, _>(INVALIDATE, payload).await {
            // The TTL of the cache bounds how long the other nodes trust the session.
            tracing::warn!(error = %e, "could not tell the other nodes about a revoked session");
        }
    }

    /// Listens to the other nodes: presence changes wake this node's broadcaster;
    /// invalidations empty this node's session cache. One subscription per node.
    pub fn spawn_listener(&self, subscriber: SubscriberClient, presence: Presence, sessions: SessionCache) {
        let me = self.node.clone();
        let mut messages = subscriber.message_rx();
        tokio::spawn(async move {
            if let Err(e) = subscriber.subscribe(vec![CHANGED, INVALIDATE]).await {
                tracing::error!(error = %e, "subscribing to the cluster channels failed; retrying on reconnect");
            }
            loop {
                let message = match messages.recv().await {
                    Ok(message) => message,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "cluster listener lagged; refreshing presence");
                        presence.mark_changed();
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                };
                let channel = message.channel.to_string();
                let Some(payload) = message.value.as_string() else { continue };
                if channel == CHANGED {
                    if payload != me {
                        presence.mark_changed();
                    }
                } else if channel == INVALIDATE {
                    match serde_json::from_str::<Invalidation>(&payload) {
                        Ok(Invalidation::Session { node, family }) if node != me => sessions.forget_session(&family),
                        Ok(Invalidation::User { node, user }) if node != me => sessions.forget_user(&user),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "unreadable cluster invalidation"),
                    }
                }
            }
        });
    }
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
}
