use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

fn texts(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_direct_message_is_stored_and_read_by_both_sides() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let sent = app.send_text(&ann, &bob, "  hi bob  ").await;
    assert_eq!(sent["text"], "hi bob");
    assert_eq!(sent["senderId"], ann.id.as_str());
    assert_eq!(sent["receiverId"], bob.id.as_str());
    assert!(sent["roomId"].is_string() && sent["createdAt"].is_string() && sent["updatedAt"].is_string());
    assert!(sent.get("editedAt").is_none() && sent.get("image").is_none());

    let reply = app.send_text(&bob, &ann, "hi ann").await;
    assert_eq!(reply["roomId"], sent["roomId"], "one room per pair");
    assert_eq!(reply["receiverId"], ann.id.as_str());

    for (reader, other) in [(&ann, &bob), (&bob, &ann)] {
        let (status, list) = app.get(&reader.client, &format!("/api/messages/{}", other.id)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(texts(&list), vec!["hi bob", "hi ann"]);
    }
    // A third user sees nothing of it.
    let cat = app.register("cat").await;
    let (_, list) = app.get(&cat.client, &format!("/api/messages/{}", ann.id)).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn bad_sends_are_refused_with_the_right_status() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let to_bob = format!("/api/messages/send/{}", bob.id);
    let cases = [
        (to_bob.clone(), json!({}), StatusCode::BAD_REQUEST, "neither text nor image"),
        (to_bob.clone(), json!({"text": "   "}), StatusCode::BAD_REQUEST, "blank text"),
        (to_bob.clone(), json!({"text": "x".repeat(5001)}), StatusCode::BAD_REQUEST, "text too long"),
        (to_bob.clone(), json!({"text": 42}), StatusCode::BAD_REQUEST, "text of the wrong type"),
        (to_bob.clone(), json!({"image": "javascript:alert(1)"}), StatusCode::BAD_REQUEST, "image that is no URL"),
        (format!("/api/messages/send/{}", ann.id), json!({"text": "me"}), StatusCode::BAD_REQUEST, "to oneself"),
        (
            "/api/messages/send/0190d7a2-0000-7000-8000-000000000000".into(),
            json!({"text": "x"}),
            StatusCode::NOT_FOUND,
            "unknown user",
        ),
        ("/api/messages/send/garbage".into(), json!({"text": "x"}), StatusCode::NOT_FOUND, "malformed id"),
    ];
    for (path, body, expected, case) in cases {
        let (status, err) = app.post(&ann.client, &path, body).await;
        assert_eq!(status, expected, "{case}: {err}");
    }
    let (status, _) = app.post(&reqwest::Client::new(), &to_bob, json!({"text": "x"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, list) = app.get(&ann.client, &format!("/api/messages/{}", bob.id)).await;
    assert_eq!(list, json!([]), "nothing was written by the refused sends");
}

#[tokio::test]
async fn concurrent_first_messages_create_exactly_one_room() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let mut sends = Vec::new();
    for i in 0..12 {
        let (from, to) = if i % 2 == 0 { (&ann, &bob) } else { (&bob, &ann) };
        let request =
            from.client.post(app.url(&format!("/api/messages/send/{}", to.id))).json(&json!({"text": format!("m{i}")}));
        sends.push(tokio::spawn(async move { json_of(request.send().await.unwrap()).await }));
    }
    let mut rooms = HashSet::new();
    for send in sends {
        let (status, message) = send.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{message}");
        rooms.insert(message["roomId"].as_str().unwrap().to_string());
    }
    assert_eq!(rooms.len(), 1, "all first messages landed in one room: {rooms:?}");
    let (_, list) = app.get(&ann.client, &format!("/api/messages/{}", bob.id)).await;
    assert_eq!(list.as_array().unwrap().len(), 12);
}

/// Concurrent writes are committed together (SQLite: one transaction per writer batch;
/// PostgreSQL: one statement per batch of sends or of posts): each writer gets its own
/// answer, refused writes in a batch write nothing and fail nobody else, a raced
/// idempotency key gives one message, and every acknowledged message is stored once, with
/// each room's last message its newest and the read marks and unread counts that follow.
#[tokio::test]
async fn a_burst_of_mixed_writes_answers_each_writer_and_stores_each_message_once() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let gone = app.register("gone").await;
    app.send_text(&ann, &bob, "hello").await;
    app.send_text(&cat, &bob, "hello").await;
    let (_, group) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id], "name": "g"})).await;
    let group_id = group["_id"].as_str().unwrap().to_string();
    let posts = app.url(&format!("/api/rooms/{group_id}/messages"));
    let (status, _) = app.request(&gone.client, Method::DELETE, &format!("/api/users/{}", gone.id), None).await;
    assert_eq!(status, StatusCode::OK);

    // (request, expected status, text)
    let mut burst = Vec::new();
    let send = |from: &TestUser, to: &str, text: String| {
        from.client.post(app.url(&format!("/api/messages/send/{to}"))).json(&json!({"text": text}))
    };
    for i in 0..12 {
        burst.push((send(&ann, &bob.id, format!("a{i}")), StatusCode::CREATED, format!("a{i}")));
        burst.push((send(&cat, &bob.id, format!("c{i}")), StatusCode::CREATED, format!("c{i}")));
        let post = ann.client.post(&posts).json(&json!({"text": format!("p{i}")}));
        burst.push((post, StatusCode::CREATED, format!("p{i}")));
    }
    for i in 0..4 {
        burst.push((send(&ann, &gone.id, format!("lost{i}")), StatusCode::NOT_FOUND, String::new()));
        let outsider = cat.client.post(&posts).json(&json!({"text": format!("intruder{i}")}));
        burst.push((outsider, StatusCode::NOT_FOUND, String::new()));
        let keyed = send(&ann, &bob.id, "once".into()).header("Idempotency-Key", "burst-1");
        burst.push((keyed, StatusCode::CREATED, "once".into()));
    }
    let tasks: Vec<_> = burst
        .into_iter()
        .map(|(request, expected, text)| {
            tokio::spawn(async move { (json_of(request.send().await.unwrap()).await, expected, text) })
        })
        .collect();
    let mut acked: Vec<(String, String)> = Vec::new();
    let mut once_ids = HashSet::new();
    for task in tasks {
        let ((status, body), expected, text) = task.await.unwrap();
        assert_eq!(status, expected, "{text}: {body}");
        if status == StatusCode::CREATED {
            assert_eq!(body["text"], text.as_str(), "each writer gets its own message back");
            let id = body["_id"].as_str().unwrap().to_string();
            if text == "once" {
                once_ids.insert(id.clone());
            }
            acked.push((id, text));
        }
    }
    assert_eq!(once_ids.len(), 1, "a raced idempotency key gives one message: {once_ids:?}");

    // Every acknowledged message is stored once, in its room, in id order.
    let stored = |path: String, reader: &TestUser| {
        let client = reader.client.clone();
        let url = app.url(&path);
        async move { json_of(client.get(url).send().await.unwrap()).await.1 }
    };
    let with_ann = stored(format!("/api/messages/{}?limit=1000", ann.id), &bob).await;
    let with_cat = stored(format!("/api/messages/{}?limit=1000", cat.id), &bob).await;
    let in_group = stored(format!("/api/rooms/{group_id}/messages?limit=1000"), &bob).await;
    let mut seen: Vec<(String, String)> = Vec::new();
    for page in [&with_ann, &with_cat, &in_group] {
        let ids: Vec<&str> = page.as_array().unwrap().iter().map(|m| m["_id"].as_str().unwrap()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "a page is in id order");
        for m in page.as_array().unwrap() {
            seen.push((m["_id"].as_str().unwrap().to_string(), m["text"].as_str().unwrap().to_string()));
        }
    }
    for (id, text) in acked.iter().collect::<HashSet<_>>() {
        assert_eq!(seen.iter().filter(|(s, _)| s == id).count(), 1, "{text} ({id}) is stored once");
    }
    assert_eq!(texts(&with_ann).len(), 1 + 12 + 1, "hello, a0..a11 and one 'once'");
    assert_eq!(texts(&with_cat).len(), 1 + 12);
    assert_eq!(texts(&in_group).len(), 12, "the outsider's posts wrote nothing");

    // Each room's last message is its newest; the writers' own messages are read.
    let (_, bobs) = app.get(&bob.client, "/api/rooms?limit=10").await;
    let (_, anns) = app.get(&ann.client, "/api/rooms?limit=10").await;
    for (page, room_of) in [(&with_ann, "ann"), (&with_cat, "cat"), (&in_group, "group")] {
        let newest = page.as_array().unwrap().last().unwrap();
        let room = bobs.as_array().unwrap().iter().find(|r| r["_id"] == newest["roomId"]).unwrap();
        assert_eq!(room["lastMessage"]["_id"], newest["_id"], "{room_of}: the last message is the newest");
    }
    let unread = |list: &Value, room: &str| {
        list.as_array().unwrap().iter().find(|r| r["_id"] == room).unwrap()["unreadCount"].clone()
    };
    assert_eq!(unread(&bobs, &group_id), 12);
    assert_eq!(unread(&anns, &group_id), 0, "ann's own posts are read");
    assert_eq!(unread(&anns, with_ann[0]["roomId"].as_str().unwrap()), 0);
}

