-- The video-platform tutorial's comments, tweets and likes. One likes table per kind of
-- target, so that each has its foreign key (and goes with its target); the primary keys
-- make the like toggles race-free.
CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    video_id   TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    content    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX comments_video_idx ON comments (video_id, created_at);
CREATE TABLE tweets (
    id         TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    content    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tweets_owner_idx ON tweets (owner_id, created_at);
CREATE TABLE video_likes (
    target_id  TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (target_id, user_id)
);
CREATE INDEX video_likes_user_idx ON video_likes (user_id, created_at);
CREATE TABLE comment_likes (
    target_id  TEXT NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (target_id, user_id)
);
CREATE TABLE tweet_likes (
    target_id  TEXT NOT NULL REFERENCES tweets(id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (target_id, user_id)
);
