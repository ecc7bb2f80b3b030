//! Refresh-token material: 256 random bits at login, shown to the client once, stored as
//! SHA-256; each rotation's successor derived from its predecessor under a server key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

pub fn new_refresh_token() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

pub fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token `token` rotates to: HMAC-SHA256 of it under `key`. Every refresh of one token
/// yields the same successor, so concurrent refreshes (two tabs, one cookie) all receive the
/// token the first of them stored, and the login keeps a single live token. Only someone
/// holding both the token and the server's key can compute it.
pub fn successor_refresh_token(key: &[u8], token: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(token.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors_are_stable_per_key_and_token_and_unguessable_without_the_key() {
        let token = new_refresh_token();
        let next = successor_refresh_token(b"key one", &token);
        assert_eq!(next, successor_refresh_token(b"key one", &token));
        assert_ne!(next, successor_refresh_token(b"key two", &token));
        assert_ne!(next, successor_refresh_token(b"key one", &new_refresh_token()));
        assert_eq!(next.len(), token.len());
    }
}
