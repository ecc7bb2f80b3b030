//! The chat-API tutorial (Express + Mongoose + socket.io 2, used from Postman): `/users`,
//! `/login/:userId`, `/room…`, `/delete/…`, its `{success: …}` envelopes and documents. Every
//! route needs a token (`Authorization: Bearer`, as its client sends it); rooms are the
//! native rooms, found or created by the same service, and only members see them.
//!
//! Its holes, closed: `POST /login/:userId` needs the account's password; creating and
//! deleting users is for admins; reading or posting to a room is for its members.

mod envelope;

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::routes;

pub use self::envelope::ChatApiError;
use self::envelope::{Caller, ChatApiResult, Checks, ErrorEnvelope, Fields};
use crate::auth::ClientInfo;
use crate::domain::{Email, FullName, MessageId, MessageText, Password, RoomId, UserId, UserType};
use crate::error::{ApiError, FieldErrors};
use crate::http::openapi::ApiRoutes;
use crate::services::chat::{self, SendMessage};
use crate::services::rooms::{self as room_service, Initiate, OffsetPage, ROOM_TYPES};
use crate::services::{auth, users};
use crate::startup::AppState;
use crate::views::{ChatApiUser, MessageResponse, ReadMark, TutorialPost, UserResponse, read_by_recipients};

/// Whether a path is this surface's (its error envelope applies): the tutorial serves
/// `/login/…`, `/users…`, `/room…` and `/delete/…` at the root.
pub fn owns(path: &str) -> bool {
    ["/login", "/users", "/room", "/delete"]
        .iter()
        .any(|p| path.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

pub fn routes() -> ApiRoutes {
    ApiRoutes::new()
        .routes(routes!(login))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, delete_user))
        .routes(routes!(recent_conversation))
        .routes(routes!(initiate))
        .routes(routes!(conversation))
        .routes(routes!(post_message))
        .routes(routes!(mark_read))
        .routes(routes!(delete_room))
        .routes(routes!(delete_message))
}

fn user_doc(row: crate::db::users::UserRow) -> ChatApiUser {
    ChatApiUser::from(&UserResponse::from(row))
}

fn post_doc(m: &MessageResponse, members: &[Arc<UserResponse>], reads: &[ReadMark]) -> TutorialPost {
    let author =
        members.iter().find(|u| u.id == m.sender_id).map(|u| ChatApiUser::from(&**u)).unwrap_or_else(|| ChatApiUser {
            // A former member (left the group): the id is all the room still knows.
            id: m.sender_id.clone(),
            first_name: String::new(),
            last_name: String::new(),
            user_type: UserType::default().as_str().to_string(),
            email: String::new(),
            profile_pic: String::new(),
            created_at: m.created_at.clone(),
            updated_at: m.created_at.clone(),
        });
    TutorialPost::new(m, author, read_by_recipients(m, reads))
}

/// A malformed room id names no room.
fn room_id(raw: &str) -> Result<RoomId, ApiError> {
    RoomId::parse(raw).ok_or_else(no_room)
}

fn no_room() -> ApiError {
    ApiError::NotFound("No room exists for this id".into())
}

fn no_user() -> ApiError {
    ApiError::NotFound("No user with this id found".into())
}

/// `?page` (0-based) and `?limit` (default 10).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Paging {
    /// 0-based page, default 0.
    #[param(value_type = Option<u32>, minimum = 0)]
    page: Option<String>,
    /// 1-1000, default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

impl Paging {
    fn parse(&self) -> Result<OffsetPage, ApiError> {
        let mut errors = FieldErrors::new();
        let mut number = |key: &str, raw: Option<&str>, default: u32, range: std::ops::RangeInclusive<u32>| match raw
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => default,
            Some(raw) => match raw.parse::<u32>().ok().filter(|n| range.contains(n)) {
                Some(n) => n,
                None => {
                    let (lo, hi) = (range.start(), range.end());
                    errors.add(key, "invalid", format!("Please provide {key} as a number from {lo} to {hi}"));
                    default
                }
            },
        };
        let page = number("page", self.page.as_deref(), 0, 0..=1_000_000);
        let limit = number("limit", self.limit.as_deref(), 10, 1..=1000);
        errors.into_result()?;
        Ok(OffsetPage { page, limit })
    }
}

