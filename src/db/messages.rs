//! `messages` and the direct rooms they live in.
//!
//! Ordering guarantee: a message's id is generated inside the transaction that holds the
//! room's row lock (PostgreSQL) or the database write lock (SQLite) and is made greater
//! than the room's previous `last_message_id`, so ids increase per room in commit order.
//! A reader that has seen id X will find every later commit with `id > X`: no gaps.

use super::sql::{Arg, Tx};
use super::{Db, DbError, DbResult, args, impl_row};
use crate::domain::{MessageId, UserId};

/// The columns of `MessageRow`, for `concat!` into each query (`m` = messages, `r` = rooms).
macro_rules! message_columns {
    () => {
        "m.id, m.room_id, m.sender_id, m.text, m.image, m.created_at, m.updated_at, m.edited_at, m.deleted_at, \
         r.direct_key, r.created_by AS room_created_by, m.attachment"
    };
}

#[derive(Debug, Clone)]
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
    /// The attachment's JSON (`{_id, url, contentType, bytes}`), as written at send time.
    pub attachment: Option<String>,
}
impl_row!(MessageRow {
    id,
    room_id,
    sender_id,
    text,
    image,
    created_at,
    updated_at,
    edited_at,
    deleted_at,
    direct_key,
    room_created_by,
    attachment
});

pub struct NewMessage<'a> {
    pub room_id: &'a str,
    pub sender: &'a UserId,
    pub text: Option<&'a str>,
    pub image: Option<&'a str>,
    /// The upload the message carries (its attachment or its stored image): members of the
    /// room may then read it.
    pub media_id: Option<&'a str>,
    /// The attachment's JSON, when the upload is an attachment.
    pub attachment: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
}

pub enum InsertMessage {
    Inserted(MessageRow),
    /// The sender already sent a message with this idempotency key: here it is.
    Replayed(MessageRow),
}

/// What an append writes (owned: on SQLite it travels to the writer thread).
struct Append {
    sender: String,
    text: Option<String>,
    image: Option<String>,
    media_id: Option<String>,
    attachment: Option<String>,
    idempotency_key: Option<String>,
}

impl Append {
    fn new(new: &NewMessage<'_>) -> Self {
        Self {
            sender: new.sender.to_string(),
            text: new.text.map(str::to_string),
            image: new.image.map(str::to_string),
            media_id: new.media_id.map(str::to_string),
            attachment: new.attachment.map(str::to_string),
            idempotency_key: new.idempotency_key.map(str::to_string),
        }
    }

    fn row(&self, room_id: &str, id: MessageId, (direct_key, room_created_by): RoomOfMessage) -> MessageRow {
        let created_at = id.created_ms();
        MessageRow {
            id: id.to_string(),
            room_id: room_id.to_string(),
            sender_id: self.sender.clone(),
            text: self.text.clone(),
            image: self.image.clone(),
            created_at,
            updated_at: created_at,
            edited_at: None,
            deleted_at: None,
            direct_key,
            room_created_by,
            attachment: self.attachment.clone(),
        }
    }
}

/// `(direct_key, created_by)` of the room a message went to.
type RoomOfMessage = (Option<String>, Option<String>);

const FIND_BY_IDEMPOTENCY_KEY: &str = concat!(
    "SELECT ",
    message_columns!(),
    " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.sender_id = $1 AND m.idempotency_key = $2"
);
const LAST_ID: &str = "SELECT last_message_id FROM rooms WHERE id = $1";

/// Appends a message to a room, moves the room's last message to it and the sender's read
/// mark, all in one commit; `Replayed` when the sender's idempotency key was used before.
///
/// PostgreSQL: one statement (data-modifying CTEs), so one round trip, no `BEGIN`/`COMMIT`.
/// SQLite: three statements on the writer thread, committed with the other writes of its batch.
pub async fn append_message(db: &Db, new: NewMessage<'_>) -> DbResult<InsertMessage> {
    let append = Append::new(&new);
    let result = match db {
        Db::Postgres(_) => {
            match find_by_idempotency_key(db, &append.sender, append.idempotency_key.as_deref()).await? {
                Some(existing) => Ok(InsertMessage::Replayed(existing)),
                None => append_pg(db, new.room_id, &append).await.map(InsertMessage::Inserted),
            }
        }
        Db::Sqlite(_) => {
            db.transaction((new.room_id.to_string(), append), |tx, (room_id, a)| {
                Box::pin(async move {
                    if let Some(existing) = replay_in(tx, a).await? {
                        return Ok(InsertMessage::Replayed(existing));
                    }
                    append_in(tx, room_id, a).await.map(InsertMessage::Inserted)
                })
            })
            .await
        }
    };
    replay_if_raced(db, new.sender, new.idempotency_key, result).await
}

