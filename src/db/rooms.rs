//! `rooms` and `room_members`: direct rooms (one per pair, by `direct_key`) and group rooms
//! (found again by `member_key` when initiated without a name), membership, read marks.

use super::messages::placeholders;
use super::sql::{Arg, Cursor, Row};
use super::{Db, DbResult, args, impl_row};
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

#[derive(Debug, Clone)]
pub struct RoomRow {
    pub id: String,
    pub kind: String,
    pub room_type: String,
    pub name: Option<String>,
    pub direct_key: Option<String>,
    pub created_by: Option<String>,
    pub last_message_id: Option<String>,
    pub last_message_at: Option<i64>,
    /// Bumped by every change to the room's row or messages (the key of cached pages, and of
    /// cached rows and last messages in room lists). Membership and read marks are not in it.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
}
impl_row!(RoomRow {
    id,
    kind,
    room_type,
    name,
    direct_key,
    created_by,
    last_message_id,
    last_message_at,
    version,
    created_at,
    updated_at
});

/// A room as one member sees it.
#[derive(Debug, Clone)]
pub struct MemberRoomRow {
    pub room: RoomRow,
    pub muted: bool,
    pub last_read_at: i64,
}

impl Row for MemberRoomRow {
    fn read(c: &mut impl Cursor) -> DbResult<Self> {
        Ok(Self { room: RoomRow::read(c)?, muted: c.next()?, last_read_at: c.next()? })
    }
}

/// A member of a room with their read mark (their profile is the caller's to find).
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub room_id: String,
    pub user_id: String,
    pub last_read_at: i64,
    pub joined_at: i64,
}
impl_row!(MemberRow { room_id, user_id, last_read_at, joined_at });

/// The direct room of a pair by its key, with its messages' version (one indexed lookup).
pub async fn find_direct_room_version(db: &Db, direct_key: &str) -> DbResult<Option<(String, i64)>> {
    const SQL: &str = "SELECT id, version FROM rooms WHERE direct_key = $1";
    db.fetch_optional(SQL, args![direct_key]).await
}

/// Finds or creates the direct room of a pair (with both as members). Returns the room id
/// and whether it was created. Concurrent calls create one room: `direct_key` is unique.
pub async fn ensure_direct_room(db: &Db, creator: &UserId, other: &UserId, now: i64) -> DbResult<(String, bool)> {
    const CREATE: &str = "INSERT INTO rooms (id, kind, type, direct_key, created_by, created_at, updated_at) \
         VALUES ($1, 'direct', 'consumer-to-consumer', $2, $3, $4, $4) ON CONFLICT (direct_key) DO NOTHING";
    const FIND: &str = "SELECT id FROM rooms WHERE direct_key = $1";
    const ADD_MEMBERS: &str = "INSERT INTO room_members (room_id, user_id, joined_at) VALUES ($1, $2, $4), ($1, $3, $4) \
         ON CONFLICT (room_id, user_id) DO NOTHING";
    let data = (RoomId::new().to_string(), direct_key(creator, other), creator.to_string(), other.to_string());
    db.transaction(data, move |tx, (id, key, creator, other)| {
        Box::pin(async move {
            let created = tx.execute(CREATE, args![id, key, creator, now]).await? == 1;
            let id: String = tx.fetch_one(FIND, args![key]).await?;
            if created {
                tx.execute(ADD_MEMBERS, args![&id, creator, other, now]).await?;
            }
            Ok((id, created))
        })
    })
    .await
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
pub async fn ensure_group_room(db: &Db, new: NewGroupRoom<'_>, now: i64) -> DbResult<(String, bool)> {
    const CREATE: &str = "INSERT INTO rooms (id, kind, type, name, member_key, created_by, created_at, updated_at) \
         VALUES ($1, 'group', $2, $3, $4, $5, $6, $6) ON CONFLICT (member_key) DO NOTHING";
    const FIND: &str = "SELECT id FROM rooms WHERE member_key = $1";
    const ADD_MEMBER: &str = "INSERT INTO room_members (room_id, user_id, joined_at) VALUES ($1, $2, $3) \
         ON CONFLICT (room_id, user_id) DO NOTHING";
    let id = RoomId::new().to_string();
    let create = args![&id, new.room_type, new.name, new.member_key, new.creator.to_string(), now];
    let members: Vec<String> = new.members.iter().map(ToString::to_string).collect();
    let member_key = new.member_key.map(str::to_string);
    db.transaction((id, create, members, member_key), move |tx, (id, create, members, member_key)| {
        Box::pin(async move {
            if tx.execute(CREATE, create.clone()).await? != 1 {
                let existing: String = tx.fetch_one(FIND, args![member_key]).await?;
                return Ok((existing, false));
            }
            for member in members {
                tx.execute(ADD_MEMBER, args![id, member, now]).await?;
            }
            Ok((id.clone(), true))
        })
    })
    .await
}

/// A room with the caller's membership, if the caller is a member.
pub async fn find_room_for_member(db: &Db, room_id: &str, user: &UserId) -> DbResult<Option<MemberRoomRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        room_columns!(),
        ", rm.muted, rm.last_read_at FROM rooms r JOIN room_members rm ON rm.room_id = r.id \
         WHERE r.id = $1 AND rm.user_id = $2"
    );
    db.fetch_optional(SQL, args![room_id, user.to_string()]).await
}

