//! Uploads on an S3-compatible bucket: the upload and image tests of `tests/api` (the same
//! bodies) against moto's server (`moto[server]` from PyPI, pinned in `helpers::MOTO_VERSION`,
//! installed under `target/` on first use, started once for this process on 127.0.0.1),
//! plus what only a remote bucket can do: go down.

/// Where this test binary's apps store uploads.
pub const STORAGE: helpers::Storage = helpers::Storage::S3;
/// Which store this test binary runs on.
pub const BACKEND: helpers::Backend = helpers::Backend::Sqlite;

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "api/images.rs"]
mod images;
#[path = "api/live.rs"]
#[allow(dead_code)]
mod live;
#[path = "api/uploads.rs"]
mod uploads;

use reqwest::multipart::Part;
use reqwest::{Client, StatusCode};
use serde_json::json;

use helpers::*;

#[tokio::test]
async fn a_bucket_that_is_down_gives_503s_and_nothing_half_written() {
    // A moto of this test's own, to stop.
    let (endpoint, pid) = start_moto();
    let bucket = create_bucket(&endpoint).await;
    let app = spawn_app_with(|s| use_s3(s, &endpoint, &bucket)).await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let (status, stored) = uploads::upload(&ann.client, &app, Part::bytes(uploads::noise(1000, 9))).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    let media_rows = || async { natter::db::media::count_media(&app.state.db).await.unwrap() };
    assert_eq!(media_rows().await, 1);

    // SAFETY: kill(2) on the moto server this test started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    let (status, err) = uploads::upload(&ann.client, &app, Part::bytes(uploads::noise(1000, 10))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{err}");
    assert_eq!(err["code"], "storage_unavailable");
    let (status, err) = uploads::upload(&ann.client, &app, Part::bytes(uploads::noise(7 << 20, 11))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "a multipart upload too: {err}");
    // A message with an image to store is refused whole: no message, no media row.
    let image = format!("data:image/png;base64,{PNG_1X1}");
    let send = format!("/api/messages/send/{}", bob.id);
    let (status, err) = app.post(&ann.client, &send, json!({"text": "pic", "image": image})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{err}");
    let (_, page) = app.get(&ann.client, &format!("/api/messages/{}", bob.id)).await;
    assert_eq!(page, json!([]), "no message was written");
    assert_eq!(media_rows().await, 1, "no media row without its file");
    // Reading a stored file is a 503 too, and the node says it is not ready.
    let response = ann.client.get(app.url(stored["url"].as_str().unwrap())).send().await.unwrap();
    let (status, _) = json_of(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let response = Client::new().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["storage"], "unreachable");
}

#[tokio::test]
async fn a_missing_bucket_is_not_ready() {
    let app = spawn_app_with(|s| use_s3(s, moto(), "natter-no-such-bucket")).await;
    let response = Client::new().get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["storage"], "unreachable", "{body}");
}