/// The receiver `$1` of a direct message and the pair's room, found by the direct key named
/// by `$key`: no row when the receiver is gone, a NULL `room_id` when the pair has no room.
macro_rules! direct_target {
    ($key:literal) => {
        concat!(
            "SELECT r.id AS room_id FROM users u LEFT JOIN rooms r ON r.direct_key = ",
            $key,
            " WHERE u.id = $1 AND u.deleted_at IS NULL"
        )
    };
}

/// What became of a direct message.
#[allow(clippy::large_enum_variant)] // one per send, returned once: boxing would only add an allocation
pub enum DirectAppend {
    /// The receiver does not exist or was deleted: nothing was written.
    ReceiverGone,
    /// The pair has no room yet: nothing was written (create it, then `append_message`).
    NoRoomYet,
    Appended(InsertMessage),
}

/// A direct message from `new.sender` to `receiver` (`new.room_id` is not used): checks the
/// receiver, finds the pair's room and appends. On SQLite the whole of it is one job of the
/// writer, whose page cache is never emptied by another connection's commit, so the lookups
/// cost next to nothing; on PostgreSQL the lookups are part of the append's one statement.
pub async fn append_direct(db: &Db, receiver: &UserId, new: NewMessage<'_>) -> DbResult<DirectAppend> {
    const TARGET: &str = direct_target!("$2");
    let (receiver, key) = (receiver.to_string(), super::rooms::direct_key(new.sender, receiver));
    let append = Append::new(&new);
    let result = match db {
        Db::Postgres(_) => {
            if let Some(existing) =
                find_by_idempotency_key(db, &append.sender, append.idempotency_key.as_deref()).await?
            {
                return Ok(DirectAppend::Appended(InsertMessage::Replayed(existing)));
            }
            // An error (a raced idempotency key among them) goes on to `replay_if_raced`.
            let append = std::sync::Arc::new(append);
            match batched(db, DirectJob { receiver, key, append: append.clone() }).await {
                Ok(DirectPg::ReceiverGone) => return Ok(DirectAppend::ReceiverGone),
                Ok(DirectPg::NoRoomYet) => return Ok(DirectAppend::NoRoomYet),
                Ok(DirectPg::Appended(row)) => Ok(InsertMessage::Inserted(row)),
                // This node's clock is behind the room's last message: the general way.
                Ok(DirectPg::Behind(room_id)) => append_pg(db, &room_id, &append).await.map(InsertMessage::Inserted),
                Err(e) => Err(e),
            }
        }
        Db::Sqlite(_) => {
            let outcome = db
                .transaction((args![receiver, key], append), |tx, (target, a)| {
                    Box::pin(async move {
                        if let Some(existing) = replay_in(tx, a).await? {
                            return Ok(DirectAppend::Appended(InsertMessage::Replayed(existing)));
                        }
                        Ok(match tx.fetch_optional::<Option<String>>(TARGET, target.clone()).await? {
                            None => DirectAppend::ReceiverGone,
                            Some(None) => DirectAppend::NoRoomYet,
                            Some(Some(room_id)) => {
                                DirectAppend::Appended(InsertMessage::Inserted(append_in(tx, &room_id, a).await?))
                            }
                        })
                    })
                })
                .await;
            match outcome {
                Ok(DirectAppend::Appended(inserted)) => Ok(inserted),
                other => return other,
            }
        }
    };
    replay_if_raced(db, new.sender, new.idempotency_key, result).await.map(DirectAppend::Appended)
}

/// What became of a post to a room.
#[allow(clippy::large_enum_variant)] // as `DirectAppend`
pub enum RoomAppend {
    /// The sender is not a member (or there is no such room): nothing was written.
    NotMember,
    /// Stored, with the room's member ids for the fan-out (none for a replay).
    Appended { inserted: InsertMessage, members: Vec<String> },
}

