"""A key-value store every worker of one server shares without Redis: a small SQLite file.

``folionaut serve --workers N`` without Redis still needs one place for what
``records`` holds — idempotency records, chat-session claims, MCP sessions —
or a session opened on one worker would be unknown to the next. The file lives
in the group's private directory (``/dev/shm`` where there is one: memory, not
disk), in WAL mode; each operation is one short statement (a few
microseconds; ``increment`` a short write transaction), run directly rather
than on a thread, and ``set_if_absent`` is one ``INSERT … ON CONFLICT`` that
only replaces an expired row, so both are atomic across the workers. Expired
rows are swept now and then by the writers.

Expiry is by ``Clock.monotonic`` (CLOCK_MONOTONIC: one clock for every process
on the host), as the in-process store's.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from folionaut.core.clock import Clock

__all__ = ["FileKeyValueStore"]

_SWEEP_EVERY = 1000  # writes
_BUSY_TIMEOUT_SECONDS = 5.0


class FileKeyValueStore:
    def __init__(self, path: Path, clock: Clock) -> None:
        self._clock = clock
        self._db = sqlite3.connect(str(path), timeout=_BUSY_TIMEOUT_SECONDS, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = OFF")  # tmpfs, and nothing here outlives the server anyway
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, "
                         "expires REAL NOT NULL)")
        self._writes = 0

    async def get(self, key: str) -> bytes | None:
        row = self._db.execute("SELECT value FROM kv WHERE key = ? AND expires > ?",
                               (key, self._clock.monotonic())).fetchone()
        return None if row is None else bytes(row[0])

    async def set(self, key: str, value: bytes, ttl_seconds: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)",
                         (key, value, self._clock.monotonic() + ttl_seconds))
        self._wrote()

    async def set_if_absent(self, key: str, value: bytes, ttl_seconds: float) -> bool:
        now = self._clock.monotonic()
        cursor = self._db.execute(
            "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
            "WHERE kv.expires <= ?",
            (key, value, now + ttl_seconds, now))
        self._wrote()
        return cursor.rowcount == 1

    async def delete(self, key: str) -> None:
        self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    async def increment(self, key: str, amount: int, ttl_seconds: float) -> int:
        # One write transaction: an absent or expired counter starts at 0 with a fresh TTL, else keeps its TTL.
        now = self._clock.monotonic()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT value FROM kv WHERE key = ? AND expires > ?", (key, now)).fetchone()
            total = (int(bytes(row[0])) if row is not None else 0) + amount
            if row is None:
                self._db.execute("INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)",
                                 (key, str(total).encode(), now + ttl_seconds))
            else:
                self._db.execute("UPDATE kv SET value = ? WHERE key = ?", (str(total).encode(), key))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._wrote()
        return total

    async def close(self) -> None:
        self._db.close()

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY == 0:
            self._db.execute("DELETE FROM kv WHERE expires <= ?", (self._clock.monotonic(),))
