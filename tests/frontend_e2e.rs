//! Browser end-to-end test: natter serves the production build of the tutorial React
//! chat frontend (`e2e/frontend`), and `e2e/browser.mjs` drives it in headless Chromium
//! through two users (sign up, list users, send, read, reply, log out, log in, profile
//! picture, image message).
//!
//! Needs Node.js >= 20.19 with npm, and Debian's Chromium (`apt-get install chromium`;
//! another binary via `CHROMIUM_PATH`). `NATTER_SKIP_BROWSER_TESTS=1` skips it.
//! Run alone with `cargo test --test frontend_e2e -- --nocapture`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// Hard limit for `node e2e/browser.mjs` (the script stops itself after 60 s).
const BROWSER_RUN_LIMIT: Duration = Duration::from_secs(120);

fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e")
}

fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Runs a short command to completion in `dir`; panics with its output if it fails.
fn run(dir: &Path, program: &str, args: &[&str]) {
    let shown = format!("{program} {}", args.join(" "));
    let started = Instant::now();
    let out = Command::new(program).args(args).current_dir(dir).stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!(
            "could not run `{shown}` in {}: {e}\n\
                 The browser test needs Node.js >= 20.19 and npm on PATH \
                 (or set NATTER_SKIP_BROWSER_TESTS=1 to skip it).",
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
}

/// `npm ci` when node_modules is missing or older than the lockfile, then `npm run build`.
fn build_frontend(e2e: &Path) -> PathBuf {
    let installed = mtime(&e2e.join("node_modules/.package-lock.json"));
    let locked = mtime(&e2e.join("package-lock.json"));
    if installed.is_none() || installed < locked {
        run(e2e, "npm", &["ci", "--no-audit", "--no-fund"]);
    }
    run(e2e, "npm", &["run", "build"]);
    let dist = e2e.join("frontend/dist");
    assert!(dist.join("index.html").is_file(), "`npm run build` did not produce {}", dist.join("index.html").display());
    dist
}

/// Runs the browser script with a hard time limit; returns (success, combined output).
fn run_browser_script(
    e2e: &Path,
    base_url: &str,
    chromium: &Path,
    log_path: &Path,
    artifacts: &Path,
) -> (bool, String) {
    let log = File::create(log_path).expect("create browser log file");
    let mut child = Command::new("node")
        .arg(e2e.join("browser.mjs"))
        .arg(base_url)
        .current_dir(e2e)
        .env("CHROMIUM_PATH", chromium)
        .env("E2E_ARTIFACTS_DIR", artifacts)
        // natter serves Socket.IO: the reply must arrive live, not only after a reload.
        .env("E2E_REQUIRE_REALTIME", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("clone log file handle")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn `node e2e/browser.mjs`");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if started.elapsed() > BROWSER_RUN_LIMIT {
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
            output.push_str(&format!("\n(killed after {BROWSER_RUN_LIMIT:?})"));
            (false, output)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorial_frontend_works_in_headless_chromium() {
    if std::env::var("NATTER_SKIP_BROWSER_TESTS").as_deref() == Ok("1") {
        println!("skipped: NATTER_SKIP_BROWSER_TESTS=1 (browser end-to-end test not run)");
        return;
    }
    let chromium = chromium_path();
    assert!(
        chromium.is_file(),
        "Chromium not found at {}: install it with `apt-get update && apt-get install -y chromium` \
         (CI installs it), point CHROMIUM_PATH at a Chromium binary, \
         or set NATTER_SKIP_BROWSER_TESTS=1 to skip this test",
        chromium.display()
    );

    let e2e = e2e_dir();
    let dist = build_frontend(&e2e);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = natter::config::Settings::for_tests();
    settings.data_dir = dir.path().to_path_buf();
    settings.static_dir = Some(dist);
    let app = natter::startup::App::build(settings).await.expect("app builds");
    let port = app.addr().port();
    tokio::spawn(app.run_until_stopped());
    let base_url = format!("http://127.0.0.1:{port}");

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("frontend-e2e");
    let _ = std::fs::create_dir_all(&artifacts);
    let log_path = dir.path().join("browser.log");
    let (ok, output) = {
        let (e2e, chromium, log_path, artifacts) = (e2e.clone(), chromium.clone(), log_path.clone(), artifacts.clone());
        tokio::task::spawn_blocking(move || run_browser_script(&e2e, &base_url, &chromium, &log_path, &artifacts))
            .await
            .expect("browser script task")
    };
    if ok {
        println!("{output}");
    } else {
        panic!("browser end-to-end test failed (screenshots, if any, in {}):\n{output}", artifacts.display());
    }
}