/// A post by `new.sender` to `new.room_id` if the sender is a member, with the members to
/// tell. On SQLite one job of the writer (see `append_direct`).
pub async fn append_as_member(db: &Db, new: NewMessage<'_>) -> DbResult<RoomAppend> {
    use super::rooms::{IS_MEMBER, MEMBER_IDS};
    let append = Append::new(&new);
    let room_id = new.room_id.to_string();
    // A replay tells nobody, so it needs no member list.
    let (result, members) = match db {
        Db::Postgres(_) => {
            if let Some(key) = append.idempotency_key.as_deref() {
                if !super::rooms::is_member(db, &room_id, new.sender).await? {
                    return Ok(RoomAppend::NotMember);
                }
                if let Some(existing) = find_by_idempotency_key(db, &append.sender, Some(key)).await? {
                    return Ok(RoomAppend::Appended {
                        inserted: InsertMessage::Replayed(existing),
                        members: Vec::new(),
                    });
                }
            }
            let append = std::sync::Arc::new(append);
            match batched(db, PostJob { room_id: room_id.clone(), append: append.clone() }).await {
                Ok(PostPg::NotMember) => return Ok(RoomAppend::NotMember),
                Ok(PostPg::Appended(row, members)) => (Ok(InsertMessage::Inserted(row)), members),
                // This node's clock is behind the room's last message: the general way.
                Ok(PostPg::Behind) => {
                    let result = append_pg(db, &room_id, &append).await.map(InsertMessage::Inserted);
                    (result, super::rooms::list_member_ids(db, &room_id).await?)
                }
                Err(e) => (Err(e), Vec::new()),
            }
        }
        Db::Sqlite(_) => {
            let outcome = db
                .transaction((room_id, append), |tx, (room_id, a)| {
                    Box::pin(async move {
                        if tx.fetch_optional::<i32>(IS_MEMBER, args![room_id, &a.sender]).await?.is_none() {
                            return Ok(None);
                        }
                        Ok(Some(match replay_in(tx, a).await? {
                            Some(existing) => (InsertMessage::Replayed(existing), Vec::new()),
                            None => {
                                let inserted = InsertMessage::Inserted(append_in(tx, room_id, a).await?);
                                (inserted, tx.fetch_all(MEMBER_IDS, args![room_id]).await?)
                            }
                        }))
                    })
                })
                .await;
            match outcome {
                Ok(None) => return Ok(RoomAppend::NotMember),
                Ok(Some((inserted, members))) => (Ok(inserted), members),
                Err(e) => (Err(e), Vec::new()),
            }
        }
    };
    let inserted = replay_if_raced(db, new.sender, new.idempotency_key, result).await?;
    Ok(RoomAppend::Appended { inserted, members })
}

/// Two sends with one idempotency key raced and the other one won: its message.
async fn replay_if_raced(
    db: &Db,
    sender: &UserId,
    key: Option<&str>,
    result: DbResult<InsertMessage>,
) -> DbResult<InsertMessage> {
    match (result, key) {
        (Err(e), Some(key)) if e.is_unique_violation() => {
            match find_by_idempotency_key(db, &sender.to_string(), Some(key)).await? {
                Some(existing) => Ok(InsertMessage::Replayed(existing)),
                None => Err(e),
            }
        }
        (result, _) => result,
    }
}

/// The sender's earlier message with this idempotency key, inside a transaction.
async fn replay_in(tx: &mut Tx<'_>, a: &Append) -> DbResult<Option<MessageRow>> {
    match &a.idempotency_key {
        Some(key) => tx.fetch_optional(FIND_BY_IDEMPOTENCY_KEY, args![&a.sender, key]).await,
        None => Ok(None),
    }
}

/// The append's statements inside a transaction (SQLite's writer: each completes at once).
async fn append_in(tx: &mut Tx<'_>, room_id: &str, a: &Append) -> DbResult<MessageRow> {
    // Moves the room's last message to `$2` (the new id, at time `$3`): the statement runs
    // under the write lock and only succeeds when the new id sorts after the room's last
    // one, so ids increase in commit order.
    const BUMP_ROOM: &str = "UPDATE rooms SET last_message_id = $2, last_message_at = $3, updated_at = $3, \
         version = version + 1 \
         WHERE id = $1 AND (last_message_id IS NULL OR last_message_id < $2) RETURNING direct_key, created_by";
    const INSERT: &str = "INSERT INTO messages \
         (id, room_id, sender_id, text, image, idempotency_key, created_at, updated_at, media_id, attachment) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9)";
    const SENDER_READ: &str = "UPDATE room_members SET last_read_at = $3 WHERE room_id = $1 AND user_id = $2";
    let mut id = MessageId::next_after(None);
    let room = loop {
        if let Some(room) = tx.fetch_optional(BUMP_ROOM, args![room_id, id.to_string(), id.created_ms()]).await? {
            break room;
        }
        // This node's clock is behind the room's last message (or the room is gone).
        let last: Option<String> = tx.fetch_one(LAST_ID, args![room_id]).await?;
        id = MessageId::next_after(last.as_deref().and_then(MessageId::parse));
    };
    let created_at = id.created_ms();
    let insert = args![
        id.to_string(),
        room_id,
        &a.sender,
        &a.text,
        &a.image,
        &a.idempotency_key,
        created_at,
        &a.media_id,
        &a.attachment
    ];
    tx.execute(INSERT, insert).await?;
    tx.execute(SENDER_READ, args![room_id, &a.sender, created_at]).await?;
    Ok(a.row(room_id, id, room))
}

/// The CTEs every PostgreSQL append ends with, after a `bumped` CTE that returns the room's
/// `id` when its last message moved: the insert and the sender's read mark, both only if
/// the room was bumped. Arguments as `Append::pg_args`.
macro_rules! append_ctes_pg {
    () => {
        "inserted AS (\
           INSERT INTO messages \
             (id, room_id, sender_id, text, image, idempotency_key, created_at, updated_at, media_id, attachment) \
           SELECT $2, id, $4, $5, $6, $7, $3, $3, $8, $9 FROM bumped), \
         sender_read AS (\
           UPDATE room_members SET last_read_at = $3 WHERE room_id = (SELECT id FROM bumped) AND user_id = $4) "
    };
}

