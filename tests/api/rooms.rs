use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;

fn ids_of(list: &Value, key: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|v| v[key].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn initiating_a_room_finds_or_creates_it_by_member_set_and_type() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;

    let (status, room) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id, cat.id]})).await;
    assert_eq!(status, StatusCode::CREATED, "{room}");
    assert_eq!(room["isNew"], true);
    assert_eq!(room["kind"], "group");
    assert_eq!(room["type"], "consumer-to-consumer");
    assert_eq!(room["createdBy"], ann.id.as_str());
    let mut members = ids_of(&room["members"], "_id");
    members.sort();
    let mut expected = vec![ann.id.clone(), bob.id.clone(), cat.id.clone()];
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(room["lastMessage"], Value::Null);
    assert_eq!(room["unreadCount"], 0);

    // The same set, from another member and in another order, through the alias: same room.
    let (status, again) = app.post(&cat.client, "/api/rooms/initiate", json!({"userIds": [ann.id, bob.id]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["isNew"], false);
    assert_eq!(again["_id"], room["_id"]);
    // Another type is another room; a named group is always new.
    let (status, support) =
        app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id, cat.id], "type": "consumer-to-support"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(support["_id"], room["_id"]);
    let (status, named) =
        app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id, cat.id], "name": "Book club"})).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(named["name"], "Book club");

    // Two people with the default type share their direct conversation.
    let dm = app.send_text(&ann, &bob, "hi").await;
    let (status, direct) = app.post(&bob.client, "/api/rooms", json!({"userIds": [ann.id]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(direct["kind"], "direct");
    assert_eq!(direct["_id"], dm["roomId"]);
}

#[tokio::test]
async fn concurrent_initiates_of_one_member_set_create_one_room() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let body = json!({"userIds": [bob.id, cat.id]});
    let calls = (0..8).map(|_| {
        let request = ann.client.post(app.url("/api/rooms")).json(&body);
        async move { json_of(request.send().await.unwrap()).await }
    });
    let results = futures::future::join_all(calls).await;
    let created = results.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    let rooms: std::collections::HashSet<&str> = results.iter().map(|(_, r)| r["_id"].as_str().unwrap()).collect();
    assert_eq!(created, 1, "exactly one call created the room");
    assert_eq!(rooms.len(), 1);
}

#[tokio::test]
async fn bad_room_requests_are_400s() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cases = [
        (json!({}), "userIds", "required"),
        (json!({"userIds": []}), "userIds", "required"),
        (json!({"userIds": ["nope"]}), "userIds", "invalid"),
        (json!({"userIds": [ann.id]}), "userIds", "required"),
        (json!({"userIds": ["0190d7a2-0000-7000-8000-000000000000"]}), "userIds", "unknown_user"),
        (json!({"userIds": [bob.id], "type": "secret-club"}), "type", "invalid"),
        (json!({"userIds": [bob.id], "name": "  "}), "name", "invalid"),
    ];
    for (body, field, reason) in cases {
        let (status, err) = app.post(&ann.client, "/api/rooms", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(err["errors"][field], reason, "{body}: {err}");
    }
}

#[tokio::test]
async fn the_room_list_puts_recent_activity_first_with_last_message_and_unread_count() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let (_, first) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id, cat.id]})).await;
    let first = first["_id"].as_str().unwrap().to_string();
    let dm = app.send_text(&bob, &ann, "one").await;
    app.send_text(&bob, &ann, "two").await;
    let (_, list) = app.get(&ann.client, "/api/rooms").await;
    assert_eq!(ids_of(&list, "_id"), vec![dm["roomId"].as_str().unwrap().to_string(), first.clone()]);
    assert_eq!(list[0]["lastMessage"]["text"], "two");
    assert_eq!(list[0]["unreadCount"], 2);
    assert_eq!(list[1]["unreadCount"], 0);

    // A post in the older room moves it to the top; the sender has nothing unread there.
    app.post(&cat.client, &format!("/api/rooms/{first}/messages"), json!({"text": "ping"})).await;
    let (_, list) = app.get(&ann.client, "/api/rooms").await;
    assert_eq!(list[0]["_id"], first.as_str());
    assert_eq!(list[0]["unreadCount"], 1);
    let (_, cats) = app.get(&cat.client, "/api/rooms").await;
    assert_eq!(cats[0]["unreadCount"], 0, "own messages are read");

    let (status, read) = app.request(&ann.client, Method::PUT, &format!("/api/rooms/{first}/mark-read"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["unreadCount"], 0);
    assert_eq!(read["userId"], ann.id.as_str());
    let (_, room) = app.get(&ann.client, &format!("/api/rooms/{first}")).await;
    assert_eq!(room["unreadCount"], 0);
    let mark = room["reads"].as_array().unwrap().iter().find(|r| r["userId"] == ann.id.as_str()).unwrap();
    assert_eq!(mark["readAt"], read["readAt"]);
    let bob_mark = room["reads"].as_array().unwrap().iter().find(|r| r["userId"] == bob.id.as_str()).unwrap();
    assert_eq!(bob_mark["readAt"], Value::Null, "Bob never read this room");
}

