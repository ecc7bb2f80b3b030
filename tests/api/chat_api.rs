//! The chat-API tutorial's requests, replayed as its Postman collection sends them: every
//! route with `Authorization: Bearer`, its `{success: …}` envelopes, documents and
//! validation bodies; and the holes it had (a login without a password, anyone creating or
//! deleting users, anyone reading any room) closed.

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::live::connect_as;

/// A request as the tutorial's client makes it; returns status and JSON body, checked for
/// secrets and, on errors, for the tutorial's error envelope.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Client::new().request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(!text.contains(PASSWORD), "a response contains a password: {text}");
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"));
    assert_no_secrets(&body);
    if !status.is_success() {
        assert_eq!(body["success"], false, "{status}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{status}: no message: {body}");
        assert!(body.get("statusCode").is_none(), "the tutorial's envelope, not natter's: {body}");
    }
    (status, body)
}

async fn get(app: &TestApp, path: &str, token: &str) -> (StatusCode, Value) {
    call(app, Method::GET, path, Some(token), None).await
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    call(app, Method::POST, path, Some(token), Some(body)).await
}

/// `POST /login/:userId {password}` → the token the tutorial's client sends as Bearer.
async fn login(app: &TestApp, user_id: &str, password: &str) -> (StatusCode, Value) {
    call(app, Method::POST, &format!("/login/{user_id}"), None, Some(json!({"password": password}))).await
}

async fn token_of(app: &TestApp, user: &TestUser) -> String {
    let (status, body) = login(app, &user.id, PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["success"], true);
    body["authorization"].as_str().expect("authorization").to_string()
}

async fn initiate(app: &TestApp, token: &str, user_ids: &[&str], room_type: &str) -> (StatusCode, Value) {
    post(app, "/room/initiate", token, json!({"userIds": user_ids, "type": room_type})).await
}

