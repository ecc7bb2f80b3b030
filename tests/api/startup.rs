use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::*;

/// Runs the real binary with no configuration but a `.env` in its working directory
/// (PORT=0 so parallel runs never collide): it must create ./data/natter.db, log its URL
/// in one line, and serve.
#[tokio::test]
async fn the_binary_starts_with_zero_setup_and_reads_dot_env() {
    let cwd = tempfile::tempdir().unwrap();
    std::fs::write(cwd.path().join(".env"), "PORT=0\nLOG_FORMAT=json\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_natter"))
        .current_dir(cwd.path())
        .env_remove("DATABASE_URL")
        .env_remove("JWT_SECRET")
        .env_remove("PORT")
        .env_remove("DATA_DIR")
        .env_remove("NATTER_ENV")
        .env_remove("RUST_LOG")
        .env_remove("LOG_LEVEL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    // Logs go to stderr (stdout is for command output).
    let stderr = child.stderr.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr).lines();
        while let Some(Ok(line)) = lines.next() {
            let entry: serde_json::Value =
                serde_json::from_str(&line).expect("LOG_FORMAT=json from .env gives JSON lines");
            let message = entry["fields"]["message"].as_str().unwrap_or_default().to_string();
            if let Some(url) = message.strip_prefix("natter listening on ") {
                return Some(url.to_string());
            }
        }
        None
    });
    let url = tokio::time::timeout(Duration::from_secs(60), url).await.expect("starts within a minute").unwrap();
    let url = url.expect("a line with the URL");
    let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let ready = reqwest::get(format!("{url}/readyz")).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    assert!(cwd.path().join("data/natter.db").exists());
    assert!(cwd.path().join("data/jwt_secret").exists(), "a generated secret is kept for restarts");
    child.kill().unwrap();
    let _ = child.wait();
}

#[tokio::test]
async fn production_mode_refuses_to_start_without_a_secret() {
    let cwd = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_natter"))
        .current_dir(cwd.path())
        .env("NATTER_ENV", "production")
        .env("PORT", "0")
        .env_remove("JWT_SECRET")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("JWT_SECRET"));
    let output = Command::new(env!("CARGO_BIN_EXE_natter"))
        .current_dir(cwd.path())
        .env("NATTER_ENV", "production")
        .env("PORT", "0")
        .env("JWT_SECRET", "x".repeat(40))
        .env("COOKIE_SECURE", "false")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("COOKIE_SECURE"));
}

#[tokio::test]
async fn the_store_is_ready_with_its_settings_applied() {
    let app = spawn_app().await;
    if let natter::db::Db::Sqlite(store) = &app.state.db {
        // The journal mode is kept in the file (each connection's own settings are checked
        // by the unit tests of `db::sql`).
        use sqlx::ConnectOptions;
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(store.path()).connect().await.unwrap();
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
        assert_eq!(mode, "wal");
    }
    if let natter::db::Db::Postgres(pg) = &app.state.db {
        // DATABASE_STATEMENT_TIMEOUT (30 s in tests) reaches every connection.
        let timeout: String = sqlx::query_scalar("SHOW statement_timeout").fetch_one(&pg.pool).await.unwrap();
        assert_eq!(timeout, "30s");
    }
    let (status, body) = app.get(&reqwest::Client::new(), "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["backend"], app.state.db.backend_name());
    assert_eq!(body["store"], "ok");
    assert_eq!(body["bus"], "local", "a single node has no bus to reach");
}
