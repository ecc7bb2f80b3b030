//! The in-process floor on SQLite: the store's own statements with no HTTP, no JSON and no
//! network, through natter's store (reads on the calling thread, writes through the writer
//! thread and its group commit) and through the same SQL run bare in the calling thread
//! (rusqlite, on the same file and pragmas). The difference is what the store's layer costs;
//! what an HTTP request costs above the first figure is natter's own overhead (routing,
//! auth, JSON).

use std::time::{Duration, Instant};

use anyhow::Context;
use natter::db::messages::{self, NewMessage, Page};
use natter::db::users::{self, NewUser};
use natter::db::{Db, DbOptions, rooms};
use natter::domain::{Email, FullName, MessageId, UserId, UserType};
use serde_json::json;

/// One figure: µs per operation over `iterations`, after a warm-up.
struct Figure {
    name: String,
    micros: f64,
}

async fn time_async<F, Fut>(name: &str, iterations: u32, mut op: F) -> anyhow::Result<Figure>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    for _ in 0..iterations / 10 {
        op().await?;
    }
    let started = Instant::now();
    for _ in 0..iterations {
        op().await?;
    }
    Ok(Figure { name: name.to_string(), micros: per_op(started.elapsed(), iterations) })
}

fn time_sync(name: &str, iterations: u32, mut op: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Figure> {
    for _ in 0..iterations / 10 {
        op()?;
    }
    let started = Instant::now();
    for _ in 0..iterations {
        op()?;
    }
    Ok(Figure { name: name.to_string(), micros: per_op(started.elapsed(), iterations) })
}

fn per_op(elapsed: Duration, iterations: u32) -> f64 {
    elapsed.as_secs_f64() * 1e6 / f64::from(iterations)
}

/// The row the page query returns, built in-thread (what `MessageRow` holds).
#[allow(dead_code)]
struct Row {
    id: String,
    room_id: String,
    sender_id: String,
    text: Option<String>,
    image: Option<String>,
    created_at: i64,
    updated_at: i64,
    edited_at: Option<i64>,
    deleted_at: Option<i64>,
    direct_key: Option<String>,
    room_created_by: Option<String>,
}

const PAGE_SQL: &str = "SELECT m.id, m.room_id, m.sender_id, m.text, m.image, m.created_at, m.updated_at, \
     m.edited_at, m.deleted_at, r.direct_key, r.created_by FROM messages m JOIN rooms r ON r.id = m.room_id \
     WHERE m.room_id = ?1 AND m.deleted_at IS NULL ORDER BY m.id DESC LIMIT ?2";

pub async fn run(messages_in_conversation: u32, iterations: u32) -> anyhow::Result<()> {
    let dir = tempfile_dir()?;
    let path = dir.join("floor.db");
    let url = format!("sqlite://{}", path.display());
    let opts = DbOptions { pool_size: 4, statement_timeout: Duration::ZERO, retries: 0 };
    let db = Db::connect(&url, &opts).await?;
    db.migrate().await?;

    // Two users and their conversation.
    let (ann, bob) = (UserId::new(), UserId::new());
    for (id, name) in [(&ann, "ann"), (&bob, "bob")] {
        let email = Email::parse(&format!("{name}@floor.test")).map_err(anyhow::Error::msg)?;
        let full_name = FullName::parse(name).map_err(anyhow::Error::msg)?;
        let new = NewUser {
            id: *id,
            email: &email,
            username: None,
            full_name: &full_name,
            password_hash: "",
            profile_pic: "",
            user_type: UserType::Consumer,
            now: 1,
        };
        users::insert_user(&db, new).await?;
    }
    let (room, _) = rooms::ensure_direct_room(&db, &ann, &bob, 1).await?;
    let text = "a message of ordinary length, about sixty characters long...";
    for _ in 0..messages_in_conversation {
        let new = NewMessage {
            room_id: &room,
            sender: &ann,
            text: Some(text),
            image: None,
            media_id: None,
            attachment: None,
            idempotency_key: None,
        };
        messages::append_message(&db, new).await?;
    }

    let conn = rusqlite::Connection::open(&path).context("open the database in-thread")?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    conn.busy_timeout(Duration::from_secs(10))?;

    let mut figures = Vec::new();
    figures.push(time_async("SELECT 1, natter's store", iterations, || async { Ok(db.ping().await?) }).await?);
    figures.push(time_sync("SELECT 1, in-thread (rusqlite)", iterations, || {
        Ok(conn.prepare_cached("SELECT 1")?.query_row([], |r| r.get::<_, i64>(0)).map(|_| ())?)
    })?);

    for limit in [50u32, 200, 1000].into_iter().filter(|l| *l <= messages_in_conversation) {
        let n = (iterations * 50 / limit).max(20);
        figures.push(
            time_async(&format!("page of {limit}, natter's store"), n, || async {
                let page = Page { before: None, after: None, limit };
                let rows = messages::list_messages(&db, &room, page).await?;
                anyhow::ensure!(rows.len() == limit as usize, "short page");
                Ok(())
            })
            .await?,
        );
        figures.push(time_sync(&format!("page of {limit}, in-thread (rusqlite)"), n, || {
            let mut stmt = conn.prepare_cached(PAGE_SQL)?;
            let rows = stmt
                .query_map(rusqlite::params![room, limit], |r| {
                    Ok(Row {
                        id: r.get(0)?,
                        room_id: r.get(1)?,
                        sender_id: r.get(2)?,
                        text: r.get(3)?,
                        image: r.get(4)?,
                        created_at: r.get(5)?,
                        updated_at: r.get(6)?,
                        edited_at: r.get(7)?,
                        deleted_at: r.get(8)?,
                        direct_key: r.get(9)?,
                        room_created_by: r.get(10)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            anyhow::ensure!(rows.len() == limit as usize, "short page");
            Ok(())
        })?);
        let page = messages::list_messages(&db, &room, Page { before: None, after: None, limit })
            .await?
            .into_iter()
            .map(natter::views::MessageResponse::from)
            .collect::<Vec<_>>();
        figures.push(time_sync(&format!("page of {limit}, JSON serialisation"), n, || {
            anyhow::ensure!(!serde_json::to_vec(&page)?.is_empty());
            Ok(())
        })?);
    }

    let sends = iterations.min(5000);
    figures.push(
        time_async("send (one message, committed), natter's store", sends, || async {
            let new = NewMessage {
                room_id: &room,
                sender: &bob,
                text: Some(text),
                image: None,
                media_id: None,
                attachment: None,
                idempotency_key: None,
            };
            messages::append_message(&db, new).await?;
            Ok(())
        })
        .await?,
    );
    // 16 senders at once: the writer commits what is waiting together.
    let started = Instant::now();
    let per_task = sends / 16;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (db, room, bob) = (db.clone(), room.clone(), bob);
        tasks.push(tokio::spawn(async move {
            for _ in 0..per_task {
                let new = NewMessage {
                    room_id: &room,
                    sender: &bob,
                    text: Some(text),
                    image: None,
                    media_id: None,
                    attachment: None,
                    idempotency_key: None,
                };
                messages::append_message(&db, new).await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    figures.push(Figure {
        name: "send, 16 at once (group commit), natter's store".into(),
        micros: per_op(started.elapsed(), per_task * 16),
    });
    let last_id: Option<String> =
        conn.query_row("SELECT last_message_id FROM rooms WHERE id = ?1", [&room], |r| r.get(0))?;
    let (sender, mut last) = (bob.to_string(), last_id.as_deref().and_then(MessageId::parse));
    let mut conn = conn;
    figures.push(time_sync("send (one message, committed), in-thread (rusqlite)", sends, || {
        // The store's transaction: bump the room, insert, move the sender's read mark.
        let id = MessageId::next_after(last);
        let tx = conn.transaction()?;
        tx.prepare_cached(
            "UPDATE rooms SET last_message_id = ?2, last_message_at = ?3, updated_at = ?3 \
             WHERE id = ?1 AND (last_message_id IS NULL OR last_message_id < ?2) RETURNING direct_key, created_by",
        )?
        .query_row(rusqlite::params![room, id.to_string(), id.created_ms()], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        tx.prepare_cached(
            "INSERT INTO messages (id, room_id, sender_id, text, image, idempotency_key, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, NULL, NULL, ?5, ?5)",
        )?
        .execute(rusqlite::params![id.to_string(), room, sender, text, id.created_ms()])?;
        tx.prepare_cached("UPDATE room_members SET last_read_at = ?3 WHERE room_id = ?1 AND user_id = ?2")?
            .execute(rusqlite::params![room, sender, id.created_ms()])?;
        tx.commit()?;
        last = Some(id);
        Ok(())
    })?);

    println!("| statement (SQLite, {messages_in_conversation}-message conversation) | µs per operation |");
    println!("|---|---:|");
    for f in &figures {
        println!("| {} | {:.1} |", f.name, f.micros);
    }
    let lines: Vec<_> = figures.iter().map(|f| json!({"figure": f.name, "micros": f.micros})).collect();
    eprintln!("{}", json!({"scenario": "floor", "figures": lines}));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("natter-floor-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
