"""The journal a SQLite file is in: the write-ahead log while the service runs, the rollback journal
for a bulk load (``SQLiteDatabase.run_script``: WAL would write every page twice), and what opening the
file must know of both (a process holding it in the rollback journal, a write cut short, a log that
a read-only open cannot index)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import aiosqlite

from folionaut.core.errors import DatabaseUnavailableError
from folionaut.core.logging import get_logger

__all__ = ["BUSY_TIMEOUT_MS", "WAL_SWITCH_WAIT_SECONDS", "back_to_wal", "complete_without_log", "into_wal",
           "refuse_interrupted_write", "use_rollback_journal"]

log = get_logger("storage")

BUSY_TIMEOUT_MS = 5000
#: How long opening waits for a process holding the file in the rollback journal (a restore) to finish.
WAL_SWITCH_WAIT_SECONDS = 60.0
_WAL_SWITCH_POLL_SECONDS = 0.05


def complete_without_log(path: Path) -> bool:
    """Whether a database that a read-only connection could not open may be read as ``immutable``: its
    directory is not writable (so no index of a write-ahead log can be made, nor can anyone be writing
    through one) and no log holds changes. ``DatabaseUnavailableError`` when one does."""
    if os.access(path.parent, os.W_OK):
        return False
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise DatabaseUnavailableError(
            f"SQLite: cannot read {path}: its write-ahead log {wal} holds changes, and {path.parent} is not "
            "writable for the log's index; dump it as the database's owner")
    refuse_interrupted_write(path)
    return True


def refuse_interrupted_write(path: Path) -> None:
    """``DatabaseUnavailableError`` if a rollback journal beside ``path`` holds a write that was cut short
    (a restore or a crash while it loaded): only a connection that may write rolls it back."""
    journal = Path(f"{path}-journal")
    if journal.exists() and journal.stat().st_size > 0:
        raise DatabaseUnavailableError(
            f"SQLite: cannot read {path}: {journal.name} holds a write that was cut short (an interrupted restore?); "
            "start `folionaut serve` or run `folionaut migrate` once as the database's owner to roll it back")


async def use_rollback_journal(conn: aiosqlite.Connection) -> bool:
    """Switch a WAL database to the rollback journal (synchronous FULL, as SQLite's default) if no
    other connection has it open; False, changing nothing, if one does (it is not waited for)."""
    await conn.execute("PRAGMA busy_timeout = 0")
    try:
        async with conn.execute("PRAGMA journal_mode = DELETE") as cursor:
            row = await cursor.fetchone()
    except sqlite3.OperationalError:  # "database is locked": another process, e.g. a running server
        return False
    finally:
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if row is None or str(row["journal_mode"]).lower() != "delete":
        return False
    await conn.execute("PRAGMA synchronous = FULL")
    return True


async def into_wal(conn: aiosqlite.Connection, path: Path) -> None:
    """``PRAGMA journal_mode = WAL``, waiting (bounded) while another process holds the file in the
    rollback journal — a restore loading it (``run_script``): leaving that mode needs the file to itself,
    and SQLite does not wait for it the way it waits for a lock (``busy_timeout``)."""
    polls = int(WAL_SWITCH_WAIT_SECONDS / _WAL_SWITCH_POLL_SECONDS)
    for poll in range(polls + 1):
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or poll == polls:
                raise
            if poll == 0:
                log.info("waiting for another process (a restore?) to finish with %s", path.name)
            await asyncio.sleep(_WAL_SWITCH_POLL_SECONDS)


async def back_to_wal(conn: aiosqlite.Connection, path: Path) -> None:
    """Undo ``use_rollback_journal``. Best effort: the load is committed by now, and whoever opens the
    file next sets WAL again (``into_wal``) if a process that opened it meanwhile keeps this from it."""
    try:
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.Error as exc:
        log.warning("%s stays in rollback-journal mode until it is next opened: %s", path, exc)
