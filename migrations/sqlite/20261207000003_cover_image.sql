-- The video-platform tutorial's channel cover image (its `avatar` is `profile_pic`).
ALTER TABLE users ADD COLUMN cover_image TEXT NOT NULL DEFAULT '';
