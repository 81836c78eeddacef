"""The file side of backups: `folionaut dump` and `folionaut restore` as operators use them.

The SQL is storage's (``storage/dump.py`` renders one consistent snapshot,
``storage/binary_copy.py`` copies one as an SQLite file, ``storage/restore.py``
loads either all or nothing); this module reads and writes the files: strftime
names, gzip, retention (``--keep``), and atomic writes — a temporary file in the
same directory, fsync, rename (or, unless ``--force``, a link that fails when
the name is taken), fsync of the directory — so a crashed or killed dump never
leaves a partial backup under the final name, nor replaces one by surprise.
The database is opened read-only: a dump works on a data directory it may not
write to.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

from folionaut.core.errors import AppError, DatabaseError
from folionaut.runtime import Runtime
from folionaut.settings import Settings
from folionaut.storage import Database
from folionaut.storage.adopt import table_names
from folionaut.storage.binary_copy import write_sqlite_copy
from folionaut.storage.dump import dump_database
from folionaut.storage.restore import RestoreResult, restore_dump

__all__ = [
    "STALL_ENV", "BackupExistsError", "atomic_write", "encode_dump", "has_time_fields", "output_path",
    "prune_dumps", "read_snapshot", "restore_file", "snapshot_of", "write_sqlite_file", "write_stdout",
]

Progress = Callable[[str], None]

_WRITE_CHUNK = 1 << 20
#: Test hook: seconds to pause after writing the temp file, before the rename,
#: so a test can kill a dump at exactly that point. Never set in production.
STALL_ENV = "FOLIONAUT_TEST_DUMP_STALL"


async def read_snapshot(settings: Settings, progress: Progress | None = None) -> bytes:
    """The configured database as SQL text; refuses one that is missing or not Folionaut's.

    A cron job must not quietly back up an empty database created by a typo in the data dir.
    """
    _require_file(settings)
    async with _opened(settings, read_only=True) as database:
        return await snapshot_of(database, progress)


@contextlib.asynccontextmanager
async def _opened(settings: Settings, *, read_only: bool) -> AsyncIterator[Database]:
    """The runtime's storage layer, which imports nothing of the service (aiohttp, chat, MCP: half of
    a dump's start-up time once; tests/operations/test_lean_commands.py keeps it so)."""
    async with Runtime.storage_only(settings, read_only=read_only) as runtime:
        yield runtime.database


def _require_file(settings: Settings) -> None:
    if not settings.uses_libsql and not settings.database_path.exists():
        raise DatabaseError(f"database file {settings.database_path} does not exist; nothing to dump")


async def write_sqlite_file(settings: Settings, destination: Path, progress: Progress | None = None) -> None:
    """The configured database as a new SQLite file at ``destination`` (one consistent snapshot)."""
    _require_file(settings)
    async with _opened(settings, read_only=True) as database:
        if "content" not in await table_names(database):
            raise DatabaseError("the database has no Folionaut tables (wrong database?); nothing to dump")
        if progress:
            progress("copying one consistent snapshot")
        await write_sqlite_copy(database, destination)


async def snapshot_of(database: Database, progress: Progress | None = None) -> bytes:
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
    async with _opened(settings, read_only=False) as database:
        return await restore_dump(database, raw, force=force, progress=progress)


def encode_dump(data: bytes, *, compress: bool) -> bytes:
    # mtime=0: no timestamp in the gzip header, so the same data gives the same bytes.
    return gzip.compress(data, mtime=0) if compress else data


def output_path(pattern: str, now: datetime | None = None) -> Path:
    """Expand strftime fields (``backup-%Y%m%d.sql``) in local time, as cron users expect."""
    if "%" not in pattern:
        return Path(pattern)
    return Path((now or datetime.now()).strftime(pattern))


class BackupExistsError(AppError):
    """The dump's name is taken and ``--force`` was not given."""


