//! Users: listing, profiles, roles and account deletion, with their permission rules.

use std::collections::HashMap;
use std::sync::Arc;

use crate::auth::AuthUser;
use crate::db::users::{self, UpdateUser, UserPatch, UserRow};
use crate::domain::{Email, FullName, Password, Role, UserId, UserType, Username, now_ms};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::services::auth;
use crate::services::media::{self, ImageInput, Visibility};
use crate::startup::AppState;
use crate::views::UserResponse;

fn not_found() -> ApiError {
    ApiError::NotFound("User not found".into())
}

pub struct UserQuery<'a> {
    pub search: Option<&'a str>,
    pub after: Option<UserId>,
    pub limit: u32,
    pub exclude_caller: bool,
}

pub async fn list(state: &AppState, caller: &AuthUser, query: UserQuery<'_>) -> ApiResult<Vec<UserRow>> {
    let exclude = query.exclude_caller.then_some(&caller.id);
    let search = query.search.map(str::trim).filter(|q| !q.is_empty());
    Ok(users::list_users(&state.db, exclude, search, query.after.as_ref(), query.limit).await?)
}

/// `natter user list`: every live account, in id (creation) order.
pub async fn list_as_operator(
    state: &AppState,
    search: Option<&str>,
    after: Option<&UserId>,
    limit: u32,
) -> ApiResult<Vec<UserRow>> {
    let search = search.map(str::trim).filter(|q| !q.is_empty());
    Ok(users::list_users(&state.db, None, search, after, limit).await?)
}

/// A live user found by e-mail, username or id (the CLI's way of naming one).
pub async fn find_by_login_or_id(state: &AppState, key: &str) -> ApiResult<UserRow> {
    let by_login = users::find_user_by_login(&state.db, key).await?;
    let found = match by_login {
        Some(row) => Some(row),
        None => match UserId::parse(key) {
            Some(id) => users::find_user(&state.db, &id).await?,
            None => None,
        },
    };
    found.filter(|u| u.deleted_at.is_none()).ok_or_else(not_found)
}

/// A live user.
pub async fn get(state: &AppState, id: &UserId) -> ApiResult<UserRow> {
    users::find_user(&state.db, id).await?.filter(|u| u.deleted_at.is_none()).ok_or_else(not_found)
}

/// The profiles of `ids` as shown to others (deleted users included, anonymised): from the
/// cache where fresh, from the store for the rest, which are cached then (see `auth::cache`).
pub async fn profiles(state: &AppState, ids: &[&str]) -> ApiResult<HashMap<String, Arc<UserResponse>>> {
    let (mut found, missing) = state.sessions.profiles(ids);
    if !missing.is_empty() {
        let epoch = state.sessions.epoch();
        let rows = users::find_profiles(&state.db, &missing).await?;
        found.extend(state.sessions.put_profiles(rows, epoch).into_iter().map(|view| (view.id.clone(), view)));
    }
    Ok(found)
}

/// Profile fields as parsed at the edge; `profile_pic` still needs storing.
#[derive(Default)]
pub struct ProfileChange<'a> {
    pub full_name: Option<FullName>,
    pub username: Option<Username>,
    pub email: Option<Email>,
    pub profile_pic: Option<ImageInput<'a>>,
    /// The video-platform tutorial's channel cover: the URL of a stored upload.
    pub cover_image: Option<&'a str>,
}

fn may_manage(caller: &AuthUser, target: &UserId) -> bool {
    caller.id == *target || caller.is_admin()
}

