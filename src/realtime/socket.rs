//! Socket.IO handlers: handshake authentication, presence, typing, and the chat-API
//! tutorial's `identity` / `subscribe` / `unsubscribe`.

use std::fmt;
use std::sync::{Arc, Mutex};

use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::{HeaderMap, Uri};

use axum_extra::extract::cookie::CookieJar;
use serde_json::{Value, json};
use socketioxide::SocketIo;
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, SocketRef, State, TryData};
use socketioxide::handler::ConnectHandler;
use socketioxide_core::adapter::DefinedAdapter;

use super::{Event, SocketContext, channel_room, emit_everywhere, presence_room, session_room, user_room};
use crate::auth::extract::ACCESS_COOKIE;
use crate::db::rooms;
use crate::domain::{RoomId, UserId};
use crate::error::ApiError;
use crate::services::auth::{Remember, authenticate_with};
use crate::services::rate_limit::Limit;
use crate::telemetry::names;

/// Who a socket belongs to, set by the handshake middleware.
#[derive(Debug, Clone)]
pub struct SocketUser {
    pub user_id: UserId,
    pub family: String,
}

/// Why a handshake was refused: the client's `connect_error` message.
#[derive(Debug)]
struct Refused(&'static str);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// Mounts the handlers on the default namespace. With the Redis adapter the result is the
/// future that subscribes this node to the cluster's channels.
pub fn register<A: Adapter + DefinedAdapter>(io: &SocketIo<A>) -> A::InitRes {
    io.ns("/", on_connect.with(authenticate).with(register_events))
}

/// The access tokens a Socket.IO HTTP request offers, in the order they are tried after
/// `auth.token`: `Authorization: Bearer`, the `jwt` cookie, and `?token=` in the URL
/// (socket.io 2.x clients have no `auth` payload, and a browser cannot set their headers).
/// `http::middleware::own_socket_handshake` moves them here out of the headers and URI,
/// which Socket.IO keeps for the socket's whole life (two copies of a ~300-byte token in
/// every idle connection's memory); the handshake's authentication clears them once used.
#[derive(Clone, Default)]
pub struct HandshakeTokens(Arc<Mutex<Vec<String>>>);

impl HandshakeTokens {
    /// Takes the tokens out of a request's headers and query (the rest of both is left).
    pub fn take_from(headers: &mut HeaderMap, uri: &mut Uri) -> Self {
        let mut tokens = Vec::new();
        if let Some(value) = headers.remove(AUTHORIZATION)
            && let Ok(value) = value.to_str()
            && let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))
        {
            tokens.push(token.trim().to_string());
        }
        if let Some(cookie) = CookieJar::from_headers(headers).get(ACCESS_COOKIE) {
            tokens.push(cookie.value().to_string());
        }
        // The other cookies are not the socket's business either (a refresh token among them).
        headers.remove(COOKIE);
        if let Some(query) = uri.query()
            && query.split('&').any(|pair| pair.starts_with("token="))
        {
            let mut rest = form_urlencoded::Serializer::new(String::new());
            for (key, value) in form_urlencoded::parse(query.as_bytes()) {
                if key == "token" {
                    tokens.push(value.trim_start_matches("Bearer ").to_string());
                } else {
                    rest.append_pair(&key, &value);
                }
            }
            let path_and_query = format!("{}?{}", uri.path(), rest.finish());
            let mut parts = uri.clone().into_parts();
            if let Ok(rebuilt) = path_and_query.parse() {
                parts.path_and_query = Some(rebuilt);
                if let Ok(rebuilt) = Uri::from_parts(parts) {
                    *uri = rebuilt;
                }
            }
        }
        tokens.retain(|t| !t.is_empty());
        Self(Arc::new(Mutex::new(tokens)))
    }

    fn tokens(&self) -> Vec<String> {
        self.0.lock().map(|t| t.clone()).unwrap_or_default()
    }

    fn clear(&self) {
        if let Ok(mut tokens) = self.0.lock() {
            *tokens = Vec::new();
        }
    }
}

/// Tokens offered by a handshake, in order: `auth.token`, then those of `HandshakeTokens`.
/// The first valid one wins, so a stale cookie does not hide a good token.
fn offered_tokens<A: Adapter>(s: &SocketRef<A>, auth: Option<&Value>) -> Vec<String> {
    let mut tokens = Vec::new();
    if let Some(token) = auth.and_then(|a| a.get("token")).and_then(Value::as_str) {
        tokens.push(token.trim_start_matches("Bearer ").to_string());
    }
    if let Some(http) = s.req_parts().extensions.get::<HandshakeTokens>() {
        tokens.extend(http.tokens());
    }
    tokens.retain(|t| !t.is_empty());
    tokens
}

