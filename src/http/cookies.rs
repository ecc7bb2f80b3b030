//! The `jwt` and `refreshToken` cookies, exactly as API.md describes them.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::auth::extract::{ACCESS_COOKIE, REFRESH_COOKIE};
use crate::services::auth::IssuedTokens;
use crate::startup::AppState;

fn seconds(d: std::time::Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn build(name: &'static str, value: String, max_age: std::time::Duration, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .secure(secure)
        .max_age(seconds(max_age))
        .build()
}

/// Adds the cookies for freshly issued tokens.
pub fn with_tokens(jar: CookieJar, state: &AppState, tokens: &IssuedTokens) -> CookieJar {
    let secure = state.settings.cookie_secure();
    let jar = jar.add(build(ACCESS_COOKIE, tokens.access_token.clone(), state.settings.access_token_ttl, secure));
    match &tokens.refresh_token {
        Some(refresh) => jar.add(build(REFRESH_COOKIE, refresh.clone(), state.settings.refresh_token_ttl, secure)),
        None => jar,
    }
}

/// Expires both cookies.
pub fn cleared(jar: CookieJar, state: &AppState) -> CookieJar {
    let secure = state.settings.cookie_secure();
    jar.add(build(ACCESS_COOKIE, String::new(), std::time::Duration::ZERO, secure)).add(build(
        REFRESH_COOKIE,
        String::new(),
        std::time::Duration::ZERO,
        secure,
    ))
}