#[tokio::test]
async fn login_needs_the_password_and_every_route_needs_its_token() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;

    // Upstream logs anyone in by id alone; here the id and the password.
    let (status, missing) = call(&app, Method::POST, &format!("/login/{}", ann.id), None, Some(json!({}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        missing,
        json!({"success": false, "message": "Kindly fix the error(s)",
               "errors": {"password": "Please provide password as a string & not empty"}})
    );
    let (wrong_status, wrong) = login(&app, &ann.id, "not-her-password").await;
    let (unknown_status, unknown) = login(&app, "00000000-0000-7000-8000-000000000000", PASSWORD).await;
    let (garbage_status, garbage) = login(&app, "not-an-id", PASSWORD).await;
    assert_eq!(wrong_status, StatusCode::BAD_REQUEST);
    assert_eq!((wrong_status, &wrong), (unknown_status, &unknown), "no account enumeration");
    assert_eq!((wrong_status, &wrong), (garbage_status, &garbage));
    assert_eq!(wrong, json!({"success": false, "message": "Invalid credentials"}));

    let token = token_of(&app, &ann).await;
    // The token is a JWT with an expiry, usable on natter's own routes too.
    let (status, me) = app.get(&bearer(&token), "/api/auth/me").await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["_id"], ann.id.as_str());

    for (method, path) in [
        (Method::GET, "/users".to_string()),
        (Method::GET, format!("/users/{}", ann.id)),
        (Method::GET, "/room".to_string()),
        (Method::POST, "/room/initiate".to_string()),
        (Method::PUT, "/room/00000000-0000-7000-8000-000000000000/mark-read".to_string()),
        (Method::DELETE, "/delete/message/00000000-0000-7000-8000-000000000000".to_string()),
    ] {
        let (status, body) = call(&app, method.clone(), &path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert_eq!(body["message"], "No access token provided");
        assert_eq!(body["errorMessage"], "No access token provided", "where the tutorial's middleware puts it");
        let (status, body) = call(&app, method.clone(), &path, Some("not.a.jwt"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path} with a bad token: {body}");
    }
}

#[tokio::test]
async fn users_are_listed_for_everyone_and_created_or_deleted_by_admins() {
    let app = spawn_app().await;
    let admin = app.register("admin").await; // the first account is the admin
    let ann = app.register("ann").await;
    let admin_token = token_of(&app, &admin).await;
    let ann_token = token_of(&app, &ann).await;

    let (status, listed) = get(&app, "/users", &ann_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["success"], true);
    let users = listed["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    for key in ["_id", "firstName", "lastName", "type", "createdAt", "updatedAt"] {
        assert!(users[0].get(key).is_some(), "user document without {key}: {}", users[0]);
    }

    // The tutorial's request, as it documents it: no e-mail, no password.
    let contact = json!({"firstName": "Sam", "lastName": "Support Agent", "type": "support"});
    let (status, refused) = post(&app, "/users", &ann_token, contact.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    let (status, created) = post(&app, "/users", &admin_token, contact).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["success"], true);
    let sam = &created["user"];
    assert_eq!((sam["firstName"].as_str(), sam["lastName"].as_str()), (Some("Sam"), Some("Support Agent")));
    assert_eq!(sam["type"], "support");
    let sam_id = sam["_id"].as_str().unwrap().to_string();
    let (status, fetched) = get(&app, &format!("/users/{sam_id}"), &ann_token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["user"], *sam);
    // An account without a password cannot be logged into: no password matches.
    let (status, _) = login(&app, &sam_id, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = login(&app, &sam_id, PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // With a password the new account can log in; form bodies work like JSON ones.
    let form = Client::new()
        .post(app.url("/users"))
        .bearer_auth(&admin_token)
        .form(&[("firstName", "Cat"), ("lastName", "Consumer"), ("type", "consumer"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let cat: Value = form.json().await.unwrap();
    let cat_id = cat["user"]["_id"].as_str().unwrap();
    let (status, _) = login(&app, cat_id, PASSWORD).await;
    assert_eq!(status, StatusCode::OK);

    // Validation answers in the tutorial's body, one sentence per field, nothing written.
    let (status, invalid) = post(&app, "/users", &admin_token, json!({"firstName": "", "type": "boss"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid,
        json!({"success": false, "message": "Kindly fix the error(s)", "errors": {
            "firstName": "Please provide firstName as a string & not empty",
            "lastName": "Please provide lastName as a string & not empty",
            "type": "Possible value for type are consumer,support",
        }})
    );
    let (_, after) = get(&app, "/users", &admin_token).await;
    assert_eq!(after["users"].as_array().unwrap().len(), 4);

    let (status, unknown) = get(&app, "/users/00000000-0000-7000-8000-000000000000", &ann_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(unknown["message"], "No user with this id found");

    let (status, _) = call(&app, Method::DELETE, &format!("/users/{sam_id}"), Some(&ann_token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, deleted) = call(&app, Method::DELETE, &format!("/users/{sam_id}"), Some(&admin_token), None).await;
    assert_eq!(status, StatusCode::OK, "{deleted}");
    assert_eq!(deleted, json!({"success": true, "message": "Deleted a count of 1 user."}));
    let (status, _) = get(&app, &format!("/users/{sam_id}"), &ann_token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, Method::DELETE, &format!("/users/{sam_id}"), Some(&admin_token), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rooms_are_found_or_created_by_member_set_and_type_and_only_members_use_them() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let eve = app.register("eve").await;
    let (ann_t, bob_t, eve_t) = (token_of(&app, &ann).await, token_of(&app, &bob).await, token_of(&app, &eve).await);

    let (status, first) = initiate(&app, &ann_t, &[&bob.id], "consumer-to-consumer").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let room = first["chatRoom"]["chatRoomId"].as_str().unwrap().to_string();
    assert_eq!(
        first,
        json!({"success": true, "chatRoom": {"isNew": true, "message": "creating a new chatroom",
               "chatRoomId": room, "type": "consumer-to-consumer"}})
    );
    // Bob initiating with Ann gets the same room; so does natter's own route.
    let (_, again) = initiate(&app, &bob_t, &[&ann.id], "consumer-to-consumer").await;
    assert_eq!(again["chatRoom"]["isNew"], false);
    assert_eq!(again["chatRoom"]["message"], "retrieving an old chat room");
    assert_eq!(again["chatRoom"]["chatRoomId"], room.as_str());
    let (status, native) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id]})).await;
    assert_eq!(status, StatusCode::OK, "{native}");
    assert_eq!(native["_id"], room.as_str());
    // Another type is another room; a group of three is found again by its members.
    let (_, support) = initiate(&app, &ann_t, &[&bob.id], "consumer-to-support").await;
    assert_eq!(support["chatRoom"]["isNew"], true);
    assert_ne!(support["chatRoom"]["chatRoomId"], room.as_str());
    let (_, group) = initiate(&app, &ann_t, &[&bob.id, &cat.id], "consumer-to-consumer").await;
    let (_, group_again) = initiate(&app, &bob_t, &[&cat.id, &ann.id], "consumer-to-consumer").await;
    assert_eq!(group_again["chatRoom"]["chatRoomId"], group["chatRoom"]["chatRoomId"]);
    assert_eq!(group_again["chatRoom"]["isNew"], false);

    // Concurrent initiates of one new pair make one room.
    let dan = app.register("dan").await;
    let dan_ids = [dan.id.as_str()];
    let tries = (0..6).map(|_| initiate(&app, &eve_t, &dan_ids, "consumer-to-consumer"));
    let answers = futures::future::join_all(tries).await;
    let ids: std::collections::HashSet<String> =
        answers.iter().map(|(_, b)| b["chatRoom"]["chatRoomId"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|(_, b)| b["chatRoom"]["isNew"] == true).count(), 1);

    // Its validation, with its sentences.
    let (status, invalid) = post(&app, "/room/initiate", &ann_t, json!({"userIds": "bob"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        invalid,
        json!({"success": false, "message": "Kindly fix the error(s)", "errors": {
            "userIds": "Please provide userIds as a array", "type": "Missing value for type"}})
    );
    let (_, dupes) = initiate(&app, &ann_t, &[&bob.id, &bob.id], "consumer-to-consumer").await;
    assert_eq!(dupes["errors"]["userIds"], "Please provide userIds as a unique array");
    let (_, strangers) = initiate(&app, &ann_t, &["00000000-0000-7000-8000-000000000000"], "consumer-to-support").await;
    assert_eq!(strangers["message"], "Kindly fix the error(s)");
    assert!(strangers["errors"]["userIds"].as_str().is_some(), "{strangers}");
    let (status, malformed) = call(&app, Method::POST, "/room/initiate", Some(&ann_t), None).await;
    assert!(status == StatusCode::UNSUPPORTED_MEDIA_TYPE || status == StatusCode::BAD_REQUEST, "{status} {malformed}");

    // Eve is not a member: to her the room does not exist, whatever she tries.
    let no_room = json!({"success": false, "message": "No room exists for this id"});
    let attempts = [
        get(&app, &format!("/room/{room}"), &eve_t).await,
        post(&app, &format!("/room/{room}/message"), &eve_t, json!({"messageText": "let me in"})).await,
        call(&app, Method::PUT, &format!("/room/{room}/mark-read"), Some(&eve_t), None).await,
        call(&app, Method::DELETE, &format!("/delete/room/{room}"), Some(&eve_t), None).await,
        get(&app, "/room/not-a-room-id", &eve_t).await,
    ];
    for (status, body) in attempts {
        assert_eq!((status, body), (StatusCode::NOT_FOUND, no_room.clone()));
    }
}

#[tokio::test]
async fn posts_conversations_pages_and_read_receipts_in_the_tutorials_documents() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let (ann_t, bob_t) = (token_of(&app, &ann).await, token_of(&app, &bob).await);
    let (_, created) = initiate(&app, &ann_t, &[&bob.id], "consumer-to-consumer").await;
    let room = created["chatRoom"]["chatRoomId"].as_str().unwrap().to_string();

    // Bob's 2.x-style page subscribes to the room and hears the post.
    let mut bob_socket = connect_as(&app, &bob.access_token).await;
    assert_eq!(bob_socket.ask("subscribe", json!(room)).await["success"], true);

    let (status, empty) = post(&app, &format!("/room/{room}/message"), &ann_t, json!({"messageText": "  "})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(empty["errors"], json!({"messageText": "Please provide messageText as a string & not empty"}));

    let (status, posted) =
        post(&app, &format!("/room/{room}/message"), &ann_t, json!({"messageText": "hello 0"})).await;
    assert_eq!(status, StatusCode::OK, "{posted}");
    assert_eq!(posted["success"], true);
    let post0 = &posted["post"];
    assert_eq!(post0["chatRoomId"], room.as_str());
    assert_eq!(post0["message"], json!({"messageText": "hello 0"}));
    assert_eq!(post0["type"], "text");
    assert_eq!(post0["postedByUser"]["_id"], ann.id.as_str());
    assert_eq!(post0["postedByUser"]["firstName"], "ann");
    assert_eq!(post0["postId"], post0["_id"]);
    assert_eq!(post0["readByRecipients"], json!([{"readByUserId": ann.id, "readAt": post0["createdAt"]}]));
    let members: Vec<&str> =
        post0["chatRoomInfo"].as_array().unwrap().iter().map(|u| u["_id"].as_str().unwrap()).collect();
    assert_eq!(members.len(), 2);
    assert!(members.contains(&bob.id.as_str()));
    let heard = bob_socket.next("new message").await;
    assert_eq!(heard["message"]["_id"], post0["_id"]);
    assert_eq!(heard["message"]["postedByUser"]["_id"], ann.id.as_str());
    assert_eq!(heard["message"]["message"]["messageText"], "hello 0");

    for i in 1..25 {
        let (status, _) =
            post(&app, &format!("/room/{room}/message"), &ann_t, json!({"messageText": format!("hello {i}")})).await;
        assert_eq!(status, StatusCode::OK);
    }
    // Its paging: 0-based pages of `limit` (default 10), newest page first, each oldest first.
    let texts = |body: &Value| -> Vec<String> {
        body["conversation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["message"]["messageText"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, page0) = get(&app, &format!("/room/{room}"), &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{page0}");
    assert_eq!(texts(&page0), (15..25).map(|i| format!("hello {i}")).collect::<Vec<_>>());
    assert_eq!(page0["users"].as_array().unwrap().len(), 2);
    let (_, page2) = get(&app, &format!("/room/{room}?page=2&limit=10"), &bob_t).await;
    assert_eq!(texts(&page2), (0..5).map(|i| format!("hello {i}")).collect::<Vec<_>>());
    let (_, page1) = get(&app, &format!("/room/{room}?page=1&limit=7"), &bob_t).await;
    assert_eq!(texts(&page1), (11..18).map(|i| format!("hello {i}")).collect::<Vec<_>>());
    let (_, beyond) = get(&app, &format!("/room/{room}?page=9"), &bob_t).await;
    assert_eq!(beyond["conversation"], json!([]));
    let (status, bad) = get(&app, &format!("/room/{room}?page=-1&limit=0"), &bob_t).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["message"], "Kindly fix the error(s)");
    assert!(bad["errors"]["page"].is_string() && bad["errors"]["limit"].is_string(), "{bad}");
    // Bob has read nothing yet: only the author is in readByRecipients.
    assert!(
        page0["conversation"].as_array().unwrap().iter().all(|p| p["readByRecipients"].as_array().unwrap().len() == 1)
    );

    // The recent conversations: the room's newest message and Bob's unread count.
    let (status, recent) = get(&app, "/room", &bob_t).await;
    assert_eq!(status, StatusCode::OK, "{recent}");
    let entry = &recent["conversation"][0];
    assert_eq!(recent["conversation"].as_array().unwrap().len(), 1);
    assert_eq!(entry["_id"], room.as_str());
    assert_eq!(entry["chatRoomId"], room.as_str());
    assert_eq!(entry["message"]["messageText"], "hello 24");
    assert_eq!(entry["unreadMessages"], 25);
    assert_eq!(entry["postedByUser"]["_id"], ann.id.as_str());
    assert_eq!(entry["roomInfo"].as_array().unwrap().len(), 2);

    // Mark-read moves Bob's watermark: every message now lists him, and others are told.
    let mut ann_socket = connect_as(&app, &ann.access_token).await;
    let (status, marked) = call(&app, Method::PUT, &format!("/room/{room}/mark-read"), Some(&bob_t), None).await;
    assert_eq!(status, StatusCode::OK, "{marked}");
    assert_eq!(marked, json!({"success": true, "data": {"n": 25, "nModified": 25, "ok": 1}}));
    let receipt = ann_socket.next("messagesRead").await;
    assert_eq!(receipt["userId"], bob.id.as_str());
    let (_, read) = get(&app, &format!("/room/{room}?limit=25"), &ann_t).await;
    for post in read["conversation"].as_array().unwrap() {
        let readers: Vec<&str> =
            post["readByRecipients"].as_array().unwrap().iter().map(|r| r["readByUserId"].as_str().unwrap()).collect();
        assert_eq!(readers, [ann.id.as_str(), bob.id.as_str()], "{post}");
    }
    let (_, recent) = get(&app, "/room", &bob_t).await;
    assert_eq!(recent["conversation"][0]["unreadMessages"], 0);
    let (_, again) = call(&app, Method::PUT, &format!("/room/{room}/mark-read"), Some(&bob_t), None).await;
    assert_eq!(again["data"]["nModified"], 0);
}

#[tokio::test]
async fn deleting_messages_and_rooms_follows_natters_rules() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let (ann_t, bob_t) = (token_of(&app, &ann).await, token_of(&app, &bob).await);
    let (_, created) = initiate(&app, &ann_t, &[&bob.id, &cat.id], "consumer-to-support").await;
    let room = created["chatRoom"]["chatRoomId"].as_str().unwrap().to_string();
    let (_, mine) = post(&app, &format!("/room/{room}/message"), &ann_t, json!({"messageText": "ann's"})).await;
    let (_, bobs) = post(&app, &format!("/room/{room}/message"), &bob_t, json!({"messageText": "bob's"})).await;
    let (mine, bobs) = (mine["post"]["_id"].as_str().unwrap(), bobs["post"]["_id"].as_str().unwrap());

    // Bob may delete his own message, not Ann's.
    let (status, _) = call(&app, Method::DELETE, &format!("/delete/message/{mine}"), Some(&bob_t), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, deleted) = call(&app, Method::DELETE, &format!("/delete/message/{bobs}"), Some(&bob_t), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted, json!({"success": true, "deletedMessagesCount": 1}));
    let (status, gone) = call(&app, Method::DELETE, &format!("/delete/message/{bobs}"), Some(&ann_t), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{gone}");
    let (_, left) = get(&app, &format!("/room/{room}"), &bob_t).await;
    assert_eq!(left["conversation"].as_array().unwrap().len(), 1);

    // Only the creator (or an admin) deletes the room; then it is gone for everyone.
    let (status, _) = call(&app, Method::DELETE, &format!("/delete/room/{room}"), Some(&bob_t), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, removed) = call(&app, Method::DELETE, &format!("/delete/room/{room}"), Some(&ann_t), None).await;
    assert_eq!(status, StatusCode::OK, "{removed}");
    assert_eq!(
        removed,
        json!({"success": true, "message": "Operation performed succesfully",
               "deletedRoomsCount": 1, "deletedMessagesCount": 2})
    );
    let (status, _) = get(&app, &format!("/room/{room}"), &ann_t).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
