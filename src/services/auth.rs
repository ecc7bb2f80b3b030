//! Accounts and sessions: signup, login, refresh-token rotation with reuse detection,
//! logout, password change, and resolving an access token to a live user.

use std::sync::Arc;

use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::auth::{AuthUser, ClientInfo, JwtKeys, SessionCache, TokenError};
use crate::db::Db;
use crate::db::sessions::{self, NewSession};
use crate::db::users::{self, InsertUser, NewUser, UpdateUser, UserPatch, UserRow};
use crate::domain::{Email, FullName, Password, SessionId, UserId, UserType, Username, now_ms};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::media::{self, StoredMedia};
use crate::startup::AppState;

/// Tokens handed to a client after login, signup or refresh.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
}

pub struct Signup {
    pub full_name: FullName,
    pub email: Email,
    pub username: Option<Username>,
    /// `None` only for contacts an admin creates through the chat-API tutorial's
    /// `POST /users`: such an account cannot log in (no password ever matches).
    pub password: Option<Password>,
    pub user_type: UserType,
}

fn invalid_credentials() -> ApiError {
    ApiError::BadRequest(ErrorCode::InvalidCredentials, "Invalid credentials".into())
}

fn ttl_ms(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

/// Starts a new session family (a login) for `user` and returns its first tokens.
async fn start_session(state: &AppState, user: &UserId, client: &ClientInfo) -> ApiResult<IssuedTokens> {
    let family = SessionId::new().to_string();
    let refresh = new_refresh_token();
    let now = now_ms();
    let ends_at = Some(state.settings.session_max_age).filter(|d| !d.is_zero()).map(|d| now + ttl_ms(d));
    sessions::insert_session(
        &state.db,
        NewSession {
            id: SessionId::new(),
            user_id: user,
            family_id: &family,
            token_hash: &hash_refresh_token(&refresh),
            expires_at: now + ttl_ms(state.settings.refresh_token_ttl),
            user_agent: client.user_agent.as_deref(),
            ip: client.ip.map(|ip| ip.to_string()),
            started_at: now,
            ends_at,
            now,
        },
    )
    .await?;
    let access = state.jwt.issue_access_until(user, &family, ends_at)?;
    Ok(IssuedTokens { access_token: access, refresh_token: refresh })
}

/// Whether this address may sign up now (checked before anything is stored, the sign-up
/// form's files included).
pub fn admit_signup(state: &AppState, client: &ClientInfo) -> ApiResult<()> {
    state.limits.signup_ip.check_ip(client.ip)
}

#[tracing::instrument(skip_all)]
pub async fn signup(state: &AppState, input: Signup, client: &ClientInfo) -> ApiResult<(UserRow, IssuedTokens)> {
    admit_signup(state, client)?;
    let user = create_account(state, input).await?;
    let tokens = start_session(state, &user.user_id()?, client).await?;
    Ok((user, tokens))
}

/// Creates an account without starting a session (signup, and `natter user create`). The
/// first account of an empty instance is an admin.
pub async fn create_account(state: &AppState, input: Signup) -> ApiResult<UserRow> {
    let hash = match input.password {
        Some(password) => state.hasher.hash(password).await?,
        // The verifier treats an empty hash as "no account": nothing matches it.
        None => String::new(),
    };
    let id = UserId::new();
    let inserted = users::insert_user(
        &state.db,
        NewUser {
            id,
            email: &input.email,
            username: input.username.as_ref(),
            full_name: &input.full_name,
            password_hash: &hash,
            profile_pic: "",
            user_type: input.user_type,
            now: now_ms(),
        },
    )
    .await?;
    let user = match inserted {
        InsertUser::Inserted(user) => *user,
        InsertUser::EmailTaken => {
            return Err(ApiError::Conflict(ErrorCode::EmailTaken, "Email already exists".into()));
        }
        InsertUser::UsernameTaken => {
            return Err(ApiError::Conflict(ErrorCode::UsernameTaken, "Username already exists".into()));
        }
    };
    tracing::info!(user_id = %user.id, role = %user.role, "account created");
    Ok(user)
}

/// Creates an account with the picture and cover uploaded in its sign-up form (the
/// video-platform tutorial's register). The files were stored before the account existed:
/// they become its own, or are deleted when the account cannot be created (409, …).
pub async fn register_with_images(
    state: &AppState,
    input: Signup,
    avatar: &StoredMedia,
    cover: Option<&StoredMedia>,
) -> ApiResult<UserRow> {
    let uploads: Vec<&StoredMedia> = std::iter::once(avatar).chain(cover).collect();
    let user = match create_account(state, input).await {
        Ok(user) => user,
        Err(e) => {
            media::discard(state, &uploads).await;
            return Err(e);
        }
    };
    let id = user.user_id()?;
    media::assign_owner(state, &uploads, &id).await?;
    let patch =
        UserPatch { profile_pic: Some(&avatar.url), cover_image: cover.map(|c| c.url.as_str()), ..Default::default() };
    match users::update_user(&state.db, &id, patch, now_ms()).await? {
        UpdateUser::Updated(row) => Ok(*row),
        _ => Err(anyhow::anyhow!("a new account could not be given its images").into()),
    }
}

/// Logs in by e-mail or username. Unknown account and wrong password answer alike, after
/// the same amount of hashing work.
#[tracing::instrument(skip_all)]
pub async fn login(
    state: &AppState,
    identifier: &str,
    password: Password,
    client: &ClientInfo,
) -> ApiResult<(UserRow, IssuedTokens)> {
    let user = users::find_user_by_login(&state.db, identifier).await?;
    let account =
        user.as_ref().map_or_else(|| format!("unknown:{}", identifier.trim().to_lowercase()), |u| u.id.clone());
    verify_and_start(state, &account, user, password, client).await
}

/// Logs in by user id (the chat-API tutorial's `POST /login/:userId`, which upstream needs
/// no password at all): the same checks, limits and answers as `login`.
#[tracing::instrument(skip_all)]
pub async fn login_by_id(
    state: &AppState,
    user_id: Option<&UserId>,
    password: Password,
    client: &ClientInfo,
) -> ApiResult<(UserRow, IssuedTokens)> {
    let user = match user_id {
        Some(id) => users::find_user(&state.db, id).await?.filter(|u| u.deleted_at.is_none()),
        None => None,
    };
    let account = user_id.map_or_else(|| "unknown:".to_string(), UserId::to_string);
    verify_and_start(state, &account, user, password, client).await
}

/// Unknown account and wrong password answer alike, after the same amount of hashing work.
/// The rate limits come first (see `RateLimits::admit_login`): `account` names the account
/// tried (its id when it exists).
async fn verify_and_start(
    state: &AppState,
    account: &str,
    user: Option<UserRow>,
    password: Password,
    client: &ClientInfo,
) -> ApiResult<(UserRow, IssuedTokens)> {
    state.limits.admit_login(client.ip, account)?;
    let ok = state.hasher.verify(password, user.as_ref().map(|u| u.password_hash.clone())).await?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => {
            state.limits.login_failed(client.ip, account);
            return Err(invalid_credentials());
        }
    };
    state.limits.login_succeeded(client.ip, account);
    let id = user.user_id()?;
    let tokens = start_session(state, &id, client).await?;
    Ok((user, tokens))
}

