//! The OpenAPI document at `/api/openapi.json` against the router's own route table, the
//! real error bodies against its `ErrorBody` schema, and the offline docs page at `/docs`.

use std::collections::BTreeSet;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

async fn served_spec(app: &TestApp) -> Value {
    let response = Client::new().get(app.url("/api/openapi.json")).send().await.expect("request sent");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    response.json().await.expect("the document is JSON")
}

/// Every (METHOD, path) of the document's `paths`, with the operation.
fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

/// `#/components/schemas/X` → the schema X.
fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("foreign $ref {r}"));
            let found = &spec["components"]["schemas"][name];
            assert!(found.is_object(), "$ref {r} names no schema");
            found
        }
        None => schema,
    }
}

#[tokio::test]
async fn every_mounted_route_is_documented_and_only_mounted_routes_are() {
    let app = spawn_app().await;
    let spec = served_spec(&app).await;

    let mounted: BTreeSet<(String, String)> = natter::http::route_table()
        .into_iter()
        .map(|(method, path)| (method.to_string(), natter::http::openapi::spec_path(&path)))
        .collect();
    let documented: BTreeSet<(String, String)> =
        operations(&spec).into_iter().map(|(method, path, _)| (method, path)).collect();

    let undocumented: Vec<_> = mounted.difference(&documented).collect();
    assert!(undocumented.is_empty(), "mounted but missing from /api/openapi.json: {undocumented:?}");
    let not_mounted: Vec<_> = documented.difference(&mounted).collect();
    assert!(not_mounted.is_empty(), "documented but not mounted: {not_mounted:?}");

    // The routes this suite knows of, aliases and service routes included, are all there.
    for (method, path) in [
        ("POST", "/api/auth/signin"),
        ("POST", "/api/auth/refreshtoken"),
        ("POST", "/api/auth/refresh-token"),
        ("GET", "/api/auth/me"),
        ("POST", "/api/rooms/initiate"),
        ("PUT", "/api/rooms/{room_id}/mark-read"),
        ("POST", "/api/uploads"),
        ("GET", "/uploads/{key}"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/api/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/"),
    ] {
        assert!(documented.contains(&(method.to_string(), path.to_string())), "{method} {path} is not documented");
    }
}

#[tokio::test]
async fn every_route_in_the_table_is_served_by_the_running_server() {
    let app = spawn_app().await;
    // No cookies, no redirects followed: each route answers on its own.
    let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let dummy = "0190a000-0000-7000-8000-000000000000";
    for (method, path) in natter::http::route_table() {
        let concrete = natter::http::openapi::spec_path(&path)
            .split('/')
            .map(|seg| if seg.starts_with('{') { dummy } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let response = client.request(method.clone(), app.url(&concrete)).send().await.expect("request sent");
        let status = response.status();
        let text = response.text().await.unwrap();
        let code = serde_json::from_str::<Value>(&text).ok().and_then(|b| b["code"].as_str().map(String::from));
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}: {text}");
        assert_ne!(code.as_deref(), Some("route_not_found"), "{method} {path} fell through to the 404 fallback");
    }
}

#[tokio::test]
async fn openapi_json_is_openapi_3_1_and_documents_signin_with_its_errors() {
    let app = spawn_app().await;
    let spec = served_spec(&app).await;
    assert!(spec["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "version: {}", spec["openapi"]);
    assert_eq!(spec["info"]["title"], "natter");

    let signin = &spec["paths"]["/api/auth/signin"]["post"];
    let login = &spec["paths"]["/api/auth/login"]["post"];
    assert!(signin.is_object() && login.is_object());
    assert_eq!(
        resolve(&spec, &signin["responses"]["200"]["content"]["application/json"]["schema"])["allOf"][0]["$ref"],
        "#/components/schemas/User"
    );
    assert_eq!(
        signin["responses"]["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
    assert_eq!(signin["requestBody"], login["requestBody"]);
    assert_ne!(signin["operationId"], login["operationId"]);
    assert!(signin["description"].as_str().unwrap().contains("Alias of `POST /api/auth/login`"), "{signin}");

    let ids: Vec<&str> = operations(&spec)
        .iter()
        .map(|(m, p, op)| op["operationId"].as_str().unwrap_or_else(|| panic!("{m} {p} has no operationId")))
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "operationIds must be unique: {ids:?}");

    // The security schemes of API.md, and every requirement names one of them.
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(
        schemes["jwtCookie"],
        json!({"type": "apiKey", "in": "cookie", "name": "jwt", "description": schemes["jwtCookie"]["description"]})
    );
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["accessTokenHeader"]["in"], "header");
    assert_eq!(schemes["accessTokenHeader"]["name"], "x-access-token");
    let requirements =
        operations(&spec).into_iter().filter_map(|(_, _, op)| op["security"].as_array().cloned()).flatten();
    for requirement in spec["security"].as_array().unwrap().iter().cloned().chain(requirements) {
        for name in requirement.as_object().unwrap().keys() {
            assert!(schemes[name].is_object(), "security requirement names unknown scheme {name}");
        }
    }
}

/// What each route documents, checked for all of them, so a new route cannot be documented
/// by halves.
#[tokio::test]
async fn every_operation_documents_a_success_and_its_errors_as_the_error_body() {
    let app = spawn_app().await;
    let spec = served_spec(&app).await;
    for (method, path, op) in operations(&spec) {
        let at = format!("{method} {path}");
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{at}: no tag");
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{at}: no summary (doc comment)");
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{at}: no responses"));
        assert!(responses.keys().any(|s| s.starts_with('2') || s.starts_with('3')), "{at}: no success response");
        for (status, response) in responses {
            if status.starts_with('4') || (status.starts_with('5') && status != "503") {
                // The native error body, or the envelope of the tutorial surface the route is in.
                let schema = response["content"]["application/json"]["schema"]["$ref"].as_str().unwrap_or("");
                let chat_api = ["/users", "/login/", "/room", "/delete/"].iter().any(|p| path.starts_with(p));
                let envelope = match () {
                    _ if path.starts_with("/api/test/") => "JwtAuthError",
                    _ if path.starts_with("/api/v1/") => "VideotubeError",
                    _ if chat_api => "ChatApiError",
                    _ => "ErrorBody",
                };
                assert_eq!(
                    schema,
                    format!("#/components/schemas/{envelope}"),
                    "{at} {status}: errors are the {envelope}"
                );
            }
        }
        let public = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r == &json!({})));
        if !public {
            assert!(responses.contains_key("401"), "{at}: authenticated, but no 401 documented");
        }
        for param in op["parameters"].as_array().into_iter().flatten() {
            if param["in"] == "path" {
                let name = param["name"].as_str().unwrap();
                assert!(path.contains(&format!("{{{name}}}")), "{at}: path parameter {name} is not in the path");
            }
        }
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(['{', '}']);
            let declared =
                op["parameters"].as_array().into_iter().flatten().any(|p| p["in"] == "path" && p["name"] == name);
            assert!(declared, "{at}: path parameter {name} is not declared");
        }
        if let Some(content) = op["requestBody"]["content"].as_object()
            && content.contains_key("application/json")
        {
            for status in ["400", "413"] {
                assert!(responses.contains_key(status), "{at}: JSON body, but no {status} documented");
            }
            if op["requestBody"]["required"] == json!(true) {
                assert!(responses.contains_key("415"), "{at}: required JSON body, but no 415 documented");
            }
        }
    }
}