/// `Query` and `Path` whose rejections answer in the tutorial's envelope.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ChatApiError))]
struct ChatApiQuery<T>(T);

#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ChatApiError))]
struct ChatApiPath<T>(T);

#[derive(Serialize, ToSchema)]
#[schema(as = ChatApiLoginResponse)]
struct LoginResponse {
    success: bool,
    /// An access token (JWT with `exp`), sent back as `Authorization: Bearer <token>`.
    authorization: String,
}

#[derive(Deserialize, ToSchema)]
#[allow(dead_code)]
#[schema(as = ChatApiLoginRequest)]
struct LoginRequest {
    /// The account's password (upstream logs anyone in by id alone).
    password: String,
}

/// Logs in by user id and password.
///
/// An unknown id and a wrong password get the same answer.
#[utoipa::path(
    post,
    path = "/login/{user_id}",
    tag = "chat-api tutorial",
    operation_id = "chat_api_login",
    security(()),
    params(("user_id" = String, Path, description = "The account's `_id`")),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "`{success: true, authorization}`", body = LoginResponse),
        (status = 400, description = "No `password` (`Kindly fix the error(s)`), malformed body, or `Invalid credentials`", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body neither JSON nor a form", body = ErrorEnvelope),
        (status = 429, description = "Too many attempts", body = ErrorEnvelope),
    )
)]
async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ChatApiPath(user_id): ChatApiPath<String>,
    fields: Fields,
) -> ChatApiResult<Json<LoginResponse>> {
    let mut checks = Checks::new(&fields);
    let password = checks.string("password");
    checks.finish()?;
    let password = Password::for_login(password.unwrap_or_default()).map_err(|_| auth_failed())?;
    let (_, tokens) = auth::login_by_id(&state, UserId::parse(&user_id).as_ref(), password, &client).await?;
    Ok(Json(LoginResponse { success: true, authorization: tokens.access_token }))
}

fn auth_failed() -> ApiError {
    ApiError::BadRequest(crate::error::ErrorCode::InvalidCredentials, "Invalid credentials".into())
}

#[derive(Serialize, ToSchema)]
#[schema(as = ChatApiUsersResponse)]
struct UsersResponse {
    success: bool,
    /// The first 1,000 accounts in creation order (natter's `/api/users` pages further).
    users: Vec<ChatApiUser>,
}

/// Every account (up to 1,000).
#[utoipa::path(
    get,
    path = "/users",
    tag = "chat-api tutorial",
    operation_id = "chat_api_list_users",
    security(("bearerAuth" = [])),
    responses(
        (status = 200, description = "`{success: true, users}`", body = UsersResponse),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
    )
)]
async fn list_users(State(state): State<AppState>, Caller(caller): Caller) -> ChatApiResult<Json<UsersResponse>> {
    let query = users::UserQuery { search: None, after: None, limit: 1000, exclude_caller: false };
    let rows = users::list(&state, &caller, query).await?;
    Ok(Json(UsersResponse { success: true, users: rows.into_iter().map(user_doc).collect() }))
}