/// Updates a profile: the user themself or an admin.
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn update_profile(
    state: &AppState,
    caller: &AuthUser,
    target: &UserId,
    change: ProfileChange<'_>,
) -> ApiResult<UserRow> {
    if !may_manage(caller, target) {
        // Existence of other accounts is not a secret here (users are listable), so 403.
        get(state, target).await?;
        return Err(ApiError::Forbidden("You can only change your own profile".into()));
    }
    let profile_pic = match change.profile_pic {
        // Avatars are public: every client shows them.
        Some(input) => Some(media::resolve_image(state, target, "profilePic", input, Visibility::Public).await?.url),
        None => None,
    };
    let patch = UserPatch {
        full_name: change.full_name.as_ref(),
        username: change.username.as_ref(),
        email: change.email.as_ref(),
        profile_pic: profile_pic.as_deref(),
        cover_image: change.cover_image,
    };
    match users::update_user(&state.db, target, patch, now_ms()).await? {
        UpdateUser::Updated(row) => {
            auth::user_changed(state, target).await;
            Ok(*row)
        }
        UpdateUser::UsernameTaken => {
            Err(ApiError::Conflict(ErrorCode::UsernameTaken, "Username already exists".into()))
        }
        UpdateUser::EmailTaken => Err(ApiError::Conflict(ErrorCode::EmailTaken, "Email already exists".into())),
        UpdateUser::NotFound => Err(not_found()),
    }
}

/// Deletes an account: the user themself or an admin.
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn delete(state: &AppState, caller: &AuthUser, target: &UserId) -> ApiResult<()> {
    if !may_manage(caller, target) {
        get(state, target).await?;
        return Err(ApiError::Forbidden("Only the user or an admin can delete an account".into()));
    }
    if !users::delete_user(&state.db, target, now_ms()).await? {
        return Err(not_found());
    }
    tracing::info!(target_user = %target, "account deleted");
    auth::user_changed(state, target).await;
    state.realtime.disconnect_user(&target.to_string(), "account_deleted").await;
    Ok(())
}

/// An account an admin creates for someone else (the chat-API tutorial's `POST /users`).
pub struct NewContact {
    pub full_name: FullName,
    /// Without one the account gets a unique address under `.invalid` (RFC 2606).
    pub email: Option<Email>,
    /// Without one the account cannot log in until it is given one.
    pub password: Option<Password>,
    pub user_type: UserType,
}

/// Creates an account for someone else: admins only.
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn create_as_admin(state: &AppState, caller: &AuthUser, input: NewContact) -> ApiResult<UserRow> {
    require_admin(caller, "Only an admin can create users")?;
    let email = match input.email {
        Some(email) => email,
        None => Email::parse(&format!("{}@contacts.invalid", uuid::Uuid::new_v4().simple()))
            .map_err(|_| anyhow::anyhow!("placeholder e-mail rejected"))?,
    };
    let signup = auth::Signup {
        full_name: input.full_name,
        email,
        username: None,
        password: input.password,
        user_type: input.user_type,
    };
    auth::create_account(state, signup).await
}

/// Deletes another account: admins only (the chat-API tutorial's `DELETE /users/:id`;
/// natter's own route also lets users delete themselves).
pub async fn delete_as_admin(state: &AppState, caller: &AuthUser, target: &UserId) -> ApiResult<()> {
    require_admin(caller, "Only an admin can delete users")?;
    delete(state, caller, target).await
}

fn require_admin(caller: &AuthUser, message: &'static str) -> ApiResult<()> {
    if caller.is_admin() { Ok(()) } else { Err(ApiError::Forbidden(message.into())) }
}

/// Sets a role: admins only, and an admin cannot demote themself (an instance must keep
/// an admin who can undo mistakes).
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn set_role(state: &AppState, caller: &AuthUser, target: &UserId, role: Role) -> ApiResult<UserRow> {
    require_admin(caller, "Only an admin can change roles")?;
    if caller.id == *target && role != Role::Admin {
        return Err(ApiError::BadRequest(ErrorCode::ValidationFailed, "Admins cannot demote themselves".into()));
    }
    apply_role(state, target, role).await
}

/// `natter user set-role`: whoever runs natter's CLI against the database already owns the
/// instance, so no caller check; it is how a locked-out instance gets an admin back.
pub async fn set_role_as_operator(state: &AppState, target: &UserId, role: Role) -> ApiResult<UserRow> {
    apply_role(state, target, role).await
}

async fn apply_role(state: &AppState, target: &UserId, role: Role) -> ApiResult<UserRow> {
    let row = users::update_role(&state.db, target, role, now_ms()).await?.ok_or_else(not_found)?;
    auth::user_changed(state, target).await;
    Ok(row)
}
