//! Integration tests: the real server on a random port, driven over HTTP and Socket.IO by
//! real clients. This binary runs every test on a temporary SQLite file; `api_postgres`
//! runs the same test bodies on PostgreSQL.

/// Where this test binary's apps store uploads.
pub const STORAGE: helpers::Storage = helpers::Storage::Local;

/// Which store this test binary runs on.
pub const BACKEND: helpers::Backend = helpers::Backend::Sqlite;

mod helpers;

mod auth;
mod authz;
mod browser_safety;
mod chat_api;
mod errors;
mod images;
mod jwt_auth;
mod limits;
mod live;
mod messages;
mod observability;
mod openapi;
mod realtime;
mod rooms;
mod seed;
mod sessions;
mod startup;
mod static_files;
mod tokens;
mod uploads;
mod users;
mod videotube;