impl Append {
    /// The arguments of the PostgreSQL appends: $1 the room (or the receiver), $2 the new
    /// id, $3 its time, $4 sender, $5 text, $6 image, $7 idempotency key, $8 media id, $9
    /// attachment.
    fn pg_args(&self, first: impl Into<super::sql::Arg>, id: MessageId) -> Vec<super::sql::Arg> {
        args![
            first.into(),
            id.to_string(),
            id.created_ms(),
            &self.sender,
            &self.text,
            &self.image,
            &self.idempotency_key,
            &self.media_id,
            &self.attachment
        ]
    }
}

/// The append in one statement on PostgreSQL: the room's row lock is taken by the first
/// CTE and held to the statement's commit, so ids increase in commit order there too.
async fn append_pg(db: &Db, room_id: &str, a: &Append) -> DbResult<MessageRow> {
    // Arguments as `Append::pg_args` ($1 the room).
    const APPEND_PG: &str = concat!(
        "WITH bumped AS (\
           UPDATE rooms SET last_message_id = $2, last_message_at = $3, updated_at = $3, version = version + 1 \
           WHERE id = $1 AND (last_message_id IS NULL OR last_message_id < $2) RETURNING id, direct_key, created_by), ",
        append_ctes_pg!(),
        "SELECT direct_key, created_by FROM bumped"
    );
    let mut last = None;
    loop {
        let id = MessageId::next_after(last);
        let args = a.pg_args(room_id, id);
        if let Some(room) = db.write_fetch_optional(APPEND_PG, args).await? {
            return Ok(a.row(room_id, id, room));
        }
        // This node's clock is behind the room's last message (or the room is gone).
        match db.fetch_optional::<Option<String>>(LAST_ID, args![room_id]).await? {
            Some(id) => last = id.as_deref().and_then(MessageId::parse),
            None => return Err(DbError::RowNotFound),
        }
    }
}

/// What became of `append_direct_pg`.
#[allow(clippy::large_enum_variant)] // as `DirectAppend`
enum DirectPg {
    ReceiverGone,
    NoRoomYet,
    Appended(MessageRow),
    /// The pair's room, whose last message sorts after the id this node made.
    Behind(String),
}

/// `append_direct_pg`'s one row.
struct DirectPgRow {
    receiver_live: bool,
    room_id: Option<String>,
    /// Whether the room was bumped (not when there is no room, or this node's clock is behind).
    bumped: bool,
    direct_key: Option<String>,
    created_by: Option<String>,
}
impl_row!(DirectPgRow { receiver_live, room_id, bumped, direct_key, created_by });

impl DirectPgRow {
    fn outcome(self, a: &Append, id: MessageId) -> DirectPg {
        match (self.receiver_live, self.room_id, self.bumped) {
            (false, _, _) => DirectPg::ReceiverGone,
            (true, None, _) => DirectPg::NoRoomYet,
            (true, Some(room_id), true) => DirectPg::Appended(a.row(&room_id, id, (self.direct_key, self.created_by))),
            (true, Some(room_id), false) => DirectPg::Behind(room_id),
        }
    }
}

/// A direct message on PostgreSQL in one statement (one round trip): the receiver check and
/// the lookup of the pair's room (by its direct key) are CTEs of the append.
async fn append_direct_pg(db: &Db, receiver: &str, key: &str, a: &Append) -> DbResult<DirectPg> {
    // Arguments as `Append::pg_args` ($1 the receiver), and $10 the pair's direct key.
    const APPEND_DIRECT_PG: &str = concat!(
        "WITH target AS (",
        direct_target!("$10"),
        "), \
         bumped AS (\
           UPDATE rooms SET last_message_id = $2, last_message_at = $3, updated_at = $3, version = version + 1 \
           WHERE id = (SELECT room_id FROM target) AND (last_message_id IS NULL OR last_message_id < $2) \
           RETURNING id, direct_key, created_by), ",
        append_ctes_pg!(),
        "SELECT EXISTS (SELECT 1 FROM target), (SELECT room_id FROM target), EXISTS (SELECT 1 FROM bumped), \
           b.direct_key, b.created_by \
         FROM (SELECT 1) AS one LEFT JOIN bumped b ON true"
    );
    let id = MessageId::next_after(None);
    let mut args = a.pg_args(receiver, id);
    args.push(key.into());
    let row: DirectPgRow = db.write_fetch_optional(APPEND_DIRECT_PG, args).await?.ok_or(DbError::RowNotFound)?;
    Ok(row.outcome(a, id))
}

// ---- group commit (PostgreSQL) ----

