//! Socket.IO end-to-end test: `e2e/socketio.mjs` runs the official `socket.io-client`
//! (the version pinned in `e2e/package-lock.json`, default options: long-polling first, then
//! the upgrade to websocket) under Node.js against natter started in-process, with plain
//! `fetch` for REST: presence, live direct and group messages, typing, read receipts,
//! subscribe acks, a forged `query.userId`, an unauthenticated handshake, and catching up
//! with `?after=` after a reconnect.
//!
//! `e2e/socketio2.mjs` does the same for the chat-API tutorial's socket.io **2.x** client
//! (`socket.io-client@2.5.0` as the npm alias `socket.io-client-v2`, Engine.IO v3, served by
//! socketioxide's `v4` feature): `?token=` auth over polling and websocket, `subscribe`, and
//! `new message`.
//!
//! Needs Node.js >= 20.19 with npm on PATH (no browser). Installs the npm packages itself
//! (`npm ci`) when `e2e/node_modules` is missing or older than the lockfile.
//! Run alone with `cargo test --test socketio_e2e -- --nocapture`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Hard limit for `node e2e/socketio.mjs` (the script stops itself after 60 s).
const NODE_RUN_LIMIT: Duration = Duration::from_secs(90);

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e")
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Runs a short command to completion in `dir`; panics with its output if it fails.
fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let shown = format!("{program} {}", args.join(" "));
    let started = Instant::now();
    let out = Command::new(program).args(args).current_dir(dir).stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!(
            "could not run `{shown}` in {}: {e}\n\
             The Socket.IO end-to-end test needs Node.js >= 20.19 and npm on PATH \
             (e.g. `apt-get install -y nodejs npm`).",
            dir.display()
        )
    });
    assert!(
        out.status.success(),
        "`{shown}` in {} failed with {}:\n--- stdout\n{}\n--- stderr\n{}",
        dir.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    println!("`{shown}` done in {:.1}s", started.elapsed().as_secs_f64());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Checks node and npm, then `npm ci` when node_modules is missing or older than the lockfile.
fn install_packages(e2e: &Path) {
    // The tests of this binary run in parallel: one `npm ci` at a time.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let node = run(e2e, "node", &["--version"]);
    let npm = run(e2e, "npm", &["--version"]);
    println!("node {node}, npm {npm}");
    let installed = mtime(&e2e.join("node_modules/.package-lock.json"));
    let locked = mtime(&e2e.join("package-lock.json"));
    if installed.is_none() || installed < locked {
        run(e2e, "npm", &["ci", "--no-audit", "--no-fund"]);
    }
    for package in ["socket.io-client", "socket.io-client-v2"] {
        assert!(
            e2e.join("node_modules").join(package).join("package.json").is_file(),
            "{package} is not installed in {} after `npm ci`",
            e2e.join("node_modules").display()
        );
    }
}

/// Runs the script with a hard time limit; returns (success, combined output).
fn run_socketio_script(e2e: &Path, script: &str, base_url: &str, log_path: &Path) -> (bool, String) {
    let log = File::create(log_path).expect("create node log file");
    let mut child = Command::new("node")
        .arg(e2e.join(script))
        .arg(base_url)
        .current_dir(e2e)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("clone log file handle")))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap_or_else(|e| panic!("spawn `node e2e/{script}`: {e}"));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > NODE_RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut output = std::fs::read_to_string(log_path).unwrap_or_default();
    match status {
        Some(s) if s.success() => (true, output),
        Some(s) => {
            output.push_str(&format!("\n(node exited with {s})"));
            (false, output)
        }
        None => {
            output.push_str(&format!("\n(killed after {NODE_RUN_LIMIT:?})"));
            (false, output)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_socket_io_client_talks_to_natter() {
    run_script_against_natter("socketio.mjs").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socket_io_2_client_of_the_chat_api_tutorial_talks_to_natter() {
    run_script_against_natter("socketio2.mjs").await;
}

async fn run_script_against_natter(script: &'static str) {
    let e2e = e2e_dir();
    install_packages(&e2e);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = natter::config::Settings::for_tests();
    settings.data_dir = dir.path().to_path_buf();
    let app = natter::startup::App::build(settings).await.expect("app builds");
    let port = app.addr().port();
    tokio::spawn(app.run_until_stopped());
    let base_url = format!("http://127.0.0.1:{port}");

    let log_path = dir.path().join(format!("{script}.log"));
    let started = Instant::now();
    let (ok, output) = {
        let (e2e, log_path) = (e2e.clone(), log_path.clone());
        tokio::task::spawn_blocking(move || run_socketio_script(&e2e, script, &base_url, &log_path))
            .await
            .expect("node script task")
    };
    if ok {
        println!("{output}");
        println!("{script} passed in {:.1}s", started.elapsed().as_secs_f64());
    } else {
        panic!("Socket.IO end-to-end test (node e2e/{script}) failed:\n{output}");
    }
}
