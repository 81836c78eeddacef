"""A database migrated by a newer Folionaut: serve, migrate and restore stop with one line naming both
versions (exit 2), check fails, and nothing is changed. Real processes on a real SQLite file."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
from pathlib import Path

from folionaut import __version__
from folionaut.storage.migrate import available_migrations
from tests.cli.conftest import run_cli

LATEST = available_migrations()[-1]
OURS = f"{LATEST.version:04d}_{LATEST.name}"
FUTURE = "9001_from_a_newer_build"


def newer_database(workdir: Path) -> Path:
    assert run_cli(["migrate"], workdir).returncode == 0
    db_file = workdir / "data" / "folionaut.db"
    with sqlite3.connect(db_file) as conn:
        conn.execute("INSERT INTO folionaut_migrations (version, name, applied_at) VALUES "
                     "(9001, 'from_a_newer_build', '2031-01-01T00:00:00.000Z')")
    conn.close()
    return db_file


def fingerprint(directory: Path) -> str:
    """The database file's bytes, and that no write-ahead log holds changes. (A read-only connection leaves
    SQLite's empty -wal and -shm bookkeeping files behind, which it may not delete.)"""
    wal = directory / "folionaut.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    return hashlib.sha256((directory / "folionaut.db").read_bytes()).hexdigest()


def contents(directory: Path) -> list[object]:
    """What a refused restore must leave as it was: the schema, every row, the WAL journal mode. (Not the
    file's bytes: the load ran through the rollback journal, which moves the header's change counter.)"""
    conn = sqlite3.connect(directory / "folionaut.db")
    try:
        schema = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").fetchall()
        tables = [name for kind, name, _ in schema if kind == "table" and not name.startswith("sqlite_")]
        rows = [sorted(map(repr, conn.execute(f'SELECT * FROM "{name}"'))) for name in tables]
        return [schema, rows, conn.execute("PRAGMA journal_mode").fetchone()]
    finally:
        conn.close()


def assert_refused(result: subprocess.CompletedProcess[str], where: str = "the database") -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert lines[-1:] == [f"folionaut: {where} is at migration {FUTURE}, newer than this folionaut {__version__} "
                          f"knows (up to {OURS}): upgrade folionaut, or restore a backup this version made"], lines
    assert not [line for line in lines if line.startswith("folionaut: ")][:-1], lines  # one error line


def test_serve_migrate_and_check_refuse_and_change_nothing(workdir: Path) -> None:
    db_file = newer_database(workdir)
    before = fingerprint(db_file.parent)

    serve = run_cli(["serve", "--port", "0"], workdir)
    assert_refused(serve)
    assert "listening" not in serve.stderr
    assert_refused(run_cli(["serve", "--port", "0", "--workers", "2"], workdir))
    assert_refused(run_cli(["migrate"], workdir))
    assert_refused(run_cli(["migrate", "--dry-run"], workdir))
    status = run_cli(["migrate", "--status"], workdir)
    assert_refused(status)
    assert status.stdout.splitlines()[-1] == f"applied  {FUTURE}  2031-01-01T00:00:00.000Z  (unknown to this build)"

    check = run_cli(["check"], workdir)
    assert check.returncode == 1
    assert (f"fail  migrations  the database is at migration {FUTURE}, newer than this folionaut {__version__} "
            f"knows (up to {OURS}): upgrade folionaut, or restore a backup this version made"
            ) in check.stdout.splitlines()
    assert fingerprint(db_file.parent) == before


def test_a_dump_from_a_newer_build_is_refused(workdir: Path, tmp_path: Path) -> None:
    newer = tmp_path / "newer"
    newer.mkdir()
    newer_database(newer)
    assert run_cli(["dump", "--output", str(tmp_path / "newer.sql")], newer).returncode == 0  # reading is harmless
    assert run_cli(["migrate"], workdir).returncode == 0
    before = contents(workdir / "data")
    assert_refused(run_cli(["restore", "--force", str(tmp_path / "newer.sql")], workdir), "the dump")
    assert contents(workdir / "data") == before
    assert before[2] == ("wal",)


def test_restore_into_a_newer_database_refuses(workdir: Path, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    assert run_cli(["migrate"], source).returncode == 0
    assert run_cli(["dump", "--output", "backup.sql"], source).returncode == 0
    db_file = newer_database(workdir)
    before = fingerprint(db_file.parent)
    assert_refused(run_cli(["restore", "--force", str(source / "backup.sql")], workdir),
                   "the database to restore into")
    assert fingerprint(db_file.parent) == before
