//! Browser safety: security headers on every response, a strict CSP on natter's own pages,
//! CORS only from the allowlist, and no cross-origin use of the session cookies (forged
//! writes and Socket.IO handshakes from another origin are refused).

use reqwest::header::{HeaderMap, ORIGIN, REFERER};
use reqwest::{Client, Method, StatusCode};
use serde_json::json;

use crate::helpers::*;

const EVIL: &str = "https://evil.example";

fn assert_security_headers(headers: &HeaderMap, what: &str) {
    assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    assert_eq!(headers["referrer-policy"], "no-referrer", "{what}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
}

#[tokio::test]
async fn every_response_carries_the_security_headers_and_pages_a_strict_csp() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    for (path, client) in [
        ("/api/auth/check", &ann.client),
        ("/api/nope", &ann.client),
        ("/healthz", &ann.client),
        ("/api/openapi.json", &ann.client),
        ("/socket.io/?EIO=4&transport=polling", &ann.client),
    ] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_security_headers(response.headers(), path);
        let csp = response.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{path}: not a page, nothing may run: {csp}");
        assert!(response.headers().get("strict-transport-security").is_none(), "plain http here");
    }
    for page in ["/", "/docs/"] {
        let response = Client::new().get(app.url(page)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_security_headers(response.headers(), page);
        let csp = response.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{page}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{page}: {csp}");
        assert!(csp.contains("object-src 'none'") && csp.contains("base-uri 'none'"), "{page}: {csp}");
    }
    // An uploaded file is a resource: opened in a tab, it runs nothing.
    let png = png();
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(png).file_name("a.png"));
    let (_, upload) = json_of(ann.client.post(app.url("/api/uploads")).multipart(form).send().await.unwrap()).await;
    let response = ann.client.get(app.url(upload["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_security_headers(response.headers(), "an upload");
    assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
}

#[tokio::test]
async fn hsts_is_sent_when_cookies_are_secure() {
    let app = spawn_app_with(|s| s.cookie_secure = Some(true)).await;
    let response = Client::new().get(app.url("/healthz")).send().await.unwrap();
    let hsts = response.headers()["strict-transport-security"].to_str().unwrap();
    assert!(hsts.starts_with("max-age=31536000"), "{hsts}");
}

#[tokio::test]
async fn cors_answers_only_the_allowlist_and_never_a_wildcard() {
    let app = spawn_app_with(|s| s.cors_origins = Some(vec!["https://app.example.com".into()])).await;
    for (origin, allowed) in [("https://app.example.com", true), (EVIL, false), ("null", false)] {
        let preflight = Client::new()
            .request(Method::OPTIONS, app.url("/api/auth/login"))
            .header(ORIGIN, origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
            .await
            .unwrap();
        let acao = preflight.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_string());
        if allowed {
            assert_eq!(acao.as_deref(), Some(origin));
            assert_eq!(preflight.headers()["access-control-allow-credentials"], "true");
        } else {
            assert_eq!(acao, None, "{origin} must get no CORS grant");
        }
    }
}

async fn post_with(client: &Client, url: String, headers: &[(reqwest::header::HeaderName, &str)]) -> reqwest::Response {
    let mut request = client.post(url).json(&json!({"text": "hi", "content": "hi"}));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn cookie_writes_from_another_origin_are_refused_in_each_surfaces_envelope() {
    let app = spawn_app_with(|s| s.cors_origins = Some(vec!["https://app.example.com".into()])).await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let send = app.url(&format!("/api/messages/send/{}", bob.id));

    let response = post_with(&ann.client, send.clone(), &[(ORIGIN, EVIL)]).await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_error_shape(status, &body);
    assert!(body["message"].as_str().unwrap().contains(EVIL), "{body}");
    // Without `Origin`, the `Referer` tells.
    let response = post_with(&ann.client, send.clone(), &[(REFERER, "https://evil.example/forum/post/1")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (_, conversation) = app.get(&bob.client, &format!("/api/messages/{}", ann.id)).await;
    assert_eq!(conversation, json!([]), "nothing was sent");

    // natter's own origin, an allowed one, and no origin at all (not a browser) pass.
    let own = format!("http://{}", app.addr);
    for headers in [vec![(ORIGIN, own.as_str())], vec![(ORIGIN, "https://app.example.com")], vec![]] {
        assert_eq!(post_with(&ann.client, send.clone(), &headers).await.status(), StatusCode::CREATED, "{headers:?}");
    }
    // A token client is not riding on cookies: its origin is CORS's business.
    assert_eq!(
        post_with(&bearer(&ann.access_token), send.clone(), &[(ORIGIN, EVIL)]).await.status(),
        StatusCode::CREATED
    );
    // Reads are not writes (and CORS keeps their answers from the other page).
    let read = ann.client.get(app.url("/api/auth/check")).header(ORIGIN, EVIL).send().await.unwrap();
    assert_eq!(read.status(), StatusCode::OK);

    // The video platform's routes answer in its envelope.
    let response = post_with(&ann.client, app.url("/api/v1/tweets"), &[(ORIGIN, EVIL)]).await;
    let (status, body) = json_of(response).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["success"], false);
    assert_eq!(body["statusCode"], 403);
    assert!(body.get("data").is_some(), "videotube envelope: {body}");

    // Logging someone out or rotating their tokens from another page is refused too.
    let response = post_with(&ann.client, app.url("/api/auth/logout"), &[(ORIGIN, EVIL)]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = post_with(&ann.client, app.url("/api/auth/refresh"), &[(ORIGIN, EVIL)]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&ann.client, "/api/auth/check").await.0, StatusCode::OK, "still logged in");
}

#[tokio::test]
async fn socket_handshakes_with_cookies_from_another_origin_are_refused() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let handshake = |origin: Option<&'static str>, transport: &'static str| {
        let mut request = Client::new()
            .get(app.url(&format!("/socket.io/?EIO=4&transport={transport}")))
            .header("cookie", format!("jwt={}", ann.access_token));
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        request.send()
    };
    let refused = handshake(Some(EVIL), "polling").await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let (status, body) = json_of(refused).await;
    assert_error_shape(status, &body);
    assert_eq!(handshake(Some(EVIL), "websocket").await.unwrap().status(), StatusCode::FORBIDDEN);
    let own: &'static str = Box::leak(format!("http://{}", app.addr).into_boxed_str());
    assert_eq!(handshake(Some(own), "polling").await.unwrap().status(), StatusCode::OK);
    assert_eq!(handshake(None, "polling").await.unwrap().status(), StatusCode::OK);
}
