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
async fn without_static_dir_the_root_is_a_json_404() {
    let app = spawn_app().await;
    let (status, body) = app.get(&reqwest::Client::new(), "/").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "route_not_found");
}
