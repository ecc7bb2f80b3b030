//! Browser end-to-end test: natter serves the production build of the tutorial React
//! chat frontend (`e2e/frontend`), and `e2e/browser.mjs` drives it in headless Chromium
//! through two users (sign up, list users, send, read, reply, log out, log in, profile
//! picture, image message).
//!
//! Needs Node.js >= 20.19 with npm, and Debian's Chromium (`apt-get install chromium`;
//! another binary via `CHROMIUM_PATH`). `NATTER_SKIP_BROWSER_TESTS=1` skips it.
//! Run alone with `cargo test --test frontend_e2e -- --nocapture`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{
    artifacts_dir, chromium, e2e_dir, npm_ci_if_needed, run, run_node_script, skip_browser_tests, start_natter,
};

/// Hard limit for `node e2e/browser.mjs` (the script stops itself after 60 s).
const BROWSER_RUN_LIMIT: Duration = Duration::from_secs(120);

/// `npm ci` when node_modules is missing or older than the lockfile, then `npm run build`.
fn build_frontend(e2e: &Path) -> PathBuf {
    npm_ci_if_needed(e2e);
    run(e2e, "npm", &["run", "build"]);
    let dist = e2e.join("frontend/dist");
    assert!(dist.join("index.html").is_file(), "`npm run build` did not produce {}", dist.join("index.html").display());
    dist
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tutorial_frontend_works_in_headless_chromium() {
    if skip_browser_tests() {
        return;
    }
    let chromium = chromium();

    let e2e = e2e_dir();
    let dist = build_frontend(&e2e);

    let (dir, port) = start_natter(|settings| settings.static_dir = Some(dist)).await;
    let base_url = format!("http://127.0.0.1:{port}");

    let artifacts = artifacts_dir("frontend-e2e");
    let log_path = dir.path().join("browser.log");
    let (ok, output) = {
        let (e2e, chromium, log_path, artifacts) = (e2e.clone(), chromium.clone(), log_path.clone(), artifacts.clone());
        tokio::task::spawn_blocking(move || {
            // natter serves Socket.IO: the reply must arrive live, not only after a reload.
            let envs = [
                ("CHROMIUM_PATH", chromium.as_os_str()),
                ("E2E_ARTIFACTS_DIR", artifacts.as_os_str()),
                ("E2E_REQUIRE_REALTIME", "1".as_ref()),
            ];
            run_node_script(&e2e, "browser.mjs", &base_url, &envs, &log_path, BROWSER_RUN_LIMIT)
        })
        .await
        .expect("browser script task")
    };
    if ok {
        println!("{output}");
    } else {
        panic!("browser end-to-end test failed (screenshots, if any, in {}):\n{output}", artifacts.display());
    }
}