/// The CTEs of every batched append, after `input` (one row per message, numbered `n`, with
/// the append's columns) and `target` (`n` and the `room_id` it goes to, NULL for none):
/// the rooms locked in id order (two batches never wait on each other in a cycle), each
/// room bumped once to its newest message of the batch and only when its last message sorts
/// before the batch's first there, every message of a bumped room inserted, every sender's
/// read mark moved. Arguments `$1`..`$8` as `batch_args`.
macro_rules! append_batch_ctes_pg {
    () => {
        "per_room AS (\
           SELECT t.room_id, min(i.id) AS first_id, max(i.id) AS last_id, max(i.at) AS last_at \
           FROM input i JOIN target t ON t.n = i.n WHERE t.room_id IS NOT NULL GROUP BY t.room_id), \
         locked AS MATERIALIZED (\
           SELECT r.id FROM rooms r WHERE r.id IN (SELECT room_id FROM per_room) ORDER BY r.id FOR UPDATE), \
         bumped AS (\
           UPDATE rooms r SET last_message_id = p.last_id, last_message_at = p.last_at, updated_at = p.last_at, \
             version = r.version + 1 \
           FROM per_room p JOIN locked l ON l.id = p.room_id \
           WHERE r.id = p.room_id AND (r.last_message_id IS NULL OR r.last_message_id < p.first_id) \
           RETURNING r.id, r.direct_key, r.created_by), \
         inserted AS (\
           INSERT INTO messages \
             (id, room_id, sender_id, text, image, idempotency_key, created_at, updated_at, media_id, attachment) \
           SELECT i.id, b.id, i.sender, i.text, i.image, i.idempotency_key, i.at, i.at, i.media_id, i.attachment \
           FROM input i JOIN target t ON t.n = i.n JOIN bumped b ON b.id = t.room_id), \
         sender_read AS (\
           UPDATE room_members rm SET last_read_at = s.at \
           FROM (SELECT b.id AS room_id, i.sender, max(i.at) AS at \
                 FROM input i JOIN target t ON t.n = i.n JOIN bumped b ON b.id = t.room_id GROUP BY b.id, i.sender) s \
           WHERE rm.room_id = s.room_id AND rm.user_id = s.sender) "
    };
}

/// The `unnest` of `batch_args` and of `$9` (and `$10`): the columns of `input`.
macro_rules! batch_input_pg {
    ($targets:literal, $names:literal) => {
        concat!(
            "input AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::text[], $5::text[], $6::text[], \
               $7::text[], $8::text[], ",
            $targets,
            ") WITH ORDINALITY \
             AS i(id, at, sender, text, image, idempotency_key, media_id, attachment, ",
            $names,
            ", n)), "
        )
    };
}

/// `$1`..`$8` of a batched append: ids, times, senders, texts, images, idempotency keys,
/// media ids, attachments, one element per message.
fn batch_args<'a>(appends: impl Iterator<Item = &'a Append> + Clone, ids: &[MessageId]) -> Vec<Arg> {
    let texts = |f: fn(&Append) -> Option<String>| Arg::TextArray(appends.clone().map(f).collect());
    vec![
        Arg::TextArray(ids.iter().map(|id| Some(id.to_string())).collect()),
        Arg::IntArray(ids.iter().map(MessageId::created_ms).collect()),
        texts(|a| Some(a.sender.clone())),
        texts(|a| a.text.clone()),
        texts(|a| a.image.clone()),
        texts(|a| a.idempotency_key.clone()),
        texts(|a| a.media_id.clone()),
        texts(|a| a.attachment.clone()),
    ]
}

/// A row of a batched append, with the message's number in the batch.
struct Numbered<R> {
    n: i64,
    row: R,
}

impl<R: super::sql::Row> super::sql::Row for Numbered<R> {
    fn read(c: &mut impl super::sql::Cursor) -> DbResult<Self> {
        Ok(Self { n: c.next()?, row: R::read(c)? })
    }
}

/// A message waiting for its batch: what each kind of append brings to the group commit.
trait Batched: Sized + Send + Sync + 'static {
    /// The batch's statement: `batch_input_pg!`, `target`, `append_batch_ctes_pg!`, then one
    /// `Numbered<Row>` per message in the batch's order.
    const SQL: &'static str;
    type Row: super::sql::Row + Send;
    type Outcome: Send + 'static;
    /// This kind's group commit in a store's `Batches`.
    fn sends(batches: &Batches) -> &std::sync::OnceLock<Sends<Self>>;
    fn append(&self) -> &Append;
    /// `$9` (and `$10`): where the messages go.
    fn targets(jobs: &[Self]) -> Vec<Arg>;
    fn outcome(&self, row: Self::Row, id: MessageId) -> Self::Outcome;
    /// The same write alone (one statement).
    fn alone(&self, db: &Db) -> impl Future<Output = DbResult<Self::Outcome>> + Send;
}

