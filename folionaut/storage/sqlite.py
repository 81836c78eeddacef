"""Embedded SQLite backend on aiosqlite.

WAL mode so readers never wait for the writer; one writer connection guarded by
an asyncio lock (SQLite allows one writer at a time, and queuing writers here
instead of in SQLite means no SQLITE_BUSY ever reaches a client); a small pool
of reader connections used concurrently.

Opened ``read_only`` (``dump``, ``check``, ``migrate --status``), nothing on disk
changes: no directory or file is created, no journal mode set, and there is no
writer. Such a connection needs the write-ahead log's index (``-shm``) to exist or
be creatable; in a directory this process may not write, a database with no
``-wal`` file is complete in its main file, and is read as ``immutable`` (no
locks, no index). With a ``-wal`` file that cannot be indexed, it is refused with
the reason, since reading around the log would miss committed changes.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from folionaut.core.errors import DatabaseError, DatabaseUnavailableError
from folionaut.core.logging import get_logger
from folionaut.storage.base import ExecResult, Params, Row, Statement
from folionaut.storage.errors import ConstraintViolation
from folionaut.storage.sqlite_journal import (
    BUSY_TIMEOUT_MS,
    back_to_wal,
    complete_without_log,
    into_wal,
    refuse_interrupted_write,
    use_rollback_journal,
)
from folionaut.storage.sqltext import split_statements

__all__ = ["BUSY_TIMEOUT_MS", "SCRIPT_BEGIN", "SQLITE_HEADER", "Authorizer", "SQLiteDatabase"]

log = get_logger("storage")

T = TypeVar("T")
#: Page cache during a bulk load, in KiB (negative: SQLite's unit for "kibibytes").
_BULK_CACHE_SIZE = -262_144
SQLITE_HEADER = b"SQLite format 3\x00"
#: How ``run_script`` opens its transaction (part of the script: Python's executescript commits one open before).
SCRIPT_BEGIN = "BEGIN IMMEDIATE;\n"


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


def _translate(exc: BaseException, path: Path | None = None) -> Exception:
    if isinstance(exc, sqlite3.IntegrityError):
        return ConstraintViolation(str(exc))
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        text = str(exc)
        if "unable to open" in text or "disk I/O" in text or "readonly" in text or "not a database" in text:
            # Opening: name the file, or the operator is left guessing which one.
            return DatabaseUnavailableError(f"SQLite: {path}: {text}" if path is not None else f"SQLite: {text}")
        return DatabaseError(f"SQLite: {text}")
    return DatabaseError(f"SQLite: {exc}")


def _read_only_uri(path: Path) -> str:
    """The URI that reads ``path`` without changing anything on disk: ``mode=ro``, or ``immutable``
    when only that can read it (see the module's docstring)."""
    if not path.is_file():
        raise DatabaseUnavailableError(f"SQLite: database file {path} does not exist")
    location = "file:" + urllib.parse.quote(str(path.absolute()))
    for uri in (location + "?mode=ro", location + "?mode=ro&immutable=1"):
        try:
            conn = sqlite3.connect(uri, uri=True)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            finally:
                conn.close()
            return uri
        except sqlite3.Error as exc:
            if "readonly" in str(exc):  # SQLITE_READONLY_ROLLBACK: a journal that a read-only open cannot roll back
                refuse_interrupted_write(path)
            if uri.endswith("immutable=1") or not complete_without_log(path):
                raise _translate(exc, path) from exc
    raise AssertionError("unreachable")


#: SQLite's authorizer callback: (action, arg1, arg2, database, trigger or view) -> SQLITE_OK/IGNORE/DENY.
Authorizer = Callable[[int, str | None, str | None, str | None, str | None], int]


def _after_first_statement(authorizer: Authorizer) -> Authorizer:
    """``authorizer`` for every statement but the first (``run_script``'s own ``BEGIN``)."""
    first = True

    def authorize(action: int, arg1: str | None, arg2: str | None, database: str | None,
                  trigger: str | None) -> int:
        nonlocal first
        if first and action == sqlite3.SQLITE_TRANSACTION:
            first = False
            return sqlite3.SQLITE_OK
        return authorizer(action, arg1, arg2, database, trigger)

    return authorize


class SQLiteDatabase:
    backend = "sqlite"
    outcome_can_be_unknown = False  # in process: a write either returned or raised

    def __init__(self, path: Path, readers: int = 3, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self._uri: str | None = None  # the URI read-only connections open
        self._reader_count = readers
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._write_lock = asyncio.Lock()
        self._file_identity: tuple[int, int] | None = None  # (st_dev, st_ino) of the file we opened
        # The readiness probe reads the header through this descriptor, kept open until close():
        # closing any descriptor of the file would drop every POSIX lock this process holds on it
        # (SQLite's included), and another process closing its connection would then delete the
        # WAL under us (sqlite.org/howtocorrupt.html, 2.2).
        self._probe_fd: int | None = None

    @classmethod
    async def open(cls, path: Path, readers: int = 3, *, read_only: bool = False,
                   private_directory: bool = False) -> SQLiteDatabase:
        """Open the database at ``path``: creating it if need be, its files made 0600 (drafts, chat
        transcripts, token hashes) and with ``private_directory`` its directory 0700 too (the data
        directory); ``read_only``: an existing file, nothing on disk changed."""
        db = cls(path, readers, read_only=read_only)
        try:
            if read_only:
                await db._connect_read_only()
            else:
                _make_private(path, private_directory)
                await db._connect()
        except BaseException:
            await db.close()
            raise
        return db

    async def _new_connection(self) -> aiosqlite.Connection:
        try:
            if self._uri is not None:
                conn = await aiosqlite.connect(self._uri, isolation_level=None, uri=True)
            else:
                conn = await aiosqlite.connect(str(self.path), isolation_level=None)
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        conn.row_factory = _dict_row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        return conn

    async def _connect_read_only(self) -> None:
        # Which URI reads this file is found with a plain connection first: an aiosqlite connect that
        # fails leaves its thread to report to a loop that may be closed by then (aiosqlite 0.22).
        self._uri = await asyncio.to_thread(_read_only_uri, self.path)
        await self._open_probe()
        await self._add_readers(self._reader_count)

    async def _add_readers(self, count: int) -> None:
        for _ in range(count):
            conn = await self._new_connection()
            try:  # opening is lazy: the first read says whether the file can be read
                async with conn.execute("SELECT count(*) FROM sqlite_master") as cursor:
                    await cursor.fetchone()
            except sqlite3.Error as exc:
                await conn.close()
                raise _translate(exc, self.path) from exc
            self._all_readers.append(conn)
            self._readers.put_nowait(conn)

    async def _open_probe(self) -> None:
        stat = os.stat(self.path)
        self._file_identity = (stat.st_dev, stat.st_ino)
        self._probe_fd = os.open(self.path, os.O_RDONLY)

    async def _connect(self) -> None:
        self._writer = await self._new_connection()
        try:
            await into_wal(self._writer, self.path)
            await self._writer.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        await self._open_probe()
        await self._add_readers(self._reader_count)

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._writer is None:
            raise DatabaseUnavailableError(
                f"database {self.path} is open read-only" if self.read_only else "database is closed")
        async with self._write_lock:
            yield self._writer

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        async with self._writing() as conn:
            try:
                cursor = await conn.execute(sql, tuple(params))
                result = ExecResult(cursor.rowcount, cursor.lastrowid)
                await cursor.close()
                return result
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        async with self._reader() as conn:
            try:
                async with conn.execute(sql, tuple(params)) as cursor:
                    return await cursor.fetchone()
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._reader() as conn:
            try:
                async with conn.execute(sql, tuple(params)) as cursor:
                    return list(await cursor.fetchall())
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc

    async def batch(self, statements: Sequence[Statement]) -> list[ExecResult]:
        async with self._writing() as conn:
            results: list[ExecResult] = []
            try:
                await conn.execute("BEGIN IMMEDIATE")
                for statement in statements:
                    cursor = await conn.execute(statement.sql, tuple(statement.params))
                    rows = list(await cursor.fetchall()) if cursor.description else []
                    results.append(ExecResult(cursor.rowcount, cursor.lastrowid, rows))
                    await cursor.close()
                await conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    await conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _translate(exc, self.path) from exc
                raise
            return results

    async def read_batch(self, statements: Sequence[Statement]) -> list[list[Row]]:
        async with self._reader() as conn:
            try:
                await conn.execute("BEGIN")
                try:
                    out = []
                    for statement in statements:
                        async with conn.execute(statement.sql, tuple(statement.params)) as cursor:
                            out.append(list(await cursor.fetchall()))
                    return out
                finally:
                    await conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc

    async def run_script(self, script: str, check: Callable[[Callable[[str], Awaitable[list[Row]]]], Awaitable[None]],
                         *, authorizer: Authorizer | None = None) -> None:
        """Load ``script`` in one write transaction, then ``check`` (given a query function reading inside
        that transaction), then commit; anything raised rolls the whole of it back.

        A bulk load, as the sqlite3 shell does one: the script runs in SQLite's own statement loop
        (``executescript``), not one statement per call to aiosqlite's thread, with a large page cache.
        Foreign keys are off while it runs (a dump may insert rows before it creates the table they
        refer to), so ``check`` must check them (``PRAGMA foreign_key_check``). When no other connection
        has the file open, the load goes through the rollback journal rather than the WAL, which would
        write every page twice (into the log, then into the database at the checkpoint); with a running
        server the WAL stays. This database's own reads wait meanwhile. ``authorizer`` (SQLite's, see
        ``sqlite3_set_authorizer``) sees every statement of the script, not its own ``BEGIN``; the
        script must not hold transaction control that the authorizer lets through.
        """
        async with self._writing() as conn, self._without_readers():
            try:
                async with conn.execute("PRAGMA cache_size") as cursor:
                    cache_size = (await cursor.fetchone() or {}).get("cache_size", -2000)
                await conn.execute(f"PRAGMA cache_size = {_BULK_CACHE_SIZE}")
                await conn.execute("PRAGMA foreign_keys = OFF")
                journal_switched = await use_rollback_journal(conn)
                try:
                    if authorizer is not None:
                        await conn.set_authorizer(_after_first_statement(authorizer))
                    try:
                        # A large script starts with SCRIPT_BEGIN already: prepending it would copy the whole text.
                        await conn.executescript(script if script.startswith(SCRIPT_BEGIN) else SCRIPT_BEGIN + script)
                    finally:
                        if authorizer is not None:
                            await conn.set_authorizer(None)

                    async def query(sql: str) -> list[Row]:
                        async with conn.execute(sql) as cursor:
                            return list(await cursor.fetchall())

                    await check(query)
                    await conn.execute("COMMIT")
                finally:
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    if journal_switched:
                        await back_to_wal(conn, self.path)
                    await conn.execute("PRAGMA foreign_keys = ON")
                    await conn.execute("PRAGMA writable_schema = OFF")  # a script may switch it on (sqlite3 .dump does)
                    await conn.execute(f"PRAGMA cache_size = {int(cache_size)}")
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc

    @asynccontextmanager
    async def _without_readers(self) -> AsyncIterator[None]:
        """This database's reader connections closed meanwhile (reads in flight finish first; new ones
        wait), so that only the writer has the file open; reopened afterwards."""
        count = len(self._all_readers)
        for _ in range(count):
            await (await self._readers.get()).close()
        self._all_readers = []
        try:
            yield
        finally:
            await self._add_readers(count)

    async def read_in_thread(self, read: Callable[[sqlite3.Connection], T]) -> T:
        """``read(connection)`` in a worker thread, on a read-only connection of its own, inside one read
        transaction: for bulk reads (``dump``), where aiosqlite's hop across threads per call and a dict
        per row would cost more than the reading."""
        uri = self._uri or "file:" + urllib.parse.quote(str(self.path.absolute())) + "?mode=ro"

        def run() -> T:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("BEGIN")
                try:
                    return read(conn)
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _translate(exc, self.path) from exc
            finally:
                conn.close()

        return await asyncio.to_thread(run)

    async def copy_into(self, destination: Path) -> None:
        """A consistent, compacted copy of the database as a new file (``VACUUM INTO``: one read
        transaction on a reader, so it works read-only and beside a running server)."""
        async with self._reader() as conn:
            try:
                await conn.execute("VACUUM INTO ?", (str(destination),))
            except sqlite3.Error as exc:
                raise DatabaseError(f"SQLite: cannot copy {self.path} to {destination}: {exc}") from exc

    async def execute_script(self, sql: str) -> None:
        await self.batch([Statement(text) for _, text in split_statements(sql)])

    async def ping(self) -> None:
        async with self._reader() as conn:
            try:
                async with conn.execute("SELECT count(*) AS n FROM sqlite_master") as cursor:
                    await cursor.fetchone()
            except sqlite3.Error as exc:
                raise DatabaseUnavailableError(f"SQLite: {exc}") from exc
        # Open connections keep answering from their file descriptors and page cache
        # even after the file is replaced, overwritten or made unreadable, so a query
        # alone would report a dead database as fine. Check the file itself too.
        await asyncio.to_thread(self._check_file)

    def _check_file(self) -> None:
        try:
            stat = os.stat(self.path)
            if self._file_identity is not None and (stat.st_dev, stat.st_ino) != self._file_identity:
                raise DatabaseUnavailableError(f"SQLite: database file {self.path} was replaced while open")
            if self._probe_fd is None:
                raise DatabaseUnavailableError("database is closed")
            # The same file as the path names (checked above), read without opening it anew.
            header = os.pread(self._probe_fd, len(SQLITE_HEADER), 0)
        except FileNotFoundError:
            raise DatabaseUnavailableError(f"SQLite: database file {self.path} is missing") from None
        except OSError as exc:
            raise DatabaseUnavailableError(f"SQLite: cannot read {self.path}: {exc.strerror}") from None
        if header != SQLITE_HEADER and not (self.read_only and header == b""):  # 0 bytes: SQLite's empty database
            raise DatabaseUnavailableError(f"SQLite: {self.path} is not a database (bad header)")

    async def close(self) -> None:
        connections = [*self._all_readers, *([self._writer] if self._writer else [])]
        self._writer = None
        self._all_readers = []
        for conn in connections:
            try:
                await conn.close()
            except Exception:  # closing must not fail shutdown
                pass
        if self._probe_fd is not None:  # last: closing it releases this process's locks on the file
            os.close(self._probe_fd)
            self._probe_fd = None


#: Files of a SQLite database in WAL mode: SQLite makes the -wal and -shm with the database file's mode.
_DATABASE_FILE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _make_private(path: Path, private_directory: bool) -> None:
    """The database readable by its owner only: a new file is created 0600 (an empty file is an empty
    database), existing ones (an older install's 0644, a restored copy) are narrowed."""
    directory = path.parent
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    elif private_directory:
        _narrow(directory, 0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError:
        return  # cannot create it: connecting reports why, in the usual words
    for suffix in _DATABASE_FILE_SUFFIXES:
        _narrow(Path(f"{path}{suffix}"), 0o600)


def _narrow(path: Path, mode: int) -> None:
    try:
        current = path.stat().st_mode & 0o777
    except OSError:
        return  # not there (no WAL yet), or not ours to look at
    if current & ~mode:
        try:
            os.chmod(path, current & mode)
        except PermissionError:  # not ours to change (another user's file): say so, keep serving
            log.warning("could not make %s private (mode %o)", path.name, current)
