//! `/api/auth`: signup, login, logout, refresh, check, profile, password.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::cookies;
use super::openapi::{ApiRoutes, ErrorBody};
use super::{MessageBody, UserResponse};
use crate::auth::extract::REFRESH_COOKIE;
use crate::auth::{AuthUser, ClientInfo};
use crate::domain::{Email, FullName, Password, UserType, Username};
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, ErrorCode, FieldErrors};
use crate::services::auth::{self as auth_service, Signup};
use crate::services::media::ImageInput;
use crate::services::sessions::{self as session_service, SessionView};
use crate::services::users::{self as user_service, ProfileChange};
use crate::startup::AppState;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(signup))
        .routes(routes!(login))
        .alias("/api/auth/signin", routes!(login))
        .routes(routes!(logout))
        .routes(routes!(refresh))
        .alias("/api/auth/refreshtoken", routes!(refresh))
        .alias("/api/auth/refresh-token", routes!(refresh))
        .routes(routes!(check))
        .alias("/api/auth/me", routes!(check))
        .routes(routes!(update_profile))
        .routes(routes!(change_password))
        .routes(routes!(list_sessions))
        .routes(routes!(revoke_session))
}

/// Paths whose handlers manage the token cookies themselves (no transparent refresh).
pub const TOKEN_PATHS: &[&str] = &[
    "/api/auth/signup",
    "/api/auth/login",
    "/api/auth/signin",
    "/api/auth/logout",
    "/api/auth/refresh",
    "/api/auth/refreshtoken",
    "/api/auth/refresh-token",
    // The video-platform tutorial's (surfaces/videotube).
    "/api/v1/users/login",
    "/api/v1/users/logout",
    "/api/v1/users/refresh-token",
];

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignupRequest {
    /// 1-100 characters. Optional when `username` is given (the JWT-auth tutorial's body):
    /// the username is the name then.
    #[schema(value_type = String, example = "Ann Lee")]
    full_name: Option<String>,
    /// Stored lower-case; unique.
    #[schema(value_type = String, required = true, format = Email, example = "ann@example.com")]
    email: Option<String>,
    /// At least the configured minimum (default 8), at most 128 characters, not a common one.
    #[schema(value_type = String, required = true, format = Password)]
    password: Option<String>,
    /// 3-32 letters, digits or `_`; unique.
    #[schema(value_type = String)]
    username: Option<String>,
    /// Sent by some JWT-auth tutorial clients; ignored: nobody picks their own role.
    #[schema(value_type = Vec<String>)]
    #[allow(dead_code)]
    roles: Option<serde_json::Value>,
}

const PASSWORD_REASONS: &[(&str, &str)] = &[
    ("required", "Password is required"),
    ("too_long", "Password must be at most 128 characters"),
    ("too_common", "Password is too common; choose another"),
];

pub(crate) fn password_message(reason: &str, min: usize) -> String {
    if reason == "too_short" {
        return format!("Password must be at least {min} characters");
    }
    PASSWORD_REASONS.iter().find(|(r, _)| *r == reason).map_or("Password is invalid", |(_, m)| m).to_string()
}

impl SignupRequest {
    fn parse(self, min_password: usize) -> ApiResult<Signup> {
        let mut errors = FieldErrors::new();
        let name = self.full_name.as_deref().filter(|n| !n.trim().is_empty()).or(self.username.as_deref());
        let full_name = FullName::parse(name.unwrap_or(""))
            .map_err(|r| errors.add("fullName", r, "Full name is required (at most 100 characters)"))
            .ok();
        let email = Email::parse(self.email.as_deref().unwrap_or(""))
            .map_err(|r| errors.add("email", r, "A valid email is required"))
            .ok();
        let username = match self.username.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            None => None,
            Some(raw) => Username::parse(raw)
                .map_err(|r| errors.add("username", r, "Username must be 3-32 letters, digits or _"))
                .ok(),
        };
        let password = Password::parse(self.password.as_deref().unwrap_or(""), min_password)
            .map_err(|r| errors.add("password", r, password_message(r, min_password)))
            .ok();
        match (full_name, email, password) {
            (Some(full_name), Some(email), Some(password)) if errors.is_empty() => {
                Ok(Signup { full_name, email, username, password: Some(password), user_type: UserType::Consumer })
            }
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// Creates an account and logs it in.
///
/// The first account of an empty instance is `admin`. Sets the `jwt` and `refreshToken`
/// cookies.
#[utoipa::path(
    post,
    path = "/api/auth/signup",
    tag = "auth",
    security(()),
    request_body = SignupRequest,
    responses(
        (status = 201, description = "The new user, and `message` for the JWT-auth tutorial's clients; the token cookies are set", body = SignupResponse),
        (status = 400, description = "Invalid fields (`validation_failed`, with `errors`) or malformed JSON", body = ErrorBody),
        (status = 409, description = "Email or username taken (`email_taken`, `username_taken`)", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = ErrorBody, headers(("retry-after" = u64))),
    )
)]
async fn signup(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<SignupRequest>,
) -> ApiResult<impl IntoResponse> {
    let input = body.parse(state.settings.password_min_length)?;
    let (user, tokens) = auth_service::signup(&state, input, &client).await?;
    let jar = cookies::with_tokens(jar, &state, &tokens);
    Ok((StatusCode::CREATED, jar, Json(SignupResponse { user: UserResponse::from(user), message: SIGNED_UP })))
}

