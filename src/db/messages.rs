//! `messages` and the direct rooms they live in.
//!
//! Ordering guarantee: a message's id is generated inside the transaction that holds the
//! room's row lock (PostgreSQL) or the database write lock (SQLite) and is made greater
//! than the room's previous `last_message_id`, so ids increase per room in commit order.
//! A reader that has seen id X will find every later commit with `id > X`: no gaps.

use super::{Db, is_unique_violation, on_db, on_db_write};
use crate::domain::{MessageId, UserId};

/// The columns of `MessageRow`, for `concat!` into each query (`m` = messages, `r` = rooms).
macro_rules! message_columns {
    () => {
        "m.id, m.room_id, m.sender_id, m.text, m.image, m.created_at, m.updated_at, m.edited_at, m.deleted_at, \
         r.direct_key, r.created_by AS room_created_by"
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: String,
    pub room_id: String,
    pub sender_id: String,
    pub text: Option<String>,
    pub image: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// `"<a>:<b>"` for direct rooms (the two members), `None` for group rooms.
    pub direct_key: Option<String>,
    pub room_created_by: Option<String>,
}

pub struct NewMessage<'a> {
    pub room_id: &'a str,
    pub sender: &'a UserId,
    pub text: Option<&'a str>,
    pub image: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

pub enum InsertMessage {
    Inserted(MessageRow),
    /// The sender already sent a message with this idempotency key: here it is.
    Replayed(MessageRow),
}

/// Appends a message to a room in one transaction: moves the room's last message to a new
/// id above the previous one (which takes the room's row lock on PostgreSQL, the write lock
/// on SQLite, until commit), inserts the message and moves the sender's read mark.
pub async fn append_message(db: &Db, new: NewMessage<'_>) -> Result<InsertMessage, sqlx::Error> {
    // The lock and the bump in one statement: it only succeeds when the new id sorts after
    // the room's last one, which is re-checked under the lock, so ids increase in commit order.
    const BUMP_ROOM: &str = "UPDATE rooms SET last_message_id = $2, last_message_at = $3, updated_at = $3, \
         version = version + 1 \
         WHERE id = $1 AND (last_message_id IS NULL OR last_message_id < $2) RETURNING direct_key, created_by";
    const LAST_ID: &str = "SELECT last_message_id FROM rooms WHERE id = $1";
    const INSERT: &str = "INSERT INTO messages (id, room_id, sender_id, text, image, idempotency_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
    const SENDER_READ: &str = "UPDATE room_members SET last_read_at = $3 WHERE room_id = $1 AND user_id = $2";

    if let Some(key) = new.idempotency_key
        && let Some(existing) = find_by_idempotency_key(db, new.sender, key).await?
    {
        return Ok(InsertMessage::Replayed(existing));
    }
    let sender = new.sender.to_string();
    // An async block, so that `?` inside ends the transaction, not this function.
    let result: Result<MessageRow, sqlx::Error> = on_db_write!(db, |pool| async {
        let mut tx = pool.begin().await?;
        let mut id = MessageId::next_after(None);
        let room: (Option<String>, Option<String>) = loop {
            let bumped = sqlx::query_as(BUMP_ROOM)
                .bind(new.room_id)
                .bind(id.to_string())
                .bind(id.created_ms())
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(room) = bumped {
                break room;
            }
            // This node's clock is behind the room's last message (or the room is gone).
            let last: Option<String> = sqlx::query_scalar(LAST_ID)
                .bind(new.room_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            id = MessageId::next_after(last.as_deref().and_then(MessageId::parse));
        };
        let created_at = id.created_ms();
        sqlx::query(INSERT)
            .bind(id.to_string())
            .bind(new.room_id)
            .bind(&sender)
            .bind(new.text)
            .bind(new.image)
            .bind(new.idempotency_key)
            .bind(created_at)
            .execute(&mut *tx)
            .await?;
        sqlx::query(SENDER_READ).bind(new.room_id).bind(&sender).bind(created_at).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(MessageRow {
            id: id.to_string(),
            room_id: new.room_id.to_string(),
            sender_id: sender.clone(),
            text: new.text.map(str::to_string),
            image: new.image.map(str::to_string),
            created_at,
            updated_at: created_at,
            edited_at: None,
            deleted_at: None,
            direct_key: room.0,
            room_created_by: room.1,
        })
    }
    .await);
    match result {
        Ok(row) => Ok(InsertMessage::Inserted(row)),
        // Two sends with one idempotency key raced: the other one won; return its message.
        Err(e) if is_unique_violation(&e) && new.idempotency_key.is_some() => {
            let key = new.idempotency_key.unwrap_or_default();
            match find_by_idempotency_key(db, new.sender, key).await? {
                Some(existing) => Ok(InsertMessage::Replayed(existing)),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

async fn find_by_idempotency_key(db: &Db, sender: &UserId, key: &str) -> Result<Option<MessageRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.sender_id = $1 AND m.idempotency_key = $2"
    );
    on_db!(db, |pool| {
        sqlx::query_as::<_, MessageRow>(SQL).bind(sender.to_string()).bind(key).fetch_optional(pool).await
    })
}

async fn find_message_by_raw_id(db: &Db, id: &str) -> Result<Option<MessageRow>, sqlx::Error> {
    const SQL: &str =
        concat!("SELECT ", message_columns!(), " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id = $1");
    on_db!(db, |pool| sqlx::query_as::<_, MessageRow>(SQL).bind(id).fetch_optional(pool).await)
}

/// A message that has not been deleted.
pub async fn find_message(db: &Db, id: &MessageId) -> Result<Option<MessageRow>, sqlx::Error> {
    Ok(find_message_by_raw_id(db, &id.to_string()).await?.filter(|m| m.deleted_at.is_none()))
}

/// Which slice of a conversation to read. Results are always oldest first.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    pub before: Option<&'a MessageId>,
    pub after: Option<&'a MessageId>,
    pub limit: u32,
}

/// A page of a room's live messages: the oldest `limit` after `after` when it is given, else
/// the newest `limit` (before `before` when given); returned oldest first.
pub async fn list_messages(db: &Db, room_id: &str, page: Page<'_>) -> Result<Vec<MessageRow>, sqlx::Error> {
    const FORWARD: &str = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = $1 \
          AND m.deleted_at IS NULL AND m.id > $2 AND ($3 IS NULL OR m.id < $3) ORDER BY m.id ASC LIMIT $4"
    );
    const BACKWARD: &str = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = $1 \
          AND m.deleted_at IS NULL AND ($2 IS NULL OR m.id < $2) ORDER BY m.id DESC LIMIT $3"
    );
    let before = page.before.map(|id| id.to_string());
    let limit = i64::from(page.limit);
    if let Some(after) = page.after {
        let after = after.to_string();
        on_db!(db, |pool| {
            sqlx::query_as::<_, MessageRow>(FORWARD)
                .bind(room_id)
                .bind(&after)
                .bind(&before)
                .bind(limit)
                .fetch_all(pool)
                .await
        })
    } else {
        let mut rows: Vec<MessageRow> = on_db!(db, |pool| {
            sqlx::query_as::<_, MessageRow>(BACKWARD).bind(room_id).bind(&before).bind(limit).fetch_all(pool).await
        })?;
        rows.reverse();
        Ok(rows)
    }
}

/// A page of a room's live messages by offset from the newest (the chat-API tutorial's
/// 0-based `page` and `limit`), returned oldest first.
pub async fn list_messages_by_offset(
    db: &Db,
    room_id: &str,
    offset: u64,
    limit: u32,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = $1 AND m.deleted_at IS NULL \
          ORDER BY m.id DESC LIMIT $2 OFFSET $3"
    );
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let mut rows: Vec<MessageRow> = on_db!(db, |pool| {
        sqlx::query_as::<_, MessageRow>(SQL).bind(room_id).bind(i64::from(limit)).bind(offset).fetch_all(pool).await
    })?;
    rows.reverse();
    Ok(rows)
}

