"""`folionaut dump` of a data directory it may not write to, run as another user (the suite runs as root,
for whom permission bits mean nothing: the dump runs as `nobody` through setpriv), in a real process.

Each test first proves the directory really is unwritable for that user, then dumps: once with the
database's write-ahead log checkpointed away (read as immutable), once with committed changes still in
the log (read through it), and once with a file that user cannot read (the error names it)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.prerequisites import missing
from tests.operations.conftest import DB_FILE, REPO_ROOT, seed

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def as_other_user() -> list[str]:
    """The command prefix that makes a process an ordinary user with no rights on root's files."""
    if os.geteuid() != 0:
        return []  # already an ordinary user: permission bits apply
    if shutil.which("setpriv") is None:
        missing("as root, a read-only directory stops nobody, and setpriv is missing to run the command as "
                "another user: apt-get install util-linux, or run the tests as an ordinary user")
    return NOBODY


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory every user can read (pytest's tmp_path is private to root), removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="folionaut-ro-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def run_as_other_user(args: list[str], cwd: Path, data_dir: Path) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "LANG": "C.UTF-8",
           "PYTHONPATH": str(REPO_ROOT), "PYTHONDONTWRITEBYTECODE": "1", "FOLIONAUT_DATA_DIR": str(data_dir)}
    return subprocess.run([*as_other_user(), sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          timeout=120)


def assert_unwritable(directory: Path, cwd: Path) -> None:
    probe = run_as_other_user(["-c", f"open({str(directory / 'probe')!r}, 'w')"], cwd, directory)
    assert probe.returncode != 0 and b"Permission denied" in probe.stderr, probe.stderr
    assert not (directory / "probe").exists()


def read_only_data_dir(shared: Path) -> Path:
    data_dir = shared / "data"
    seed(data_dir, 40)
    for path in (data_dir, *data_dir.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)  # readable by all, writable by root only
    return data_dir


def test_dump_of_a_read_only_data_directory_to_stdout(shared_dir: Path) -> None:
    data_dir = read_only_data_dir(shared_dir)
    assert not Path(f"{data_dir / DB_FILE}-wal").exists()  # closed cleanly: everything is in the file
    before = sorted(os.listdir(data_dir))
    assert_unwritable(data_dir, shared_dir)

    done = run_as_other_user(["-m", "folionaut", "dump"], shared_dir, data_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"-- Folionaut dump") and b"content_000039" in done.stdout
    assert sorted(os.listdir(data_dir)) == before  # nothing made beside the database


def test_dump_reads_changes_still_in_the_write_ahead_log(shared_dir: Path) -> None:
    data_dir = read_only_data_dir(shared_dir)
    writer = sqlite3.connect(data_dir / DB_FILE)  # a server's connection, as root, keeping its log open
    try:
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        with writer:
            writer.execute("UPDATE content SET slug = 'only-in-the-log' WHERE id = 'content_000001'")
        wal, shm = Path(f"{data_dir / DB_FILE}-wal"), Path(f"{data_dir / DB_FILE}-shm")
        assert wal.stat().st_size > 0
        for path in (wal, shm):
            path.chmod(0o644)
        assert_unwritable(data_dir, shared_dir)
        output_dir = shared_dir / "out"
        output_dir.mkdir()
        output_dir.chmod(0o777)
        done = run_as_other_user(["-m", "folionaut", "dump", "--output", str(output_dir / "backup.sql")],
                                 shared_dir, data_dir)
        assert done.returncode == 0, done.stderr
        assert b"'only-in-the-log'" in (output_dir / "backup.sql").read_bytes()
    finally:
        writer.close()


def test_an_unreadable_database_is_named_in_the_error(shared_dir: Path) -> None:
    data_dir = read_only_data_dir(shared_dir)
    (data_dir / DB_FILE).chmod(0o600)
    assert_unwritable(data_dir, shared_dir)
    for args in (["dump"], ["dump", "--format", "sqlite", "--output", "-"]):
        done = run_as_other_user(["-m", "folionaut", *args], shared_dir, data_dir)
        assert done.returncode == 1, done.stderr
        lines = done.stderr.decode().strip().splitlines()
        assert len(lines) == 1 and str(data_dir / DB_FILE) in lines[0], lines
        assert done.stdout == b""
