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
    let mut big_png = png();
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

fn png_with_script() -> Vec<u8> {
    use image::{DynamicImage, Rgba, RgbaImage};
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(RgbaImage::from_pixel(3, 2, Rgba([200, 10, 10, 255])))
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
        .unwrap();
    // A tEXt chunk after IHDR (its CRC left wrong: decoders skip ancillary chunks they doubt,
    // and the point is what is served back), and HTML after IEND.
    let text = b"tEXtComment\0<script>alert(document.cookie)</script>";
    let mut chunk = ((text.len() - 4) as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(text);
    chunk.extend_from_slice(&[0, 0, 0, 0]);
    out.splice(33..33, chunk);
    out.extend_from_slice(b"<html><body><script>alert(1)</script></body></html>");
    out
}

/// A JPEG whose EXIF says "rotate 90° clockwise" and carries a note (as a GPS position would).
fn jpeg_with_exif(note: &str) -> Vec<u8> {
    use image::{DynamicImage, Rgb, RgbImage};
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(RgbImage::from_pixel(4, 2, Rgb([10, 200, 10])))
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95))
        .unwrap();
    let mut tiff = b"MM\x00\x2a\x00\x00\x00\x08\x00\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0x00, 0x06, 0, 0, 0, 0, 0, 0]);
    tiff.extend_from_slice(note.as_bytes());
    let payload = [b"Exif\0\0".as_slice(), &tiff].concat();
    let mut segment = vec![0xFF, 0xE1];
    segment.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    segment.extend_from_slice(&payload);
    out.splice(2..2, segment);
    out
}

async fn upload_file(app: &TestApp, user: &TestUser, bytes: Vec<u8>) -> (StatusCode, serde_json::Value) {
    crate::uploads::upload(&user.client, app, reqwest::multipart::Part::bytes(bytes).file_name("x")).await
}

#[tokio::test]
async fn images_are_stored_re_encoded_so_metadata_scripts_and_tails_do_not_survive() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let (status, png) = upload_file(&app, &ann, png_with_script()).await;
    assert_eq!(status, StatusCode::CREATED, "{png}");
    assert_eq!(png["contentType"], "image/png");
    let served = ann.client.get(app.url(png["url"].as_str().unwrap())).send().await.unwrap().bytes().await.unwrap();
    assert!(!String::from_utf8_lossy(&served).contains("script"), "served back byte for byte");
    assert_eq!(png["bytes"], served.len(), "the size is the stored file's");
    let pixels = image::load_from_memory(&served).unwrap().to_rgba8();
    assert_eq!(pixels.dimensions(), (3, 2));
    assert_eq!(pixels.get_pixel(0, 0).0, [200, 10, 10, 255], "the pixels are kept");

    // EXIF goes (a photo's GPS position with it), its orientation is applied to the pixels.
    let (status, jpeg) = upload_file(&app, &ann, jpeg_with_exif("GPS 48.8584N 2.2945E")).await;
    assert_eq!(status, StatusCode::CREATED, "{jpeg}");
    assert_eq!(jpeg["contentType"], "image/jpeg");
    let served = ann.client.get(app.url(jpeg["url"].as_str().unwrap())).send().await.unwrap().bytes().await.unwrap();
    assert!(!String::from_utf8_lossy(&served).contains("GPS") && !served.windows(4).any(|w| w == b"Exif"));
    let upright = image::load_from_memory(&served).unwrap();
    assert_eq!((upright.width(), upright.height()), (2, 4), "rotated as its EXIF said");

    // Data URLs (a message image, an avatar) go the same way.
    let bob = app.register("bob").await;
    let data_url = format!(
        "data:image/png;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, png_with_script())
    );
    let (status, message) =
        app.post(&ann.client, &format!("/api/messages/send/{}", bob.id), json!({"image": data_url})).await;
    assert_eq!(status, StatusCode::CREATED, "{message}");
    let served =
        bob.client.get(app.url(message["image"].as_str().unwrap())).send().await.unwrap().bytes().await.unwrap();
    assert!(!String::from_utf8_lossy(&served).contains("script"));
}

#[tokio::test]
async fn polyglots_and_pixel_bombs_are_refused_and_nothing_is_kept() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let mut giant = png_with_script();
    // IHDR says 100000 × 100000 (with a correct CRC): billions of pixels in a few bytes.
    giant[16..24].copy_from_slice(&[0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0]);
    let crc = crc32fast::hash(&giant[12..29]);
    giant[29..33].copy_from_slice(&crc.to_be_bytes());
    for (case, bytes) in [
        ("a GIF header before a script", b"GIF89a/*<svg onload=alert(1)>*/=1;alert(1)//".to_vec()),
        ("a PNG signature before HTML", b"\x89PNG\r\n\x1a\n<html><script>alert(1)</script>".to_vec()),
        ("a truncated JPEG", jpeg_with_exif("x")[..60].to_vec()),
        ("a pixel bomb", giant),
    ] {
        let (status, body) = upload_file(&app, &ann, bytes).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{case}: {body}");
        assert_eq!(body["code"], "invalid_image", "{case}: {body}");
    }
    let stored = std::fs::read_dir(app.dir.join("uploads")).map(|d| d.count()).unwrap_or(0);
    if crate::STORAGE == Storage::Local {
        assert_eq!(stored, 0, "no file was kept for a refused image");
    }
}

/// A GET sent as written (HTTP clients normalise `..` and `%2e%2e` away), with a bearer token.
async fn raw_get(app: &TestApp, path: &str, token: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n",
        app.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).to_string();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn upload_keys_never_reach_outside_the_storage_root() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let (_, upload) = upload_file(&app, &ann, png_with_script()).await;
    let key = upload["url"].as_str().unwrap().trim_start_matches("/uploads/").to_string();
    std::fs::write(app.dir.join("outside.txt"), "SECRET-OUTSIDE").unwrap();
    let (status, _) = raw_get(&app, &format!("/uploads/{key}"), &ann.access_token).await;
    assert_eq!(status, 200, "the raw client works");
    for path in [
        "/uploads/../outside.txt".to_string(),
        "/uploads/..%2Foutside.txt".to_string(),
        "/uploads/%2e%2e/outside.txt".to_string(),
        "/uploads/%2E%2E%2Foutside.txt".to_string(),
        "/uploads/.%2e/natter.db".to_string(),
        "/uploads/..%5Coutside.txt".to_string(),
        "/uploads/..\\outside.txt".to_string(),
        "/uploads/%2Fetc%2Fpasswd".to_string(),
        "/uploads//etc/passwd".to_string(),
        "/uploads/jwt_secret".to_string(),
        "/uploads/..".to_string(),
        format!("/uploads/{key}%00.html"),
        "/uploads/x/../../outside.txt".to_string(),
        format!("/uploads/{key}/..%2F..%2Foutside.txt"),
    ] {
        let (status, response) = raw_get(&app, &path, &ann.access_token).await;
        assert!(!response.contains("SECRET-OUTSIDE") && !response.contains("SQLite format"), "{path} leaked");
        assert!(
            !response.contains(&std::fs::read_to_string(app.dir.join("jwt_secret")).unwrap_or("-".repeat(64))),
            "{path}"
        );
        assert!((400..500).contains(&status), "{path}: {status}");
    }
}
