//! `/api/v1/users`: accounts and sessions (the chat's accounts).

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::envelope::{Answer, ErrorEnvelope, VideotubeResult, VtJson, raw_body};
use super::{TAG, UserDoc, Viewer};
use crate::auth::extract::{REFRESH_COOKIE, VIDEOTUBE_ACCESS_COOKIE, access_token};
use crate::auth::{AuthUser, ClientInfo};
use crate::domain::{Email, FullName, Password, UserType, Username};
use crate::error::{ApiError, FieldErrors};
use crate::http::auth::{
    ChangePasswordRequest, LoginRequest, RefreshRequest, change_password_fields, login_fields, refresh_token_of,
};
use crate::http::cookies;
use crate::http::openapi::ApiRoutes;
use crate::http::uploads;
use crate::services::auth as auth_service;
use crate::services::auth::Signup;
use crate::services::media::{self, Accept, ImageInput, StoredMedia, Visibility};
use crate::services::users::{self, ProfileChange};
use crate::startup::AppState;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(videotube_login))
        .routes(routes!(videotube_logout))
        .routes(routes!(videotube_refresh_token))
        .routes(routes!(videotube_current_user))
        .routes(routes!(videotube_change_password))
        .routes(routes!(videotube_register))
        .routes(routes!(videotube_update_account))
        .routes(routes!(videotube_avatar))
        .routes(routes!(videotube_cover_image))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LoggedIn {
    user: UserDoc,
    access_token: String,
    refresh_token: String,
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
    refresh_token: String,
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
    let tokens = auth_service::refresh(&state, &token, &client).await?;
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
async fn videotube_current_user(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
) -> VideotubeResult<impl IntoResponse> {
    let watched = crate::services::videos::history(&state, &caller).await?;
    let mut user = UserDoc::from(std::sync::Arc::unwrap_or_clone(caller.user));
    user.watch_history = watched.into_iter().map(|(video, _)| video.id).collect();
    Ok(Answer(StatusCode::OK, user, "User fetched successfully"))
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

/// The multipart form of `register`, as multer receives it.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // only read by the schema derive
struct RegisterForm {
    full_name: String,
    email: String,
    /// 3–32 of `[a-zA-Z0-9_]`, stored lower-case.
    username: String,
    #[schema(format = Password)]
    password: String,
    /// Required: an image (PNG, JPEG, GIF, WebP), sniffed from its bytes.
    #[schema(value_type = String, content_media_type = "application/octet-stream")]
    avatar: (),
    /// Optional: an image.
    #[schema(value_type = Option<String>, content_media_type = "application/octet-stream")]
    cover_image: (),
}

/// A text field of a multipart form (at most 4 KiB).
async fn text_field(field: multer::Field<'static>, name: &str) -> Result<String, ApiError> {
    let text = field.text().await.map_err(|e| uploads::multipart_error(e).for_field(name))?;
    if text.len() > 4096 {
        return Err(FieldErrors::single(name, "too_long", format!("`{name}` is too long")));
    }
    Ok(text)
}

/// Stores one image field of a form, publicly (avatars and covers are shown to everyone).
async fn image_field(
    state: &AppState,
    owner: Option<&crate::domain::UserId>,
    field: multer::Field<'static>,
    name: &str,
) -> Result<StoredMedia, ApiError> {
    media::store_stream(state, owner, Accept::Images, Visibility::Public, uploads::field_stream(field))
        .await
        .map_err(|e| e.for_field(name))
}

/// The fields of a registration form, files stored as they arrive.
#[derive(Default)]
struct Registration {
    text: std::collections::HashMap<&'static str, String>,
    avatar: Option<StoredMedia>,
    cover: Option<StoredMedia>,
}

impl Registration {
    async fn read(&mut self, state: &AppState, form: &mut multer::Multipart<'static>) -> Result<(), ApiError> {
        while let Some(field) = form.next_field().await.map_err(|e| uploads::multipart_error(e).for_field("form"))? {
            match field.name() {
                Some("avatar") if self.avatar.is_none() => {
                    self.avatar = Some(image_field(state, None, field, "avatar").await?);
                }
                Some("coverImage") if self.cover.is_none() => {
                    self.cover = Some(image_field(state, None, field, "coverImage").await?);
                }
                Some(name) => {
                    if let Some(key) = ["fullName", "email", "username", "password"].into_iter().find(|k| *k == name) {
                        let value = text_field(field, key).await?;
                        self.text.insert(key, value);
                    }
                }
                None => {}
            }
        }
        Ok(())
    }

    fn signup(&self, min_password: usize) -> Result<Signup, ApiError> {
        let get = |k: &str| self.text.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut errors = FieldErrors::new();
        for key in ["fullName", "email", "username", "password"] {
            if get(key).is_none() {
                errors.add(key, "required", format!("`{key}` is required"));
            }
        }
        if self.avatar.is_none() {
            errors.add("avatar", "required", "Avatar file is required");
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
        let full_name = FullName::parse(get("fullName").unwrap_or_default())
            .map_err(|r| errors.add("fullName", r, "fullName must be 1-100 characters"))
            .ok();
        let email = Email::parse(get("email").unwrap_or_default())
            .map_err(|r| errors.add("email", r, "email must be a valid e-mail address"))
            .ok();
        let username = Username::parse(get("username").unwrap_or_default())
            .map_err(|r| errors.add("username", r, "username must be 3-32 letters, digits or _"))
            .ok();
        let password = Password::parse(self.text.get("password").map_or("", String::as_str), min_password)
            .map_err(|r| errors.add("password", r, crate::http::auth::password_message(r, min_password)))
            .ok();
        match (full_name, email, username, password) {
            (Some(full_name), Some(email), Some(username), Some(password)) if errors.is_empty() => Ok(Signup {
                full_name,
                email,
                username: Some(username),
                password: Some(password),
                user_type: UserType::Consumer,
            }),
            _ => Err(ApiError::Validation(errors)),
        }
    }
}

/// Registers an account from a multipart form (`fullName`, `email`, `username`, `password`,
/// file `avatar`, optional file `coverImage`), files streamed to storage. It signs in to the
/// chat too. Does not start a session (log in next).
#[utoipa::path(
    post,
    path = "/api/v1/users/register",
    tag = TAG,
    security(()),
    request_body(content = RegisterForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "`data`: the user", body = UserDoc),
        (status = 400, description = "A missing or invalid field, no `avatar`, a file that is not an image", body = ErrorEnvelope),
        (status = 409, description = "The e-mail or the username exists (no file is kept)", body = ErrorEnvelope),
        (status = 413, description = "An image over `MAX_IMAGE_BYTES`", body = ErrorEnvelope),
        (status = 415, description = "Not multipart/form-data", body = ErrorEnvelope),
        (status = 429, description = "Too many sign-ups from this address; see `Retry-After`", body = ErrorEnvelope),
        (status = 503, description = "File storage is unavailable", body = ErrorEnvelope),
    )
)]
async fn videotube_register(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    body: Body,
) -> VideotubeResult<impl IntoResponse> {
    auth_service::admit_signup(&state, &client)?;
    let mut form = uploads::multipart(&headers, body, state.media.max_image_bytes() as u64)?;
    let mut registration = Registration::default();
    let read = registration.read(&state, &mut form).await;
    let signup = read.and_then(|()| registration.signup(state.settings.password_min_length));
    let signup = match signup {
        Ok(signup) => signup,
        Err(e) => {
            let stored: Vec<&StoredMedia> = registration.avatar.iter().chain(registration.cover.iter()).collect();
            media::discard(&state, &stored).await;
            return Err(e.into());
        }
    };
    let avatar = registration.avatar.as_ref().expect("checked by signup()");
    let user = auth_service::register_with_images(&state, signup, avatar, registration.cover.as_ref()).await?;
    Ok(Answer(StatusCode::CREATED, UserDoc::from(user), "User registered Successfully"))
}