#[tokio::test]
async fn conversations_page_with_limit_before_and_after() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let mut ids = Vec::new();
    for i in 0..210 {
        ids.push(app.send_text(&ann, &bob, &format!("m{i}")).await["_id"].as_str().unwrap().to_string());
    }
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, ids, "ids are time-ordered");
    let path = format!("/api/messages/{}", bob.id);
    let id_list =
        |v: &Value| v.as_array().unwrap().iter().map(|m| m["_id"].as_str().unwrap().to_string()).collect::<Vec<_>>();

    let (_, newest) = app.get(&ann.client, &path).await;
    assert_eq!(id_list(&newest), ids[10..].to_vec(), "no params: the newest 200, oldest first");
    let (_, last5) = app.get(&ann.client, &format!("{path}?limit=5")).await;
    assert_eq!(id_list(&last5), ids[205..].to_vec());
    let (_, before) = app.get(&ann.client, &format!("{path}?limit=3&before={}", ids[100])).await;
    assert_eq!(id_list(&before), ids[97..100].to_vec());
    let (_, after) = app.get(&ann.client, &format!("{path}?limit=3&after={}", ids[100])).await;
    assert_eq!(id_list(&after), ids[101..104].to_vec());
    let (_, between) = app.get(&ann.client, &format!("{path}?after={}&before={}", ids[10], ids[14])).await;
    assert_eq!(id_list(&between), ids[11..14].to_vec());
    let (_, default_after) = app.get(&ann.client, &format!("{path}?after={}", ids[0])).await;
    assert_eq!(default_after.as_array().unwrap().len(), 50, "a paging param without limit pages by 50");
    let (_, tail) = app.get(&ann.client, &format!("{path}?after={}", ids[209])).await;
    assert_eq!(tail, json!([]));

    for bad in ["?limit=0", "?limit=1001", "?before=xyz", "?after=123"] {
        let (status, err) = app.get(&ann.client, &format!("{path}{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {err}");
    }
}

