//! A user's logins (session families): listed, and ended one at a time, by their user or an
//! admin. Ending one revokes its refresh tokens and disconnects its sockets on every node.

use crate::auth::AuthUser;
use crate::db::sessions::{self, LiveSessionRow};
use crate::domain::{UserId, now_ms};
use crate::error::{ApiError, ApiResult};
use crate::services::auth::sessions_ended;
use crate::startup::AppState;

/// A live login, and whether the caller's request came with it.
pub struct SessionView {
    pub row: LiveSessionRow,
    pub current: bool,
}

/// The live logins of `user` (default: the caller). Only admins may list someone else's.
pub async fn list(state: &AppState, caller: &AuthUser, user: Option<&UserId>) -> ApiResult<Vec<SessionView>> {
    let target = user.unwrap_or(&caller.id);
    if *target != caller.id && !caller.is_admin() {
        return Err(ApiError::Forbidden("Only an admin can see another user's sessions".into()));
    }
    let rows = sessions::live_sessions(&state.db, target, now_ms()).await?;
    Ok(rows.into_iter().map(|row| SessionView { current: row.family_id == caller.session_family, row }).collect())
}

/// Ends one login: its user's or, for an admin, anyone's. Someone else's session is 404 to
/// others, as if it did not exist. Returns whether it was the caller's current one.
pub async fn revoke(state: &AppState, caller: &AuthUser, session_id: &str) -> ApiResult<bool> {
    let now = now_ms();
    let session = sessions::live_session(&state.db, session_id, now)
        .await?
        .filter(|s| s.user_id == caller.id.to_string() || caller.is_admin())
        .ok_or_else(|| ApiError::NotFound("Session not found".into()))?;
    sessions::revoke_family(&state.db, &session.family_id, now).await?;
    tracing::info!(user_id = %session.user_id, by = %caller.id, "session revoked");
    sessions_ended(state, std::slice::from_ref(&session.family_id), "session_revoked").await;
    Ok(session.family_id == caller.session_family)
}
