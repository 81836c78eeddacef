-- The four tables of the original Folionaut (spec section 8), same names and columns.
CREATE TABLE IF NOT EXISTS content (
    id TEXT PRIMARY KEY NOT NULL,
    type TEXT NOT NULL,
    slug TEXT NOT NULL,
    data TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'draft',
    version INTEGER NOT NULL DEFAULT 1,
    sort_order INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS content_type_slug_idx ON content (type, slug);
CREATE INDEX IF NOT EXISTS content_type_idx ON content (type);
CREATE INDEX IF NOT EXISTS content_status_idx ON content (status);

CREATE TABLE IF NOT EXISTS content_history (
    id TEXT PRIMARY KEY NOT NULL,
    content_id TEXT NOT NULL REFERENCES content (id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    change_type TEXT NOT NULL,
    changed_by TEXT,
    change_summary TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS content_history_content_idx ON content_history (content_id, version);

CREATE TABLE IF NOT EXISTS chat_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    visitor_id TEXT NOT NULL,
    ip_hash TEXT,
    user_agent TEXT,
    message_count INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'active',
    created_at TEXT NOT NULL,
    last_active_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_sessions_visitor_idx ON chat_sessions (visitor_id, status);

CREATE TABLE IF NOT EXISTS chat_messages (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES chat_sessions (id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL,
    tokens_used INTEGER,
    model TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_messages_session_idx ON chat_messages (session_id, created_at);
