//! A message that was acknowledged is never lost: natter is killed with SIGKILL in the
//! middle of a burst of concurrent sends (which it commits in groups: SQLite's writer, and
//! PostgreSQL's batched statements), started again on the same store, and every message
//! that got a 2xx is there, in an order where each sender's messages keep the order in which
//! they were acknowledged. On SQLite and on PostgreSQL.

#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;

/// The helpers' settings for in-process apps (none here: natter runs as a process).
pub const BACKEND: helpers::Backend = helpers::Backend::Postgres;
pub const STORAGE: helpers::Storage = helpers::Storage::Local;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

const PASSWORD: &str = "durable-password-1";
const SENDERS: usize = 24;
/// Acknowledged sends before the kill (the burst goes on while it lands).
const KILL_AFTER: usize = 400;

struct Natter {
    child: Child,
    base: String,
}

impl Natter {
    /// natter on `data_dir`, and on `database_url` when given (else SQLite in `data_dir`).
    async fn start(data_dir: &Path, database_url: Option<&str>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_natter"));
        command.env_clear();
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        let child = command
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .env("DATA_DIR", data_dir)
            .env("JWT_SECRET", "durability-secret-durability-secret-0001")
            .env("RATE_LIMITS", "off")
            .env("BCRYPT_COST", "4")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start natter");
        let natter = Self { child, base: format!("http://127.0.0.1:{port}") };
        let started = Instant::now();
        while reqwest::get(natter.url("/healthz")).await.map(|r| r.status()).ok() != Some(StatusCode::OK) {
            assert!(started.elapsed() < Duration::from_secs(30), "natter did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        natter
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL natter");
        self.child.wait().expect("reap natter");
    }
}

impl Drop for Natter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Signs up (when `new`) and logs in; returns a bearer client and the user's id.
async fn account(natter: &Natter, name: &str, new: bool) -> (Client, String) {
    let http = Client::new();
    let email = format!("{name}@example.com");
    if new {
        let body = json!({"fullName": name, "email": email, "password": PASSWORD});
        let status = http.post(natter.url("/api/auth/signup")).json(&body).send().await.expect("signup").status();
        assert_eq!(status, StatusCode::CREATED);
    }
    let login: Value = http
        .post(natter.url("/api/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["accessToken"].as_str().expect("accessToken");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    let client = Client::builder().default_headers(headers).build().expect("client");
    (client, login["_id"].as_str().expect("_id").to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_message_survives_a_sigkill_mid_burst() {
    sigkill_mid_burst(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_message_survives_a_sigkill_mid_burst_on_postgres() {
    let database = helpers::TestDatabase::create().await;
    sigkill_mid_burst(Some(&database.url)).await;
}

async fn sigkill_mid_burst(database_url: Option<&str>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut natter = Natter::start(dir.path(), database_url).await;
    let (ann, _) = account(&natter, "ann", true).await;
    let (_, bob_id) = account(&natter, "bob", true).await;

    // Each sender sends one message after another; what came back 2xx is recorded in order.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let per_sender: Arc<Mutex<Vec<Vec<String>>>> = Arc::new(Mutex::new(vec![Vec::new(); SENDERS]));
    let url = natter.url(&format!("/api/messages/send/{bob_id}"));
    let mut tasks = Vec::new();
    for sender in 0..SENDERS {
        let (ann, url, acknowledged, per_sender) = (ann.clone(), url.clone(), acknowledged.clone(), per_sender.clone());
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let sent = ann.post(&url).json(&json!({"text": format!("sender {sender} message {n}")})).send().await;
                let Ok(response) = sent else { return };
                if !response.status().is_success() {
                    return;
                }
                let Ok(body) = response.json::<Value>().await else { return };
                per_sender.lock().await[sender].push(body["_id"].as_str().expect("_id").to_string());
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
        }));
    }
    let started = Instant::now();
    while acknowledged.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(started.elapsed() < Duration::from_secs(60), "the burst did not get going");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // The sends were committed in groups: more of them than commits.
    let metrics = reqwest::get(natter.url("/metrics")).await.expect("metrics").text().await.expect("metrics body");
    let sample = |name: &str| -> f64 {
        metrics.lines().find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
    };
    let (writes, commits) = (sample("natter_db_write_batch_size_sum"), sample("natter_db_write_batch_size_count"));
    assert!(writes > commits, "no writes were committed together ({writes} writes in {commits} commits)");
    natter.kill();
    for task in tasks {
        task.await.expect("sender task");
    }
    let acked = per_sender.lock().await.clone();
    let total: usize = acked.iter().map(Vec::len).sum();
    assert!(total >= KILL_AFTER);

    let natter = Natter::start(dir.path(), database_url).await;
    let (ann, _) = account(&natter, "ann", false).await;
    let mut stored: Vec<String> = Vec::new();
    loop {
        // From the very start: the nil id sorts before every message id.
        let after = stored.last().map_or("00000000-0000-0000-0000-000000000000", String::as_str);
        let page: Vec<Value> = ann
            .get(natter.url(&format!("/api/messages/{bob_id}?limit=500&after={after}")))
            .send()
            .await
            .expect("read")
            .json()
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        stored.extend(page.iter().map(|m| m["_id"].as_str().expect("_id").to_string()));
    }
    let position: std::collections::HashMap<&str, usize> =
        stored.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
    assert_eq!(position.len(), stored.len(), "no message is stored twice");
    for (sender, ids) in acked.iter().enumerate() {
        let mut last = None;
        for id in ids {
            let at = *position.get(id.as_str()).unwrap_or_else(|| {
                panic!("sender {sender}'s acknowledged message {id} is missing after the restart ({total} acknowledged, {} stored)", stored.len())
            });
            assert!(last < Some(at), "sender {sender}'s messages are out of the order they were acknowledged in");
            last = Some(at);
        }
    }
    println!("{total} acknowledged before the kill, {} stored after the restart", stored.len());
}
