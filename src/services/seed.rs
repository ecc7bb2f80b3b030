//! `natter seed`: fills a fresh database with benchmark data. Every user has the same
//! password (hashed once); user 0 and user 1 share a direct conversation of `messages`
//! messages, and user 0 is a member of `rooms` group rooms.

use serde::Serialize;

use crate::auth::tokens::{hash_refresh_token, new_refresh_token};
use crate::auth::{JwtKeys, PasswordHasher};
use crate::db::Db;
use crate::db::rooms::direct_key;
use crate::db::seed::SeedSession;
use crate::db::seed::{self, SeedMember, SeedMessage, SeedRoom, SeedUser};
use crate::domain::{MessageId, Password, RoomId, SessionId, UserId, now_ms};

#[derive(Debug, Clone, clap::Args)]
pub struct SeedPlan {
    /// Users to create (`user<i>@bench.natter`, i from 0).
    #[arg(long, default_value_t = 1000)]
    pub users: usize,
    /// Group rooms user 0 belongs to.
    #[arg(long, default_value_t = 500)]
    pub rooms: usize,
    /// Messages in the direct conversation of user 0 and user 1.
    #[arg(long, default_value_t = 10_000)]
    pub messages: usize,
    /// Other members per group room.
    #[arg(long, default_value_t = 4)]
    pub room_members: usize,
    /// Messages per group room.
    #[arg(long, default_value_t = 2)]
    pub room_messages: usize,
    /// The password of every seeded user.
    #[arg(long, default_value = "bench-password-1")]
    pub password: String,
    /// Also log every user in (one session each) and write `{"id","email","token"}` lines
    /// with their access tokens here, so a load generator can open thousands of sockets
    /// without thousands of password hashes. Tokens live ACCESS_TOKEN_TTL.
    #[arg(long)]
    pub tokens_out: Option<std::path::PathBuf>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedSummary {
    pub users: usize,
    pub rooms: usize,
    pub messages: usize,
    pub email_pattern: &'static str,
    pub password: String,
    pub seconds: f64,
}

fn email(i: usize) -> String {
    format!("user{i}@bench.natter")
}

pub async fn run(db: &Db, hasher: &PasswordHasher, jwt: &JwtKeys, plan: &SeedPlan) -> anyhow::Result<SeedSummary> {
    anyhow::ensure!(plan.users >= 2, "--users must be at least 2");
    anyhow::ensure!(!seed::has_users(db).await?, "the database already has users: seed a fresh one");
    let started = std::time::Instant::now();
    let password = Password::for_login(&plan.password).map_err(|r| anyhow::anyhow!("--password: {r}"))?;
    let hash = hasher.hash(password).await?;
    let now = now_ms();
    // Back-dated so that seeded history sorts before anything sent during a benchmark.
    let base = now - 30 * 24 * 3600 * 1000;

    let user_ids: Vec<UserId> = (0..plan.users).map(|_| UserId::new()).collect();
    let users: Vec<SeedUser> = user_ids
        .iter()
        .enumerate()
        .map(|(i, id)| SeedUser { id: id.to_string(), email: email(i), full_name: format!("User {i}") })
        .collect();
    seed::insert_users(db, &users, &hash, now).await?;

    let mut rooms = Vec::with_capacity(plan.rooms + 1);
    let mut members = Vec::new();
    let mut messages = Vec::new();
    let mut clock = base;
    let mut next_ms = || {
        clock += 1;
        clock
    };

    // The direct conversation of users 0 and 1.
    let dm = RoomId::new().to_string();
    let mut last = None;
    for i in 0..plan.messages {
        let at = next_ms();
        let id = MessageId::at_ms(at).to_string();
        let sender = &user_ids[i % 2];
        messages.push(SeedMessage {
            id: id.clone(),
            room_id: dm.clone(),
            sender_id: sender.to_string(),
            text: format!("message {i}"),
            created_at: at,
        });
        last = Some((id, at));
    }
    rooms.push(SeedRoom {
        id: dm.clone(),
        kind: "direct",
        direct_key: Some(direct_key(&user_ids[0], &user_ids[1])),
        name: None,
        created_by: user_ids[0].to_string(),
        created_at: base,
        last_message_id: last.as_ref().map(|(id, _)| id.clone()),
        last_message_at: last.as_ref().map(|(_, at)| *at),
    });
    for user in &user_ids[..2] {
        members.push(SeedMember { room_id: dm.clone(), user_id: user.to_string(), joined_at: base });
    }

    // Group rooms of user 0 with a few others each.
    for r in 0..plan.rooms {
        let room = RoomId::new().to_string();
        let mut in_room = vec![user_ids[0]];
        for k in 0..plan.room_members {
            let other = user_ids[1 + (r * 7 + k * 13) % (plan.users - 1)];
            if !in_room.contains(&other) {
                in_room.push(other);
            }
        }
        let mut last = None;
        for m in 0..plan.room_messages {
            let at = next_ms();
            let id = MessageId::at_ms(at).to_string();
            let sender = in_room[m % in_room.len()];
            messages.push(SeedMessage {
                id: id.clone(),
                room_id: room.clone(),
                sender_id: sender.to_string(),
                text: format!("room {r} message {m}"),
                created_at: at,
            });
            last = Some((id, at));
        }
        for user in &in_room {
            members.push(SeedMember { room_id: room.clone(), user_id: user.to_string(), joined_at: base });
        }
        rooms.push(SeedRoom {
            id: room,
            kind: "group",
            direct_key: None,
            name: Some(format!("Room {r}")),
            created_by: user_ids[0].to_string(),
            created_at: base,
            last_message_id: last.as_ref().map(|(id, _)| id.clone()),
            last_message_at: last.as_ref().map(|(_, at)| *at),
        });
    }
    seed::insert_rooms(db, &rooms).await?;
    seed::insert_members(db, &members).await?;
    seed::insert_messages(db, &messages).await?;
    seed::bump_room_versions(db).await?;
    seed::refresh_statistics(db).await?;
    if let Some(path) = &plan.tokens_out {
        write_tokens(db, jwt, &user_ids, path, now).await?;
    }
    Ok(SeedSummary {
        users: plan.users,
        rooms: rooms.len(),
        messages: messages.len(),
        email_pattern: "user{i}@bench.natter",
        password: plan.password.clone(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One session per user, and their access tokens as JSON lines.
async fn write_tokens(
    db: &Db,
    jwt: &JwtKeys,
    users: &[UserId],
    path: &std::path::Path,
    now: i64,
) -> anyhow::Result<()> {
    use std::io::Write;
    let mut sessions = Vec::with_capacity(users.len());
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for (i, user) in users.iter().enumerate() {
        let family = SessionId::new().to_string();
        sessions.push(SeedSession {
            id: SessionId::new().to_string(),
            user_id: user.to_string(),
            family_id: family.clone(),
            token_hash: hash_refresh_token(&new_refresh_token()),
            expires_at: now + 7 * 24 * 3600 * 1000,
        });
        let token = jwt.issue_access(user, &family)?;
        let line = serde_json::json!({"id": user.to_string(), "email": email(i), "token": token});
        writeln!(out, "{line}")?;
    }
    seed::insert_sessions(db, &sessions, now).await?;
    out.flush()?;
    Ok(())
}
