//! HS256 access tokens. The algorithm is pinned (so `alg: none` and RS/HS confusion fail),
//! `exp` is required, and the audience `access` keeps other token kinds from acting as one.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::UserId;

const AUDIENCE: &str = "access";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    /// Same as `sub`: the tutorials' clients decode `userId`.
    #[serde(rename = "userId")]
    pub user_id: String,
    /// The session family (one login) this token belongs to; revoking it revokes the token.
    pub sid: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    /// Derives rotated refresh tokens (see `tokens::successor_refresh_token`); a key of its
    /// own, derived from the secret, so that no token kind can stand in for another.
    rotation_key: [u8; 32],
}

impl JwtKeys {
    pub fn new(secret: &[u8], access_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl,
            rotation_key: Sha256::new()
                .chain_update(b"natter refresh-token rotation\0")
                .chain_update(secret)
                .finalize()
                .into(),
        }
    }

    /// The refresh token `token` rotates to.
    pub fn refresh_successor(&self, token: &str) -> String {
        super::tokens::successor_refresh_token(&self.rotation_key, token)
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    pub fn issue_access(&self, user: &UserId, session_family: &str) -> anyhow::Result<String> {
        self.issue_access_until(user, session_family, None)
    }

    /// An access token that expires no later than `session_ends_ms` (the login's absolute end).
    pub fn issue_access_until(
        &self,
        user: &UserId,
        session_family: &str,
        session_ends_ms: Option<i64>,
    ) -> anyhow::Result<String> {
        let iat = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(self.access_ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let exp = session_ends_ms.map_or(iat + ttl, |end| (iat + ttl).min(end / 1000));
        let claims = AccessClaims {
            sub: user.to_string(),
            user_id: user.to_string(),
            sid: session_family.to_string(),
            aud: AUDIENCE.to_string(),
            iat,
            exp,
        };
        Ok(encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    pub fn verify_access(&self, token: &str) -> Result<AccessClaims, TokenError> {
        match decode::<AccessClaims>(token, &self.decoding, &self.validation) {
            Ok(data) => Ok(data.claims),
            Err(e) if matches!(e.kind(), jsonwebtoken::errors::ErrorKind::ExpiredSignature) => Err(TokenError::Expired),
            Err(_) => Err(TokenError::Invalid),
        }
    }

    /// Checks signature, algorithm and audience but not `exp`: for logout, where an expired
    /// token still names the session to end.
    pub fn verify_access_ignoring_expiry(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let mut validation = self.validation.clone();
        validation.validate_exp = false;
        decode::<AccessClaims>(token, &self.decoding, &validation).map(|d| d.claims).map_err(|_| TokenError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys() -> JwtKeys {
        JwtKeys::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(900))
    }

    #[test]
    fn issued_tokens_verify() {
        let user = UserId::new();
        let token = keys().issue_access(&user, "fam").unwrap();
        let claims = keys().verify_access(&token).unwrap();
        assert_eq!(claims.sub, user.to_string());
        assert_eq!(claims.user_id, user.to_string());
        assert_eq!(claims.sid, "fam");
    }

    #[test]
    fn other_keys_tampering_and_alg_none_are_rejected() {
        let token = keys().issue_access(&UserId::new(), "fam").unwrap();
        let other = JwtKeys::new(b"another-secret-another-secret-xx", Duration::from_secs(900));
        assert_eq!(other.verify_access(&token).unwrap_err(), TokenError::Invalid);

        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let unsigned = format!("{header}.{}.", parts[1]);
        assert_eq!(keys().verify_access(&unsigned).unwrap_err(), TokenError::Invalid);

        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        parts[1] = URL_SAFE_NO_PAD.encode(payload.replace("fam", "fan"));
        assert_eq!(keys().verify_access(&parts.join(".")).unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn expired_tokens_say_so() {
        let expired = JwtKeys::new(b"0123456789abcdef0123456789abcdef", Duration::ZERO);
        let mut claims = AccessClaims {
            sub: "u".into(),
            user_id: "u".into(),
            sid: "f".into(),
            aud: AUDIENCE.into(),
            iat: 0,
            exp: chrono::Utc::now().timestamp() - 60,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &expired.encoding).unwrap();
        assert_eq!(keys().verify_access(&token).unwrap_err(), TokenError::Expired);
        claims.aud = "download".into();
        claims.exp += 3600;
        let wrong_audience = encode(&Header::new(Algorithm::HS256), &claims, &expired.encoding).unwrap();
        assert_eq!(keys().verify_access(&wrong_audience).unwrap_err(), TokenError::Invalid);
    }
}
