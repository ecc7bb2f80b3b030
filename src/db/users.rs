//! `users`: accounts. Deleting a user anonymises the row (messages keep their author id).

use super::{Db, is_unique_violation, like_pattern, on_db, on_db_write, violated_column_mentions};
use crate::domain::{Email, FullName, Role, UserId, UserType, Username};

/// The columns of `UserRow`, for `concat!` into each query.
macro_rules! user_columns {
    () => {
        "id, email, username, full_name, password_hash, profile_pic, role, user_type, deleted_at, created_at, updated_at"
    };
}

#[derive(Debug, Clone, sqlx::FromRow)]
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
}

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
pub async fn insert_user(db: &Db, new: NewUser<'_>) -> Result<InsertUser, sqlx::Error> {
    const SQL: &str = concat!(
        "INSERT INTO users (id, email, username, full_name, password_hash, profile_pic, role, user_type, created_at, updated_at) \
         SELECT $1, $2, $3, $4, $5, $6, \
                CASE WHEN EXISTS (SELECT 1 FROM users) THEN 'user' ELSE 'admin' END, $8, $7, $7 \
         RETURNING ",
        user_columns!()
    );
    let result = on_db_write!(db, |pool| {
        sqlx::query_as::<_, UserRow>(SQL)
            .bind(new.id.to_string())
            .bind(new.email.as_str())
            .bind(new.username.map(|u| u.as_str()))
            .bind(new.full_name.as_str())
            .bind(new.password_hash)
            .bind(new.profile_pic)
            .bind(new.now)
            .bind(new.user_type.as_str())
            .fetch_one(pool)
            .await
    });
    match result {
        Ok(row) => Ok(InsertUser::Inserted(Box::new(row))),
        Err(e) if is_unique_violation(&e) && violated_column_mentions(&e, "username") => Ok(InsertUser::UsernameTaken),
        Err(e) if is_unique_violation(&e) => Ok(InsertUser::EmailTaken),
        Err(e) => Err(e),
    }
}

/// Any user by id, deleted ones included (callers decide what a deleted user means).
pub async fn find_user(db: &Db, id: &UserId) -> Result<Option<UserRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        user_columns!(),
        " \
                       FROM users WHERE id = $1"
    );
    on_db!(db, |pool| sqlx::query_as::<_, UserRow>(SQL).bind(id.to_string()).fetch_optional(pool).await)
}

/// A live user by e-mail or username (the login identifier).
pub async fn find_user_by_login(db: &Db, identifier: &str) -> Result<Option<UserRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        user_columns!(),
        " \
                       FROM users WHERE (email = $1 OR username = $1) AND deleted_at IS NULL LIMIT 1"
    );
    let needle = identifier.trim().to_lowercase();
    on_db!(db, |pool| sqlx::query_as::<_, UserRow>(SQL).bind(&needle).fetch_optional(pool).await)
}

/// The user behind an access token, if the user is live and the token's session family has
/// not been revoked: one indexed query per authenticated request.
pub async fn find_user_for_session(db: &Db, id: &UserId, family: &str) -> Result<Option<UserRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "SELECT ",
        user_columns!(),
        " \
                       FROM users WHERE id = $1 AND deleted_at IS NULL AND EXISTS \
                       (SELECT 1 FROM sessions WHERE family_id = $2 AND user_id = $1 AND revoked_at IS NULL)"
    );
    on_db!(db, |pool| {
        sqlx::query_as::<_, UserRow>(SQL).bind(id.to_string()).bind(family).fetch_optional(pool).await
    })
}

/// Live users ordered by id (creation order), optionally excluding one and filtered by a
/// case-insensitive substring of name, username or e-mail; keyset-paged by `after`.
pub async fn list_users(
    db: &Db,
    exclude: Option<&UserId>,
    query: Option<&str>,
    after: Option<&UserId>,
    limit: u32,
) -> Result<Vec<UserRow>, sqlx::Error> {
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
    on_db!(db, |pool| {
        sqlx::query_as::<_, UserRow>(SQL)
            .bind(&exclude)
            .bind(&pattern)
            .bind(&after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
    })
}

#[derive(Default)]
pub struct UserPatch<'a> {
    pub full_name: Option<&'a FullName>,
    pub username: Option<&'a Username>,
    pub profile_pic: Option<&'a str>,
}

pub enum UpdateUser {
    Updated(Box<UserRow>),
    UsernameTaken,
    NotFound,
}

pub async fn update_user(db: &Db, id: &UserId, patch: UserPatch<'_>, now: i64) -> Result<UpdateUser, sqlx::Error> {
    const SQL: &str = concat!(
        "UPDATE users SET \
           full_name = COALESCE($2, full_name), \
           username = COALESCE($3, username), \
           profile_pic = COALESCE($4, profile_pic), \
           updated_at = $5 \
         WHERE id = $1 AND deleted_at IS NULL \
         RETURNING ",
        user_columns!()
    );
    let result = on_db_write!(db, |pool| {
        sqlx::query_as::<_, UserRow>(SQL)
            .bind(id.to_string())
            .bind(patch.full_name.map(|n| n.as_str()))
            .bind(patch.username.map(|u| u.as_str()))
            .bind(patch.profile_pic)
            .bind(now)
            .fetch_optional(pool)
            .await
    });
    match result {
        Ok(Some(row)) => Ok(UpdateUser::Updated(Box::new(row))),
        Ok(None) => Ok(UpdateUser::NotFound),
        Err(e) if is_unique_violation(&e) => Ok(UpdateUser::UsernameTaken),
        Err(e) => Err(e),
    }
}

pub async fn update_password_hash(db: &Db, id: &UserId, hash: &str, now: i64) -> Result<bool, sqlx::Error> {
    const SQL: &str = "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL";
    on_db_write!(db, |pool| {
        sqlx::query(SQL).bind(id.to_string()).bind(hash).bind(now).execute(pool).await.map(|r| r.rows_affected() == 1)
    })
}

pub async fn update_role(db: &Db, id: &UserId, role: Role, now: i64) -> Result<Option<UserRow>, sqlx::Error> {
    const SQL: &str = concat!(
        "UPDATE users SET role = $2, updated_at = $3 WHERE id = $1 AND deleted_at IS NULL \
         RETURNING ",
        user_columns!()
    );
    on_db_write!(db, |pool| {
        sqlx::query_as::<_, UserRow>(SQL).bind(id.to_string()).bind(role.as_str()).bind(now).fetch_optional(pool).await
    })
}

/// Deletes an account: its sessions and memberships go; the row stays, anonymised, so the
/// messages it wrote keep an author ("Deleted user"). E-mail and username become free.
pub async fn delete_user(db: &Db, id: &UserId, now: i64) -> Result<bool, sqlx::Error> {
    const ANONYMISE: &str = "UPDATE users SET email = $2, username = NULL, full_name = 'Deleted user', \
           password_hash = '', profile_pic = '', deleted_at = $3, updated_at = $3 \
         WHERE id = $1 AND deleted_at IS NULL";
    const SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
    const MEMBERSHIPS: &str = "DELETE FROM room_members WHERE user_id = $1";
    let tombstone_email = format!("deleted+{id}@users.invalid");
    on_db_write!(db, |pool| {
        let mut tx = pool.begin().await?;
        let gone = sqlx::query(ANONYMISE)
            .bind(id.to_string())
            .bind(&tombstone_email)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Ok(false);
        }
        sqlx::query(SESSIONS).bind(id.to_string()).execute(&mut *tx).await?;
        sqlx::query(MEMBERSHIPS).bind(id.to_string()).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(true)
    })
}
