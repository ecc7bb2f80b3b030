//! Browser end-to-end test of the built-in web client: natter starts WITHOUT `STATIC_DIR`,
//! so `/` is the client embedded from `web/`, and `e2e/webclient.mjs` drives it in headless
//! Chromium with two users: sign up, presence, a DM with unread badges, "seen" and typing,
//! a group made and extended in the UI, an image, edit and delete, one user offline
//! (`context.setOffline`) catching up without gap or duplicate, phone width, logout. Then it
//! opens `/docs/` and checks Swagger UI rendered natter's own document (title, `POST
//! /api/auth/login` expanded) with every request on natter's origin.
//!
//! Needs Node.js >= 20.19 with npm, and Debian's Chromium (`apt-get install chromium`;
//! another binary via `CHROMIUM_PATH`). `NATTER_SKIP_BROWSER_TESTS=1` skips it.
//! `NATTER_SCREENSHOTS=<dir>` (relative to the repository root) saves
//! `webclient-desktop.png`, `webclient-phone.png` and `docs-page.png` there on success.
//! Run alone with `cargo test --test webclient_e2e -- --nocapture`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{artifacts_dir, chromium, e2e_dir, npm_ci_if_needed, run_node_script, skip_browser_tests, start_natter};

/// Hard limit for `node e2e/webclient.mjs` (the script stops itself after 90 s).
const BROWSER_RUN_LIMIT: Duration = Duration::from_secs(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_in_web_client_works_in_headless_chromium() {
    if skip_browser_tests() {
        return;
    }
    let chromium = chromium();
    let e2e = e2e_dir();
    npm_ci_if_needed(&e2e);

    let (dir, port) = start_natter(|settings| settings.static_dir = None).await;
    let base_url = format!("http://127.0.0.1:{port}");

    let artifacts = artifacts_dir("webclient-e2e");
    let screenshots = std::env::var_os("NATTER_SCREENSHOTS")
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(env!("CARGO_MANIFEST_DIR")).join(d));
    let log_path = dir.path().join("webclient.log");
    let started = std::time::Instant::now();
    let (ok, output) = {
        let (e2e, log_path, artifacts) = (e2e.clone(), log_path.clone(), artifacts.clone());
        tokio::task::spawn_blocking(move || {
            let mut envs = vec![("CHROMIUM_PATH", chromium.as_os_str()), ("E2E_ARTIFACTS_DIR", artifacts.as_os_str())];
            if let Some(dir) = &screenshots {
                envs.push(("NATTER_SCREENSHOTS", dir.as_os_str()));
            }
            run_node_script(&e2e, "webclient.mjs", &base_url, &envs, &log_path, BROWSER_RUN_LIMIT)
        })
        .await
        .expect("browser script task")
    };
    if ok {
        println!("{output}\nbrowser run took {:.1}s", started.elapsed().as_secs_f64());
    } else {
        panic!(
            "web client end-to-end test failed (screenshots and console logs in {}):\n{output}",
            artifacts.display()
        );
    }
}
