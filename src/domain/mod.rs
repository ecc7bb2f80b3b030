//! Domain newtypes: parsed once at the edge, trusted afterwards. No axum, no sqlx here.

mod ids;
mod text;

pub use ids::{MediaId, MessageId, PostId, RoomId, SessionId, UserId, VideoId, now_ms};
pub use text::{Email, FullName, MessageText, Password, Role, UserType, Username};
