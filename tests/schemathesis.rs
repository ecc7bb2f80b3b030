//! The OpenAPI fuzzer: schemathesis (PyPI, pinned in `tests/schemathesis/run.sh`, installed
//! into `target/` on first use) runs against `/api/openapi.json` of a live natter with a
//! bounded number of examples per operation (20, fixed seed), as an admin and, for the
//! operations that end a session, as throwaway accounts. It fails on any 5xx and on any
//! response that does not conform to the spec: status code, content type, body schema.
//!
//! Needs python3 with venv (`.ci/run` installs it). Run alone with
//! `cargo test --test schemathesis -- --nocapture`; the reports are in
//! `target/schemathesis-reports/`.

mod common;

use std::process::Command;

use common::start_natter;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_answers_as_documented_under_fuzzing() {
    let (_dir, port) = start_natter(|_| {}).await;
    let url = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let account = serde_json::json!({"fullName": "Fuzz", "email": "fuzz@example.com", "password": "Fuzz-pass-123"});
    let signup = client.post(format!("{url}/api/auth/signup")).json(&account).send().await.unwrap();
    assert_eq!(signup.status(), 201, "the first account (the admin)");
    let login = client.post(format!("{url}/api/auth/login")).json(&account).send().await.unwrap();
    let body: serde_json::Value = login.json().await.unwrap();
    let token = body["accessToken"].as_str().expect("an access token").to_string();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schemathesis/run.sh");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(script)
            .env("NATTER_URL", &url)
            .env("NATTER_TOKEN", &token)
            .env("CARGO_TARGET_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/target"))
            // hypothesis keeps its example database in the working directory.
            .current_dir(env!("CARGO_TARGET_TMPDIR"))
            .output()
            .expect("bash runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stdout.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    println!("{stdout}");
    assert!(output.status.success(), "schemathesis found problems:\n{summary}\n--- stderr:\n{stderr}");
    assert!(stdout.contains("schemathesis: ") && stdout.contains(" 0 failed"), "no summary: {summary}");
}
