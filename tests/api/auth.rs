use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn signup_returns_201_with_the_user_and_sets_both_cookies() {
    let app = spawn_app().await;
    let client = cookie_client();
    let response = client
        .post(app.url("/api/auth/signup"))
        .json(&json!({"fullName": " Ann Lee ", "email": "Ann@Example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let jwt = set_cookie(&response, "jwt").expect("jwt cookie").to_string();
    let refresh = set_cookie(&response, "refreshToken").expect("refreshToken cookie").to_string();
    for cookie in [&jwt, &refresh] {
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain-http test config: {cookie}");
    }
    assert!(jwt.contains("Max-Age=900"), "{jwt}");
    assert!(refresh.contains(&format!("Max-Age={}", 7 * 24 * 3600)), "{refresh}");
    let (_, body) = json_of(response).await;
    assert_eq!(body["fullName"], "Ann Lee");
    assert_eq!(body["email"], "ann@example.com");
    assert_eq!(body["profilePic"], "");
    assert_eq!(body["role"], "admin", "the first account is admin");
    assert!(body["_id"].as_str().is_some_and(|id| id.len() == 36));
    assert!(body["createdAt"].as_str().unwrap().ends_with('Z'));

    let (status, me) = app.get(&client, "/api/auth/check").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["_id"], body["_id"]);

    let second = app.register("bob").await;
    let (_, bob) = app.get(&second.client, "/api/auth/me").await;
    assert_eq!(bob["role"], "user", "only the first account is admin");
}

#[tokio::test]
async fn signup_rejects_a_taken_email_whatever_its_case() {
    let app = spawn_app().await;
    app.register("ann").await;
    let (status, body) = app
        .post(
            &cookie_client(),
            "/api/auth/signup",
            json!({"fullName": "Other", "email": "ANN@example.com ", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "email_taken");
    assert_eq!(body["message"], "Email already exists");
}

#[tokio::test]
async fn signup_rejects_a_taken_username() {
    let app = spawn_app().await;
    let c = cookie_client();
    let first = json!({"fullName": "A", "email": "a@example.com", "password": PASSWORD, "username": "Ann_1"});
    assert_eq!(app.post(&c, "/api/auth/signup", first).await.0, StatusCode::CREATED);
    let second = json!({"fullName": "B", "email": "b@example.com", "password": PASSWORD, "username": "ann_1"});
    let (status, body) = app.post(&c, "/api/auth/signup", second).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "username_taken");
}

#[tokio::test]
async fn signup_validation_reports_every_bad_field() {
    let app = spawn_app().await;
    let c = cookie_client();
    let cases = [
        (json!({}), vec![("fullName", "required"), ("email", "required"), ("password", "required")], "empty body"),
        (json!({"fullName": "A", "email": "nope", "password": PASSWORD}), vec![("email", "invalid")], "bad email"),
        (
            json!({"fullName": "A", "email": "a@example.com", "password": "Sh0rt!"}),
            vec![("password", "too_short")],
            "short password",
        ),
        (
            json!({"fullName": "A", "email": "a@example.com", "password": "password123"}),
            vec![("password", "too_common")],
            "common password",
        ),
        (
            json!({"fullName": "A", "email": "a@example.com", "password": "x".repeat(129)}),
            vec![("password", "too_long")],
            "long password",
        ),
        (
            json!({"fullName": "   ", "email": "a@example.com", "password": PASSWORD}),
            vec![("fullName", "required")],
            "blank name",
        ),
        (
            json!({"fullName": "A", "email": "a@example.com", "password": PASSWORD, "username": "a b"}),
            vec![("username", "invalid_characters")],
            "bad username",
        ),
        (json!({"fullName": 5, "email": "a@example.com", "password": PASSWORD}), vec![], "wrong type"),
    ];
    for (body, expected, case) in cases {
        let (status, err) = app.post(&c, "/api/auth/signup", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {err}");
        for (field, reason) in expected {
            assert_eq!(err["errors"][field], reason, "{case}: {err}");
        }
    }
    let (_, err) = app
        .post(&c, "/api/auth/signup", json!({"fullName": "A", "email": "a@example.com", "password": "Sh0rt!"}))
        .await;
    assert_eq!(err["message"], "Password must be at least 8 characters");
}

#[tokio::test]
async fn password_minimum_is_configurable_down_to_six() {
    let app = spawn_app_with(|s| s.password_min_length = 6).await;
    let body = json!({"fullName": "A", "email": "a@example.com", "password": "Xy7!ab"});
    assert_eq!(app.post(&cookie_client(), "/api/auth/signup", body).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn login_works_by_email_username_or_identifier() {
    let app = spawn_app().await;
    let c = cookie_client();
    let signup = json!({"fullName": "Ann", "email": "ann@example.com", "password": PASSWORD, "username": "ann"});
    assert_eq!(app.post(&c, "/api/auth/signup", signup).await.0, StatusCode::CREATED);
    for body in [
        json!({"email": "ANN@example.com", "password": PASSWORD}),
        json!({"username": "ann", "password": PASSWORD}),
        json!({"identifier": "ann", "password": PASSWORD}),
        json!({"identifier": "ann@example.com", "password": PASSWORD}),
    ] {
        let (status, user) = app.post(&cookie_client(), "/api/auth/signin", body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{body}: {user}");
        assert_eq!(user["email"], "ann@example.com");
        assert!(user["accessToken"].as_str().is_some_and(|t| t.split('.').count() == 3));
        assert!(user["refreshToken"].as_str().is_some_and(|t| t.len() >= 40));
    }
}

#[tokio::test]
async fn login_failure_is_the_same_for_unknown_user_and_wrong_password() {
    let app = spawn_app().await;
    app.register("ann").await;
    let c = cookie_client();
    let (s1, wrong_password) =
        app.post(&c, "/api/auth/login", json!({"email": "ann@example.com", "password": "Wrong-pass-1"})).await;
    let (s2, unknown_user) =
        app.post(&c, "/api/auth/login", json!({"email": "zed@example.com", "password": "Wrong-pass-1"})).await;
    assert_eq!(s1, StatusCode::BAD_REQUEST);
    assert_eq!(s2, StatusCode::BAD_REQUEST);
    // The same body, apart from each request's own id.
    let without_id = |mut body: serde_json::Value| {
        body.as_object_mut().unwrap().remove("requestId").expect("errors quote the request id");
        body
    };
    assert_eq!(without_id(wrong_password.clone()), without_id(unknown_user));
    assert_eq!(wrong_password["message"], "Invalid credentials");
    assert_eq!(wrong_password["code"], "invalid_credentials");
    let (s3, missing) = app.post(&c, "/api/auth/login", json!({"password": PASSWORD})).await;
    assert_eq!(s3, StatusCode::BAD_REQUEST);
    assert_eq!(missing["errors"]["email"], "required");
}

#[tokio::test]
async fn check_accepts_cookie_bearer_and_x_access_token() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    assert_eq!(app.get(&ann.client, "/api/auth/check").await.0, StatusCode::OK);
    let (status, me) = app.get(&bearer(&ann.access_token), "/api/auth/check").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["_id"], ann.id.as_str());
    let response = reqwest::Client::new()
        .get(app.url("/api/auth/check"))
        .header("x-access-token", &ann.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    let response = reqwest::Client::new().get(app.url("/api/auth/check")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (_, err) = json_of(response).await;
    assert_eq!(err["code"], "unauthorized");
}

#[tokio::test]
async fn logout_clears_cookies_and_revokes_the_session() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    // Used once before: the server has checked (and may have cached) this session.
    assert_eq!(app.get(&bearer(&ann.access_token), "/api/auth/check").await.0, StatusCode::OK);
    let response = ann.client.post(app.url("/api/auth/logout")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cleared = set_cookie(&response, "jwt").expect("jwt cleared").to_string();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(set_cookie(&response, "refreshToken").is_some_and(|c| c.contains("Max-Age=0")));
    let (_, body) = json_of(response).await;
    assert_eq!(body, json!({"message": "Logged out successfully"}));

    assert_eq!(app.get(&ann.client, "/api/auth/check").await.0, StatusCode::UNAUTHORIZED);
    // The access token of that session is dead too, not only the cookie.
    assert_eq!(app.get(&bearer(&ann.access_token), "/api/auth/check").await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post(&cookie_client(), "/api/auth/refresh", json!({"refreshToken": ann.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Logging out again is harmless.
    assert_eq!(app.request(&ann.client, Method::POST, "/api/auth/logout", None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn update_profile_stores_a_data_url_image_and_changes_the_name() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let body = json!({"profilePic": format!("data:image/png;base64,{PNG_1X1}"), "fullName": "Ann B"});
    let (status, user) = app.request(&ann.client, Method::PUT, "/api/auth/update-profile", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["fullName"], "Ann B");
    let url = user["profilePic"].as_str().unwrap();
    assert!(url.starts_with("/uploads/") && url.ends_with(".png"), "{url}");
    let image = reqwest::get(app.url(url)).await.unwrap();
    assert_eq!(image.status(), StatusCode::OK);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    // Stored re-encoded: the same pixels.
    let pixels = |b: &[u8]| image::load_from_memory(b).unwrap().to_rgba8();
    assert_eq!(pixels(&image.bytes().await.unwrap()), pixels(&png()));

    let (status, err) = app.request(&ann.client, Method::PUT, "/api/auth/update-profile", Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["errors"]["profilePic"], "required");
}

#[tokio::test]
async fn change_password_keeps_this_session_and_revokes_the_others() {
    let app = spawn_app().await;
    let here = app.register("ann").await;
    let elsewhere = app.login_as("ann@example.com", cookie_client()).await;
    assert_eq!(app.get(&elsewhere.client, "/api/auth/check").await.0, StatusCode::OK);
    let new_password = "An0ther-secret-pw";

    let body = json!({"oldPassword": "Wrong-pass-1", "newPassword": new_password});
    let (status, err) = app.request(&here.client, Method::PUT, "/api/auth/change-password", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["code"], "invalid_credentials");

    let body = json!({"oldPassword": PASSWORD, "newPassword": "short"});
    let (status, err) = app.request(&here.client, Method::PUT, "/api/auth/change-password", Some(body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["errors"]["newPassword"], "too_short");

    let body = json!({"oldPassword": PASSWORD, "newPassword": new_password});
    let (status, ok) = app.request(&here.client, Method::PUT, "/api/auth/change-password", Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{ok}");
    assert!(ok["message"].as_str().is_some());

    assert_eq!(app.get(&here.client, "/api/auth/check").await.0, StatusCode::OK);
    assert_eq!(app.get(&elsewhere.client, "/api/auth/check").await.0, StatusCode::UNAUTHORIZED);
    let (status, _) =
        app.post(&cookie_client(), "/api/auth/refresh", json!({"refreshToken": elsewhere.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let old = json!({"email": "ann@example.com", "password": PASSWORD});
    assert_eq!(app.post(&cookie_client(), "/api/auth/login", old).await.0, StatusCode::BAD_REQUEST);
    let new = json!({"email": "ann@example.com", "password": new_password});
    assert_eq!(app.post(&cookie_client(), "/api/auth/login", new).await.0, StatusCode::OK);
}

#[tokio::test]
async fn users_imported_with_bcrypt_hashes_can_log_in() {
    let app = spawn_app().await;
    app.register("ann").await;
    // What the Node tutorials store: bcryptjs, 10 rounds, `$2a$`/`$2b$`.
    let hash = bcrypt::hash("node-era-pass", 4).unwrap();
    const SQL: &str = "UPDATE users SET password_hash = $1 WHERE email = 'ann@example.com'";
    app.execute_sql(SQL, &[&hash]).await;
    let body = json!({"email": "ann@example.com", "password": "node-era-pass"});
    assert_eq!(app.post(&cookie_client(), "/api/auth/login", body).await.0, StatusCode::OK);
}
