//! Helpers shared by the browser end-to-end tests (`frontend_e2e`, `webclient_e2e`): find
//! Chromium, install the npm packages of `e2e/`, run a Node.js script with a hard time limit.
// Each test binary uses only some of these.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

pub fn e2e_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e")
}

/// `NATTER_SKIP_BROWSER_TESTS=1`: says so and returns true.
pub fn skip_browser_tests() -> bool {
    let skip = std::env::var("NATTER_SKIP_BROWSER_TESTS").as_deref() == Ok("1");
    if skip {
        println!("skipped: NATTER_SKIP_BROWSER_TESTS=1 (browser end-to-end test not run)");
    }
    skip
}

/// `CHROMIUM_PATH` or Debian's `/usr/bin/chromium`; panics with the fix if it is missing.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM_PATH")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium not found at {}: install it with `apt-get update && apt-get install -y chromium` \
         (CI installs it), point CHROMIUM_PATH at a Chromium binary, \
         or set NATTER_SKIP_BROWSER_TESTS=1 to skip this test",
        path.display()
    );
    path
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Runs a short command to completion in `dir`; panics with its output if it fails.
pub fn run(dir: &Path, program: &str, args: &[&str]) {
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

/// `npm ci` in `e2e/` when node_modules is missing or older than the lockfile.
pub fn npm_ci_if_needed(e2e: &Path) {
    // One install at a time, also across test processes (nextest runs each test in its own):
    // two `npm ci` in one directory break each other's node_modules.
    let lock = File::create(std::env::temp_dir().join("natter-e2e-npm-ci.lock")).expect("create npm lock file");
    lock.lock().expect("lock npm lock file");
    let installed = mtime(&e2e.join("node_modules/.package-lock.json"));
    let locked = mtime(&e2e.join("package-lock.json"));
    if installed.is_none() || installed < locked {
        run(e2e, "npm", &["ci", "--no-audit", "--no-fund"]);
    }
}

/// Runs `node <script> <base_url>` in `e2e/` with `envs`, output into `log_path`, killed
/// after `limit`; returns (success, combined output).
pub fn run_node_script(
    e2e: &Path,
    script: &str,
    base_url: &str,
    envs: &[(&str, &OsStr)],
    log_path: &Path,
    limit: Duration,
) -> (bool, String) {
    let log = File::create(log_path).expect("create browser log file");
    let mut command = Command::new("node");
    command.arg(e2e.join(script)).arg(base_url).current_dir(e2e);
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command
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
        if started.elapsed() > limit {
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
            output.push_str(&format!("\n(killed after {limit:?})"));
            (false, output)
        }
    }
}

/// natter in this process on a random port with a fresh `DATA_DIR` (kept alive by the
/// returned directory), the test settings changed by `configure`; returns its port.
pub async fn start_natter(configure: impl FnOnce(&mut natter::config::Settings)) -> (tempfile::TempDir, u16) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut settings = natter::config::Settings::for_tests();
    settings.data_dir = dir.path().to_path_buf();
    configure(&mut settings);
    let app = natter::startup::App::build(settings).await.expect("app builds");
    let port = app.addr().port();
    tokio::spawn(app.run_until_stopped());
    (dir, port)
}

/// Where a browser test keeps its failure screenshots and console logs.
pub fn artifacts_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::create_dir_all(&dir);
    dir
}
