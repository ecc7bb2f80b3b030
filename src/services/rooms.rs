//! Rooms: direct and group conversations, membership, read marks. Only members see a room;
//! to anyone else it does not exist (404). Creators and admins manage group rooms.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::auth::AuthUser;
use crate::db::messages::{self, Page};
use crate::db::rooms::{self, MemberRoomRef, MemberRoomRow, NewGroupRoom, RoomCursor, RoomRow};
use crate::domain::{Role, RoomId, UserId, now_ms};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldErrors};
use crate::realtime::Event;
use crate::services::chat::{self, SendMessage, Sent};
use crate::services::room_cache::RoomSummary;
use crate::services::users;
use crate::startup::AppState;
use crate::views::{MessageResponse, ReadMark, ReadReceipt, RoomResponse, UserResponse, rfc3339};

/// The room labels of the chat-API tutorial.
pub const ROOM_TYPES: &[&str] = &["consumer-to-consumer", "consumer-to-support"];
pub const DEFAULT_ROOM_TYPE: &str = "consumer-to-consumer";

pub fn room_not_found() -> ApiError {
    ApiError::NotFound("Room not found".into())
}

/// The room as the caller sees it, or 404 when they are not a member.
pub async fn membership(state: &AppState, caller: &AuthUser, room: &RoomId) -> ApiResult<MemberRoomRow> {
    rooms::find_room_for_member(&state.db, &room.to_string(), &caller.id).await?.ok_or_else(room_not_found)
}

/// The summaries (row and last message) of rooms at the given versions, by room id: from
/// the cache, else from `known` rows already read, else read from the store. A room gone
/// in between is left out.
async fn summaries(
    state: &AppState,
    wanted: &[(&str, i64)],
    known: Vec<RoomRow>,
) -> ApiResult<HashMap<String, Arc<RoomSummary>>> {
    let mut found = HashMap::with_capacity(wanted.len());
    let mut missing: HashSet<&str> = HashSet::new();
    for &(id, version) in wanted {
        match state.room_cache.summary(id, version) {
            Some(summary) => {
                found.insert(id.to_string(), summary);
            }
            None => {
                missing.insert(id);
            }
        }
    }
    if missing.is_empty() {
        return Ok(found);
    }
    let mut rows: Vec<RoomRow> = known.into_iter().filter(|r| missing.remove(r.id.as_str())).collect();
    if !missing.is_empty() {
        let rest: Vec<&str> = missing.into_iter().collect();
        rows.extend(rooms::find_rooms(&state.db, &rest).await?);
    }
    let last_ids: Vec<String> = rows.iter().filter_map(|r| r.last_message_id.clone()).collect();
    let mut last_by_id: HashMap<String, Arc<MessageResponse>> = messages::find_messages_by_ids(&state.db, &last_ids)
        .await?
        .into_iter()
        .filter(|m| m.deleted_at.is_none())
        .map(|m| (m.id.clone(), Arc::new(MessageResponse::from(m))))
        .collect();
    for row in rows {
        let last_message = row.last_message_id.as_ref().and_then(|id| last_by_id.remove(id));
        // Kept under the version the row was read at, which may be newer than wanted.
        let summary = Arc::new(RoomSummary { row, last_message });
        state.room_cache.put_summary(summary.clone());
        found.insert(summary.row.id.clone(), summary);
    }
    Ok(found)
}

