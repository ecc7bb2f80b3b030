//! The video-platform tutorial ("videotube": Express + Mongoose + multer), under `/api/v1`:
//! its `{statusCode, data, message, success}` envelope (errors too, as JSON), its cookies
//! (`accessToken`, `refreshToken`) or `Authorization: Bearer`, its user documents. The
//! accounts are natter's: a user registered here signs in to the chat and the other way
//! round. So far: `/healthcheck` and the session routes of `/users` (login, logout,
//! refresh-token, current-user, change-password); registration with files, channel
//! profiles, videos and the rest follow (see the README).

mod envelope;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use self::envelope::{Answer, ErrorEnvelope, VideotubeError, VideotubeResult, VtJson, raw_body};
use crate::auth::extract::{REFRESH_COOKIE, VIDEOTUBE_ACCESS_COOKIE, access_token};
use crate::auth::{AuthUser, ClientInfo};
use crate::db::users::UserRow;
use crate::error::ApiError;
use crate::http::auth::{
    ChangePasswordRequest, LoginRequest, RefreshRequest, change_password_fields, login_fields, refresh_token_of,
};
use crate::http::cookies;
use crate::http::openapi::ApiRoutes;
use crate::services::auth::{self as auth_service, RefreshMode};
use crate::startup::AppState;
use crate::views::rfc3339;

const TAG: &str = "video-platform tutorial";

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(videotube_healthcheck))
        .routes(routes!(videotube_login))
        .routes(routes!(videotube_logout))
        .routes(routes!(videotube_refresh_token))
        .routes(routes!(videotube_current_user))
        .routes(routes!(videotube_change_password))
}

/// The caller, from the `accessToken` cookie (or natter's `jwt`) or a bearer token.
struct Viewer(AuthUser);

impl FromRequestParts<AppState> for Viewer {
    type Rejection = VideotubeError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = access_token(parts).ok_or_else(|| ApiError::Unauthorized("Unauthorized request".into()))?;
        Ok(Self(auth_service::authenticate(state, &token).await?))
    }
}

/// A user as the tutorial shows one: never its password or refresh token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = VideotubeUser)]
struct UserDoc {
    #[serde(rename = "_id")]
    id: String,
    /// Lower-case; the e-mail's local part for accounts made without one.
    username: String,
    email: String,
    full_name: String,
    /// The account's picture (the chat's `profilePic`).
    avatar: String,
    cover_image: String,
    /// Ids of watched videos (newest first).
    watch_history: Vec<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<UserRow> for UserDoc {
    fn from(row: UserRow) -> Self {
        let username = row
            .username
            .clone()
            .unwrap_or_else(|| row.email.split('@').next().unwrap_or_default().to_ascii_lowercase());
        Self {
            id: row.id,
            username,
            email: row.email,
            full_name: row.full_name,
            avatar: row.profile_pic,
            cover_image: String::new(),
            watch_history: Vec::new(),
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
        }
    }
}

/// `GET /api/v1/healthcheck`.
#[utoipa::path(
    get,
    path = "/api/v1/healthcheck",
    tag = TAG,
    security(()),
    responses((status = 200, description = "`data: {status: \"OK\"}`"))
)]
async fn videotube_healthcheck() -> impl IntoResponse {
    Answer(StatusCode::OK, serde_json::json!({"status": "OK"}), "Health check passed")
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LoggedIn {
    user: UserDoc,
    access_token: String,
    refresh_token: Option<String>,
}

/// Signs in with `email` or `username` and `password`: the tokens in `data` and as the
/// `accessToken` and `refreshToken` cookies (httpOnly; Secure per `COOKIE_SECURE`).
#[utoipa::path(
    post,
    path = "/api/v1/users/login",
    tag = TAG,
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "`data: {user, accessToken, refreshToken}`"),
        (status = 400, description = "Missing fields, malformed JSON, or wrong credentials", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body not `application/json`", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts", body = ErrorEnvelope),
    )
)]
async fn videotube_login(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    VtJson(body): VtJson<LoginRequest>,
) -> VideotubeResult<impl IntoResponse> {
    let (identifier, password) = login_fields(body)?;
    let (user, tokens) = auth_service::login(&state, &identifier, password, &client).await?;
    let jar = cookies::with_tokens_as(jar, &state, &tokens, VIDEOTUBE_ACCESS_COOKIE);
    let data =
        LoggedIn { user: UserDoc::from(user), access_token: tokens.access_token, refresh_token: tokens.refresh_token };
    Ok((jar, Answer(StatusCode::OK, data, "User logged In Successfully")))
}

