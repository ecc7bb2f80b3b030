//! `comments`, `tweets` and the likes of videos, comments and tweets (the video-platform
//! tutorial's community features).

use super::users::UserRow;
use super::videos::VideoRow;
use super::{Db, DbResult, args, impl_row};
use crate::domain::UserId;

/// A comment on a video or a tweet: the same columns.
#[derive(Debug, Clone)]
pub struct PostRow {
    pub id: String,
    /// The video (comments) or the owner (tweets).
    pub parent_id: String,
    pub owner_id: String,
    pub content: String,
    pub created_at: i64,
    pub updated_at: i64,
}
impl_row!(PostRow { id, parent_id, owner_id, content, created_at, updated_at });

/// Comments or tweets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostKind {
    Comment,
    Tweet,
}

impl PostKind {
    fn table(self) -> &'static str {
        match self {
            Self::Comment => "comments",
            Self::Tweet => "tweets",
        }
    }

    /// The column the list is keyed by: the video of a comment, the owner of a tweet.
    fn parent(self) -> &'static str {
        match self {
            Self::Comment => "video_id",
            Self::Tweet => "owner_id",
        }
    }
}

pub async fn insert_comment(db: &Db, id: &str, video: &str, owner: &UserId, content: &str, now: i64) -> DbResult<()> {
    const SQL: &str = "INSERT INTO comments (id, video_id, owner_id, content, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $5)";
    db.execute(SQL, args![id, video, owner.to_string(), content, now]).await.map(|_| ())
}

pub async fn insert_tweet(db: &Db, id: &str, owner: &UserId, content: &str, now: i64) -> DbResult<()> {
    const SQL: &str = "INSERT INTO tweets (id, owner_id, content, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)";
    db.execute(SQL, args![id, owner.to_string(), content, now]).await.map(|_| ())
}

pub async fn find_post(db: &Db, kind: PostKind, id: &str) -> DbResult<Option<PostRow>> {
    let sql = format!(
        "SELECT id, {}, owner_id, content, created_at, updated_at FROM {} WHERE id = $1",
        kind.parent(),
        kind.table()
    );
    db.fetch_optional(&sql, args![id]).await
}

/// A post with its author, its like count and whether the viewer likes it.
pub struct PostWithAuthor {
    pub post: PostRow,
    pub author: UserRow,
    pub likes: i64,
    pub liked: bool,
}

impl super::sql::Row for PostWithAuthor {
    fn read(c: &mut impl super::sql::Cursor) -> DbResult<Self> {
        let post = PostRow::read(c)?;
        let author = UserRow::read(c)?;
        let likes = c.next()?;
        let liked: i64 = c.next()?;
        Ok(Self { post, author, likes, liked: liked > 0 })
    }
}

/// A page of the posts under `parent` (a video's comments, a user's tweets), newest first,
/// each with its author and likes (subqueries over the likes' primary key, bounded by the
/// page), and how many there are.
pub async fn list_posts(
    db: &Db,
    kind: PostKind,
    parent: &str,
    viewer: &UserId,
    offset: i64,
    limit: i64,
) -> DbResult<(Vec<PostWithAuthor>, i64)> {
    let (table, parent_col) = (kind.table(), kind.parent());
    let likes = match kind {
        PostKind::Comment => "comment_likes",
        PostKind::Tweet => "tweet_likes",
    };
    let page = format!(
        "SELECT p.id, p.{parent_col}, p.owner_id, p.content, p.created_at, p.updated_at, \
                u.id, u.email, u.username, u.full_name, u.password_hash, u.profile_pic, u.role, u.user_type, \
                u.deleted_at, u.created_at, u.updated_at, u.cover_image, \
                (SELECT CAST(COUNT(*) AS BIGINT) FROM {likes} l WHERE l.target_id = p.id), \
                (SELECT CAST(COUNT(*) AS BIGINT) FROM {likes} l WHERE l.target_id = p.id AND l.user_id = $2) \
         FROM {table} p JOIN users u ON u.id = p.owner_id WHERE p.{parent_col} = $1 \
         ORDER BY p.created_at DESC, p.id DESC LIMIT $3 OFFSET $4"
    );
    let count = format!("SELECT CAST(COUNT(*) AS BIGINT) FROM {table} WHERE {parent_col} = $1");
    let rows = db.fetch_all(&page, args![parent, viewer.to_string(), limit, offset]).await?;
    let total = db.fetch_one(&count, args![parent]).await?;
    Ok((rows, total))
}

