-- The video-platform tutorial's videos: files in media (public), metadata here.
CREATE TABLE videos (
    id                 TEXT PRIMARY KEY,
    owner_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title              TEXT NOT NULL,
    description        TEXT NOT NULL,
    video_file         TEXT NOT NULL,
    video_media_id     TEXT NOT NULL REFERENCES media(id),
    thumbnail          TEXT NOT NULL,
    thumbnail_media_id TEXT NOT NULL REFERENCES media(id),
    duration_ms        BIGINT NOT NULL,
    views              BIGINT NOT NULL DEFAULT 0,
    is_published       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);
CREATE INDEX videos_owner_idx ON videos (owner_id, created_at);
CREATE INDEX videos_published_idx ON videos (is_published, created_at);
-- A view counts once per viewer per window (VIDEO_VIEW_WINDOW): the key makes it race-free.
CREATE TABLE video_views (
    video_id     TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    viewer_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    window_start BIGINT NOT NULL,
    PRIMARY KEY (video_id, viewer_id, window_start)
);
CREATE TABLE watch_history (
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    video_id   TEXT NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    watched_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, video_id)
);
CREATE INDEX watch_history_user_idx ON watch_history (user_id, watched_at);
