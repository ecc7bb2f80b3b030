//! Real-time delivery over Socket.IO (socketioxide, on the same port as the API).
//!
//! Every socket joins `user:<id>` (all of a user's tabs and devices) and `session:<sid>`
//! (its login, so revoking the session disconnects exactly its sockets). Services call
//! `Realtime` after their write has committed; events never carry anything the store does
//! not already have, so a client that missed one catches up over REST.

mod presence;
mod socket;

use serde::Serialize;
use socketioxide::SocketIo;
use socketioxide::layer::SocketIoLayer;

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

/// What socket handlers need; deliberately not `AppState` (which holds the `SocketIo`).
#[derive(Clone)]
pub struct SocketContext {
    pub db: Db,
    pub jwt: std::sync::Arc<JwtKeys>,
    pub sessions: SessionCache,
    pub presence: Presence,
}

/// The handle services use to emit.
#[derive(Clone)]
pub struct Realtime {
    io: SocketIo,
    presence: Presence,
}

impl Realtime {
    /// Builds the Socket.IO layer (mounted at `/socket.io/`) and its handle, and starts the
    /// presence broadcaster.
    pub fn new(ctx: SocketContext) -> (SocketIoLayer, Self) {
        let presence = ctx.presence.clone();
        let (layer, io) = SocketIo::builder()
            .max_payload(1_000_000)
            // Client frames are small events; a large one still fits (the buffer grows).
            .ws_read_buffer_size(1024)
            .with_state(ctx)
            .build_layer();
        socket::register(&io);
        presence::spawn_broadcaster(io.clone(), presence.clone());
        (layer, Self { io, presence })
    }

    pub fn presence(&self) -> &Presence {
        &self.presence
    }

    /// Emits to every socket of each of `users`.
    pub async fn to_users<'u>(&self, users: impl IntoIterator<Item = &'u str>, event: &Event<'_>) {
        let rooms: Vec<String> = users.into_iter().map(user_room).collect();
        if rooms.is_empty() {
            return;
        }
        if let Err(e) = self.io.to(rooms).emit(event.name(), event).await {
            tracing::warn!(error = %e, event = event.name(), "emit failed");
        }
    }

    /// Emits to the sockets subscribed to a room's channel.
    pub async fn to_channel(&self, room_id: &str, event: &Event<'_>) {
        if let Err(e) = self.io.to(channel_room(room_id)).emit(event.name(), event).await {
            tracing::warn!(error = %e, event = event.name(), "emit failed");
        }
    }

    /// Tells the sockets of these sessions why, then disconnects them.
    pub async fn revoke_sessions(&self, families: &[String], reason: &str) {
        let rooms: Vec<String> = families.iter().map(|f| session_room(f)).collect();
        if !rooms.is_empty() {
            self.kick(rooms, reason).await;
        }
    }

    /// Tells the other nodes that these sessions were revoked, so that their session caches
    /// drop them too. A single node has nobody to tell.
    pub async fn forget_sessions(&self, _families: &[String]) {}

    /// Tells the other nodes that a user changed (see `forget_sessions`).
    pub async fn forget_user(&self, _user_id: &str) {}

    /// Disconnects every socket of a user (account deleted).
    pub async fn disconnect_user(&self, user_id: &str, reason: &str) {
        self.kick(vec![user_room(user_id)], reason).await;
    }

    async fn kick(&self, rooms: Vec<String>, reason: &str) {
        let event = Event::SessionRevoked { reason };
        if let Err(e) = self.io.to(rooms.clone()).emit(event.name(), &event).await {
            tracing::warn!(error = %e, "sessionRevoked emit failed");
        }
        if let Err(e) = self.io.to(rooms).disconnect().await {
            tracing::warn!(error = %e, "disconnecting revoked sockets failed");
        }
    }

    pub async fn close(&self) {
        self.io.close().await;
    }
}
