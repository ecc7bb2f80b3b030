use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::live::*;

async fn group(app: &TestApp, creator: &TestUser, others: &[&TestUser]) -> String {
    let ids: Vec<&str> = others.iter().map(|u| u.id.as_str()).collect();
    let (status, room) = app.post(&creator.client, "/api/rooms", json!({"userIds": ids, "name": "team"})).await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    room["_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn unauthenticated_handshakes_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let mut anonymous = connect(&app, Auth::None, Some(&format!("userId={}", ann.id))).await;
    let error = anonymous.next("$error").await;
    assert!(error.to_string().contains("Authentication required"), "{error}");
    let mut forged = connect(&app, Auth::Token("not.a.token"), None).await;
    let error = forged.next("$error").await;
    assert!(error.to_string().contains("Invalid, expired or revoked token"), "{error}");
    assert!(app.state.realtime.presence().local_users().is_empty(), "nobody came online");
}

#[tokio::test]
async fn the_jwt_cookie_auth_token_and_authorization_header_all_authenticate() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    for auth in [Auth::Cookie(&ann.access_token), Auth::Token(&ann.access_token), Auth::Header(&ann.access_token)] {
        let mut socket = connect(&app, auth, None).await;
        socket.next("$connect").await;
        let online = socket.next("getOnlineUsers").await;
        assert_eq!(online, json!([ann.id]));
        socket.disconnect().await;
    }
}

#[tokio::test]
async fn a_forged_query_user_id_is_ignored() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    // Ann claims to be Bob in the query: she is still Ann.
    let mut ann_socket = connect(&app, Auth::Token(&ann.access_token), Some(&format!("userId={}", bob.id))).await;
    assert_eq!(ann_socket.next("getOnlineUsers").await, json!([ann.id]));
    app.send_text(&cat, &bob, "for bob only").await;
    assert!(ann_socket.collect("newMessage", Duration::from_millis(500)).await.is_empty(), "Ann got Bob's message");
    app.send_text(&cat, &ann, "for ann").await;
    assert_eq!(ann_socket.next("newMessage").await["text"], "for ann");
}

#[tokio::test]
async fn presence_follows_sockets_and_is_sent_on_every_change() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let mut ann_socket = connect_as(&app, &ann.access_token).await;
    let bob_tab1 = connect_as(&app, &bob.access_token).await;
    let mut expected = vec![ann.id.clone(), bob.id.clone()];
    expected.sort();
    assert_eq!(ann_socket.next("getOnlineUsers").await, json!(expected));
    let bob_tab2 = connect_as(&app, &bob.access_token).await;
    bob_tab1.disconnect().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.state.realtime.presence().local_users(), expected, "Bob is online while a tab is open");
    bob_tab2.disconnect().await;
    // Drain to the latest broadcast: Bob is gone.
    let mut last = ann_socket.next("getOnlineUsers").await;
    for later in ann_socket.collect("getOnlineUsers", Duration::from_millis(400)).await {
        last = later;
    }
    assert_eq!(last, json!([ann.id]));
}

#[tokio::test]
async fn a_burst_of_connects_costs_few_presence_broadcasts() {
    let app = spawn_app().await;
    let watcher = app.register("watcher").await;
    let mut users = Vec::new();
    for i in 0..25 {
        users.push(app.register(&format!("user{i}")).await);
    }
    let mut watching = connect_as(&app, &watcher.access_token).await;
    let sockets = futures::future::join_all(users.iter().map(|u| connect_as(&app, &u.access_token))).await;
    let broadcasts = watching.collect("getOnlineUsers", Duration::from_millis(1500)).await;
    assert!(!broadcasts.is_empty());
    assert_eq!(broadcasts.last().unwrap().as_array().unwrap().len(), 26, "the last broadcast has everyone");
    assert!(broadcasts.len() <= 8, "25 connects were coalesced, not one broadcast each: {}", broadcasts.len());
    drop(sockets);
}

