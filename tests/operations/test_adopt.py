"""`folionaut migrate` (and `serve`, through apply_migrations) adopting an original-Folionaut database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from folionaut.content.repository import ContentRepository
from folionaut.storage.migrate import apply_migrations, available_migrations
from folionaut.storage.sqlite import SQLiteDatabase
from tests.operations.conftest import (
    DB_FILE,
    ORIGINAL_ROWS,
    OUR_TABLES,
    build_original_database,
    query,
    run_cli,
    table_snapshot,
)

#: Our migrations after the baseline that adoption records instead of running.
LATER_MIGRATIONS = [m for m in available_migrations() if m.version > 1]


def original_in(data_dir: Path) -> Path:
    return build_original_database(data_dir / DB_FILE)


def test_migrate_adopts_an_original_database_without_losing_a_row(tmp_path: Path) -> None:
    path = original_in(tmp_path)
    before = table_snapshot(path)
    assert {name: len(rows) for name, rows in before.items()} == {
        name: len(rows) for name, rows in ORIGINAL_ROWS.items()}

    result = run_cli(["migrate"], tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "adopted existing Folionaut database: kept its tables and rows, recorded 0001 as applied",
        *(f"applied {m.version:04d}_{m.name}" for m in LATER_MIGRATIONS),
    ]
    after = table_snapshot(path)
    assert {name: rows for name, rows in after.items() if name not in OUR_TABLES} == before
    assert [(row[0], row[1]) for row in after["folionaut_migrations"]] == [
        (m.version, m.name) for m in available_migrations()]
    # The original's DDL is kept as it was (e.g. its NOT NULL ip_hash), our indexes are added beside its own.
    sessions_sql = query(path, "SELECT sql FROM sqlite_master WHERE name = 'chat_sessions'")[0][0]
    assert "`ip_hash` text NOT NULL" in sessions_sql
    indexes = {row[0] for row in query(path, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"content_deleted_at_idx", "content_status_idx", "chat_messages_session_idx"} <= indexes
    # 0002 backfilled the search index from the existing rows.
    assert query(path, "SELECT count(*) FROM content_search")[0][0] == 3
    assert query(path, "SELECT rowid FROM content_search WHERE content_search MATCH 'resumes'") == [(2,)]  # résumés

    again = run_cli(["migrate"], tmp_path)
    assert again.stdout.strip() == "nothing to apply: the database is up to date"
    assert run_cli(["check"], tmp_path).exit_code == 0


def test_status_and_check_see_an_original_database_without_changing_it(tmp_path: Path) -> None:
    path = original_in(tmp_path)
    schema = query(path, "SELECT name FROM sqlite_master ORDER BY name")
    status = run_cli(["migrate", "--status"], tmp_path)
    assert status.exit_code == 0
    assert status.stdout.splitlines() == [f"pending  {m.version:04d}_{m.name}" for m in available_migrations()]
    check = run_cli(["check"], tmp_path)
    assert check.exit_code == 1
    assert "fail  migrations  an original Folionaut database to adopt; run `folionaut migrate`" in check.stdout
    assert query(path, "SELECT name FROM sqlite_master ORDER BY name") == schema  # read-only


async def test_serve_adopts_too_and_the_content_reads(tmp_path: Path) -> None:
    path = original_in(tmp_path)
    db = await SQLiteDatabase.open(path)
    try:
        applied = await apply_migrations(db)  # what serve runs at startup
        assert [m.version for m in applied] == [m.version for m in LATER_MIGRATIONS]
        published = await ContentRepository(db).list_published()
        assert sorted(item.slug for item in published) == ["about", "folionaut"]
        history = await ContentRepository(db).history("content_V1StGXR8_Z5jdHi6B", limit=10, offset=0)
        assert [entry.version for entry in history] == [3, 2, 1]
    finally:
        await db.close()


def test_refuses_a_look_alike_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE
    conn = sqlite3.connect(path)
    conn.executescript(
        'CREATE TABLE "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric);'
        "CREATE TABLE content (id text PRIMARY KEY, type text, slug text, data text);"
        "INSERT INTO content VALUES ('a', 'page', 'a', '{}');"
    )
    conn.close()
    schema = query(path, "SELECT name, sql FROM sqlite_master ORDER BY name")
    result = run_cli(["migrate"], tmp_path)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "folionaut: found __drizzle_migrations but not an original Folionaut schema: table content lacks "
        "column(s) status, version, sort_order, created_at, updated_at, deleted_at; table content_history is "
        "missing; table chat_sessions is missing; table chat_messages is missing"
    )
    assert query(path, "SELECT name, sql FROM sqlite_master ORDER BY name") == schema
    assert query(path, "SELECT * FROM content") == [("a", "page", "a", "{}")]
