use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn an_image_message_carries_a_url_that_serves_the_bytes() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    // Declared as GIF, actually PNG: the bytes decide.
    let body = json!({"image": format!("data:image/gif;base64,{PNG_1X1}")});
    let (status, message) = app.post(&ann.client, &format!("/api/messages/send/{}", bob.id), body).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    assert_eq!(message["text"], "");
    let url = message["image"].as_str().unwrap();
    assert!(url.starts_with("/uploads/") && url.ends_with(".png"), "{url}");
    for reader in [&ann, &bob] {
        let response = reader.client.get(app.url(url)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "image/png");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    // A message's image is the conversation's: not for anyone else.
    let (status, _) = json_of(reqwest::get(app.url(url)).await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let eve = app.register("eve").await;
    let (status, _) = json_of(eve.client.get(app.url(url)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn avatars_are_public() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let body = json!({"profilePic": format!("data:image/png;base64,{PNG_1X1}")});
    let (status, user) =
        app.request(&ann.client, reqwest::Method::PATCH, &format!("/api/users/{}", ann.id), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let response = reqwest::get(app.url(user["profilePic"].as_str().unwrap())).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "public, max-age=31536000, immutable");
}

#[tokio::test]
async fn public_url_makes_image_urls_absolute() {
    let app = spawn_app_with(|s| s.public_url = Some("https://chat.example.com/".into())).await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let body = json!({"text": "pic", "image": format!("data:image/png;base64,{PNG_1X1}")});
    let (_, message) = app.post(&ann.client, &format!("/api/messages/send/{}", bob.id), body).await;
    assert!(message["image"].as_str().unwrap().starts_with("https://chat.example.com/uploads/"), "{message}");
}

#[tokio::test]
async fn images_that_are_not_images_or_too_large_are_refused() {
    let app = spawn_app_with(|s| s.max_image_bytes = 1024).await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let path = format!("/api/messages/send/{}", bob.id);
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let svg = b64(b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>");
    let mut big_png = base64::engine::general_purpose::STANDARD.decode(PNG_1X1).unwrap();
    big_png.extend(std::iter::repeat_n(0u8, 2048));
    let cases = [
        (format!("data:image/svg+xml;base64,{svg}"), StatusCode::BAD_REQUEST, "invalid_image", "svg"),
        (
            format!("data:image/png;base64,{}", b64(b"just text")),
            StatusCode::BAD_REQUEST,
            "invalid_image",
            "text as png",
        ),
        ("data:image/png;base64,!!!notbase64".to_string(), StatusCode::BAD_REQUEST, "validation_failed", "bad base64"),
        ("data:image/png,rawdata".to_string(), StatusCode::BAD_REQUEST, "validation_failed", "not base64"),
        (
            format!("data:image/png;base64,{}", b64(&big_png)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "too big",
        ),
    ];
    for (image, status, code, case) in cases {
        let (got, err) = app.post(&ann.client, &path, json!({"text": "x", "image": image})).await;
        assert_eq!(got, status, "{case}: {err}");
        assert_eq!(err["code"], code, "{case}: {err}");
    }
    let (_, list) = app.get(&ann.client, &format!("/api/messages/{}", bob.id)).await;
    assert_eq!(list, json!([]), "no message was written for a refused image");
}

#[tokio::test]
async fn unknown_or_crafted_upload_paths_are_json_404s() {
    let app = spawn_app().await;
    for path in [
        "/uploads/0190d7a2-0000-7000-8000-000000000000.png",
        "/uploads/..%2F..%2Fnatter.db",
        "/uploads/jwt_secret",
        "/uploads/a/b/c",
    ] {
        let (status, _) = app.get(&reqwest::Client::new(), path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
