//! `rooms` and `room_members`: direct rooms (one per pair, by `direct_key`) and group rooms
//! (found again by `member_key` when initiated without a name), membership, read marks.

use super::messages::placeholders;
use super::{Db, on_db, on_db_write};
use crate::domain::{RoomId, UserId};

/// The key of the direct room of an unordered pair of users.
pub fn direct_key(a: &UserId, b: &UserId) -> String {
    let (a, b) = (a.to_string(), b.to_string());
    if a <= b { format!("{a}:{b}") } else { format!("{b}:{a}") }
}

/// The key of an initiated group: its type and sorted member ids.
pub fn member_key(room_type: &str, members: &[UserId]) -> String {
    let mut ids: Vec<String> = members.iter().map(ToString::to_string).collect();
    ids.sort();
    ids.dedup();
    format!("{room_type}|{}", ids.join(","))
}

macro_rules! room_columns {
    () => {
        "r.id, r.kind, r.type AS room_type, r.name, r.direct_key, r.created_by, r.last_message_id, \
         r.last_message_at, r.version, r.created_at, r.updated_at"
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomRow {
    pub id: String,
    pub kind: String,
    pub room_type: String,
    pub name: Option<String>,
    pub direct_key: Option<String>,
    pub created_by: Option<String>,
    pub last_message_id: Option<String>,
    pub last_message_at: Option<i64>,
    /// Bumped by every change to the room's messages (the key of cached pages).
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A room as one member sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRoomRow {
    #[sqlx(flatten)]
    pub room: RoomRow,
    pub muted: bool,
    pub last_read_at: i64,
}

/// A member of a room with their read mark (user columns for the `members` list).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub room_id: String,
    pub last_read_at: i64,
    #[sqlx(flatten)]
    pub user: super::users::UserRow,
}

/// The direct room of a pair by its key, with its messages' version (one indexed lookup).
pub async fn find_direct_room_version(db: &Db, direct_key: &str) -> Result<Option<(String, i64)>, sqlx::Error> {
    const SQL: &str = "SELECT id, version FROM rooms WHERE direct_key = $1";
    on_db!(db, |pool| sqlx::query_as::<_, (String, i64)>(SQL).bind(direct_key).fetch_optional(pool).await)
}

/// Finds or creates the direct room of a pair (with both as members). Returns the room id
/// and whether it was created. Concurrent calls create one room: `direct_key` is unique.
pub async fn ensure_direct_room(
    db: &Db,
    creator: &UserId,
    other: &UserId,
    now: i64,
) -> Result<(String, bool), sqlx::Error> {
    const CREATE: &str = "INSERT INTO rooms (id, kind, type, direct_key, created_by, created_at, updated_at) \
         VALUES ($1, 'direct', 'consumer-to-consumer', $2, $3, $4, $4) ON CONFLICT (direct_key) DO NOTHING";
    const FIND: &str = "SELECT id FROM rooms WHERE direct_key = $1";
    const ADD_MEMBERS: &str = "INSERT INTO room_members (room_id, user_id, joined_at) VALUES ($1, $2, $4), ($1, $3, $4) \
         ON CONFLICT (room_id, user_id) DO NOTHING";
    let key = direct_key(creator, other);
    on_db_write!(db, |pool| {
        // The first statement writes, so SQLite takes the write lock at once.
        let mut tx = pool.begin().await?;
        let created = sqlx::query(CREATE)
            .bind(RoomId::new().to_string())
            .bind(&key)
            .bind(creator.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        let id: String = sqlx::query_scalar(FIND).bind(&key).fetch_one(&mut *tx).await?;
        if created {
            sqlx::query(ADD_MEMBERS)
                .bind(&id)
                .bind(creator.to_string())
                .bind(other.to_string())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((id, created))
    })
}

/// For a DM from `sender` to `receiver`: `None` if the receiver does not exist or was
/// deleted, else the pair's direct room if it exists yet. One query on the send path.
pub async fn find_direct_target(
    db: &Db,
    sender: &UserId,
    receiver: &UserId,
) -> Result<Option<Option<String>>, sqlx::Error> {
    const SQL: &str = "SELECT r.id FROM users u LEFT JOIN rooms r ON r.direct_key = $2 \
                       WHERE u.id = $1 AND u.deleted_at IS NULL";
    let key = direct_key(sender, receiver);
    on_db!(db, |pool| {
        sqlx::query_scalar::<_, Option<String>>(SQL).bind(receiver.to_string()).bind(&key).fetch_optional(pool).await
    })
}

pub struct NewGroupRoom<'a> {
    pub creator: &'a UserId,
    /// All members, the creator included.
    pub members: &'a [UserId],
    pub room_type: &'a str,
    pub name: Option<&'a str>,
    /// Set to find the room again by member set and type; `None` always creates.
    pub member_key: Option<&'a str>,
}

/// Creates a group room, or returns the existing one with the same `member_key`.
pub async fn ensure_group_room(db: &Db, new: NewGroupRoom<'_>, now: i64) -> Result<(String, bool), sqlx::Error> {
    const CREATE: &str = "INSERT INTO rooms (id, kind, type, name, member_key, created_by, created_at, updated_at) \
         VALUES ($1, 'group', $2, $3, $4, $5, $6, $6) ON CONFLICT (member_key) DO NOTHING";
    const FIND: &str = "SELECT id FROM rooms WHERE member_key = $1";
    const ADD_MEMBER: &str = "INSERT INTO room_members (room_id, user_id, joined_at) VALUES ($1, $2, $3) \
         ON CONFLICT (room_id, user_id) DO NOTHING";
    let id = RoomId::new().to_string();
    on_db_write!(db, |pool| {
        let mut tx = pool.begin().await?;
        let created = sqlx::query(CREATE)
            .bind(&id)
            .bind(new.room_type)
            .bind(new.name)
            .bind(new.member_key)
            .bind(new.creator.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !created {
            let existing: String = sqlx::query_scalar(FIND).bind(new.member_key).fetch_one(&mut *tx).await?;
            tx.commit().await?;
            return Ok((existing, false));
        }
        for member in new.members {
            sqlx::query(ADD_MEMBER).bind(&id).bind(member.to_string()).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok((id.clone(), true))
    })
}

/// A room with the caller's membership, if the caller is a member.
pub async fn find_room_for_member(db: &Db, room_id: &str, user: &UserId) -> Result<Option<MemberRoomRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        room_columns!(),
        ", rm.muted, rm.last_read_at FROM rooms r JOIN room_members rm ON rm.room_id = r.id \
         WHERE r.id = $1 AND rm.user_id = $2"
    );
    on_db!(db, |pool| {
        sqlx::query_as::<_, MemberRoomRow>(SQL).bind(room_id).bind(user.to_string()).fetch_optional(pool).await
    })
}

/// A room whoever asks (for staff actions on rooms they are not in).
pub async fn find_room(db: &Db, room_id: &str) -> Result<Option<RoomRow>, sqlx::Error> {
    const SQL: &str = concat!("SELECT ", room_columns!(), " FROM rooms r WHERE r.id = $1");
    on_db!(db, |pool| sqlx::query_as::<_, RoomRow>(SQL).bind(room_id).fetch_optional(pool).await)
}

/// Whether `user` is a member of `room_id`.
pub async fn is_member(db: &Db, room_id: &str, user: &UserId) -> Result<bool, sqlx::Error> {
    const SQL: &str = "SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2";
    let found: Option<i32> = on_db!(db, |pool| {
        sqlx::query_scalar::<_, i32>(SQL).bind(room_id).bind(user.to_string()).fetch_optional(pool).await
    })?;
    Ok(found.is_some())
}

/// Where a page of rooms starts: after the room with this activity time and id.
#[derive(Debug, Clone)]
pub struct RoomCursor {
    pub activity: i64,
    pub room_id: String,
}

/// A page of the user's rooms, most recent activity (last message, else creation) first.
pub async fn list_rooms_for_user(
    db: &Db,
    user: &UserId,
    after: Option<&RoomCursor>,
    limit: u32,
) -> Result<Vec<MemberRoomRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        room_columns!(),
        ", rm.muted, rm.last_read_at FROM room_members rm JOIN rooms r ON r.id = rm.room_id \
         WHERE rm.user_id = $1 AND ($2 IS NULL OR COALESCE(r.last_message_at, r.created_at) < $2 \
               OR (COALESCE(r.last_message_at, r.created_at) = $2 AND r.id < $3)) \
         ORDER BY COALESCE(r.last_message_at, r.created_at) DESC, r.id DESC LIMIT $4"
    );
    let (activity, room) = match after {
        Some(c) => (Some(c.activity), Some(c.room_id.clone())),
        None => (None, None),
    };
    on_db!(db, |pool| {
        sqlx::query_as::<_, MemberRoomRow>(SQL)
            .bind(user.to_string())
            .bind(activity)
            .bind(&room)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

/// A page of the user's rooms that have messages, most recent message first, by offset
/// (the chat-API tutorial's 0-based `page` and `limit`).
pub async fn list_active_rooms_for_user(
    db: &Db,
    user: &UserId,
    offset: u64,
    limit: u32,
) -> Result<Vec<MemberRoomRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        room_columns!(),
        ", rm.muted, rm.last_read_at FROM room_members rm JOIN rooms r ON r.id = rm.room_id \
         WHERE rm.user_id = $1 AND r.last_message_id IS NOT NULL \
         ORDER BY r.last_message_at DESC, r.id DESC LIMIT $2 OFFSET $3"
    );
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    on_db!(db, |pool| {
        sqlx::query_as::<_, MemberRoomRow>(SQL)
            .bind(user.to_string())
            .bind(i64::from(limit))
            .bind(offset)
            .fetch_all(pool)
            .await
    })
}

/// The members of a set of rooms, with their read marks (one query per page of rooms).
pub async fn list_members(db: &Db, room_ids: &[String]) -> Result<Vec<MemberRow>, sqlx::Error> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT rm.room_id, rm.last_read_at, u.id, u.email, u.username, u.full_name, u.password_hash, u.profile_pic, \
                u.role, u.user_type, u.deleted_at, u.created_at, u.updated_at \
         FROM room_members rm JOIN users u ON u.id = rm.user_id WHERE rm.room_id IN ({}) ORDER BY rm.joined_at, u.id",
        placeholders(1, room_ids.len())
    );
    on_db!(db, |pool| {
        let mut q = sqlx::query_as::<_, MemberRow>(sqlx::AssertSqlSafe(sql.clone()));
        for id in room_ids {
            q = q.bind(id);
        }
        q.fetch_all(pool).await
    })
}