/// The schema is written beside `error.rs`, not derived from it: real error bodies keep it honest.
#[tokio::test]
async fn real_error_bodies_match_the_error_body_schema() {
    let app = spawn_app().await;
    let spec = served_spec(&app).await;
    let schema = &spec["components"]["schemas"]["ErrorBody"];
    let codes: Vec<&str> = resolve(&spec, &schema["properties"]["code"])["enum"]
        .as_array()
        .expect("code is an enum")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for code in
        ["validation_failed", "malformed_json", "unauthorized", "route_not_found", "email_taken", "rate_limited"]
    {
        assert!(codes.contains(&code), "ErrorCode enum lacks {code}: {codes:?}");
    }
    let properties = schema["properties"].as_object().unwrap();
    assert!(properties.contains_key("requestId"));

    let c = Client::new();
    let ann = app.register("ann").await;
    let responses = [
        c.get(app.url("/api/nothing")).send().await.unwrap(),
        c.delete(app.url("/api/auth/login")).send().await.unwrap(),
        c.get(app.url("/api/auth/check")).send().await.unwrap(),
        c.post(app.url("/api/auth/login")).header("content-type", "application/json").body("{").send().await.unwrap(),
        c.post(app.url("/api/auth/signup")).json(&json!({"email": "nope"})).send().await.unwrap(),
        c.post(app.url("/api/auth/signup"))
            .json(&json!({"fullName": "Ann", "email": ann.email, "password": PASSWORD}))
            .send()
            .await
            .unwrap(),
        c.get(app.url("/docs/no-such-file.js")).send().await.unwrap(),
    ];
    let mut seen = BTreeSet::new();
    for response in responses {
        let (status, body) = json_of(response).await;
        assert!(status.is_client_error(), "{status}: {body}");
        let object = body.as_object().unwrap();
        for required in schema["required"].as_array().unwrap() {
            assert!(object.contains_key(required.as_str().unwrap()), "{body} lacks {required}");
        }
        for key in object.keys() {
            assert!(
                properties.contains_key(key),
                "the error body has `{key}`, which the ErrorBody schema lacks: {body}"
            );
        }
        let code = body["code"].as_str().unwrap();
        assert!(codes.contains(&code), "code {code} is not in the ErrorCode enum");
        seen.insert(code.to_string());
        if let Some(errors) = body.get("errors") {
            assert!(errors.as_object().unwrap().values().all(Value::is_string), "{body}");
        }
    }
    assert!(seen.contains("validation_failed") && seen.contains("email_taken"), "{seen:?}");
}

