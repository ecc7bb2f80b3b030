import pg from "pg";

// One pool per process, sized for a single Node event loop (the tutorial's Mongoose
// connection keeps a pool of 100 by default, but a Node process gains nothing from more
// than a handful of in-flight queries; 16 is the competent choice).
export const pool = new pg.Pool({
  connectionString:
    process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/natter_ref",
  max: Number(process.env.PG_POOL_SIZE || 16),
});

pool.on("error", (error) => {
  console.log("Unexpected error on idle PostgreSQL client", error.message);
});

// The tutorials' Mongoose models, as tables. Created at startup, idempotently.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  full_name   text        NOT NULL,
  email       text        NOT NULL,
  password    text        NOT NULL,
  profile_pic text        NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lower_key ON users (lower(email));
CREATE INDEX IF NOT EXISTS users_created_at_idx ON users (created_at, id);

CREATE TABLE IF NOT EXISTS messages (
  id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  sender_id   uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  receiver_id uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  text        text,
  image       text,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- A direct conversation is the unordered pair {sender, receiver}: one index serves both
-- directions and the (created_at, id) keyset paging of a conversation.
CREATE INDEX IF NOT EXISTS messages_conversation_idx ON messages
  (LEAST(sender_id, receiver_id), GREATEST(sender_id, receiver_id), created_at, id);
-- For "my conversations" (sender_id = me OR receiver_id = me).
CREATE INDEX IF NOT EXISTS messages_sender_idx ON messages (sender_id, created_at);
CREATE INDEX IF NOT EXISTS messages_receiver_idx ON messages (receiver_id, created_at);
`;

export const initSchema = async () => {
  await pool.query(SCHEMA);
};
