//! Service endpoints: `/healthz` (process up), `/readyz` (store and bus reachable) and
//! `/metrics` (Prometheus text).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::openapi::{ApiRoutes, ErrorBody};
use crate::error::{ApiError, ApiResult};
use crate::startup::AppState;
use crate::telemetry::{self, names};

pub fn routes() -> ApiRoutes {
    ApiRoutes::new().routes(routes!(healthz)).routes(routes!(readyz)).routes(routes!(metrics))
}

/// Every metric natter keeps, in the Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    security((), ("metricsToken" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain"),
        (status = 401, description = "`METRICS_TOKEN` is set and the request lacks it", body = ErrorBody),
        (status = 403, description = "Production without `METRICS_TOKEN`: `/metrics` is not public", body = ErrorBody),
    )
)]
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    match &state.settings.metrics_token {
        Some(token) => {
            let given = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .unwrap_or("");
            if !bool::from(subtle::ConstantTimeEq::ct_eq(given.as_bytes(), token.as_bytes())) {
                return Err(ApiError::Unauthorized("Send METRICS_TOKEN as a bearer token".into()));
            }
        }
        None if state.settings.is_production() => {
            return Err(ApiError::Forbidden("/metrics is not public in production: set METRICS_TOKEN".into()));
        }
        None => {}
    }
    for (pool, in_use, idle, max) in state.db.pool_usage() {
        metrics::gauge!(names::DB_POOL_CONNECTIONS, "pool" => pool, "state" => "in_use").set(in_use);
        metrics::gauge!(names::DB_POOL_CONNECTIONS, "pool" => pool, "state" => "idle").set(idle);
        metrics::gauge!(names::DB_POOL_CONNECTIONS, "pool" => pool, "state" => "max").set(max);
    }
    let handle = telemetry::metrics();
    handle.run_upkeep();
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    Ok((
        [(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        handle.render(),
    )
        .into_response())
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
    /// File storage: `ok` or `unreachable`.
    storage: &'static str,
    /// `local` or `s3`.
    #[serde(rename = "storageBackend")]
    storage_backend: &'static str,
}

/// The store, the event bus and file storage are reachable and the node is not shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready: store, bus or file storage unreachable, or draining", body = Readiness),
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
    let storage = if state.media.reachable().await { "ok" } else { "unreachable" };
    let draining = state.draining.load(std::sync::atomic::Ordering::Acquire);
    let ready = store == "ok" && bus != "unreachable" && storage == "ok" && !draining;
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
        storage,
        storage_backend: state.media.backend_name(),
    };
    (status, Json(body))
}
