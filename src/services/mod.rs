//! Services: the rules. Handlers call one service function; services read and write the
//! store (and, once realtime lands, publish after the write commits).

pub mod auth;
pub mod boards;
pub mod channels;
pub mod chat;
pub mod community;
pub mod images;
pub mod media;
pub mod page_cache;
pub mod playlists;
pub mod rate_limit;
pub mod room_cache;
pub mod rooms;
pub mod seed;
pub mod sessions;
pub mod users;
pub mod videos;
