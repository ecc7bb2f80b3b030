//! Streamed uploads and serving: the same bodies run on local disk (`api`, `api_postgres`)
//! and on an S3-compatible bucket (`storage_s3`, against moto).

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::live::connect_as;

const MIB: usize = 1024 * 1024;

/// Deterministic bytes that no sniffer recognises.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The first bytes of an MP4 file (an `ftyp` box), then `len` bytes of noise.
pub fn mp4(len: usize) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0, 0x18];
    bytes.extend_from_slice(b"ftypmp42\0\0\0\0mp42isom");
    bytes.extend(noise(len, 7));
    bytes
}

pub async fn upload(client: &Client, app: &TestApp, part: Part) -> (StatusCode, Value) {
    let form = Form::new().text("note", "ignored").part("file", part);
    json_of(client.post(app.url("/api/uploads")).multipart(form).send().await.unwrap()).await
}

/// Partly uploaded files in the app's storage: staged parts on disk, or pending multipart
/// uploads in the bucket.
async fn partial_uploads(app: &TestApp) -> usize {
    match &app.bucket {
        Some(bucket) => {
            let listing = Client::new().get(format!("{}/{bucket}?uploads", moto())).send().await.unwrap();
            listing.text().await.unwrap().matches("<UploadId>").count()
        }
        None => files_under(&app.dir.join("uploads")).iter().filter(|p| p.to_string_lossy().contains('#')).count(),
    }
}

/// Complete objects in the app's storage.
async fn stored_objects(app: &TestApp) -> usize {
    match &app.bucket {
        Some(bucket) => {
            let listing = Client::new().get(format!("{}/{bucket}?list-type=2", moto())).send().await.unwrap();
            listing.text().await.unwrap().matches("<Key>").count()
        }
        None => files_under(&app.dir.join("uploads")).iter().filter(|p| !p.to_string_lossy().contains('#')).count(),
    }
}

pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() { found.extend(files_under(&path)) } else { found.push(path) }
        }
    }
    found
}

