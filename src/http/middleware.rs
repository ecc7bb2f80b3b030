//! Cross-cutting HTTP behaviour: request ids and HTTP metrics, transparent cookie refresh,
//! the JSON error safety net, panics as JSON 500s, and the 404/405 fallbacks.

use std::any::Any;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::auth::TOKEN_PATHS;
use super::cookies;
use crate::auth::ClientInfo;
use crate::auth::extract::{ACCESS_COOKIES, REFRESH_COOKIE, RefreshedAccessToken};
use crate::error::{ApiError, error_response_for_status};
use crate::realtime::socket::HandshakeTokens;
use crate::services::auth as auth_service;
use crate::startup::AppState;
use crate::telemetry::{self, names};

pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id (the client's `X-Request-Id` when acceptable, else a new UUIDv7), in the
/// request's headers for the trace span, in the task-local the error bodies read, and in the
/// response's `X-Request-Id`; plus the request count and latency by route template.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let given = request.headers().get(&REQUEST_ID_HEADER).and_then(|v| v.to_str().ok());
    let id: Arc<str> = match given {
        Some(raw) if telemetry::accept_request_id(raw) => raw.into(),
        _ => uuid::Uuid::now_v7().to_string().into(),
    };
    let header_value = HeaderValue::from_str(&id).unwrap_or_else(|_| HeaderValue::from_static("invalid"));
    request.headers_mut().insert(REQUEST_ID_HEADER.clone(), header_value.clone());
    let method = method_label(request.method());
    // Route templates only: raw paths would make one time series per id.
    let route = request.extensions().get::<MatchedPath>().map_or("fallback", |m| m.as_str()).to_owned();
    let mut response = telemetry::REQUEST_ID.scope(id, next.run(request)).await;
    response.headers_mut().insert(REQUEST_ID_HEADER.clone(), header_value);
    let status = response.status().as_u16().to_string();
    metrics::counter!(names::HTTP_REQUESTS, "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!(names::HTTP_DURATION, "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The span every log line of a request is in: method, path (never the query string, which
/// may carry tokens) and request id.
pub fn request_span(request: &Request) -> tracing::Span {
    let id = request.headers().get(&REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
}

/// A cookie client whose `jwt` is missing or expired but whose `refreshToken` is valid is
/// served as if it had refreshed, and gets fresh cookies with the response. Clients that
/// send a token header are left alone: they manage their own tokens.
pub async fn transparent_refresh(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let eligible = path.starts_with("/api/")
        && !TOKEN_PATHS.contains(&path)
        && !request.headers().contains_key(header::AUTHORIZATION)
        && !request.headers().contains_key("x-access-token");
    if !eligible {
        return next.run(request).await;
    }
    let jar = CookieJar::from_headers(request.headers());
    let Some(refresh) = jar.get(REFRESH_COOKIE).map(|c| c.value().to_string()).filter(|v| !v.is_empty()) else {
        return next.run(request).await;
    };
    let access_ok =
        ACCESS_COOKIES.iter().any(|name| jar.get(name).is_some_and(|c| state.jwt.verify_access(c.value()).is_ok()));
    if access_ok {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(client) = ClientInfo::from_request_parts(&mut parts, &state).await;
    match auth_service::refresh(&state, &refresh, &client).await {
        Ok(tokens) => {
            parts.extensions.insert(RefreshedAccessToken(tokens.access_token.clone()));
            let response = next.run(Request::from_parts(parts, body)).await;
            (cookies::with_tokens(CookieJar::new(), &state, &tokens), response).into_response()
        }
        // Not refreshable: the request goes on unauthenticated and gets its 401 if it needs one.
        Err(_) => next.run(Request::from_parts(parts, body)).await,
    }
}

/// Socket.IO keeps the handshake request's parts (headers, URI, extensions) for the socket's
/// whole life.
/// hyper parses them without copying, as slices of the connection's read buffer, so keeping
/// them would keep that whole buffer (8 to 16 KiB) alive per socket: measured as the largest
/// single cost of an idle connection. Copying the few header bytes frees it.
///
/// Only the headers the engine.io transport reads are kept (the outer layers have seen them
/// all by now: origin checks, CORS, logs), and the access tokens among them (header, cookie,
/// query) are moved out into a `HandshakeTokens`, cleared once the handshake is
/// authenticated: 1.2 KiB less per idle socket with natter-bench's client (which sends its
/// token as a header and as a cookie), more with a browser's dozen headers.
pub async fn own_socket_handshake(mut request: Request) -> Request {
    /// What engineioxide reads: the websocket upgrade's key, the polling body's type.
    const TRANSPORT_HEADERS: [HeaderName; 3] = [header::SEC_WEBSOCKET_KEY, header::CONTENT_TYPE, header::UPGRADE];
    if !request.uri().path().starts_with("/socket.io") {
        return request;
    }
    let mut borrowed = std::mem::take(request.headers_mut());
    let mut uri = request.uri().clone();
    let tokens = HandshakeTokens::take_from(&mut borrowed, &mut uri);
    request.extensions_mut().insert(tokens);
    // Sized to what is kept: a map grown by inserts holds room for more (~0.4 KiB a socket).
    let kept: Vec<_> = TRANSPORT_HEADERS
        .into_iter()
        // `from_bytes` copies the value out of the read buffer.
        .filter_map(|name| Some((HeaderValue::from_bytes(borrowed.get(&name)?.as_bytes()).ok()?, name)))
        .collect();
    let owned = request.headers_mut();
    owned.reserve(kept.len());
    for (value, name) in kept {
        owned.insert(name, value);
    }
    if let Ok(uri) = axum::http::Uri::try_from(uri.to_string()) {
        // axum's copy of the URI would pin the buffer as well.
        request.extensions_mut().insert(axum::extract::OriginalUri(uri.clone()));
        *request.uri_mut() = uri;
    }
    request
}

/// Any error response that is not JSON yet (from a layer, `ServeDir`, a rejection we do not
/// own) is given the one JSON error shape.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (parts, _) = response.into_parts();
    let mut fixed = error_response_for_status(status);
    // Keep headers such as Allow and Retry-After, but not the old body's framing.
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && name != header::TRANSFER_ENCODING {
            fixed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fixed
}

/// A panicking handler becomes a JSON 500 and one log line; the process carries on.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = %detail, "handler panicked");
    let mut response = error_response_for_status(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