pub async fn update_post(db: &Db, kind: PostKind, id: &str, content: &str, now: i64) -> DbResult<()> {
    let sql = match kind {
        PostKind::Comment => "UPDATE comments SET content = $2, updated_at = $3 WHERE id = $1",
        PostKind::Tweet => "UPDATE tweets SET content = $2, updated_at = $3 WHERE id = $1",
    };
    db.execute(sql, args![id, content, now]).await.map(|_| ())
}

pub async fn delete_post(db: &Db, kind: PostKind, id: &str) -> DbResult<()> {
    let sql = match kind {
        PostKind::Comment => "DELETE FROM comments WHERE id = $1",
        PostKind::Tweet => "DELETE FROM tweets WHERE id = $1",
    };
    db.execute(sql, args![id]).await.map(|_| ())
}

/// What can be liked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LikeTarget {
    Video,
    Comment,
    Tweet,
}

/// Likes, or unlikes when already liked (race-free on the primary key); whether liked after.
pub async fn toggle_like(db: &Db, target: LikeTarget, id: &str, user: &UserId, now: i64) -> DbResult<bool> {
    let (insert, delete) = match target {
        LikeTarget::Video => (
            "INSERT INTO video_likes (target_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (target_id, user_id) DO NOTHING",
            "DELETE FROM video_likes WHERE target_id = $1 AND user_id = $2",
        ),
        LikeTarget::Comment => (
            "INSERT INTO comment_likes (target_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (target_id, user_id) DO NOTHING",
            "DELETE FROM comment_likes WHERE target_id = $1 AND user_id = $2",
        ),
        LikeTarget::Tweet => (
            "INSERT INTO tweet_likes (target_id, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (target_id, user_id) DO NOTHING",
            "DELETE FROM tweet_likes WHERE target_id = $1 AND user_id = $2",
        ),
    };
    db.transaction((id.to_string(), user.to_string()), move |tx, (id, user)| {
        Box::pin(async move {
            if tx.execute(insert, args![id, user, now]).await? == 1 {
                return Ok(true);
            }
            tx.execute(delete, args![id, user]).await?;
            Ok(false)
        })
    })
    .await
}

/// A video's like count and whether `viewer` likes it.
pub async fn video_likes(db: &Db, video: &str, viewer: &UserId) -> DbResult<(i64, bool)> {
    const SQL: &str = "SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM video_likes WHERE target_id = $1), \
                              (SELECT CAST(COUNT(*) AS BIGINT) FROM video_likes WHERE target_id = $1 AND user_id = $2)";
    let (count, mine): (i64, i64) = db.fetch_one(SQL, args![video, viewer.to_string()]).await?;
    Ok((count, mine > 0))
}

/// A page of the videos `user` likes (published ones, and their own), most recent like
/// first, and how many there are.
pub async fn liked_videos(db: &Db, user: &UserId, offset: i64, limit: i64) -> DbResult<(Vec<VideoRow>, i64)> {
    const PAGE: &str = "SELECT v.id, v.owner_id, v.title, v.description, v.video_file, v.video_media_id, v.thumbnail, \
                          v.thumbnail_media_id, v.duration_ms, v.views, v.is_published, v.created_at, v.updated_at \
                        FROM video_likes l JOIN videos v ON v.id = l.target_id \
                        WHERE l.user_id = $1 AND (v.is_published OR v.owner_id = $1) \
                        ORDER BY l.created_at DESC, v.id LIMIT $2 OFFSET $3";
    const COUNT: &str = "SELECT CAST(COUNT(*) AS BIGINT) FROM video_likes l JOIN videos v ON v.id = l.target_id \
                         WHERE l.user_id = $1 AND (v.is_published OR v.owner_id = $1)";
    let rows = db.fetch_all(PAGE, args![user.to_string(), limit, offset]).await?;
    let total = db.fetch_one(COUNT, args![user.to_string()]).await?;
    Ok((rows, total))
}