type Sends<J> = super::batch::Batcher<J, DbResult<<J as Batched>::Outcome>>;

/// The group commits of one PostgreSQL store, each started on its first write.
#[derive(Default)]
pub(crate) struct Batches {
    direct: std::sync::OnceLock<Sends<DirectJob>>,
    posts: std::sync::OnceLock<Sends<PostJob>>,
}

impl std::fmt::Debug for Batches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches").finish_non_exhaustive()
    }
}

/// A write through the group commit: concurrent writes of a kind are written together by
/// one statement (`append_batch_pg`), each answered when that statement commits.
async fn batched<J: Batched>(db: &Db, job: J) -> DbResult<J::Outcome> {
    let Db::Postgres(pg) = db else { unreachable!("the group commit is PostgreSQL's") };
    let sends = J::sends(&pg.batches).get_or_init(|| {
        // The batches' own handle on the pool (without batches: no cycle keeping the task).
        let store = Db::Postgres(super::PgStore { batches: Default::default(), ..pg.clone() });
        Sends::<J>::start(move |jobs| {
            let store = store.clone();
            async move { append_batch_pg(&store, jobs).await }
        })
    });
    sends.submit(job).await.ok_or(DbError::Closed)?
}

/// Several messages in one statement (`Batched::SQL`). Ids are made here, increasing in the
/// batch's order. If the statement fails (a raced idempotency key, a deadlock with another
/// node's batch), nothing of it was written and each message is written alone.
async fn append_batch_pg<J: Batched>(db: &Db, jobs: Vec<J>) -> Vec<DbResult<J::Outcome>> {
    metrics::histogram!(crate::telemetry::names::DB_WRITE_BATCH).record(jobs.len() as f64);
    if let [job] = jobs.as_slice() {
        return vec![job.alone(db).await];
    }
    let mut ids = Vec::with_capacity(jobs.len());
    let mut last = None;
    for _ in &jobs {
        let id = MessageId::next_after(last);
        ids.push(id);
        last = Some(id);
    }
    let mut args = batch_args(jobs.iter().map(J::append), &ids);
    args.extend(J::targets(&jobs));
    match db.write_fetch_all::<Numbered<J::Row>>(J::SQL, args).await {
        Ok(rows) if rows.len() == jobs.len() && rows.iter().zip(1..).all(|(r, n)| r.n == n) => {
            rows.into_iter().zip(jobs.iter().zip(ids)).map(|(r, (job, id))| Ok(job.outcome(r.row, id))).collect()
        }
        other => {
            if let Err(e) = other {
                tracing::debug!(error = %e, messages = jobs.len(), "a batch of messages failed; writing each alone");
            }
            futures::future::join_all(jobs.iter().map(|job| job.alone(db))).await
        }
    }
}

/// A direct message waiting for its batch.
struct DirectJob {
    receiver: String,
    key: String,
    append: std::sync::Arc<Append>,
}

impl Batched for DirectJob {
    const SQL: &'static str = concat!(
        "WITH ",
        batch_input_pg!("$9::text[], $10::text[]", "receiver, direct_key"),
        "target AS (\
           SELECT i.n, u.id IS NOT NULL AS receiver_live, r.id AS room_id FROM input i \
           LEFT JOIN users u ON u.id = i.receiver AND u.deleted_at IS NULL \
           LEFT JOIN rooms r ON r.direct_key = i.direct_key AND u.id IS NOT NULL), ",
        append_batch_ctes_pg!(),
        "SELECT t.n, t.receiver_live, t.room_id, b.id IS NOT NULL, b.direct_key, b.created_by \
         FROM target t LEFT JOIN bumped b ON b.id = t.room_id ORDER BY t.n"
    );
    type Row = DirectPgRow;
    type Outcome = DirectPg;
    fn sends(batches: &Batches) -> &std::sync::OnceLock<Sends<Self>> {
        &batches.direct
    }
    fn append(&self) -> &Append {
        &self.append
    }
    fn targets(jobs: &[Self]) -> Vec<Arg> {
        vec![
            Arg::TextArray(jobs.iter().map(|j| Some(j.receiver.clone())).collect()),
            Arg::TextArray(jobs.iter().map(|j| Some(j.key.clone())).collect()),
        ]
    }
    fn outcome(&self, row: DirectPgRow, id: MessageId) -> DirectPg {
        row.outcome(&self.append, id)
    }
    fn alone(&self, db: &Db) -> impl Future<Output = DbResult<DirectPg>> + Send {
        append_direct_pg(db, &self.receiver, &self.key, &self.append)
    }
}

/// A post to a room waiting for its batch.
struct PostJob {
    room_id: String,
    append: std::sync::Arc<Append>,
}

