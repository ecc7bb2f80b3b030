//! `users`: accounts. Deleting a user anonymises the row (messages keep their author id).

use super::{Db, DbResult, args, impl_row, like_pattern};
use crate::domain::{Email, FullName, Role, UserId, UserType, Username};

/// The columns of `UserRow`, for `concat!` into each query.
macro_rules! user_columns {
    () => {
        "id, email, username, full_name, password_hash, profile_pic, role, user_type, deleted_at, created_at, updated_at, \
         cover_image"
    };
}

/// `user_columns!` with an empty `password_hash`: for rows that are shown or cached, never
/// checked against a password.
macro_rules! profile_columns {
    () => {
        "id, email, username, full_name, '' AS password_hash, profile_pic, role, user_type, deleted_at, created_at, \
         updated_at, cover_image"
    };
}

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub username: Option<String>,
    pub full_name: String,
    pub password_hash: String,
    pub profile_pic: String,
    pub role: String,
    /// The chat-API tutorial's `consumer` or `support`.
    pub user_type: String,
    pub deleted_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The video-platform tutorial's channel cover ("" when none).
    pub cover_image: String,
}
impl_row!(UserRow {
    id,
    email,
    username,
    full_name,
    password_hash,
    profile_pic,
    role,
    user_type,
    deleted_at,
    created_at,
    updated_at,
    cover_image
});

impl UserRow {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::User)
    }

    pub fn user_id(&self) -> anyhow::Result<UserId> {
        UserId::parse(&self.id).ok_or_else(|| anyhow::anyhow!("stored user id is not a UUID"))
    }
}

pub struct NewUser<'a> {
    pub id: UserId,
    pub email: &'a Email,
    pub username: Option<&'a Username>,
    pub full_name: &'a FullName,
    pub password_hash: &'a str,
    pub profile_pic: &'a str,
    pub user_type: UserType,
    pub now: i64,
}

pub enum InsertUser {
    Inserted(Box<UserRow>),
    EmailTaken,
    UsernameTaken,
}

/// Inserts a user; the first user of an empty instance gets the `admin` role.
pub async fn insert_user(db: &Db, new: NewUser<'_>) -> DbResult<InsertUser> {
    const SQL: &str = concat!(
        "INSERT INTO users (id, email, username, full_name, password_hash, profile_pic, role, user_type, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6, \
                CASE WHEN EXISTS (SELECT 1 FROM users) THEN 'user' ELSE 'admin' END, $8, $7, $7 \
         RETURNING ",
        user_columns!()
    );
    let args = args![
        new.id.to_string(),
        new.email.as_str(),
        new.username.map(|u| u.as_str()),
        new.full_name.as_str(),
        new.password_hash,
        new.profile_pic,
        new.now,
        new.user_type.as_str()
    ];
    match db.write_fetch_optional::<UserRow>(SQL, args).await {
        Ok(Some(row)) => Ok(InsertUser::Inserted(Box::new(row))),
        Ok(None) => Err(super::DbError::RowNotFound),
        Err(e) if e.is_unique_violation() && e.mentions("username") => Ok(InsertUser::UsernameTaken),
        Err(e) if e.is_unique_violation() => Ok(InsertUser::EmailTaken),
        Err(e) => Err(e),
    }
}

/// Any user by id, deleted ones included (callers decide what a deleted user means).
pub async fn find_user(db: &Db, id: &UserId) -> DbResult<Option<UserRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        user_columns!(),
        " \
                       FROM users WHERE id = $1"
    );
    db.fetch_optional(SQL, args![id.to_string()]).await
}

/// A live user by e-mail or username (the login identifier).
pub async fn find_user_by_login(db: &Db, identifier: &str) -> DbResult<Option<UserRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        user_columns!(),
        " \
                       FROM users WHERE (email = $1 OR username = $1) AND deleted_at IS NULL LIMIT 1"
    );
    let needle = identifier.trim().to_lowercase();
    db.fetch_optional(SQL, args![needle]).await
}

/// The user behind an access token, if the user is live and the token's session family has
/// not been revoked: one indexed query per authenticated request.
/// Without the password hash (see `profile_columns!`).
pub async fn find_user_for_session(db: &Db, id: &UserId, family: &str) -> DbResult<Option<UserRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        profile_columns!(),
        " \
                       FROM users WHERE id = $1 AND deleted_at IS NULL AND EXISTS \
                       (SELECT 1 FROM sessions WHERE family_id = $2 AND user_id = $1 AND revoked_at IS NULL)"
    );
    db.fetch_optional(SQL, args![id.to_string(), family]).await
}

/// The profiles of users by id (deleted ones included), without password hashes, in no
/// particular order; ids not found are left out.
pub async fn find_profiles(db: &Db, ids: &[String]) -> DbResult<Vec<UserRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        concat!("SELECT ", profile_columns!(), " FROM users WHERE id IN ({})"),
        super::messages::placeholders(1, ids.len())
    );
    db.fetch_all(&sql, ids.iter().map(super::sql::Arg::from).collect()).await
}

