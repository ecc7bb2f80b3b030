use std::net::SocketAddr;

use natter::config::Settings;
use natter::startup::{App, AppState};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "Sup3r-secret-pw";
/// A valid 1×1 PNG.
pub const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// `PNG_1X1` as bytes.
pub fn png() -> Vec<u8> {
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, PNG_1X1).expect("base64")
}

/// The claims of a JWT, read without checking its signature.
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// The store a test binary runs its tests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test binary's apps store uploads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `DATA_DIR/uploads` (the default).
    Local,
    /// A fresh bucket per app on the binary's moto server (`moto()`).
    S3,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    /// The app's data directory (its uploads are under `uploads/` with local storage).
    pub dir: std::path::PathBuf,
    /// The app's bucket with S3 storage.
    pub bucket: Option<String>,
    _database: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

pub struct TestUser {
    /// A client whose cookie jar holds this user's `jwt` and `refreshToken`.
    pub client: Client,
    pub id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: String,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_test_logging();
    let dir = tempfile::tempdir().expect("temp dir");
    let database = match crate::BACKEND {
        Backend::Sqlite => None,
        Backend::Postgres => Some(TestDatabase::create().await),
    };
    let mut settings = Settings::for_tests();
    settings.data_dir = dir.path().to_path_buf();
    settings.database_url = database.as_ref().map(|d| d.url.clone());
    let bucket = match crate::STORAGE {
        Storage::Local => None,
        Storage::S3 => {
            let endpoint = moto().to_string();
            let bucket = create_bucket(&endpoint).await;
            use_s3(&mut settings, &endpoint, &bucket);
            Some(bucket)
        }
    };
    configure(&mut settings);
    let app = App::build(settings).await.expect("app builds");
    let addr = app.addr();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp { addr, state, dir: dir.path().to_path_buf(), bucket, _database: database, _dir: dir }
}

/// Points `settings` at `bucket` on the S3-compatible server at `endpoint`, under a prefix.
pub fn use_s3(settings: &mut Settings, endpoint: &str, bucket: &str) {
    settings.storage_url = Some(format!("s3://{bucket}/natter"));
    settings.storage_s3_endpoint = Some(endpoint.to_string());
    settings.storage_s3_region = Some("us-east-1".into());
    settings.storage_s3_access_key_id = Some("testing".into());
    settings.storage_s3_secret_access_key = Some("testing".into());
}

/// A new, randomly named bucket on the S3-compatible server at `endpoint`.
pub async fn create_bucket(endpoint: &str) -> String {
    let bucket = format!("natter-{}", uuid::Uuid::new_v4().simple());
    let response = Client::new().put(format!("{endpoint}/{bucket}")).send().await.expect("moto answers");
    assert!(response.status().is_success(), "creating bucket {bucket}: {}", response.status());
    bucket
}

/// The moto version the S3 tests run against (PyPI `moto[server]`).
pub const MOTO_VERSION: &str = "5.2.6";

/// `moto_server`: `MOTO_SERVER` if set, else a virtualenv under `target/` with the pinned
/// `moto[server]`, installed from PyPI on first use.
fn moto_server_bin() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return path.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let venv = target.join(format!("moto-{MOTO_VERSION}"));
    let bin = venv.join("bin/moto_server");
    // Tests that start their own moto (to stop it) race the shared one to the first install.
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !bin.exists() {
        // A venv an interrupted install left behind is started over.
        let _ = std::fs::remove_dir_all(&venv);
        let run = |program: &std::path::Path, args: &[&str]| {
            let status = std::process::Command::new(program).args(args).status();
            assert!(
                status.as_ref().is_ok_and(|s| s.success()),
                "{} {args:?} failed ({status:?}): the S3 tests need python3 with venv and pip, and PyPI",
                program.display()
            );
        };
        run(std::path::Path::new("python3"), &["-m", "venv", venv.to_str().expect("utf-8 path")]);
        let spec = format!("moto[server]=={MOTO_VERSION}");
        run(&venv.join("bin/pip"), &["install", "--quiet", "--disable-pip-version-check", &spec]);
    }
    bin
}

/// A moto server on a free port of 127.0.0.1, for the life of the test process (a thread
/// of its own holds it: the server is killed when that thread's process exits). Returns
/// its endpoint and pid.
pub fn start_moto() -> (String, i32) {
    let bin = moto_server_bin();
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::os::unix::process::CommandExt;
        let mut command = std::process::Command::new(&bin);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        // SAFETY: prctl is async-signal-safe; it only sets the child's parent-death signal.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = command.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        tx.send(child.id() as i32).expect("send pid");
        let _ = child.wait();
        // Keep this thread (the child's parent) alive while the process runs.
        loop {
            std::thread::park();
        }
    });
    let pid = rx.recv().expect("moto started");
    let endpoint = format!("http://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "moto_server did not listen on {port} within 60 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    (endpoint, pid)
}

/// The test process's shared moto server.
pub fn moto() -> &'static str {
    static MOTO: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MOTO.get_or_init(|| start_moto().0)
}

/// The PostgreSQL server the `api_postgres` tests use.
pub fn postgres_server_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A randomly named database on the test PostgreSQL server, dropped (connections and all)
/// when the test ends, so that runs never see each other's data.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
        let admin_url = postgres_server_url();
        let name = format!("natter_test_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is needed at {admin_url} for this test ({e}); start it, or point \
                 TEST_DATABASE_URL at another server"
            )
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create test database");
        admin.close().await;
        let (prefix, _) = admin_url.rsplit_once('/').expect("TEST_DATABASE_URL ends with /<database>");
        Self { url: format!("{prefix}/{name}"), name, admin_url }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime: do the async cleanup on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&admin).await;
                    admin.close().await;
                }
            });
        })
        .join();
    }
}