/// `{fullName, email}`, both required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UpdateAccountRequest {
    #[schema(value_type = String, required = true)]
    full_name: Option<String>,
    #[schema(value_type = String, required = true)]
    email: Option<String>,
}

/// Changes the caller's name and e-mail.
#[utoipa::path(
    patch,
    path = "/api/v1/users/update-account",
    tag = TAG,
    security(("bearerAuth" = [])),
    request_body = UpdateAccountRequest,
    responses(
        (status = 200, description = "`data`: the user", body = UserDoc),
        (status = 400, description = "Missing or invalid fields, malformed JSON", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 409, description = "The e-mail belongs to another account", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body not `application/json`", body = ErrorEnvelope),
    )
)]
async fn videotube_update_account(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    VtJson(body): VtJson<UpdateAccountRequest>,
) -> VideotubeResult<impl IntoResponse> {
    let mut errors = FieldErrors::new();
    let full_name = FullName::parse(body.full_name.as_deref().unwrap_or(""))
        .map_err(|r| errors.add("fullName", r, "fullName is required (1-100 characters)"))
        .ok();
    let email = Email::parse(body.email.as_deref().unwrap_or(""))
        .map_err(|r| errors.add("email", r, "email must be a valid e-mail address"))
        .ok();
    errors.into_result()?;
    let change = ProfileChange { full_name, email, ..Default::default() };
    let user = users::update_profile(&state, &caller, &caller.id, change).await?;
    Ok(Answer(StatusCode::OK, UserDoc::from(user), "Account details updated successfully"))
}