/// The caller's unread count in each room (absent: 0), from the cache where this version
/// of the room was counted at this read mark before.
async fn unread_counts(state: &AppState, caller: &AuthUser, refs: &[MemberRoomRef]) -> ApiResult<HashMap<String, i64>> {
    let me = caller.id.to_string();
    let mut counts = HashMap::with_capacity(refs.len());
    let mut uncounted: Vec<&MemberRoomRef> = Vec::new();
    for r in refs {
        match state.room_cache.unread(&r.room_id, r.version, &me, r.last_read_at) {
            Some(n) => {
                counts.insert(r.room_id.clone(), n);
            }
            None => uncounted.push(r),
        }
    }
    if uncounted.is_empty() {
        return Ok(counts);
    }
    let marks: Vec<(&str, i64)> = uncounted.iter().map(|r| (r.room_id.as_str(), r.last_read_at)).collect();
    let counted: HashMap<String, i64> =
        messages::unread_counts(&state.db, &caller.id, &marks).await?.into_iter().collect();
    // Counted after the version was read: never older than it.
    for r in uncounted {
        let n = counted.get(&r.room_id).copied().unwrap_or(0);
        state.room_cache.put_unread(&r.room_id, r.version, &me, r.last_read_at, n);
        counts.insert(r.room_id.clone(), n);
    }
    Ok(counts)
}

/// Builds the views of a page of rooms with a fixed number of queries: members for the
/// whole page at once; rows, last messages and unread counts from the room cache, and for
/// those it misses, each for all of them at once. `known` are rows already read.
async fn views(
    state: &AppState,
    caller: &AuthUser,
    refs: Vec<MemberRoomRef>,
    known: Vec<RoomRow>,
) -> ApiResult<Vec<RoomResponse>> {
    let ids: Vec<String> = refs.iter().map(|r| r.room_id.clone()).collect();
    let wanted: Vec<(&str, i64)> = refs.iter().map(|r| (r.room_id.as_str(), r.version)).collect();
    let mut summaries = summaries(state, &wanted, known).await?;
    let members = rooms::list_members(&state.db, &ids).await?;
    let unread = unread_counts(state, caller, &refs).await?;

    let mut member_ids: Vec<&str> = members.iter().map(|m| m.user_id.as_str()).collect();
    member_ids.sort_unstable();
    member_ids.dedup();
    let profiles = users::profiles(state, &member_ids).await?;

    let mut members_by_room: HashMap<&str, (Vec<Arc<UserResponse>>, Vec<ReadMark>)> = HashMap::new();
    for m in &members {
        // A member without a user row cannot be (the row is anonymised, never deleted).
        let Some(profile) = profiles.get(&m.user_id) else { continue };
        let entry = members_by_room.entry(&m.room_id).or_default();
        entry.1.push(ReadMark {
            user_id: m.user_id.clone(),
            read_at: (m.last_read_at > 0).then(|| rfc3339(m.last_read_at)),
        });
        entry.0.push(profile.clone());
    }
    Ok(refs
        .into_iter()
        .filter_map(|r| {
            let summary = summaries.remove(&r.room_id)?;
            let (members, reads) = members_by_room.remove(r.room_id.as_str()).unwrap_or_default();
            Some(RoomResponse {
                unread_count: unread.get(&r.room_id).copied().unwrap_or(0),
                muted: r.muted,
                ..room_view(&summary.row, members, reads, summary.last_message.clone())
            })
        })
        .collect())
}

/// The views of rooms read whole (with the caller's membership).
async fn row_views(state: &AppState, caller: &AuthUser, rows: Vec<MemberRoomRow>) -> ApiResult<Vec<RoomResponse>> {
    let refs = rows
        .iter()
        .map(|r| MemberRoomRef {
            room_id: r.room.id.clone(),
            activity: r.room.last_message_at.unwrap_or(r.room.created_at),
            version: r.room.version,
            muted: r.muted,
            last_read_at: r.last_read_at,
        })
        .collect();
    views(state, caller, refs, rows.into_iter().map(|r| r.room).collect()).await
}

fn room_view(
    room: &RoomRow,
    members: Vec<Arc<UserResponse>>,
    reads: Vec<ReadMark>,
    last: Option<Arc<MessageResponse>>,
) -> RoomResponse {
    RoomResponse {
        id: room.id.clone(),
        kind: room.kind.clone(),
        room_type: room.room_type.clone(),
        name: room.name.clone(),
        created_by: room.created_by.clone(),
        members,
        reads,
        last_message: last,
        unread_count: 0,
        muted: false,
        is_new: None,
        created_at: rfc3339(room.created_at),
        updated_at: rfc3339(room.updated_at),
    }
}

