"""`folionaut dump --format sqlite`: the database as an SQLite file, and back to SQL for `restore`.

The embedded database is copied with ``VACUUM INTO`` on a read-only connection:
one read transaction, so one consistent snapshot, compacted, and nothing written
beside the source. A libSQL database has no file to copy here: its SQL dump (also
one snapshot) is loaded into a new SQLite file instead. ``restore`` recognises
such a file by SQLite's header and reads it back as the same SQL a text dump
holds, so both formats load through the same checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import tempfile
from pathlib import Path

from folionaut.core.errors import DatabaseError
from folionaut.storage.base import Database
from folionaut.storage.dump import dump_database
from folionaut.storage.sqlite import SQLITE_HEADER, SQLiteDatabase

__all__ = ["SQLITE_HEADER", "sql_of_database_file", "write_sqlite_copy"]


def _load_script(destination: Path, script: bytes) -> None:
    conn = sqlite3.connect(destination, isolation_level=None)
    try:
        conn.executescript(script.decode("utf-8"))
    finally:
        conn.close()


async def write_sqlite_copy(db: Database, destination: Path) -> None:
    """A consistent copy of ``db`` as a new SQLite file at ``destination`` (which must not exist)."""
    if isinstance(db, SQLiteDatabase):
        await db.copy_into(destination)
    else:
        await asyncio.to_thread(_load_script, destination, await dump_database(db))


async def sql_of_database_file(raw: bytes) -> bytes:
    """The SQL dump of an SQLite database file's bytes (``dump --format sqlite``)."""
    with tempfile.TemporaryDirectory(prefix="folionaut-restore-") as directory:
        path = Path(directory) / "restore.db"
        await asyncio.to_thread(path.write_bytes, raw)
        db = await SQLiteDatabase.open(path, readers=1, read_only=True)
        try:
            tables = {row["name"] for row in await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "content" not in tables:
                raise DatabaseError("the SQLite file has no Folionaut tables (not a Folionaut database?)")
            return await dump_database(db)
        finally:
            with contextlib.suppress(Exception):
                await db.close()
