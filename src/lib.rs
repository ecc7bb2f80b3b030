//! natter: a chat and authentication backend that keeps the Node tutorials' contract.
//!
//! Data flows one way, edge → service → store:
//! - `http`: axum handlers and middleware (parse, authenticate, call one service, shape);
//! - `auth`: tokens, password hashing, the `AuthUser` extractor;
//! - `services`: the rules (who may do what, what is written);
//! - `db`: the store, the only module with SQL (SQLite or PostgreSQL);
//! - `domain`: validated newtypes, free of axum and sqlx;
//! - `realtime`: Socket.IO (socketioxide): handshake auth, presence, event fan-out;
//! - `views`: the JSON shapes shared by REST responses and Socket.IO events;
//! - `config`, `startup`, `telemetry`, `error`: settings, assembly, logs, the error shape.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod realtime;
pub mod services;
pub mod startup;
pub mod surfaces;
pub mod telemetry;
pub mod views;