#[tokio::test]
async fn the_docs_page_and_all_its_assets_are_served_by_natter() {
    let app = spawn_app().await;
    let c = Client::new();

    // `/docs` leads to `/docs/`, whose files are relative to it.
    let response = c.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.url().path(), "/docs/");
    let response = c.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");

    let assets: Vec<String> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1).map(|rest| rest.split('"').next().unwrap().to_string()))
        .collect();
    assert!(assets.iter().any(|a| a.ends_with(".js")) && assets.iter().any(|a| a.ends_with(".css")), "{assets:?}");
    for asset in &assets {
        assert!(!asset.contains("//"), "the docs page loads {asset} from elsewhere");
        let url = reqwest::Url::parse(&app.url("/docs/")).unwrap().join(asset).unwrap();
        let response = c.get(url.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
        if asset.ends_with(".js") {
            assert!(content_type.contains("javascript"), "{url}: {content_type}");
        } else if asset.ends_with(".css") {
            assert!(content_type.starts_with("text/css"), "{url}: {content_type}");
        }
    }

    // The page loads this server's document, and no validator from the network.
    let init = c.get(app.url("/docs/swagger-initializer.js")).send().await.unwrap().text().await.unwrap();
    assert!(init.contains("\"/api/openapi.json\""), "{init}");
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
}

#[tokio::test]
async fn the_docs_page_is_not_shadowed_by_a_static_frontend() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("index.html"), "<!doctype html><div id=root></div>").unwrap();
    let dir = site.path().to_path_buf();
    let app = spawn_app_with(move |s| s.static_dir = Some(dir)).await;
    let c = Client::new();
    let html = c.get(app.url("/docs")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("swagger-ui") && !html.contains("id=root"), "{html}");
    assert!(served_spec(&app).await["paths"].is_object());
}

#[tokio::test]
async fn the_video_platforms_forms_and_envelopes_are_documented_as_sent() {
    let app = spawn_app().await;
    let spec = served_spec(&app).await;
    let keys =
        |schema: &Value| -> BTreeSet<String> { schema["properties"].as_object().unwrap().keys().cloned().collect() };
    let set = |names: &[&str]| -> BTreeSet<String> { names.iter().map(|s| s.to_string()).collect() };
    // Multipart field names as multer clients send them (and the server reads them).
    let schemas = &spec["components"]["schemas"];
    assert_eq!(keys(&schemas["PublishForm"]), set(&["title", "description", "videoFile", "thumbnail"]));
    assert_eq!(
        keys(&schemas["RegisterForm"]),
        set(&["fullName", "email", "username", "password", "avatar", "coverImage"])
    );
    // A success is documented in the envelope it is sent in.
    let ok = &spec["paths"]["/api/v1/users/current-user"]["get"]["responses"]["200"]["content"]["application/json"];
    assert_eq!(keys(&ok["schema"]), set(&["statusCode", "data", "message", "success"]));
}
