//! The video-platform tutorial's `/api/v1` (so far its health check and session routes),
//! requests as its clients send them, on the same accounts as the chat.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

/// `{statusCode, data, message, success}` of a success.
fn assert_envelope(status: StatusCode, body: &Value) {
    assert_eq!(body["statusCode"], status.as_u16(), "{body}");
    assert_eq!(body["success"], true, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body.get("data").is_some(), "{body}");
}

/// An error in the tutorial's envelope: `data` null and the sentences in `errors`.
fn assert_error_envelope(status: StatusCode, body: &Value) {
    assert_eq!(body["statusCode"], status.as_u16(), "{body}");
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["data"], Value::Null, "{body}");
    assert!(body["errors"].is_array(), "{body}");
}

async fn signup(app: &TestApp, username: &str) -> String {
    let email = format!("{username}@example.com");
    let body = json!({"fullName": "Vid Eo", "email": email, "username": username, "password": PASSWORD});
    let (status, created) = app.post(&Client::new(), "/api/auth/signup", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    email
}

#[tokio::test]
async fn the_health_check_answers_in_the_envelope() {
    let app = spawn_app().await;
    let (status, body) = app.get(&Client::new(), "/api/v1/healthcheck").await;
    assert_eq!(status, StatusCode::OK);
    assert_envelope(status, &body);
    assert_eq!(body["data"]["status"], "OK");
}

#[tokio::test]
async fn login_by_email_or_username_sets_the_tutorials_cookies_and_hides_secrets() {
    let app = spawn_app().await;
    let email = signup(&app, "Creator_One").await;
    for identifier in [json!({"email": email}), json!({"username": "creator_one"})] {
        let client = cookie_client();
        let mut body = identifier.clone();
        body["password"] = json!(PASSWORD);
        let response = client.post(app.url("/api/v1/users/login")).json(&body).send().await.unwrap();
        let cookies: Vec<String> =
            response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        for name in ["accessToken=", "refreshToken="] {
            let cookie = cookies.iter().find(|c| c.starts_with(name)).unwrap_or_else(|| panic!("{name} {cookies:?}"));
            assert!(cookie.contains("HttpOnly"), "{cookie}");
        }
        let (status, body) = json_of(response).await;
        assert_eq!(status, StatusCode::OK, "{identifier}: {body}");
        assert_envelope(status, &body);
        let user = &body["data"]["user"];
        assert_eq!(user["username"], "creator_one", "stored lower-case");
        assert_eq!(user["email"], email.to_lowercase());
        assert_eq!(user["watchHistory"], json!([]));
        for key in ["_id", "fullName", "avatar", "coverImage", "createdAt", "updatedAt"] {
            assert!(user.get(key).is_some(), "{key}: {user}");
        }
        assert!(user.get("password").is_none() && user.get("refreshToken").is_none(), "{user}");
        let access = body["data"]["accessToken"].as_str().unwrap();
        // The cookie alone, the bearer token alone, and the chat's own routes.
        let (status, me) = app.get(&client, "/api/v1/users/current-user").await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["data"]["_id"], user["_id"]);
        let (status, _) = app.get(&bearer(access), "/api/v1/users/current-user").await;
        assert_eq!(status, StatusCode::OK);
        let (status, chat_me) = app.get(&bearer(access), "/api/auth/check").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(chat_me["_id"], user["_id"], "one account for both");
    }
}

