//! Token parsing: an access token (JWT) checked as every request checks it, with and without
//! its expiry, and a refresh-token request body as the refresh routes read it. Must never
//! panic, and nothing made up may verify.
#![no_main]

use std::time::Duration;

use axum_extra::extract::cookie::CookieJar;
use libfuzzer_sys::fuzz_target;
use natter::auth::JwtKeys;

fuzz_target!(|data: &[u8]| {
    let keys = JwtKeys::new(b"fuzz-secret-fuzz-secret-fuzz-secret!", Duration::from_secs(900));
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(keys.verify_access(text).is_err(), "a made-up token verified: {text:?}");
        assert!(keys.verify_access_ignoring_expiry(text).is_err());
        let _ = keys.refresh_successor(text);
    }
    let _ = natter::http::auth::refresh_token_of(data, &CookieJar::new());
});
