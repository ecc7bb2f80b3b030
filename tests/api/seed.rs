use natter::services::seed::{self, SeedPlan};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn seeding_creates_users_that_log_in_a_long_conversation_and_many_rooms() {
    let app = spawn_app().await;
    let plan = SeedPlan {
        users: 20,
        rooms: 60,
        messages: 300,
        room_members: 3,
        room_messages: 2,
        password: "bench-password-1".into(),
        tokens_out: Some(app.state.settings.data_dir.join("tokens.jsonl")),
    };
    let summary = seed::run(&app.state.db, &app.state.hasher, &app.state.jwt, &plan).await.unwrap();
    assert_eq!(summary.users, 20);
    assert_eq!(summary.messages, 300 + 60 * 2);

    let client = cookie_client();
    let (status, me) = app
        .post(&client, "/api/auth/login", json!({"email": "user0@bench.natter", "password": "bench-password-1"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (_, peer) = app
        .post(
            &cookie_client(),
            "/api/auth/login",
            json!({"email": "user1@bench.natter", "password": "bench-password-1"}),
        )
        .await;
    let peer = peer["_id"].as_str().unwrap();

    let (_, newest) = app.get(&client, &format!("/api/messages/{peer}?limit=50")).await;
    let newest = newest.as_array().unwrap();
    assert_eq!(newest.len(), 50);
    assert_eq!(newest.last().unwrap()["text"], "message 299");
    let (_, all) = app.get(&client, &format!("/api/messages/{peer}?limit=1000")).await;
    assert_eq!(all.as_array().unwrap().len(), 300);

    let (_, rooms) = app.get(&client, "/api/rooms?limit=1000").await;
    assert_eq!(rooms.as_array().unwrap().len(), 61, "60 groups and the direct room");
    // Seeded rooms behave like live ones: a new message moves its room to the top.
    let last_room = rooms.as_array().unwrap().last().unwrap()["_id"].as_str().unwrap().to_string();
    app.post(&client, &format!("/api/rooms/{last_room}/messages"), json!({"text": "new"})).await;
    let (_, rooms) = app.get(&client, "/api/rooms?limit=1").await;
    assert_eq!(rooms[0]["_id"], last_room.as_str());

    // The tokens file logs every user in.
    let lines = std::fs::read_to_string(plan.tokens_out.as_ref().unwrap()).unwrap();
    let tokens: Vec<serde_json::Value> = lines.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(tokens.len(), 20);
    let (status, who) = app.get(&bearer(tokens[7]["token"].as_str().unwrap()), "/api/auth/check").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(who["email"], "user7@bench.natter");
    assert_eq!(who["_id"], tokens[7]["id"]);

    let error = seed::run(&app.state.db, &app.state.hasher, &app.state.jwt, &plan).await.unwrap_err();
    assert!(error.to_string().contains("already has users"));
}