/// The ids of a room's members, for fan-out.
pub async fn list_member_ids(db: &Db, room_id: &str) -> Result<Vec<String>, sqlx::Error> {
    const SQL: &str = "SELECT user_id FROM room_members WHERE room_id = $1";
    on_db!(db, |pool| sqlx::query_scalar::<_, String>(SQL).bind(room_id).fetch_all(pool).await)
}

/// Moves the member's read mark forward to `at` (never backwards). Returns false when the
/// user is not a member.
pub async fn mark_read(db: &Db, room_id: &str, user: &UserId, at: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE room_members SET last_read_at = CASE WHEN last_read_at < $3 THEN $3 ELSE last_read_at END \
                       WHERE room_id = $1 AND user_id = $2";
    on_db_write!(db, |pool| {
        sqlx::query(SQL)
            .bind(room_id)
            .bind(user.to_string())
            .bind(at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected() == 1)
    })
}

pub async fn set_muted(db: &Db, room_id: &str, user: &UserId, muted: bool) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE room_members SET muted = $3 WHERE room_id = $1 AND user_id = $2";
    on_db_write!(db, |pool| sqlx::query(SQL)
        .bind(room_id)
        .bind(user.to_string())
        .bind(muted)
        .execute(pool)
        .await
        .map(|_| ()))
}