#[tokio::test]
async fn direct_and_group_messages_reach_every_socket_of_every_member_live() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let dan = app.register("dan").await;
    let mut ann_tab1 = connect_as(&app, &ann.access_token).await;
    let mut ann_tab2 = connect_as(&app, &ann.access_token).await;
    let mut bob_socket = connect_as(&app, &bob.access_token).await;
    let mut cat_socket = connect_as(&app, &cat.access_token).await;
    let mut dan_socket = connect_as(&app, &dan.access_token).await;

    let sent = app.send_text(&ann, &bob, "hi bob").await;
    let received = bob_socket.next("newMessage").await;
    assert_eq!(received, sent, "the event carries the stored message");
    assert_eq!(ann_tab1.next("newMessage").await["_id"], sent["_id"], "the sender's other tabs follow");
    assert_eq!(ann_tab2.next("newMessage").await["_id"], sent["_id"]);

    let room = group(&app, &ann, &[&bob, &cat]).await;
    let (status, posted) =
        app.post(&cat.client, &format!("/api/rooms/{room}/messages"), json!({"text": "hello team"})).await;
    assert_eq!(status, StatusCode::CREATED);
    for socket in [&mut ann_tab1, &mut ann_tab2, &mut bob_socket, &mut cat_socket] {
        let event = socket.next("newMessage").await;
        assert_eq!(event["_id"], posted["_id"]);
        assert_eq!(event["roomId"], room.as_str());
    }
    assert!(dan_socket.collect("newMessage", Duration::from_millis(500)).await.is_empty(), "non-members hear nothing");
}

#[tokio::test]
async fn typing_reads_edits_and_deletes_are_live() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let room = group(&app, &ann, &[&bob]).await;
    let mut ann_socket = connect_as(&app, &ann.access_token).await;
    let mut bob_socket = connect_as(&app, &bob.access_token).await;
    let mut cat_socket = connect_as(&app, &cat.access_token).await;

    bob_socket.emit("typing", json!({"roomId": room})).await;
    assert_eq!(ann_socket.next("typing").await, json!({"roomId": room, "userId": bob.id}));
    cat_socket.emit("typing", json!({"roomId": room})).await;
    assert!(
        bob_socket.collect("typing", Duration::from_millis(400)).await.is_empty(),
        "not to the typist, not from outsiders"
    );

    let (_, message) = app.post(&ann.client, &format!("/api/rooms/{room}/messages"), json!({"text": "draft"})).await;
    let id = message["_id"].as_str().unwrap();
    bob_socket.next("newMessage").await;
    let (status, read) = app.request(&bob.client, Method::PUT, &format!("/api/rooms/{room}/read"), None).await;
    assert_eq!(status, StatusCode::OK);
    let event = ann_socket.next("messagesRead").await;
    assert_eq!(event, json!({"roomId": room, "userId": bob.id, "readAt": read["readAt"]}));

    app.request(&ann.client, Method::PATCH, &format!("/api/messages/{id}"), Some(json!({"text": "final"}))).await;
    let updated = bob_socket.next("messageUpdated").await;
    assert_eq!(updated["text"], "final");
    assert!(updated["editedAt"].is_string());
    app.request(&ann.client, Method::DELETE, &format!("/api/messages/{id}"), None).await;
    assert_eq!(bob_socket.next("messageDeleted").await, json!({"_id": id, "roomId": room}));
    assert!(cat_socket.collect("messageDeleted", Duration::from_millis(300)).await.is_empty());
}