/// Rotates a refresh token (every refresh route, and the transparent cookie refresh).
///
/// The successor is derived from the token (see `JwtKeys::refresh_successor`), so requests
/// that refresh the same token within `REFRESH_REUSE_GRACE` of each other (two tabs, parallel
/// requests of one page) all succeed with the same new token and leave the login valid.
/// Presenting a rotated token after that revokes the whole family: whoever holds the newer
/// token is logged out too, since one of the two holders is not the user.
#[tracing::instrument(skip_all)]
pub async fn refresh(state: &AppState, token: &str, client: &ClientInfo) -> ApiResult<IssuedTokens> {
    state.limits.refresh_ip.check_ip(client.ip)?;
    rotate(state, token, client).await
}

async fn rotate(state: &AppState, token: &str, client: &ClientInfo) -> ApiResult<IssuedTokens> {
    let expired = || ApiError::Unauthorized("Refresh token is invalid or expired".into());
    let now = now_ms();
    let session = sessions::find_session_by_hash(&state.db, &hash_refresh_token(token)).await?.ok_or_else(expired)?;
    let ended = session.ends_at.is_some_and(|end| end <= now);
    if session.revoked_at.is_some() || session.expires_at <= now || ended {
        return Err(expired());
    }
    let user_id = UserId::parse(&session.user_id).ok_or_else(|| anyhow::anyhow!("stored user id is not a UUID"))?;
    let successor = state.jwt.refresh_successor(token);
    if session.replaced_by.is_some() {
        let grace = ttl_ms(state.settings.refresh_reuse_grace);
        if session.rotated_at.is_some_and(|at| now - at <= grace) {
            let access = state.jwt.issue_access_until(&user_id, &session.family_id, session.ends_at)?;
            return Ok(IssuedTokens { access_token: access, refresh_token: successor });
        }
        tracing::warn!(user_id = %session.user_id, "refresh token reuse detected: revoking the session family");
        sessions::revoke_family(&state.db, &session.family_id, now).await?;
        sessions_ended(state, std::slice::from_ref(&session.family_id), "refresh_token_reused").await;
        return Err(ApiError::Unauthorized("Refresh token was already used; the session has been revoked".into()));
    }
    let rotated = sessions::rotate_session(
        &state.db,
        &session.id,
        NewSession {
            id: SessionId::new(),
            user_id: &user_id,
            family_id: &session.family_id,
            token_hash: &hash_refresh_token(&successor),
            expires_at: now + ttl_ms(state.settings.refresh_token_ttl),
            user_agent: client.user_agent.as_deref(),
            ip: client.ip.map(|ip| ip.to_string()),
            started_at: session.started_at,
            ends_at: session.ends_at,
            now,
        },
    )
    .await?;
    if !rotated {
        // A concurrent refresh of the same token rotated it first: within the grace period
        // now, so this one gets the same successor.
        return Box::pin(rotate(state, token, client)).await;
    }
    let access = state.jwt.issue_access_until(&user_id, &session.family_id, session.ends_at)?;
    Ok(IssuedTokens { access_token: access, refresh_token: successor })
}

