//! Authentication: access tokens (JWT), password hashing, refresh-token material and the
//! `AuthUser` extractor. Rules about sessions live in `services::auth`.

pub mod cache;
pub mod extract;
pub mod jwt;
pub mod password;
pub mod tokens;

pub use cache::SessionCache;
pub use extract::{AuthUser, ClientInfo};
pub use jwt::{AccessClaims, JwtKeys, TokenError};
pub use password::PasswordHasher;