async fn get_with(client: &Client, app: &TestApp, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut request = client.get(app.url(url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_large_upload_streams_to_storage_before_the_request_ends() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    // 12 MiB: more than one part on either store (1 MiB on disk, 5 MiB on S3).
    let file = noise(12 * MIB, 1);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream_of(rx));
    let part = Part::stream_with_length(body, file.len() as u64).file_name("big.bin");
    let request = tokio::spawn({
        let client = ann.client.clone();
        let url = app.url("/api/uploads");
        async move { client.post(url).multipart(Form::new().part("file", part)).send().await.unwrap() }
    });
    // Send 11 MiB, then hold the last one back: storage must already hold parts.
    for chunk in file[..11 * MIB].chunks(256 * 1024) {
        tx.send(Ok(chunk.to_vec())).await.unwrap();
    }
    let mut waited = Duration::ZERO;
    while partial_uploads(&app).await == 0 {
        assert!(waited < Duration::from_secs(10), "no part reached storage while the request was open");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert!(!request.is_finished(), "the request is still open");
    for chunk in file[11 * MIB..].chunks(256 * 1024) {
        tx.send(Ok(chunk.to_vec())).await.unwrap();
    }
    drop(tx);
    let (status, body) = json_of(request.await.unwrap()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["bytes"], file.len());
    assert_eq!(body["contentType"], "application/octet-stream");
    assert!(body["_id"].as_str().is_some_and(|id| id.len() == 36), "{body}");
    let response = get_with(&ann.client, &app, body["url"].as_str().unwrap(), &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_LENGTH], file.len().to_string().as_str());
    assert_eq!(response.headers()[header::CONTENT_DISPOSITION], "attachment");
    assert!(response.bytes().await.unwrap().as_ref() == file.as_slice(), "the bytes come back unchanged");
    assert_eq!(partial_uploads(&app).await, 0);
    assert_eq!(stored_objects(&app).await, 1);
}

fn tokio_stream_of(
    mut rx: tokio::sync::mpsc::Receiver<Result<Vec<u8>, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[tokio::test]
async fn a_file_over_its_limit_is_refused_mid_stream_and_leaves_nothing() {
    let app = spawn_app_with(|s| {
        s.max_file_bytes = 7 * MIB;
        s.max_image_bytes = MIB;
        s.max_video_bytes = 2 * MIB;
    })
    .await;
    let ann = app.register("ann").await;
    // Past the first part on either store, so a multipart upload was under way.
    let (status, err) = upload(&ann.client, &app, Part::bytes(noise(12 * MIB, 2)).file_name("a.bin")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert!(err["message"].as_str().unwrap().contains("file"), "{err}");
    let mut big_png = png();
    big_png.extend(noise(MIB + 10, 3));
    let (status, err) = upload(&ann.client, &app, Part::bytes(big_png).file_name("a.png")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert!(err["message"].as_str().unwrap().contains("image"), "{err}");
    let (status, err) = upload(&ann.client, &app, Part::bytes(mp4(3 * MIB)).file_name("a.mp4")).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert!(err["message"].as_str().unwrap().contains("video"), "{err}");
    // Aborts finish in the background on S3.
    let mut waited = Duration::ZERO;
    while partial_uploads(&app).await > 0 && waited < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert_eq!(partial_uploads(&app).await, 0, "no part is left behind");
    assert_eq!(stored_objects(&app).await, 0, "no object is left behind");
    // Under the limits, each kind is taken.
    let (status, body) = upload(&ann.client, &app, Part::bytes(mp4(MIB)).file_name("a.mp4")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["contentType"], "video/mp4");
}

#[tokio::test]
async fn the_type_comes_from_the_bytes_never_the_name_or_the_declared_type() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let cases: [(Vec<u8>, &str, &str, &str); 4] = [
        (png(), "evil.html", "text/html", "image/png"),
        (b"%PDF-1.4 a document".to_vec(), "doc.png", "image/png", "application/pdf"),
        (mp4(1000), "clip.txt", "text/plain", "video/mp4"),
        (b"<html><script>alert(1)</script>".to_vec(), "page.png", "image/png", "text/html"),
    ];
    for (bytes, name, declared, sniffed) in cases {
        let part = Part::bytes(bytes.clone()).file_name(name).mime_str(declared).unwrap();
        let (status, body) = upload(&ann.client, &app, part).await;
        assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        assert_eq!(body["contentType"], sniffed, "{name}");
        let url = body["url"].as_str().unwrap();
        assert!(!url.contains(name.split('.').next().unwrap()), "client file names never reach the key: {url}");
        let response = get_with(&ann.client, &app, url, &[]).await;
        assert_eq!(response.headers()[header::CONTENT_TYPE], sniffed, "{name}");
        assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        let download = response.headers().get(header::CONTENT_DISPOSITION).map(|v| v.to_str().unwrap().to_string());
        let is_media = sniffed.starts_with("image/") || sniffed.starts_with("video/");
        assert_eq!(download.is_none(), is_media, "{name}: only images and videos are shown inline");
        let served = response.bytes().await.unwrap();
        if sniffed.starts_with("image/") {
            // Images are stored re-encoded (see images.rs): the same pixels, not the same bytes.
            let pixels = |b: &[u8]| image::load_from_memory(b).unwrap().to_rgba8();
            assert_eq!(pixels(&served), pixels(&bytes), "{name}");
        } else {
            assert_eq!(served.as_ref(), bytes.as_slice(), "{name}");
        }
    }
    // Bad forms: an empty file, no file, not multipart, not signed in.
    let (status, err) = upload(&ann.client, &app, Part::bytes(Vec::new()).file_name("empty")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["errors"]["file"], "empty");
    let form = Form::new().text("other", "x");
    let (status, err) = json_of(ann.client.post(app.url("/api/uploads")).multipart(form).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["errors"]["file"], "required");
    let (status, _) = app.post(&ann.client, "/api/uploads", json!({"file": "x"})).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = upload(&Client::new(), &app, Part::bytes(png())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A body cut off mid-file is a 400, and nothing is kept.
    let truncated = "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n%PDF-1.4 and then";
    let response = ann
        .client
        .post(app.url("/api/uploads"))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b")
        .body(truncated)
        .send()
        .await
        .unwrap();
    let (status, _) = json_of(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(stored_objects(&app).await, 4);
}

#[tokio::test]
async fn ranges_validators_and_conditional_requests() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let file = noise(1000, 5);
    let (_, body) = upload(&ann.client, &app, Part::bytes(file.clone())).await;
    let url = body["url"].as_str().unwrap().to_string();
    let c = &ann.client;

    let full = get_with(c, &app, &url, &[]).await;
    assert_eq!(full.status(), StatusCode::OK);
    let etag = full.headers()[header::ETAG].to_str().unwrap().to_string();
    let modified = full.headers()[header::LAST_MODIFIED].to_str().unwrap().to_string();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    assert_eq!(full.headers()[header::ACCEPT_RANGES], "bytes");
    assert_eq!(full.headers()[header::CACHE_CONTROL], "private, no-cache", "an upload is private");

    // (Range, expected Content-Range, expected bytes)
    let ranges: [(&str, &str, &[u8]); 5] = [
        ("bytes=0-9", "bytes 0-9/1000", &file[..10]),
        ("bytes=990-", "bytes 990-999/1000", &file[990..]),
        ("bytes=-5", "bytes 995-999/1000", &file[995..]),
        ("bytes=998-5000", "bytes 998-999/1000", &file[998..]),
        ("bytes=-2000", "bytes 0-999/1000", &file[..]),
    ];
    for (range, content_range, expected) in ranges {
        let response = get_with(c, &app, &url, &[("range", range)]).await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(response.headers()[header::CONTENT_RANGE], content_range, "{range}");
        assert_eq!(response.headers()[header::CONTENT_LENGTH], expected.len().to_string().as_str(), "{range}");
        assert_eq!(response.bytes().await.unwrap().as_ref(), expected, "{range}");
    }
    for range in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
        let response = get_with(c, &app, &url, &[("range", range)]).await;
        assert_eq!(response.headers().get(header::CONTENT_RANGE).unwrap(), "bytes */1000", "{range}");
        let (status, _) = json_of(response).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
    }
    // Several ranges, or a Range that does not parse: the whole file.
    for range in ["bytes=0-1,5-6", "pages=1-2", "bytes=x-y"] {
        let response = get_with(c, &app, &url, &[("range", range)]).await;
        assert_eq!(response.status(), StatusCode::OK, "{range}");
        assert_eq!(response.bytes().await.unwrap().len(), 1000, "{range}");
    }
    // If-Range: the range only for the same file.
    let response = get_with(c, &app, &url, &[("range", "bytes=0-9"), ("if-range", &etag)]).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let response = get_with(c, &app, &url, &[("range", "bytes=0-9"), ("if-range", "\"other\"")]).await;
    assert_eq!(response.status(), StatusCode::OK);

    // Conditional requests.
    for headers in [
        vec![("if-none-match", etag.clone())],
        vec![("if-none-match", format!("W/{etag}"))],
        vec![("if-none-match", format!("\"nope\", {etag}"))],
        vec![("if-modified-since", modified.clone())],
    ] {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = get_with(c, &app, &url, &h).await;
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{headers:?}");
        assert_eq!(response.headers()[header::ETAG], etag.as_str());
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let response = get_with(c, &app, &url, &[("if-none-match", "\"nope\"")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = get_with(c, &app, &url, &[("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")]).await;
    assert_eq!(response.status(), StatusCode::OK);

    // HEAD: the headers, no body.
    let response = c.head(app.url(&url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "1000");
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn attachments_are_served_to_the_rooms_members_only() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let mut bob_socket = connect_as(&app, &bob.access_token).await;
    let (_, up) = upload(&ann.client, &app, Part::bytes(b"%PDF-1.4 the plan".to_vec())).await;
    let url = up["url"].as_str().unwrap().to_string();
    // Before it is sent, only its owner gets it.
    assert_eq!(get_with(&ann.client, &app, &url, &[]).await.status(), StatusCode::OK);
    assert_eq!(get_with(&bob.client, &app, &url, &[]).await.status(), StatusCode::NOT_FOUND);

    let send = format!("/api/messages/send/{}", bob.id);
    let (status, message) = app.post(&ann.client, &send, json!({"text": "see", "attachment": up["_id"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["attachment"], up, "the message shows its attachment");
    assert_eq!(bob_socket.next("newMessage").await["attachment"], up, "and so does newMessage");
    let (_, page) = app.get(&bob.client, &format!("/api/messages/{}", ann.id)).await;
    assert_eq!(page[0]["attachment"], up, "and the conversation");

    let anonymous = get_with(&Client::new(), &app, &url, &[]).await;
    let (status, _) = json_of(anonymous).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(get_with(&bob.client, &app, &url, &[]).await.status(), StatusCode::OK, "a member");
    assert_eq!(get_with(&bearer(&bob.access_token), &app, &url, &[]).await.status(), StatusCode::OK, "by bearer");
    let (status, _) = json_of(get_with(&eve.client, &app, &url, &[]).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not a member");

    // Only one's own uploads can be attached; an attachment alone is a message.
    let (status, err) =
        app.post(&eve.client, &format!("/api/messages/send/{}", bob.id), json!({"attachment": up["_id"]})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["errors"]["attachment"], "not_found");
    let (status, err) = app.post(&ann.client, &send, json!({"attachment": "not-an-id"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, _) = app.post(&ann.client, &send, json!({"attachment": up["_id"]})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(get_with(&eve.client, &app, &url, &[]).await.status(), StatusCode::NOT_FOUND, "still not eve");

    // A group room's members get it; deleting the messages takes it away from them.
    let (_, room) = app.post(&ann.client, "/api/rooms", json!({"userIds": [eve.id], "name": "g"})).await;
    let room_id = room["_id"].as_str().unwrap();
    let (status, post) =
        app.post(&ann.client, &format!("/api/rooms/{room_id}/messages"), json!({"attachment": up["_id"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{post}");
    assert_eq!(get_with(&eve.client, &app, &url, &[]).await.status(), StatusCode::OK, "a group member");
    let (status, _) = app
        .request(
            &ann.client,
            reqwest::Method::DELETE,
            &format!("/api/messages/{}", post["_id"].as_str().unwrap()),
            None,
        )
        .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(get_with(&eve.client, &app, &url, &[]).await.status(), StatusCode::NOT_FOUND, "its message is gone");
    assert_eq!(get_with(&bob.client, &app, &url, &[]).await.status(), StatusCode::OK, "bob's messages are not");
}

#[tokio::test]
async fn readiness_reports_the_file_storage() {
    let app = spawn_app().await;
    let (status, body) = app.get(&Client::new(), "/readyz").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["storage"], "ok");
    assert_eq!(body["storageBackend"], if app.bucket.is_some() { "s3" } else { "local" });
}
