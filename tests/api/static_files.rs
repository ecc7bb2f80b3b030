use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn static_dir_is_served_with_an_index_fallback_for_client_routes_only() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<!doctype html><div id=root></div>").unwrap();
    std::fs::create_dir(site.path().join("assets")).unwrap();
    std::fs::write(site.path().join("assets/app.js"), "console.log('app')").unwrap();
    let dir = site.path().to_path_buf();
    let app = spawn_app_with(move |s| s.static_dir = Some(dir)).await;
    let c = reqwest::Client::new();

    for path in ["/", "/login", "/chat/some/deep/route"] {
        let response = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        assert!(response.text().await.unwrap().contains("id=root"), "{path}");
    }
    let js = c.get(app.url("/assets/app.js")).send().await.unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()["content-type"].to_str().unwrap().contains("javascript"));

    // Socket.IO owns its path: a request that is no Engine.IO handshake gets its error, not the SPA.
    let socket = c.get(app.url("/socket.io/anything")).send().await.unwrap();
    assert!(socket.status().is_client_error());
    assert!(!socket.text().await.unwrap().contains("id=root"));
    for path in ["/api/unknown", "/api/messages/users/extra/segments", "/uploads/missing.png"] {
        let (status, body) = json_of(c.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: never index.html under API paths");
        assert!(body["code"].is_string());
    }
    // The API still answers next to the static site.
    assert_eq!(app.get(&c, "/api/auth/check").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn without_static_dir_the_built_in_web_client_is_served() {
    let app = spawn_app().await;
    let c = reqwest::Client::new();

    for path in ["/", "/index.html", "/some/client/route"] {
        let response = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        assert!(response.headers().contains_key("etag"), "{path}");
        assert!(response.text().await.unwrap().contains("<script type=\"module\""), "{path}");
    }
    for path in ["/app.js", "/vendor/socket.io.esm.min.js"] {
        let response = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().contains("javascript"), "{path}");
        // Unchanged files revalidate to a 304.
        let etag = response.headers()["etag"].clone();
        let again = c.get(app.url(path)).header("if-none-match", etag).send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    let css = c.get(app.url("/style.css")).send().await.unwrap();
    assert!(css.headers()["content-type"].to_str().unwrap().starts_with("text/css"));

    // Server paths and missing files keep their JSON 404, never the client's index.html.
    let socket = c.get(app.url("/socket.io/anything")).send().await.unwrap();
    assert!(socket.status().is_client_error());
    assert!(!socket.text().await.unwrap().contains("<script"));
    // Only the client is embedded: no notes or drafts from `web/` (`/README-section.md`).
    for path in ["/api/nope", "/api", "/uploads", "/uploads/missing.png", "/missing.js", "/README-section.md"] {
        let (status, body) = json_of(c.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(body["code"].is_string(), "{path}");
    }
    assert_eq!(app.get(&c, "/api/nope").await.1["code"], "route_not_found");
    let (status, _) = json_of(c.post(app.url("/")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "POST / is no page");
}
