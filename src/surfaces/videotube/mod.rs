//! The video-platform tutorial ("videotube": Express + Mongoose + multer), under `/api/v1`:
//! its `{statusCode, data, message, success}` envelope (errors too, as JSON), its cookies
//! (`accessToken`, `refreshToken`) or `Authorization: Bearer`, its user documents. The
//! accounts are natter's: a user registered here signs in to the chat and the other way
//! round: `/healthcheck`; `/users` (`accounts.rs`); channels and `/subscriptions`
//! (`subscriptions.rs`); `/videos` and the watch history (`videos.rs`); `/comments`,
//! `/tweets`, `/likes` (`community.rs`); `/playlist` and `/dashboard` (`playlists.rs`).

mod accounts;
mod community;
mod envelope;
mod playlists;
mod subscriptions;
mod videos;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::routes;

use self::envelope::Answer;
pub use self::envelope::VideotubeError;
use crate::auth::AuthUser;
use crate::auth::extract::access_token;
use crate::db::users::UserRow;
use crate::error::ApiError;
use crate::http::openapi::ApiRoutes;
use crate::services::auth as auth_service;
use crate::startup::AppState;
use crate::views::rfc3339;

const TAG: &str = "video-platform tutorial";

/// Whether a path is this surface's (its error envelope applies).
pub fn owns(path: &str) -> bool {
    path.starts_with("/api/v1/")
}

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(videotube_healthcheck))
        .merge(accounts::routes())
        .merge(subscriptions::routes())
        .merge(videos::routes())
        .merge(community::routes())
        .merge(playlists::routes())
        .map_operations(envelope::document_success_envelope)
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

/// An id from a path, or a 400 naming the parameter: the ids natter makes (UUIDs) are the
/// only ones that can name anything.
fn path_id<T>(raw: &str, field: &str, parse: fn(&str) -> Option<T>) -> Result<T, ApiError> {
    parse(raw)
        .ok_or_else(|| crate::error::FieldErrors::single(field, "invalid", format!("`{field}` is not a valid id")))
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
    /// Ids of watched videos, newest first (filled by `current-user`; `[]` elsewhere, where
    /// `GET /users/history` has them with their owners).
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
            cover_image: row.cover_image,
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
