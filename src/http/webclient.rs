//! The built-in web client: the files of `web/` (HTML, CSS, ES modules, the vendored
//! Socket.IO client), served at `/` when `STATIC_DIR` is not set. Release builds embed them
//! in the binary; debug builds read `web/` from disk (rust-embed without `debug-embed`), so
//! edits show on reload. Everything in `web/` is public: keep notes and drafts elsewhere
//! (`docs/`).
//!
//! It owns only the fallback for paths no route matched: API, Socket.IO and upload paths
//! are never answered with the client, they keep their JSON 404.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::ApiError;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Assets;

/// Path prefixes that belong to the server, not to the client's routes.
const SERVER_PREFIXES: [&str; 3] = ["/api", "/socket.io", "/uploads"];

/// The fallback handler: an embedded file, `index.html` for client-side routes (paths
/// without a file extension), else the JSON 404.
pub async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    let is_server_path =
        SERVER_PREFIXES.iter().any(|p| path == *p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/')));
    if is_server_path || (method != Method::GET && method != Method::HEAD) {
        return ApiError::RouteNotFound.into_response();
    }
    let name = path.trim_start_matches('/');
    let (name, file) = match Assets::get(name).filter(|_| !name.is_empty()) {
        Some(file) => (name, file),
        // A missing file (`/app.css.map`) is a 404; anything else is a client route.
        None if name.rsplit('/').next().is_some_and(|last| last.contains('.')) => {
            return ApiError::RouteNotFound.into_response();
        }
        None => match Assets::get("index.html") {
            Some(file) => ("index.html", file),
            None => return ApiError::RouteNotFound.into_response(),
        },
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let mut response = if if_none_match(&headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(file.data.into_owned()));
        r.headers_mut().insert(header::CONTENT_TYPE, content_type(name));
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    // File names carry no content hash: the browser keeps them but revalidates (cheap 304s).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    super::security::page(response, super::security::PAGE_CSP)
}

fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers.get_all(header::IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/") == etag
        },
    )
}

fn content_type(name: &str) -> HeaderValue {
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    let textual = mime.type_() == mime_guess::mime::TEXT
        || matches!(mime.subtype().as_str(), "javascript" | "json" | "svg" | "manifest+json");
    let value = if textual && mime.get_param("charset").is_none() {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/octet-stream"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_of_the_client_files() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("style.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("x.png"), "image/png");
    }

    #[test]
    fn etags_match_with_lists_and_weak_prefixes() {
        let mut h = HeaderMap::new();
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"a\", W/\"b\""));
        assert!(if_none_match(&h, "\"b\""));
        assert!(!if_none_match(&h, "\"c\""));
    }
}