async fn view_one(state: &AppState, caller: &AuthUser, room: &RoomId) -> ApiResult<RoomResponse> {
    let row = membership(state, caller, room).await?;
    single_view(state, caller, row).await
}

async fn single_view(state: &AppState, caller: &AuthUser, row: MemberRoomRow) -> ApiResult<RoomResponse> {
    row_views(state, caller, vec![row]).await?.pop().ok_or_else(room_not_found)
}

/// The caller's rooms, most recent activity first, and the cursor of the next page.
pub async fn list(
    state: &AppState,
    caller: &AuthUser,
    after: Option<RoomCursor>,
    limit: u32,
) -> ApiResult<(Vec<RoomResponse>, Option<String>)> {
    let refs = rooms::list_room_refs_for_user(&state.db, &caller.id, after.as_ref(), limit).await?;
    let next =
        (refs.len() == limit as usize).then(|| refs.last().map(|r| encode_cursor(r.activity, &r.room_id))).flatten();
    Ok((views(state, caller, refs, Vec::new()).await?, next))
}

pub fn encode_cursor(activity: i64, room_id: &str) -> String {
    format!("{activity}_{room_id}")
}

pub fn decode_cursor(raw: &str) -> Option<RoomCursor> {
    let (activity, room) = raw.split_once('_')?;
    let room = RoomId::parse(room)?;
    Some(RoomCursor { activity: activity.parse().ok()?, room_id: room.to_string() })
}

/// A 0-based page of `limit` items (the chat-API tutorial's paging).
#[derive(Debug, Clone, Copy)]
pub struct OffsetPage {
    pub page: u32,
    pub limit: u32,
}

impl OffsetPage {
    fn offset(self) -> u64 {
        u64::from(self.page) * u64::from(self.limit)
    }
}

/// The caller's rooms that have messages, most recent message first, by offset page.
pub async fn list_recent(state: &AppState, caller: &AuthUser, page: OffsetPage) -> ApiResult<Vec<RoomResponse>> {
    let rows = rooms::list_active_rooms_for_user(&state.db, &caller.id, page.offset(), page.limit).await?;
    row_views(state, caller, rows).await
}

/// A room with one offset page of its messages (oldest first; page 0 is the newest).
pub async fn conversation(
    state: &AppState,
    caller: &AuthUser,
    room: &RoomId,
    page: OffsetPage,
) -> ApiResult<(RoomResponse, Vec<MessageResponse>)> {
    let row = membership(state, caller, room).await?;
    let rows = messages::list_messages_by_offset(&state.db, &row.room.id, page.offset(), page.limit).await?;
    let view = single_view(state, caller, row).await?;
    Ok((view, rows.into_iter().map(MessageResponse::from).collect()))
}

pub struct Initiate {
    pub user_ids: Vec<UserId>,
    pub room_type: String,
    pub name: Option<String>,
}

/// Finds or creates the room of a member set (the caller included) and type. Two people
/// with the default type and no name share their direct room; any other set is a group,
/// found again by member set and type unless it was given a name.
#[tracing::instrument(skip_all, fields(user_id = %caller.id))]
pub async fn initiate(state: &AppState, caller: &AuthUser, input: Initiate) -> ApiResult<RoomResponse> {
    let mut members: Vec<UserId> = vec![caller.id];
    for id in input.user_ids {
        if !members.contains(&id) {
            members.push(id);
        }
    }
    if members.len() < 2 {
        return Err(FieldErrors::single("userIds", "required", "userIds must name at least one other user"));
    }
    for id in &members[1..] {
        if crate::services::users::get(state, id).await.is_err() {
            return Err(FieldErrors::single("userIds", "unknown_user", format!("No user with id {id}")));
        }
    }
    let now = now_ms();
    let (room_id, created) = if members.len() == 2 && input.room_type == DEFAULT_ROOM_TYPE && input.name.is_none() {
        rooms::ensure_direct_room(&state.db, &caller.id, &members[1], now).await?
    } else {
        let key = input.name.is_none().then(|| rooms::member_key(&input.room_type, &members));
        let new = NewGroupRoom {
            creator: &caller.id,
            members: &members,
            room_type: &input.room_type,
            name: input.name.as_deref(),
            member_key: key.as_deref(),
        };
        rooms::ensure_group_room(&state.db, new, now).await?
    };
    let room = RoomId::parse(&room_id).ok_or_else(|| anyhow::anyhow!("stored room id is not a UUID"))?;
    let mut view = view_one(state, caller, &room).await?;
    view.is_new = Some(created);
    Ok(view)
}

