-- Group rooms created through "initiate" are found again by their member set and type:
-- "<type>|<sorted member ids>". Cleared when the membership changes afterwards.
ALTER TABLE rooms ADD COLUMN member_key TEXT;
CREATE UNIQUE INDEX rooms_member_key_idx ON rooms (member_key);
-- Unread counts compare message times with each member's read watermark.
CREATE INDEX messages_room_created_idx ON messages (room_id, created_at);
