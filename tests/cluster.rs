//! Multi-node tests: two or three real `natter` processes on different ports sharing one
//! PostgreSQL database (a fresh one per test, on `TEST_DATABASE_URL`) and one Redis server
//! (a private `redis-server` per test on a free port, so a test can restart it), driven by
//! real HTTP and Socket.IO clients.

/// The store these tests run on (shared with the `api` helpers).
pub const BACKEND: helpers::Backend = helpers::Backend::Postgres;
/// Where this test binary's apps store uploads.
pub const STORAGE: helpers::Storage = helpers::Storage::Local;

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "api/live.rs"]
#[allow(dead_code)]
mod live;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use helpers::{PASSWORD, TestDatabase};
use live::{Auth, LiveSocket, connect_to};

const SECRET: &str = "cluster-test-secret-cluster-test-secret-01";
/// Short, so that a dead node stops counting within the test's patience.
const PRESENCE_TTL: Duration = Duration::from_millis(1500);
/// How long a node stopped with SIGTERM may take to finish its requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// How often a node refreshes its presence record (a third of the TTL).
const HEARTBEAT: Duration = Duration::from_millis(500);
/// The bound the README promises for a dead node's users to stop counting (TTL plus one
/// heartbeat), plus slack for the 100 ms coalescing window and for a loaded 2-core machine.
const GONE_WITHIN: Duration = Duration::from_millis(1500 + 500 + 2500);
/// The bound for a live node to be counted again once Redis answers (one heartbeat), with
/// the same slack plus the client's reconnect delay (500 ms).
const BACK_WITHIN: Duration = Duration::from_millis(500 + 500 + 2500);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn wait_until(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "{what} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A private Redis server (nothing on disk, like the machines' own).
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> Self {
        let mut redis = Self { port: free_port(), child: None };
        redis.spawn();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is needed on PATH for the cluster tests (apt-get install redis-server)");
        self.child = Some(child);
        let port = self.port;
        wait_until("redis-server accepts connections", Duration::from_secs(10), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// How many nodes have a presence record.
    fn node_records(&self) -> usize {
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "--raw", "KEYS", "natter:{presence}:node:*"])
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()).count()
    }

    /// Starts it again after `stop` (empty, like a restarted server without persistence).
    fn start_again(&mut self) {
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One natter process.
struct Node {
    addr: SocketAddr,
    database_url: String,
    redis_url: String,
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Node {
    fn start(database_url: &str, redis_url: &str) -> Self {
        let node = Self::spawn(database_url, redis_url);
        node.wait_until_up();
        node
    }

    /// Starts the process without waiting for it to answer.
    fn spawn(database_url: &str, redis_url: &str) -> Self {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let mut node = Self {
            addr,
            database_url: database_url.to_string(),
            redis_url: redis_url.to_string(),
            child: None,
            dir: tempfile::tempdir().expect("temp dir"),
        };
        node.run();
        node
    }

    fn run(&mut self) {
        let log = std::env::var_os("TEST_LOG").is_some();
        let child = Command::new(env!("CARGO_BIN_EXE_natter"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PORT", self.addr.port().to_string())
            .env("DATA_DIR", self.dir.path())
            .env("DATABASE_URL", &self.database_url)
            .env("REDIS_URL", &self.redis_url)
            .env("JWT_SECRET", SECRET)
            .env("PRESENCE_TTL", format!("{}ms", PRESENCE_TTL.as_millis()))
            .env("SHUTDOWN_GRACE", format!("{}ms", SHUTDOWN_GRACE.as_millis()))
            .env("RATE_LIMITS", "off")
            .env("BCRYPT_COST", "4")
            .env("LOG_LEVEL", "info")
            .stdout(Stdio::null())
            .stderr(if log { Stdio::inherit() } else { Stdio::from(self.log_file()) })
            .spawn()
            .expect("start natter");
        self.child = Some(child);
    }

    fn wait_until_up(&self) {
        wait_until("a node answers /healthz", Duration::from_secs(30), || http_ok(&self.url("/healthz")));
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// SIGKILL: no goodbye to Redis, no cleanup.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM: the signal a service manager or orchestrator stops a node with.
    fn terminate(&self) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        assert!(status.success(), "kill -TERM {pid}");
    }

    /// Waits for the process to exit by itself.
    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                self.child = None;
                return status;
            }
            assert!(Instant::now() < deadline, "the node did not exit within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The same node (address, data directory) started again after `kill`.
    fn restart(&mut self) {
        self.kill();
        self.run();
        self.wait_until_up();
    }
}

impl Node {
    /// The node's log (appended across restarts), shown when its test fails.
    fn log_file(&self) -> std::fs::File {
        let path = self.dir.path().join("natter.log");
        std::fs::OpenOptions::new().create(true).append(true).open(path).expect("node log file")
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.dir.path().join("natter.log")).unwrap_or_default();
            // Request lines of the readiness polls are noise here.
            let lines: Vec<&str> =
                log.lines().filter(|l| !l.contains("path=/readyz") && !l.contains("path=/healthz")).collect();
            let tail = &lines[lines.len().saturating_sub(60)..];
            eprintln!("--- log of the node on {} (last {} lines)\n{}", self.addr, tail.len(), tail.join("\n"));
        }
    }
}

/// Whether `GET url` answers 200 (a blocking probe, for start-up waits).
fn http_ok(url: &str) -> bool {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = TcpStream::connect(host) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(stream, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

struct Cluster {
    nodes: Vec<Node>,
    redis: Redis,
    _database: TestDatabase,
}

impl Cluster {
    async fn start(n: usize) -> Self {
        let database = TestDatabase::create().await;
        let redis = Redis::start();
        // The first node migrates the fresh database; the others start once it is done.
        let mut nodes = vec![Node::start(&database.url, &redis.url())];
        for _ in 1..n {
            nodes.push(Node::start(&database.url, &redis.url()));
        }
        // As a load balancer would: traffic only once every node has joined.
        for node in &nodes {
            wait_ready(node, Duration::from_secs(30)).await;
        }
        Self { nodes, redis, _database: database }
    }

    fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }
}

struct User {
    id: String,
    token: String,
    http: Client,
}

fn bearer_client(token: &str) -> Client {
    helpers::bearer(token)
}

async fn signup(node: &Node, name: &str) -> User {
    let body = json!({"fullName": name, "email": format!("{name}@example.com"), "password": PASSWORD});
    let response = Client::new().post(node.url("/api/auth/signup")).json(&body).send().await.expect("signup");
    assert_eq!(response.status(), StatusCode::CREATED);
    let login = json!({"email": format!("{name}@example.com"), "password": PASSWORD});
    let response = Client::new().post(node.url("/api/auth/login")).json(&login).send().await.expect("login");
    let body: Value = response.json().await.expect("json");
    let token = body["accessToken"].as_str().expect("accessToken").to_string();
    User { id: body["_id"].as_str().expect("_id").to_string(), http: bearer_client(&token), token }
}

async fn socket_on(node: &Node, user: &User) -> LiveSocket {
    let mut socket = connect_to(node.addr, Auth::Token(&user.token), None).await;
    socket.next("getOnlineUsers").await;
    socket
}

async fn send_dm(node: &Node, from: &User, to: &User, text: &str) -> Value {
    let response = from
        .http
        .post(node.url(&format!("/api/messages/send/{}", to.id)))
        .json(&json!({"text": text}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED, "send through {}", node.addr);
    response.json().await.expect("json")
}

/// Waits for a `newMessage` with this text, skipping others.
async fn expect_message(socket: &mut LiveSocket, text: &str) -> Value {
    let wait = async {
        loop {
            let message = socket.next("newMessage").await;
            if message["text"] == text {
                return message;
            }
        }
    };
    match tokio::time::timeout(live::ARRIVES_WITHIN, wait).await {
        Ok(message) => message,
        Err(_) => panic!("no newMessage {text:?} within {:?}", live::ARRIVES_WITHIN),
    }
}

/// Waits for a `getOnlineUsers` list that satisfies `ok`.
async fn expect_online(socket: &mut LiveSocket, what: &str, ok: impl Fn(&[String]) -> bool) {
    expect_online_within(socket, what, Duration::from_secs(15), ok).await;
}

/// Waits at most `within` for a `getOnlineUsers` list that satisfies `ok`, and returns it.
async fn expect_online_within(
    socket: &mut LiveSocket,
    what: &str,
    within: Duration,
    ok: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!remaining.is_zero(), "no getOnlineUsers within {within:?} where {what}; lists sent: {seen:?}");
        for list in socket.collect("getOnlineUsers", Duration::from_millis(100).min(remaining)).await {
            let ids: Vec<String> = serde_json::from_value(list).unwrap_or_default();
            if ok(&ids) {
                return ids;
            }
            seen.push(ids);
        }
    }
}

/// Every `getOnlineUsers` list the socket is sent during `window` satisfies `ok`.
async fn online_stays(socket: &mut LiveSocket, what: &str, window: Duration, ok: impl Fn(&[String]) -> bool) {
    for list in socket.collect("getOnlineUsers", window).await {
        let ids: Vec<String> = serde_json::from_value(list).unwrap_or_default();
        assert!(ok(&ids), "a later getOnlineUsers broke `{what}`: {ids:?}");
    }
}

/// `ids` holds exactly these users.
fn exactly(ids: &[String], users: &[&User]) -> bool {
    ids.len() == users.len() && users.iter().all(|u| ids.contains(&u.id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dm_sent_through_one_node_arrives_on_a_socket_of_another() {
    let cluster = Cluster::start(2).await;
    let (a, b) = (cluster.node(0), cluster.node(1));
    let ann = signup(a, "ann").await;
    let bob = signup(b, "bob").await;
    let mut bob_socket = socket_on(b, &bob).await;
    let mut ann_socket = socket_on(a, &ann).await;

    let sent = send_dm(a, &ann, &bob, "hello across nodes").await;
    let got = expect_message(&mut bob_socket, "hello across nodes").await;
    assert_eq!(got["_id"], sent["_id"]);
    assert_eq!(got["senderId"], json!(ann.id));
    // The sender's own other sockets hear it too, on its node.
    expect_message(&mut ann_socket, "hello across nodes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_message_fans_out_to_members_spread_over_all_nodes() {
    let cluster = Cluster::start(3).await;
    let users = [
        signup(cluster.node(0), "ann").await,
        signup(cluster.node(1), "bob").await,
        signup(cluster.node(2), "cat").await,
    ];
    let mut sockets = Vec::new();
    for (i, user) in users.iter().enumerate() {
        sockets.push(socket_on(cluster.node(i), user).await);
    }
    let body = json!({"userIds": [users[1].id, users[2].id], "name": "all nodes"});
    let response = users[0].http.post(cluster.node(0).url("/api/rooms")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let room: Value = response.json().await.unwrap();
    let path = format!("/api/rooms/{}/messages", room["_id"].as_str().unwrap());
    let response =
        users[1].http.post(cluster.node(1).url(&path)).json(&json!({"text": "to everyone"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    for socket in &mut sockets {
        let got = expect_message(socket, "to everyone").await;
        assert_eq!(got["roomId"], room["_id"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_the_same_from_every_node() {
    let cluster = Cluster::start(3).await;
    let ann = signup(cluster.node(0), "ann").await;
    let bob = signup(cluster.node(1), "bob").await;
    let cat = signup(cluster.node(2), "cat").await;
    let mut ann_socket = socket_on(cluster.node(0), &ann).await;
    let _bob_socket = socket_on(cluster.node(1), &bob).await;
    let mut cat_socket = socket_on(cluster.node(2), &cat).await;
    let everyone = |ids: &[String]| [&ann.id, &bob.id, &cat.id].iter().all(|id| ids.contains(id)) && ids.len() == 3;
    expect_online(&mut ann_socket, "node A lists all three", everyone).await;
    expect_online(&mut cat_socket, "node C lists all three", everyone).await;
    // A socket that connects now is told the whole cluster's list at once.
    let mut late = connect_to(cluster.node(1).addr, Auth::Token(&ann.token), None).await;
    let first: Vec<String> = serde_json::from_value(late.next("getOnlineUsers").await).unwrap();
    assert!(everyone(&first), "first list on node B: {first:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_conversation_loses_nothing_and_stops_counting_its_users() {
    let mut cluster = Cluster::start(2).await;
    let ann = signup(cluster.node(0), "ann").await;
    let bob = signup(cluster.node(1), "bob").await;
    let mut ann_socket = socket_on(cluster.node(0), &ann).await;
    let mut bob_socket = socket_on(cluster.node(1), &bob).await;
    expect_online(&mut ann_socket, "bob online on node B", |ids| ids.contains(&bob.id)).await;

    let first = send_dm(cluster.node(0), &ann, &bob, "before the crash").await;
    expect_message(&mut bob_socket, "before the crash").await;
    let last_seen = first["_id"].as_str().unwrap().to_string();

    cluster.nodes[1].kill();
    drop(bob_socket);
    // Node B never said goodbye: its record expires (PRESENCE_TTL) and node A notices.
    expect_online(&mut ann_socket, "bob offline once node B's record expired", |ids| !ids.contains(&bob.id)).await;

    let missed = send_dms(cluster.node(0), &ann, &bob, "while B is down", 5).await;
    // Bob's client reconnects to the surviving node and catches up from its last id.
    reconnect_and_catch_up(cluster.node(0), &bob, &ann, &last_seen, &missed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarting_loses_no_message_and_live_delivery_resumes_by_itself() {
    let mut cluster = Cluster::start(2).await;
    let ann = signup(cluster.node(0), "ann").await;
    let bob = signup(cluster.node(1), "bob").await;
    let mut bob_socket = socket_on(cluster.node(1), &bob).await;
    send_dm(cluster.node(0), &ann, &bob, "before the restart").await;
    expect_message(&mut bob_socket, "before the restart").await;

    cluster.redis.stop();
    let ready = reqwest::Client::new().get(cluster.node(0).url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "readyz says the bus is down");
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["bus"], "unreachable");
    // Sends are stored while the bus is down.
    let during = send_dm(cluster.node(0), &ann, &bob, "while redis is down").await;
    cluster.redis.restart();

    // Nodes reconnect by themselves; live delivery comes back without a restart of natter.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    loop {
        assert!(Instant::now() < deadline, "live delivery did not resume within 30 s of the restart");
        let text = format!("after the restart {n}");
        send_dm(cluster.node(0), &ann, &bob, &text).await;
        let got = bob_socket.collect("newMessage", Duration::from_millis(500)).await;
        if got.iter().any(|m| m["text"] == text.as_str()) {
            break;
        }
        n += 1;
    }
    let ready = reqwest::Client::new().get(cluster.node(1).url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let history = conversation(cluster.node(1), &bob, &ann, "").await;
    let texts: Vec<&str> = history.iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(texts.contains(&"before the restart") && texts.contains(&"while redis is down"), "{texts:?}");
    assert!(history.iter().any(|m| m["_id"] == during["_id"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_on_one_node_ends_the_session_on_every_node() {
    let cluster = Cluster::start(2).await;
    let ann = signup(cluster.node(0), "ann").await;
    // Node B has checked (and cached) the session.
    let check = ann.http.get(cluster.node(1).url("/api/auth/check")).send().await.unwrap();
    assert_eq!(check.status(), StatusCode::OK);
    let out = ann.http.post(cluster.node(0).url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    expect_refused_within_2s(cluster.node(1), &ann.http, "node B still accepts a token logged out on node A").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_on_one_node_is_disconnected_and_refused_on_the_other() {
    let cluster = Cluster::start(2).await;
    let laptop = signup(cluster.node(0), "ann").await;
    // A second login of Ann's, whose socket lives on node B.
    let login = json!({"email": "ann@example.com", "password": PASSWORD});
    let response = Client::new().post(cluster.node(1).url("/api/auth/login")).json(&login).send().await.unwrap();
    let body: Value = response.json().await.unwrap();
    let phone_token = body["accessToken"].as_str().unwrap().to_string();
    let phone = User { id: laptop.id.clone(), http: bearer_client(&phone_token), token: phone_token };
    let mut phone_socket = socket_on(cluster.node(1), &phone).await;
    let check = phone.http.get(cluster.node(1).url("/api/auth/check")).send().await.unwrap();
    assert_eq!(check.status(), StatusCode::OK, "node B has checked (and cached) the session");

    let sessions: Value =
        laptop.http.get(cluster.node(0).url("/api/auth/sessions")).send().await.unwrap().json().await.unwrap();
    let other = sessions.as_array().unwrap().iter().find(|s| s["current"] == false).expect("the phone's session");
    let path = format!("/api/auth/sessions/{}", other["_id"].as_str().unwrap());
    let ended = laptop.http.delete(cluster.node(0).url(&path)).send().await.unwrap();
    assert_eq!(ended.status(), StatusCode::OK);
    assert_eq!(phone_socket.next("sessionRevoked").await["reason"], "session_revoked");
    phone_socket.next("$close").await;
    expect_refused_within_2s(cluster.node(1), &phone.http, "node B still accepts the ended session's token").await;
    let check = laptop.http.get(cluster.node(1).url("/api/auth/check")).send().await.unwrap();
    assert_eq!(check.status(), StatusCode::OK, "the laptop's session stays");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_changed_on_one_node_shows_in_room_lists_on_the_other() {
    let cluster = Cluster::start(2).await;
    let ann = signup(cluster.node(0), "ann").await;
    let bob = signup(cluster.node(0), "bob").await;
    let created = ann
        .http
        .post(cluster.node(0).url("/api/rooms"))
        .json(&json!({"userIds": [bob.id], "name": "g"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let name_of_ann = || async {
        let list: Value = bob.http.get(cluster.node(1).url("/api/rooms")).send().await.unwrap().json().await.unwrap();
        let members = list[0]["members"].as_array().expect("members").clone();
        members.into_iter().find(|m| m["_id"] == ann.id.as_str()).expect("ann")["fullName"].clone()
    };
    // Node B has read (and cached) Ann's profile.
    assert_eq!(name_of_ann().await, "ann");
    let path = format!("/api/users/{}", ann.id);
    let changed = ann.http.patch(cluster.node(0).url(&path)).json(&json!({"fullName": "Ann B"})).send().await.unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let deadline = Instant::now() + Duration::from_secs(2);
    while name_of_ann().await != "Ann B" {
        assert!(Instant::now() < deadline, "node B still lists Ann's old name");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// Fault sequences. Each runs `rounds()` times on a fresh cluster, so that a failure that
// depends on when a heartbeat falls shows up in one CI run.

/// How many times each fault sequence runs (`CLUSTER_ROUNDS`, default 3).
fn rounds() -> usize {
    std::env::var("CLUSTER_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(3)
}

/// Polls `GET /api/auth/check` on `node` with `http`'s credentials until it answers 401;
/// fails with `what` if it still answers otherwise after 2 s.
async fn expect_refused_within_2s(node: &Node, http: &Client, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let check = http.get(node.url("/api/auth/check")).send().await.unwrap();
        if check.status() == StatusCode::UNAUTHORIZED {
            return;
        }
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the node's `/readyz` answers 200 (store and bus reachable, cluster joined).
async fn wait_ready(node: &Node, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(r) = Client::new().get(node.url("/readyz")).send().await
            && r.status() == StatusCode::OK
        {
            return;
        }
        assert!(Instant::now() < deadline, "{} not ready within {within:?}", node.addr);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn send_dms(node: &Node, from: &User, to: &User, prefix: &str, n: usize) -> Vec<Value> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(send_dm(node, from, to, &format!("{prefix} {i}")).await["_id"].clone());
    }
    ids
}

/// The messages of the direct conversation with `peer`, as `user` reads them through
/// `node` (`query`: paging, as in `?after=…`).
async fn conversation(node: &Node, user: &User, peer: &User, query: &str) -> Vec<Value> {
    let page: Value = user
        .http
        .get(node.url(&format!("/api/messages/{}{query}", peer.id)))
        .send()
        .await
        .expect("page")
        .json()
        .await
        .expect("json");
    page.as_array().expect("an array of messages").clone()
}

/// The ids of the direct conversation with `peer` after `after`, as `user` pages them.
async fn ids_after(node: &Node, user: &User, peer: &User, after: &str) -> Vec<Value> {
    conversation(node, user, peer, &format!("?after={after}")).await.iter().map(|m| m["_id"].clone()).collect()
}

/// What a client that lost its node does: reconnects to `node`, fetches what it missed
/// with `after=<last id seen>` (exactly `missed`, in order), then hears new messages live.
async fn reconnect_and_catch_up(node: &Node, user: &User, peer: &User, last_seen: &str, missed: &[Value]) {
    let mut socket = socket_on(node, user).await;
    assert_eq!(ids_after(node, user, peer, last_seen).await, missed, "catch-up after {last_seen}");
    send_dm(node, peer, user, "live after the catch-up").await;
    expect_message(&mut socket, "live after the catch-up").await;
}

/// Two nodes, ann on A and bob on B, each with a socket, both listed everywhere; bob has
/// seen one message from ann, whose id is returned.
async fn two_nodes_in_conversation() -> (Cluster, User, User, LiveSocket, LiveSocket, String) {
    let cluster = Cluster::start(2).await;
    let ann = signup(cluster.node(0), "ann").await;
    let bob = signup(cluster.node(1), "bob").await;
    let mut ann_socket = socket_on(cluster.node(0), &ann).await;
    let mut bob_socket = socket_on(cluster.node(1), &bob).await;
    expect_online_within(&mut ann_socket, "A lists both", BACK_WITHIN, |ids| exactly(ids, &[&ann, &bob])).await;
    expect_online_within(&mut bob_socket, "B lists both", BACK_WITHIN, |ids| exactly(ids, &[&ann, &bob])).await;
    let first = send_dm(cluster.node(0), &ann, &bob, "before the faults").await;
    expect_message(&mut bob_socket, "before the faults").await;
    let last_seen = first["_id"].as_str().expect("_id").to_string();
    (cluster, ann, bob, ann_socket, bob_socket, last_seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_then_a_node_killed_at_once() {
    for round in 1..=rounds() {
        let (mut cluster, ann, bob, mut ann_socket, bob_socket, last_seen) = two_nodes_in_conversation().await;
        cluster.redis.restart();
        cluster.nodes[1].kill();
        drop(bob_socket);
        // Ann's socket stays connected throughout: it is told that bob left, and ann herself
        // is in every list.
        let what = format!("round {round}: bob gone from A's list, ann still in it");
        expect_online_within(&mut ann_socket, &what, GONE_WITHIN, |ids| exactly(ids, &[&ann])).await;
        online_stays(&mut ann_socket, &what, PRESENCE_TTL * 2, |ids| exactly(ids, &[&ann])).await;
        let missed = send_dms(cluster.node(0), &ann, &bob, "while bob has no node", 3).await;
        reconnect_and_catch_up(cluster.node(0), &bob, &ann, &last_seen, &missed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_while_redis_is_down_stops_counting_and_redis_back_changes_nothing() {
    for round in 1..=rounds() {
        let (mut cluster, ann, bob, mut ann_socket, bob_socket, last_seen) = two_nodes_in_conversation().await;
        cluster.redis.stop();
        cluster.nodes[1].kill();
        drop(bob_socket);
        // Sends are stored while the bus is down.
        let mut missed = send_dms(cluster.node(0), &ann, &bob, "while redis is down", 2).await;
        // A cannot hear from B: B's users stop counting once B's record would have expired.
        let what = format!("round {round}: bob gone from A's list while Redis is down");
        expect_online_within(&mut ann_socket, &what, GONE_WITHIN, |ids| exactly(ids, &[&ann])).await;
        cluster.redis.start_again();
        wait_ready(cluster.node(0), BACK_WITHIN).await;
        let what = format!("round {round}: bob stays gone once Redis is back");
        online_stays(&mut ann_socket, &what, PRESENCE_TTL * 2, |ids| exactly(ids, &[&ann])).await;
        missed.extend(send_dms(cluster.node(0), &ann, &bob, "after redis is back", 2).await);
        reconnect_and_catch_up(cluster.node(0), &bob, &ann, &last_seen, &missed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarted_twice_within_one_ttl_then_a_new_node_joins() {
    for round in 1..=rounds() {
        let (mut cluster, ann, bob, mut ann_socket, mut bob_socket, _) = two_nodes_in_conversation().await;
        cluster.redis.restart();
        tokio::time::sleep(HEARTBEAT / 2).await;
        cluster.redis.restart();
        let joined = Node::start(&cluster._database.url, &cluster.redis.url());
        cluster.nodes.push(joined);
        let cat = signup(cluster.node(2), "cat").await;
        let mut cat_socket = socket_on(cluster.node(2), &cat).await;
        for (socket, on) in [(&mut ann_socket, "A"), (&mut bob_socket, "B"), (&mut cat_socket, "C")] {
            let what = format!("round {round}: node {on} lists all three after two Redis restarts");
            expect_online_within(socket, &what, BACK_WITHIN, |ids| exactly(ids, &[&ann, &bob, &cat])).await;
        }
        for node in &cluster.nodes {
            wait_ready(node, BACK_WITHIN).await;
        }
        // Events cross between the new node and the old ones, both ways.
        send_dm(cluster.node(2), &cat, &ann, "from the new node").await;
        expect_message(&mut ann_socket, "from the new node").await;
        send_dm(cluster.node(1), &bob, &cat, "to the new node").await;
        expect_message(&mut cat_socket, "to the new node").await;
        send_dm(cluster.node(0), &ann, &bob, "between the old nodes").await;
        expect_message(&mut bob_socket, "between the old nodes").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_while_redis_is_down_serves_and_joins_once_redis_answers() {
    for round in 1..=rounds() {
        let mut cluster = Cluster::start(1).await;
        let ann = signup(cluster.node(0), "ann").await;
        let mut ann_socket = socket_on(cluster.node(0), &ann).await;
        cluster.redis.stop();

        let late = Node::start(&cluster._database.url, &cluster.redis.url());
        cluster.nodes.push(late);
        let b = cluster.node(1);
        let ready = Client::new().get(b.url("/readyz")).send().await.expect("readyz");
        assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "round {round}: not ready without Redis");
        let body: Value = ready.json().await.expect("json");
        assert_eq!((body["store"].as_str(), body["bus"].as_str()), (Some("ok"), Some("unreachable")), "{body}");
        // It serves what it can: accounts, stored messages and its own sockets.
        let bob = signup(b, "bob").await;
        let mut bob_socket = socket_on(b, &bob).await;
        send_dm(b, &bob, &ann, "stored while B is alone").await;

        cluster.redis.start_again();
        // Both nodes are back in the cluster (A lost Redis too): from here events cross.
        wait_ready(cluster.node(1), BACK_WITHIN).await;
        wait_ready(cluster.node(0), BACK_WITHIN).await;
        let what = format!("round {round}: A lists bob once B joined");
        expect_online_within(&mut ann_socket, &what, BACK_WITHIN, |ids| exactly(ids, &[&ann, &bob])).await;
        let what = format!("round {round}: B's socket, connected before B joined, lists ann");
        expect_online_within(&mut bob_socket, &what, BACK_WITHIN, |ids| exactly(ids, &[&ann, &bob])).await;
        send_dm(cluster.node(0), &ann, &bob, "from A to B").await;
        expect_message(&mut bob_socket, "from A to B").await;
        send_dm(cluster.node(1), &bob, &ann, "from B to A").await;
        expect_message(&mut ann_socket, "from B to A").await;
        let history = conversation(cluster.node(0), &ann, &bob, "").await;
        let texts: Vec<&str> = history.iter().filter_map(|m| m["text"].as_str()).collect();
        assert_eq!(texts, ["stored while B is alone", "from A to B", "from B to A"], "round {round}");
    }
}

/// Concurrent sends from `from` to `to` through one node, each recording what got a 2xx;
/// every sender stops at its first failure (the node went away).
struct Burst {
    senders: Vec<tokio::task::JoinHandle<Vec<(Value, String)>>>,
    acked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Burst {
    fn start(node: &Node, from: &User, to: &User) -> Self {
        const SENDERS: usize = 4;
        let url = node.url(&format!("/api/messages/send/{}", to.id));
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let senders = (0..SENDERS)
            .map(|sender| {
                let (http, url, acked) = (from.http.clone(), url.clone(), acked.clone());
                tokio::spawn(async move {
                    let mut stored = Vec::new();
                    for i in 0.. {
                        let text = format!("burst {sender}-{i}");
                        let Ok(response) = http.post(&url).json(&json!({"text": text})).send().await else { break };
                        if response.status() != StatusCode::CREATED {
                            break;
                        }
                        let Ok(message) = response.json::<Value>().await else { break };
                        stored.push((message["_id"].clone(), text));
                        acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    stored
                })
            })
            .collect();
        Self { senders, acked }
    }

    async fn wait_until_acknowledged(&self, n: usize) {
        while self.acked.load(std::sync::atomic::Ordering::SeqCst) < n {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Every `(id, text)` that got a 2xx, once all senders stopped.
    async fn acknowledged(self) -> Vec<(Value, String)> {
        let mut acknowledged = Vec::new();
        for sender in self.senders {
            acknowledged.extend(sender.await.expect("sender task"));
        }
        acknowledged
    }
}

/// Every acknowledged send of `from` is stored, each once, whichever node is asked.
async fn assert_stored_once(
    cluster: &Cluster,
    reader: &User,
    from: &User,
    after: &str,
    acknowledged: &[(Value, String)],
) {
    for node in &cluster.nodes {
        let page = conversation(node, reader, from, &format!("?after={after}&limit=1000")).await;
        let stored: Vec<(Value, String)> =
            page.iter().map(|m| (m["_id"].clone(), m["text"].as_str().unwrap_or_default().to_string())).collect();
        let mut texts: Vec<&String> = stored.iter().map(|(_, t)| t).collect();
        texts.sort();
        texts.dedup();
        assert_eq!(texts.len(), stored.len(), "a message stored twice");
        for sent in acknowledged {
            assert!(stored.contains(sent), "acknowledged {sent:?} is missing on {}", node.addr);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_burst_and_started_again_keeps_every_acknowledged_send_once() {
    for round in 1..=rounds() {
        let (mut cluster, ann, bob, mut ann_socket, bob_socket, last_seen) = two_nodes_in_conversation().await;
        let burst = Burst::start(cluster.node(1), &bob, &ann);
        burst.wait_until_acknowledged(20).await;
        cluster.nodes[1].kill();
        drop(bob_socket);
        let acknowledged = burst.acknowledged().await;
        let what = format!("round {round}: bob gone from A's list after B was killed");
        expect_online_within(&mut ann_socket, &what, GONE_WITHIN, |ids| exactly(ids, &[&ann])).await;

        cluster.nodes[1].restart();
        wait_ready(cluster.node(1), BACK_WITHIN).await;
        assert_stored_once(&cluster, &ann, &bob, &last_seen, &acknowledged).await;
        // Bob comes back on the restarted node, is listed, and stops counting when he leaves.
        let bob_again = socket_on(cluster.node(1), &bob).await;
        let what = format!("round {round}: bob listed again from the restarted node");
        expect_online_within(&mut ann_socket, &what, BACK_WITHIN, |ids| exactly(ids, &[&ann, &bob])).await;
        bob_again.disconnect().await;
        let what = format!("round {round}: bob gone once his last socket closed");
        expect_online_within(&mut ann_socket, &what, BACK_WITHIN, |ids| exactly(ids, &[&ann])).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_with_sigterm_mid_burst_drains_and_leaves_the_cluster_at_once() {
    for round in 1..=rounds() {
        let (mut cluster, ann, bob, mut ann_socket, bob_socket, last_seen) = two_nodes_in_conversation().await;
        let burst = Burst::start(cluster.node(1), &bob, &ann);
        burst.wait_until_acknowledged(20).await;
        let stopping = Instant::now();
        cluster.nodes[1].terminate();
        // Out of rotation at once: 503 while it drains, or no answer once it stopped listening.
        if let Ok(ready) = Client::new().get(cluster.node(1).url("/readyz")).send().await {
            assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE, "readyz while draining");
        }
        // It exits by itself, successfully, within SHUTDOWN_GRACE.
        let status = cluster.nodes[1].wait_exit(SHUTDOWN_GRACE + Duration::from_secs(5));
        assert!(status.success(), "exit status after SIGTERM: {status}");
        assert!(stopping.elapsed() < SHUTDOWN_GRACE + Duration::from_secs(5));
        // It withdrew its presence record on the way out instead of leaving it to expire.
        assert_eq!(cluster.redis.node_records(), 1, "round {round}: only node A's presence record is left");
        drop(bob_socket);
        expect_online_within(&mut ann_socket, &format!("round {round}: bob gone once B left"), GONE_WITHIN, |ids| {
            exactly(ids, &[&ann])
        })
        .await;

        let acknowledged = burst.acknowledged().await;
        cluster.nodes[1].restart();
        wait_ready(cluster.node(1), BACK_WITHIN).await;
        assert_stored_once(&cluster, &ann, &bob, &last_seen, &acknowledged).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_longer_than_the_ttl_hides_the_other_nodes_until_it_is_back() {
    for round in 1..=rounds() {
        let (mut cluster, ann, bob, mut ann_socket, mut bob_socket, _) = two_nodes_in_conversation().await;
        cluster.redis.stop();
        // Neither node can tell whether the other still lives: each lists its own users only
        // once the other's record would have expired.
        let what = format!("round {round}: A lists only ann while Redis is down");
        expect_online_within(&mut ann_socket, &what, GONE_WITHIN, |ids| exactly(ids, &[&ann])).await;
        let what = format!("round {round}: B lists only bob while Redis is down");
        expect_online_within(&mut bob_socket, &what, GONE_WITHIN, |ids| exactly(ids, &[&bob])).await;
        // Messages are stored and reach the handling node's own sockets.
        send_dm(cluster.node(0), &bob, &ann, "while redis is down").await;
        expect_message(&mut ann_socket, "while redis is down").await;

        cluster.redis.start_again();
        let what = format!("round {round}: A lists bob again once Redis is back");
        expect_online_within(&mut ann_socket, &what, BACK_WITHIN, |ids| exactly(ids, &[&ann, &bob])).await;
        let what = format!("round {round}: B lists ann again once Redis is back");
        expect_online_within(&mut bob_socket, &what, BACK_WITHIN, |ids| exactly(ids, &[&ann, &bob])).await;
        for node in &cluster.nodes {
            wait_ready(node, BACK_WITHIN).await;
        }
        send_dm(cluster.node(0), &ann, &bob, "across again").await;
        expect_message(&mut bob_socket, "across again").await;
    }
}
