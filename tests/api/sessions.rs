//! Sessions as their users see them: listed, ended one by one (by their user or an admin),
//! refreshed concurrently without being logged out, and ended by their absolute lifetime.

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::live::*;

fn client_with_agent(agent: &str) -> Client {
    Client::builder().cookie_store(true).user_agent(agent).build().unwrap()
}

async fn sessions_of(app: &TestApp, client: &Client) -> Vec<Value> {
    let (status, body) = app.get(client, "/api/auth/sessions").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().clone()
}

#[tokio::test]
async fn each_login_is_a_session_listed_with_its_device_and_times() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let phone = app.login_as("ann@example.com", client_with_agent("AnnPhone/1.0")).await;
    let sessions = sessions_of(&app, &phone.client).await;
    // Sign-up and the two logins.
    assert_eq!(sessions.len(), 3, "{sessions:?}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["userAgent"], "AnnPhone/1.0");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    assert_eq!(sessions[0]["_id"], current[0]["_id"], "the most recently used first");
    for session in &sessions {
        for field in ["createdAt", "lastUsedAt", "expiresAt"] {
            let at = session[field].as_str().unwrap();
            assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{field}: {at}");
        }
        assert!(session["expiresAt"].as_str() > session["lastUsedAt"].as_str());
        assert_no_secrets(session);
    }
    // A refresh is a use: the session keeps its id and start, and comes first again.
    let before = sessions_of(&app, &ann.client).await.into_iter().find(|s| s["current"] == true).unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (status, _) = app.post(&ann.client, "/api/auth/refresh", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let after = sessions_of(&app, &ann.client).await;
    assert_eq!(after.len(), 3);
    assert_eq!(after[0]["_id"], before["_id"]);
    assert_eq!(after[0]["current"], true, "the refreshed tokens still name the session");
    assert_eq!(after[0]["createdAt"], before["createdAt"]);
    assert!(after[0]["lastUsedAt"].as_str() > before["lastUsedAt"].as_str());
    assert_eq!(app.get(&reqwest::Client::new(), "/api/auth/sessions").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn ending_a_session_revokes_its_tokens_and_disconnects_its_sockets_at_once() {
    let app = spawn_app().await;
    let admin = app.register("root").await; // the first account is the admin
    let ann = app.register("ann").await;
    let phone = app.login_as("ann@example.com", cookie_client()).await;
    let bob = app.register("bob").await;
    let mut phone_socket = connect_as(&app, &phone.access_token).await;
    let mut laptop_socket = connect_as(&app, &ann.access_token).await;

    let phone_session = sessions_of(&app, &phone.client).await.into_iter().find(|s| s["current"] == true).unwrap();
    let id = phone_session["_id"].as_str().unwrap();
    // Nobody else sees or ends it: as if it did not exist.
    let path = format!("/api/auth/sessions/{id}");
    let (status, body) = app.request(&bob.client, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_error_shape(status, &body);
    let (status, _) = app.get(&bob.client, &format!("/api/auth/sessions?userId={}", ann.id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(sessions_of(&app, &bob.client).await.iter().all(|s| s["_id"] != id));

    // Ann ends it from her laptop.
    let (status, body) = app.request(&ann.client, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(phone_socket.next("sessionRevoked").await["reason"], "session_revoked");
    phone_socket.next("$close").await;
    assert!(laptop_socket.collect("sessionRevoked", Duration::from_millis(300)).await.is_empty());
    assert_eq!(app.get(&bearer(&phone.access_token), "/api/auth/check").await.0, StatusCode::UNAUTHORIZED);
    let (status, _) = app.post(&Client::new(), "/api/auth/refresh", json!({"refreshToken": phone.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&ann.client, "/api/auth/check").await.0, StatusCode::OK, "the laptop stays");
    assert_eq!(app.request(&ann.client, Method::DELETE, &path, None).await.0, StatusCode::NOT_FOUND, "already ended");

    // The admin sees Ann's sessions and ends one; ending one's own current session logs out.
    let (status, listed) = app.get(&admin.client, &format!("/api/auth/sessions?userId={}", ann.id)).await;
    assert_eq!(status, StatusCode::OK);
    let laptop = listed.as_array().unwrap().iter().find(|s| s["current"] == false).unwrap()["_id"].clone();
    let laptop_id = laptop.as_str().unwrap();
    let response = admin.client.delete(app.url(&format!("/api/auth/sessions/{laptop_id}"))).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookie(&response, "jwt").is_none(), "not the admin's own session: cookies stay");
    assert_eq!(app.get(&admin.client, "/api/auth/check").await.0, StatusCode::OK);
    let mine = sessions_of(&app, &bob.client).await.into_iter().find(|s| s["current"] == true).unwrap();
    let response = bob
        .client
        .delete(app.url(&format!("/api/auth/sessions/{}", mine["_id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookie(&response, "jwt").is_some_and(|c| c.starts_with("jwt=;")), "the cookies are cleared");
    assert_eq!(app.get(&bob.client, "/api/auth/check").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_all_succeed_on_every_refresh_route() {
    let app = spawn_app().await;
    for route in ["/api/auth/refresh", "/api/auth/refresh-token", "/api/v1/users/refresh-token"] {
        let name = format!("u{}", route.len());
        let user = app.register(&name).await;
        let requests = (0..6).map(|_| {
            let (url, token) = (app.url(route), user.refresh_token.clone());
            async move {
                let response = Client::new().post(url).json(&json!({"refreshToken": token})).send().await.unwrap();
                json_of(response).await
            }
        });
        let answers = futures::future::join_all(requests).await;
        let mut successors = Vec::new();
        for (status, body) in &answers {
            assert_eq!(*status, StatusCode::OK, "{route}: {body}");
            let data = if body["data"].is_object() { &body["data"] } else { body };
            successors.push(data["refreshToken"].as_str().unwrap().to_string());
        }
        successors.dedup();
        assert_eq!(successors.len(), 1, "{route}: every racer gets the same new token");
        // The session is still valid: the new token refreshes, the old one once more too (grace).
        let (status, body) = app.post(&Client::new(), route, json!({"refreshToken": successors[0]})).await;
        assert_eq!(status, StatusCode::OK, "{route}: {body}");
        assert_eq!(app.get(&user.client, "/api/auth/check").await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_rotated_token_presented_after_the_grace_period_revokes_the_session() {
    let app = spawn_app_with(|s| s.refresh_reuse_grace = Duration::from_millis(300)).await;
    let ann = app.register("ann").await;
    let c = Client::new();
    let (status, first) = app.post(&c, "/api/auth/refresh", json!({"refreshToken": ann.refresh_token})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, again) = app.post(&c, "/api/auth/refresh", json!({"refreshToken": ann.refresh_token})).await;
    assert_eq!(status, StatusCode::OK, "within the grace period");
    assert_eq!(again["refreshToken"], first["refreshToken"]);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (status, body) = app.post(&c, "/api/auth/refresh", json!({"refreshToken": ann.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, _) = app.post(&c, "/api/auth/refresh", json!({"refreshToken": first["refreshToken"]})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "the whole session is revoked");
}

fn exp_and_iat(access_token: &str) -> (i64, i64) {
    let claims = jwt_claims(access_token);
    (claims["exp"].as_i64().unwrap(), claims["iat"].as_i64().unwrap())
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_lifetime_however_active() {
    let app = spawn_app_with(|s| s.session_max_age = Duration::from_secs(2)).await;
    let ann = app.register("ann").await;
    let (exp, iat) = exp_and_iat(&ann.access_token);
    assert!(exp - iat <= 2, "no access token outlives its session: {exp} - {iat}");
    let (status, fresh) =
        app.post(&Client::new(), "/api/auth/refresh", json!({"refreshToken": ann.refresh_token})).await;
    assert_eq!(status, StatusCode::OK);
    let (exp, _) = exp_and_iat(fresh["accessToken"].as_str().unwrap());
    assert!(exp <= iat + 2, "a refresh does not extend it");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, body) =
        app.post(&Client::new(), "/api/auth/refresh", json!({"refreshToken": fresh["refreshToken"]})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(sessions_of(&app, &app.login_as("ann@example.com", cookie_client()).await.client).await.len() == 1);
}
