//! The `jwt` and `refreshToken` cookies, exactly as API.md describes them.

use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use crate::auth::extract::{ACCESS_COOKIE, ACCESS_COOKIES, REFRESH_COOKIE};
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
    with_tokens_as(jar, state, tokens, ACCESS_COOKIE)
}

/// `with_tokens`, with the access token in the cookie `access_cookie` (the video-platform
/// tutorial's `accessToken`; every name in `ACCESS_COOKIES` authenticates).
pub fn with_tokens_as(
    jar: CookieJar,
    state: &AppState,
    tokens: &IssuedTokens,
    access_cookie: &'static str,
) -> CookieJar {
    let secure = state.settings.cookie_secure();
    let jar = jar.add(build(access_cookie, tokens.access_token.clone(), state.settings.access_token_ttl, secure));
    jar.add(build(REFRESH_COOKIE, tokens.refresh_token.clone(), state.settings.refresh_token_ttl, secure))
}

/// Expires the token cookies (every access cookie name, and the refresh cookie).
pub fn cleared(jar: CookieJar, state: &AppState) -> CookieJar {
    let secure = state.settings.cookie_secure();
    let expired = |name| build(name, String::new(), std::time::Duration::ZERO, secure);
    ACCESS_COOKIES.iter().fold(jar, |jar, name| jar.add(expired(name))).add(expired(REFRESH_COOKIE))
}
