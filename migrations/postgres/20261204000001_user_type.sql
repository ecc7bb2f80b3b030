-- The chat-API tutorial's user type (consumer or support): a label, not a permission.
ALTER TABLE users ADD COLUMN user_type TEXT NOT NULL DEFAULT 'consumer';
