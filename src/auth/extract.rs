//! Extractors: `AuthUser` (401 unless a valid, unrevoked access token is presented) and
//! `ClientInfo` (IP and user agent, for rate limits and session records).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{AUTHORIZATION, USER_AGENT};
use axum::http::request::Parts;
use axum_extra::extract::cookie::CookieJar;

use crate::db::users::UserRow;
use crate::domain::{Role, UserId};
use crate::error::ApiError;
use crate::startup::AppState;

pub const ACCESS_COOKIE: &str = "jwt";
pub const REFRESH_COOKIE: &str = "refreshToken";
/// The video-platform tutorial's access-token cookie.
pub const VIDEOTUBE_ACCESS_COOKIE: &str = "accessToken";
/// Every cookie an access token is read from.
pub const ACCESS_COOKIES: [&str; 2] = [ACCESS_COOKIE, VIDEOTUBE_ACCESS_COOKIE];

/// Set by the transparent-refresh middleware: the fresh access token to use for this
/// request in place of the expired cookie.
#[derive(Clone)]
pub struct RefreshedAccessToken(pub String);

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: UserId,
    /// The caller's row as of the session check (shared with the session cache; its
    /// `password_hash` is empty).
    pub user: Arc<UserRow>,
    /// The session family (login) of the presented token.
    pub session_family: String,
}

impl AuthUser {
    pub fn role(&self) -> Role {
        self.user.role()
    }

    pub fn is_admin(&self) -> bool {
        self.role() == Role::Admin
    }
}

/// The access token of a request, first match wins: refreshed token, cookie `jwt`,
/// `Authorization: Bearer`, `x-access-token`.
pub fn access_token(parts: &Parts) -> Option<String> {
    if let Some(RefreshedAccessToken(token)) = parts.extensions.get::<RefreshedAccessToken>() {
        return Some(token.clone());
    }
    let jar = CookieJar::from_headers(&parts.headers);
    if let Some(cookie) = ACCESS_COOKIES.iter().find_map(|name| jar.get(name).filter(|c| !c.value().is_empty())) {
        return Some(cookie.value().to_string());
    }
    if let Some(value) = parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let mut it = value.splitn(2, ' ');
        if let (Some(scheme), Some(token)) = (it.next(), it.next())
            && scheme.eq_ignore_ascii_case("bearer")
            && !token.trim().is_empty()
        {
            return Some(token.trim().to_string());
        }
    }
    parts
        .headers
        .get("x-access-token")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token =
            access_token(parts).ok_or_else(|| ApiError::Unauthorized("Unauthorized - No Token Provided".into()))?;
        crate::services::auth::authenticate(state, &token).await
    }
}

/// The caller if the request carries a valid token; a missing, expired or revoked one is
/// anonymous (for routes that serve everyone something, like `/uploads`).
#[derive(Debug, Clone)]
pub struct MaybeAuthUser(pub Option<AuthUser>);

impl FromRequestParts<AppState> for MaybeAuthUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = access_token(parts) else {
            return Ok(Self(None));
        };
        Ok(Self(crate::services::auth::authenticate(state, &token).await.ok()))
    }
}

/// Who is calling, as far as the connection tells.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let forwarded = state
            .settings
            .trust_proxy
            .then(|| parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
            .flatten()
            .and_then(|v| v.split(',').next())
            .and_then(|ip| ip.trim().parse::<IpAddr>().ok());
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let user_agent =
            parts.headers.get(USER_AGENT).and_then(|v| v.to_str().ok()).map(|ua| ua.chars().take(256).collect());
        Ok(Self { ip: forwarded.or(peer), user_agent })
    }
}
