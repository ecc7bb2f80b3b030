//! `subscriptions`: who follows which channel (the video-platform tutorial's channels are
//! natter's users).

use super::users::UserRow;
use super::{Db, DbResult, args};
use crate::domain::UserId;

/// Subscribes, or unsubscribes when already subscribed. Race-free: the insert relies on
/// the primary key; only when it inserted nothing is the subscription deleted. Returns
/// whether the caller is subscribed afterwards.
pub async fn toggle_subscription(db: &Db, subscriber: &UserId, channel: &UserId, now: i64) -> DbResult<bool> {
    const INSERT: &str = "INSERT INTO subscriptions (subscriber_id, channel_id, created_at) VALUES ($1, $2, $3) \
                          ON CONFLICT (subscriber_id, channel_id) DO NOTHING";
    const DELETE: &str = "DELETE FROM subscriptions WHERE subscriber_id = $1 AND channel_id = $2";
    let (subscriber, channel) = (subscriber.to_string(), channel.to_string());
    db.transaction((subscriber, channel), move |tx, (subscriber, channel)| {
        Box::pin(async move {
            if tx.execute(INSERT, args![subscriber, channel, now]).await? == 1 {
                return Ok(true);
            }
            tx.execute(DELETE, args![subscriber, channel]).await?;
            Ok(false)
        })
    })
    .await
}

/// A channel's subscriber count, the number of channels it follows, and whether `viewer`
/// follows it: three index lookups in one statement.
pub async fn channel_counts(db: &Db, channel: &UserId, viewer: Option<&UserId>) -> DbResult<(i64, i64, bool)> {
    const SQL: &str = "SELECT \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM subscriptions WHERE channel_id = $1), \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM subscriptions WHERE subscriber_id = $1), \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM subscriptions WHERE channel_id = $1 AND subscriber_id = $2)";
    let (subscribers, following, mine): (i64, i64, i64) =
        db.fetch_one(SQL, args![channel.to_string(), viewer.map(ToString::to_string)]).await?;
    Ok((subscribers, following, mine > 0))
}

/// Which side of a subscription a listing is about.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    /// The users who follow a channel.
    SubscribersOf,
    /// The channels a user follows.
    FollowedBy,
}

/// A page of users on one side of `user`'s subscriptions, newest first, and the total.
pub async fn list_subscriptions(
    db: &Db,
    user: &UserId,
    side: Side,
    offset: i64,
    limit: i64,
) -> DbResult<(Vec<UserRow>, i64)> {
    // Columns qualified for the join (same order as `user_columns!`).
    const USER: &str = "u.id, u.email, u.username, u.full_name, u.password_hash, u.profile_pic, u.role, u.user_type, \
                        u.deleted_at, u.created_at, u.updated_at, u.cover_image";
    let (mine, other) = match side {
        Side::SubscribersOf => ("channel_id", "subscriber_id"),
        Side::FollowedBy => ("subscriber_id", "channel_id"),
    };
    let page = format!(
        "SELECT {USER} FROM subscriptions s JOIN users u ON u.id = s.{other} \
         WHERE s.{mine} = $1 AND u.deleted_at IS NULL ORDER BY s.created_at DESC, u.id LIMIT $2 OFFSET $3"
    );
    let count = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM subscriptions s JOIN users u ON u.id = s.{other} \
         WHERE s.{mine} = $1 AND u.deleted_at IS NULL"
    );
    let rows = db.fetch_all(&page, args![user.to_string(), limit, offset]).await?;
    let total = db.fetch_one(&count, args![user.to_string()]).await?;
    Ok((rows, total))
}

/// A channel's totals: videos, views, subscribers and likes on its videos (one statement
/// of indexed aggregates).
pub async fn channel_stats(db: &Db, owner: &UserId) -> DbResult<(i64, i64, i64, i64)> {
    const SQL: &str = "SELECT \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM videos WHERE owner_id = $1), \
           (SELECT CAST(COALESCE(SUM(views), 0) AS BIGINT) FROM videos WHERE owner_id = $1), \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM subscriptions WHERE channel_id = $1), \
           (SELECT CAST(COUNT(*) AS BIGINT) FROM video_likes l JOIN videos v ON v.id = l.target_id WHERE v.owner_id = $1)";
    let row: Stats = db.fetch_one(SQL, args![owner.to_string()]).await?;
    Ok((row.0, row.1, row.2, row.3))
}

struct Stats(i64, i64, i64, i64);

impl super::sql::Row for Stats {
    fn read(c: &mut impl super::sql::Cursor) -> DbResult<Self> {
        Ok(Self(c.next()?, c.next()?, c.next()?, c.next()?))
    }
}
