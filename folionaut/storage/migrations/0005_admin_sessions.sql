-- Sign-ins of the admin web app (/admin): one row per cookie session, kept in
-- the database so a sign-in survives a restart and every instance sharing the
-- database honours it (and its sign-out) at once. Only a SHA-256 hash of the
-- cookie's secret is stored, so this table (or a copy of the file) cannot be
-- replayed as a cookie. `principal` says what signed in (`admin`: the admin
-- key, `token`: an API token with the write scope) and `credential` which one (a
-- fingerprint of the admin key in use then, or the token's id), so rotating the
-- key, or revoking the token, ends every session made with it.
-- Dumps keep the table but never its rows.
CREATE TABLE IF NOT EXISTS folionaut_admin_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    principal TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS folionaut_admin_sessions_expiry_idx ON folionaut_admin_sessions (expires_at);