const SIGNED_UP: &str = "User registered successfully!";

/// The user (what the chat tutorial's client reads) and a `message` (what the JWT-auth
/// tutorial's client shows).
#[derive(Serialize, ToSchema)]
struct SignupResponse {
    #[serde(flatten)]
    user: UserResponse,
    #[schema(example = "User registered successfully!")]
    message: &'static str,
}

/// One of `identifier`, `email` or `username` (tried in that order), and the password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(value_type = String, example = "ann@example.com")]
    email: Option<String>,
    #[schema(value_type = String)]
    username: Option<String>,
    /// An email or a username.
    #[schema(value_type = String)]
    identifier: Option<String>,
    #[schema(value_type = String, required = true, format = Password)]
    password: Option<String>,
}

/// The identifier (e-mail or username) and the password of a login body.
pub fn login_fields(body: LoginRequest) -> ApiResult<(String, Password)> {
    let identifier = [body.identifier, body.email, body.username]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty());
    let mut errors = FieldErrors::new();
    if identifier.is_none() {
        errors.add("email", "required", "Email or username is required");
    }
    let password = Password::for_login(body.password.as_deref().unwrap_or(""))
        .map_err(|r| errors.add("password", r, "Password is required"))
        .ok();
    match (identifier, password) {
        (Some(identifier), Some(password)) => Ok((identifier, password)),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// The user, with the tokens also set as cookies.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    #[serde(flatten)]
    user: UserResponse,
    /// The same as `_id` (the JWT-auth tutorial's clients read `id`).
    id: String,
    /// The role with the roles it includes, as the JWT-auth tutorial names them
    /// (`ROLE_USER`, `ROLE_MODERATOR`, `ROLE_ADMIN`).
    #[schema(example = json!(["ROLE_USER"]))]
    roles: &'static [&'static str],
    /// The access token (HS256 JWT), as in the `jwt` cookie.
    access_token: String,
    /// The opaque refresh token, as in the `refreshToken` cookie.
    refresh_token: String,
}

/// Logs in with an email or username and a password.
///
/// Unknown user and wrong password give the same 400 `invalid_credentials`. Sets the `jwt`
/// and `refreshToken` cookies.
#[utoipa::path(
    post,
    path = "/api/auth/login",
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "The user and the tokens; the token cookies are set", body = LoginResponse),
        (status = 400, description = "Missing fields (`validation_failed`), wrong credentials (`invalid_credentials`) or malformed JSON", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
        (status = 429, description = "Too many attempts; see `Retry-After`", body = ErrorBody, headers(("retry-after" = u64))),
    )
)]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    let (identifier, password) = login_fields(body)?;
    let (user, tokens) = auth_service::login(&state, &identifier, password, &client).await?;
    let jar = cookies::with_tokens(jar, &state, &tokens);
    let body = LoginResponse {
        id: user.id.clone(),
        roles: user.role().authorities(),
        user: UserResponse::from(user),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    };
    Ok((jar, Json(body)))
}