#[derive(Serialize, ToSchema)]
#[schema(as = ChatApiUserDocResponse)]
struct UserDocResponse {
    success: bool,
    user: ChatApiUser,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
#[schema(as = ChatApiCreateUserRequest)]
struct CreateUserRequest {
    first_name: String,
    last_name: String,
    /// `consumer` or `support`.
    #[serde(rename = "type")]
    user_type: String,
    /// Optional: without it the account gets a unique `…@contacts.invalid` address.
    email: Option<String>,
    /// Optional: without it the account cannot log in.
    password: Option<String>,
}

/// Creates an account (admins only).
#[utoipa::path(
    post,
    path = "/users",
    tag = "chat-api tutorial",
    operation_id = "chat_api_create_user",
    security(("bearerAuth" = [])),
    request_body = CreateUserRequest,
    responses(
        (status = 200, description = "`{success: true, user}`", body = UserDocResponse),
        (status = 400, description = "`Kindly fix the error(s)` with `errors`, or a malformed body", body = ErrorEnvelope),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
        (status = 409, description = "The e-mail is taken", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body neither JSON nor a form", body = ErrorEnvelope),
    )
)]
async fn create_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    fields: Fields,
) -> ChatApiResult<Json<UserDocResponse>> {
    let mut checks = Checks::new(&fields);
    let first = checks.string("firstName");
    let last = checks.string("lastName");
    let user_type = checks.one_of("type", UserType::ALL).and_then(UserType::parse);
    let email = checks.optional_string("email");
    let password = checks.optional_string("password");
    let full_name = match (first, last) {
        (Some(first), Some(last)) => FullName::parse(&format!("{} {}", first.trim(), last.trim()))
            .map_err(|r| checks.errors.add("lastName", r, "firstName and lastName together are at most 100 characters"))
            .ok(),
        _ => None,
    };
    let email = email.and_then(|raw| {
        Email::parse(raw).map_err(|r| checks.errors.add("email", r, "Please provide a valid email")).ok()
    });
    let min = state.settings.password_min_length;
    let password = password.and_then(|raw| {
        Password::parse(raw, min)
            .map_err(|r| checks.errors.add("password", r, crate::http::auth::password_message(r, min)))
            .ok()
    });
    checks.finish()?;
    let (Some(full_name), Some(user_type)) = (full_name, user_type) else {
        return Err(ApiError::Internal(anyhow::anyhow!("validated fields missing")).into());
    };
    let contact = users::NewContact { full_name, email, password, user_type };
    let row = users::create_as_admin(&state, &caller, contact).await?;
    Ok(Json(UserDocResponse { success: true, user: user_doc(row) }))
}

/// One account.
#[utoipa::path(
    get,
    path = "/users/{id}",
    tag = "chat-api tutorial",
    operation_id = "chat_api_get_user",
    security(("bearerAuth" = [])),
    params(("id" = String, Path, description = "The account's `_id`")),
    responses(
        (status = 200, description = "`{success: true, user}`", body = UserDocResponse),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
        (status = 404, description = "`No user with this id found`", body = ErrorEnvelope),
    )
)]
async fn get_user(
    State(state): State<AppState>,
    Caller(_caller): Caller,
    ChatApiPath(id): ChatApiPath<String>,
) -> ChatApiResult<Json<UserDocResponse>> {
    let id = UserId::parse(&id).ok_or_else(no_user)?;
    let row = users::get(&state, &id).await.map_err(|_| no_user())?;
    Ok(Json(UserDocResponse { success: true, user: user_doc(row) }))
}

#[derive(Serialize, ToSchema)]
#[schema(as = ChatApiMessageOnly)]
struct MessageOnly {
    success: bool,
    #[schema(example = "Deleted a count of 1 user.")]
    message: String,
}

/// Deletes an account (admins only): its sessions end and its sockets are disconnected.
#[utoipa::path(
    delete,
    path = "/users/{id}",
    tag = "chat-api tutorial",
    operation_id = "chat_api_delete_user",
    security(("bearerAuth" = [])),
    params(("id" = String, Path, description = "The account's `_id`")),
    responses(
        (status = 200, description = "`Deleted a count of 1 user.`", body = MessageOnly),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
        (status = 403, description = "Not an admin", body = ErrorEnvelope),
        (status = 404, description = "`No user with this id found`", body = ErrorEnvelope),
    )
)]
async fn delete_user(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ChatApiPath(id): ChatApiPath<String>,
) -> ChatApiResult<Json<MessageOnly>> {
    // A malformed id names nobody.
    let target = UserId::parse(&id).ok_or_else(no_user)?;
    users::delete_as_admin(&state, &caller, &target).await.map_err(|e| match e {
        ApiError::NotFound(_) => no_user(),
        other => other,
    })?;
    Ok(Json(MessageOnly { success: true, message: "Deleted a count of 1 user.".into() }))
}

/// One entry of the recent conversations: a room's newest message.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiRecentEntry)]
struct RecentEntry {
    /// The room id.
    #[serde(rename = "_id")]
    id: String,
    message_id: String,
    chat_room_id: String,
    message: crate::views::PostBody,
    #[serde(rename = "type")]
    post_type: &'static str,
    posted_by_user: ChatApiUser,
    read_by_recipients: Vec<crate::views::ReadByRecipient>,
    /// The room's members.
    room_info: Vec<ChatApiUser>,
    #[schema(format = DateTime)]
    created_at: String,
    unread_messages: i64,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ChatApiRecentResponse)]
