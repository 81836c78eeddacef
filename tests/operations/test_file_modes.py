"""The database is its owner's only: the data directory 0700, the database, WAL and SHM files 0600, when
created by `serve` and after `restore`, and an older install's looser modes narrowed (issue 15)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import ServeProcess, clean_env
from tests.operations.conftest import DB_FILE, run_cli, seed


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The usual umask, under which the files used to come out 0755 and 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def database_files(data_dir: Path) -> list[Path]:
    return [path for path in data_dir.iterdir() if path.name.startswith(DB_FILE)]


def test_serve_creates_a_private_data_directory_and_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = ServeProcess(["--port", "0"], tmp_path, clean_env(tmp_path, FOLIONAUT_DATA_DIR=str(data_dir)))
    try:
        server.wait_listening()
        files = database_files(data_dir)
        assert {path.name for path in files} >= {DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm"}
        assert mode(data_dir) == 0o700
        assert {path.name: mode(path) for path in files} == {path.name: 0o600 for path in files}
    finally:
        assert server.stop() == 0


def test_restore_leaves_the_database_private_and_narrows_an_older_install(seeded: Path, tmp_path: Path) -> None:
    dump = tmp_path / "backup.sql"
    assert run_cli(["dump", "--output", str(dump)], seeded).exit_code == 0

    fresh = tmp_path / "fresh"
    result = run_cli(["restore", str(dump)], fresh)
    assert result.exit_code == 0, result.output
    assert mode(fresh) == 0o700
    assert all(mode(path) == 0o600 for path in database_files(fresh)), {p.name: oct(mode(p)) for p in
                                                                         database_files(fresh)}

    older = tmp_path / "older"  # as an earlier version left it
    seed(older, 10)
    older.chmod(0o755)
    for path in database_files(older):
        path.chmod(0o644)
    result = run_cli(["restore", "--force", str(dump)], older)
    assert result.exit_code == 0, result.output
    assert mode(older) == 0o700
    assert database_files(older) and all(mode(path) == 0o600 for path in database_files(older))