#[tokio::test]
async fn subscribe_is_for_members_only_and_carries_new_message_posts() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let eve = app.register("eve").await;
    let room = group(&app, &ann, &[&bob]).await;
    let mut bob_socket = connect_as(&app, &bob.access_token).await;
    let mut eve_socket = connect_as(&app, &eve.access_token).await;

    let refused = eve_socket.ask("subscribe", json!(room)).await;
    assert_eq!(refused["success"], false);
    assert_eq!(refused["statusCode"], 404);
    let bogus = eve_socket.ask("subscribe", json!("not-a-room")).await;
    assert_eq!(bogus["statusCode"], 400);
    let ok = bob_socket.ask("subscribe", json!(room)).await;
    assert_eq!(ok, json!({"success": true, "roomId": room}));
    let identity = bob_socket.ask("identity", json!(eve.id)).await;
    assert_eq!(identity["userId"], bob.id.as_str(), "identity never rebinds a socket");

    let (_, posted) = app.post(&ann.client, &format!("/api/rooms/{room}/messages"), json!({"text": "post"})).await;
    let event = bob_socket.next("new message").await;
    assert_eq!(event["message"]["_id"], posted["_id"]);
    assert_eq!(event["message"]["chatRoomId"], room.as_str());
    assert_eq!(event["message"]["message"]["messageText"], "post");
    assert!(eve_socket.collect("new message", Duration::from_millis(300)).await.is_empty());

    let left = bob_socket.ask("unsubscribe", json!(room)).await;
    assert_eq!(left["success"], true);
    app.post(&ann.client, &format!("/api/rooms/{room}/messages"), json!({"text": "after"})).await;
    assert_eq!(bob_socket.next("newMessage").await["text"], "after", "member events still arrive");
    assert!(bob_socket.collect("new message", Duration::from_millis(300)).await.is_empty(), "the channel is left");
}

#[tokio::test]
async fn revoking_a_session_disconnects_its_sockets_after_telling_them() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let other_login = app.login_as("ann@example.com", cookie_client()).await;
    let mut here = connect_as(&app, &ann.access_token).await;
    let mut there = connect_as(&app, &other_login.access_token).await;

    let body = json!({"oldPassword": PASSWORD, "newPassword": "An0ther-secret-pw"});
    let (status, _) = app.request(&ann.client, Method::PUT, "/api/auth/change-password", Some(body)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(there.next("sessionRevoked").await["reason"], "password_changed");
    there.next("$close").await;
    assert!(here.collect("sessionRevoked", Duration::from_millis(300)).await.is_empty(), "this session stays");

    app.request(&ann.client, Method::POST, "/api/auth/logout", None).await;
    assert_eq!(here.next("sessionRevoked").await["reason"], "logged_out");
    here.next("$close").await;
    let mut again = connect(&app, Auth::Token(&ann.access_token), None).await;
    assert!(again.next("$error").await.to_string().contains("revoked"));
}

#[tokio::test]
async fn deleting_an_account_disconnects_its_sockets() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let mut socket = connect_as(&app, &ann.access_token).await;
    app.request(&ann.client, Method::DELETE, &format!("/api/users/{}", ann.id), None).await;
    assert_eq!(socket.next("sessionRevoked").await["reason"], "account_deleted");
    socket.next("$close").await;
}

#[tokio::test]
async fn a_client_that_reconnects_catches_up_with_no_gap_and_no_duplicate() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let room = group(&app, &ann, &[&bob]).await;
    let post = |text: String| {
        let (client, path) = (ann.client.clone(), app.url(&format!("/api/rooms/{room}/messages")));
        async move { json_of(client.post(path).json(&json!({"text": text})).send().await.unwrap()).await.1 }
    };
    let mut bob_socket = connect_as(&app, &bob.access_token).await;
    post("one".into()).await;
    let last_seen = bob_socket.next("newMessage").await["_id"].as_str().unwrap().to_string();
    bob_socket.disconnect().await;

    // While Bob is away, messages keep coming, some concurrently.
    let missed: Vec<Value> = futures::future::join_all((0..8).map(|i| post(format!("missed {i}")))).await;
    let mut bob_socket = connect_as(&app, &bob.access_token).await;
    post("live".into()).await;
    let live = bob_socket.next("newMessage").await;

    let (status, caught_up) = app.get(&bob.client, &format!("/api/rooms/{room}/messages?after={last_seen}")).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = caught_up.as_array().unwrap().iter().map(|m| m["_id"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = missed.iter().map(|m| m["_id"].as_str().unwrap()).collect();
    expected.sort();
    expected.push(live["_id"].as_str().unwrap());
    assert_eq!(ids, expected, "every missed message once, in order, then the live one");
}
