-- The video-platform tutorial's subscriptions: a user follows a channel (another user).
-- The primary key makes a toggle race-free (insert, or delete when it exists).
CREATE TABLE subscriptions (
    subscriber_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (subscriber_id, channel_id)
);
CREATE INDEX subscriptions_channel_idx ON subscriptions (channel_id, created_at);
