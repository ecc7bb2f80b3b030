//! Logs and metrics: the one tracing subscriber (text or JSON lines, filtered by
//! `LOG_LEVEL` or `RUST_LOG`), the request id every log line and error body of a request
//! carries, and the Prometheus recorder behind `/metrics`. Metric names live here, once.

use std::sync::{Arc, OnceLock};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Crates whose debug and trace lines quote raw frames or packets, and with them the access
/// token of a Socket.IO handshake (`{"token": …}`) or an `Authorization` header: capped at
/// `info` whatever `LOG_LEVEL` says, so that no filter setting puts a token in the logs.
const PAYLOAD_LOGGING_CRATES: &[&str] = &[
    "engineioxide",
    "socketioxide",
    "socketioxide_core",
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "h2",
    "reqwest",
];

pub fn init(format: LogFormat, level: &str) {
    let mut filter = EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    for krate in PAYLOAD_LOGGING_CRATES {
        if let Ok(directive) = format!("{krate}=info").parse() {
            filter = filter.add_directive(directive);
        }
    }
    // stderr: stdout is the output of commands such as `natter user list --json`.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

tokio::task_local! {
    /// The id of the request being served (see `http::middleware::request_context`).
    pub static REQUEST_ID: Arc<str>;
}

/// The current request's id, outside a request `None`.
pub fn current_request_id() -> Option<Arc<str>> {
    REQUEST_ID.try_with(Arc::clone).ok()
}

/// An `X-Request-Id` from the client is kept when it is short and plain (so it cannot forge
/// log lines); otherwise natter makes one.
pub fn accept_request_id(raw: &str) -> bool {
    (1..=128).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'=' | b'+' | b'/'))
}

pub mod names {
    pub const HTTP_REQUESTS: &str = "natter_http_requests_total";
    pub const HTTP_DURATION: &str = "natter_http_request_duration_seconds";
    pub const SOCKETS_CONNECTED: &str = "natter_sockets_connected";
    pub const MESSAGES_STORED: &str = "natter_messages_stored_total";
    pub const EVENTS_PUBLISHED: &str = "natter_events_published_total";
    pub const EVENTS_DROPPED: &str = "natter_events_dropped_total";
    pub const PRESENCE_BROADCAST_BYTES: &str = "natter_presence_broadcast_bytes_total";
    pub const BUS_ERRORS: &str = "natter_bus_errors_total";
    pub const DB_POOL_CONNECTIONS: &str = "natter_db_pool_connections";
    pub const DB_WRITE_BATCH: &str = "natter_db_write_batch_size";
}

const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0];
const LATENCY_BUCKETS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process-wide Prometheus recorder, installed on first use (one per process, shared by
/// every `App` in it: tests that start many servers see their sum).
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(names::HTTP_DURATION.into()), LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(names::DB_WRITE_BATCH.into()), BATCH_BUCKETS))
            .expect("the buckets are not empty");
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed already (an embedding program's): render ours
            // anyway, it just stays empty.
            Err(e) => {
                tracing::warn!(error = %e, "a metrics recorder was already installed; /metrics stays empty");
                PrometheusBuilder::new().build_recorder().handle()
            }
        };
        describe();
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    use names::*;
    describe_histogram!(
        DB_WRITE_BATCH,
        "Writes committed together (group commit): on SQLite, writes in one transaction; on PostgreSQL, messages in one statement"
    );
    describe_counter!(HTTP_REQUESTS, "HTTP requests answered, by method, route template and status");
    describe_histogram!(HTTP_DURATION, Unit::Seconds, "Time to answer an HTTP request, by method and route template");
    describe_gauge!(SOCKETS_CONNECTED, "Socket.IO connections open on this node");
    describe_counter!(MESSAGES_STORED, "Messages committed to the store by this node");
    describe_counter!(EVENTS_PUBLISHED, "Realtime events sent out by this node, by event name");
    describe_counter!(EVENTS_DROPPED, "Realtime events dropped because the outbox was full");
    describe_counter!(PRESENCE_BROADCAST_BYTES, Unit::Bytes, "getOnlineUsers bytes sent (list size x sockets)");
    describe_counter!(BUS_ERRORS, "Failed Redis operations of the cluster bus, by operation");
    describe_gauge!(DB_POOL_CONNECTIONS, "Database pool connections, by pool and state (in_use, idle, max)");
}

/// One failed bus operation (`publish`, `subscribe`, `presence_write`, …).
pub fn bus_error(op: &'static str) {
    metrics::counter!(names::BUS_ERRORS, "op" => op).increment(1);
}