struct RecentResponse {
    success: bool,
    conversation: Vec<RecentEntry>,
}

/// The caller's rooms with messages, newest message first, each with its unread count.
#[utoipa::path(
    get,
    path = "/room",
    tag = "chat-api tutorial",
    operation_id = "chat_api_recent_conversation",
    security(("bearerAuth" = [])),
    params(Paging),
    responses(
        (status = 200, description = "`{success: true, conversation}`", body = RecentResponse),
        (status = 400, description = "A bad `page` or `limit`", body = ErrorEnvelope),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
    )
)]
async fn recent_conversation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ChatApiQuery(paging): ChatApiQuery<Paging>,
) -> ChatApiResult<Json<RecentResponse>> {
    let rooms = room_service::list_recent(&state, &caller, paging.parse()?).await?;
    let conversation = rooms
        .into_iter()
        .filter_map(|room| {
            let last = room.last_message.as_ref()?;
            let post = post_doc(last, &room.members, &room.reads);
            Some(RecentEntry {
                id: room.id.clone(),
                message_id: post.id,
                chat_room_id: post.chat_room_id,
                message: post.message,
                post_type: post.post_type,
                posted_by_user: post.posted_by_user,
                read_by_recipients: post.read_by_recipients,
                room_info: room.members.iter().map(|u| ChatApiUser::from(&**u)).collect(),
                created_at: post.created_at,
                unread_messages: room.unread_count,
            })
        })
        .collect();
    Ok(Json(RecentResponse { success: true, conversation }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiChatRoomDoc)]
struct ChatRoomDoc {
    /// `false` when a room with these members and type already existed.
    is_new: bool,
    #[schema(example = "creating a new chatroom")]
    message: &'static str,
    chat_room_id: String,
    #[serde(rename = "type")]
    room_type: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiInitiateResponse)]
struct InitiateResponse {
    success: bool,
    chat_room: ChatRoomDoc,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
#[schema(as = ChatApiInitiateRequest)]
struct InitiateRequest {
    /// The other members (the caller is added).
    user_ids: Vec<String>,
    /// `consumer-to-consumer` or `consumer-to-support`.
    #[serde(rename = "type")]
    room_type: String,
}

/// Finds or creates the room of a member set and type, as `POST /api/rooms` does.
#[utoipa::path(
    post,
    path = "/room/initiate",
    tag = "chat-api tutorial",
    operation_id = "chat_api_initiate",
    security(("bearerAuth" = [])),
    request_body = InitiateRequest,
    responses(
        (status = 200, description = "`{success: true, chatRoom: {isNew, message, chatRoomId, type}}`", body = InitiateResponse),
        (status = 400, description = "`Kindly fix the error(s)` with `errors` (also for unknown users), or a malformed body", body = ErrorEnvelope),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body neither JSON nor a form", body = ErrorEnvelope),
    )
)]
async fn initiate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    fields: Fields,
) -> ChatApiResult<Json<InitiateResponse>> {
    let mut checks = Checks::new(&fields);
    let ids = checks.unique_strings("userIds");
    let room_type = checks.one_of("type", ROOM_TYPES);
    let user_ids = ids.and_then(|ids| {
        let parsed: Vec<UserId> = ids.iter().filter_map(|id| UserId::parse(id)).collect();
        if parsed.len() != ids.len() {
            checks.errors.add("userIds", "unknown_user", "Every entry of userIds must be a user's _id");
            None
        } else if parsed.len() > 1000 {
            checks.errors.add("userIds", "too_many", "At most 1000 users at once");
            None
        } else {
            Some(parsed)
        }
    });
    checks.finish()?;
    let (Some(user_ids), Some(room_type)) = (user_ids, room_type) else {
        return Err(ApiError::Internal(anyhow::anyhow!("validated fields missing")).into());
    };
    let input = Initiate { user_ids, room_type: room_type.to_string(), name: None };
    let room = room_service::initiate(&state, &caller, input).await?;
    let is_new = room.is_new.unwrap_or(false);
    let chat_room = ChatRoomDoc {
        is_new,
        message: if is_new { "creating a new chatroom" } else { "retrieving an old chat room" },
        chat_room_id: room.id,
        room_type: room.room_type,
    };
    Ok(Json(InitiateResponse { success: true, chat_room }))
}

