//! Application assembly: `AppState`, the router with its layers, and `App` (bind, migrate,
//! serve until stopped).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::any;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::trace::TraceLayer;

use crate::auth::{JwtKeys, PasswordHasher, SessionCache};
use crate::config::Settings;
use crate::db::Db;
use crate::http::{self, middleware as mw};
use crate::realtime::{Presence, Realtime, RealtimeLayer, SocketContext};
use crate::services::media::MediaStore;
use crate::services::page_cache::PageCache;
use crate::services::rate_limit::RateLimits;
use crate::services::room_cache::RoomCache;

/// Shared by every handler. One reference count to clone: axum clones the state for every
/// extractor and middleware of every request, and cloning each handle inside it (a dozen
/// reference counts, and as many drops) was 8 % of a DM send's CPU in `perf`.
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

impl std::ops::Deref for AppState {
    type Target = AppStateParts;

    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct AppStateParts {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub jwt: Arc<JwtKeys>,
    pub hasher: PasswordHasher,
    /// Recently checked sessions (see `auth::cache`).
    pub sessions: SessionCache,
    /// Serialised conversation pages (see `services::page_cache`).
    pub pages: PageCache,
    /// Rooms' rows, last messages and unread counts for room lists (`services::room_cache`).
    pub room_cache: RoomCache,
    pub media: MediaStore,
    pub limits: RateLimits,
    pub realtime: Realtime,
    /// Set when a shutdown began: `/readyz` answers 503 from then on.
    pub draining: Arc<AtomicBool>,
}

impl AppState {
    /// Connects and migrates the store and prepares keys, hasher, media storage and the
    /// Socket.IO server (whose layer is returned for the router).
    pub async fn from_settings(settings: Settings) -> anyhow::Result<(Self, RealtimeLayer)> {
        settings.validate()?;
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating DATA_DIR {}", settings.data_dir.display()))?;
        let db = Db::connect(&settings.database_url(), &settings.db_options()).await?;
        db.migrate().await.context("applying database migrations")?;
        let secret = settings.resolve_jwt_secret()?;
        let jwt = Arc::new(JwtKeys::new(&secret, settings.access_token_ttl));
        let hasher =
            PasswordHasher::new(settings.password_hash, settings.bcrypt_cost, settings.hash_concurrency()).await?;
        let media = MediaStore::from_settings(&settings)?;
        let limits = RateLimits::from_settings(&settings);
        let sessions = SessionCache::new(settings.auth_cache_ttl);
        let presence = Presence::new(settings.presence_budget as u64);
        let socket_ctx = SocketContext {
            db: db.clone(),
            jwt: jwt.clone(),
            sessions: sessions.clone(),
            presence,
            limits: limits.clone(),
        };
        let (socket_layer, realtime) =
            Realtime::new(socket_ctx, settings.redis_url.as_deref(), settings.presence_ttl).await?;
        // Installed before anything is counted.
        crate::telemetry::metrics();
        let draining = Arc::new(AtomicBool::new(false));
        let pages = PageCache::new(settings.page_cache_size);
        // A quarter as much again for room lists.
        let room_cache = RoomCache::new(settings.page_cache_size / 4);
        let parts = AppStateParts {
            db,
            settings: Arc::new(settings),
            jwt,
            hasher,
            sessions,
            pages,
            room_cache,
            media,
            limits,
            realtime,
            draining,
        };
        let state = Self(Arc::new(parts));
        Ok((state, socket_layer))
    }
}

/// The whole HTTP surface with its layers; Socket.IO answers under `/socket.io/`, inside
/// CORS and tracing but outside the JSON error net (its responses keep the protocol's shape).
pub fn router(state: AppState, socket_layer: RealtimeLayer) -> Router {
    let app = socket_layer
        .mount(inner_layers(http::router(), &state))
        .layer(axum::middleware::map_request(mw::own_socket_handshake));
    outer_layers(app, &state).with_state(state)
}

/// `routes` with the fallbacks and the same layer stack as `router` (without Socket.IO).
/// Public so tests can run extra routes through it.
pub fn with_layers(routes: Router<AppState>, state: AppState) -> Router {
    outer_layers(inner_layers(routes, &state), &state).with_state(state)
}

fn outer_layers(app: Router<AppState>, state: &AppState) -> Router<AppState> {
    app.layer(axum::middleware::from_fn_with_state(state.clone(), http::security::same_origin_cookies))
        .layer(cors_layer(&state.settings))
        .layer(axum::middleware::from_fn_with_state(state.clone(), http::security::headers))
        // 5xx are logged where they arise (internal errors and panics at ERROR, readiness
        // at WARN); the trace layer's own line for them would only repeat each `/readyz` 503
        // poll of a load balancer during a drain or an outage.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(mw::request_span)
                .on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .layer(axum::middleware::from_fn(mw::request_context))
}

/// Fallbacks (JSON 404/405, and the static frontend or the built-in web client) and the inner layers: transparent
/// refresh, body limit, JSON errors, panics.
fn inner_layers(routes: Router<AppState>, state: &AppState) -> Router<AppState> {
    let settings = state.settings.clone();
    let mut app = routes
        // Unknown API and Socket.IO paths (and bad upload keys, see uploads.rs) are JSON 404s, never the SPA's index.html.
        .route("/api", any(mw::route_not_found))
        .route("/api/{*rest}", any(mw::route_not_found))
        .route("/socket.io/{*rest}", any(mw::route_not_found))
        .method_not_allowed_fallback(mw::method_not_allowed);
    app = match &settings.static_dir {
        Some(dir) => app.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        // The built-in web client (embedded), with its own JSON 404s for server paths.
        None => app.fallback(http::webclient::serve),
    };
    app.layer(axum::middleware::from_fn_with_state(state.clone(), mw::transparent_refresh))
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(axum::middleware::from_fn(mw::json_errors))
        .layer(CatchPanicLayer::custom(mw::panic_response))
}

fn cors_layer(settings: &Settings) -> CorsLayer {
    let origins: Vec<HeaderValue> =
        settings.cors_origins().iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("x-access-token"),
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([HeaderName::from_static("x-next-cursor")])
        .max_age(Duration::from_secs(600))
}

pub struct App {
    listener: TcpListener,
    router: Router,
    state: AppState,
    addr: SocketAddr,
}

impl App {
    /// Binds the listener (port 0 picks one), migrates, and assembles the router.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let bind = format!("{}:{}", settings.host, settings.port);
        let (state, socket_layer) = AppState::from_settings(settings).await?;
        let listener = TcpListener::bind(&bind).await.with_context(|| format!("binding {bind}"))?;
        let addr = listener.local_addr()?;
        let router = router(state.clone(), socket_layer);
        Ok(Self { listener, router, state, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The URL to print: loopback for wildcard binds.
    pub fn url(&self) -> String {
        let host = if self.addr.ip().is_unspecified() { "localhost".to_string() } else { self.addr.ip().to_string() };
        format!("http://{host}:{}", self.addr.port())
    }

    /// Serves until SIGTERM or Ctrl-C, then drains (see `run_until`).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` resolves, then: `/readyz` answers 503 at once, the listener stops
    /// accepting, sockets are disconnected cleanly (their clients reconnect elsewhere; a
    /// cluster node withdraws its presence at once), in-flight requests finish, and it returns
    /// within `SHUTDOWN_GRACE`. A request cut off at the deadline was never acknowledged:
    /// messages are acknowledged only after they commit.
    pub async fn run_until(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let (realtime, draining, grace) =
            (self.state.realtime.clone(), self.state.draining.clone(), self.state.settings.shutdown_grace);
        let (began_tx, began) = tokio::sync::oneshot::channel::<()>();
        let stop = async move {
            stop.await;
            draining.store(true, Ordering::Release);
            let _ = began_tx.send(());
            tracing::info!(grace = ?grace, "shutting down: draining requests and closing sockets");
            // Open sockets would hold a graceful shutdown forever: close them.
            realtime.close().await;
        };
        let deadline = async move {
            match began.await {
                Ok(()) => tokio::time::sleep(grace).await,
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            served = axum::serve(self.listener, service).with_graceful_shutdown(stop).into_future() => served?,
            () = deadline => tracing::warn!("requests still in flight after SHUTDOWN_GRACE; exiting anyway"),
        }
        // Handlers cut off at the deadline may still hold connections: don't wait for them.
        if tokio::time::timeout(Duration::from_secs(1), self.state.db.close()).await.is_err() {
            tracing::warn!("database connections still in use at exit");
        }
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
