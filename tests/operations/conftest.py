"""Helpers for the operations tests: the CLI in-process, seeding, table snapshots, the original schema."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from folionaut.cli import cli
from folionaut.storage.base import Statement
from folionaut.storage.migrate import apply_migrations
from folionaut.storage.sqlite import SQLiteDatabase

REPO_ROOT = Path(__file__).resolve().parents[2]
DB_FILE = "folionaut.db"
#: Tables our migrations add beside the original's.
OUR_TABLES = ("folionaut_migrations", "folionaut_content_changes", "api_tokens", "folionaut_admin_sessions",
              "webhooks", "webhook_events", "webhook_deliveries", "webhook_attempts", "folionaut_write_receipts")
#: Settings that could leak in from the developer's or CI's environment; unset for every CLI call.
_CLEARED = ("TURSO_DATABASE_URL", "TURSO_AUTH_TOKEN", "REDIS_URL", "LLM_API_KEY", "LLM_BASE_URL",
            "FOLIONAUT_CONFIG", "FOLIONAUT_ENV", "NODE_ENV", "ADMIN_API_KEY")
#: Text that exercises quoting: quotes, non-Latin scripts, emoji, combining marks, raw
#: line-breaking characters (CR, form feed, U+2028) and a NUL.
UNICODE_SAMPLES = (
    "O'Brien's \"quoted\" -- not a comment; DROP TABLE content;",
    "Zürich Ærø Ελληνικά Русский 日本語 한국어 עברית العربية",
    "emoji 🚀👩🏽‍💻 and combining e\u0301",
    "line one\nline two\r\nline three\x0cfeed\u2028sep\u2029para\x85nel",
    "tab\there and a NUL\x00inside",
)


def cli_env(data_dir: Path, **extra: str | None) -> dict[str, str | None]:
    env: dict[str, str | None] = {name: None for name in _CLEARED}
    env["FOLIONAUT_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


def run_cli(args: Sequence[str], data_dir: Path, input: bytes | None = None, **env: str | None) -> Result:
    """The real CLI in-process (click's runner), on the SQLite file in ``data_dir``."""
    runner = CliRunner()
    return runner.invoke(cli, list(args), env=cli_env(data_dir, **env), input=input, catch_exceptions=False)


def subprocess_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for `python -m folionaut` subprocesses: clean, on ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update({"PYTHONPATH": str(REPO_ROOT), "FOLIONAUT_DATA_DIR": str(data_dir), "PYTHONDONTWRITEBYTECODE": "1"})
    env.update(extra)
    return env


CLI = [sys.executable, "-m", "folionaut"]


def table_snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every regular table (search index and bookkeeping of SQLite excluded)."""
    conn = sqlite3.connect(path)
    try:
        names = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'content_search%' ORDER BY name")]
        return {name: conn.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall() for name in names}
    finally:
        conn.close()


def query(path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


# --- seeding -------------------------------------------------------------------------

async def seed_database(path: Path, items: int, sessions: int = 20, messages_per_session: int = 5) -> None:
    """A migrated database with ``items`` content rows (1–3 versions of history each) and chats."""
    db = await SQLiteDatabase.open(path)
    try:
        await apply_migrations(db)
        batch: list[Statement] = []
        for number in range(items):
            sample = UNICODE_SAMPLES[number % len(UNICODE_SAMPLES)]
            versions = 1 + number % 3
            content_id = f"content_{number:06d}"
            stamp = f"2025-01-{1 + number % 28:02d}T10:00:{number % 60:02d}.000Z"
            data = f'{{"title": "Item {number} ü日🚀", "body": "{"wörds " * (number % 7)}"}}'
            batch.append(Statement(
                "INSERT INTO content (id, type, slug, data, status, version, sort_order, created_at, updated_at, "
                "deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (content_id, ("project", "page", "skill")[number % 3], f"item-{number}", data,
                 ("published", "draft")[number % 2], versions, number % 10, stamp, stamp,
                 stamp if number % 11 == 0 else None)))
            for version in range(1, versions + 1):
                batch.append(Statement(
                    "INSERT INTO content_history (id, content_id, version, data, change_type, changed_by, "
                    "change_summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (f"hist_{number:06d}_{version}", content_id, version, data,
                     "created" if version == 1 else "updated", "admin", sample, stamp)))
            if len(batch) >= 2000:
                await db.batch(batch)
                batch = []
        for number in range(sessions):
            session_id = f"sess_{number:04d}"
            batch.append(Statement(
                "INSERT INTO chat_sessions (id, visitor_id, ip_hash, user_agent, message_count, status, "
                "created_at, last_active_at, expires_at) VALUES (?, ?, ?, ?, ?, 'active', ?, ?, ?)",
                (session_id, f"visitor-{number}", "ab" * 8, "Mozilla/5.0 ü", messages_per_session,
                 "2025-01-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z", "2025-01-02T00:00:00.000Z")))
            # Same created_at for all of a session's messages: their order is the rowid order.
            for index in reversed(range(messages_per_session)):
                batch.append(Statement(
                    "INSERT INTO chat_messages (id, session_id, role, content, tokens_used, model, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (f"msg_{number:04d}_{index}", session_id, ("user", "assistant")[index % 2],
                     UNICODE_SAMPLES[index % len(UNICODE_SAMPLES)], index * 10 or None, "gpt-4o-mini",
                     "2025-01-01T00:00:00.000Z")))
        await db.batch(batch)
    finally:
        await db.close()


def seed(data_dir: Path, items: int, **options: int) -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / DB_FILE
    asyncio.run(seed_database(path, items, **options))
    return path


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    """A data dir holding a migrated database with 300 items (fast; the big round trip seeds its own)."""
    data_dir = tmp_path / "source"
    seed(data_dir, 300)
    return data_dir


# --- the original (TypeScript) Folionaut's database -------------------------------------

#: The original's schema as its drizzle-kit migrations create it (generated from
#: src/db/schema.ts: backquoted names, tables in alphabetical order, so
#: chat_messages is created before the chat_sessions it references).
ORIGINAL_DDL = """
CREATE TABLE `chat_messages` (
\t`id` text PRIMARY KEY NOT NULL,
\t`session_id` text NOT NULL,
\t`role` text NOT NULL,
\t`content` text NOT NULL,
\t`tokens_used` integer,
\t`model` text,
\t`created_at` text NOT NULL,
\tFOREIGN KEY (`session_id`) REFERENCES `chat_sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
CREATE INDEX `chat_messages_session_id_idx` ON `chat_messages` (`session_id`);
CREATE TABLE `chat_sessions` (
\t`id` text PRIMARY KEY NOT NULL,
\t`visitor_id` text NOT NULL,
\t`ip_hash` text NOT NULL,
\t`user_agent` text,
\t`message_count` integer DEFAULT 0 NOT NULL,
\t`status` text DEFAULT 'active' NOT NULL,
\t`created_at` text NOT NULL,
\t`last_active_at` text NOT NULL,
\t`expires_at` text NOT NULL
);
CREATE INDEX `chat_sessions_visitor_id_idx` ON `chat_sessions` (`visitor_id`);
CREATE INDEX `chat_sessions_ip_hash_idx` ON `chat_sessions` (`ip_hash`);
CREATE INDEX `chat_sessions_expires_at_idx` ON `chat_sessions` (`expires_at`);
CREATE TABLE `content` (
\t`id` text PRIMARY KEY NOT NULL,
\t`type` text NOT NULL,
\t`slug` text NOT NULL,
\t`data` text NOT NULL,
\t`status` text DEFAULT 'draft' NOT NULL,
\t`version` integer DEFAULT 1 NOT NULL,
\t`sort_order` integer DEFAULT 0 NOT NULL,
\t`created_at` text NOT NULL,
\t`updated_at` text NOT NULL,
\t`deleted_at` text
);
CREATE INDEX `content_type_idx` ON `content` (`type`);
CREATE UNIQUE INDEX `content_type_slug_idx` ON `content` (`type`,`slug`);
CREATE INDEX `content_deleted_at_idx` ON `content` (`deleted_at`);
CREATE TABLE `content_history` (
\t`id` text PRIMARY KEY NOT NULL,
\t`content_id` text NOT NULL,
\t`version` integer NOT NULL,
\t`data` text NOT NULL,
\t`change_type` text NOT NULL,
\t`changed_by` text,
\t`change_summary` text,
\t`created_at` text NOT NULL,
\tFOREIGN KEY (`content_id`) REFERENCES `content`(`id`) ON UPDATE no action ON DELETE cascade
);
CREATE INDEX `content_history_version_idx` ON `content_history` (`content_id`,`version`);
CREATE INDEX `content_history_content_id_idx` ON `content_history` (`content_id`);
CREATE INDEX `content_history_change_type_idx` ON `content_history` (`change_type`);
CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (
\tid SERIAL PRIMARY KEY,
\thash text NOT NULL,
\tcreated_at numeric
);
"""

T1, T2, T3, T4 = ("2025-01-02T09:00:00.000Z", "2025-01-03T09:00:00.000Z",
                  "2025-01-04T10:00:00.000Z", "2025-01-05T12:30:00.000Z")
FOLIONAUT_DATA = '{"title":"Folionaut","description":"A portfolio API with an AI chat","tags":["bun","drizzle"]}'
ABOUT_DATA = '{"title":"About me","body":"Backend engineer in Zürich who likes résumés"}'
#: Sample rows of the original database, table by table, in column order.
ORIGINAL_ROWS: dict[str, list[tuple[Any, ...]]] = {
    "__drizzle_migrations": [
        (1, "3f1c0e9a7b5d2c4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e", 1735689600000),
        (2, "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d", 1736294400000),
    ],
    "content": [
        ("content_V1StGXR8_Z5jdHi6B", "project", "folionaut", FOLIONAUT_DATA, "published", 3, 0, T1, T4, None),
        ("content_Uakgb_J5m9g-0JDMb", "about", "about", ABOUT_DATA, "published", 1, 0, T1, T1, None),
        ("content_2bYx8Q4kLmNpRsTuV", "project", "old-thing", '{"title":"Old thing"}', "archived", 2, 5, T2, T3, T3),
    ],
    "content_history": [
        ("hist_a1", "content_V1StGXR8_Z5jdHi6B", 1, '{"title":"Folionaut"}', "created", "admin", None, T1),
        ("hist_a2", "content_V1StGXR8_Z5jdHi6B", 2, '{"title":"Folionaut","description":"A portfolio API"}',
         "updated", "admin", "Added description", T2),
        ("hist_a3", "content_V1StGXR8_Z5jdHi6B", 3, FOLIONAUT_DATA, "updated", "admin", None, T4),
        ("hist_b1", "content_Uakgb_J5m9g-0JDMb", 1, ABOUT_DATA, "created", "admin", None, T1),
        ("hist_c1", "content_2bYx8Q4kLmNpRsTuV", 1, '{"title":"Old thing"}', "created", "admin", None, T2),
        ("hist_c2", "content_2bYx8Q4kLmNpRsTuV", 2, '{"title":"Old thing"}', "deleted", "admin", None, T3),
    ],
    "chat_sessions": [
        ("sess_k3J9", "visitor-1", "f00dbabe", "Mozilla/5.0", 2, "ended", T4, T4, "2025-01-05T13:00:00.000Z"),
    ],
    "chat_messages": [
        ("msg_1", "sess_k3J9", "user", "What did you build with Drizzle?", None, None, T4),
        ("msg_2", "sess_k3J9", "assistant", "Folionaut: a portfolio API.", 42, "gpt-4o-mini", T4),
    ],
}


def build_original_database(path: Path) -> Path:
    """An original-Folionaut database file: the drizzle DDL, its migration records and sample rows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(ORIGINAL_DDL)
        with conn:
            for table in ("__drizzle_migrations", "content", "content_history", "chat_sessions", "chat_messages"):
                rows = ORIGINAL_ROWS[table]
                marks = ", ".join("?" * len(rows[0]))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    finally:
        conn.close()
    return path