#[derive(Serialize, ToSchema)]
#[schema(as = ChatApiConversationResponse)]
struct ConversationResponse {
    success: bool,
    /// One page of messages, oldest first (page 0 holds the newest).
    conversation: Vec<TutorialPost>,
    /// The room's members.
    users: Vec<ChatApiUser>,
}

/// A page of a room's messages and its members (members only).
#[utoipa::path(
    get,
    path = "/room/{room_id}",
    tag = "chat-api tutorial",
    operation_id = "chat_api_conversation",
    security(("bearerAuth" = [])),
    params(("room_id" = String, Path, description = "`chatRoomId`"), Paging),
    responses(
        (status = 200, description = "`{success: true, conversation, users}`", body = ConversationResponse),
        (status = 400, description = "A bad `page` or `limit`", body = ErrorEnvelope),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
        (status = 404, description = "`No room exists for this id` (also to non-members)", body = ErrorEnvelope),
    )
)]
async fn conversation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ChatApiPath(room): ChatApiPath<String>,
    ChatApiQuery(paging): ChatApiQuery<Paging>,
) -> ChatApiResult<Json<ConversationResponse>> {
    let page = paging.parse()?;
    let room = room_id(&room)?;
    let (room, messages) =
        room_service::conversation(&state, &caller, &room, page).await.map_err(not_found_as_no_room)?;
    let conversation = messages.iter().map(|m| post_doc(m, &room.members, &room.reads)).collect();
    let users = room.members.iter().map(|u| ChatApiUser::from(&**u)).collect();
    Ok(Json(ConversationResponse { success: true, conversation, users }))
}

fn not_found_as_no_room(e: ApiError) -> ApiError {
    match e {
        ApiError::NotFound(_) => no_room(),
        other => other,
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = ChatApiPostResponse)]
struct PostResponse {
    success: bool,
    post: TutorialPost,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
#[schema(as = ChatApiPostRequest)]
struct PostRequest {
    message_text: String,
}

/// Posts a message (members only); subscribers get `new message`, members `newMessage`.
#[utoipa::path(
    post,
    path = "/room/{room_id}/message",
    tag = "chat-api tutorial",
    operation_id = "chat_api_post_message",
    security(("bearerAuth" = [])),
    params(("room_id" = String, Path, description = "`chatRoomId`")),
    request_body = PostRequest,
    responses(
        (status = 200, description = "`{success: true, post}`", body = PostResponse),
        (status = 400, description = "`Kindly fix the error(s)` with `errors`, or a malformed body", body = ErrorEnvelope),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
        (status = 404, description = "`No room exists for this id` (also to non-members)", body = ErrorEnvelope),
        (status = 413, description = "Body over the limit", body = ErrorEnvelope),
        (status = 415, description = "Body neither JSON nor a form", body = ErrorEnvelope),
    )
)]
async fn post_message(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ChatApiPath(room): ChatApiPath<String>,
    fields: Fields,
) -> ChatApiResult<Json<PostResponse>> {
    let room = room_id(&room)?;
    let mut checks = Checks::new(&fields);
    let text = checks.string("messageText").and_then(|raw| {
        MessageText::parse(raw)
            .map_err(|r| {
                let max = MessageText::MAX_CHARS;
                checks.errors.add("messageText", r, format!("messageText must be at most {max} characters"));
            })
            .ok()
            .flatten()
    });
    checks.finish()?;
    let input = SendMessage { text, image: None, attachment: None, idempotency_key: None };
    let (sent, view) =
        room_service::post_message_with_room(&state, &caller, &room, input).await.map_err(not_found_as_no_room)?;
    let mut post = post_doc(&sent.message, &view.members, &view.reads);
    post.chat_room_info = Some(view.members.iter().map(|u| ChatApiUser::from(&**u)).collect());
    Ok(Json(PostResponse { success: true, post }))
}