fn init_test_logging() {
    if std::env::var_os("TEST_LOG").is_some() {
        natter::telemetry::init(natter::config::LogFormat::Text, "debug");
    }
}

pub fn cookie_client() -> Client {
    Client::builder().cookie_store(true).build().expect("client")
}

/// Fails the test if a body carries a password or a password hash, under any key. Field
/// names inside a validation error's `errors` map (`"password": "too_short"`) are fine.
pub fn assert_no_secrets(body: &Value) {
    check_secrets(body, false);
}

fn check_secrets(body: &Value, in_errors: bool) {
    match body {
        Value::Object(map) => {
            for (key, value) in map {
                let k = key.to_lowercase();
                assert!(!k.contains("hash"), "response exposes `{key}`: {body}");
                assert!(in_errors || !k.contains("password"), "response exposes `{key}`: {body}");
                check_secrets(value, key == "errors");
            }
        }
        Value::Array(items) => items.iter().for_each(|v| check_secrets(v, false)),
        Value::String(s) => assert!(!s.starts_with("$argon2") && !s.starts_with("$2"), "response exposes a hash: {s}"),
        _ => {}
    }
}

/// The status and JSON body of a response; every body is checked for secrets, and every
/// error body for the one error shape.
pub async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    assert!(!text.contains(PASSWORD), "a response contains a password in clear: {text}");
    let body: Value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {text}"))
    };
    assert_no_secrets(&body);
    if status.is_client_error() || status.is_server_error() {
        assert_error_shape(status, &body);
    }
    (status, body)
}

pub fn assert_error_shape(status: StatusCode, body: &Value) {
    assert_eq!(body["success"], json!(false), "error body: {body}");
    assert_eq!(body["statusCode"], json!(status.as_u16()), "error body: {body}");
    assert!(body["code"].as_str().is_some_and(|c| !c.is_empty()), "error body without code: {body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "error body without message: {body}");
}

impl TestApp {
    /// A second node on this app's store (and JWT secret, kept in its DATA_DIR).
    pub async fn second_node(&self) -> TestApp {
        let settings = self.state.settings.clone();
        spawn_app_with(|s| {
            s.data_dir = settings.data_dir.clone();
            s.database_url = settings.database_url.clone();
        })
        .await
    }

    /// Runs `sql` (text arguments `$1`, `$2`, …) on the app's store behind natter's back, as
    /// another program or node would; the number of rows it changed.
    pub async fn execute_sql(&self, sql: &'static str, binds: &[&str]) -> u64 {
        use sqlx::ConnectOptions;
        match &self.state.db {
            natter::db::Db::Sqlite(store) => {
                let mut conn =
                    sqlx::sqlite::SqliteConnectOptions::new().filename(store.path()).connect().await.unwrap();
                let query = binds.iter().fold(sqlx::query(sql), |q, b| q.bind(*b));
                query.execute(&mut conn).await.unwrap().rows_affected()
            }
            natter::db::Db::Postgres(pg) => {
                let query = binds.iter().fold(sqlx::query(sql), |q, b| q.bind(*b));
                query.execute(&pg.pool).await.unwrap().rows_affected()
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn request(
        &self,
        client: &Client,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = client.request(method, self.url(path));
        if let Some(body) = body {
            req = req.json(&body);
        }
        json_of(req.send().await.expect("request sent")).await
    }

    pub async fn get(&self, client: &Client, path: &str) -> (StatusCode, Value) {
        self.request(client, Method::GET, path, None).await
    }

    pub async fn post(&self, client: &Client, path: &str, body: Value) -> (StatusCode, Value) {
        self.request(client, Method::POST, path, Some(body)).await
    }

    /// Signs up `name` (email `<name>@example.com`) and logs in, returning a cookie client.
    pub async fn register(&self, name: &str) -> TestUser {
        let client = cookie_client();
        let email = format!("{name}@example.com");
        let (status, body) = self
            .post(&client, "/api/auth/signup", json!({"fullName": name, "email": email, "password": PASSWORD}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "signup {name}: {body}");
        self.login_as(&email, client).await
    }

    pub async fn login_as(&self, email: &str, client: Client) -> TestUser {
        let (status, body) = self.post(&client, "/api/auth/login", json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        TestUser {
            client,
            id: body["_id"].as_str().expect("_id").to_string(),
            email: email.to_string(),
            access_token: body["accessToken"].as_str().expect("accessToken").to_string(),
            refresh_token: body["refreshToken"].as_str().expect("refreshToken").to_string(),
        }
    }

    /// Sends a direct message and returns it.
    pub async fn send_text(&self, from: &TestUser, to: &TestUser, text: &str) -> Value {
        let (status, body) =
            self.post(&from.client, &format!("/api/messages/send/{}", to.id), json!({"text": text})).await;
        assert_eq!(status, StatusCode::CREATED, "send: {body}");
        body
    }
}

/// A client without cookies that authenticates with `Authorization: Bearer`.
pub fn bearer(token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().expect("header"));
    Client::builder().default_headers(headers).build().expect("client")
}

/// The `Set-Cookie` header for `name`, if the response has one.
pub fn set_cookie<'a>(response: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
}
