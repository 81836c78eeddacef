"""The embedded SQLite backend on a real file: WAL, foreign keys, atomic batches, serialized writers."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from folionaut.core.errors import DatabaseError
from folionaut.storage.base import Statement
from folionaut.storage.errors import ConstraintViolation
from folionaut.storage.sqlite import BUSY_TIMEOUT_MS, SQLiteDatabase
from folionaut.storage.sqltext import split_statements


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[SQLiteDatabase]:
    database = await SQLiteDatabase.open(tmp_path / "nested" / "test.db")  # parent dirs are created
    await database.execute_script(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);\n"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL "
        "REFERENCES parent (id) ON DELETE CASCADE);"
    )
    yield database
    await database.close()


async def test_pragmas(db: SQLiteDatabase) -> None:
    assert (await db.fetch_one("PRAGMA journal_mode")) == {"journal_mode": "wal"}
    assert (await db.fetch_one("PRAGMA foreign_keys")) == {"foreign_keys": 1}
    assert (await db.fetch_one("PRAGMA busy_timeout")) == {"timeout": BUSY_TIMEOUT_MS}


async def test_execute_fetch_and_foreign_key_cascade(db: SQLiteDatabase) -> None:
    inserted = await db.execute("INSERT INTO parent (name) VALUES (?)", ("a",))
    assert inserted.rows_affected == 1 and inserted.last_insert_rowid == 1
    await db.execute("INSERT INTO child (parent_id) VALUES (1)")
    with pytest.raises(ConstraintViolation):
        await db.execute("INSERT INTO child (parent_id) VALUES (99)")  # foreign keys are enforced
    await db.execute("DELETE FROM parent WHERE id = 1")
    assert await db.fetch_all("SELECT * FROM child") == []
    assert await db.fetch_one("SELECT * FROM parent") is None


async def test_batch_is_all_or_nothing(db: SQLiteDatabase) -> None:
    with pytest.raises(ConstraintViolation):
        await db.batch([Statement("INSERT INTO parent (name) VALUES ('x')"),
                        Statement("INSERT INTO parent (name) VALUES ('x')")])
    with pytest.raises(DatabaseError):
        await db.batch([Statement("INSERT INTO parent (name) VALUES ('y')"), Statement("NOT SQL AT ALL")])
    assert await db.fetch_all("SELECT name FROM parent") == []
    results = await db.batch([Statement("INSERT INTO parent (name) VALUES (?)", (name,)) for name in "abc"])
    assert [r.rows_affected for r in results] == [1, 1, 1]


async def test_concurrent_writers_are_queued_not_busy(db: SQLiteDatabase) -> None:
    async def write(n: int) -> None:
        await db.batch([Statement("INSERT INTO parent (name) VALUES (?)", (f"p{n}",)),
                        Statement("INSERT INTO child (parent_id) VALUES (last_insert_rowid())")])

    await asyncio.gather(*(write(n) for n in range(50)))
    assert (await db.fetch_one("SELECT count(*) AS n FROM child")) == {"n": 50}


async def test_readers_see_a_consistent_snapshot_while_writing(db: SQLiteDatabase) -> None:
    await db.execute("INSERT INTO parent (name) VALUES ('before')")

    async def writer() -> None:
        for n in range(30):
            await db.batch([Statement("INSERT INTO parent (name) VALUES (?)", (f"w{n}",)),
                            Statement("INSERT INTO child (parent_id) VALUES (last_insert_rowid())")])

    async def reader() -> None:
        for _ in range(30):
            parents, children = await db.read_batch([Statement("SELECT count(*) AS n FROM parent"),
                                                     Statement("SELECT count(*) AS n FROM child")])
            assert parents[0]["n"] == children[0]["n"] + 1  # never half a batch

    await asyncio.gather(writer(), reader(), reader())


async def test_closed_database_refuses_writes(tmp_path: Path) -> None:
    database = await SQLiteDatabase.open(tmp_path / "closed.db")
    await database.close()
    with pytest.raises(DatabaseError):
        await database.execute("SELECT 1")


async def test_readiness_probes_keep_the_wal_safe_from_other_processes(db: SQLiteDatabase) -> None:
    """A probe that opened and closed the database file itself would drop every POSIX lock this
    process holds on it; the next other process to close its connection (the sqlite3 shell,
    `folionaut dump`, another instance) would then take itself for the last one and delete the
    WAL under this server, whose later writes nobody else would ever see."""
    await db.execute("INSERT INTO parent (name) VALUES ('before')")
    await db.ping()
    other = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); print(c.execute('SELECT count(*) FROM parent')" \
            ".fetchone()[0]); c.close()"
    reader = [sys.executable, "-c", other, str(db.path)]

    def count_from_another_process() -> str:
        return subprocess.run(reader, capture_output=True, text=True, check=True, timeout=30).stdout.strip()

    assert await asyncio.to_thread(count_from_another_process) == "1"
    assert await asyncio.to_thread(Path(f"{db.path}-wal").exists)
    await db.execute("INSERT INTO parent (name) VALUES ('after')")
    assert await asyncio.to_thread(count_from_another_process) == "2"


async def test_opening_waits_for_a_process_holding_the_file_in_the_rollback_journal(tmp_path: Path) -> None:
    # What a restore does while it loads (run_script): the rollback journal, the file held. A server
    # started meanwhile must wait for it rather than stop with "database is locked".
    path = tmp_path / "restoring.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA journal_mode = DELETE")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")  # as run_script: SQLite then refuses at once instead of waiting
    holder.execute("INSERT INTO t VALUES (1)")
    opening = asyncio.create_task(SQLiteDatabase.open(path))
    try:
        await asyncio.sleep(0.5)
        assert not opening.done()  # waiting, not failed
        holder.execute("COMMIT")
        holder.close()
        db = await asyncio.wait_for(opening, 10)
    finally:
        if not opening.done():
            opening.cancel()
    try:
        assert (await db.fetch_one("PRAGMA journal_mode")) == {"journal_mode": "wal"}
        assert (await db.fetch_one("SELECT count(*) AS n FROM t")) == {"n": 1}
    finally:
        await db.close()


def test_split_statements_keeps_comments_out_and_splits_a_line_of_two() -> None:
    script = ("BEGIN;\nINSERT INTO t VALUES('a;b'); /* c; d */ ATTACH 'x' AS y;\n"
              "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n SELECT 1; SELECT 2;\nEND;\nCOMMIT; -- end; really\n")
    assert split_statements(script) == [
        (1, "BEGIN;"), (2, "INSERT INTO t VALUES('a;b');"), (2, "/* c; d */ ATTACH 'x' AS y;"),
        (3, "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n SELECT 1; SELECT 2;\nEND;"), (6, "COMMIT;"),
    ]
