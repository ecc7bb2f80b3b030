//! A real Socket.IO client (rust_socketio, websocket transport) that records what it
//! receives, for asserting on live events.

use std::time::Duration;

use futures::FutureExt;
use rust_socketio::asynchronous::{Client, ClientBuilder};
use rust_socketio::{Event, Payload, TransportType};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::helpers::TestApp;

/// How long to wait for an event that should arrive.
pub const ARRIVES_WITHIN: Duration = Duration::from_secs(10);

pub enum Auth<'a> {
    None,
    Cookie(&'a str),
    Token(&'a str),
    Header(&'a str),
}

pub struct LiveSocket {
    pub client: Client,
    rx: mpsc::UnboundedReceiver<(String, Value)>,
    tx: mpsc::UnboundedSender<(String, Value)>,
}

fn payload_value(payload: Payload) -> Value {
    match payload {
        Payload::Text(mut values) if values.len() == 1 => values.remove(0),
        Payload::Text(values) => Value::Array(values),
        #[allow(deprecated)]
        Payload::String(s) => Value::String(s),
        Payload::Binary(b) => json!(b.to_vec()),
    }
}

/// Connects to the app's Socket.IO endpoint. `query` is appended to the URL (`userId=…`).
pub async fn connect(app: &TestApp, auth: Auth<'_>, query: Option<&str>) -> LiveSocket {
    connect_to(app.addr, auth, query).await
}

/// `connect` to a server by address (a node of a cluster).
pub async fn connect_to(addr: std::net::SocketAddr, auth: Auth<'_>, query: Option<&str>) -> LiveSocket {
    let (tx, rx) = mpsc::unbounded_channel();
    let url = match query {
        Some(q) => format!("http://{addr}/?{q}"),
        None => format!("http://{addr}/"),
    };
    let record = |name: &'static str, tx: mpsc::UnboundedSender<(String, Value)>| {
        move |payload: Payload, _: Client| {
            let _ = tx.send((name.to_string(), payload_value(payload)));
            async {}.boxed()
        }
    };
    let any_tx = tx.clone();
    let mut builder = ClientBuilder::new(url)
        .transport_type(TransportType::Websocket)
        .reconnect(false)
        .on(Event::Connect, record("$connect", tx.clone()))
        .on(Event::Error, record("$error", tx.clone()))
        .on(Event::Close, record("$close", tx.clone()))
        .on_any(move |event: Event, payload: Payload, _: Client| {
            let _ = any_tx.send((event.as_str().to_string(), payload_value(payload)));
            async {}.boxed()
        });
    builder = match auth {
        Auth::None => builder,
        Auth::Cookie(token) => builder.opening_header("Cookie", format!("jwt={token}")),
        Auth::Token(token) => builder.auth(json!({ "token": token })),
        Auth::Header(token) => builder.opening_header("Authorization", format!("Bearer {token}")),
    };
    let client = builder.connect().await.expect("engine.io connection opens");
    LiveSocket { client, rx, tx }
}

/// Connects with a token and waits until the server has accepted the socket.
pub async fn connect_as(app: &TestApp, token: &str) -> LiveSocket {
    let mut socket = connect(app, Auth::Token(token), None).await;
    socket.next("getOnlineUsers").await;
    socket
}

impl LiveSocket {
    /// The payload of the next `name` event, skipping others; panics after `ARRIVES_WITHIN`.
    pub async fn next(&mut self, name: &str) -> Value {
        let deadline = tokio::time::Instant::now() + ARRIVES_WITHIN;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some((event, payload))) if event == name => return payload,
                Ok(Some(_)) => continue,
                Ok(None) => panic!("socket closed while waiting for `{name}`"),
                Err(_) => panic!("no `{name}` event within {ARRIVES_WITHIN:?}"),
            }
        }
    }

    /// Every `name` event received within `window`.
    pub async fn collect(&mut self, name: &str, window: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + window;
        let mut found = Vec::new();
        while let Ok(Some((event, payload))) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            if event == name {
                found.push(payload);
            }
        }
        found
    }

    /// Emits with an ack and returns the ack's payload.
    pub async fn ask(&mut self, event: &str, data: Value) -> Value {
        let tx = self.tx.clone();
        let ack_name: &'static str = "$ack";
        self.client
            .emit_with_ack(event, data, ARRIVES_WITHIN, move |payload: Payload, _: Client| {
                let _ = tx.send((ack_name.to_string(), payload_value(payload)));
                async {}.boxed()
            })
            .await
            .expect("emit");
        // Ack arguments arrive as one JSON array: `[value]`.
        match self.next(ack_name).await {
            Value::Array(mut args) if args.len() == 1 => args.remove(0),
            other => other,
        }
    }

    pub async fn emit(&self, event: &str, data: Value) {
        self.client.emit(event, data).await.expect("emit");
    }

    pub async fn disconnect(self) {
        let _ = self.client.disconnect().await;
    }
}
