//! The integration suite of `tests/api` (the same test bodies), on PostgreSQL: every test
//! gets a fresh database on the server at `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`, as on the development and CI machines),
//! dropped when the test ends.

/// Where this test binary's apps store uploads.
pub const STORAGE: helpers::Storage = helpers::Storage::Local;

/// Which store this test binary runs on.
pub const BACKEND: helpers::Backend = helpers::Backend::Postgres;

#[path = "api/auth.rs"]
mod auth;
#[path = "api/authz.rs"]
mod authz;
#[path = "api/chat_api.rs"]
mod chat_api;
#[path = "api/errors.rs"]
mod errors;
#[path = "api/helpers.rs"]
mod helpers;
#[path = "api/images.rs"]
mod images;
#[path = "api/jwt_auth.rs"]
mod jwt_auth;
#[path = "api/live.rs"]
mod live;
#[path = "api/messages.rs"]
mod messages;
#[path = "api/observability.rs"]
mod observability;
#[path = "api/openapi.rs"]
mod openapi;
#[path = "api/realtime.rs"]
mod realtime;
#[path = "api/rooms.rs"]
mod rooms;
#[path = "api/seed.rs"]
mod seed;
#[path = "api/sessions.rs"]
mod sessions;
#[path = "api/startup.rs"]
mod startup;
#[path = "api/static_files.rs"]
mod static_files;
#[path = "api/tokens.rs"]
mod tokens;
#[path = "api/uploads.rs"]
mod uploads;
#[path = "api/users.rs"]
mod users;
#[path = "api/videotube.rs"]
mod videotube;