/// Mongoose's `updateMany` result, which the tutorial returns.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiUpdateResult)]
struct UpdateResult {
    /// Messages that were unread by the caller.
    n: i64,
    /// The same messages, now read.
    n_modified: i64,
    ok: u8,
}

#[derive(Serialize, ToSchema)]
#[schema(as = ChatApiMarkReadResponse)]
struct MarkReadResponse {
    success: bool,
    data: UpdateResult,
}

/// Marks the room read up to its newest message (the caller's read watermark); members get
/// `messagesRead`.
#[utoipa::path(
    put,
    path = "/room/{room_id}/mark-read",
    tag = "chat-api tutorial",
    operation_id = "chat_api_mark_read",
    security(("bearerAuth" = [])),
    params(("room_id" = String, Path, description = "`chatRoomId`")),
    responses(
        (status = 200, description = "`{success: true, data: {n, nModified, ok}}`", body = MarkReadResponse),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
        (status = 404, description = "`No room exists for this id` (also to non-members)", body = ErrorEnvelope),
    )
)]
async fn mark_read(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ChatApiPath(room): ChatApiPath<String>,
) -> ChatApiResult<Json<MarkReadResponse>> {
    let room = room_id(&room)?;
    let (_, unread) = room_service::mark_read_counting(&state, &caller, &room).await.map_err(not_found_as_no_room)?;
    Ok(Json(MarkReadResponse { success: true, data: UpdateResult { n: unread, n_modified: unread, ok: 1 } }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiDeleteRoomResponse)]
struct DeleteRoomResponse {
    success: bool,
    #[schema(example = "Operation performed succesfully")]
    message: &'static str,
    deleted_rooms_count: u32,
    deleted_messages_count: i64,
}

/// Deletes a room and its messages (its creator or an admin).
#[utoipa::path(
    delete,
    path = "/delete/room/{room_id}",
    tag = "chat-api tutorial",
    operation_id = "chat_api_delete_room",
    security(("bearerAuth" = [])),
    params(("room_id" = String, Path, description = "`chatRoomId`")),
    responses(
        (status = 200, description = "`{success: true, message, deletedRoomsCount, deletedMessagesCount}`", body = DeleteRoomResponse),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
        (status = 403, description = "A member who did not create the room", body = ErrorEnvelope),
        (status = 404, description = "`No room exists for this id` (also to non-members)", body = ErrorEnvelope),
    )
)]
async fn delete_room(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ChatApiPath(room): ChatApiPath<String>,
) -> ChatApiResult<Json<DeleteRoomResponse>> {
    let room = room_id(&room)?;
    let (_, messages) = room_service::delete(&state, &caller, &room).await.map_err(not_found_as_no_room)?;
    Ok(Json(DeleteRoomResponse {
        success: true,
        // Upstream's spelling, kept for clients that compare it.
        message: "Operation performed succesfully",
        deleted_rooms_count: 1,
        deleted_messages_count: messages,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ChatApiDeleteMessageResponse)]
struct DeleteMessageResponse {
    success: bool,
    deleted_messages_count: u32,
}

/// Deletes a message (its author, the group's creator, a moderator or an admin); members
/// get `messageDeleted`.
#[utoipa::path(
    delete,
    path = "/delete/message/{message_id}",
    tag = "chat-api tutorial",
    operation_id = "chat_api_delete_message",
    security(("bearerAuth" = [])),
    params(("message_id" = String, Path, description = "The message's `_id`")),
    responses(
        (status = 200, description = "`{success: true, deletedMessagesCount: 1}`", body = DeleteMessageResponse),
        (status = 401, description = "No or a bad token", body = ErrorEnvelope),
        (status = 403, description = "Not allowed to delete it", body = ErrorEnvelope),
        (status = 404, description = "`Message not found` (also to non-members)", body = ErrorEnvelope),
    )
)]
async fn delete_message(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ChatApiPath(id): ChatApiPath<String>,
) -> ChatApiResult<Json<DeleteMessageResponse>> {
    let id = MessageId::parse(&id).ok_or_else(|| ApiError::NotFound("Message not found".into()))?;
    chat::delete(&state, &caller, &id).await?;
    Ok(Json(DeleteMessageResponse { success: true, deleted_messages_count: 1 }))
}