/// Ends the session identified by an access token's family and/or a refresh token.
/// Succeeds whatever was presented: logging out twice is not an error.
pub async fn logout(state: &AppState, access_token: Option<&str>, refresh_token: Option<&str>) -> ApiResult<()> {
    let now = now_ms();
    if let Some(token) = access_token
        // An expired token still names the session the client wants to end.
        && let Ok(claims) = state.jwt.verify_access_ignoring_expiry(token)
    {
        sessions::revoke_family(&state.db, &claims.sid, now).await?;
        sessions_ended(state, &[claims.sid], "logged_out").await;
    }
    if let Some(token) = refresh_token
        && let Some(session) = sessions::find_session_by_hash(&state.db, &hash_refresh_token(token)).await?
    {
        sessions::revoke_family(&state.db, &session.family_id, now).await?;
        sessions_ended(state, &[session.family_id], "logged_out").await;
    }
    Ok(())
}

/// Resolves an access token to a live user whose session is not revoked.
pub async fn authenticate(state: &AppState, token: &str) -> ApiResult<AuthUser> {
    authenticate_with(&state.db, &state.jwt, &state.sessions, token, Remember::Yes).await
}

/// Whether a session checked against the store is cached for the requests that follow.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Remember {
    /// An HTTP request: the session's next requests come soon.
    Yes,
    /// A Socket.IO handshake: the socket is checked once, and a cache entry (~0.5 KiB)
    /// per connection would only hold memory.
    No,
}

/// `authenticate` for callers without an `AppState` (the Socket.IO handshake). A session
/// checked within the last `AUTH_CACHE_TTL` is not looked up again.
pub async fn authenticate_with(
    db: &Db,
    jwt: &JwtKeys,
    cache: &SessionCache,
    token: &str,
    remember: Remember,
) -> ApiResult<AuthUser> {
    let claims = jwt.verify_access(token).map_err(|e| match e {
        TokenError::Expired => ApiError::Unauthorized("Unauthorized - Token expired".into()),
        TokenError::Invalid => ApiError::Unauthorized("Unauthorized - Invalid Token".into()),
    })?;
    let id = UserId::parse(&claims.sub).ok_or_else(|| ApiError::Unauthorized("Unauthorized - Invalid Token".into()))?;
    if let Some(user) = cache.get(&claims.sid, &claims.sub) {
        return Ok(AuthUser { id, user, session_family: claims.sid });
    }
    let epoch = cache.epoch();
    let user = users::find_user_for_session(db, &id, &claims.sid)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("Unauthorized - Session revoked or user not found".into()))?;
    let user = match remember {
        Remember::Yes => cache.put(&claims.sid, user, epoch),
        Remember::No => Arc::new(user),
    };
    Ok(AuthUser { id, user, session_family: claims.sid })
}

/// After sessions were revoked in the store: no cached check vouches for them any more,
/// and their sockets are told why and disconnected.
pub async fn sessions_ended(state: &AppState, families: &[String], reason: &str) {
    for family in families {
        state.sessions.forget_session(family);
    }
    state.realtime.forget_sessions(families).await;
    state.realtime.revoke_sessions(families, reason).await;
}

/// After a user's row changed in the store (profile, role, password, deletion): cached
/// session checks carry the old row, so they go.
pub async fn user_changed(state: &AppState, user: &UserId) {
    let id = user.to_string();
    state.sessions.forget_user(&id);
    state.realtime.forget_user(&id).await;
}

/// Changes the caller's password after checking the current one; every other session of
/// the user is revoked, the current one stays.
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn change_password(state: &AppState, caller: &AuthUser, old: Password, new: Password) -> ApiResult<()> {
    state.limits.password_user.check(&caller.id)?;
    // The caller's row (cached) carries no hash: the stored one, read now.
    let stored = users::find_user(&state.db, &caller.id).await?.map(|u| u.password_hash);
    let ok = state.hasher.verify(old, stored).await?;
    if !ok {
        return Err(ApiError::BadRequest(ErrorCode::InvalidCredentials, "Current password is incorrect".into()));
    }
    let hash = state.hasher.hash(new).await?;
    let now = now_ms();
    if !users::update_password_hash(&state.db, &caller.id, &hash, now).await? {
        return Err(ApiError::NotFound("User not found".into()));
    }
    let revoked = sessions::revoke_user_sessions(&state.db, &caller.id, Some(&caller.session_family), now).await?;
    user_changed(state, &caller.id).await;
    sessions_ended(state, &revoked, "password_changed").await;
    Ok(())
}
