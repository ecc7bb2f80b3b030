//! The JWT-auth tutorial (Node + Express + Sequelize, React/Vue/Angular clients): its role
//! boards `/api/test/{all,user,mod,admin}`, plain-text bodies, and its `{message}` errors.
//! Its signup, signin and refreshtoken are the native `/api/auth` routes, which answer in a
//! shape its clients read (`message`; `id`, `username`, `roles`, `accessToken`).

mod envelope;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use utoipa_axum::routes;

use self::envelope::{JwtAuthError, Message};
use crate::auth::AuthUser;
use crate::auth::extract::access_token;
use crate::error::ApiError;
use crate::http::openapi::ApiRoutes;
use crate::services::boards::{self, Board};
use crate::startup::AppState;

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(public_board))
        .routes(routes!(user_board))
        .routes(routes!(moderator_board))
        .routes(routes!(admin_board))
}

/// The caller of a board: as the tutorial's `verifyToken`, no token at all is a 403 and a
/// bad or expired one a 401.
struct BoardCaller(AuthUser);

impl FromRequestParts<AppState> for BoardCaller {
    type Rejection = JwtAuthError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(token) = access_token(parts) else {
            return Err(ApiError::Forbidden("No token provided!".into()).into());
        };
        match crate::services::auth::authenticate(state, &token).await {
            Ok(user) => Ok(Self(user)),
            Err(ApiError::Unauthorized(_)) => Err(ApiError::Unauthorized("Unauthorized!".into()).into()),
            Err(other) => Err(other.into()),
        }
    }
}

fn board(board: Board, caller: Option<&AuthUser>) -> Result<&'static str, JwtAuthError> {
    Ok(boards::content(board, caller)?)
}

/// Public board: anyone.
#[utoipa::path(
    get,
    path = "/api/test/all",
    tag = "jwt-auth tutorial",
    security(()),
    responses((status = 200, description = "`Public Content.`", body = String, content_type = "text/plain"))
)]
async fn public_board() -> Result<&'static str, JwtAuthError> {
    board(Board::Public, None)
}

/// User board: any signed-in account.
#[utoipa::path(
    get,
    path = "/api/test/user",
    tag = "jwt-auth tutorial",
    security(("accessTokenHeader" = []), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "`User Content.`", body = String, content_type = "text/plain"),
        (status = 401, description = "A bad or expired token: `Unauthorized!`", body = Message),
        (status = 403, description = "No token: `No token provided!`", body = Message),
    )
)]
async fn user_board(BoardCaller(caller): BoardCaller) -> Result<&'static str, JwtAuthError> {
    board(Board::User, Some(&caller))
}

/// Moderator board: moderators and admins.
#[utoipa::path(
    get,
    path = "/api/test/mod",
    tag = "jwt-auth tutorial",
    security(("accessTokenHeader" = []), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "`Moderator Content.`", body = String, content_type = "text/plain"),
        (status = 401, description = "A bad or expired token: `Unauthorized!`", body = Message),
        (status = 403, description = "No token, or not a moderator: `Require Moderator Role!`", body = Message),
    )
)]
async fn moderator_board(BoardCaller(caller): BoardCaller) -> Result<&'static str, JwtAuthError> {
    board(Board::Moderator, Some(&caller))
}

/// Admin board: admins.
#[utoipa::path(
    get,
    path = "/api/test/admin",
    tag = "jwt-auth tutorial",
    security(("accessTokenHeader" = []), ("bearerAuth" = [])),
    responses(
        (status = 200, description = "`Admin Content.`", body = String, content_type = "text/plain"),
        (status = 401, description = "A bad or expired token: `Unauthorized!`", body = Message),
        (status = 403, description = "No token, or not an admin: `Require Admin Role!`", body = Message),
    )
)]
async fn admin_board(BoardCaller(caller): BoardCaller) -> Result<&'static str, JwtAuthError> {
    board(Board::Admin, Some(&caller))
}
