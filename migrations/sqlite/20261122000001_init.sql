-- Times are BIGINT milliseconds since the Unix epoch (UTC): the same type and ordering on
-- SQLite and PostgreSQL (sqlx writes SQLite datetimes as RFC 3339 text with a varying number
-- of fractional digits, which does not sort). IDs are canonical UUIDv7 text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    username      TEXT UNIQUE,
    full_name     TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    profile_pic   TEXT NOT NULL DEFAULT '',
    role          TEXT NOT NULL DEFAULT 'user',
    deleted_at    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- One row per refresh token; all tokens descended from one login share a family_id,
-- which access tokens carry as `sid`.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  BIGINT NOT NULL,
    revoked_at  BIGINT,
    replaced_by TEXT,
    rotated_at  BIGINT,
    user_agent  TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX sessions_family_idx ON sessions (family_id);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE rooms (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    type            TEXT NOT NULL DEFAULT 'consumer-to-consumer',
    name            TEXT,
    -- "<smaller user id>:<larger user id>" for direct rooms: makes the pair's room unique.
    direct_key      TEXT UNIQUE,
    created_by      TEXT REFERENCES users(id),
    last_message_id TEXT,
    last_message_at BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE room_members (
    room_id      TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    joined_at    BIGINT NOT NULL,
    muted        BOOLEAN NOT NULL DEFAULT FALSE,
    last_read_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user_idx ON room_members (user_id);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    room_id         TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    sender_id       TEXT NOT NULL REFERENCES users(id),
    text            TEXT,
    image           TEXT,
    idempotency_key TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    edited_at       BIGINT,
    deleted_at      BIGINT
);
-- Message ids are time-ordered and increase per room in commit order, so (room_id, id)
-- is the (room_id, created_at, id) order of DESIGN.md.
CREATE INDEX messages_room_idx ON messages (room_id, id);
CREATE UNIQUE INDEX messages_idempotency_idx ON messages (sender_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE media (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    storage_key  TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    bytes        BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
