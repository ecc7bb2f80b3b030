use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use natter::config::Settings;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

fn test_secret() -> Vec<u8> {
    Settings::for_tests().jwt_secret.unwrap().into_bytes()
}

fn claims_for(user: &TestUser, exp_offset_secs: i64) -> Value {
    let mut claims = jwt_claims(&user.access_token);
    claims["exp"] = json!(chrono::Utc::now().timestamp() + exp_offset_secs);
    claims
}

fn sign(claims: &Value, secret: &[u8]) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(secret)).unwrap()
}

#[tokio::test]
async fn access_tokens_carry_sub_user_id_iat_and_exp() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let claims = claims_for(&ann, 0);
    assert_eq!(claims["sub"], ann.id.as_str());
    assert_eq!(claims["userId"], ann.id.as_str());
    assert!(claims["iat"].is_i64());
    // A token re-signed with the server's key and a later expiry is accepted: the check
    // below is about what is wrong with the bad ones, not about our signing.
    let good = sign(&claims_for(&ann, 600), &test_secret());
    assert_eq!(app.get(&bearer(&good), "/api/auth/check").await.0, StatusCode::OK);
}

#[tokio::test]
async fn expired_tampered_foreign_and_unsigned_tokens_get_401() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;

    let expired = sign(&claims_for(&ann, -120), &test_secret());
    let foreign = sign(&claims_for(&ann, 600), b"some-other-secret-some-other-secret!");
    let mut tampered_claims = claims_for(&ann, 600);
    tampered_claims["sub"] = json!(bob.id);
    tampered_claims["userId"] = json!(bob.id);
    let signature = ann.access_token.rsplit('.').next().unwrap();
    let header = ann.access_token.split('.').next().unwrap();
    let tampered = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(tampered_claims.to_string()));
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let unsigned = format!("{none_header}.{}.", URL_SAFE_NO_PAD.encode(claims_for(&ann, 600).to_string()));
    let cases = [
        (expired, "expired"),
        (foreign, "signed with another key"),
        (tampered, "tampered payload"),
        (unsigned, "alg none"),
        ("not-a-jwt".to_string(), "garbage"),
    ];
    for (token, case) in cases {
        let (status, body) = app.get(&bearer(&token), "/api/auth/check").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
        let cookie = reqwest::Client::new()
            .get(app.url("/api/auth/check"))
            .header("cookie", format!("jwt={token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(cookie.status(), StatusCode::UNAUTHORIZED, "{case} as cookie");
    }
    let (_, body) = app.get(&bearer(&sign(&claims_for(&ann, -120), &test_secret())), "/api/auth/check").await;
    assert!(body["message"].as_str().unwrap().contains("expired"), "{body}");
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_whole_family() {
    // No grace period: a second refresh of the same token is reuse at once (see sessions.rs
    // for the grace period).
    let app = spawn_app_with(|s| s.refresh_reuse_grace = std::time::Duration::ZERO).await;
    let ann = app.register("ann").await;
    let c = reqwest::Client::new();

    let (status, first) = app.post(&c, "/api/auth/refresh", json!({"refreshToken": ann.refresh_token})).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let rotated = first["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(rotated, ann.refresh_token, "refresh rotates the token");
    let new_access = first["accessToken"].as_str().unwrap().to_string();
    assert_eq!(app.get(&bearer(&new_access), "/api/auth/check").await.0, StatusCode::OK);

    let (status, second) = app.post(&c, "/api/auth/refreshtoken", json!({"refreshToken": rotated})).await;
    assert_eq!(status, StatusCode::OK, "alias /refreshtoken: {second}");
    let newest = second["refreshToken"].as_str().unwrap().to_string();

    // Someone replays the first token: the family dies, including the newest token.
    let (status, err) = app.post(&c, "/api/auth/refresh-token", json!({"refreshToken": ann.refresh_token})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["code"], "unauthorized");
    assert_eq!(app.post(&c, "/api/auth/refresh", json!({"refreshToken": newest})).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&bearer(&new_access), "/api/auth/check").await.0, StatusCode::UNAUTHORIZED);
    // Other logins of the same user are separate families and survive.
    let other = app.login_as("ann@example.com", cookie_client()).await;
    assert_eq!(app.get(&other.client, "/api/auth/check").await.0, StatusCode::OK);
}

#[tokio::test]
async fn refresh_reads_the_cookie_and_sets_new_cookies() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let response = ann.client.post(app.url("/api/auth/refresh")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(set_cookie(&response, "jwt").is_some());
    let new_cookie = set_cookie(&response, "refreshToken").unwrap().to_string();
    assert!(!new_cookie.contains(&ann.refresh_token));
    let (_, body) = json_of(response).await;
    assert!(body["accessToken"].is_string());
    // The jar now holds the rotated token, which works.
    assert_eq!(app.post(&ann.client, "/api/auth/refresh", json!({})).await.0, StatusCode::OK);

    let (status, _) = app.post(&reqwest::Client::new(), "/api/auth/refresh", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "no token at all");
    let (status, _) = app.post(&reqwest::Client::new(), "/api/auth/refresh", json!({"refreshToken": "made-up"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_jwt_cookie_is_refreshed_transparently() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let expired = sign(&claims_for(&ann, -120), &test_secret());
    let response = reqwest::Client::new()
        .get(app.url("/api/auth/check"))
        .header("cookie", format!("jwt={expired}; refreshToken={}", ann.refresh_token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "served with the refresh cookie");
    let jwt = set_cookie(&response, "jwt").expect("a fresh jwt cookie").to_string();
    let refresh = set_cookie(&response, "refreshToken").expect("a rotated refresh cookie").to_string();
    assert!(!refresh.contains(&ann.refresh_token));
    let (_, me) = json_of(response).await;
    assert_eq!(me["_id"], ann.id.as_str());

    // A parallel request of the same browser, still carrying the old refresh token, is
    // served within the grace period and does not trip reuse detection.
    let response = reqwest::Client::new()
        .get(app.url("/api/auth/check"))
        .header("cookie", format!("refreshToken={}", ann.refresh_token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let new_access = jwt.trim_start_matches("jwt=").split(';').next().unwrap();
    assert_eq!(app.get(&bearer(new_access), "/api/auth/check").await.0, StatusCode::OK);

    // Without a refresh cookie an expired jwt is simply 401.
    let response = reqwest::Client::new()
        .get(app.url("/api/auth/check"))
        .header("cookie", format!("jwt={expired}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}