pub async fn get(state: &AppState, caller: &AuthUser, room: &RoomId) -> ApiResult<RoomResponse> {
    view_one(state, caller, room).await
}

/// Whether the caller manages a group room: its creator, or an admin.
fn manages(caller: &AuthUser, room: &RoomRow) -> bool {
    caller.role() == Role::Admin || room.created_by.as_deref() == Some(caller.id.to_string().as_str())
}

/// The room for a management action: members see it; admins may act on any room.
async fn managed_room(state: &AppState, caller: &AuthUser, room: &RoomId) -> ApiResult<RoomRow> {
    let found = match rooms::find_room_for_member(&state.db, &room.to_string(), &caller.id).await? {
        Some(row) => Some(row.room),
        None if caller.is_admin() => rooms::find_room(&state.db, &room.to_string()).await?,
        None => None,
    };
    let row = found.ok_or_else(room_not_found)?;
    if !manages(caller, &row) {
        return Err(ApiError::Forbidden("Only the room's creator or an admin can do that".into()));
    }
    Ok(row)
}

pub struct RoomChange {
    pub name: Option<String>,
    pub muted: Option<bool>,
}

/// Renames a group (creator or admin) and/or sets the caller's own mute flag.
pub async fn update(state: &AppState, caller: &AuthUser, room: &RoomId, change: RoomChange) -> ApiResult<RoomResponse> {
    let row = membership(state, caller, room).await?;
    if let Some(name) = &change.name {
        if row.room.kind == "direct" {
            return Err(ApiError::BadRequest(ErrorCode::ValidationFailed, "Direct rooms have no name".into()));
        }
        if !manages(caller, &row.room) {
            return Err(ApiError::Forbidden("Only the room's creator or an admin can rename it".into()));
        }
        rooms::rename_room(&state.db, &row.room.id, name, now_ms()).await?;
    }
    if let Some(muted) = change.muted {
        rooms::set_muted(&state.db, &row.room.id, &caller.id, muted).await?;
    }
    view_one(state, caller, room).await
}

/// A page of a room's messages (members only), as JSON, from the page cache when this
/// version of the room was read before.
pub async fn list_messages_json(
    state: &AppState,
    caller: &AuthUser,
    room: &RoomId,
    page: Page<'_>,
) -> ApiResult<bytes::Bytes> {
    let row = membership(state, caller, room).await?;
    crate::services::page_cache::conversation_page(state, &row.room.id, row.room.version, page).await
}

pub async fn post_message(
    state: &AppState,
    caller: &AuthUser,
    room: &RoomId,
    input: SendMessage<'_>,
) -> ApiResult<Sent> {
    chat::post_as_member(state, caller, &room.to_string(), input).await
}

/// `post_message`, also returning the room as it is after the post (members and read marks:
/// the chat-API tutorial's post carries them).
pub async fn post_message_with_room(
    state: &AppState,
    caller: &AuthUser,
    room: &RoomId,
    input: SendMessage<'_>,
) -> ApiResult<(Sent, RoomResponse)> {
    let row = membership(state, caller, room).await?;
    let sent = chat::append_and_publish(state, caller, &row.room.id, input).await?;
    Ok((sent, single_view(state, caller, row).await?))
}

/// Moves the caller's read mark to the room's newest message and tells the members.
pub async fn mark_read(state: &AppState, caller: &AuthUser, room: &RoomId) -> ApiResult<ReadReceipt> {
    let row = membership(state, caller, room).await?;
    mark_row_read(state, caller, &row).await
}

