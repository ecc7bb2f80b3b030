-- Bumped by every change to a room's messages (append, edit, delete) in the same transaction:
-- cached pages of a conversation are keyed by it, so a node never serves a stale page.
ALTER TABLE rooms ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