impl Batched for PostJob {
    const SQL: &'static str = concat!(
        "WITH ",
        batch_input_pg!("$9::text[]", "room_id"),
        "target AS (\
           SELECT i.n, rm.user_id IS NOT NULL AS member, CASE WHEN rm.user_id IS NOT NULL THEN i.room_id END AS room_id \
           FROM input i LEFT JOIN room_members rm ON rm.room_id = i.room_id AND rm.user_id = i.sender), ",
        append_batch_ctes_pg!(),
        "SELECT t.n, t.member, b.id IS NOT NULL, b.direct_key, b.created_by, \
           CASE WHEN b.id IS NOT NULL THEN (SELECT string_agg(user_id, ',') FROM room_members WHERE room_id = b.id) END \
         FROM target t LEFT JOIN bumped b ON b.id = t.room_id ORDER BY t.n"
    );
    type Row = PostPgRow;
    type Outcome = PostPg;
    fn sends(batches: &Batches) -> &std::sync::OnceLock<Sends<Self>> {
        &batches.posts
    }
    fn append(&self) -> &Append {
        &self.append
    }
    fn targets(jobs: &[Self]) -> Vec<Arg> {
        vec![Arg::TextArray(jobs.iter().map(|j| Some(j.room_id.clone())).collect())]
    }
    fn outcome(&self, row: PostPgRow, id: MessageId) -> PostPg {
        row.outcome(&self.room_id, &self.append, id)
    }
    fn alone(&self, db: &Db) -> impl Future<Output = DbResult<PostPg>> + Send {
        append_post_pg(db, &self.room_id, &self.append)
    }
}

/// What became of `append_post_pg`.
#[allow(clippy::large_enum_variant)] // as `DirectAppend`
enum PostPg {
    NotMember,
    /// The message, and the room's member ids for the fan-out.
    Appended(MessageRow, Vec<String>),
    /// The room's last message sorts after the id this node made.
    Behind,
}

/// `append_post_pg`'s one row.
struct PostPgRow {
    member: bool,
    bumped: bool,
    direct_key: Option<String>,
    created_by: Option<String>,
    /// The member ids, comma-separated (user ids are UUIDs).
    members: Option<String>,
}
impl_row!(PostPgRow { member, bumped, direct_key, created_by, members });

/// A post by a member on PostgreSQL in one statement (one round trip): the membership check
/// and the member list for the fan-out are parts of the append.
async fn append_post_pg(db: &Db, room_id: &str, a: &Append) -> DbResult<PostPg> {
    // Arguments as `Append::pg_args` ($1 the room).
    const APPEND_POST_PG: &str = concat!(
        "WITH member AS (\
           SELECT 1 FROM room_members WHERE room_id = $1 AND user_id = $4), \
         bumped AS (\
           UPDATE rooms SET last_message_id = $2, last_message_at = $3, updated_at = $3, version = version + 1 \
           WHERE id = $1 AND EXISTS (SELECT 1 FROM member) AND (last_message_id IS NULL OR last_message_id < $2) \
           RETURNING id, direct_key, created_by), ",
        append_ctes_pg!(),
        "SELECT EXISTS (SELECT 1 FROM member), EXISTS (SELECT 1 FROM bumped), b.direct_key, b.created_by, \
           (SELECT string_agg(user_id, ',') FROM room_members WHERE room_id = $1) \
         FROM (SELECT 1) AS one LEFT JOIN bumped b ON true"
    );
    let id = MessageId::next_after(None);
    let args = a.pg_args(room_id, id);
    let row: PostPgRow = db.write_fetch_optional(APPEND_POST_PG, args).await?.ok_or(DbError::RowNotFound)?;
    Ok(row.outcome(room_id, a, id))
}

impl PostPgRow {
    fn outcome(self, room_id: &str, a: &Append, id: MessageId) -> PostPg {
        match (self.member, self.bumped) {
            (false, _) => PostPg::NotMember,
            (true, false) => PostPg::Behind,
            (true, true) => {
                let members = self.members.map(|m| m.split(',').map(str::to_string).collect()).unwrap_or_default();
                PostPg::Appended(a.row(room_id, id, (self.direct_key, self.created_by)), members)
            }
        }
    }
}

/// The sender's earlier message with this idempotency key.
async fn find_by_idempotency_key(db: &Db, sender: &str, key: Option<&str>) -> DbResult<Option<MessageRow>> {
    match key {
        Some(key) => db.fetch_optional(FIND_BY_IDEMPOTENCY_KEY, args![sender, key]).await,
        None => Ok(None),
    }
}

/// A message that has not been deleted.
pub async fn find_message(db: &Db, id: &MessageId) -> DbResult<Option<MessageRow>> {
    const SQL: &str =
        concat!("SELECT ", message_columns!(), " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id = $1");
    let row: Option<MessageRow> = db.fetch_optional(SQL, args![id.to_string()]).await?;
    Ok(row.filter(|m| m.deleted_at.is_none()))
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
pub async fn list_messages(db: &Db, room_id: &str, page: Page<'_>) -> DbResult<Vec<MessageRow>> {
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
        db.fetch_all(FORWARD, args![room_id, after.to_string(), before, limit]).await
    } else {
        let mut rows: Vec<MessageRow> = db.fetch_all(BACKWARD, args![room_id, before, limit]).await?;
        rows.reverse();
        Ok(rows)
    }
}

