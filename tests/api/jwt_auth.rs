//! The JWT-auth tutorial's client, replayed: signup with `{username, email, password,
//! roles?}`, signin with `{username, password}`, the role boards with `x-access-token`,
//! and `refreshtoken` rotation. Its client sends no cookies.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut request = Client::new().request(method, app.url(path));
    if let Some(token) = token {
        request = request.header("x-access-token", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn board(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, String) {
    call(app, reqwest::Method::GET, path, token, None).await
}

async fn signup(app: &TestApp, username: &str, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({"username": username, "email": format!("{username}@example.com"), "password": PASSWORD});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, text) = call(app, reqwest::Method::POST, "/api/auth/signup", None, Some(body)).await;
    (status, serde_json::from_str(&text).unwrap())
}

async fn signin(app: &TestApp, username: &str, password: &str) -> (StatusCode, Value) {
    let body = json!({"username": username, "password": password});
    let (status, text) = call(app, reqwest::Method::POST, "/api/auth/signin", None, Some(body)).await;
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn signup_and_signin_answer_in_the_shape_the_jwt_auth_client_reads_and_requested_roles_are_ignored() {
    let app = spawn_app().await;
    // The first account of an instance is its admin; the tutorial's users come after.
    app.register("owner").await;
    let (status, body) = signup(&app, "mallory", json!({"roles": ["admin", "moderator"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["message"], "User registered successfully!");
    assert_eq!(body["role"], "user", "a requested role is ignored");

    let (status, user) = signin(&app, "mallory", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["username"], "mallory");
    assert_eq!(user["email"], "mallory@example.com");
    assert_eq!(user["roles"], json!(["ROLE_USER"]));
    assert!(user["id"].as_str().is_some_and(|id| id == user["_id"].as_str().unwrap()));
    assert!(user["refreshToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert_no_secrets(&user);
    // The client decodes the token's payload and logs out when `exp * 1000 < Date.now()`.
    let token = user["accessToken"].as_str().unwrap();
    let payload = jwt_claims(token);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(payload["exp"].as_u64().is_some_and(|exp| exp > now), "{payload}");

    // The chat app's body still works on the same route, and both get the user back.
    let (status, body) = app
        .post(
            &cookie_client(),
            "/api/auth/signup",
            json!({"fullName": "Chat User", "email": "chat@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (body["fullName"].as_str(), body["message"].as_str()),
        (Some("Chat User"), Some("User registered successfully!"))
    );

    // Taken names and bad input: a status and a `message` the client shows.
    let (status, body) = signup(&app, "mallory", json!({"email": "other@example.com"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().is_some_and(|m| m.contains("already")), "{body}");
    let (status, body) = signup(&app, "x", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    signup(&app, "ann", json!({})).await;
    let (s1, mut wrong) = signin(&app, "ann", "not-the-password").await;
    let (s2, mut unknown) = signin(&app, "nobody", "not-the-password").await;
    assert_eq!((s1, s2), (StatusCode::BAD_REQUEST, StatusCode::BAD_REQUEST));
    wrong.as_object_mut().unwrap().remove("requestId");
    unknown.as_object_mut().unwrap().remove("requestId");
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["message"], "Invalid credentials");
}

#[tokio::test]
async fn the_boards_answer_plain_text_by_role_and_the_tutorials_messages_otherwise() {
    let app = spawn_app().await;
    signup(&app, "admin1", json!({})).await; // first account: admin
    signup(&app, "plain", json!({})).await;
    let (_, admin) = signin(&app, "admin1", PASSWORD).await;
    let (_, plain) = signin(&app, "plain", PASSWORD).await;
    assert_eq!(admin["roles"], json!(["ROLE_USER", "ROLE_MODERATOR", "ROLE_ADMIN"]));
    let (admin, plain) = (admin["accessToken"].as_str().unwrap(), plain["accessToken"].as_str().unwrap());

    assert_eq!(board(&app, "/api/test/all", None).await, (StatusCode::OK, "Public Content.".into()));
    assert_eq!(board(&app, "/api/test/user", Some(plain)).await, (StatusCode::OK, "User Content.".into()));
    assert_eq!(board(&app, "/api/test/admin", Some(admin)).await, (StatusCode::OK, "Admin Content.".into()));
    assert_eq!(board(&app, "/api/test/mod", Some(admin)).await, (StatusCode::OK, "Moderator Content.".into()));
    let message = |(status, body): (StatusCode, String)| {
        let body: Value = serde_json::from_str(&body).unwrap();
        (status, body["message"].as_str().unwrap().to_string())
    };
    assert_eq!(
        message(board(&app, "/api/test/user", None).await),
        (StatusCode::FORBIDDEN, "No token provided!".into())
    );
    assert_eq!(
        message(board(&app, "/api/test/user", Some("not.a.token")).await),
        (StatusCode::UNAUTHORIZED, "Unauthorized!".into())
    );
    assert_eq!(
        message(board(&app, "/api/test/mod", Some(plain)).await),
        (StatusCode::FORBIDDEN, "Require Moderator Role!".into())
    );
    assert_eq!(
        message(board(&app, "/api/test/admin", Some(plain)).await),
        (StatusCode::FORBIDDEN, "Require Admin Role!".into())
    );
    // Bearer works as well as x-access-token.
    let response = bearer(plain).get(app.url("/api/test/user")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn refreshtoken_rotates_and_a_reused_token_ends_the_session() {
    // No grace period: a second refresh of the same token is reuse at once.
    let app = spawn_app_with(|s| s.refresh_reuse_grace = std::time::Duration::ZERO).await;
    signup(&app, "ann", json!({})).await;
    let (_, user) = signin(&app, "ann", PASSWORD).await;
    let first = user["refreshToken"].as_str().unwrap().to_string();
    let (status, text) =
        call(&app, reqwest::Method::POST, "/api/auth/refreshtoken", None, Some(json!({"refreshToken": first}))).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let rotated: Value = serde_json::from_str(&text).unwrap();
    let second = rotated["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(second, first);
    let access = rotated["accessToken"].as_str().unwrap().to_string();
    let (status, _) = call(&app, reqwest::Method::GET, "/api/test/user", Some(&access), None).await;
    assert_eq!(status, StatusCode::OK);
    // The old token again: the whole family is revoked, the new one too.
    let (status, _) =
        call(&app, reqwest::Method::POST, "/api/auth/refreshtoken", None, Some(json!({"refreshToken": first}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) =
        call(&app, reqwest::Method::POST, "/api/auth/refreshtoken", None, Some(json!({"refreshToken": second}))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_jwt_auth_clients_origin_may_call_in_development() {
    let app = spawn_app_with(|s| s.cors_origins = None).await;
    let response = Client::new()
        .request(reqwest::Method::OPTIONS, app.url("/api/auth/signin"))
        .header("origin", "http://localhost:8081")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type,x-access-token")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(response.headers()["access-control-allow-origin"], "http://localhost:8081");
}
