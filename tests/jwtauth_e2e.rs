//! Browser end-to-end test of the JWT-auth tutorial's client: `e2e/jwt-auth-client` makes
//! the calls its React client makes (axios, no credentials, `x-access-token`, the whole
//! signin response in `localStorage`), served from its own origin `http://localhost:8081`
//! by `e2e/jwtauth.mjs`, which drives it in headless Chromium against natter started with
//! its development defaults (CORS allows that origin without any setting): sign up, sign in,
//! profile with `ROLE_USER`, the user board, the admin board refused, a forged and an
//! expired token logging the client out, logout, an admin's admin board.
//!
//! Needs Node.js >= 20.19 with npm, Debian's Chromium, and port 8081 free.
//! `NATTER_SKIP_BROWSER_TESTS=1` skips it. Run alone with
//! `cargo test --test jwtauth_e2e -- --nocapture`.

mod common;

use std::time::Duration;

use common::{artifacts_dir, chromium, e2e_dir, npm_ci_if_needed, run_node_script, skip_browser_tests, start_natter};

/// Hard limit for `node e2e/jwtauth.mjs` (the script stops itself after 60 s).
const BROWSER_RUN_LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_auth_tutorial_client_works_from_its_own_origin() {
    if skip_browser_tests() {
        return;
    }
    let chromium = chromium();
    let e2e = e2e_dir();
    npm_ci_if_needed(&e2e);

    // The defaults a developer gets: development mode, CORS_ORIGINS unset.
    let (dir, port) =
        start_natter(|settings| assert!(settings.cors_origins.is_none() && !settings.is_production())).await;
    let api = format!("http://127.0.0.1:{port}");

    let artifacts = artifacts_dir("jwtauth-e2e");
    let log_path = dir.path().join("jwtauth.log");
    let (ok, output) = {
        let (e2e, log_path, artifacts) = (e2e.clone(), log_path.clone(), artifacts.clone());
        tokio::task::spawn_blocking(move || {
            let envs = [("CHROMIUM_PATH", chromium.as_os_str()), ("E2E_ARTIFACTS_DIR", artifacts.as_os_str())];
            run_node_script(&e2e, "jwtauth.mjs", &api, &envs, &log_path, BROWSER_RUN_LIMIT)
        })
        .await
        .expect("browser script task")
    };
    if ok {
        println!("{output}");
    } else {
        panic!(
            "JWT-auth client end-to-end test failed (screenshot and console log in {}):\n{output}",
            artifacts.display()
        );
    }
}
