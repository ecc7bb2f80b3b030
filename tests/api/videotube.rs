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
    let app = spawn_app().await;
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

/// Who may call what, so far: (method, path, body) → status for anonymous and signed-in.
#[tokio::test]
async fn authorization_table() {
    let app = spawn_app().await;
    let email = signup(&app, "creator").await;
    let (_, login) =
        app.post(&Client::new(), "/api/v1/users/login", json!({"email": email, "password": PASSWORD})).await;
    let signed_in = bearer(login["data"]["accessToken"].as_str().unwrap());
    let change = json!({"oldPassword": "wrong-password-1", "newPassword": "An0ther-pw-123"});
    let account = json!({"fullName": "Same", "email": "creator@example.com"});
    let table: [(Method, &str, Value, StatusCode, StatusCode); 7] = [
        (Method::GET, "/api/v1/healthcheck", Value::Null, StatusCode::OK, StatusCode::OK),
        (Method::GET, "/api/v1/users/current-user", Value::Null, StatusCode::UNAUTHORIZED, StatusCode::OK),
        (Method::POST, "/api/v1/users/change-password", change, StatusCode::UNAUTHORIZED, StatusCode::BAD_REQUEST),
        (Method::PATCH, "/api/v1/users/update-account", account, StatusCode::UNAUTHORIZED, StatusCode::OK),
        // No multipart body: the signed-in caller gets 415.
        (
            Method::PATCH,
            "/api/v1/users/avatar",
            json!({}),
            StatusCode::UNAUTHORIZED,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            Method::PATCH,
            "/api/v1/users/cover-image",
            json!({}),
            StatusCode::UNAUTHORIZED,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (Method::POST, "/api/v1/users/logout", json!({}), StatusCode::OK, StatusCode::OK),
    ];
    for (method, path, body, anonymous, user) in table {
        let body = (!body.is_null()).then_some(body);
        let (status, got) = app.request(&Client::new(), method.clone(), path, body.clone()).await;
        assert_eq!(status, anonymous, "anonymous {method} {path}: {got}");
        if status.is_client_error() {
            assert_error_envelope(status, &got);
        }
        let (status, got) = app.request(&signed_in, method.clone(), path, body).await;
        assert_eq!(status, user, "signed in {method} {path}: {got}");
    }
}

fn png() -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(PNG_1X1).unwrap()
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