/// Connect middleware: refuses the handshake unless it carries a valid access token of a
/// live session. A `userId` in the query is never trusted: the socket is bound to the
/// token's user whatever the query says.
async fn authenticate<A: Adapter>(
    s: SocketRef<A>,
    State(ctx): State<SocketContext>,
    TryData(auth): TryData<Value>,
) -> Result<(), Refused> {
    let auth = auth.ok();
    let tokens = offered_tokens(&s, auth.as_ref());
    if tokens.is_empty() {
        return Err(Refused(
            "Authentication required: send the jwt cookie, auth.token, an Authorization header or ?token=",
        ));
    }
    for token in tokens {
        match authenticate_with(&ctx.db, &ctx.jwt, &ctx.sessions, &token, Remember::No).await {
            Ok(user) => {
                if let Some(http) = s.req_parts().extensions.get::<HandshakeTokens>() {
                    http.clear();
                }
                s.extensions.insert(SocketUser { user_id: user.id, family: user.session_family });
                return Ok(());
            }
            Err(ApiError::Internal(e)) => {
                tracing::error!(error = ?e, "socket authentication failed");
                return Err(Refused("Internal server error"));
            }
            Err(_) => continue,
        }
    }
    Err(Refused("Invalid, expired or revoked token"))
}

fn socket_user<A: Adapter>(s: &SocketRef<A>) -> Option<SocketUser> {
    s.extensions.get::<SocketUser>()
}

/// Registers the socket's event handlers. A middleware, not part of `on_connect`: socketioxide
/// sends the CONNECT packet before it calls the connect handler, and runs that handler as a
/// task of its own, so an event a client emits as soon as it is connected could arrive
/// before its handler exists and be dropped (seen under load: a `subscribe` whose ack never
/// came). Middlewares run before the CONNECT packet is sent.
async fn register_events<A: Adapter>(s: SocketRef<A>) -> Result<(), std::convert::Infallible> {
    s.on("typing", on_typing);
    s.on("identity", on_identity);
    s.on("subscribe", on_subscribe);
    s.on("unsubscribe", on_unsubscribe);
    Ok(())
}

async fn on_connect<A: Adapter>(s: SocketRef<A>, State(ctx): State<SocketContext>) {
    let Some(user) = socket_user(&s) else {
        let _ = s.disconnect();
        return;
    };
    let me = user.user_id.to_string();
    s.join(user_room(&me));
    s.join(session_room(&user.family));
    s.join(presence_room(&s.id.to_string()));
    ctx.presence.connect(&me);
    metrics::gauge!(names::SOCKETS_CONNECTED).increment(1);
    let _ = s.emit("getOnlineUsers", &ctx.presence.list_for_new_socket());
    s.on_disconnect(async |s: SocketRef<A>, State(ctx): State<SocketContext>| {
        metrics::gauge!(names::SOCKETS_CONNECTED).decrement(1);
        if let Some(user) = socket_user(&s) {
            ctx.presence.disconnect(&user.user_id.to_string());
        }
    });
}

/// The room id of an event's payload: `"<id>"`, `["<id>", …]` or `{"roomId": "<id>"}`.
/// Public for the fuzz targets (`fuzz/`).
pub fn room_id_of(payload: &Value) -> Option<RoomId> {
    let raw = match payload {
        Value::String(s) => Some(s.as_str()),
        Value::Array(items) => items.first().and_then(Value::as_str),
        Value::Object(map) => map.get("roomId").and_then(Value::as_str),
        _ => None,
    }?;
    RoomId::parse(raw)
}

fn ack_error(status: u16, code: &str, message: &str) -> Value {
    json!({"success": false, "statusCode": status, "code": code, "message": message})
}

/// The error ack for an event over its user's limit: the event is dropped, not acted on.
fn over_limit<A: Adapter>(s: &SocketRef<A>, limit: &Limit) -> Option<Value> {
    let user = socket_user(s)?;
    match limit.check(&user.user_id) {
        Err(ApiError::RateLimited { retry_after_secs }) => {
            let mut error = ack_error(429, "rate_limited", "Too many requests, try again later");
            error["retryAfter"] = json!(retry_after_secs);
            Some(error)
        }
        _ => None,
    }
}

/// The room named by the payload, if the socket's user is a member of it.
async fn member_room<A: Adapter>(
    s: &SocketRef<A>,
    ctx: &SocketContext,
    payload: Option<&Value>,
) -> Result<(SocketUser, RoomId), Value> {
    let user = socket_user(s).ok_or_else(|| ack_error(401, "unauthorized", "Not authenticated"))?;
    let room =
        payload.and_then(room_id_of).ok_or_else(|| ack_error(400, "validation_failed", "A roomId is required"))?;
    match rooms::is_member(&ctx.db, &room.to_string(), &user.user_id).await {
        Ok(true) => Ok((user, room)),
        Ok(false) => Err(ack_error(404, "not_found", "Room not found")),
        Err(e) => {
            tracing::error!(error = ?e, "membership check failed");
            Err(ack_error(500, "internal_error", "Internal server error"))
        }
    }
}

