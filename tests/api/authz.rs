//! The authorization matrix: every route of every surface, as the router mounts it, called
//! by each kind of caller, against the status each must get. A route the router mounts
//! without a row here fails the test, and so does a row for a route that is not mounted.
//!
//! Callers: anonymous; another user (in no room); a room member; the author of the message,
//! upload, video, comment, tweet and playlist at hand (also a member of the room); the
//! room's creator; a moderator and an admin (both in no room). Bodies are chosen so that
//! what is refused is refused for who the caller is, not for what they sent; where a call
//! would destroy or change what the next caller needs, each caller gets a fresh target.

use std::collections::{BTreeMap, BTreeSet};

use reqwest::multipart::{Form, Part};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::videotube::{mp4_video, publish, video_form};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Actor {
    Anonymous,
    Other,
    Member,
    Author,
    Creator,
    Moderator,
    Admin,
}
use Actor::*;

const ACTORS: [Actor; 7] = [Anonymous, Other, Member, Author, Creator, Moderator, Admin];

/// Every mounted route: (method, path template as in the OpenAPI document) → what each
/// actor gets, in the order of `ACTORS`. `2xx` is any success (a create that may find the
/// existing room answers 200 instead of 201).
const MATRIX: &[(&str, &str, &str)] = &[
    // ---- native auth
    ("POST", "/api/auth/signup", "201 201 201 201 201 201 201"),
    ("POST", "/api/auth/login", "400 400 400 400 400 400 400"),
    ("POST", "/api/auth/signin", "400 400 400 400 400 400 400"),
    ("POST", "/api/auth/logout", "200 200 200 200 200 200 200"),
    ("POST", "/api/auth/refresh", "401 200 200 200 200 200 200"),
    ("POST", "/api/auth/refreshtoken", "401 200 200 200 200 200 200"),
    ("POST", "/api/auth/refresh-token", "401 200 200 200 200 200 200"),
    ("GET", "/api/auth/check", "401 200 200 200 200 200 200"),
    ("GET", "/api/auth/me", "401 200 200 200 200 200 200"),
    ("PUT", "/api/auth/update-profile", "401 200 200 200 200 200 200"),
    ("PUT", "/api/auth/change-password", "401 400 400 400 400 400 400"),
    ("GET", "/api/auth/sessions", "401 200 200 200 200 200 200"),
    ("DELETE", "/api/auth/sessions/{id}", "401 404 404 200 404 404 200"),
    // ---- direct messages (the conversation is with the member; the message is the author's, in the room)
    ("GET", "/api/messages/users", "401 200 200 200 200 200 200"),
    // The member's conversation with themself is empty, not an error.
    ("GET", "/api/messages/{id}", "401 200 200 200 200 200 200"),
    ("POST", "/api/messages/send/{id}", "401 201 400 201 201 201 201"),
    ("PATCH", "/api/messages/{id}", "401 404 403 200 403 403 403"),
    ("DELETE", "/api/messages/{id}", "401 404 403 200 200 200 200"),
    // ---- rooms
    ("GET", "/api/rooms", "401 200 200 200 200 200 200"),
    ("POST", "/api/rooms", "401 2xx 2xx 2xx 2xx 2xx 2xx"),
    ("POST", "/api/rooms/initiate", "401 2xx 2xx 2xx 2xx 2xx 2xx"),
    ("GET", "/api/rooms/{room_id}", "401 404 200 200 200 404 404"),
    ("PATCH", "/api/rooms/{room_id}", "401 404 403 403 200 404 404"),
    ("DELETE", "/api/rooms/{room_id}", "401 404 403 403 200 404 200"),
    ("GET", "/api/rooms/{room_id}/messages", "401 404 200 200 200 404 404"),
    ("POST", "/api/rooms/{room_id}/messages", "401 404 201 201 201 404 404"),
    ("PUT", "/api/rooms/{room_id}/read", "401 404 200 200 200 404 404"),
    ("PUT", "/api/rooms/{room_id}/mark-read", "401 404 200 200 200 404 404"),
    ("POST", "/api/rooms/{room_id}/members", "401 404 403 403 200 404 200"),
    // Removing the author: the author may leave, the creator and an admin may remove.
    ("DELETE", "/api/rooms/{room_id}/members/{user_id}", "401 404 403 200 200 404 200"),
    // ---- users (the profile is the author's; deletion targets a fresh account)
    ("GET", "/api/users", "401 200 200 200 200 200 200"),
    ("GET", "/api/users/{id}", "401 200 200 200 200 200 200"),
    ("PATCH", "/api/users/{id}", "401 403 403 200 403 403 200"),
    ("DELETE", "/api/users/{id}", "401 403 403 403 403 403 200"),
    ("PUT", "/api/users/{id}/role", "401 403 403 403 403 403 200"),
    // ---- files (the upload is the author's, attached to a message in the room)
    ("POST", "/api/uploads", "401 201 201 201 201 201 201"),
    ("GET", "/uploads/{key}", "401 404 200 200 200 200 200"),
    // ---- service
    ("GET", "/healthz", "200 200 200 200 200 200 200"),
    ("GET", "/readyz", "200 200 200 200 200 200 200"),
    ("GET", "/metrics", "200 200 200 200 200 200 200"),
    ("GET", "/api/openapi.json", "200 200 200 200 200 200 200"),
    ("GET", "/docs", "303 303 303 303 303 303 303"),
    ("GET", "/docs/", "200 200 200 200 200 200 200"),
    ("GET", "/docs/{file}", "200 200 200 200 200 200 200"),
    // ---- the JWT-auth tutorial's boards
    ("GET", "/api/test/all", "200 200 200 200 200 200 200"),
    // That tutorial answers a missing token with 403 "No token provided!"; an admin's
    // authorities include the moderator's.
    ("GET", "/api/test/user", "403 200 200 200 200 200 200"),
    ("GET", "/api/test/mod", "403 403 403 403 403 200 200"),
    ("GET", "/api/test/admin", "403 403 403 403 403 403 200"),
    // ---- the chat-API tutorial
    ("POST", "/login/{user_id}", "400 400 400 400 400 400 400"),
    ("GET", "/users", "401 200 200 200 200 200 200"),
    ("POST", "/users", "401 403 403 403 403 403 2xx"),
    ("GET", "/users/{id}", "401 200 200 200 200 200 200"),
    ("DELETE", "/users/{id}", "401 403 403 403 403 403 200"),
    ("GET", "/room", "401 200 200 200 200 200 200"),
    ("POST", "/room/initiate", "401 2xx 2xx 2xx 2xx 2xx 2xx"),
    ("GET", "/room/{room_id}", "401 404 200 200 200 404 404"),
    ("POST", "/room/{room_id}/message", "401 404 2xx 2xx 2xx 404 404"),
    ("PUT", "/room/{room_id}/mark-read", "401 404 200 200 200 404 404"),
    ("DELETE", "/delete/room/{room_id}", "401 404 403 403 200 404 200"),
    ("DELETE", "/delete/message/{message_id}", "401 404 403 200 200 200 200"),
    // ---- the video platform (everything at hand is the author's)
    ("GET", "/api/v1/healthcheck", "200 200 200 200 200 200 200"),
    ("POST", "/api/v1/users/register", "415 415 415 415 415 415 415"),
    ("POST", "/api/v1/users/login", "400 400 400 400 400 400 400"),
    ("POST", "/api/v1/users/logout", "200 200 200 200 200 200 200"),
    ("POST", "/api/v1/users/refresh-token", "401 200 200 200 200 200 200"),
    ("POST", "/api/v1/users/change-password", "401 400 400 400 400 400 400"),
    ("GET", "/api/v1/users/current-user", "401 200 200 200 200 200 200"),
    ("PATCH", "/api/v1/users/update-account", "401 400 400 400 400 400 400"),
    ("PATCH", "/api/v1/users/avatar", "401 200 200 200 200 200 200"),
    ("PATCH", "/api/v1/users/cover-image", "401 200 200 200 200 200 200"),
    ("GET", "/api/v1/users/c/{username}", "401 200 200 200 200 200 200"),
    ("GET", "/api/v1/users/history", "401 200 200 200 200 200 200"),
    ("GET", "/api/v1/videos", "401 200 200 200 200 200 200"),
    ("POST", "/api/v1/videos", "401 201 201 201 201 201 201"),
    ("GET", "/api/v1/videos/{videoId}", "401 200 200 200 200 200 200"),
    ("PATCH", "/api/v1/videos/{videoId}", "401 403 403 200 403 403 403"),
    ("DELETE", "/api/v1/videos/{videoId}", "401 403 403 200 403 403 403"),
    ("PATCH", "/api/v1/videos/toggle/publish/{videoId}", "401 403 403 200 403 403 403"),
    ("GET", "/api/v1/comments/{videoId}", "401 200 200 200 200 200 200"),
    ("POST", "/api/v1/comments/{videoId}", "401 201 201 201 201 201 201"),
    ("PATCH", "/api/v1/comments/c/{commentId}", "401 403 403 200 403 403 403"),
    ("DELETE", "/api/v1/comments/c/{commentId}", "401 403 403 200 403 403 403"),
    ("POST", "/api/v1/likes/toggle/v/{videoId}", "401 200 200 200 200 200 200"),
    ("POST", "/api/v1/likes/toggle/c/{commentId}", "401 200 200 200 200 200 200"),
    ("POST", "/api/v1/likes/toggle/t/{tweetId}", "401 200 200 200 200 200 200"),
    ("GET", "/api/v1/likes/videos", "401 200 200 200 200 200 200"),
    ("GET", "/api/v1/subscriptions/c/{channelId}", "401 200 200 200 200 200 200"),
    // Subscribing to the author's channel: everyone but the author.
    ("POST", "/api/v1/subscriptions/c/{channelId}", "401 200 200 400 200 200 200"),
    ("GET", "/api/v1/subscriptions/u/{subscriberId}", "401 200 200 200 200 200 200"),
    ("POST", "/api/v1/tweets", "401 201 201 201 201 201 201"),
    ("GET", "/api/v1/tweets/user/{userId}", "401 200 200 200 200 200 200"),
    ("PATCH", "/api/v1/tweets/{tweetId}", "401 403 403 200 403 403 403"),
    ("DELETE", "/api/v1/tweets/{tweetId}", "401 403 403 200 403 403 403"),
    ("POST", "/api/v1/playlist", "401 201 201 201 201 201 201"),
    ("GET", "/api/v1/playlist/{playlistId}", "401 200 200 200 200 200 200"),
    ("PATCH", "/api/v1/playlist/{playlistId}", "401 403 403 200 403 403 403"),
    ("DELETE", "/api/v1/playlist/{playlistId}", "401 403 403 200 403 403 403"),
    ("GET", "/api/v1/playlist/user/{userId}", "401 200 200 200 200 200 200"),
    ("PATCH", "/api/v1/playlist/add/{videoId}/{playlistId}", "401 403 403 200 403 403 403"),
    ("PATCH", "/api/v1/playlist/remove/{videoId}/{playlistId}", "401 403 403 200 403 403 403"),
    ("GET", "/api/v1/dashboard/stats", "401 200 200 200 200 200 200"),
    ("GET", "/api/v1/dashboard/videos", "401 200 200 200 200 200 200"),
];

