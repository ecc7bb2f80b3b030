//! Service endpoints: `/healthz` (process up) and `/readyz` (store and bus reachable).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::openapi::ApiRoutes;
use crate::startup::AppState;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new().routes(routes!(healthz)).routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "service",
    security(()),
    responses((status = 200, description = "Up", body = Health))
)]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
struct Readiness {
    /// `ready`, `unavailable`, or `draining` once a shutdown began.
    #[schema(example = "ready")]
    status: &'static str,
    /// `ok` or `unreachable`.
    store: &'static str,
    /// `sqlite` or `postgres`.
    backend: &'static str,
    /// `local` (single node), `ok` or `unreachable`.
    bus: &'static str,
}

/// The store and the event bus are reachable and the node is not shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready: store or bus unreachable, or draining", body = Readiness),
    )
)]
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
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
    let body = Readiness {
        status: if draining {
            "draining"
        } else if ready {
            "ready"
        } else {
            "unavailable"
        },
        store,
        backend: state.db.backend_name(),
        bus,
    };
    (status, Json(body))
}