/// `mark_read`, also telling how many messages of others were unread before (the chat-API
/// tutorial's `nModified`).
pub async fn mark_read_counting(state: &AppState, caller: &AuthUser, room: &RoomId) -> ApiResult<(ReadReceipt, i64)> {
    let row = membership(state, caller, room).await?;
    let unread = messages::unread_count(&state.db, &caller.id, &row.room.id, row.last_read_at).await?;
    Ok((mark_row_read(state, caller, &row).await?, unread))
}

async fn mark_row_read(state: &AppState, caller: &AuthUser, row: &MemberRoomRow) -> ApiResult<ReadReceipt> {
    // Never behind the newest message, even if its id was bumped past this node's clock.
    let at = now_ms().max(row.room.last_message_at.unwrap_or(0));
    rooms::mark_read(&state.db, &row.room.id, &caller.id, at).await?;
    let receipt = ReadReceipt { room_id: row.room.id.clone(), user_id: caller.id.to_string(), read_at: rfc3339(at) };
    let members = rooms::list_member_ids(&state.db, &row.room.id).await?;
    state.realtime.to_users(members.iter().map(String::as_str), &Event::MessagesRead(&receipt)).await;
    Ok(receipt)
}

/// Adds members to a group room (creator or admin).
pub async fn add_members(
    state: &AppState,
    caller: &AuthUser,
    room: &RoomId,
    users: Vec<UserId>,
) -> ApiResult<RoomResponse> {
    let row = managed_room(state, caller, room).await?;
    if row.kind == "direct" {
        return Err(ApiError::BadRequest(ErrorCode::ValidationFailed, "Direct rooms always have two members".into()));
    }
    let unique: Vec<UserId> = users.into_iter().collect::<HashSet<_>>().into_iter().collect();
    if unique.is_empty() {
        return Err(FieldErrors::single("userIds", "required", "userIds must name at least one user"));
    }
    for id in &unique {
        if crate::services::users::get(state, id).await.is_err() {
            return Err(FieldErrors::single("userIds", "unknown_user", format!("No user with id {id}")));
        }
    }
    rooms::add_members(&state.db, &row.id, &unique, now_ms()).await?;
    view_for_manager(state, caller, room, row).await
}

/// Removes a member: anyone may leave; the creator or an admin may remove others.
pub async fn remove_member(
    state: &AppState,
    caller: &AuthUser,
    room: &RoomId,
    user: &UserId,
) -> ApiResult<RoomResponse> {
    let row = if *user == caller.id {
        membership(state, caller, room).await?.room
    } else {
        managed_room(state, caller, room).await?
    };
    if row.kind == "direct" {
        return Err(ApiError::BadRequest(ErrorCode::ValidationFailed, "Nobody leaves a direct room".into()));
    }
    if !rooms::remove_member(&state.db, &row.id, user, now_ms()).await? {
        return Err(ApiError::NotFound("That user is not a member of the room".into()));
    }
    view_for_manager(state, caller, room, row).await
}

/// The room's view after a membership change, also for a caller who is no longer (or never
/// was) a member.
async fn view_for_manager(state: &AppState, caller: &AuthUser, room: &RoomId, row: RoomRow) -> ApiResult<RoomResponse> {
    if let Some(member) = rooms::find_room_for_member(&state.db, &room.to_string(), &caller.id).await? {
        return single_view(state, caller, member).await;
    }
    let pseudo = MemberRoomRow { room: row, muted: false, last_read_at: i64::MAX };
    single_view(state, caller, pseudo).await
}

/// Deletes a room and its messages (creator or admin).
pub async fn delete(state: &AppState, caller: &AuthUser, room: &RoomId) -> ApiResult<(String, i64)> {
    let row = managed_room(state, caller, room).await?;
    let count = rooms::delete_room(&state.db, &row.id).await?;
    tracing::info!(room_id = %row.id, messages = count, "room deleted");
    Ok((row.id, count))
}