pub async fn update_message_text(
    db: &Db,
    id: &MessageId,
    text: &str,
    now: i64,
) -> Result<Option<MessageRow>, sqlx::Error> {
    const SQL: &str =
        "UPDATE messages SET text = $2, edited_at = $3, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL";
    let updated = on_db_write!(db, |pool| {
        let mut tx = pool.begin().await?;
        let n = sqlx::query(SQL).bind(id.to_string()).bind(text).bind(now).execute(&mut *tx).await?.rows_affected();
        if n > 0 {
            sqlx::query(BUMP_VERSION_OF_MESSAGE).bind(id.to_string()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(n)
    })?;
    if updated == 0 {
        return Ok(None);
    }
    find_message(db, id).await
}

/// The room of a changed message gets a new version (in the change's transaction).
const BUMP_VERSION_OF_MESSAGE: &str =
    "UPDATE rooms SET version = version + 1 WHERE id = (SELECT room_id FROM messages WHERE id = $1)";

/// Soft-deletes a message: its content is erased, the row stays so ids and cursors hold.
pub async fn delete_message(db: &Db, id: &MessageId, now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE messages SET text = NULL, image = NULL, deleted_at = $2, updated_at = $2 \
                       WHERE id = $1 AND deleted_at IS NULL";
    on_db_write!(db, |pool| {
        let mut tx = pool.begin().await?;
        let deleted = sqlx::query(SQL).bind(id.to_string()).bind(now).execute(&mut *tx).await?.rows_affected() == 1;
        if deleted {
            sqlx::query(BUMP_VERSION_OF_MESSAGE).bind(id.to_string()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(deleted)
    })
}

/// `$from, $from+1, …` for `n` values: placeholders of an `IN (…)` list.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Messages by id, for the `lastMessage` of a page of rooms (one query per page).
pub async fn find_messages_by_ids(db: &Db, ids: &[String]) -> Result<Vec<MessageRow>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        concat!("SELECT ", message_columns!(), " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id IN ({})"),
        placeholders(1, ids.len())
    );
    on_db!(db, |pool| {
        let mut q = sqlx::query_as::<_, MessageRow>(sqlx::AssertSqlSafe(sql.clone()));
        for id in ids {
            q = q.bind(id);
        }
        q.fetch_all(pool).await
    })
}

/// For each of `room_ids`, how many live messages from others arrived after `user`'s read
/// watermark. Rooms with none are absent. One query per page of rooms.
pub async fn unread_counts(db: &Db, user: &UserId, room_ids: &[String]) -> Result<Vec<(String, i64)>, sqlx::Error> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT m.room_id, CAST(COUNT(*) AS BIGINT) FROM messages m \
         JOIN room_members rm ON rm.room_id = m.room_id AND rm.user_id = $1 \
         WHERE m.room_id IN ({}) AND m.created_at > rm.last_read_at AND m.sender_id <> $1 AND m.deleted_at IS NULL \
         GROUP BY m.room_id",
        placeholders(2, room_ids.len())
    );
    let user = user.to_string();
    on_db!(db, |pool| {
        let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql.clone())).bind(&user);
        for id in room_ids {
            q = q.bind(id);
        }
        q.fetch_all(pool).await
    })
}

/// The caller's unread count in one room.
pub async fn unread_count(db: &Db, user: &UserId, room_id: &str) -> Result<i64, sqlx::Error> {
    let counts = unread_counts(db, user, &[room_id.to_string()]).await?;
    Ok(counts.first().map_or(0, |(_, n)| *n))
}