#[tokio::test]
async fn bad_requests_get_the_envelope_with_a_reason() {
    let app = spawn_app().await;
    let email = signup(&app, "creator").await;
    let c = Client::new();
    let cases: [(&str, Value, StatusCode); 4] = [
        ("/api/v1/users/login", json!({"email": email, "password": "wrong-password-1"}), StatusCode::BAD_REQUEST),
        ("/api/v1/users/login", json!({"password": PASSWORD}), StatusCode::BAD_REQUEST),
        ("/api/v1/users/login", json!({"email": "nobody@example.com", "password": PASSWORD}), StatusCode::BAD_REQUEST),
        ("/api/v1/users/refresh-token", json!({"refreshToken": "undefined"}), StatusCode::UNAUTHORIZED),
    ];
    for (path, body, expected) in cases {
        let (status, err) = app.post(&c, path, body.clone()).await;
        assert_eq!(status, expected, "{path} {body}: {err}");
        assert_error_envelope(status, &err);
    }
    let (_, err) = app.post(&c, "/api/v1/users/login", json!({"password": PASSWORD})).await;
    assert_eq!(err["errors"][0], "Email or username is required", "{err}");
    let response = c
        .post(app.url("/api/v1/users/login"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, err) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error_envelope(status, &err);
    let response = c.post(app.url("/api/v1/users/login")).form(&[("email", email.as_str())]).send().await.unwrap();
    let (status, err) = json_of(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error_envelope(status, &err);
}

#[tokio::test]
async fn refresh_rotates_by_cookie_or_body_and_reuse_ends_the_session() {
    // No grace period: a second refresh of the same token is reuse at once.
    let app = spawn_app_with(|s| s.refresh_reuse_grace = std::time::Duration::ZERO).await;
    let email = signup(&app, "creator").await;
    let client = cookie_client();
    let (_, login) = app.post(&client, "/api/v1/users/login", json!({"email": email, "password": PASSWORD})).await;
    let first = login["data"]["refreshToken"].as_str().unwrap().to_string();
    // By cookie (no body).
    let response = client.post(app.url("/api/v1/users/refresh-token")).send().await.unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_envelope(status, &body);
    let second = body["data"]["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    // By body.
    let (status, body) = app.post(&Client::new(), "/api/v1/users/refresh-token", json!({"refreshToken": second})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let third = body["data"]["refreshToken"].as_str().unwrap().to_string();
    let access = body["data"]["accessToken"].as_str().unwrap().to_string();
    // The first token again: the whole session is revoked, the newest token with it.
    let (status, err) = app.post(&Client::new(), "/api/v1/users/refresh-token", json!({"refreshToken": first})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    assert_error_envelope(status, &err);
    let (status, _) = app.post(&Client::new(), "/api/v1/users/refresh-token", json!({"refreshToken": third})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.get(&bearer(&access), "/api/v1/users/current-user").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_revokes_the_session_and_clears_the_cookies() {
    let app = spawn_app().await;
    let email = signup(&app, "creator").await;
    let client = cookie_client();
    let (_, login) = app.post(&client, "/api/v1/users/login", json!({"email": email, "password": PASSWORD})).await;
    let access = login["data"]["accessToken"].as_str().unwrap().to_string();
    let refresh = login["data"]["refreshToken"].as_str().unwrap().to_string();
    let response = client.post(app.url("/api/v1/users/logout")).send().await.unwrap();
    let cleared: Vec<String> =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    for name in ["accessToken=;", "refreshToken=;"] {
        assert!(cleared.iter().any(|c| c.starts_with(name) && c.contains("Max-Age=0")), "{name} {cleared:?}");
    }
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_envelope(status, &body);
    let (status, _) = app.get(&bearer(&access), "/api/v1/users/current-user").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the access token's session is gone");
    let (status, _) = app.post(&Client::new(), "/api/v1/users/refresh-token", json!({"refreshToken": refresh})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Logging out again, or with no token at all, is fine.
    let (status, _) = app.post(&Client::new(), "/api/v1/users/logout", json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn change_password_needs_the_old_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let email = signup(&app, "creator").await;
    let login = |password: &'static str| {
        let app = &app;
        let email = email.clone();
        async move { app.post(&Client::new(), "/api/v1/users/login", json!({"email": email, "password": password})).await }
    };
    let (_, here) = login(PASSWORD).await;
    let (_, elsewhere) = login(PASSWORD).await;
    let here = bearer(here["data"]["accessToken"].as_str().unwrap());
    let elsewhere = bearer(elsewhere["data"]["accessToken"].as_str().unwrap());
    let path = "/api/v1/users/change-password";
    let (status, err) =
        app.post(&here, path, json!({"oldPassword": "not-it-at-all", "newPassword": "An0ther-pw-123"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_error_envelope(status, &err);
    let (status, err) = app.post(&here, path, json!({"oldPassword": PASSWORD, "newPassword": "short"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, body) = app.post(&here, path, json!({"oldPassword": PASSWORD, "newPassword": "An0ther-pw-123"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_envelope(status, &body);
    assert_eq!(app.get(&here, "/api/v1/users/current-user").await.0, StatusCode::OK, "this session stays");
    assert_eq!(app.get(&elsewhere, "/api/v1/users/current-user").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(login(PASSWORD).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(login("An0ther-pw-123").await.0, StatusCode::OK);
}

/// Who may call what: every route so far × {anonymous, another user, the owner} → status.
/// The owner owns the video and the channel; "another user" is signed in but owns nothing.
#[tokio::test]
async fn authorization_table() {
    let app = spawn_app().await;
    let (owner_id, owner) = channel_user(&app, "owner_tube").await;
    let (other_id, other) = channel_user(&app, "other_tube").await;
    let (status, video) = publish(&app, &owner, video_form("Mine", mp4_video(1000, 10))).await;
    assert_eq!(status, StatusCode::CREATED, "{video}");
    let vid = video["data"]["_id"].as_str().unwrap().to_string();
    let (_, hidden) = publish(&app, &owner, video_form("Hidden", mp4_video(1000, 10))).await;
    let hidden = hidden["data"]["_id"].as_str().unwrap().to_string();
    app.request(&owner, Method::PATCH, &format!("/api/v1/videos/toggle/publish/{hidden}"), None).await;
    let (_, flip) = publish(&app, &owner, video_form("Flip", mp4_video(1000, 10))).await;
    let flip = flip["data"]["_id"].as_str().unwrap().to_string();

    let (_, comment) = app.post(&owner, &format!("/api/v1/comments/{vid}"), json!({"content": "first"})).await;
    let cid = comment["data"]["_id"].as_str().unwrap().to_string();
    let (_, tweet) = app.post(&owner, "/api/v1/tweets", json!({"content": "hello"})).await;
    let tid = tweet["data"]["_id"].as_str().unwrap().to_string();
    let text = Some(json!({"content": "text"}));
    let created = StatusCode::CREATED;
    let (_, playlist) = app.post(&owner, "/api/v1/playlist", json!({"name": "Mine"})).await;
    let pid = playlist["data"]["_id"].as_str().unwrap().to_string();
    use StatusCode as S;
    let (ok, bad, unauth, forbidden, missing, unsupported) =
        (S::OK, S::BAD_REQUEST, S::UNAUTHORIZED, S::FORBIDDEN, S::NOT_FOUND, S::UNSUPPORTED_MEDIA_TYPE);
    let wrong_pw = json!({"oldPassword": "wrong-password-1", "newPassword": "An0ther-pw-123"});
    // (method, path, JSON body, anonymous, other user, owner)
    let table: Vec<(Method, String, Option<Value>, [StatusCode; 3])> = vec![
        (Method::GET, "/api/v1/healthcheck".into(), None, [ok, ok, ok]),
        // Public routes, with bodies that cannot succeed: the same answer for everyone.
        (Method::POST, "/api/v1/users/register".into(), Some(json!({})), [unsupported, unsupported, unsupported]),
        (Method::POST, "/api/v1/users/login".into(), Some(json!({"username": "owner_tube"})), [bad, bad, bad]),
        (
            Method::POST,
            "/api/v1/users/refresh-token".into(),
            Some(json!({"refreshToken": "x"})),
            [unauth, unauth, unauth],
        ),
        (Method::GET, "/api/v1/users/current-user".into(), None, [unauth, ok, ok]),
        (Method::POST, "/api/v1/users/change-password".into(), Some(wrong_pw), [unauth, bad, bad]),
        (Method::PATCH, "/api/v1/users/update-account".into(), Some(json!({"fullName": "F"})), [unauth, bad, bad]),
        (Method::PATCH, "/api/v1/users/avatar".into(), Some(json!({})), [unauth, unsupported, unsupported]),
        (Method::PATCH, "/api/v1/users/cover-image".into(), Some(json!({})), [unauth, unsupported, unsupported]),
        (Method::GET, "/api/v1/users/history".into(), None, [unauth, ok, ok]),
        (Method::GET, "/api/v1/users/c/owner_tube".into(), None, [unauth, ok, ok]),
        (Method::GET, format!("/api/v1/subscriptions/c/{owner_id}"), None, [unauth, ok, ok]),
        (Method::GET, format!("/api/v1/subscriptions/u/{other_id}"), None, [unauth, ok, ok]),
        // Subscribing to the owner's channel: the owner cannot subscribe to their own.
        (Method::POST, format!("/api/v1/subscriptions/c/{owner_id}"), Some(json!({})), [unauth, ok, bad]),
        (Method::GET, "/api/v1/videos".into(), None, [unauth, ok, ok]),
        (Method::POST, "/api/v1/videos".into(), Some(json!({})), [unauth, unsupported, unsupported]),
        (Method::GET, format!("/api/v1/videos/{vid}"), None, [unauth, ok, ok]),
        (Method::GET, format!("/api/v1/videos/{hidden}"), None, [unauth, missing, ok]),
        (Method::PATCH, format!("/api/v1/videos/{vid}"), Some(json!({})), [unauth, unsupported, unsupported]),
        (Method::GET, format!("/api/v1/comments/{vid}"), None, [unauth, ok, ok]),
        (Method::POST, format!("/api/v1/comments/{vid}"), text.clone(), [unauth, created, created]),
        (Method::PATCH, format!("/api/v1/comments/c/{cid}"), text.clone(), [unauth, forbidden, ok]),
        (Method::POST, format!("/api/v1/likes/toggle/c/{cid}"), None, [unauth, ok, ok]),
        (Method::DELETE, format!("/api/v1/comments/c/{cid}"), None, [unauth, forbidden, ok]),
        (Method::POST, "/api/v1/tweets".into(), text.clone(), [unauth, created, created]),
        (Method::GET, format!("/api/v1/tweets/user/{owner_id}"), None, [unauth, ok, ok]),
        (Method::PATCH, format!("/api/v1/tweets/{tid}"), text.clone(), [unauth, forbidden, ok]),
        (Method::POST, format!("/api/v1/likes/toggle/t/{tid}"), None, [unauth, ok, ok]),
        (Method::DELETE, format!("/api/v1/tweets/{tid}"), None, [unauth, forbidden, ok]),
        (Method::POST, format!("/api/v1/likes/toggle/v/{vid}"), None, [unauth, ok, ok]),
        (Method::GET, "/api/v1/likes/videos".into(), None, [unauth, ok, ok]),
        (Method::POST, "/api/v1/playlist".into(), Some(json!({"name": "P"})), [unauth, created, created]),
        (Method::GET, format!("/api/v1/playlist/{pid}"), None, [unauth, ok, ok]),
        (Method::GET, format!("/api/v1/playlist/user/{owner_id}"), None, [unauth, ok, ok]),
        (Method::PATCH, format!("/api/v1/playlist/add/{vid}/{pid}"), None, [unauth, forbidden, ok]),
        (Method::PATCH, format!("/api/v1/playlist/remove/{vid}/{pid}"), None, [unauth, forbidden, ok]),
        (Method::PATCH, format!("/api/v1/playlist/{pid}"), Some(json!({"name": "Q"})), [unauth, forbidden, ok]),
        (Method::DELETE, format!("/api/v1/playlist/{pid}"), None, [unauth, forbidden, ok]),
        (Method::GET, "/api/v1/dashboard/stats".into(), None, [unauth, ok, ok]),
        (Method::GET, "/api/v1/dashboard/videos".into(), None, [unauth, ok, ok]),
        (Method::DELETE, format!("/api/v1/videos/{hidden}"), None, [unauth, missing, ok]),
        (Method::PATCH, format!("/api/v1/videos/toggle/publish/{flip}"), None, [unauth, forbidden, ok]),
        (Method::DELETE, format!("/api/v1/videos/{vid}"), None, [unauth, forbidden, ok]),
        (Method::POST, "/api/v1/users/logout".into(), Some(json!({})), [ok, ok, ok]),
    ];
    for (method, path, body, expected) in table {
        for (who, client, status) in [
            ("anonymous", Client::new(), expected[0]),
            ("other", other.clone(), expected[1]),
            ("owner", owner.clone(), expected[2]),
        ] {
            let (got, response) = app.request(&client, method.clone(), &path, body.clone()).await;
            assert_eq!(got, status, "{who} {method} {path}: {response}");
            if got.is_client_error() {
                assert_error_envelope(got, &response);
            }
        }
    }
}

/// A registration form as multer clients send it (text fields and files in any order).
fn register_form(username: &str, with_avatar: bool) -> reqwest::multipart::Form {
    use reqwest::multipart::{Form, Part};
    let mut form = Form::new()
        .part("coverImage", Part::bytes(png()).file_name("cover.png").mime_str("image/png").unwrap())
        .text("fullName", "Channel Owner")
        .text("email", format!("{username}@example.com"))
        .text("username", username.to_string())
        .text("password", PASSWORD);
    if with_avatar {
        form = form.part("avatar", Part::bytes(png()).file_name("me.png").mime_str("image/png").unwrap());
    }
    form
}

async fn register(app: &TestApp, form: reqwest::multipart::Form) -> (StatusCode, Value) {
    json_of(Client::new().post(app.url("/api/v1/users/register")).multipart(form).send().await.unwrap()).await
}

fn stored_files(app: &TestApp) -> usize {
    crate::uploads::files_under(&app.dir.join("uploads")).len()
}

#[tokio::test]
async fn register_takes_a_multipart_form_with_an_avatar_and_signs_in_to_the_chat_too() {
    let app = spawn_app().await;
    let (status, body) = register(&app, register_form("New_Channel", true)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_envelope(status, &body);
    let user = &body["data"];
    assert_eq!(user["username"], "new_channel");
    assert!(user.get("password").is_none() && user.get("refreshToken").is_none(), "{user}");
    for key in ["avatar", "coverImage"] {
        let url = user[key].as_str().unwrap();
        let response = reqwest::get(app.url(url)).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{key} is public: {url}");
        assert_eq!(response.headers()["content-type"], "image/png");
    }
    assert_eq!(stored_files(&app), 2);
    // The same account logs in to the chat, whose profilePic is the avatar.
    let chat = cookie_client();
    let (status, me) =
        app.post(&chat, "/api/auth/login", json!({"email": "new_channel@example.com", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["profilePic"], user["avatar"]);
}

#[tokio::test]
async fn a_registration_that_fails_keeps_no_file_and_no_account() {
    let app = spawn_app().await;
    let (status, err) = register(&app, register_form("no_avatar", false)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_error_envelope(status, &err);
    assert!(err["errors"].as_array().unwrap().iter().any(|e| e == "Avatar file is required"), "{err}");
    assert_eq!(stored_files(&app), 0, "the cover that arrived first is deleted");

    let (status, _) = register(&app, register_form("taken", true)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, err) = register(&app, register_form("taken", true)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_error_envelope(status, &err);
    assert_eq!(stored_files(&app), 2, "only the first registration's files");

    use reqwest::multipart::Part;
    let not_image =
        register_form("pdf_avatar", false).part("avatar", Part::bytes(b"%PDF-1.4".to_vec()).file_name("a.png"));
    let (status, err) = register(&app, not_image).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["code"], "invalid_image");
    let missing = reqwest::multipart::Form::new().text("email", "x@example.com");
    let (status, err) = register(&app, missing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["errors"].as_array().unwrap().len(), 4, "fullName, username, password, avatar: {err}");
    assert_eq!(stored_files(&app), 2);
    let (status, _) =
        app.post(&Client::new(), "/api/v1/users/login", json!({"username": "pdf_avatar", "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "no account was made");
}

#[tokio::test]
async fn account_avatar_and_cover_change_for_the_caller() {
    let app = spawn_app().await;
    let email = signup(&app, "creator").await;
    signup(&app, "other").await;
    let (_, login) =
        app.post(&Client::new(), "/api/v1/users/login", json!({"email": email, "password": PASSWORD})).await;
    let me = bearer(login["data"]["accessToken"].as_str().unwrap());
    let (status, body) = app
        .request(
            &me,
            Method::PATCH,
            "/api/v1/users/update-account",
            Some(json!({"fullName": "Renamed", "email": "NEW@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["fullName"], "Renamed");
    assert_eq!(body["data"]["email"], "new@example.com");
    let (status, err) = app
        .request(
            &me,
            Method::PATCH,
            "/api/v1/users/update-account",
            Some(json!({"fullName": "X", "email": "other@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    let (status, err) =
        app.request(&me, Method::PATCH, "/api/v1/users/update-account", Some(json!({"fullName": "X"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_error_envelope(status, &err);

    use reqwest::multipart::{Form, Part};
    for (path, field, key) in
        [("/api/v1/users/avatar", "avatar", "avatar"), ("/api/v1/users/cover-image", "coverImage", "coverImage")]
    {
        let form = Form::new().part(field, Part::bytes(png()).file_name("x.png"));
        let (status, body) = json_of(me.patch(app.url(path)).multipart(form).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let url = body["data"][key].as_str().unwrap();
        assert!(url.starts_with("/uploads/"), "{url}");
        assert_eq!(reqwest::get(app.url(url)).await.unwrap().status(), StatusCode::OK);
        let form = Form::new().part("wrong", Part::bytes(png()).file_name("x.png"));
        let (status, err) = json_of(me.patch(app.url(path)).multipart(form).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {err}");
        assert_error_envelope(status, &err);
    }
    let (_, current) = app.get(&me, "/api/v1/users/current-user").await;
    let (_, chat) = app.get(&me, "/api/auth/check").await;
    assert_eq!(chat["profilePic"], current["data"]["avatar"], "one picture for both");
}

/// Signs up `username` and logs in on `/api/v1`: its id and a bearer client.
async fn channel_user(app: &TestApp, username: &str) -> (String, Client) {
    let email = signup(app, username).await;
    let (_, login) =
        app.post(&Client::new(), "/api/v1/users/login", json!({"email": email, "password": PASSWORD})).await;
    (login["data"]["user"]["_id"].as_str().unwrap().to_string(), bearer(login["data"]["accessToken"].as_str().unwrap()))
}

#[tokio::test]
async fn subscriptions_toggle_race_free_and_show_in_profiles_and_pages() {
    let app = spawn_app().await;
    let (chan_id, chan) = channel_user(&app, "the_channel").await;
    let mut fans = Vec::new();
    for i in 0..12 {
        fans.push(channel_user(&app, &format!("fan_{i}")).await);
    }
    let toggle = format!("/api/v1/subscriptions/c/{chan_id}");
    for (_, fan) in &fans {
        let (status, body) = app.post(fan, &toggle, json!({})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["data"]["subscribed"], true);
    }
    // Concurrent toggles by one user: every one succeeds, none stores a duplicate, and the
    // profile agrees with the count whatever order they ran in.
    let (_, fan0) = &fans[0];
    let answers = futures::future::join_all((0..6).map(|_| app.post(fan0, &toggle, json!({})))).await;
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::OK), "{answers:?}");
    let (_, seen) = app.get(fan0, "/api/v1/users/c/the_channel").await;
    let on = seen["data"]["isSubscribed"] == true;
    assert_eq!(seen["data"]["subscribersCount"], if on { 12 } else { 11 }, "{seen}");
    if !on {
        app.post(fan0, &toggle, json!({})).await;
    }
    let (status, profile) = app.get(&fans[1].1, "/api/v1/users/c/The_Channel").await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_envelope(status, &profile);
    assert_eq!(profile["data"]["subscribersCount"], 12);
    assert_eq!(profile["data"]["channelsSubscribedToCount"], 0);
    assert_eq!(profile["data"]["isSubscribed"], true);
    let (_, own) = app.get(&chan, "/api/v1/users/c/the_channel").await;
    assert_eq!(own["data"]["isSubscribed"], false);
    let (_, fan_profile) = app.get(&chan, "/api/v1/users/c/fan_1").await;
    assert_eq!(fan_profile["data"]["channelsSubscribedToCount"], 1);

    // Pages in mongoose-aggregate-paginate-v2's shape.
    let (status, page) = app.get(&chan, &format!("/api/v1/subscriptions/c/{chan_id}?page=2&limit=5")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let data = &page["data"];
    assert_eq!(data["docs"].as_array().unwrap().len(), 5);
    assert_eq!(data["totalDocs"], 12);
    assert_eq!(
        (data["page"].clone(), data["limit"].clone(), data["totalPages"].clone()),
        (json!(2), json!(5), json!(3))
    );
    assert_eq!(data["pagingCounter"], 6);
    assert_eq!((data["hasPrevPage"].clone(), data["hasNextPage"].clone()), (json!(true), json!(true)));
    assert_eq!((data["prevPage"].clone(), data["nextPage"].clone()), (json!(1), json!(3)));
    let doc = &data["docs"][0];
    assert!(doc["username"].as_str().unwrap().starts_with("fan_") && doc.get("email").is_none(), "{doc}");
    let (_, last) = app.get(&chan, &format!("/api/v1/subscriptions/c/{chan_id}?page=3&limit=5")).await;
    assert_eq!(last["data"]["docs"].as_array().unwrap().len(), 2);
    assert_eq!(last["data"]["nextPage"], Value::Null);
    let (_, following) = app.get(&chan, &format!("/api/v1/subscriptions/u/{}", fans[3].0)).await;
    assert_eq!(following["data"]["docs"][0]["_id"], chan_id.as_str());
    assert_eq!(following["data"]["totalDocs"], 1);

    // Bad input.
    let (status, err) = app.post(&chan, &toggle, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "own channel: {err}");
    assert_error_envelope(status, &err);
    let (status, _) = app.post(&chan, "/api/v1/subscriptions/c/not-an-id", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.post(&chan, "/api/v1/subscriptions/c/0190d7a2-0000-7000-8000-000000000000", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.get(&chan, "/api/v1/users/c/nobody_here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for query in ["page=0", "limit=1000", "page=x"] {
        let (status, err) = app.get(&chan, &format!("/api/v1/subscriptions/c/{chan_id}?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {err}");
        assert_error_envelope(status, &err);
    }
    for path in [toggle.clone(), format!("/api/v1/subscriptions/u/{chan_id}"), "/api/v1/users/c/the_channel".into()] {
        let (status, err) = app.get(&Client::new(), &path).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_error_envelope(status, &err);
    }
}

/// A small MP4 that players and parsers accept: `ftyp`, `moov` with an `mvhd` saying
/// `duration_ms` (time scale 1000), then `mdat` with `payload` bytes of noise.
pub fn mp4_video(duration_ms: u32, payload: usize) -> Vec<u8> {
    let boxed = |kind: &[u8], body: &[u8]| {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    };
    let ftyp = boxed(b"ftyp", &[b"isom".as_slice(), &[0, 0, 2, 0], b"isommp42"].concat());
    let mut mvhd = vec![0u8; 4 + 4 + 4]; // version, flags, creation, modification
    mvhd.extend_from_slice(&1000u32.to_be_bytes()); // time scale
    mvhd.extend_from_slice(&duration_ms.to_be_bytes());
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    mvhd.extend_from_slice(&[0; 10]);
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        mvhd.extend_from_slice(&v.to_be_bytes()); // identity matrix
    }
    mvhd.extend_from_slice(&[0; 24]);
    mvhd.extend_from_slice(&2u32.to_be_bytes()); // next track id
    let moov = boxed(b"moov", &boxed(b"mvhd", &mvhd));
    let mdat = boxed(b"mdat", &crate::uploads::noise(payload, 3));
    [ftyp, moov, mdat].concat()
}

/// A small WebM: EBML header (`webm`), a Segment whose Info says `duration_ms`.
pub fn webm_video(duration_ms: f64) -> Vec<u8> {
    let element = |id: &[u8], body: &[u8]| {
        let mut e = id.to_vec();
        e.push(0x01); // an 8-byte size
        e.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        e.extend_from_slice(body);
        e
    };
    let header = element(&[0x1A, 0x45, 0xDF, 0xA3], &element(&[0x42, 0x82], b"webm"));
    let info = element(
        &[0x15, 0x49, 0xA9, 0x66],
        &[
            element(&[0x2A, 0xD7, 0xB1], &1_000_000u32.to_be_bytes()),
            element(&[0x44, 0x89], &duration_ms.to_be_bytes()),
        ]
        .concat(),
    );
    let segment = element(&[0x18, 0x53, 0x80, 0x67], &info);
    [header, segment].concat()
}

pub fn video_form(title: &str, video: Vec<u8>) -> reqwest::multipart::Form {
    use reqwest::multipart::{Form, Part};
    Form::new()
        .text("title", title.to_string())
        .text("description", format!("about {title}"))
        .part("videoFile", Part::bytes(video).file_name("v.mp4").mime_str("video/mp4").unwrap())
        .part("thumbnail", Part::bytes(png()).file_name("t.png").mime_str("image/png").unwrap())
}

pub async fn publish(app: &TestApp, client: &Client, form: reqwest::multipart::Form) -> (StatusCode, Value) {
    json_of(client.post(app.url("/api/v1/videos")).multipart(form).send().await.unwrap()).await
}

#[tokio::test]
async fn videos_upload_with_their_duration_and_only_owners_change_them() {
    let app = spawn_app().await;
    let (ann_id, ann) = channel_user(&app, "ann_tube").await;
    let (_, bob) = channel_user(&app, "bob_tube").await;
    let (status, video) = publish(&app, &ann, video_form("First cut", mp4_video(12_345, 300_000))).await;
    assert_eq!(status, StatusCode::CREATED, "{video}");
    assert_envelope(status, &video);
    let v = &video["data"];
    assert_eq!(v["duration"], 12.345);
    assert_eq!((v["views"].clone(), v["isPublished"].clone()), (json!(0), json!(true)));
    assert_eq!(v["owner"]["_id"], ann_id.as_str());
    let id = v["_id"].as_str().unwrap().to_string();
    let file = v["videoFile"].as_str().unwrap().to_string();
    let seek = Client::new().get(app.url(&file)).header("range", "bytes=0-99").send().await.unwrap();
    assert_eq!(seek.status(), StatusCode::PARTIAL_CONTENT, "a published video's file seeks");
    assert_eq!(seek.headers()["content-type"], "video/mp4");
    let (status, webm) = publish(&app, &ann, video_form("Second", webm_video(4_500.0))).await;
    assert_eq!(status, StatusCode::CREATED, "{webm}");
    assert_eq!(webm["data"]["duration"], 4.5);

    // Views count once per viewer per window; the history has the video with its owner.
    for _ in 0..3 {
        let (status, seen) = app.get(&bob, &format!("/api/v1/videos/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{seen}");
        assert_eq!(seen["data"]["views"], 1);
        assert_eq!(seen["data"]["owner"]["username"], "ann_tube");
    }
    let (_, seen) = app.get(&ann, &format!("/api/v1/videos/{id}")).await;
    assert_eq!(seen["data"]["views"], 2);
    let (_, history) = app.get(&bob, "/api/v1/users/history").await;
    assert_eq!(history["data"][0]["_id"], id.as_str());
    let (_, me) = app.get(&bob, "/api/v1/users/current-user").await;
    assert_eq!(me["data"]["watchHistory"], json!([id]));
    assert_eq!(history["data"][0]["owner"]["_id"], ann_id.as_str());

    // Only the owner changes, unpublishes or deletes; unpublished is 404 to others.
    let path = format!("/api/v1/videos/{id}");
    let rename = || reqwest::multipart::Form::new().text("title", "Renamed");
    let (status, err) = json_of(bob.patch(app.url(&path)).multipart(rename()).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert_error_envelope(status, &err);
    let (status, updated) = json_of(ann.patch(app.url(&path)).multipart(rename()).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["data"]["title"], "Renamed");
    assert_eq!(updated["data"]["description"], "about First cut");
    let toggle = format!("/api/v1/videos/toggle/publish/{id}");
    assert_eq!(app.request(&bob, Method::PATCH, &toggle, None).await.0, StatusCode::FORBIDDEN);
    let (status, off) = app.request(&ann, Method::PATCH, &toggle, None).await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["data"]["isPublished"], false);
    assert_eq!(app.get(&bob, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&ann, &path).await.0, StatusCode::OK, "the owner still sees it");
    let (_, bobs_list) = app.get(&bob, "/api/v1/videos").await;
    assert_eq!(bobs_list["data"]["totalDocs"], 1, "{bobs_list}");
    let (_, anns_list) = app.get(&ann, &format!("/api/v1/videos?userId={ann_id}")).await;
    assert_eq!(anns_list["data"]["totalDocs"], 2, "{anns_list}");
    assert_eq!(app.request(&bob, Method::DELETE, &path, None).await.0, StatusCode::NOT_FOUND);
    let (status, _) = app.request(&ann, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get(&ann, &path).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        Client::new().get(app.url(&file)).send().await.unwrap().status(),
        StatusCode::NOT_FOUND,
        "its file went"
    );
}

#[tokio::test]
async fn video_lists_search_sort_and_page() {
    let app = spawn_app().await;
    let (ann_id, ann) = channel_user(&app, "ann_tube").await;
    let (_, bob) = channel_user(&app, "bob_tube").await;
    for (title, ms) in [("Rust basics", 3000), ("Cooking pasta", 9000), ("Advanced Rust", 6000)] {
        let (status, body) = publish(&app, &ann, video_form(title, mp4_video(ms, 1000))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let titles = |body: &Value| -> Vec<String> {
        body["data"]["docs"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap().to_string()).collect()
    };
    let (_, rust) = app.get(&bob, "/api/v1/videos?query=rust&sortBy=duration&sortType=asc").await;
    assert_eq!(titles(&rust), ["Rust basics", "Advanced Rust"]);
    let (_, by_title) = app.get(&bob, "/api/v1/videos?sortBy=title&sortType=asc&limit=2&page=2").await;
    assert_eq!(titles(&by_title), ["Rust basics"]);
    assert_eq!(by_title["data"]["totalDocs"], 3);
    assert_eq!(by_title["data"]["prevPage"], 1);
    let (_, newest) = app.get(&bob, &format!("/api/v1/videos?userId={ann_id}")).await;
    assert_eq!(titles(&newest)[0], "Advanced Rust", "newest first by default");
    for query in ["sortBy=password", "sortType=sideways", "userId=nope", "limit=0"] {
        let (status, err) = app.get(&bob, &format!("/api/v1/videos?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {err}");
        assert_error_envelope(status, &err);
    }
}

#[tokio::test]
async fn bad_video_uploads_are_refused_and_keep_no_file() {
    let app = spawn_app_with(|s| s.max_video_bytes = 200_000).await;
    let (_, ann) = channel_user(&app, "ann_tube").await;
    use reqwest::multipart::{Form, Part};
    let cases: Vec<(Form, StatusCode, &str)> = vec![
        (video_form("x", png()), StatusCode::BAD_REQUEST, "a picture as the video"),
        (video_form("x", mp4_video(0, 1000)), StatusCode::BAD_REQUEST, "no duration"),
        (video_form("x", mp4_video(1000, 300_000)), StatusCode::PAYLOAD_TOO_LARGE, "over MAX_VIDEO_BYTES"),
        (
            Form::new().text("title", "x").text("description", "y").part("videoFile", Part::bytes(mp4_video(1000, 10))),
            StatusCode::BAD_REQUEST,
            "no thumbnail",
        ),
        (
            Form::new()
                .text("description", "y")
                .part("videoFile", Part::bytes(mp4_video(1000, 10)))
                .part("thumbnail", Part::bytes(png())),
            StatusCode::BAD_REQUEST,
            "no title",
        ),
        (
            Form::new()
                .text("title", "x")
                .text("description", "y")
                .part("videoFile", Part::bytes(mp4_video(1000, 10)))
                .part("thumbnail", Part::bytes(b"%PDF-1.4".to_vec())),
            StatusCode::BAD_REQUEST,
            "a document as the thumbnail",
        ),
    ];
    for (form, expected, case) in cases {
        let (status, err) = publish(&app, &ann, form).await;
        assert_eq!(status, expected, "{case}: {err}");
        assert_error_envelope(status, &err);
    }
    assert_eq!(stored_files(&app), 0, "no file of a refused video is kept");
    assert_eq!(app.get(&ann, "/api/v1/videos").await.1["data"]["totalDocs"], 0);
    let (status, _) = app.get(&ann, "/api/v1/videos/not-an-id").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = app.get(&ann, "/api/v1/videos/0190d7a2-0000-7000-8000-000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = publish(&app, &Client::new(), video_form("x", mp4_video(1000, 10))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn comments_tweets_and_likes_with_their_authors_rules() {
    let app = spawn_app().await;
    let (ann_id, ann) = channel_user(&app, "ann_tube").await;
    let (_, bob) = channel_user(&app, "bob_tube").await;
    let (_, video) = publish(&app, &ann, video_form("Talk", mp4_video(1000, 10))).await;
    let vid = video["data"]["_id"].as_str().unwrap().to_string();

    // Comments: anyone who sees the video; the author alone edits and deletes.
    let (status, comment) = app.post(&bob, &format!("/api/v1/comments/{vid}"), json!({"content": " Nice talk "})).await;
    assert_eq!(status, StatusCode::CREATED, "{comment}");
    assert_envelope(status, &comment);
    assert_eq!(
        (comment["data"]["content"].clone(), comment["data"]["video"].clone()),
        (json!("Nice talk"), json!(vid))
    );
    let cid = comment["data"]["_id"].as_str().unwrap().to_string();
    let (status, liked) = app.post(&ann, &format!("/api/v1/likes/toggle/c/{cid}"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{liked}");
    assert_eq!(liked["data"]["liked"], true);
    let (_, page) = app.get(&ann, &format!("/api/v1/comments/{vid}")).await;
    let listed = &page["data"]["docs"][0];
    assert_eq!(listed["owner"]["username"], "bob_tube");
    assert_eq!((listed["likesCount"].clone(), listed["isLiked"].clone()), (json!(1), json!(true)));
    assert_eq!(page["data"]["totalDocs"], 1);
    let edit = format!("/api/v1/comments/c/{cid}");
    assert_eq!(
        app.request(&ann, Method::PATCH, &edit, Some(json!({"content": "mine now"}))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.request(&ann, Method::DELETE, &edit, None).await.0, StatusCode::FORBIDDEN);
    let (status, edited) = app.request(&bob, Method::PATCH, &edit, Some(json!({"content": "Great talk"}))).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["data"]["content"], "Great talk");
    assert_eq!(app.request(&bob, Method::DELETE, &edit, None).await.0, StatusCode::OK);
    assert_eq!(app.get(&ann, &format!("/api/v1/comments/{vid}")).await.1["data"]["totalDocs"], 0);
    assert_eq!(app.request(&bob, Method::DELETE, &edit, None).await.0, StatusCode::NOT_FOUND);

    // Tweets.
    let (status, tweet) = app.post(&ann, "/api/v1/tweets", json!({"content": "New video out"})).await;
    assert_eq!(status, StatusCode::CREATED, "{tweet}");
    let tid = tweet["data"]["_id"].as_str().unwrap().to_string();
    assert_eq!(app.post(&bob, &format!("/api/v1/likes/toggle/t/{tid}"), json!({})).await.1["data"]["liked"], true);
    let (_, tweets) = app.get(&bob, &format!("/api/v1/tweets/user/{ann_id}")).await;
    assert_eq!(tweets["data"]["docs"][0]["content"], "New video out");
    assert_eq!(tweets["data"]["docs"][0]["likesCount"], 1);
    let tweet_path = format!("/api/v1/tweets/{tid}");
    assert_eq!(
        app.request(&bob, Method::PATCH, &tweet_path, Some(json!({"content": "x"}))).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.request(&ann, Method::PATCH, &tweet_path, Some(json!({"content": "Edited"}))).await.0,
        StatusCode::OK
    );
    assert_eq!(app.request(&bob, Method::DELETE, &tweet_path, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.request(&ann, Method::DELETE, &tweet_path, None).await.0, StatusCode::OK);
    assert_eq!(app.get(&bob, &format!("/api/v1/tweets/user/{ann_id}")).await.1["data"]["totalDocs"], 0);

    // Video likes: a toggle, counted on the video and listed for the liker; concurrent
    // toggles never store a duplicate.
    let like = format!("/api/v1/likes/toggle/v/{vid}");
    assert_eq!(app.post(&bob, &like, json!({})).await.1["data"]["liked"], true);
    let (_, seen) = app.get(&bob, &format!("/api/v1/videos/{vid}")).await;
    assert_eq!((seen["data"]["likesCount"].clone(), seen["data"]["isLiked"].clone()), (json!(1), json!(true)));
    let (_, liked_videos) = app.get(&bob, "/api/v1/likes/videos").await;
    assert_eq!(liked_videos["data"]["docs"][0]["_id"], vid.as_str());
    let answers = futures::future::join_all((0..5).map(|_| app.post(&bob, &like, json!({})))).await;
    assert!(answers.iter().all(|(s, _)| *s == StatusCode::OK), "{answers:?}");
    let (_, seen) = app.get(&bob, &format!("/api/v1/videos/{vid}")).await;
    let count = if seen["data"]["isLiked"] == true { 1 } else { 0 };
    assert_eq!(seen["data"]["likesCount"], count, "{seen}");
    assert_eq!(app.get(&bob, "/api/v1/likes/videos").await.1["data"]["totalDocs"], count);

    // Bad input, and videos the caller cannot see.
    let (status, err) = app.post(&bob, &format!("/api/v1/comments/{vid}"), json!({"content": "  "})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_error_envelope(status, &err);
    let long = "x".repeat(5001);
    assert_eq!(app.post(&bob, "/api/v1/tweets", json!({"content": long})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.post(&bob, "/api/v1/comments/not-an-id", json!({"content": "x"})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.post(&bob, "/api/v1/likes/toggle/t/not-an-id", json!({})).await.0, StatusCode::BAD_REQUEST);
    let unknown = "0190d7a2-0000-7000-8000-000000000000";
    assert_eq!(app.post(&bob, &format!("/api/v1/likes/toggle/v/{unknown}"), json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&bob, &format!("/api/v1/tweets/user/{unknown}")).await.0, StatusCode::NOT_FOUND);
    app.request(&ann, Method::PATCH, &format!("/api/v1/videos/toggle/publish/{vid}"), None).await;
    let hidden = app.post(&bob, &format!("/api/v1/comments/{vid}"), json!({"content": "x"})).await;
    assert_eq!(hidden.0, StatusCode::NOT_FOUND, "an unpublished video takes no comments but its owner's");
    assert_eq!(app.get(&bob, &format!("/api/v1/comments/{vid}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post(&ann, &format!("/api/v1/comments/{vid}"), json!({"content": "note"})).await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn playlists_belong_to_their_owner_and_the_dashboard_sums_the_channel() {
    let app = spawn_app().await;
    let (ann_id, ann) = channel_user(&app, "ann_tube").await;
    let (_, bob) = channel_user(&app, "bob_tube").await;
    let mut ids = Vec::new();
    for (title, ms) in [("One", 1000), ("Two", 2000)] {
        let (_, v) = publish(&app, &ann, video_form(title, mp4_video(ms, 10))).await;
        ids.push(v["data"]["_id"].as_str().unwrap().to_string());
    }
    let (status, playlist) =
        app.post(&ann, "/api/v1/playlist", json!({"name": "Best of", "description": "mine"})).await;
    assert_eq!(status, StatusCode::CREATED, "{playlist}");
    let pid = playlist["data"]["_id"].as_str().unwrap().to_string();
    for id in &ids {
        let (status, body) = app.request(&ann, Method::PATCH, &format!("/api/v1/playlist/add/{id}/{pid}"), None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // Adding again changes nothing; someone else cannot add or remove.
    let (_, again) = app.request(&ann, Method::PATCH, &format!("/api/v1/playlist/add/{}/{pid}", ids[0]), None).await;
    assert_eq!(again["data"]["totalVideos"], 2);
    let add = format!("/api/v1/playlist/add/{}/{pid}", ids[0]);
    assert_eq!(app.request(&bob, Method::PATCH, &add, None).await.0, StatusCode::FORBIDDEN);
    // Anyone signed in reads it, with the videos they can see.
    app.request(&ann, Method::PATCH, &format!("/api/v1/videos/toggle/publish/{}", ids[1]), None).await;
    let (_, seen_by_bob) = app.get(&bob, &format!("/api/v1/playlist/{pid}")).await;
    assert_eq!(seen_by_bob["data"]["videos"].as_array().unwrap().len(), 1, "{seen_by_bob}");
    let (_, seen_by_ann) = app.get(&ann, &format!("/api/v1/playlist/{pid}")).await;
    assert_eq!(seen_by_ann["data"]["videos"].as_array().unwrap().len(), 2);
    let (_, mine) = app.get(&bob, &format!("/api/v1/playlist/user/{ann_id}")).await;
    assert_eq!(mine["data"]["totalDocs"], 1);
    let path = format!("/api/v1/playlist/{pid}");
    assert_eq!(app.request(&bob, Method::PATCH, &path, Some(json!({"name": "Bob's"}))).await.0, StatusCode::FORBIDDEN);
    let (status, renamed) = app.request(&ann, Method::PATCH, &path, Some(json!({"name": "Renamed"}))).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(
        (renamed["data"]["name"].clone(), renamed["data"]["description"].clone()),
        (json!("Renamed"), json!("mine"))
    );
    let remove = format!("/api/v1/playlist/remove/{}/{pid}", ids[0]);
    assert_eq!(app.request(&ann, Method::PATCH, &remove, None).await.1["data"]["totalVideos"], 1);
    assert_eq!(app.post(&ann, "/api/v1/playlist", json!({"description": "no name"})).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.request(&bob, Method::DELETE, &path, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.request(&ann, Method::DELETE, &path, None).await.0, StatusCode::OK);
    assert_eq!(app.get(&ann, &path).await.0, StatusCode::NOT_FOUND);

    // The dashboard: ann's channel after a view, a like and a subscription.
    app.get(&bob, &format!("/api/v1/videos/{}", ids[0])).await;
    app.post(&bob, &format!("/api/v1/likes/toggle/v/{}", ids[0]), json!({})).await;
    app.post(&bob, &format!("/api/v1/subscriptions/c/{ann_id}"), json!({})).await;
    let (status, stats) = app.get(&ann, "/api/v1/dashboard/stats").await;
    assert_eq!(status, StatusCode::OK, "{stats}");
    assert_eq!(stats["data"], json!({"totalVideos": 2, "totalViews": 1, "totalSubscribers": 1, "totalLikes": 1}));
    let (_, own) = app.get(&ann, "/api/v1/dashboard/videos").await;
    assert_eq!(own["data"]["totalDocs"], 2, "published or not: {own}");
    let (_, bobs) = app.get(&bob, "/api/v1/dashboard/videos").await;
    assert_eq!(bobs["data"]["totalDocs"], 0);
}
