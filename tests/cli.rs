//! The `natter` binary as an operator uses it: subcommands, settings precedence, password
//! input, and one-line errors. Each test runs the real binary in its own temporary
//! directory (its own SQLite file and `.env`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

const SECRET: &str = "cli-test-secret-cli-test-secret-0123456789";

fn natter(dir: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_natter"));
    cmd.args(args).current_dir(dir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // The developer's own settings must not leak into the test.
    for (key, _) in std::env::vars() {
        let ours =
            ["NATTER_ENV", "DATABASE_URL", "REDIS_URL", "JWT_SECRET", "PORT", "DATA_DIR", "LOG_LEVEL", "RUST_LOG"];
        if ours.contains(&key.as_str()) {
            cmd.env_remove(key);
        }
    }
    cmd.env("JWT_SECRET", SECRET).env("LOG_LEVEL", "warn").env("RUST_BACKTRACE", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn natter");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().expect("wait for natter")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A failure is exactly one `error: …` line (clap's usage errors add a usage hint), never a
/// panic or a backtrace.
fn assert_one_line_error(out: &Output, expected: &str) {
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "expected a failure, got success; stderr: {stderr}");
    assert!(!stderr.contains("panicked") && !stderr.contains("stack backtrace"), "{stderr}");
    let first = stderr.lines().next().unwrap_or("");
    assert!(first.starts_with("error: "), "first stderr line is not an error line: {stderr}");
    assert!(first.contains(expected), "{first:?} does not mention {expected:?}");
}

#[test]
fn user_create_set_role_and_list_work_and_the_password_never_appears_in_output() {
    let dir = tempfile::tempdir().unwrap();
    let password = "correct-horse-battery-9";
    let out = natter(
        dir.path(),
        &["user", "create", "--email", "Ops@Example.com", "--name", "Olga Ops", "--admin"],
        &format!("{password}\n"),
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("with role admin"), "{}", text(&out.stdout));
    // A second account is a plain user unless --admin; the password may be piped without a newline.
    let out = natter(dir.path(), &["user", "create", "--email", "bo@example.com", "--name", "Bo"], password, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("with role user"));

    let out = natter(dir.path(), &["user", "set-role", "bo@example.com", "moderator"], "", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = natter(dir.path(), &["user", "list", "--json"], "", &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let users: Vec<serde_json::Value> =
        text(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("one JSON user per line")).collect();
    let roles: Vec<(&str, &str)> =
        users.iter().map(|u| (u["email"].as_str().unwrap(), u["role"].as_str().unwrap())).collect();
    assert_eq!(roles, [("ops@example.com", "admin"), ("bo@example.com", "moderator")]);
    for u in &users {
        assert!(u.get("password").is_none() && u.get("passwordHash").is_none(), "{u}");
    }
    let table = natter(dir.path(), &["user", "list", "--search", "olga"], "", &[]);
    let table = text(&table.stdout);
    assert!(table.contains("ops@example.com") && !table.contains("bo@example.com"), "{table}");

    let out = natter(dir.path(), &["user", "create", "--email", "bo@example.com", "--name", "Bo"], password, &[]);
    assert_one_line_error(&out, "Email already exists");
    assert!(!text(&out.stdout).contains(password) && !text(&out.stderr).contains(password));
}

#[test]
fn created_account_logs_in_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let out = natter(
        dir.path(),
        &["user", "create", "--email", "cli@example.com", "--name", "Cli"],
        "pass-from-cli-1\n",
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut settings = natter::config::Settings::for_tests();
        settings.data_dir = dir.path().join("data");
        settings.jwt_secret = Some(SECRET.into());
        let app = natter::startup::App::build(settings).await.unwrap();
        let url = format!("{}/api/auth/login", app.url());
        tokio::spawn(app.run_until(std::future::pending()));
        let response = reqwest::Client::new()
            .post(url)
            .json(&serde_json::json!({"email": "cli@example.com", "password": "pass-from-cli-1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["role"], "admin", "the first account of an empty instance is an admin");
    });
}

#[test]
fn bad_input_is_one_clear_line_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_one_line_error(
        &natter(d, &["user", "create", "--email", "x@example.com", "--name", "X"], "short\n", &[]),
        "shorter than 8",
    );
    assert_one_line_error(
        &natter(d, &["user", "create", "--email", "not-an-email", "--name", "X"], "long-enough-1\n", &[]),
        "--email",
    );
    assert_one_line_error(&natter(d, &["user", "set-role", "nobody@example.com", "admin"], "", &[]), "User not found");
    let bad_role = natter(d, &["user", "set-role", "nobody@example.com", "root"], "", &[]);
    assert_eq!(bad_role.status.code(), Some(2), "usage errors exit 2");
    assert_one_line_error(&bad_role, "root");
    assert_one_line_error(&natter(d, &["serve"], "", &[("PORT", "abc")]), "--port");
    assert_one_line_error(
        &natter(d, &["serve"], "", &[("JWT_SECRET", "short")]),
        "JWT_SECRET must be at least 32 bytes",
    );
    assert_one_line_error(&natter(d, &["--no-such-flag"], "", &[]), "--no-such-flag");
    assert_one_line_error(&natter(d, &["migrate"], "", &[("DATABASE_URL", "mysql://localhost/x")]), "DATABASE_URL");
    // Nothing was created by the failed attempts.
    let out = natter(d, &["user", "list", "--json"], "", &[]);
    assert_eq!(text(&out.stdout).lines().count(), 0, "{}", text(&out.stdout));
}

#[test]
fn settings_come_from_flags_over_environment_over_dotenv_and_secrets_are_redacted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "PORT=4100\nLOG_FORMAT=json\nBODY_LIMIT=2MiB\nREDIS_URL=redis://:hunter2@cache:6379\n",
    )
    .unwrap();
    let out = natter(dir.path(), &["config", "--port", "4300"], "", &[("LOG_FORMAT", "text")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = text(&out.stdout);
    let line = |name: &str| {
        config.lines().find(|l| l.starts_with(&format!("{name}="))).unwrap_or_else(|| panic!("no {name} in {config}"))
    };
    assert_eq!(line("PORT"), "PORT=4300  # flag");
    assert_eq!(line("LOG_FORMAT"), "LOG_FORMAT=text  # environment");
    assert_eq!(line("BODY_LIMIT"), "BODY_LIMIT=2MiB  # .env");
    assert_eq!(line("SHUTDOWN_GRACE"), "SHUTDOWN_GRACE=10s  # default");
    assert_eq!(line("JWT_SECRET"), "JWT_SECRET=<redacted>  # environment");
    assert_eq!(line("REDIS_URL"), "REDIS_URL=redis://:<redacted>@cache:6379  # .env");
    assert!(!config.contains(SECRET) && !config.contains("hunter2"), "{config}");
}

#[test]
fn migrate_reports_the_schema_version_and_every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let first = natter(dir.path(), &["migrate"], "", &[]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(text(&first.stdout).starts_with("migrated from schema version none to "), "{}", text(&first.stdout));
    let again = natter(dir.path(), &["migrate"], "", &[]);
    assert!(text(&again.stdout).starts_with("database is up to date"), "{}", text(&again.stdout));
    for command in [
        &[][..],
        &["serve"],
        &["migrate"],
        &["seed"],
        &["user"],
        &["user", "create"],
        &["user", "set-role"],
        &["user", "list"],
        &["config"],
    ] {
        let mut args = command.to_vec();
        args.push("--help");
        let out = natter(dir.path(), &args, "", &[]);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Usage: natter"), "{args:?}");
    }
}

/// `natter serve` with JSON logs at trace level (everything), through signup, login, refresh, an
/// authenticated socket, a message and some errors, then SIGTERM: every line is JSON, every
/// line logged while serving a request carries its request id, and no password, hash or
/// token appears anywhere.
#[tokio::test]
async fn json_logs_carry_the_request_id_and_never_a_secret() {
    use std::io::BufRead;

    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_natter"));
    cmd.current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("DATABASE_URL")
        .env_remove("REDIS_URL")
        .env("JWT_SECRET", SECRET)
        .env("PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "trace")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let base = loop {
        let line = lines_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("natter did not log its address ({e}); it logged:\n{}", lines.join("\n")));
        let url = line.split("natter listening on ").nth(1).map(|rest| rest.split('"').next().unwrap().to_string());
        lines.push(line);
        if let Some(url) = url {
            break url;
        }
    };

    let password = "log-test-password-77";
    let http = reqwest::Client::new();
    let signup = http
        .post(format!("{base}/api/auth/signup"))
        .header("x-request-id", "signup-trace-1")
        .json(&serde_json::json!({"fullName": "Lou", "email": "lou@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), 201);
    let login: serde_json::Value = http
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": "lou@example.com", "password": password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = login["accessToken"].as_str().unwrap().to_string();
    let refresh = login["refreshToken"].as_str().unwrap().to_string();
    let wrong = http
        .post(format!("{base}/api/auth/login"))
        .json(&serde_json::json!({"email": "lou@example.com", "password": "not-the-password-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    let rotated: serde_json::Value = http
        .post(format!("{base}/api/auth/refresh"))
        .json(&serde_json::json!({"refreshToken": refresh}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_refresh = rotated["refreshToken"].as_str().unwrap().to_string();
    let socket = rust_socketio::asynchronous::ClientBuilder::new(format!("{base}/"))
        .transport_type(rust_socketio::TransportType::Websocket)
        .auth(serde_json::json!({"token": access}))
        .connect()
        .await
        .unwrap();
    let me: serde_json::Value =
        http.get(format!("{base}/api/auth/check")).bearer_auth(&access).send().await.unwrap().json().await.unwrap();
    let rooms = http
        .post(format!("{base}/api/rooms"))
        .bearer_auth(&access)
        .json(&serde_json::json!({"userIds": [me["_id"]]}))
        .send()
        .await
        .unwrap();
    assert!(rooms.status().is_client_error(), "a room with only oneself is refused");
    let missing = http.get(format!("{base}/api/nope")).header("x-request-id", "missing-trace-2").send().await.unwrap();
    assert_eq!(missing.status(), 404);
    socket.disconnect().await.unwrap();

    // SIGTERM, then everything it logged until it exited.
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(status.success(), "natter exits 0 on SIGTERM: {status}");
    lines.extend(lines_rx.try_iter());

    let secrets =
        [password, "not-the-password-1", access.as_str(), refresh.as_str(), new_refresh.as_str(), "$argon2", SECRET];
    let mut in_requests = 0;
    let mut ids = std::collections::HashSet::new();
    for line in &lines {
        for secret in secrets {
            assert!(!line.contains(secret), "a secret in a log line: {line}");
        }
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        let spans = entry["spans"].as_array().cloned().unwrap_or_default();
        if let Some(request) = spans.iter().find(|s| s["name"] == "request") {
            in_requests += 1;
            let id = request["request_id"].as_str().unwrap_or("");
            assert!(!id.is_empty(), "a request's log line without its id: {line}");
            assert!(
                request["path"].as_str().is_some_and(|p| !p.contains('?')),
                "paths are logged without queries: {line}"
            );
            ids.insert(id.to_string());
        }
    }
    assert!(in_requests >= 8, "debug logs of the requests were expected, got {in_requests}:\n{}", lines.join("\n"));
    assert!(ids.contains("signup-trace-1") && ids.contains("missing-trace-2"), "{ids:?}");
    let created = lines.iter().find(|l| l.contains("account created")).expect("signup is logged");
    assert!(created.contains("signup-trace-1"), "a service's log line carries the request id: {created}");
}
