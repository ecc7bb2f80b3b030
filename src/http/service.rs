//! Service endpoints: `/healthz` (process up) and `/readyz` (store and bus reachable).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = match state.db.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::warn!(error = %e, "readiness: store unreachable");
            "unreachable"
        }
    };
    // A single node has no bus to reach: its events stay in the process.
    let bus = match state.realtime.bus_reachable().await {
        None => "local",
        Some(true) => "ok",
        Some(false) => {
            tracing::warn!("readiness: Redis unreachable");
            "unreachable"
        }
    };
    let draining = state.draining.load(std::sync::atomic::Ordering::Acquire);
    let ready = store == "ok" && bus != "unreachable" && !draining;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "status": if draining { "draining" } else if ready { "ready" } else { "unavailable" },
        "store": store,
        "backend": state.db.backend_name(),
        "bus": bus,
    });
    (status, Json(body))
}
