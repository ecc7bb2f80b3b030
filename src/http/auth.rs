//! `/api/auth`: signup, login, logout, refresh, check, profile, password.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};

use super::cookies;
use super::{MessageBody, UserResponse};
use crate::auth::extract::REFRESH_COOKIE;
use crate::auth::{AuthUser, ClientInfo};
use crate::domain::{Email, FullName, Password, Username};
use crate::error::{ApiError, ApiJson, ApiResult, ErrorCode, FieldErrors};
use crate::services::auth::{self as auth_service, RefreshMode, Signup};
use crate::services::media::ImageInput;
use crate::services::users::{self as user_service, ProfileChange};
use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/signup", post(signup))
        .route("/api/auth/login", post(login))
        .route("/api/auth/signin", post(login))
        .route("/api/auth/logout", post(logout))
        .route("/api/auth/refresh", post(refresh))
        .route("/api/auth/refreshtoken", post(refresh))
        .route("/api/auth/refresh-token", post(refresh))
        .route("/api/auth/check", get(check))
        .route("/api/auth/me", get(check))
        .route("/api/auth/update-profile", put(update_profile))
        .route("/api/auth/change-password", put(change_password))
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
];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignupRequest {
    full_name: Option<String>,
    email: Option<String>,
    password: Option<String>,
    username: Option<String>,
}

const PASSWORD_REASONS: &[(&str, &str)] = &[
    ("required", "Password is required"),
    ("too_long", "Password must be at most 128 characters"),
    ("too_common", "Password is too common; choose another"),
];

fn password_message(reason: &str, min: usize) -> String {
    if reason == "too_short" {
        return format!("Password must be at least {min} characters");
    }
    PASSWORD_REASONS.iter().find(|(r, _)| *r == reason).map_or("Password is invalid", |(_, m)| m).to_string()
}

impl SignupRequest {
    fn parse(self, min_password: usize) -> ApiResult<Signup> {
        let mut errors = FieldErrors::new();
        let full_name = FullName::parse(self.full_name.as_deref().unwrap_or(""))
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
                Ok(Signup { full_name, email, username, password })
            }
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

async fn signup(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<SignupRequest>,
) -> ApiResult<impl IntoResponse> {
    let input = body.parse(state.settings.password_min_length)?;
    let (user, tokens) = auth_service::signup(&state, input, &client).await?;
    let jar = cookies::with_tokens(jar, &state, &tokens);
    Ok((StatusCode::CREATED, jar, Json(UserResponse::from(user))))
}

#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    email: Option<String>,
    username: Option<String>,
    identifier: Option<String>,
    password: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LoginResponse {
    #[serde(flatten)]
    user: UserResponse,
    access_token: String,
    refresh_token: Option<String>,
}

async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
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
    let (Some(identifier), Some(password)) = (identifier, password) else {
        return Err(ApiError::Validation(errors));
    };
    let (user, tokens) = auth_service::login(&state, &identifier, password, &client).await?;
    let jar = cookies::with_tokens(jar, &state, &tokens);
    let body = LoginResponse {
        user: UserResponse::from(user),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    };
    Ok((jar, Json(body)))
}

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

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshRequest {
    refresh_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RefreshResponse {
    access_token: String,
    refresh_token: Option<String>,
}

async fn refresh(
    State(state): State<AppState>,
    client: ClientInfo,
    jar: CookieJar,
    body: axum::body::Bytes,
) -> ApiResult<impl IntoResponse> {
    // The body is optional here (cookie clients send none), so it is parsed by hand.
    let parsed: RefreshRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RefreshRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(ErrorCode::MalformedJson, format!("Malformed JSON: {e}").into()))?
    };
    let from_body = parsed.refresh_token.filter(|t| !t.is_empty());
    let token = from_body
        .or_else(|| jar.get(REFRESH_COOKIE).map(|c| c.value().to_string()))
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::Unauthorized("Refresh token is required".into()))?;
    let tokens = auth_service::refresh(&state, &token, &client, RefreshMode::Explicit).await?;
    let jar = cookies::with_tokens(jar, &state, &tokens);
    Ok((jar, Json(RefreshResponse { access_token: tokens.access_token, refresh_token: tokens.refresh_token })))
}

async fn check(user: AuthUser) -> Json<UserResponse> {
    Json(UserResponse::from(user.user))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProfileRequest {
    profile_pic: Option<String>,
    full_name: Option<String>,
}

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
    let change = ProfileChange { full_name, username: None, profile_pic };
    let target = caller.id;
    let user = user_service::update_profile(&state, &caller, &target, change).await?;
    Ok(Json(UserResponse::from(user)))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePasswordRequest {
    old_password: Option<String>,
    new_password: Option<String>,
}

async fn change_password(
    State(state): State<AppState>,
    caller: AuthUser,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> ApiResult<Json<MessageBody>> {
    let mut errors = FieldErrors::new();
    let min = state.settings.password_min_length;
    let old = Password::for_login(body.old_password.as_deref().unwrap_or(""))
        .map_err(|r| errors.add("oldPassword", r, "Current password is required"))
        .ok();
    let new = Password::parse(body.new_password.as_deref().unwrap_or(""), min)
        .map_err(|r| errors.add("newPassword", r, password_message(r, min)))
        .ok();
    let (Some(old), Some(new)) = (old, new) else {
        return Err(ApiError::Validation(errors));
    };
    auth_service::change_password(&state, &caller, old, new).await?;
    Ok(Json(MessageBody { message: "Password updated successfully" }))
}
