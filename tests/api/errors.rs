use axum::Router;
use axum::routing::get;
use natter::startup::with_layers;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn unknown_routes_wrong_methods_and_bad_bodies_get_the_json_error_shape() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let c = &ann.client;
    let raw = |method: Method, path: &str, content_type: Option<&str>, body: &'static str| {
        let mut req = c.request(method, app.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send()
    };
    let cases = [
        (raw(Method::GET, "/api/nothing/here", None, ""), StatusCode::NOT_FOUND, "route_not_found"),
        (raw(Method::GET, "/api", None, ""), StatusCode::NOT_FOUND, "route_not_found"),
        // Outside the API, `/nope` is a route of the built-in web client (its index.html);
        // a missing file, or any other method, is still the JSON 404.
        (raw(Method::GET, "/nope.txt", None, ""), StatusCode::NOT_FOUND, "route_not_found"),
        (raw(Method::POST, "/nope", None, ""), StatusCode::NOT_FOUND, "route_not_found"),
        (raw(Method::DELETE, "/api/auth/signup", None, ""), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        (
            raw(Method::POST, "/api/auth/login", Some("application/json"), "{\"email\": "),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            raw(Method::POST, "/api/auth/login", Some("application/json"), "[1,2,3]"),
            StatusCode::BAD_REQUEST,
            "validation_failed",
        ),
        (
            raw(Method::POST, "/api/auth/login", Some("text/plain"), "{}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (raw(Method::POST, "/api/auth/login", None, ""), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
    ];
    for (request, expected, code) in cases {
        let (status, body) = json_of(request.await.unwrap()).await;
        assert_eq!(status, expected, "{body}");
        assert_eq!(body["code"], code, "{body}");
    }
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = spawn_app_with(|s| s.body_limit = 64 * 1024).await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let big = "x".repeat(100 * 1024);
    let (status, body) = app.post(&ann.client, &format!("/api/messages/send/{}", bob.id), json!({"text": big})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "payload_too_large");
}

#[tokio::test]
async fn malformed_bodies_on_every_route_never_crash_the_server() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let sent = app.send_text(&ann, &bob, "hi").await;
    let msg = sent["_id"].as_str().unwrap();
    let routes = [
        (Method::POST, "/api/auth/signup".to_string()),
        (Method::POST, "/api/auth/login".to_string()),
        (Method::POST, "/api/auth/refresh".to_string()),
        (Method::PUT, "/api/auth/update-profile".to_string()),
        (Method::PUT, "/api/auth/change-password".to_string()),
        (Method::POST, format!("/api/messages/send/{}", bob.id)),
        (Method::PATCH, format!("/api/messages/{msg}")),
        (Method::PATCH, format!("/api/users/{}", ann.id)),
        (Method::PUT, format!("/api/users/{}/role", bob.id)),
    ];
    let bodies: [&[u8]; 12] = [
        b"",
        b"{",
        b"null",
        b"[]",
        b"\"string\"",
        b"12345678901234567890123456789",
        b"{\"text\": {\"nested\": [1, {\"deep\": null}]}}",
        b"{\"email\": [], \"password\": {}, \"fullName\": 1e400}",
        b"{\"text\": \"\\ud800\"}",
        b"\xff\xfe\x00garbage",
        b"{\"profilePic\": \"data:image/png;base64,\", \"image\": \"data:\"}",
        b"{\"refreshToken\": 42, \"role\": null, \"username\": \"\\u0000\"}",
    ];
    for (method, path) in &routes {
        for body in bodies {
            let response = ann
                .client
                .request(method.clone(), app.url(path))
                .header("content-type", "application/json")
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            let (status, err) = json_of(response).await;
            assert!(
                status.is_client_error() || status == StatusCode::OK,
                "{method} {path} with {:?}: {status} {err}",
                String::from_utf8_lossy(body)
            );
        }
    }
    assert_eq!(app.get(&ann.client, "/api/auth/check").await.0, StatusCode::OK, "still serving");
}

async fn boom() -> &'static str {
    panic!("handler bug")
}

#[tokio::test]
async fn a_panicking_handler_becomes_a_json_500_and_the_server_carries_on() {
    let app = spawn_app().await;
    let routes = Router::new().route("/boom", get(boom)).route("/fine", get(|| async { "fine" }));
    let router = with_layers(routes, app.state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let response = reqwest::get(format!("http://{addr}/boom")).await.unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["code"], "internal_error");
    assert!(!body.to_string().contains("handler bug"), "no panic text leaks: {body}");
    let fine = reqwest::get(format!("http://{addr}/fine")).await.unwrap();
    assert_eq!(fine.text().await.unwrap(), "fine");
}
