-- Sessions as their users see them (GET /api/auth/sessions): the address a login came from,
-- when the login started (each rotated token carries it on) and when it ends whatever its
-- use (the absolute lifetime; NULL for logins from before it existed).
ALTER TABLE sessions ADD COLUMN ip TEXT;
ALTER TABLE sessions ADD COLUMN started_at BIGINT;
ALTER TABLE sessions ADD COLUMN ends_at BIGINT;