/// The one image field of an avatar or cover form, stored as the caller's.
async fn single_image(
    state: &AppState,
    caller: &AuthUser,
    headers: &HeaderMap,
    body: Body,
    name: &str,
) -> Result<StoredMedia, ApiError> {
    let mut form = uploads::multipart(headers, body, state.media.max_image_bytes() as u64)?;
    while let Some(field) = form.next_field().await.map_err(|e| uploads::multipart_error(e).for_field(name))? {
        if field.name() == Some(name) {
            return image_field(state, Some(&caller.id), field, name).await;
        }
    }
    Err(FieldErrors::single(name, "required", format!("`{name}` file is missing")))
}

/// Replaces the caller's avatar (multipart field `avatar`, an image): also the chat's
/// `profilePic`.
#[utoipa::path(
    patch,
    path = "/api/v1/users/avatar",
    tag = TAG,
    security(("bearerAuth" = [])),
    request_body(content = String, content_type = "multipart/form-data", description = "Field `avatar`: an image"),
    responses(
        (status = 200, description = "`data`: the user", body = UserDoc),
        (status = 400, description = "No `avatar` field, or not an image", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 413, description = "Over `MAX_IMAGE_BYTES`", body = ErrorEnvelope),
        (status = 415, description = "Not multipart/form-data", body = ErrorEnvelope),
        (status = 503, description = "File storage is unavailable", body = ErrorEnvelope),
    )
)]
async fn videotube_avatar(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    headers: HeaderMap,
    body: Body,
) -> VideotubeResult<impl IntoResponse> {
    let stored = single_image(&state, &caller, &headers, body, "avatar").await?;
    let change = ProfileChange { profile_pic: Some(ImageInput::Url(&stored.url)), ..Default::default() };
    let user = users::update_profile(&state, &caller, &caller.id, change).await?;
    Ok(Answer(StatusCode::OK, UserDoc::from(user), "Avatar image updated successfully"))
}

/// Replaces the caller's channel cover (multipart field `coverImage`, an image).
#[utoipa::path(
    patch,
    path = "/api/v1/users/cover-image",
    tag = TAG,
    security(("bearerAuth" = [])),
    request_body(content = String, content_type = "multipart/form-data", description = "Field `coverImage`: an image"),
    responses(
        (status = 200, description = "`data`: the user", body = UserDoc),
        (status = 400, description = "No `coverImage` field, or not an image", body = ErrorEnvelope),
        (status = 401, description = "No valid token", body = ErrorEnvelope),
        (status = 413, description = "Over `MAX_IMAGE_BYTES`", body = ErrorEnvelope),
        (status = 415, description = "Not multipart/form-data", body = ErrorEnvelope),
        (status = 503, description = "File storage is unavailable", body = ErrorEnvelope),
    )
)]
async fn videotube_cover_image(
    State(state): State<AppState>,
    Viewer(caller): Viewer,
    headers: HeaderMap,
    body: Body,
) -> VideotubeResult<impl IntoResponse> {
    let stored = single_image(&state, &caller, &headers, body, "coverImage").await?;
    let change = ProfileChange { cover_image: Some(&stored.url), ..Default::default() };
    let user = users::update_profile(&state, &caller, &caller.id, change).await?;
    Ok(Answer(StatusCode::OK, UserDoc::from(user), "Cover image updated successfully"))
}