/// Live users ordered by id (creation order), optionally excluding one and filtered by a
/// case-insensitive substring of name, username or e-mail; keyset-paged by `after`.
pub async fn list_users(
    db: &Db,
    exclude: Option<&UserId>,
    query: Option<&str>,
    after: Option<&UserId>,
    limit: u32,
) -> DbResult<Vec<UserRow>> {
    const SQL: &str = concat!(
        "SELECT ",
        user_columns!(),
        " \
         FROM users WHERE deleted_at IS NULL \
           AND ($1 IS NULL OR id <> $1) \
           AND ($2 IS NULL OR LOWER(full_name) LIKE $2 ESCAPE '\\' OR username LIKE $2 ESCAPE '\\' OR email LIKE $2 ESCAPE '\\') \
           AND ($3 IS NULL OR id > $3) \
         ORDER BY id LIMIT $4"
    );
    let exclude = exclude.map(|u| u.to_string());
    let pattern = query.map(like_pattern);
    let after = after.map(|u| u.to_string());
    db.fetch_all(SQL, args![exclude, pattern, after, i64::from(limit)]).await
}

#[derive(Default)]
pub struct UserPatch<'a> {
    pub full_name: Option<&'a FullName>,
    pub username: Option<&'a Username>,
    pub email: Option<&'a Email>,
    pub profile_pic: Option<&'a str>,
    pub cover_image: Option<&'a str>,
}

pub enum UpdateUser {
    Updated(Box<UserRow>),
    UsernameTaken,
    EmailTaken,
    NotFound,
}

pub async fn update_user(db: &Db, id: &UserId, patch: UserPatch<'_>, now: i64) -> DbResult<UpdateUser> {
    const SQL: &str = concat!(
        "UPDATE users SET \
           full_name = COALESCE($2, full_name), \
           username = COALESCE($3, username), \
           profile_pic = COALESCE($4, profile_pic), \
           updated_at = $5, \
           email = COALESCE($6, email), \
           cover_image = COALESCE($7, cover_image) \
         WHERE id = $1 AND deleted_at IS NULL \
         RETURNING ",
        user_columns!()
    );
    let args = args![
        id.to_string(),
        patch.full_name.map(|n| n.as_str()),
        patch.username.map(|u| u.as_str()),
        patch.profile_pic,
        now,
        patch.email.map(|e| e.as_str()),
        patch.cover_image
    ];
    match db.write_fetch_optional::<UserRow>(SQL, args).await {
        Ok(Some(row)) => Ok(UpdateUser::Updated(Box::new(row))),
        Ok(None) => Ok(UpdateUser::NotFound),
        Err(e) if e.is_unique_violation() && e.mentions("username") => Ok(UpdateUser::UsernameTaken),
        Err(e) if e.is_unique_violation() => Ok(UpdateUser::EmailTaken),
        Err(e) => Err(e),
    }
}

pub async fn update_password_hash(db: &Db, id: &UserId, hash: &str, now: i64) -> DbResult<bool> {
    const SQL: &str = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL";
    Ok(db.execute(SQL, args![id.to_string(), hash, now]).await? == 1)
}

pub async fn update_role(db: &Db, id: &UserId, role: Role, now: i64) -> DbResult<Option<UserRow>> {
    const SQL: &str = concat!(
        "UPDATE users SET role = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL \
         RETURNING ",
        user_columns!()
    );
    db.write_fetch_optional(SQL, args![id.to_string(), role.as_str(), now]).await
}

/// Deletes an account: its sessions and memberships go; the row stays, anonymised, so the
/// messages it wrote keep an author ("Deleted user"). E-mail and username become free.
pub async fn delete_user(db: &Db, id: &UserId, now: i64) -> DbResult<bool> {
    const ANONYMISE: &str = "UPDATE users SET email = $2, username = NULL, full_name = 'Deleted user', \
           password_hash = '', profile_pic = '', deleted_at = $3, updated_at = $3 \
         WHERE id = $1 AND deleted_at IS NULL";
    const SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
    const MEMBERSHIPS: &str = "DELETE FROM room_members WHERE user_id = $1";
    let tombstone_email = format!("deleted+{id}@users.invalid");
    db.transaction((id.to_string(), tombstone_email), move |tx, (id, tombstone_email)| {
        Box::pin(async move {
            if tx.execute(ANONYMISE, args![id, tombstone_email, now]).await? == 0 {
                return Ok(false);
            }
            tx.execute(SESSIONS, args![id]).await?;
            tx.execute(MEMBERSHIPS, args![id]).await?;
            Ok(true)
        })
    })
    .await
}
