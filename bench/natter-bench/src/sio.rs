//! A lean Socket.IO client over websocket (Engine.IO v4), enough to hold thousands of
//! connections from one process: handshake with a token (`auth.token`, a Bearer header, the
//! `jwt` cookie and `?userId=` all at once, so natter and the tutorial-style reference both
//! accept it), answer pings, and time `newMessage` events whose text is `bench:<seq>`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use tokio::net::TcpSocket;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::SeededUser;
use crate::stats::Recorder;

/// Send times by sequence number, and what arrived.
pub struct DeliveryTracker {
    sent_at: Vec<Mutex<Option<Instant>>>,
    delivered: AtomicU64,
    latencies: Mutex<Recorder>,
    last: Mutex<Option<Instant>>,
}

impl DeliveryTracker {
    pub fn new(messages: usize) -> Self {
        Self {
            sent_at: (0..messages).map(|_| Mutex::new(None)).collect(),
            delivered: AtomicU64::new(0),
            latencies: Mutex::new(Recorder::new()),
            last: Mutex::new(None),
        }
    }

    pub fn mark_sent(&self, seq: usize) {
        *self.sent_at[seq].lock().expect("lock") = Some(Instant::now());
    }

    fn delivered_now(&self, seq: usize) {
        let now = Instant::now();
        let Some(Some(sent)) = self.sent_at.get(seq).map(|m| *m.lock().expect("lock")) else { return };
        self.latencies.lock().expect("lock").record(now - sent);
        self.delivered.fetch_add(1, Ordering::Relaxed);
        *self.last.lock().expect("lock") = Some(now);
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    pub fn last_delivery(&self) -> Option<Instant> {
        *self.last.lock().expect("lock")
    }

    pub fn latencies(&self) -> Recorder {
        self.latencies.lock().expect("lock").clone()
    }
}

/// Open connections; dropping this closes them.
pub struct Sockets {
    tasks: Vec<JoinHandle<()>>,
    alive: Arc<AtomicUsize>,
}

impl Sockets {
    pub fn alive(&self) -> usize {
        self.alive.load(Ordering::Relaxed)
    }
}

impl Drop for Sockets {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The `seq` of a `newMessage` frame whose text is `bench:<seq>`, found without parsing
/// the whole JSON (this runs once per delivered event).
fn bench_seq(frame: &str) -> Option<usize> {
    if !frame.starts_with("42[\"newMessage\"") {
        return None;
    }
    let at = frame.find("bench:")? + "bench:".len();
    let digits: String = frame[at..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Connects every user (at most 256 handshakes at a time), waits until all are accepted by
/// the server, and returns the open sockets.
pub async fn connect_many(
    bases: &[String],
    users: &[SeededUser],
    tracker: Option<Arc<DeliveryTracker>>,
) -> anyhow::Result<Sockets> {
    // Socket i goes to server i mod n.
    let mut servers = Vec::new();
    for base in bases {
        let host = base.trim_start_matches("http://").split('/').next().context("base URL host")?;
        let addr: SocketAddr = tokio::net::lookup_host(host).await?.next().context("resolving the server")?;
        servers.push((base.replacen("http://", "ws://", 1), addr));
    }
    anyhow::ensure!(!servers.is_empty(), "no base URL");
    let alive = Arc::new(AtomicUsize::new(0));
    let permits = Arc::new(tokio::sync::Semaphore::new(256));
    let mut tasks = Vec::with_capacity(users.len());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<anyhow::Result<()>>();
    for (i, user) in users.iter().enumerate() {
        let (ws_base, server) = servers[i % servers.len()].clone();
        let url = format!("{ws_base}/socket.io/?EIO=4&transport=websocket&userId={}", user.id);
        let (token, tracker, alive, permits, ready) =
            (user.token.clone(), tracker.clone(), alive.clone(), permits.clone(), ready_tx.clone());
        // Spread over loopback source addresses: one address has ~28k ephemeral ports.
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % 8) as u8));
        tasks.push(tokio::spawn(async move {
            let permit = permits.acquire_owned().await;
            let stream = match handshake(&url, &token, server, source).await {
                Ok(stream) => stream,
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            drop(permit);
            alive.fetch_add(1, Ordering::Relaxed);
            let _ = ready.send(Ok(()));
            run(stream, tracker).await;
            alive.fetch_sub(1, Ordering::Relaxed);
        }));
    }
    drop(ready_tx);
    let mut failures = 0usize;
    let mut first_error = None;
    for _ in 0..users.len() {
        match tokio::time::timeout(Duration::from_secs(120), ready_rx.recv()).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(e))) => {
                failures += 1;
                first_error.get_or_insert(e);
            }
            Ok(None) | Err(_) => bail!("connections stalled"),
        }
    }
    if let Some(e) = first_error {
        bail!("{failures} of {} connections failed; first: {e:#}", users.len());
    }
    Ok(Sockets { tasks, alive })
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn handshake(url: &str, token: &str, server: SocketAddr, source: IpAddr) -> anyhow::Result<Ws> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let tcp = socket.connect(server).await.context("TCP connect")?;
    tcp.set_nodelay(true)?;
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
    request.headers_mut().insert("cookie", format!("jwt={token}").parse()?);
    let (mut ws, _) = tokio_tungstenite::client_async(request, tcp).await.context("websocket upgrade")?;
    // Engine.IO open packet, then the Socket.IO CONNECT with the token.
    let open = next_text(&mut ws).await?;
    anyhow::ensure!(open.starts_with('0'), "expected an Engine.IO open packet, got {open}");
    ws.send(Message::text(format!("40{{\"token\":\"{token}\"}}"))).await?;
    loop {
        let packet = next_text(&mut ws).await?;
        if packet.starts_with("40") {
            return Ok(ws);
        } else if packet.starts_with("44") {
            bail!("connection refused: {packet}");
        } else if packet == "2" {
            ws.send(Message::text("3")).await?;
        }
    }
}

async fn next_text(ws: &mut Ws) -> anyhow::Result<String> {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await.context("no packet in 30 s")? {
            Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed during the handshake"),
        }
    }
}

/// Answers pings and records deliveries until the connection ends.
async fn run(mut ws: Ws, tracker: Option<Arc<DeliveryTracker>>) {
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else { continue };
        let text = text.as_str();
        if text == "2" {
            if ws.send(Message::text("3")).await.is_err() {
                return;
            }
        } else if let (Some(tracker), Some(seq)) = (&tracker, bench_seq(text)) {
            tracker.delivered_now(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_number_is_read_from_new_message_frames_only() {
        assert_eq!(bench_seq(r#"42["newMessage",{"_id":"x","text":"bench:42","senderId":"y"}]"#), Some(42));
        assert_eq!(bench_seq(r#"42["typing",{"text":"bench:42"}]"#), None);
        assert_eq!(bench_seq(r#"42["newMessage",{"text":"hello"}]"#), None);
    }
}
