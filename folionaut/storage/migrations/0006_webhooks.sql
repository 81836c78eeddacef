-- Outbound webhooks (folionaut/webhooks): where to send content events, the
-- outbox written in the same transaction as each content change, the
-- deliveries with their claim and lease, and the per-webhook attempt log.
-- Scheduling columns are epoch seconds (REAL) on the app's clock; the
-- *_at TEXT columns are ISO 8601 for people.
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,             -- JSON array of event types, or ["*"]
    secret TEXT NOT NULL,             -- whsec_…: kept to sign with, never shown again after creation
    active INTEGER NOT NULL DEFAULT 1,
    debounce_seconds INTEGER NOT NULL DEFAULT 0,
    description TEXT,
    disabled_reason TEXT,             -- why it was switched off (410 Gone), if it was
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The outbox: one row per content change, written in the change's own batch.
-- The dispatcher turns each into deliveries (fan-out) and deletes it, in one
-- transaction claimed with fanout_claim, so no event is lost or fanned out twice.
CREATE TABLE IF NOT EXISTS webhook_events (
    id TEXT PRIMARY KEY NOT NULL,
    types TEXT NOT NULL,              -- JSON array: the event types of the change, most specific first
    data TEXT NOT NULL,               -- JSON: the body's "data"
    occurred_at TEXT NOT NULL,
    fanout_claim TEXT
);

-- One row per (webhook, event) to deliver. state: pending → delivering (claimed:
-- lease_token, lease_expires_at) → delivered | failed | cancelled, or back to
-- pending for a retry. A claim whose lease expired (its process died) is taken
-- over by the next claim, on any instance.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id TEXT PRIMARY KEY NOT NULL,     -- msg_…: the webhook-id header, the same on every attempt
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,            -- the exact body sent
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    coalesced INTEGER NOT NULL DEFAULT 1,  -- content changes this delivery stands for (debounce)
    first_queued_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_token TEXT,
    lease_expires_at REAL,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at);
CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_event_idx ON webhook_deliveries (webhook_id, event_id);

-- The delivery log: one row per attempt, the last 100 per webhook kept.
CREATE TABLE IF NOT EXISTS webhook_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    delivery_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    attempted_at TEXT NOT NULL,
    outcome TEXT NOT NULL,            -- delivered | retrying | failed | disabled
    status_code INTEGER,
    duration_ms INTEGER NOT NULL,
    error TEXT,
    next_attempt_at TEXT
);
CREATE INDEX IF NOT EXISTS webhook_attempts_webhook_idx ON webhook_attempts (webhook_id);
