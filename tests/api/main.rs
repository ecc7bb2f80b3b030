//! Integration tests: the real server on a random port with its own temporary SQLite file,
//! driven over HTTP by a real client with a cookie jar. One test binary.

mod helpers;

mod auth;
mod errors;
mod images;
mod live;
mod messages;
mod realtime;
mod rooms;
mod seed;
mod startup;
mod static_files;
mod tokens;
mod users;
