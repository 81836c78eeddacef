"""`folionaut migrate` on a real SQLite file: up from empty, idempotent, --status and --dry-run."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

from folionaut.storage.migrate import MIGRATIONS_TABLE, available_migrations
from tests.cli.conftest import ServeProcess, run_cli

NAMES = [f"{m.version:04d}_{m.name}" for m in available_migrations()]
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def tables_and_indexes(db_file: Path) -> tuple[set[str], set[str]]:
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
    return {name for kind, name in rows if kind == "table"}, {name for kind, name in rows if kind == "index"}


def migrate(workdir: Path, *flags: str) -> list[str]:
    result = run_cli(["migrate", *flags], workdir)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout.splitlines()


def test_status_and_dry_run_without_a_database_create_nothing(workdir: Path) -> None:
    assert NAMES[0] == "0001_initial"
    assert migrate(workdir, "--status") == [f"pending  {name}" for name in NAMES]
    assert migrate(workdir, "--dry-run") == ["would create data/folionaut.db", *(f"would apply {n}" for n in NAMES)]
    assert list(workdir.iterdir()) == []  # no data directory, no database file


def test_status_and_dry_run_leave_an_existing_database_as_it_was(workdir: Path) -> None:
    data = workdir / "data"
    data.mkdir()
    with sqlite3.connect(data / "folionaut.db") as conn:
        conn.execute("CREATE TABLE unrelated (x)")
    conn.close()
    before = {path.name: path.read_bytes() for path in data.iterdir()}
    assert migrate(workdir, "--status") == [f"pending  {name}" for name in NAMES]
    assert migrate(workdir, "--dry-run") == [f"would apply {name}" for name in NAMES]
    assert {path.name: path.read_bytes() for path in data.iterdir()} == before  # no -wal, -shm, table or row


def test_migrate_up_from_empty_then_idempotent(workdir: Path) -> None:
    assert migrate(workdir) == [f"applied {name}" for name in NAMES]
    db_file = workdir / "data" / "folionaut.db"
    tables, indexes = tables_and_indexes(db_file)
    assert {"content", "content_history", "chat_sessions", "chat_messages", MIGRATIONS_TABLE} <= tables
    assert {"content_type_slug_idx", "content_history_content_idx", "chat_messages_session_idx"} <= indexes
    with sqlite3.connect(db_file) as conn:
        content_columns = [row[1] for row in conn.execute("PRAGMA table_info(content)")]
        unique = [row for row in conn.execute("PRAGMA index_list(content)") if row[1] == "content_type_slug_idx"]
        cascades = {row[2]: row[6] for table in ("content_history", "chat_messages")
                    for row in conn.execute(f"PRAGMA foreign_key_list({table})")}
    assert content_columns == ["id", "type", "slug", "data", "status", "version", "sort_order",
                               "created_at", "updated_at", "deleted_at"]
    assert unique and unique[0][2] == 1
    assert cascades == {"content": "CASCADE", "chat_sessions": "CASCADE"}

    assert migrate(workdir) == ["nothing to apply: the database is up to date"]
    assert migrate(workdir, "--dry-run") == ["nothing to apply: the database is up to date"]
    status = migrate(workdir, "--status")
    assert len(status) == len(NAMES)
    for line, name in zip(status, NAMES, strict=True):
        assert re.fullmatch(rf"applied  {name}  {TIMESTAMP}", line), line
    with sqlite3.connect(db_file) as conn:
        assert conn.execute(f"SELECT count(*) FROM {MIGRATIONS_TABLE}").fetchone()[0] == len(NAMES)


def test_migrate_follows_the_configured_data_dir(workdir: Path) -> None:
    (workdir / "cfg.toml").write_text('data_dir = "from-file"\n')
    assert run_cli(["migrate", "--config", "cfg.toml"], workdir).returncode == 0
    assert (workdir / "from-file" / "folionaut.db").is_file() and not (workdir / "data").exists()


def test_serve_applies_pending_migrations_itself(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    server = start_serve()
    for name in NAMES:
        server.wait_for_line(f"applied migration {name}")
    assert server.stop() == 0
    assert all(line.startswith("applied  ") for line in migrate(workdir, "--status"))
    again = start_serve()
    assert again.stop() == 0
    assert not [line for line in again.lines if "applied migration" in line]
