-- Uploads of any kind (image, video, file); private ones are served only to their owner and
-- to the members of a room holding a live message that carries them.
ALTER TABLE media ADD COLUMN kind TEXT NOT NULL DEFAULT 'image';
ALTER TABLE media ADD COLUMN private BOOLEAN NOT NULL DEFAULT FALSE;
-- The upload a message carries (its attachment, or its image), for the access check.
ALTER TABLE messages ADD COLUMN media_id TEXT REFERENCES media(id);
-- The attachment as the message's JSON shows it ({_id, url, contentType, bytes}), written
-- once at send time like `image` (uploads never change).
ALTER TABLE messages ADD COLUMN attachment TEXT;
CREATE INDEX messages_media_idx ON messages (media_id) WHERE media_id IS NOT NULL;
