-- Scoped API tokens (`folionaut token create`, /api/v1/admin/tokens). Only a
-- SHA-256 hash of each token is kept: the token itself is shown once, at
-- creation. Revoking deletes the row, so every instance (each reads tokens
-- through the database) refuses it from the next request on.
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT,
    last_used_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS api_tokens_name_idx ON api_tokens (name);
CREATE UNIQUE INDEX IF NOT EXISTS api_tokens_hash_idx ON api_tokens (token_hash);
