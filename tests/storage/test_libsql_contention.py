"""Lock contention on libSQL: concurrent writers against a Hrana server whose streams really contend.

The Hrana test server runs every stream on its own SQLite connection and thread
(as sqld does), so concurrent batches fight for SQLite's one write lock. Every
batch here reads before it writes — the shape that, in a deferred transaction,
must upgrade its lock and is refused when another writer got there first.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from folionaut.core.errors import DatabaseUnavailableError
from folionaut.storage.base import Statement
from folionaut.storage.libsql import LibSQLDatabase
from tests.helpers.backends import TEST_AUTH_TOKEN
from tests.helpers.hrana_server import HranaServer

WRITERS = 12
STATEMENT_DELAY = 0.003  # each statement holds its locks this long: collisions are certain


@pytest.fixture(params=["http", "ws"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def open_db(server: HranaServer, transport: str, call_timeout: float = 5.0) -> LibSQLDatabase:
    url = server.url_http if transport == "http" else server.url_ws
    return await LibSQLDatabase.open(url, TEST_AUTH_TOKEN, connect_timeout=5, call_timeout=call_timeout)


@pytest.fixture
async def counter_db(tmp_path: Path) -> AsyncIterator[Path]:
    path = tmp_path / "contended.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        conn.execute("CREATE TABLE seen (n INTEGER NOT NULL UNIQUE)")
        conn.execute("INSERT INTO counter VALUES (1, 0)")
    yield path


def bump() -> list[Statement]:
    """Read, then write what was read: a lost update would repeat a number (UNIQUE refuses it)."""
    return [
        Statement("SELECT n FROM counter WHERE id = 1"),
        Statement("INSERT INTO seen (n) SELECT n + 1 FROM counter WHERE id = 1"),
        Statement("UPDATE counter SET n = n + 1 WHERE id = 1"),
    ]


async def run_writers(db: LibSQLDatabase) -> None:
    await asyncio.gather(*(db.batch(bump()) for _ in range(WRITERS)))
    assert await db.fetch_one("SELECT n FROM counter") == {"n": WRITERS}
    assert await db.fetch_one("SELECT count(*) AS c, max(n) AS top FROM seen") == {"c": WRITERS, "top": WRITERS}


async def test_busy_answers_are_waited_out(counter_db: Path, transport: str) -> None:
    # A server that answers SQLITE_BUSY the moment a lock is taken (no busy handler at all).
    async with HranaServer(counter_db, auth_token=TEST_AUTH_TOKEN, statement_delay=STATEMENT_DELAY) as server:
        db = await open_db(server, transport)
        try:
            await run_writers(db)
        finally:
            await db.close()
        # The writers did collide (so the retries were exercised), and none of it reached them.
        assert server.error_codes["SQLITE_BUSY"] > 0


async def test_write_lock_is_taken_up_front(counter_db: Path, transport: str) -> None:
    # With a busy handler on the server, a transaction that takes the write lock at BEGIN waits
    # for it there; a deferred one would read first and then be refused its upgrade (SQLITE_BUSY).
    async with HranaServer(counter_db, auth_token=TEST_AUTH_TOKEN, statement_delay=STATEMENT_DELAY,
                           busy_timeout_ms=5_000) as server:
        db = await open_db(server, transport)
        try:
            await run_writers(db)
        finally:
            await db.close()
        assert not [code for code in server.error_codes if code.startswith("SQLITE_BUSY")], server.error_codes


async def test_a_lock_held_too_long_is_an_outage_not_a_hang(counter_db: Path, transport: str) -> None:
    async with HranaServer(counter_db, auth_token=TEST_AUTH_TOKEN) as server:
        db = await open_db(server, transport, call_timeout=0.4)
        holder = sqlite3.connect(counter_db, isolation_level=None)
        try:
            holder.execute("BEGIN IMMEDIATE")  # someone else keeps the write lock
            with pytest.raises(DatabaseUnavailableError) as caught:
                await db.batch(bump())
            assert "still locked by other writers after 0.4 s" in caught.value.message
            # Reads are not blocked by a writer (WAL), and the write goes through once the lock is free.
            assert await db.fetch_one("SELECT n FROM counter") == {"n": 0}
            holder.execute("ROLLBACK")
            await db.batch(bump())
            assert await db.fetch_one("SELECT n FROM counter") == {"n": 1}
        finally:
            holder.close()
            await db.close()