/// A room whoever asks (for staff actions on rooms they are not in).
pub async fn find_room(db: &Db, room_id: &str) -> DbResult<Option<RoomRow>> {
    const SQL: &str = concat!("SELECT ", room_columns!(), " FROM rooms r WHERE r.id = $1");
    db.fetch_optional(SQL, args![room_id]).await
}

/// `$2` is a member of room `$1` (a row of `1`), for `is_member` and inside a post's write.
pub(super) const IS_MEMBER: &str = "SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $2";
/// The member ids of room `$1`, for `list_member_ids` and inside a post's write.
pub(super) const MEMBER_IDS: &str = "SELECT user_id FROM room_members WHERE room_id = $1";

/// Whether `user` is a member of `room_id`.
pub async fn is_member(db: &Db, room_id: &str, user: &UserId) -> DbResult<bool> {
    let found: Option<i32> = db.fetch_optional(IS_MEMBER, args![room_id, user.to_string()]).await?;
    Ok(found.is_some())
}

/// Where a page of rooms starts: after the room with this activity time and id.
#[derive(Debug, Clone)]
pub struct RoomCursor {
    pub activity: i64,
    pub room_id: String,
}

/// One of a user's rooms in their list: where it sorts, which version of the room it is (the
/// key of its cached row and last message) and the user's own settings in it.
#[derive(Debug, Clone)]
pub struct MemberRoomRef {
    pub room_id: String,
    /// The last message's time, else the room's creation.
    pub activity: i64,
    pub version: i64,
    pub muted: bool,
    pub last_read_at: i64,
}
impl_row!(MemberRoomRef { room_id, activity, version, muted, last_read_at });

/// A page of the user's rooms, most recent activity (last message, else creation) first:
/// one statement over the user's memberships (narrow columns), ordered here. The rooms'
/// rows are the caller's to find (`find_rooms`, or a cache keyed by `version`).
///
/// Ordered by SQLite in one statement with the rooms' rows, a room list of a user in 500
/// rooms took ~13 % more CPU (every column of every room went through its sorter).
pub async fn list_room_refs_for_user(
    db: &Db,
    user: &UserId,
    after: Option<&RoomCursor>,
    limit: u32,
) -> DbResult<Vec<MemberRoomRef>> {
    const SQL: &str = "SELECT rm.room_id, COALESCE(r.last_message_at, r.created_at), r.version, rm.muted, \
           rm.last_read_at FROM room_members rm JOIN rooms r ON r.id = rm.room_id WHERE rm.user_id = $1";
    let mut refs: Vec<MemberRoomRef> = db.fetch_all(SQL, args![user.to_string()]).await?;
    if let Some(c) = after {
        refs.retain(|r| (r.activity, r.room_id.as_str()) < (c.activity, c.room_id.as_str()));
    }
    refs.sort_unstable_by(|a, b| (b.activity, &b.room_id).cmp(&(a.activity, &a.room_id)));
    refs.truncate(limit as usize);
    Ok(refs)
}

/// Rooms by id (those that exist), in no particular order.
pub async fn find_rooms(db: &Db, room_ids: &[&str]) -> DbResult<Vec<RoomRow>> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        concat!("SELECT ", room_columns!(), " FROM rooms r WHERE r.id IN ({})"),
        placeholders(1, room_ids.len())
    );
    db.fetch_all(&sql, room_ids.iter().map(|id| Arg::from(*id)).collect()).await
}

/// A page of the user's rooms that have messages, most recent message first, by offset
/// (the chat-API tutorial's 0-based `page` and `limit`).
pub async fn list_active_rooms_for_user(
    db: &Db,
    user: &UserId,
    offset: u64,
    limit: u32,
) -> DbResult<Vec<MemberRoomRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        room_columns!(),
        ", rm.muted, rm.last_read_at FROM room_members rm JOIN rooms r ON r.id = rm.room_id \
         WHERE rm.user_id = $1 AND r.last_message_id IS NOT NULL \
         ORDER BY r.last_message_at DESC, r.id DESC LIMIT $2 OFFSET $3"
    );
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    db.fetch_all(SQL, args![user.to_string(), i64::from(limit), offset]).await
}