/// Members' profiles in a room list are cached (a list shows the same members again and
/// again): a change to a profile, a role or a deletion shows in the next list.
#[tokio::test]
async fn room_lists_show_members_profile_changes_at_once() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id, cat.id], "name": "g"})).await;
    let member = |list: &Value, id: &str| -> Value {
        list[0]["members"].as_array().unwrap().iter().find(|m| m["_id"] == id).cloned().unwrap_or(Value::Null)
    };
    let (_, list) = app.get(&ann.client, "/api/rooms").await;
    assert_eq!(member(&list, &bob.id)["fullName"], "bob");
    assert_no_secrets(&list);

    let path = format!("/api/users/{}", bob.id);
    let (status, _) = app.request(&bob.client, Method::PATCH, &path, Some(json!({"fullName": "Bobby"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app.get(&ann.client, "/api/rooms").await;
    assert_eq!(member(&list, &bob.id)["fullName"], "Bobby");
    let (_, list) = app.get(&cat.client, "/api/rooms").await;
    assert_eq!(member(&list, &bob.id)["fullName"], "Bobby");

    // Bob's own session (cached by his requests) sees his new name too.
    assert_eq!(app.get(&bob.client, "/api/auth/check").await.1["fullName"], "Bobby");

    let (status, _) = app.request(&cat.client, Method::DELETE, &format!("/api/users/{}", cat.id), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = app.get(&ann.client, "/api/rooms").await;
    let gone = member(&list, &cat.id);
    assert_ne!(gone["fullName"], "cat", "a deleted member is shown anonymised: {gone}");
    assert_ne!(gone["email"], cat.email.as_str());
}

/// A room's row, last message and unread counts in room lists are cached per version of
/// the room: every change shows in the next list, on the node that made it and on another
/// node of the same store, and a repeated list (a cache hit) is the same.
#[tokio::test]
async fn room_lists_show_every_change_at_once_on_every_node() {
    let app = spawn_app().await;
    let other = app.second_node().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let (_, room) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id], "name": "g"})).await;
    let base = format!("/api/rooms/{}", room["_id"].as_str().unwrap());
    let bobs = bearer(&bob.access_token);
    // Bob's list of one room, read through the other node, twice (the second from its cache).
    let list = || async {
        let (status, first) = other.get(&bobs, "/api/rooms").await;
        assert_eq!(status, StatusCode::OK);
        let (_, again) = other.get(&bobs, "/api/rooms").await;
        assert_eq!(first, again, "a repeated list is the same");
        assert_eq!(first.as_array().unwrap().len(), 1);
        first[0].clone()
    };
    let before = list().await;
    assert_eq!(
        (before["name"].clone(), before["lastMessage"].clone(), before["unreadCount"].clone()),
        (json!("g"), Value::Null, json!(0))
    );

    let (_, hi) = app.post(&ann.client, &format!("{base}/messages"), json!({"text": "hi"})).await;
    let seen = list().await;
    assert_eq!((seen["lastMessage"]["text"].clone(), seen["unreadCount"].clone()), (json!("hi"), json!(1)));

    let path = format!("/api/messages/{}", hi["_id"].as_str().unwrap());
    let (status, _) = app.request(&ann.client, Method::PATCH, &path, Some(json!({"text": "hello"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list().await["lastMessage"]["text"], "hello");

    let (status, _) = app.request(&ann.client, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let seen = list().await;
    assert_eq!((seen["lastMessage"].clone(), seen["unreadCount"].clone()), (Value::Null, json!(0)));

    let (status, _) = app.request(&ann.client, Method::PATCH, &base, Some(json!({"name": "Garden"}))).await;
    assert_eq!(status, StatusCode::OK);
    let renamed = list().await;
    assert_eq!(renamed["name"], "Garden");
    assert_ne!(renamed["updatedAt"], before["updatedAt"]);

    let (status, _) = app.post(&ann.client, &format!("{base}/members"), json!({"userIds": [cat.id]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids_of(&list().await["members"], "_id"), [ann.id.clone(), bob.id.clone(), cat.id.clone()]);
    let (status, _) = app.request(&cat.client, Method::DELETE, &format!("{base}/members/{}", cat.id), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids_of(&list().await["members"], "_id"), [ann.id.clone(), bob.id.clone()]);

    // Unread counts follow Bob's read mark as well as the room's messages.
    app.post(&ann.client, &format!("{base}/messages"), json!({"text": "again"})).await;
    assert_eq!(list().await["unreadCount"], 1);
    let (status, _) = app.request(&bob.client, Method::PUT, &format!("{base}/mark-read"), None).await;
    assert_eq!(status, StatusCode::OK);
    let read = list().await;
    assert_eq!(read["unreadCount"], 0);
    let mark = read["reads"].as_array().unwrap().iter().find(|r| r["userId"] == bob.id.as_str()).unwrap().clone();
    assert_ne!(mark["readAt"], Value::Null, "Bob's read mark shows");
    // Ann's view of the same room (same version) counts her own messages as read.
    let (_, anns) = app.get(&ann.client, "/api/rooms").await;
    assert_eq!(anns[0]["unreadCount"], 0);
}

#[tokio::test]
async fn the_room_list_pages_with_a_cursor() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let mut others = Vec::new();
    for i in 0..7 {
        others.push(app.register(&format!("u{i}")).await);
    }
    for other in &others {
        app.send_text(other, &ann, "hello").await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/rooms?limit=3&cursor={c}"),
            None => "/api/rooms?limit=3".to_string(),
        };
        let response = ann.client.get(app.url(&path)).send().await.unwrap();
        cursor = response.headers().get("x-next-cursor").map(|v| v.to_str().unwrap().to_string());
        let (_, page) = json_of(response).await;
        seen.extend(ids_of(&page, "_id"));
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 7, "every room once: {seen:?}");
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 7);
    assert_eq!(app.get(&ann.client, "/api/rooms?cursor=garbage").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn room_messages_page_both_ways() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let (_, room) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id], "name": "pair"})).await;
    let path = format!("/api/rooms/{}/messages", room["_id"].as_str().unwrap());
    let mut ids = Vec::new();
    for i in 0..12 {
        let (status, m) = app.post(&ann.client, &path, json!({"text": format!("m{i}")})).await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(m["_id"].as_str().unwrap().to_string());
    }
    let (_, all) = app.get(&bob.client, &path).await;
    assert_eq!(ids_of(&all, "_id"), ids);
    let (_, older) = app.get(&bob.client, &format!("{path}?limit=4&before={}", ids[6])).await;
    assert_eq!(ids_of(&older, "_id"), ids[2..6].to_vec());
    let (_, newer) = app.get(&bob.client, &format!("{path}?limit=4&after={}", ids[6])).await;
    assert_eq!(ids_of(&newer, "_id"), ids[7..11].to_vec());
}

