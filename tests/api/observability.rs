//! Request ids and `/metrics`, as an operator sees them.
//! The metrics recorder is one per process, shared by every test server in this binary, so
//! these tests look for their own series and for increases, never for exact totals.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::live::{self, Auth};

fn request_id(response: &reqwest::Response) -> String {
    response.headers().get("x-request-id").expect("every response has X-Request-Id").to_str().unwrap().to_string()
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_error_bodies_quote_it() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();

    let ok = client.get(app.url("/healthz")).send().await.unwrap();
    let generated = request_id(&ok);
    assert!(uuid::Uuid::parse_str(&generated).is_ok(), "a generated id is a UUID: {generated}");
    let again = client.get(app.url("/healthz")).send().await.unwrap();
    assert_ne!(request_id(&again), generated, "each request gets its own id");

    // The caller's id is kept, and quoted in the error body.
    let response = client.get(app.url("/api/no-such-route")).header("x-request-id", "lb-7f3a.42").send().await.unwrap();
    assert_eq!(request_id(&response), "lb-7f3a.42");
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["requestId"], "lb-7f3a.42", "{body}");

    // Validation errors, 401s and malformed JSON quote it too.
    let response = client
        .post(app.url("/api/auth/signup"))
        .header("x-request-id", "signup-1")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["requestId"], "signup-1");
    let response = client.get(app.url("/api/auth/check")).send().await.unwrap();
    let id = request_id(&response);
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["requestId"], id.as_str());

    // An id that could forge log lines or flood them is replaced.
    for bad in ["two words", &"x".repeat(200), "quote\"d"] {
        let response = client.get(app.url("/healthz")).header("x-request-id", bad).send().await.unwrap();
        let id = request_id(&response);
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}

/// The value of the series whose line starts with `series` (name and labels), if present.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
}

async fn scrape(app: &TestApp) -> String {
    let response = reqwest::get(app.url("/metrics")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_and_messages_sockets_events_and_the_pool() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let sends = |m: &str| {
        sample(m, r#"natter_http_requests_total{method="POST",route="/api/messages/send/{id}",status="201"}"#)
            .unwrap_or(0.0)
    };
    let stored = |m: &str| sample(m, "natter_messages_stored_total").unwrap_or(0.0);

    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let mut bob_socket = live::connect(&app, Auth::Token(&bob.access_token), None).await;
    bob_socket.next("getOnlineUsers").await;
    for i in 0..3 {
        app.send_text(&ann, &bob, &format!("hello {i}")).await;
    }
    // Events leave from the outbox after the response: all three are out once bob has them.
    for _ in 0..3 {
        bob_socket.next("newMessage").await;
    }

    let after = scrape(&app).await;
    assert!(sends(&after) - sends(&before) >= 3.0, "three sends counted under their route template:\n{after}");
    assert!(stored(&after) - stored(&before) >= 3.0, "{after}");
    assert!(sample(&after, "natter_sockets_connected").unwrap_or(0.0) >= 1.0, "{after}");
    assert!(sample(&after, r#"natter_events_published_total{event="newMessage"}"#).unwrap_or(0.0) >= 3.0, "{after}");
    assert!(
        after.contains(
            r#"natter_http_request_duration_seconds_bucket{method="POST",route="/api/messages/send/{id}",le="0.005"}"#
        ),
        "latency is a histogram by route template:\n{after}"
    );
    let pool = if matches!(crate::BACKEND, Backend::Sqlite) { "sqlite_read" } else { "postgres" };
    let max = sample(&after, &format!(r#"natter_db_pool_connections{{pool="{pool}",state="max"}}"#));
    assert_eq!(max, Some(f64::from(app.state.settings.database_pool_size)), "{after}");
    if matches!(crate::BACKEND, Backend::Sqlite) {
        let batches = sample(&after, "natter_db_write_batch_size_count").unwrap_or(0.0);
        assert!(
            batches >= 3.0,
            "the writer's commits are counted with their sizes:
{after}"
        );
    }
    // Bob coming online is broadcast after the coalescing pause: wait for it.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = scrape(&app).await;
        if sample(&now, "natter_presence_broadcast_bytes_total").unwrap_or(0.0) > 0.0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no presence broadcast bytes counted:\n{now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Route labels are templates: no user id ever becomes a label.
    assert!(!after.contains(&bob.id) && !after.contains(&ann.id), "ids leaked into labels");
    // Unknown paths share one label.
    reqwest::get(app.url("/api/nothing/here/1")).await.unwrap();
    let last = scrape(&app).await;
    assert!(!last.contains("/api/nothing/here/1"), "raw paths are not labels");

    bob_socket.disconnect().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
}

#[tokio::test]
async fn metrics_need_the_token_when_one_is_set_and_are_not_public_in_production() {
    let app = spawn_app_with(|s| s.metrics_token = Some("scrape-me-0123456789".into())).await;
    let client = reqwest::Client::new();
    let (status, body) = json_of(client.get(app.url("/metrics")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_shape(status, &body);
    let wrong = client.get(app.url("/metrics")).bearer_auth("scrape-me-wrong").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client.get(app.url("/metrics")).bearer_auth("scrape-me-0123456789").send().await.unwrap();
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right.text().await.unwrap().contains("natter_http_requests_total"));

    let production = spawn_app_with(|s| {
        s.env = natter::config::Environment::Production;
        s.cookie_secure = Some(true);
    })
    .await;
    let (status, body) = json_of(client.get(production.url("/metrics")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("METRICS_TOKEN"), "{body}");
}