struct Person {
    id: String,
    username: String,
    email: String,
    token: String,
}

impl Person {
    fn client(&self) -> Client {
        bearer(&self.token)
    }
}

/// The callers and what they share.
struct World {
    app: TestApp,
    people: BTreeMap<Actor, Person>,
    /// A user in no role of the matrix (a room's other member when someone creates one).
    extra: Person,
    room: String,
    message: String,
    upload_url: String,
    video: String,
    comment: String,
    tweet: String,
    playlist: String,
}

async fn person(app: &TestApp, name: &str) -> Person {
    let email = format!("{name}@example.com");
    let body = json!({"fullName": name, "email": email, "username": name, "password": PASSWORD});
    let (status, created) = app.post(&Client::new(), "/api/auth/signup", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (token, _) = login(app, &email).await;
    Person { id: created["_id"].as_str().unwrap().to_string(), username: name.into(), email, token }
}

/// A new session: (access token, refresh token).
async fn login(app: &TestApp, email: &str) -> (String, String) {
    let (status, body) =
        app.post(&Client::new(), "/api/auth/login", json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (body["accessToken"].as_str().unwrap().to_string(), body["refreshToken"].as_str().unwrap().to_string())
}

fn created_id(status: StatusCode, body: &Value) -> String {
    assert!(status.is_success(), "fixture: {status} {body}");
    let doc = if body["data"].is_object() { &body["data"] } else { body };
    doc["_id"].as_str().unwrap_or_else(|| panic!("no _id in {body}")).to_string()
}

impl World {
    async fn new() -> Self {
        let app = spawn_app().await;
        let admin = person(&app, "admin").await; // the first account is the admin
        let moderator = person(&app, "moderator").await;
        let path = format!("/api/users/{}/role", moderator.id);
        let (status, _) = app.request(&admin.client(), Method::PUT, &path, Some(json!({"role": "moderator"}))).await;
        assert_eq!(status, StatusCode::OK);
        let mut people = BTreeMap::new();
        for (actor, name) in [(Other, "other"), (Member, "member"), (Author, "author"), (Creator, "creator")] {
            people.insert(actor, person(&app, name).await);
        }
        people.insert(Moderator, moderator);
        people.insert(Admin, admin);
        let extra = person(&app, "extra").await;
        let mut world = Self {
            app,
            people,
            extra,
            room: String::new(),
            message: String::new(),
            upload_url: String::new(),
            video: String::new(),
            comment: String::new(),
            tweet: String::new(),
            playlist: String::new(),
        };
        world.room = world.new_room().await;
        world.message = world.new_message().await;
        let form = Form::new().part("file", Part::bytes(png()).file_name("a.png"));
        let response = world.who(Author).client().post(world.app.url("/api/uploads")).multipart(form).send();
        let (status, upload) = json_of(response.await.unwrap()).await;
        let upload_id = created_id(status, &upload);
        world.upload_url = upload["url"].as_str().unwrap().to_string();
        let path = format!("/api/rooms/{}/messages", world.room);
        let (status, body) = world.app.post(&world.who(Author).client(), &path, json!({"attachment": upload_id})).await;
        created_id(status, &body);
        world.video = world.new_video().await;
        world.comment = world.new_comment().await;
        world.tweet = world.new_tweet().await;
        world.playlist = world.new_playlist().await;
        world
    }

    fn who(&self, actor: Actor) -> &Person {
        &self.people[&actor]
    }

    /// A group room of the creator's with the member and the author.
    async fn new_room(&self) -> String {
        let ids = [&self.who(Member).id, &self.who(Author).id];
        let (status, room) =
            self.app.post(&self.who(Creator).client(), "/api/rooms", json!({"userIds": ids, "name": "team"})).await;
        created_id(status, &room)
    }

    /// A message of the author's in the shared room.
    async fn new_message(&self) -> String {
        let path = format!("/api/rooms/{}/messages", self.room);
        let (status, body) = self.app.post(&self.who(Author).client(), &path, json!({"text": "hello"})).await;
        created_id(status, &body)
    }

    async fn new_video(&self) -> String {
        let (status, body) =
            publish(&self.app, &self.who(Author).client(), video_form("clip", mp4_video(1000, 10))).await;
        created_id(status, &body)
    }

    async fn new_comment(&self) -> String {
        let path = format!("/api/v1/comments/{}", self.video);
        let (status, body) = self.app.post(&self.who(Author).client(), &path, json!({"content": "nice"})).await;
        created_id(status, &body)
    }

    async fn new_tweet(&self) -> String {
        let (status, body) =
            self.app.post(&self.who(Author).client(), "/api/v1/tweets", json!({"content": "hi"})).await;
        created_id(status, &body)
    }

    async fn new_playlist(&self) -> String {
        let (status, body) =
            self.app.post(&self.who(Author).client(), "/api/v1/playlist", json!({"name": "mix"})).await;
        created_id(status, &body)
    }

    /// The request `actor` makes to the route: path, body, and the token to send (`None`:
    /// anonymous).
    async fn request(&self, actor: Actor, method: &str, template: &str, case: usize) -> Call {
        let me = (actor != Anonymous).then(|| self.who(actor));
        let token = me.map(|p| p.token.clone());
        let mine = |t: Option<String>| Call { token: t, ..Call::default() };
        let json_call = |path: String, body: Value| Call { path, body: Body::Json(body), token: token.clone() };
        let get = |path: String| Call { path, body: Body::None, token: token.clone() };
        let author = self.who(Author);
        let member = self.who(Member);
        let fresh_session = || async {
            match me {
                Some(p) => Some(login(&self.app, &p.email).await),
                None => None,
            }
        };
        let unique = format!("{}{case}", format!("{actor:?}").to_lowercase());
        match (method, template) {
            ("POST", "/api/auth/signup") => Call {
                body: Body::Json(
                    json!({"fullName": "N", "email": format!("n{unique}@example.com"), "password": PASSWORD}),
                ),
                ..get(template.into())
            },
            ("POST", "/api/auth/login" | "/api/auth/signin") | ("POST", "/api/v1/users/login") => {
                json_call(template.into(), json!({"email": author.email, "password": "Wrong-password-1"}))
            }
            ("POST", "/api/auth/logout" | "/api/v1/users/logout") => {
                let session = fresh_session().await;
                Call { path: template.into(), body: Body::Json(json!({})), ..mine(session.map(|s| s.0)) }
            }
            (
                "POST",
                "/api/auth/refresh"
                | "/api/auth/refreshtoken"
                | "/api/auth/refresh-token"
                | "/api/v1/users/refresh-token",
            ) => {
                let refresh = fresh_session().await.map_or("not-a-token".to_string(), |s| s.1);
                Call { path: template.into(), body: Body::Json(json!({"refreshToken": refresh})), token: None }
            }
            ("PUT", "/api/auth/update-profile") => json_call(template.into(), json!({"fullName": "Same Name"})),
            ("PUT", "/api/auth/change-password") | ("POST", "/api/v1/users/change-password") => json_call(
                template.into(),
                json!({"oldPassword": "Wrong-password-1", "newPassword": "An0ther-secret-pw"}),
            ),
            ("DELETE", "/api/auth/sessions/{id}") => {
                let (access, _) = login(&self.app, &author.email).await;
                let sid = jwt_claims(&access)["sid"].as_str().unwrap().to_string();
                get(format!("/api/auth/sessions/{sid}"))
            }
            ("GET", "/api/messages/{id}") => get(format!("/api/messages/{}", member.id)),
            ("POST", "/api/messages/send/{id}") => {
                json_call(format!("/api/messages/send/{}", member.id), json!({"text": "hi"}))
            }
            ("PATCH", "/api/messages/{id}") => {
                json_call(format!("/api/messages/{}", self.message), json!({"text": "edited"}))
            }
            ("DELETE", "/api/messages/{id}") => get(format!("/api/messages/{}", self.new_message().await)),
            ("DELETE", "/delete/message/{message_id}") => get(format!("/delete/message/{}", self.new_message().await)),
            ("POST", "/api/rooms" | "/api/rooms/initiate" | "/room/initiate") => {
                json_call(template.into(), json!({"userIds": [self.extra.id], "type": "consumer-to-support"}))
            }
            ("PATCH", "/api/rooms/{room_id}") => {
                json_call(format!("/api/rooms/{}", self.room), json!({"name": "renamed"}))
            }
            ("DELETE", "/api/rooms/{room_id}") => get(format!("/api/rooms/{}", self.new_room().await)),
            ("DELETE", "/delete/room/{room_id}") => get(format!("/delete/room/{}", self.new_room().await)),
            ("POST", "/api/rooms/{room_id}/messages") | ("POST", "/room/{room_id}/message") => {
                json_call(template.replace("{room_id}", &self.room), json!({"text": "hey", "messageText": "hey"}))
            }
            ("POST", "/api/rooms/{room_id}/members") => {
                json_call(format!("/api/rooms/{}/members", self.new_room().await), json!({"userIds": [self.extra.id]}))
            }
            ("DELETE", "/api/rooms/{room_id}/members/{user_id}") => {
                get(format!("/api/rooms/{}/members/{}", self.new_room().await, author.id))
            }
            (_, t) if t.contains("{room_id}") => get(t.replace("{room_id}", &self.room)),
            ("PATCH", "/api/users/{id}") => {
                json_call(format!("/api/users/{}", author.id), json!({"fullName": "Author"}))
            }
            ("DELETE", "/api/users/{id}" | "/users/{id}") => {
                let victim = person(&self.app, &format!("victim{unique}")).await;
                get(template.replace("{id}", &victim.id))
            }
            ("PUT", "/api/users/{id}/role") => {
                json_call(format!("/api/users/{}/role", author.id), json!({"role": "user"}))
            }
            ("GET", "/api/users/{id}" | "/users/{id}") => get(template.replace("{id}", &author.id)),
            ("POST", "/api/uploads") => Call { body: Body::File("file"), ..get(template.into()) },
            ("GET", "/uploads/{key}") => get(self.upload_url.clone()),
            ("GET", "/docs/{file}") => get("/docs/swagger-ui.css".into()),
            ("POST", "/login/{user_id}") => {
                json_call(format!("/login/{}", author.id), json!({"password": "Wrong-password-1"}))
            }
            ("POST", "/users") => json_call(
                template.into(),
                json!({"firstName": "C", "lastName": "D", "type": "consumer", "email": format!("c{unique}@example.com")}),
            ),
            ("POST", "/api/v1/users/register") => json_call(template.into(), json!({})),
            ("PATCH", "/api/v1/users/update-account") => json_call(template.into(), json!({"fullName": "F"})),
            ("PATCH", "/api/v1/users/avatar") => Call { body: Body::File("avatar"), ..get(template.into()) },
            ("PATCH", "/api/v1/users/cover-image") => Call { body: Body::File("coverImage"), ..get(template.into()) },
            ("GET", "/api/v1/users/c/{username}") => get(format!("/api/v1/users/c/{}", author.username)),
            ("POST", "/api/v1/videos") => Call { body: Body::Video, ..get(template.into()) },
            ("PATCH", "/api/v1/videos/{videoId}") => Call {
                body: Body::Fields(&[("title", "t"), ("description", "d")]),
                ..get(format!("/api/v1/videos/{}", self.video))
            },
            ("DELETE", "/api/v1/videos/{videoId}") => get(format!("/api/v1/videos/{}", self.new_video().await)),
            ("PATCH", "/api/v1/videos/toggle/publish/{videoId}") => {
                get(format!("/api/v1/videos/toggle/publish/{}", self.new_video().await))
            }
            ("POST", "/api/v1/comments/{videoId}") => {
                json_call(format!("/api/v1/comments/{}", self.video), json!({"content": "c"}))
            }
            ("PATCH", "/api/v1/comments/c/{commentId}") => {
                json_call(format!("/api/v1/comments/c/{}", self.comment), json!({"content": "c2"}))
            }
            ("DELETE", "/api/v1/comments/c/{commentId}") => {
                get(format!("/api/v1/comments/c/{}", self.new_comment().await))
            }
            ("POST", "/api/v1/tweets") => json_call(template.into(), json!({"content": "t"})),
            ("PATCH", "/api/v1/tweets/{tweetId}") => {
                json_call(format!("/api/v1/tweets/{}", self.tweet), json!({"content": "t2"}))
            }
            ("DELETE", "/api/v1/tweets/{tweetId}") => get(format!("/api/v1/tweets/{}", self.new_tweet().await)),
            ("POST", "/api/v1/playlist") => json_call(template.into(), json!({"name": "p"})),
            ("PATCH", "/api/v1/playlist/{playlistId}") => {
                json_call(format!("/api/v1/playlist/{}", self.playlist), json!({"name": "q", "description": "d"}))
            }
            ("DELETE", "/api/v1/playlist/{playlistId}") => {
                get(format!("/api/v1/playlist/{}", self.new_playlist().await))
            }
            ("PATCH", "/api/v1/playlist/add/{videoId}/{playlistId}") => {
                get(format!("/api/v1/playlist/add/{}/{}", self.video, self.new_playlist().await))
            }
            ("PATCH", "/api/v1/playlist/remove/{videoId}/{playlistId}") => {
                let playlist = self.new_playlist().await;
                let add = format!("/api/v1/playlist/add/{}/{playlist}", self.video);
                let (status, _) = self.app.request(&author.client(), Method::PATCH, &add, None).await;
                assert_eq!(status, StatusCode::OK);
                get(format!("/api/v1/playlist/remove/{}/{playlist}", self.video))
            }
            (_, t) => get(t
                .replace("{videoId}", &self.video)
                .replace("{commentId}", &self.comment)
                .replace("{tweetId}", &self.tweet)
                .replace("{playlistId}", &self.playlist)
                .replace("{channelId}", &author.id)
                .replace("{subscriberId}", &author.id)
                .replace("{userId}", &author.id)),
        }
    }
}

#[derive(Default)]
enum Body {
    #[default]
    None,
    Json(Value),
    /// A multipart form with a PNG in this field.
    File(&'static str),
    /// A video upload form.
    Video,
    /// A multipart form of text fields.
    Fields(&'static [(&'static str, &'static str)]),
}

#[derive(Default)]
struct Call {
    path: String,
    body: Body,
    token: Option<String>,
}

fn matches(expected: &str, got: StatusCode) -> bool {
    match expected {
        "2xx" => got.is_success(),
        code => code.parse::<u16>().is_ok_and(|c| c == got.as_u16()),
    }
}

#[tokio::test]
async fn every_route_of_every_surface_by_every_kind_of_caller() {
    let mounted: BTreeSet<(String, String)> = natter::http::route_table()
        .into_iter()
        .filter(|(method, _)| *method != Method::HEAD)
        .map(|(method, path)| (method.to_string(), natter::http::openapi::spec_path(&path)))
        .collect();
    let rows: BTreeSet<(String, String)> = MATRIX.iter().map(|(m, p, _)| (m.to_string(), p.to_string())).collect();
    let missing: Vec<_> = mounted.difference(&rows).collect();
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:?}");
    let stale: Vec<_> = rows.difference(&mounted).collect();
    assert!(stale.is_empty(), "rows for routes that are not mounted: {stale:?}");
    assert_eq!(rows.len(), MATRIX.len(), "a route has two rows");

    let world = World::new().await;
    let client = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut wrong = Vec::new();
    for (case, (method, template, expected)) in MATRIX.iter().enumerate() {
        let expected: Vec<&str> = expected.split_whitespace().collect();
        assert_eq!(expected.len(), ACTORS.len(), "{method} {template}");
        for (actor, want) in ACTORS.iter().zip(expected) {
            let call = world.request(*actor, method, template, case).await;
            let method: Method = method.parse().unwrap();
            let mut request = client.request(method.clone(), world.app.url(&call.path));
            if let Some(token) = &call.token {
                request = request.bearer_auth(token);
            }
            request = match call.body {
                Body::None => request,
                Body::Json(body) => request.json(&body),
                Body::File(field) => request.multipart(Form::new().part(field, Part::bytes(png()).file_name("p.png"))),
                Body::Video => request.multipart(video_form("new", mp4_video(1000, 10))),
                Body::Fields(fields) => {
                    request.multipart(fields.iter().fold(Form::new(), |form, (k, v)| form.text(*k, *v)))
                }
            };
            let response = request.send().await.unwrap();
            let got = response.status();
            let text = response.text().await.unwrap_or_default();
            if !matches(want, got) {
                wrong.push(format!(
                    "{actor:?} {method} {template} ({}): want {want}, got {got}: {:.200}",
                    call.path, text
                ));
            }
            if got.is_client_error() {
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                // Each surface's own error envelope; all of them say what is wrong in `message`.
                let said = body["message"].as_str().is_some_and(|m| !m.is_empty());
                assert!(said, "{actor:?} {method} {template}: a 4xx without a JSON error: {text}");
            }
        }
    }
    assert!(wrong.is_empty(), "{} cells differ from the matrix:\n{}", wrong.len(), wrong.join("\n"));
}
