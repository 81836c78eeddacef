"""The file side of backups: `folionaut dump` and `folionaut restore` as operators use them.

The SQL is storage's (``storage/dump.py`` renders one consistent snapshot,
``storage/restore.py`` loads one all or nothing); this module reads and writes
the files: strftime names, gzip, and atomic writes — a temporary file in the
same directory, fsync, rename, fsync of the directory — so a crashed or killed
dump never leaves a partial backup under the final name.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from folionaut.core.errors import DatabaseError
from folionaut.runtime import Runtime
from folionaut.settings import Settings
from folionaut.storage import Database
from folionaut.storage.adopt import table_names
from folionaut.storage.dump import dump_database
from folionaut.storage.restore import RestoreResult, restore_dump

__all__ = [
    "STALL_ENV", "atomic_write", "encode_dump", "output_path", "read_snapshot", "restore_file", "snapshot_of",
    "write_stdout",
]

Progress = Callable[[str], None]

_WRITE_CHUNK = 1 << 20
#: Test hook: seconds to pause after writing the temp file, before the rename,
#: so a test can kill a dump at exactly that point. Never set in production.
STALL_ENV = "FOLIONAUT_TEST_DUMP_STALL"


async def read_snapshot(settings: Settings, progress: Progress | None = None) -> str:
    """The configured database as SQL text; refuses one that is missing or not Folionaut's.

    A cron job must not quietly back up an empty database created by a typo in the data dir.
    """
    if not settings.uses_libsql and not settings.database_path.exists():
        raise DatabaseError(f"database file {settings.database_path} does not exist; nothing to dump")
    async with Runtime.storage_only(settings) as runtime:
        return await snapshot_of(runtime.database, progress)


async def snapshot_of(database: Database, progress: Progress | None = None) -> str:
    """An open database as dump text (one consistent snapshot): what `dump` writes and the
    admin web app downloads."""
    if "content" not in await table_names(database):
        raise DatabaseError("the database has no Folionaut tables (wrong database?); nothing to dump")
    if progress:
        progress("reading one consistent snapshot")
    return await dump_database(database)


async def restore_file(settings: Settings, raw: bytes, *, force: bool,
                       progress: Progress | None = None) -> RestoreResult:
    """Load a dump's bytes (plain or gzip'd) into the configured database, all or nothing."""
    async with Runtime.storage_only(settings) as runtime:
        return await restore_dump(runtime.database, raw, force=force, progress=progress)


def encode_dump(text: str, *, compress: bool) -> bytes:
    data = text.encode("utf-8")
    # mtime=0: no timestamp in the gzip header, so the same data gives the same bytes.
    return gzip.compress(data, mtime=0) if compress else data


def output_path(pattern: str, now: datetime | None = None) -> Path:
    """Expand strftime fields (``backup-%Y%m%d.sql``) in local time, as cron users expect."""
    if "%" not in pattern:
        return Path(pattern)
    return Path((now or datetime.now()).strftime(pattern))


def atomic_write(path: Path, data: bytes, progress: Callable[[str], None] | None = None) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either the old file or all of the new one."""
    directory = path.parent
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            for start in range(0, len(data), _WRITE_CHUNK):
                handle.write(data[start:start + _WRITE_CHUNK])
                if progress:
                    progress(f"wrote {min(start + _WRITE_CHUNK, len(data))} of {len(data)} bytes")
            handle.flush()
            os.fsync(handle.fileno())
            _stall_for_tests()
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _stall_for_tests() -> None:
    seconds = os.environ.get(STALL_ENV)
    if seconds:
        time.sleep(min(float(seconds), 120.0))


def write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