/// Logs out: clears the cookies and revokes the session's refresh token.
///
/// Works without a (valid) token too: there is nothing left to revoke then.
#[utoipa::path(
    post,
    path = "/api/auth/logout",
    tag = "auth",
    security((), ("jwtCookie" = []), ("bearerAuth" = []), ("accessTokenHeader" = [])),
    responses((status = 200, description = "Logged out; the token cookies are cleared", body = MessageBody))
)]
async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    parts: axum::http::request::Parts,
) -> ApiResult<impl IntoResponse> {
    let access = crate::auth::extract::access_token(&parts);
    let refresh = jar.get(REFRESH_COOKIE).map(|c| c.value().to_string());
    auth_service::logout(&state, access.as_deref(), refresh.as_deref()).await?;
    Ok((cookies::cleared(jar, &state), Json(MessageBody { message: "Logged out successfully" })))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    /// Without it, the `refreshToken` cookie is used.
    #[schema(value_type = String)]
    refresh_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RefreshResponse {
    access_token: String,
    refresh_token: String,
}

/// Exchanges a refresh token for new tokens (rotated).
///
/// The token comes from the body or the `refreshToken` cookie. Presenting an already rotated
/// token revokes its whole family. Sets the token cookies.
#[utoipa::path(
    post,
    path = "/api/auth/refresh",
    tag = "auth",
    security(()),
    request_body(content = Option<RefreshRequest>, description = "Optional: cookie clients send no body"),
    responses(
        (status = 200, description = "New tokens; the token cookies are set", body = RefreshResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No refresh token, or an invalid, expired, revoked or reused one", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
    )
)]
async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    let token = refresh_token_of(&body, &jar)?;
    let tokens = auth_service::refresh(&state, &token, &client).await?;
    let jar = cookies::with_tokens(jar, &state, &tokens);
    Ok((jar, Json(RefreshResponse { access_token: tokens.access_token, refresh_token: tokens.refresh_token })))
}

/// The refresh token of a refresh request: `{refreshToken}` in a JSON body, else the
/// `refreshToken` cookie. Empty is missing (401).
pub fn refresh_token_of(body: &[u8], jar: &CookieJar) -> ApiResult<String> {
    // The body is optional here (cookie clients send none), so it is parsed by hand.
    let parsed: RefreshRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RefreshRequest::default()
    } else {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(ErrorCode::MalformedJson, format!("Malformed JSON: {e}").into()))?
    };
    let from_body = parsed.refresh_token.filter(|t| !t.is_empty());
    from_body
        .or_else(|| jar.get(REFRESH_COOKIE).map(|c| c.value().to_string()))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("Refresh token is required".into()))
}

/// The authenticated user.
#[utoipa::path(
    get,
    path = "/api/auth/check",
    tag = "auth",
    responses(
        (status = 200, description = "The caller", body = UserResponse),
        (status = 401, description = "Not authenticated", body = ErrorBody),
    )
)]
async fn check(user: AuthUser) -> Json<UserResponse> {
    Json(UserResponse::from((*user.user).clone()))
}

/// At least one of the fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProfileRequest {
    /// An image as a base64 `data:` URL (stored, then given as a URL) or a URL.
    #[schema(value_type = String)]
    profile_pic: Option<String>,
    /// 1-100 characters.
    #[schema(value_type = String)]
    full_name: Option<String>,
}