/// `typing {roomId}`: tells the room's other members. Over the user's limit it is dropped
/// (with an error ack if one was asked for).
async fn on_typing<A: Adapter>(
    s: SocketRef<A>,
    io: SocketIo<A>,
    ack: AckSender<A>,
    State(ctx): State<SocketContext>,
    TryData(payload): TryData<Value>,
) {
    if let Some(error) = over_limit(&s, &ctx.limits.typing_user) {
        let _ = ack.send(&error);
        return;
    }
    let Ok((user, room)) = member_room(&s, &ctx, payload.as_ref().ok()).await else { return };
    let room_id = room.to_string();
    let me = user.user_id.to_string();
    let Ok(members) = rooms::list_member_ids(&ctx.db, &room_id).await else { return };
    let others: Vec<String> = members.iter().filter(|m| **m != me).map(|m| user_room(m)).collect();
    if others.is_empty() {
        return;
    }
    let event = Event::Typing { room_id: &room_id, user_id: &me };
    emit_everywhere(&io, others, event.name(), &event).await;
}

/// `identity(userId)`: kept for the chat-API tutorial's clients. The socket is already
/// bound to its authenticated user; the claimed id changes nothing.
async fn on_identity<A: Adapter>(s: SocketRef<A>, ack: AckSender<A>) {
    let Some(user) = socket_user(&s) else { return };
    let _ = ack.send(&json!({"success": true, "userId": user.user_id.to_string()}));
}

/// `subscribe(roomId, otherUserId?)`: joins the room's channel (`new message` events), for
/// members only. `otherUserId` is ignored: nobody subscribes someone else's sockets.
async fn on_subscribe<A: Adapter>(
    s: SocketRef<A>,
    ack: AckSender<A>,
    State(ctx): State<SocketContext>,
    TryData(payload): TryData<Value>,
) {
    if let Some(error) = over_limit(&s, &ctx.limits.subscribe_user) {
        let _ = ack.send(&error);
        return;
    }
    match member_room(&s, &ctx, payload.as_ref().ok()).await {
        Ok((_, room)) => {
            s.join(channel_room(&room.to_string()));
            let _ = ack.send(&json!({"success": true, "roomId": room.to_string()}));
        }
        Err(error) => {
            let _ = ack.send(&error);
        }
    }
}

/// `unsubscribe(roomId)`: leaves the room's channel.
async fn on_unsubscribe<A: Adapter>(
    s: SocketRef<A>,
    ack: AckSender<A>,
    State(ctx): State<SocketContext>,
    TryData(payload): TryData<Value>,
) {
    if let Some(error) = over_limit(&s, &ctx.limits.subscribe_user) {
        let _ = ack.send(&error);
        return;
    }
    match payload.ok().as_ref().and_then(room_id_of) {
        Some(room) => {
            s.leave(channel_room(&room.to_string()));
            let _ = ack.send(&json!({"success": true, "roomId": room.to_string()}));
        }
        None => {
            let _ = ack.send(&ack_error(400, "validation_failed", "A roomId is required"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_tokens_are_taken_out_of_the_request_in_order() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "Bearer from-header".parse().unwrap());
        headers.insert(COOKIE, "refreshToken=secret; jwt=from-cookie".parse().unwrap());
        headers.insert("sec-websocket-key", "k".parse().unwrap());
        let mut uri: Uri = "/socket.io/?EIO=4&token=Bearer%20from-query&transport=websocket".parse().unwrap();
        let tokens = HandshakeTokens::take_from(&mut headers, &mut uri);
        assert_eq!(tokens.tokens(), ["from-header", "from-cookie", "from-query"]);
        assert!(headers.get(AUTHORIZATION).is_none() && headers.get(COOKIE).is_none(), "no credential is kept");
        assert_eq!(headers["sec-websocket-key"], "k");
        assert_eq!(uri.path(), "/socket.io/");
        assert_eq!(uri.query(), Some("EIO=4&transport=websocket"));
        tokens.clear();
        assert!(tokens.tokens().is_empty());

        let mut bare: Uri = "/socket.io/?EIO=4&transport=polling&t=abc".parse().unwrap();
        assert!(HandshakeTokens::take_from(&mut HeaderMap::new(), &mut bare).tokens().is_empty());
        assert_eq!(bare.query(), Some("EIO=4&transport=polling&t=abc"), "left as it was");
    }
}
