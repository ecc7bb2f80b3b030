//! `/api/users`: list and search, get, update, delete, set role.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

use super::openapi::{ApiRoutes, ErrorBody};
use super::{UserResponse, check_limit, cookies};
use crate::auth::AuthUser;
use crate::db::users::UserRow;
use crate::domain::{FullName, Role, UserId, Username};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, FieldErrors};
use crate::services::media::ImageInput;
use crate::services::users::{self as user_service, ProfileChange, UserQuery};
use crate::startup::AppState;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(set_role))
}

/// A user id from the path; a malformed id names no user, so it is a 404.
pub fn parse_user_id(raw: &str) -> ApiResult<UserId> {
    UserId::parse(raw).ok_or_else(|| ApiError::NotFound("User not found".into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// Search in names, username and email.
    pub q: Option<String>,
    /// 1-1000.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `X-Next-Cursor` of the previous page.
    pub cursor: Option<String>,
}

impl ListUsersQuery {
    pub fn parse(&self, default_limit: u32, exclude_caller: bool) -> ApiResult<UserQuery<'_>> {
        let limit = check_limit(self.limit, default_limit)?;
        let after = match self.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(raw) => Some(UserId::parse(raw).ok_or_else(|| {
                FieldErrors::single("cursor", "invalid", "cursor must be the _id of the last user of the previous page")
            })?),
        };
        Ok(UserQuery { search: self.q.as_deref(), after, limit, exclude_caller })
    }
}

/// The page as a JSON array; `X-Next-Cursor` names the cursor of the next page when the
/// page is full.
pub fn user_page(rows: Vec<UserRow>, limit: u32) -> Response {
    let next = (rows.len() == limit as usize).then(|| rows.last().map(|u| u.id.clone())).flatten();
    let body: Vec<UserResponse> = rows.into_iter().map(UserResponse::from).collect();
    let mut response = Json(body).into_response();
    if let Some(next) = next.and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert("x-next-cursor", next);
    }
    response
}

/// Lists and searches users, paged by `_id`.
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    params(ListUsersQuery),
    responses(
        (status = 200, description = "A page of users (default 50)", body = [UserResponse],
            headers(("x-next-cursor" = String, description = "Cursor of the next page, when this one is full"))),
        (status = 400, description = "Invalid `limit` or `cursor`", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
async fn list_users(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<ListUsersQuery>,
) -> ApiResult<Response> {
    let parsed = query.parse(50, false)?;
    let limit = parsed.limit;
    let rows = user_service::list(&state, &caller, parsed).await?;
    Ok(user_page(rows, limit))
}

/// One user.
#[utoipa::path(
    get,
    path = "/api/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn get_user(
    State(state): State<AppState>,
    _caller: AuthUser,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<UserResponse>> {
    let id = parse_user_id(&id)?;
    Ok(Json(user_service::get(&state, &id).await?.into()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateUserRequest {
    /// 1-100 characters.
    #[schema(value_type = String)]
    full_name: Option<String>,
    /// 3-32 letters, digits or `_`; unique.
    #[schema(value_type = String)]
    username: Option<String>,
    /// An image as a base64 `data:` URL, or a URL.
    #[schema(value_type = String)]
    profile_pic: Option<String>,
}

/// Changes a user's profile (the user or an admin).
#[utoipa::path(
    patch,
    path = "/api/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 400, description = "Invalid fields or image (`validation_failed`, `invalid_image`), or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Neither the user nor an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Username taken (`username_taken`)", body = ErrorBody),
        (status = 413, description = "Body or image over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn update_user(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> ApiResult<Json<UserResponse>> {
    let id = parse_user_id(&id)?;
    let mut errors = FieldErrors::new();
    let full_name = body.full_name.as_deref().and_then(|raw| {
        FullName::parse(raw).map_err(|r| errors.add("fullName", r, "Full name must be 1-100 characters")).ok()
    });
    let username = body.username.as_deref().and_then(|raw| {
        Username::parse(raw).map_err(|r| errors.add("username", r, "Username must be 3-32 letters, digits or _")).ok()
    });
    let profile_pic = body.profile_pic.as_deref().and_then(|raw| {
        ImageInput::parse(raw)
            .map_err(|r| errors.add("profilePic", r, "profilePic must be an image data URL or a URL"))
            .ok()
    });
    errors.into_result()?;
    let change = ProfileChange { full_name, username, profile_pic, ..Default::default() };
    Ok(Json(user_service::update_profile(&state, &caller, &id, change).await?.into()))
}

#[derive(Serialize, ToSchema)]
#[schema(as = DeletedUser)]
struct DeletedBody {
    #[serde(rename = "_id")]
    id: String,
    deleted: bool,
}

/// Deletes an account (the user or an admin): sessions and memberships go, messages stay
/// with a "Deleted user" author. Deleting oneself clears the cookies.
#[utoipa::path(
    delete,
    path = "/api/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Deleted", body = DeletedBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Neither the user nor an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    caller: AuthUser,
    jar: CookieJar,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let id = parse_user_id(&id)?;
    user_service::delete(&state, &caller, &id).await?;
    // Deleting your own account logs you out here too.
    let jar = if id == caller.id { cookies::cleared(jar, &state) } else { jar };
    Ok((jar, Json(DeletedBody { id: id.to_string(), deleted: true })))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetRoleRequest {
    /// `user`, `moderator` or `admin`.
    #[schema(value_type = String, required = true, example = "moderator")]
    role: Option<String>,
}

/// Sets a user's role (admins only; an admin cannot demote themself).
#[utoipa::path(
    put,
    path = "/api/users/{id}/role",
    tag = "users",
    params(("id" = String, Path, description = "User id")),
    request_body = SetRoleRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 400, description = "Unknown role, self-demotion, or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn set_role(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SetRoleRequest>,
) -> ApiResult<Json<UserResponse>> {
    let id = parse_user_id(&id)?;
    let role = body
        .role
        .as_deref()
        .and_then(Role::parse)
        .ok_or_else(|| FieldErrors::single("role", "invalid", "role must be one of user, moderator, admin"))?;
    Ok(Json(user_service::set_role(&state, &caller, &id, role).await?.into()))
}