def atomic_write(path: Path, data: bytes, progress: Callable[[str], None] | None = None, *,
                 replace: bool = True) -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either the old file or all of the new one.
    Unless ``replace``, an existing ``path`` is left alone (``BackupExistsError``)."""

    def fill(handle: object) -> None:
        for start in range(0, len(data), _WRITE_CHUNK):
            handle.write(data[start:start + _WRITE_CHUNK])  # type: ignore[attr-defined]
            if progress:
                progress(f"wrote {min(start + _WRITE_CHUNK, len(data))} of {len(data)} bytes")

    atomic_write_with(path, fill, replace=replace)


def atomic_write_with(path: Path, fill: Callable[[object], None], *, replace: bool = True) -> None:
    """Atomically publish at ``path`` what ``fill(binary file)`` writes (temp file, fsync, rename or link)."""
    directory = path.parent
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
            _stall_for_tests()
        _publish(temp_name, path, replace)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        raise
    _fsync_directory(directory)


def _publish(temp_name: str, path: Path, replace: bool) -> None:
    if replace:
        os.replace(temp_name, path)
        return
    try:
        os.link(temp_name, path)  # fails when the name is taken, even by a file made a moment ago
    except FileExistsError:
        raise BackupExistsError(f"{path} already exists; use --force to replace it, or another --output") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if path.exists():  # a file system without hard links: check, then rename
            raise BackupExistsError(f"{path} already exists; use --force to replace it, or another --output") from None
        os.replace(temp_name, path)
        return
    os.unlink(temp_name)


def copy_file_into(handle: object, source: Path, *, compress: bool) -> None:
    """Stream ``source`` into an open binary file, gzip'd (without a timestamp) when asked."""
    with open(source, "rb") as stream:
        if compress:
            with gzip.GzipFile(fileobj=handle, mode="wb", mtime=0) as zipped:  # type: ignore[call-overload]
                shutil.copyfileobj(stream, zipped, _WRITE_CHUNK)
        else:
            shutil.copyfileobj(stream, handle, _WRITE_CHUNK)  # type: ignore[arg-type]


# --- retention (--keep) ------------------------------------------------------------------

#: What each strftime field of an --output name can expand to; a name matches the pattern when
#: every field matches what it could have been written as.
_FIELD_PATTERNS = {
    "Y": r"\d{4}", "G": r"\d{4}", "y": r"\d{2}", "m": r"\d{2}", "d": r"\d{2}", "e": r"[ \d]\d", "H": r"\d{2}",
    "I": r"\d{2}", "M": r"\d{2}", "S": r"\d{2}", "j": r"\d{3}", "f": r"\d{6}", "U": r"\d{2}", "W": r"\d{2}",
    "V": r"\d{2}", "u": r"\d", "w": r"\d", "s": r"\d+", "z": r"[+-]\d{4}", "Z": r"[A-Za-z0-9_+-]*",
    "a": r"[^\W\d_]+", "A": r"[^\W\d_]+", "b": r"[^\W\d_]+", "B": r"[^\W\d_]+", "h": r"[^\W\d_]+",
    "p": r"[^\W\d_]+", "F": r"\d{4}-\d{2}-\d{2}", "T": r"\d{2}:\d{2}:\d{2}", "R": r"\d{2}:\d{2}",
    "D": r"\d{2}/\d{2}/\d{2}",
}
_FIELD = re.compile(r"%(.)")


def has_time_fields(pattern: str) -> bool:
    """Whether an --output name (its last part) holds a strftime field, so dumps of it differ by name."""
    return any(field != "%" for field in _FIELD.findall(Path(pattern).name))


def name_pattern(pattern: str) -> re.Pattern[str]:
    """A regular expression matching every file name the last part of ``pattern`` can expand to."""
    parts, last = [], 0
    name = Path(pattern).name
    for match in _FIELD.finditer(name):
        parts.append(re.escape(name[last:match.start()]))
        field = match.group(1)
        parts.append("%" if field == "%" else _FIELD_PATTERNS.get(field, r".+?"))
        last = match.end()
    parts.append(re.escape(name[last:]))
    return re.compile("".join(parts))


def prune_dumps(pattern: str, written: Path, keep: int) -> list[Path]:
    """Delete the older dumps whose names ``pattern`` could have made, in ``written``'s directory,
    keeping the ``keep`` newest (``written`` always among them); return those deleted.
    Newest by modification time, then by name."""
    matches = name_pattern(pattern).fullmatch
    others = [path for path in written.parent.iterdir()
              if path.name != written.name and matches(path.name) and path.is_file() and not path.is_symlink()]
    others.sort(key=lambda path: (path.stat().st_mtime_ns, path.name), reverse=True)
    deleted = []
    for path in others[max(keep - 1, 0):]:
        path.unlink()
        deleted.append(path)
    return deleted


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


def file_to_stdout(source: Path, *, compress: bool) -> None:
    copy_file_into(sys.stdout.buffer, source, compress=compress)
    sys.stdout.buffer.flush()