/// Changes the caller's profile picture and/or full name.
#[utoipa::path(
    put,
    path = "/api/auth/update-profile",
    tag = "auth",
    request_body = UpdateProfileRequest,
    responses(
        (status = 200, description = "The updated user", body = UserResponse),
        (status = 400, description = "Nothing to change, invalid fields or image (`validation_failed`, `invalid_image`), or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 413, description = "Body or image over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn update_profile(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(body): ApiJson<UpdateProfileRequest>,
) -> ApiResult<Json<UserResponse>> {
    let mut errors = FieldErrors::new();
    if body.profile_pic.is_none() && body.full_name.is_none() {
        errors.add("profilePic", "required", "Profile pic is required");
    }
    let profile_pic = body
        .profile_pic
        .as_deref()
        .map(|raw| {
            ImageInput::parse(raw)
                .map_err(|r| errors.add("profilePic", r, "profilePic must be an image data URL or a URL"))
        })
        .transpose()
        .ok()
        .flatten();
    let full_name = body
        .full_name
        .as_deref()
        .map(|raw| {
            FullName::parse(raw)
                .map_err(|r| errors.add("fullName", r, "Full name is required (at most 100 characters)"))
        })
        .transpose()
        .ok()
        .flatten();
    errors.into_result()?;
    let change = ProfileChange { full_name, profile_pic, ..Default::default() };
    let target = caller.id;
    let user = user_service::update_profile(&state, &caller, &target, change).await?;
    Ok(Json(UserResponse::from(user)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    #[schema(value_type = String, required = true, format = Password)]
    old_password: Option<String>,
    /// Same rules as at signup.
    #[schema(value_type = String, required = true, format = Password)]
    new_password: Option<String>,
}

/// The current and the new password of a change-password body.
pub fn change_password_fields(body: ChangePasswordRequest, min: usize) -> ApiResult<(Password, Password)> {
    let mut errors = FieldErrors::new();
    let old = Password::for_login(body.old_password.as_deref().unwrap_or(""))
        .map_err(|r| errors.add("oldPassword", r, "Current password is required"))
        .ok();
    let new = Password::parse(body.new_password.as_deref().unwrap_or(""), min)
        .map_err(|r| errors.add("newPassword", r, password_message(r, min)))
        .ok();
    match (old, new) {
        (Some(old), Some(new)) => Ok((old, new)),
        _ => Err(ApiError::Validation(errors)),
    }
}

/// Changes the caller's password; the caller's other sessions are revoked.
#[utoipa::path(
    put,
    path = "/api/auth/change-password",
    tag = "auth",
    request_body = ChangePasswordRequest,
    responses(
        (status = 200, description = "Changed", body = MessageBody),
        (status = 400, description = "Invalid fields (`validation_failed`), wrong current password (`invalid_credentials`) or malformed JSON", body = ErrorBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 413, description = "Body over the limit", body = ErrorBody),
        (status = 415, description = "Body not `application/json`", body = ErrorBody),
    )
)]
async fn change_password(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<Json<MessageBody>> {
    let (old, new) = change_password_fields(body, state.settings.password_min_length)?;
    auth_service::change_password(&state, &caller, old, new).await?;
    Ok(Json(MessageBody { message: "Password updated successfully" }))
}

/// A login: one device or browser that signed in, with its rotating refresh token.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    /// The session id (`DELETE /api/auth/sessions/{id}` ends it).
    #[serde(rename = "_id")]
    id: String,
    /// Whether this request was made with it.
    current: bool,
    /// When it logged in.
    created_at: String,
    /// When it last got tokens (login or refresh): at most the access-token lifetime
    /// (default 15 minutes) before its latest request.
    last_used_at: String,
    /// When it ends unless refreshed before (idle timeout), or its absolute end if earlier.
    expires_at: String,
    user_agent: Option<String>,
    /// The client address it last refreshed from.
    ip: Option<String>,
}

impl From<SessionView> for SessionResponse {
    fn from(view: SessionView) -> Self {
        let row = view.row;
        Self {
            id: row.family_id,
            current: view.current,
            created_at: crate::views::rfc3339(row.started_at),
            last_used_at: crate::views::rfc3339(row.last_used_at),
            expires_at: crate::views::rfc3339(row.expires_at),
            user_agent: row.user_agent,
            ip: row.ip,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct SessionsQuery {
    /// Admins only: whose sessions (default: the caller's).
    user_id: Option<String>,
}

/// The caller's live sessions (logins), most recently used first.
///
/// An admin may pass `userId` to see another user's.
#[utoipa::path(
    get,
    path = "/api/auth/sessions",
    tag = "auth",
    params(SessionsQuery),
    responses(
        (status = 200, description = "The live sessions", body = Vec<SessionResponse>),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 403, description = "`userId` of another user, and the caller is not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
async fn list_sessions(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiQuery(query): ApiQuery<SessionsQuery>,
) -> ApiResult<Json<Vec<SessionResponse>>> {
    let user = query.user_id.as_deref().map(super::users::parse_user_id).transpose()?;
    let sessions = session_service::list(&state, &caller, user.as_ref()).await?;
    Ok(Json(sessions.into_iter().map(SessionResponse::from).collect()))
}

/// Ends one session: its refresh token stops working at once and its sockets are
/// disconnected (after a `sessionRevoked` event), on every node.
///
/// The caller's own sessions, or anyone's for an admin. Ending the current one also clears
/// the token cookies.
#[utoipa::path(
    delete,
    path = "/api/auth/sessions/{id}",
    tag = "auth",
    params(("id" = String, Path, description = "Session id")),
    responses(
        (status = 200, description = "Ended", body = MessageBody),
        (status = 401, description = "Not authenticated", body = ErrorBody),
        (status = 404, description = "No such live session of the caller's (or of anyone, for an admin)", body = ErrorBody),
    )
)]
async fn revoke_session(
    State(state): State<AppState>,
    caller: AuthUser,
    jar: CookieJar,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let was_current = session_service::revoke(&state, &caller, &id).await?;
    let jar = if was_current { cookies::cleared(jar, &state) } else { jar };
    Ok((jar, Json(MessageBody { message: "Session revoked" })))
}
