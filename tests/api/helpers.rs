use std::net::SocketAddr;

use natter::config::Settings;
use natter::startup::{App, AppState};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "Sup3r-secret-pw";
/// A valid 1×1 PNG.
pub const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// The store a test binary runs its tests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
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
    configure(&mut settings);
    let app = App::build(settings).await.expect("app builds");
    let addr = app.addr();
    let state = app.state().clone();
    tokio::spawn(app.run_until_stopped());
    TestApp { addr, state, _database: database, _dir: dir }
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