#[tokio::test]
async fn names_mutes_members_and_deletion() {
    let app = spawn_app().await;
    let ann = app.register("ann").await;
    let bob = app.register("bob").await;
    let cat = app.register("cat").await;
    let (_, room) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id]})).await;
    let _ = room;
    let (_, room) = app.post(&ann.client, "/api/rooms", json!({"userIds": [bob.id], "name": "g"})).await;
    let id = room["_id"].as_str().unwrap().to_string();
    let base = format!("/api/rooms/{id}");

    let (status, renamed) = app.request(&ann.client, Method::PATCH, &base, Some(json!({"name": "Garden"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(renamed["name"], "Garden");
    let (status, muted) = app.request(&bob.client, Method::PATCH, &base, Some(json!({"muted": true}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(muted["muted"], true);
    let (_, for_ann) = app.get(&ann.client, &base).await;
    assert_eq!(for_ann["muted"], false, "muting is per member");

    let (status, grown) = app.post(&ann.client, &format!("{base}/members"), json!({"userIds": [cat.id]})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(grown["members"].as_array().unwrap().len(), 3);
    assert_eq!(app.get(&cat.client, &base).await.0, StatusCode::OK, "a new member sees the room");
    let (status, _) = app.request(&cat.client, Method::DELETE, &format!("{base}/members/{}", cat.id), None).await;
    assert_eq!(status, StatusCode::OK, "anyone may leave");
    assert_eq!(app.get(&cat.client, &base).await.0, StatusCode::NOT_FOUND);

    app.post(&bob.client, &format!("{base}/messages"), json!({"text": "1"})).await;
    app.post(&bob.client, &format!("{base}/messages"), json!({"text": "2"})).await;
    let (status, deleted) = app.request(&ann.client, Method::DELETE, &base, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deleted, json!({"_id": id, "deletedMessagesCount": 2}));
    assert_eq!(app.get(&bob.client, &base).await.0, StatusCode::NOT_FOUND);

    let dm = app.send_text(&ann, &bob, "dm").await;
    let dm_room = format!("/api/rooms/{}", dm["roomId"].as_str().unwrap());
    let (status, _) = app.request(&ann.client, Method::DELETE, &format!("{dm_room}/members/{}", ann.id), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "nobody leaves a direct room");
    let (status, _) = app.request(&ann.client, Method::PATCH, &dm_room, Some(json!({"name": "x"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "direct rooms have no name");
}

/// Who may do what to a group room: creator, member, outsider and a non-member admin.
#[tokio::test]
async fn room_authorization_table() {
    let app = spawn_app().await;
    let admin = app.register("admin").await; // first account: admin
    let creator = app.register("creator").await;
    let member = app.register("member").await;
    let outsider = app.register("outsider").await;
    let extra = app.register("extra").await;

    #[derive(Clone, Copy, Debug)]
    enum Actor {
        Creator,
        Member,
        Outsider,
        Admin,
    }
    use Actor::*;
    let user = |a: Actor| match a {
        Creator => &creator,
        Member => &member,
        Outsider => &outsider,
        Admin => &admin,
    };
    let new_room = || async {
        let (_, room) = app.post(&creator.client, "/api/rooms", json!({"userIds": [member.id], "name": "r"})).await;
        room["_id"].as_str().unwrap().to_string()
    };
    type Case = (&'static str, Method, &'static str, Option<Value>);
    let routes: Vec<Case> = vec![
        ("get", Method::GET, "", None),
        ("rename", Method::PATCH, "", Some(json!({"name": "new"}))),
        ("mute", Method::PATCH, "", Some(json!({"muted": true}))),
        ("read messages", Method::GET, "/messages", None),
        ("post", Method::POST, "/messages", Some(json!({"text": "x"}))),
        ("mark read", Method::PUT, "/read", None),
        ("add member", Method::POST, "/members", Some(json!({"userIds": [extra.id]}))),
        ("remove other", Method::DELETE, "/members/{other}", None),
        ("delete", Method::DELETE, "", None),
    ];
    use reqwest::StatusCode as S;
    let expected = |route: &str, actor: Actor| -> S {
        match (route, actor) {
            (_, Creator) => S::OK,
            ("post", Member) => S::CREATED,
            ("get" | "mute" | "read messages" | "mark read", Member) => S::OK,
            ("rename" | "add member" | "remove other" | "delete", Member) => S::FORBIDDEN,
            ("add member" | "remove other" | "delete", Admin) => S::OK,
            (_, Outsider | Admin) => S::NOT_FOUND,
            _ => unreachable!(),
        }
    };
    for (name, method, suffix, body) in &routes {
        for actor in [Creator, Member, Outsider, Admin] {
            let room = new_room().await;
            let other = match actor {
                Creator | Admin | Outsider => &member.id,
                Member => &creator.id,
            };
            let path = format!("/api/rooms/{room}{}", suffix.replace("{other}", other));
            let (status, response) = app.request(&user(actor).client, method.clone(), &path, body.clone()).await;
            let want = if *name == "post" && matches!(actor, Creator) { S::CREATED } else { expected(name, actor) };
            assert_eq!(status, want, "{actor:?} {name}: {response}");
        }
    }
}