/// Signs out: the session is revoked (its refresh token too) and the cookies cleared.
/// Without a valid token there is nothing to revoke, and it still answers 200.
#[utoipa::path(
    post,
    path = "/api/v1/users/logout",
    tag = TAG,
    security((), ("bearerAuth" = [])),
    responses((status = 200, description = "`data: {}`"))
)]
async fn videotube_logout(
    State(state): State<AppState>,
    jar: CookieJar,
    parts: Parts,
) -> VideotubeResult<impl IntoResponse> {
    let access = access_token(&parts);
    let refresh = jar.get(REFRESH_COOKIE).map(|c| c.value().to_string());
    auth_service::logout(&state, access.as_deref(), refresh.as_deref()).await?;
    Ok((cookies::cleared(jar, &state), Answer(StatusCode::OK, serde_json::json!({}), "User logged Out")))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Refreshed {
    access_token: String,
    refresh_token: Option<String>,
}

/// Rotates the refresh token (the `refreshToken` cookie, or `{refreshToken}` in the body):
/// a token used twice revokes its whole session, as every natter refresh does.
#[utoipa::path(
    post,
    path = "/api/v1/users/refresh-token",
    tag = TAG,
    security(()),
    request_body(content = Option<RefreshRequest>, description = "Optional: without it, the `refreshToken` cookie"),
    responses(
        (status = 200, description = "`data: {accessToken, refreshToken}`, also as cookies"),
        (status = 400, description = "Malformed JSON", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 401, description = "No, an unknown, an expired or a reused refresh token", body = ErrorEnvelope),
    )
)]
async fn videotube_refresh_token(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    body: Result<Bytes, BytesRejection>,
) -> VideotubeResult<impl IntoResponse> {
    let token = refresh_token_of(&raw_body(body)?, &jar)?;
    let tokens = auth_service::refresh(&state, &token, &client, RefreshMode::Explicit).await?;
    let jar = cookies::with_tokens_as(jar, &state, &tokens, VIDEOTUBE_ACCESS_COOKIE);
    let data = Refreshed { access_token: tokens.access_token, refresh_token: tokens.refresh_token };
    Ok((jar, Answer(StatusCode::OK, data, "Access token refreshed")))
}

/// The signed-in user.
#[utoipa::path(
    get,
    path = "/api/v1/users/current-user",
    tag = TAG,
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "`data`: the user", body = UserDoc),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
    )
)]
async fn videotube_current_user(Viewer(caller): Viewer) -> impl IntoResponse {
    Answer(StatusCode::OK, UserDoc::from(caller.user), "User fetched successfully")
}

/// Changes the password (`{oldPassword, newPassword}`); the caller's other sessions end.
#[utoipa::path(
    post,
    path = "/api/v1/users/change-password",
    tag = TAG,
    security(("bearerAuth" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "`data: {}`"),
        (status = 400, description = "Missing or weak password, wrong old password, malformed JSON", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body not `application/json`", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
    )
)]
async fn videotube_change_password(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    VtJson(body): VtJson<ChangePasswordRequest>,
) -> VideotubeResult<impl IntoResponse> {
    let (old, new) = change_password_fields(body, state.settings.password_min_length)?;
    auth_service::change_password(&state, &caller, old, new).await?;
    Ok(Answer(StatusCode::OK, serde_json::json!({}), "Password changed successfully"))
}
