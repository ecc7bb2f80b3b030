-- Unread counts are ranges over (room_id, id): message ids carry their creation time
-- (MessageId::first_after_ms), so this index only cost a page write per message.
DROP INDEX messages_room_created_idx;
