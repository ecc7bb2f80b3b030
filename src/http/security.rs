//! Browser safety: security headers on every response, and no cross-site use of the session
//! cookies.
//!
//! Cookies are `SameSite=Strict`, which stops other *sites*; another origin of the same
//! site (a sibling subdomain, another port) still gets them sent. So a request that carries
//! natter's cookies and changes something (any method but GET, HEAD and OPTIONS), and every
//! Socket.IO handshake that carries them, must come from natter's own origin or one in
//! `CORS_ORIGINS`, as its `Origin` (or, without one, its `Referer`) says. Clients that send
//! neither (scripts, apps, old browsers) are not browsers on another page and pass; token
//! clients (`Authorization`, `x-access-token`) never send cookies to be stolen.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;

use crate::auth::extract::{ACCESS_COOKIES, REFRESH_COOKIE};
use crate::config::Settings;
use crate::error::ApiError;
use crate::startup::AppState;

/// For natter's own pages (the web client, `/docs`): scripts and styles from natter only, no
/// inline code, no plugins, no framing; images also from https hosts (profile pictures may
/// be URLs) and data:/blob: URLs (previews).
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
                            img-src 'self' https: data: blob:; media-src 'self' blob:; connect-src 'self'; \
                            font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                            frame-ancestors 'none'";

/// `/docs` (Swagger UI): `PAGE_CSP` but for the one inline style its bundle applies (allowed
/// by its hash, not by 'unsafe-inline'; the browser test fails if the bundle changes it).
pub const DOCS_CSP: &str = "default-src 'self'; script-src 'self'; \
                            style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='; \
                            img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
                            base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// For everything else that is not a page (JSON, uploaded files): nothing may run, load or
/// frame it, even when opened directly in a tab.
const RESOURCE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// A `STATIC_DIR` frontend is the operator's: only framing is forbidden.
const FOREIGN_PAGE_CSP: &str = "frame-ancestors 'none'";

/// Adds the security headers every response carries (a handler's own CSP wins).
pub async fn headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    // No type, no body of its own (a 304): a browser would store the headers of a 304 over
    // those of the page it revalidated, so it gets no CSP that could differ from the page's.
    let csp = content_type.map(|ct| if ct.starts_with("text/html") { FOREIGN_PAGE_CSP } else { RESOURCE_CSP });
    let h = response.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Upload URLs of private attachments must not leak to other sites through links.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if let Some(csp) = csp
        && !h.contains_key(header::CONTENT_SECURITY_POLICY)
    {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    }
    if state.settings.cookie_secure() {
        h.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    response
}

/// Refuses (403, in the envelope of the surface the path belongs to) a cookie-carrying
/// request from another origin that changes something or opens a socket.
pub async fn same_origin_cookies(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let guarded =
        path.starts_with("/socket.io/") || !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if guarded
        && carries_session_cookie(request.headers())
        && let Some(origin) = foreign_origin(request.headers(), &state.settings)
    {
        tracing::warn!(%origin, path, "cross-site request with session cookies refused");
        let error = ApiError::Forbidden(
            format!("Cross-site request refused: {origin} may not use this session's cookies").into(),
        );
        return crate::surfaces::error_response(path, error);
    }
    next.run(request).await
}

fn carries_session_cookie(headers: &HeaderMap) -> bool {
    let jar = CookieJar::from_headers(headers);
    ACCESS_COOKIES.iter().chain([&REFRESH_COOKIE]).any(|name| jar.get(name).is_some_and(|c| !c.value().is_empty()))
}

/// The request's origin (`Origin`, else the origin of `Referer`) when it is neither natter's
/// own (the `Host` it was sent to, or `PUBLIC_URL`) nor in `CORS_ORIGINS`; `None` when it
/// is one of those or the request names no origin.
pub fn foreign_origin(headers: &HeaderMap, settings: &Settings) -> Option<String> {
    let claimed = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_string).or_else(|| {
        headers.get(header::REFERER).and_then(|v| v.to_str().ok()).map(|r| origin_of(r).unwrap_or(r.to_string()))
    })?;
    let origin = claimed.trim().trim_end_matches('/').to_ascii_lowercase();
    // Sandboxed frames and some redirects send `null`: never natter's own page.
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).map(str::to_ascii_lowercase);
    let same_host = host.is_some_and(|host| authority_of(&origin) == Some(host.as_str()));
    let public = settings.public_url.as_deref().and_then(origin_of).is_some_and(|p| p.eq_ignore_ascii_case(&origin));
    let allowed = settings.cors_origins().iter().any(|o| o.trim_end_matches('/').eq_ignore_ascii_case(&origin));
    (!(same_host || public || allowed)).then_some(claimed)
}

/// `scheme://authority` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    (!authority.is_empty()).then(|| format!("{scheme}://{authority}"))
}

fn authority_of(origin: &str) -> Option<&str> {
    origin.split_once("://").map(|(_, authority)| authority)
}

/// Adds a page's CSP (`PAGE_CSP`, `DOCS_CSP`) to one of natter's own pages.
pub fn page(mut response: Response, csp: &'static str) -> Response {
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn own_allowed_and_missing_origins_pass_others_do_not() {
        let mut settings = Settings::for_tests();
        settings.cors_origins = Some(vec!["https://app.example.com".into()]);
        settings.public_url = Some("https://chat.example.com/".into());
        let own = headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3000")]);
        assert_eq!(foreign_origin(&own, &settings), None);
        let allowed = headers(&[("host", "127.0.0.1:3000"), ("origin", "https://APP.example.com")]);
        assert_eq!(foreign_origin(&allowed, &settings), None);
        let public = headers(&[("host", "10.0.0.5:3000"), ("origin", "https://chat.example.com")]);
        assert_eq!(foreign_origin(&public, &settings), None);
        let none = headers(&[("host", "127.0.0.1:3000")]);
        assert_eq!(foreign_origin(&none, &settings), None);

        let evil = headers(&[("host", "127.0.0.1:3000"), ("origin", "https://evil.example")]);
        assert_eq!(foreign_origin(&evil, &settings).as_deref(), Some("https://evil.example"));
        let other_port = headers(&[("host", "127.0.0.1:3000"), ("origin", "http://127.0.0.1:3001")]);
        assert!(foreign_origin(&other_port, &settings).is_some());
        let null = headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(foreign_origin(&null, &settings).is_some());
        let referer = headers(&[("host", "127.0.0.1:3000"), ("referer", "https://evil.example/page?x=1")]);
        assert_eq!(foreign_origin(&referer, &settings).as_deref(), Some("https://evil.example"));
        let own_referer = headers(&[("host", "127.0.0.1:3000"), ("referer", "http://127.0.0.1:3000/chat")]);
        assert_eq!(foreign_origin(&own_referer, &settings), None);
    }
}