/// The members of a set of rooms, with their read marks (one query per page of rooms), in
/// the order they joined; sorted here rather than by the database (which sorted whole rows).
/// Profiles are not read here: a room list shows the same members again and again, and
/// takes their profiles from the cache (`services::users::profiles`).
pub async fn list_members(db: &Db, room_ids: &[String]) -> DbResult<Vec<MemberRow>> {
    if room_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT room_id, user_id, last_read_at, joined_at FROM room_members WHERE room_id IN ({})",
        placeholders(1, room_ids.len())
    );
    let mut rows: Vec<MemberRow> = db.fetch_all(&sql, room_ids.iter().map(Arg::from).collect()).await?;
    rows.sort_unstable_by(|a, b| (a.joined_at, &a.user_id).cmp(&(b.joined_at, &b.user_id)));
    Ok(rows)
}

/// The ids of a room's members, for fan-out.
pub async fn list_member_ids(db: &Db, room_id: &str) -> DbResult<Vec<String>> {
    db.fetch_all(MEMBER_IDS, args![room_id]).await
}

/// Moves the member's read mark forward to `at` (never backwards). Returns false when the
/// user is not a member.
pub async fn mark_read(db: &Db, room_id: &str, user: &UserId, at: i64) -> DbResult<bool> {
    const SQL: &str = "UPDATE room_members SET last_read_at = CASE WHEN last_read_at < $3 THEN $3 ELSE last_read_at END \
                       WHERE room_id = $1 AND user_id = $2";
    Ok(db.execute(SQL, args![room_id, user.to_string(), at]).await? == 1)
}

pub async fn set_muted(db: &Db, room_id: &str, user: &UserId, muted: bool) -> DbResult<()> {
    const SQL: &str = "UPDATE room_members SET muted = $3 WHERE room_id = $1 AND user_id = $2";
    db.execute(SQL, args![room_id, user.to_string(), muted]).await.map(|_| ())
}

pub async fn rename_room(db: &Db, room_id: &str, name: &str, now: i64) -> DbResult<()> {
    const SQL: &str = "UPDATE rooms SET name = $2, updated_at = $3, version = version + 1 WHERE id = $1";
    db.execute(SQL, args![room_id, name, now]).await.map(|_| ())
}

/// Its membership changed, so a group room is no longer found by the member set it was
/// initiated with (and its row changed: a new version).
const UNKEY: &str = "UPDATE rooms SET member_key = NULL, updated_at = $2, version = version + 1 WHERE id = $1";

/// Adds members to a group room.
pub async fn add_members(db: &Db, room_id: &str, users: &[UserId], now: i64) -> DbResult<()> {
    const ADD: &str = "INSERT INTO room_members (room_id, user_id, joined_at) VALUES ($1, $2, $3) \
                       ON CONFLICT (room_id, user_id) DO NOTHING";
    let users: Vec<String> = users.iter().map(ToString::to_string).collect();
    db.transaction((room_id.to_string(), users), move |tx, (room_id, users)| {
        Box::pin(async move {
            tx.execute(UNKEY, args![room_id, now]).await?;
            for user in users {
                tx.execute(ADD, args![room_id, user, now]).await?;
            }
            Ok(())
        })
    })
    .await
}

/// Removes a member; false when they were not one.
pub async fn remove_member(db: &Db, room_id: &str, user: &UserId, now: i64) -> DbResult<bool> {
    const REMOVE: &str = "DELETE FROM room_members WHERE room_id = $1 AND user_id = $2";
    db.transaction((room_id.to_string(), user.to_string()), move |tx, (room_id, user)| {
        Box::pin(async move {
            tx.execute(UNKEY, args![room_id, now]).await?;
            Ok(tx.execute(REMOVE, args![room_id, user]).await? == 1)
        })
    })
    .await
}

/// Deletes a room with its messages and memberships; returns how many messages went.
pub async fn delete_room(db: &Db, room_id: &str) -> DbResult<i64> {
    const MESSAGES: &str = "DELETE FROM messages WHERE room_id = $1";
    const MEMBERS: &str = "DELETE FROM room_members WHERE room_id = $1";
    const ROOM: &str = "DELETE FROM rooms WHERE id = $1";
    db.transaction(args![room_id], |tx, room| {
        Box::pin(async move {
            let messages = tx.execute(MESSAGES, room.clone()).await?;
            tx.execute(MEMBERS, room.clone()).await?;
            tx.execute(ROOM, room.clone()).await?;
            Ok(i64::try_from(messages).unwrap_or(i64::MAX))
        })
    })
    .await
}