#[tokio::test]
async fn messages_are_edited_by_their_author_only() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let sent = app.send_text(&ann, &bob, "helo").await;
    let path = format!("/api/messages/{}", sent["_id"].as_str().unwrap());

    let (status, _) = app.request(&bob.client, Method::PATCH, &path, Some(json!({"text": "mine now"}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = app.request(&ann.client, Method::PATCH, &path, Some(json!({"text": " "}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, edited) = app.request(&ann.client, Method::PATCH, &path, Some(json!({"text": "hello"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edited["text"], "hello");
    assert!(edited["editedAt"].is_string());
    assert_eq!(edited["_id"], sent["_id"]);

    let cat = app.register("cat").await;
    let (status, _) = app.request(&cat.client, Method::PATCH, &path, Some(json!({"text": "x"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "outsiders do not see the message at all");
    let (_, list) = app.get(&bob.client, &format!("/api/messages/{}", ann.id)).await;
    assert_eq!(texts(&list), vec!["hello"]);
}

#[tokio::test]
async fn messages_are_deleted_by_their_author_or_staff() {
    let app = spawn_app().await;
    let admin = app.register("admin").await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let first = app.send_text(&ann, &bob, "one").await;
    let second = app.send_text(&ann, &bob, "two").await;
    let path = |m: &Value| format!("/api/messages/{}", m["_id"].as_str().unwrap());

    assert_eq!(app.request(&bob.client, Method::DELETE, &path(&first), None).await.0, StatusCode::FORBIDDEN);
    let (status, body) = app.request(&ann.client, Method::DELETE, &path(&first), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["_id"], first["_id"]);
    assert_eq!(body["deleted"], true);
    assert_eq!(app.request(&ann.client, Method::DELETE, &path(&first), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.request(&admin.client, Method::DELETE, &path(&second), None).await.0, StatusCode::OK);
    let (_, list) = app.get(&bob.client, &format!("/api/messages/{}", ann.id)).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retried_send_return_the_original() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let url = app.url(&format!("/api/messages/send/{}", bob.id));
    let send = || ann.client.post(&url).header("Idempotency-Key", "k-123").json(&json!({"text": "once"})).send();
    let (a, b) = tokio::join!(send(), send());
    let (sa, ma) = json_of(a.unwrap()).await;
    let (sb, mb) = json_of(b.unwrap()).await;
    assert_eq!((sa, sb), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(ma["_id"], mb["_id"], "both answers are the same message");
    let (s3, m3) = json_of(send().await.unwrap()).await;
    assert_eq!(s3, StatusCode::CREATED);
    assert_eq!(m3["_id"], ma["_id"]);
    let (_, list) = app.get(&bob.client, &format!("/api/messages/{}", ann.id)).await;
    assert_eq!(texts(&list), vec!["once"]);
}

/// Pages are served from a cache keyed by the room's version: every read after a change
/// shows it, on the node that made it and on another node of the same store.
#[tokio::test]
async fn cached_pages_show_every_send_edit_and_delete_at_once_on_every_node() {
    let app = spawn_app().await;
    let other = app.second_node().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let dm = format!("/api/messages/{}", ann.id);
    let (status, empty) = other.get(&bearer(&bob.access_token), &dm).await;
    assert_eq!((status, empty), (StatusCode::OK, json!([])));

    let first = app.send_text(&ann, &bob, "one").await;
    let read_both = || async {
        let (_, here) = app.get(&bob.client, &dm).await;
        let (_, there) = other.get(&bearer(&bob.access_token), &dm).await;
        assert_eq!(here, there, "both nodes serve the same page");
        texts(&here)
    };
    assert_eq!(read_both().await, ["one"]);
    assert_eq!(read_both().await, ["one"], "a repeated read (a cache hit) is the same");

    // A send through the other node.
    let (status, _) =
        other.post(&bearer(&ann.access_token), &format!("/api/messages/send/{}", bob.id), json!({"text": "two"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(read_both().await, ["one", "two"]);

    let path = format!("/api/messages/{}", first["_id"].as_str().unwrap());
    let (status, _) =
        other.request(&bearer(&ann.access_token), Method::PATCH, &path, Some(json!({"text": "uno"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read_both().await, ["uno", "two"]);

    let (status, _) = app.request(&ann.client, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read_both().await, ["two"]);

    // The same for a room's pages, with paging parameters in the key.
    let (_, room) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id], "name": "g"})).await;
    let messages = format!("/api/rooms/{}/messages", room["_id"].as_str().unwrap());
    let (_, page) = other.get(&bearer(&bob.access_token), &format!("{messages}?limit=1")).await;
    assert_eq!(page, json!([]));
    let (_, posted) = app.post(&ann.client, &messages, json!({"text": "hi"})).await;
    let (_, page) = other.get(&bearer(&bob.access_token), &format!("{messages}?limit=1")).await;
    assert_eq!(texts(&page), ["hi"]);
    let (_, after) =
        other.get(&bearer(&bob.access_token), &format!("{messages}?after={}", posted["_id"].as_str().unwrap())).await;
    assert_eq!(after, json!([]));
    app.post(&ann.client, &messages, json!({"text": "again"})).await;
    let (_, after) =
        other.get(&bearer(&bob.access_token), &format!("{messages}?after={}", posted["_id"].as_str().unwrap())).await;
    assert_eq!(texts(&after), ["again"]);
}

/// Moves a room's last message id to `id` behind natter's back (another node's clock).
async fn set_last_message_id(app: &TestApp, room: &str, id: &str) {
    const SQL: &str = "UPDATE rooms SET last_message_id = $1 WHERE id = $2";
    assert_eq!(app.execute_sql(SQL, &[id, room]).await, 1);
}

/// A node whose clock is behind a room's last message (another node's, ahead) still sends:
/// its message gets an id after the last one, so ids keep increasing in commit order.
#[tokio::test]
async fn a_send_from_a_node_with_a_clock_behind_the_room_gets_a_later_id() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let first = app.send_text(&ann, &bob, "one").await;
    let ahead = natter::domain::MessageId::at_ms(natter::domain::now_ms() + 3_600_000).to_string();
    set_last_message_id(&app, first["roomId"].as_str().unwrap(), &ahead).await;

    let second = app.send_text(&bob, &ann, "two").await;
    let id = second["_id"].as_str().unwrap();
    assert!(id > ahead.as_str(), "{id} sorts after the room's last message {ahead}");
    let (_, list) = app.get(&ann.client, &format!("/api/messages/{}", bob.id)).await;
    assert_eq!(texts(&list), ["one", "two"]);
    let (_, rooms) = app.get(&ann.client, "/api/rooms").await;
    assert_eq!(rooms[0]["lastMessage"]["_id"], id, "the room's last message moved to it");

    // The same for a post to a group room.
    let (_, group) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id], "name": "g"})).await;
    let group = group["_id"].as_str().unwrap().to_string();
    // Another id ahead (ids are unique across rooms: the DM above took `ahead` + 1).
    let ahead = natter::domain::MessageId::at_ms(natter::domain::now_ms() + 3_600_000).to_string();
    set_last_message_id(&app, &group, &ahead).await;
    let (status, posted) =
        app.post(&bob.client, &format!("/api/rooms/{group}/messages"), json!({"text": "three"})).await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    let id = posted["_id"].as_str().unwrap();
    assert!(id > ahead.as_str(), "{id} sorts after the room's last message {ahead}");
    let (_, page) = app.get(&ann.client, &format!("/api/rooms/{group}/messages")).await;
    assert_eq!(texts(&page), ["three"]);
}
