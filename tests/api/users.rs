use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

fn ids(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|u| u["_id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_sidebar_lists_everyone_but_the_caller() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let (status, list) = app.get(&ann.client, "/api/messages/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&list), vec![bob.id.clone(), cat.id.clone()]);
    assert_eq!(list[0]["fullName"], "bob");
    assert_eq!(app.get(&reqwest::Client::new(), "/api/messages/users").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn users_can_be_searched_and_paged_with_a_cursor() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let mut all = vec![ann.id.clone()];
    for name in ["bob", "bobby", "carol", "dave"] {
        all.push(app.register(name).await.id);
    }
    let (_, found) = app.get(&ann.client, "/api/users?q=BOB").await;
    assert_eq!(ids(&found), vec![all[1].clone(), all[2].clone()]);
    let (_, none) = app.get(&ann.client, "/api/users?q=%25").await;
    assert_eq!(ids(&none), Vec::<String>::new(), "LIKE wildcards are literal");

    let first = ann.client.get(app.url("/api/users?limit=2")).send().await.unwrap();
    let next = first.headers()["x-next-cursor"].to_str().unwrap().to_string();
    let (_, page1) = json_of(first).await;
    assert_eq!(ids(&page1), all[..2].to_vec());
    assert_eq!(next, all[1]);
    let (_, page2) = app.get(&ann.client, &format!("/api/users?limit=2&cursor={next}")).await;
    assert_eq!(ids(&page2), all[2..4].to_vec());
    let (_, page3) = app.get(&ann.client, &format!("/api/users?limit=2&cursor={}", all[3])).await;
    assert_eq!(ids(&page3), all[4..].to_vec());

    for bad in ["/api/users?limit=0", "/api/users?limit=1001", "/api/users?limit=x", "/api/users?cursor=nope"] {
        let (status, body) = app.get(&ann.client, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
}

#[tokio::test]
async fn a_user_can_be_fetched_by_id_and_unknown_ids_are_404() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let (status, user) = app.get(&ann.client, &format!("/api/users/{}", bob.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["email"], "bob@example.com");
    let (status, err) = app.get(&ann.client, "/api/users/0190d7a2-0000-7000-8000-000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(err["code"], "not_found");
    assert_eq!(app.get(&ann.client, "/api/users/not-an-id").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn profiles_are_changed_by_their_owner_or_an_admin_only() {
    let app = spawn_app().await;
    let admin = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let path = format!("/api/users/{}", bob.id);

    let (status, user) =
        app.request(&bob.client, Method::PATCH, &path, Some(json!({"fullName": "Bobby", "username": "Bob_1"}))).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["fullName"], "Bobby");
    assert_eq!(user["username"], "bob_1");

    let (status, err) = app.request(&cat.client, Method::PATCH, &path, Some(json!({"fullName": "Hacked"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");

    let (status, user) = app.request(&admin.client, Method::PATCH, &path, Some(json!({"fullName": "Robert"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["fullName"], "Robert");

    let cat_path = format!("/api/users/{}", cat.id);
    let (status, err) = app.request(&cat.client, Method::PATCH, &cat_path, Some(json!({"username": "BOB_1"}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["code"], "username_taken");
    let (status, err) = app.request(&cat.client, Method::PATCH, &cat_path, Some(json!({"fullName": ""}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["errors"]["fullName"], "required");
}

#[tokio::test]
async fn roles_are_set_by_admins_only() {
    let app = spawn_app().await;
    let admin = app.register("ann").await;
    let bob = app.register("bob").await;
    let path = format!("/api/users/{}/role", bob.id);

    let (status, _) = app.request(&bob.client, Method::PUT, &path, Some(json!({"role": "admin"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "nobody chooses their own role");
    assert_eq!(app.get(&bob.client, "/api/auth/check").await.1["role"], "user");
    let (status, user) = app.request(&admin.client, Method::PUT, &path, Some(json!({"role": "moderator"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["role"], "moderator");
    assert_eq!(app.get(&bob.client, "/api/auth/check").await.1["role"], "moderator", "Bob's session sees it at once");
    let (status, err) = app.request(&admin.client, Method::PUT, &path, Some(json!({"role": "god"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(err["errors"]["role"], "invalid");
    let own = format!("/api/users/{}/role", admin.id);
    assert_eq!(
        app.request(&admin.client, Method::PUT, &own, Some(json!({"role": "user"}))).await.0,
        StatusCode::BAD_REQUEST
    );

    // A signup that asks for a role does not get it.
    let body = json!({"fullName": "Eve", "email": "eve@example.com", "password": PASSWORD, "role": "admin", "roles": ["admin"]});
    let (_, eve) = app.post(&cookie_client(), "/api/auth/signup", body).await;
    assert_eq!(eve["role"], "user");
}

#[tokio::test]
async fn deleting_an_account_ends_its_sessions_and_keeps_its_messages() {
    let app = spawn_app().await;
    let admin = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    app.send_text(&bob, &cat, "hello from bob").await;

    let (status, _) = app.request(&cat.client, Method::DELETE, &format!("/api/users/{}", bob.id), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = app.request(&bob.client, Method::DELETE, &format!("/api/users/{}", bob.id), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"_id": bob.id, "deleted": true}));
    assert_eq!(app.get(&bearer(&bob.access_token), "/api/auth/check").await.0, StatusCode::UNAUTHORIZED);
    let login = json!({"email": bob.email, "password": PASSWORD});
    assert_eq!(app.post(&cookie_client(), "/api/auth/login", login).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(app.get(&cat.client, &format!("/api/users/{}", bob.id)).await.0, StatusCode::NOT_FOUND);
    let (_, sidebar) = app.get(&cat.client, "/api/messages/users").await;
    assert!(!ids(&sidebar).contains(&bob.id));

    let (status, history) = app.get(&cat.client, &format!("/api/messages/{}", bob.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(history[0]["text"], "hello from bob");
    assert_eq!(history[0]["senderId"], bob.id.as_str());

    // The address is free again; an admin can delete others.
    let again = json!({"fullName": "Bob 2", "email": bob.email, "password": PASSWORD});
    assert_eq!(app.post(&cookie_client(), "/api/auth/signup", again).await.0, StatusCode::CREATED);
    let (status, _) = app.request(&admin.client, Method::DELETE, &format!("/api/users/{}", cat.id), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.get(&cat.client, "/api/auth/check").await.0, StatusCode::UNAUTHORIZED);
}
