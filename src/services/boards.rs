//! The JWT-auth tutorial's role boards (`/api/test/*`): which role may read which board.

use crate::auth::AuthUser;
use crate::domain::Role;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Board {
    Public,
    User,
    Moderator,
    Admin,
}

/// The board's text for `caller`: public for anyone, `User` for any account, `Moderator`
/// for moderators and admins, `Admin` for admins.
pub fn content(board: Board, caller: Option<&AuthUser>) -> ApiResult<&'static str> {
    let role = caller.map(AuthUser::role);
    match board {
        Board::Public => Ok("Public Content."),
        _ if role.is_none() => Err(ApiError::Unauthorized("Unauthorized!".into())),
        Board::User => Ok("User Content."),
        Board::Moderator if role.is_some_and(|r| r.is_staff()) => Ok("Moderator Content."),
        Board::Moderator => Err(ApiError::Forbidden("Require Moderator Role!".into())),
        Board::Admin if role == Some(Role::Admin) => Ok("Admin Content."),
        Board::Admin => Err(ApiError::Forbidden("Require Admin Role!".into())),
    }
}