pub async fn rename_room(db: &Db, room_id: &str, name: &str, now: i64) -> Result<(), sqlx::Error> {
    const SQL: &str = "UPDATE rooms SET name = $2, updated_at = $3 WHERE id = $1";
    on_db_write!(db, |pool| sqlx::query(SQL).bind(room_id).bind(name).bind(now).execute(pool).await.map(|_| ()))
}

/// Adds members to a group room. Its membership changed, so it is no longer found by the
/// member set it was initiated with.
pub async fn add_members(db: &Db, room_id: &str, users: &[UserId], now: i64) -> Result<(), sqlx::Error> {
    const UNKEY: &str = "UPDATE rooms SET member_key = NULL, updated_at = $2 WHERE id = $1";
    const ADD: &str = "INSERT INTO room_members (room_id, user_id, joined_at) VALUES ($1, $2, $3) \
                       ON CONFLICT (room_id, user_id) DO NOTHING";
    on_db_write!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(UNKEY).bind(room_id).bind(now).execute(&mut *tx).await?;
        for user in users {
            sqlx::query(ADD).bind(room_id).bind(user.to_string()).bind(now).execute(&mut *tx).await?;
        }
        tx.commit().await
    })
}

/// Removes a member; false when they were not one.
pub async fn remove_member(db: &Db, room_id: &str, user: &UserId, now: i64) -> Result<bool, sqlx::Error> {
    const UNKEY: &str = "UPDATE rooms SET member_key = NULL, updated_at = $2 WHERE id = $1";
    const REMOVE: &str = "DELETE FROM room_members WHERE room_id = $1 AND user_id = $2";
    on_db_write!(db, |pool| {
        let mut tx = pool.begin().await?;
        sqlx::query(UNKEY).bind(room_id).bind(now).execute(&mut *tx).await?;
        let removed = sqlx::query(REMOVE).bind(room_id).bind(user.to_string()).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(removed == 1)
    })
}

/// Deletes a room with its messages and memberships; returns how many messages went.
pub async fn delete_room(db: &Db, room_id: &str) -> Result<i64, sqlx::Error> {
    const MESSAGES: &str = "DELETE FROM messages WHERE room_id = $1";
    const MEMBERS: &str = "DELETE FROM room_members WHERE room_id = $1";
    const ROOM: &str = "DELETE FROM rooms WHERE id = $1";
    on_db_write!(db, |pool| {
        let mut tx = pool.begin().await?;
        let messages = sqlx::query(MESSAGES).bind(room_id).execute(&mut *tx).await?.rows_affected();
        sqlx::query(MEMBERS).bind(room_id).execute(&mut *tx).await?;
        sqlx::query(ROOM).bind(room_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(i64::try_from(messages).unwrap_or(i64::MAX))
    })
}
