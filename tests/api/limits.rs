//! Rate limits, as an attacker and as the people they must not hurt: each limit answers 429
//! with `Retry-After` and the JSON error, failed logins do not lock the owner out, and
//! Socket.IO floods are dropped with an error ack rather than fanned out.

use std::time::Duration;

use natter::config::Settings;
use natter::services::rate_limit::RateQuota;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::live::*;

fn rate(raw: &str) -> RateQuota {
    RateQuota::parse(raw).unwrap()
}

/// Limits on (each test loosens or tightens what it tries), client addresses from
/// `X-Forwarded-For` so that one test can be many addresses.
async fn spawn_limited(configure: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_app_with(|s| {
        s.rate_limits = true;
        s.trust_proxy = true;
        configure(s);
    })
    .await
}

async fn login_from(app: &TestApp, ip: &str, email: &str, password: &str) -> reqwest::Response {
    Client::new()
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", ip)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn assert_limited(response: reqwest::Response) -> u64 {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let (status, body) = json_of(response).await;
    assert_error_shape(status, &body);
    assert_eq!(body["code"], "rate_limited");
    retry
}

#[tokio::test]
async fn wrong_passwords_from_elsewhere_do_not_lock_the_owner_out() {
    let app = spawn_limited(|s| s.rate_limit_login_failures_account = rate("5/15m")).await;
    app.register("ann").await;
    let attacker = "203.0.113.9";
    let mut refused = None;
    for attempt in 0..20 {
        let response = login_from(&app, attacker, "ann@example.com", &format!("Guess-{attempt}-pw")).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some((attempt, assert_limited(response).await));
            break;
        }
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
    let (attempt, retry) = refused.expect("the guesser is slowed down");
    assert_eq!(attempt, 6, "one failure marks the address, five more spend the account's budget");
    assert!(retry >= 60, "a real wait: {retry}s");
    // Even the right password is refused from the guessing address…
    let response = login_from(&app, attacker, "ann@example.com", PASSWORD).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // …but Ann, at her own address, logs in at once, and again.
    for _ in 0..3 {
        assert_eq!(login_from(&app, "198.51.100.7", "ann@example.com", PASSWORD).await.status(), StatusCode::OK);
    }
    // A second guessing address shares the account's spent budget after its first failure.
    let second = "203.0.113.10";
    assert_eq!(login_from(&app, second, "ann@example.com", "Guess-x-pw").await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(login_from(&app, second, "ann@example.com", "Guess-y-pw").await.status(), StatusCode::TOO_MANY_REQUESTS);
    // Using the username instead of the e-mail is the same account.
    let response = Client::new()
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", attacker)
        .json(&json!({"username": "ann", "password": "Guess-z-pw"}))
        .send()
        .await
        .unwrap();
    assert_ne!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_address_that_keeps_failing_is_refused_on_every_account() {
    let app = spawn_limited(|s| s.rate_limit_login_failures_ip = rate("4/15m")).await;
    for name in ["ann", "bob", "cat", "dan", "eve", "fay"] {
        app.register(name).await;
    }
    let ip = "203.0.113.50";
    let mut statuses = Vec::new();
    for name in ["ann", "bob", "cat", "dan", "eve", "fay"] {
        statuses.push(login_from(&app, ip, &format!("{name}@example.com"), "Wrong-pass-1").await.status());
    }
    assert_eq!(&statuses[..5], &[StatusCode::BAD_REQUEST; 5], "{statuses:?}");
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    assert_eq!(login_from(&app, "198.51.100.1", "fay@example.com", PASSWORD).await.status(), StatusCode::OK);
    // The chat-API tutorial's login by id is held to the same limits.
    let response = Client::new()
        .post(app.url("/login/00000000-0000-0000-0000-000000000000"))
        .header("x-forwarded-for", ip)
        .json(&json!({"password": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn logins_per_address_are_limited_right_or_wrong() {
    let app = spawn_limited(|s| s.rate_limit_login_ip = rate("3/1m")).await;
    app.register("ann").await;
    for _ in 0..3 {
        assert_eq!(login_from(&app, "192.0.2.1", "ann@example.com", PASSWORD).await.status(), StatusCode::OK);
    }
    let retry = assert_limited(login_from(&app, "192.0.2.1", "ann@example.com", PASSWORD).await).await;
    assert!((1..=20).contains(&retry), "{retry}");
    assert_eq!(login_from(&app, "192.0.2.2", "ann@example.com", PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn signups_refreshes_and_password_changes_are_limited() {
    let app = spawn_limited(|s| {
        s.rate_limit_signup_ip = rate("2/10m");
        s.rate_limit_refresh_ip = rate("2/1m");
        s.rate_limit_password_user = rate("2/15m");
    })
    .await;
    let signup = |i: u32| {
        Client::new()
            .post(app.url("/api/auth/signup"))
            .header("x-forwarded-for", "192.0.2.7")
            .json(&json!({"fullName": "A", "email": format!("a{i}@example.com"), "password": PASSWORD}))
            .send()
    };
    assert_eq!(signup(1).await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(signup(2).await.unwrap().status(), StatusCode::CREATED);
    assert_limited(signup(3).await.unwrap()).await;
    // The video platform's register is the same sign-up, refused before any file is stored.
    let form = reqwest::multipart::Form::new().text("fullName", "B");
    let response = Client::new()
        .post(app.url("/api/v1/users/register"))
        .header("x-forwarded-for", "192.0.2.7")
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(json_of(response).await.1["success"], false);

    let ann = app.register("ann").await;
    let refresh = |token: String| {
        Client::new()
            .post(app.url("/api/auth/refresh"))
            .header("x-forwarded-for", "192.0.2.8")
            .json(&json!({"refreshToken": token}))
            .send()
    };
    let first = refresh(ann.refresh_token.clone()).await.unwrap();
    let next = json_of(first).await.1["refreshToken"].as_str().unwrap().to_string();
    let second = refresh(next.clone()).await.unwrap();
    assert_eq!(second.status(), StatusCode::OK);
    assert_limited(refresh(next).await.unwrap()).await;

    let body = json!({"oldPassword": "Wrong-pass-1", "newPassword": "An0ther-secret-pw"});
    for _ in 0..2 {
        let (status, _) = app.request(&ann.client, Method::PUT, "/api/auth/change-password", Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let right = json!({"oldPassword": PASSWORD, "newPassword": "An0ther-secret-pw"});
    let (status, err) = app.request(&ann.client, Method::PUT, "/api/auth/change-password", Some(right)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{err}");
}

#[tokio::test]
async fn sends_posts_and_uploads_are_limited_per_user_and_nothing_refused_is_written() {
    let app = spawn_limited(|s| {
        s.rate_limit_messages_user = rate("5/1m");
        s.rate_limit_uploads_user = rate("2/1m");
    })
    .await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let path = format!("/api/messages/send/{}", bob.id);
    let mut statuses = Vec::new();
    for i in 0..8 {
        statuses.push(app.post(&ann.client, &path, json!({"text": format!("m{i}")})).await.0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 5, "{statuses:?}");
    let response = ann.client.post(app.url(&path)).json(&json!({"text": "one more"})).send().await.unwrap();
    assert_limited(response).await;
    // Room posts count against the same budget; Bob has his own.
    let (_, room) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id], "name": "r"})).await;
    let room_path = format!("/api/rooms/{}/messages", room["_id"].as_str().unwrap());
    assert_eq!(app.post(&ann.client, &room_path, json!({"text": "x"})).await.0, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.post(&bob.client, &room_path, json!({"text": "y"})).await.0, StatusCode::CREATED);
    let (_, conversation) = app.get(&bob.client, &format!("/api/messages/{}", ann.id)).await;
    assert_eq!(conversation.as_array().unwrap().len(), 5, "refused sends wrote nothing");

    let png = png();
    let upload = || {
        let part = reqwest::multipart::Part::bytes(png.clone()).file_name("a.png");
        ann.client.post(app.url("/api/uploads")).multipart(reqwest::multipart::Form::new().part("file", part)).send()
    };
    assert_eq!(upload().await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(upload().await.unwrap().status(), StatusCode::CREATED);
    assert_limited(upload().await.unwrap()).await;
}

#[tokio::test]
async fn socket_floods_are_dropped_with_an_error_ack_not_fanned_out() {
    let app = spawn_limited(|s| {
        s.rate_limit_typing_user = rate("3/1m");
        s.rate_limit_subscribe_user = rate("2/1m");
    })
    .await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let (_, room) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id], "name": "r"})).await;
    let room = room["_id"].as_str().unwrap().to_string();
    let ann_socket = connect_as(&app, &ann.access_token).await;
    let mut bob_socket = connect_as(&app, &bob.access_token).await;
    for _ in 0..50 {
        ann_socket.emit("typing", json!({"roomId": room})).await;
    }
    let seen = bob_socket.collect("typing", Duration::from_millis(800)).await;
    assert_eq!(seen.len(), 3, "only the allowed events are fanned out");
    let mut ann_socket = ann_socket;
    let ack = ann_socket.ask("typing", json!({"roomId": room})).await;
    assert_limited_ack(&ack);

    for _ in 0..2 {
        assert_eq!(bob_socket.ask("subscribe", json!(room)).await["success"], true);
    }
    assert_limited_ack(&bob_socket.ask("subscribe", json!(room)).await);
    // The socket stays connected and usable.
    app.send_text(&ann, &bob, "still here").await;
    assert_eq!(bob_socket.next("newMessage").await["text"], "still here");
}

fn assert_limited_ack(ack: &Value) {
    let ack = if ack.is_array() { &ack[0] } else { ack };
    assert_eq!(ack["success"], false, "{ack}");
    assert_eq!(ack["statusCode"], 429, "{ack}");
    assert_eq!(ack["code"], "rate_limited", "{ack}");
    assert!(ack["retryAfter"].as_u64().is_some_and(|s| s >= 1), "{ack}");
}

#[tokio::test]
async fn one_setting_turns_every_limit_off() {
    let app = spawn_app_with(|s| {
        s.rate_limits = false;
        s.rate_limit_messages_user = rate("1/1h");
        s.rate_limit_login_ip = rate("1/1h");
    })
    .await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    for i in 0..5 {
        app.send_text(&ann, &bob, &format!("m{i}")).await;
        assert_eq!(login_from(&app, "127.0.0.1", "ann@example.com", PASSWORD).await.status(), StatusCode::OK);
    }
}
