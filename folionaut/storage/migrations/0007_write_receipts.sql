-- Write receipts: a content write made under an idempotency key (and, on a
-- remote database, every content write) records here what it did, in the same
-- transaction as the change. A retry with the same key finds it and replays the
-- first answer; a write whose answer was lost on the way back (the connection
-- died after the write was sent) is looked up here to learn whether it applied,
-- and the primary key lets at most one attempt of a write commit.
-- Short-lived: kept 24 hours (pruned by the writes themselves); dumps keep the
-- table but not its rows.
CREATE TABLE IF NOT EXISTS folionaut_write_receipts (
    key TEXT PRIMARY KEY NOT NULL,
    fingerprint TEXT NOT NULL,
    write_id TEXT NOT NULL,
    outcome TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS folionaut_write_receipts_created_idx ON folionaut_write_receipts (created_at);
