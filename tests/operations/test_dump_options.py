"""`folionaut dump` as cron jobs and pipes use it: no surprise overwrite, --keep N, stdout that the sqlite3
shell loads, --format sqlite that restore takes back. Real SQLite files; the pipes through real processes."""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers.prerequisites import sqlite3_shell
from tests.operations.conftest import CLI, DB_FILE, run_cli, subprocess_env, table_snapshot

#: Tables whose rows a dump leaves out by design (storage/dump.py: TABLES_DUMPED_WITHOUT_ROWS, search index).
_DERIVED_OR_TRANSIENT = ("folionaut_content_changes", "folionaut_admin_sessions", "webhook_events",
                         "webhook_deliveries", "webhook_attempts", "folionaut_write_receipts")


def kept_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    return {name: rows for name, rows in table_snapshot(path).items() if name not in _DERIVED_OR_TRANSIENT}


def one_line_failure(result: object, code: int) -> str:
    assert result.exit_code == code, result.output  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1, lines
    return lines[0]


def test_an_existing_file_is_kept_unless_force(seeded: Path, tmp_path: Path) -> None:
    output = tmp_path / "backup.sql"
    output.write_bytes(b"-- yesterday's backup\n")
    refused = run_cli(["dump", "--output", str(output)], seeded)
    assert one_line_failure(refused, 1) == (
        f"folionaut: {output} already exists; use --force to replace it, or another --output")
    assert output.read_bytes() == b"-- yesterday's backup\n"
    assert not [path for path in tmp_path.iterdir() if path.name.endswith(".partial")]

    forced = run_cli(["dump", "--output", str(output), "--force"], seeded)
    assert forced.exit_code == 0, forced.output
    assert output.read_bytes().startswith(b"-- Folionaut dump")


def test_keep_leaves_exactly_n_dumps_of_the_pattern_and_nothing_else(seeded: Path, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    older = [backups / f"folionaut-202501{day:02d}-020000.sql" for day in range(1, 7)]
    for age, path in enumerate(reversed(older), start=1):
        path.write_text(f"-- old {path.name}\n")
        stamp = 1_700_000_000 - age * 86_400
        os.utime(path, (stamp, stamp))
    unrelated = [backups / "folionaut-notes.sql", backups / "other-20250101-020000.sql",
                 backups / "folionaut-20250101-020000.sql.gz", backups / "README"]
    for path in unrelated:
        path.write_text("keep me\n")
    (backups / "folionaut-20240101-000000.sql.d").mkdir()  # a directory that matches: never deleted

    pattern = str(backups / "folionaut-%Y%m%d-%H%M%S.sql")
    result = run_cli(["dump", "--output", pattern, "--keep", "3"], seeded)
    assert result.exit_code == 0, result.output
    dumps = sorted(path.name for path in backups.iterdir()
                   if path.is_file() and path.name.startswith("folionaut-2") and path.suffix == ".sql")
    assert len(dumps) == 3
    new = [name for name in dumps if not (backups / name).read_bytes().startswith(b"-- old")]
    assert len(new) == 1 and (backups / new[0]).read_bytes().startswith(b"-- Folionaut dump")
    # The two newest of the old ones stay; the four oldest went.
    assert sorted(set(dumps) - set(new)) == [older[-2].name, older[-1].name]
    assert all(path.read_text() == "keep me\n" for path in unrelated)
    assert (backups / "folionaut-20240101-000000.sql.d").is_dir()

    again = run_cli(["dump", "--output", pattern, "--keep", "1", "--force"], seeded)
    assert again.exit_code == 0, again.output
    assert len([p for p in backups.iterdir() if p.is_file() and p.name.startswith("folionaut-2")
                and p.suffix == ".sql"]) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["--keep", "2"], "--keep works on files"),
    (["--output", "{dir}/backup.sql", "--keep", "2"], "--keep needs a strftime field"),
    (["--output", "{dir}/b-%Y.sql", "--keep", "0"], "Invalid value for '--keep'"),
])
def test_keep_misuse_is_a_usage_error(seeded: Path, tmp_path: Path, args: list[str], message: str) -> None:
    argv = ["dump", "--data-dir", str(seeded), *(arg.format(dir=tmp_path) for arg in args)]
    result = subprocess.run([*CLI, *argv], env=subprocess_env(seeded), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stdout == ""  # nothing dumped to stdout either
    assert not [path for path in tmp_path.iterdir() if path.suffix == ".sql"]


def test_stdout_dump_loads_in_the_sqlite3_shell(seeded: Path, tmp_path: Path) -> None:
    shell = sqlite3_shell()
    done = subprocess.run([*CLI, "dump", "--output", "-"], env=subprocess_env(seeded), capture_output=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""  # not a terminal: no progress, nothing else
    assert done.stdout.startswith(b"-- Folionaut dump") and done.stdout.endswith(b"COMMIT;\n")
    loaded = tmp_path / "loaded.db"
    subprocess.run([shell, str(loaded)], input=done.stdout, check=True, timeout=120)
    assert kept_rows(loaded) == kept_rows(seeded / DB_FILE)


def test_sqlite_format_round_trips_through_restore(seeded: Path, tmp_path: Path) -> None:
    copy = tmp_path / "backup.db"
    done = subprocess.run([*CLI, "dump", "--format", "sqlite", "--output", str(copy)], env=subprocess_env(seeded),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert copy.read_bytes()[:16] == b"SQLite format 3\x00"
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]  # no temp left behind

    target = tmp_path / "restored"
    restored = subprocess.run([*CLI, "restore", str(copy)], env=subprocess_env(target), capture_output=True,
                              text=True, timeout=120)
    assert restored.returncode == 0, restored.stderr
    assert kept_rows(target / DB_FILE) == kept_rows(seeded / DB_FILE)

    # gzip'd on stdout, restored from stdin: the same rows again.
    piped = subprocess.run([*CLI, "dump", "--format", "sqlite", "--gzip"], env=subprocess_env(seeded),
                           capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert gzip.decompress(piped.stdout)[:16] == b"SQLite format 3\x00"
    again = tmp_path / "again"
    from_stdin = subprocess.run([*CLI, "restore", "-"], input=piped.stdout, env=subprocess_env(again),
                                capture_output=True, timeout=120)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert kept_rows(again / DB_FILE) == kept_rows(seeded / DB_FILE)