/// A page of a room's live messages by offset from the newest (the chat-API tutorial's
/// 0-based `page` and `limit`), returned oldest first.
pub async fn list_messages_by_offset(db: &Db, room_id: &str, offset: u64, limit: u32) -> DbResult<Vec<MessageRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        message_columns!(),
        " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.room_id = $1 AND m.deleted_at IS NULL \
          ORDER BY m.id DESC LIMIT $2 OFFSET $3"
    );
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let mut rows: Vec<MessageRow> = db.fetch_all(SQL, args![room_id, i64::from(limit), offset]).await?;
    rows.reverse();
    Ok(rows)
}

/// The room of a changed message gets a new version (in the change's transaction).
const BUMP_VERSION_OF_MESSAGE: &str =
    "UPDATE rooms SET version = version + 1 WHERE id = (SELECT room_id FROM messages WHERE id = $1)";

/// Runs `change` on one message (`$1` its id, `$2` its time) and, when it changed a row, bumps
/// its room's version, in one transaction. True when the message changed.
async fn change_message(db: &Db, change: &'static str, args: Vec<super::sql::Arg>) -> DbResult<bool> {
    db.transaction(args, move |tx, args| {
        Box::pin(async move {
            let changed = tx.execute(change, args.clone()).await? > 0;
            if changed {
                tx.execute(BUMP_VERSION_OF_MESSAGE, args[..1].to_vec()).await?;
            }
            Ok(changed)
        })
    })
    .await
}

pub async fn update_message_text(db: &Db, id: &MessageId, text: &str, now: i64) -> DbResult<Option<MessageRow>> {
    const SQL: &str =
        "UPDATE messages SET text = $3, edited_at = $2, updated_at = $2 WHERE id = $1 AND deleted_at IS NULL";
    if !change_message(db, SQL, args![id.to_string(), now, text]).await? {
        return Ok(None);
    }
    find_message(db, id).await
}

/// Soft-deletes a message: its content is erased, the row stays so ids and cursors hold.
pub async fn delete_message(db: &Db, id: &MessageId, now: i64) -> DbResult<bool> {
    const SQL: &str = "UPDATE messages SET text = NULL, image = NULL, deleted_at = $2, updated_at = $2 \
                       WHERE id = $1 AND deleted_at IS NULL";
    change_message(db, SQL, args![id.to_string(), now]).await
}

/// `$from, $from+1, …` for `n` values: placeholders of an `IN (…)` list.
pub(crate) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// Messages by id, for the `lastMessage` of a page of rooms (one query per page).
pub async fn find_messages_by_ids(db: &Db, ids: &[String]) -> DbResult<Vec<MessageRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        concat!("SELECT ", message_columns!(), " FROM messages m JOIN rooms r ON r.id = m.room_id WHERE m.id IN ({})"),
        placeholders(1, ids.len())
    );
    db.fetch_all(&sql, ids.iter().map(super::sql::Arg::from).collect()).await
}

/// For each `(room id, read watermark)`, how many live messages from others arrived after
/// the watermark. Rooms with none are absent. One query per page of rooms.
pub async fn unread_counts(db: &Db, user: &UserId, marks: &[(&str, i64)]) -> DbResult<Vec<(String, i64)>> {
    if marks.is_empty() {
        return Ok(Vec::new());
    }
    // Per room, a count over the index range (room_id, id >= the first id after the
    // watermark): ids carry their creation time, so no index on created_at is kept.
    let rows: Vec<String> = (0..marks.len()).map(|i| format!("(${}, ${})", 2 * i + 2, 2 * i + 3)).collect();
    let sql = format!(
        "SELECT room_id, n FROM (SELECT v.column1 AS room_id, (SELECT CAST(COUNT(*) AS BIGINT) FROM messages m \
           WHERE m.room_id = v.column1 AND m.id >= v.column2 AND m.sender_id <> $1 AND m.deleted_at IS NULL) AS n \
         FROM (VALUES {}) v) counts WHERE n > 0",
        rows.join(", ")
    );
    let mut args = args![user.to_string()];
    for (room, read_at) in marks {
        args.extend(args![*room, MessageId::first_after_ms(*read_at).to_string()]);
    }
    db.fetch_all(&sql, args).await
}

/// The caller's unread count in one room, given their read watermark there.
pub async fn unread_count(db: &Db, user: &UserId, room_id: &str, read_at: i64) -> DbResult<i64> {
    let counts = unread_counts(db, user, &[(room_id, read_at)]).await?;
    Ok(counts.first().map_or(0, |(_, n)| *n))
}
