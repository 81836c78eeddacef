-- Sign-ins of the admin web app (/admin): one row per cookie session, kept in
-- the database so a sign-in survives a restart and every instance sharing the
-- database honours it (and its sign-out) at once. Only a SHA-256 hash of the
-- cookie's secret is stored, so this table (or a copy of the file) cannot be
-- replayed as a cookie. `credential` fingerprints what signed in (the admin key
-- in use then), so rotating the key ends every session made with the old one.
-- Dumps keep the table but never its rows.
CREATE TABLE IF NOT EXISTS folionaut_admin_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    principal TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS folionaut_admin_sessions_expiry_idx ON folionaut_admin_sessions (expires_at);
