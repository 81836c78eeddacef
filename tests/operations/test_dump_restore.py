"""`folionaut dump` and `folionaut restore` through the real CLI on real SQLite files."""

from __future__ import annotations

import gzip
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

import pytest

from folionaut.storage.dump import TABLES_DUMPED_WITHOUT_ROWS
from folionaut.storage.migrate import available_migrations
from tests.cli.conftest import ServeProcess, clean_env
from tests.helpers.generated_portfolio import create_portfolio_database
from tests.helpers.prerequisites import sqlite3_shell
from tests.operations.conftest import (
    DB_FILE,
    OUR_TABLES,
    UNICODE_SAMPLES,
    build_original_database,
    query,
    run_cli,
    seed,
    table_snapshot,
)


def dump_to(data_dir: Path, target: Path, *extra: str) -> bytes:
    result = run_cli(["dump", "--output", str(target), *extra], data_dir)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # quiet unless a human is watching (no TTY here)
    return target.read_bytes()


def search_count(db_path: Path, words: str) -> int:
    return query(db_path, "SELECT count(*) FROM content_search WHERE content_search MATCH ?", (words,))[0][0]


# --- round trips -----------------------------------------------------------------------

def test_round_trip_of_10k_items_is_byte_identical(tmp_path: Path) -> None:
    source = tmp_path / "source"
    seed(source, 10_000, sessions=50, messages_per_session=6)
    first = dump_to(source, tmp_path / "first.sql")
    assert dump_to(source, tmp_path / "again.sql") == first  # deterministic

    target = tmp_path / "target"
    result = run_cli(["restore", str(tmp_path / "first.sql")], target)
    assert result.exit_code == 0, result.output
    assert "restored" in result.stdout
    second = dump_to(target, tmp_path / "second.sql")
    assert second == first

    restored = target / DB_FILE
    assert table_snapshot(restored) == table_snapshot(source / DB_FILE)
    assert query(restored, "SELECT count(*) FROM content")[0][0] == 10_000
    assert query(restored, "SELECT count(*) FROM content_history")[0][0] == 19_999  # 1–3 versions each
    # Unicode and line-breaking characters survive exactly, NUL included.
    summaries = {row[0] for row in query(restored, "SELECT DISTINCT change_summary FROM content_history")}
    assert summaries == set(UNICODE_SAMPLES)
    # Chat messages sharing a created_at keep their order (the rowid tie-break).
    order = [row[0] for row in query(
        restored, "SELECT id FROM chat_messages WHERE session_id = 'sess_0007' ORDER BY created_at, rowid")]
    assert order == [f"msg_0007_{index}" for index in reversed(range(6))]
    # The search index was rebuilt while the rows loaded.
    assert query(restored, "SELECT count(*) FROM content_search")[0][0] == 10_000
    assert search_count(restored, "title:1234") == 1


def test_gzip_dump_restores_and_matches_the_plain_dump(seeded: Path, tmp_path: Path) -> None:
    plain = dump_to(seeded, tmp_path / "plain.sql")
    packed = dump_to(seeded, tmp_path / "packed.sql.gz", "--gzip")
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == plain
    assert dump_to(seeded, tmp_path / "packed2.sql.gz", "--gzip") == packed  # no timestamp in the header

    target = tmp_path / "target"
    # Detected by its magic bytes, not by its name.
    renamed = tmp_path / "backup.sql"
    renamed.write_bytes(packed)
    assert run_cli(["restore", str(renamed)], target).exit_code == 0
    assert dump_to(target, tmp_path / "after.sql") == plain


def test_dump_to_stdout_and_restore_from_stdin(seeded: Path, tmp_path: Path) -> None:
    result = run_cli(["dump"], seeded)
    assert result.exit_code == 0
    assert result.stdout_bytes == dump_to(seeded, tmp_path / "file.sql")
    target = tmp_path / "target"
    restored = run_cli(["restore", "-"], target, input=result.stdout_bytes)
    assert restored.exit_code == 0, restored.output
    assert table_snapshot(target / DB_FILE) == table_snapshot(seeded / DB_FILE)


def test_output_name_takes_strftime_fields(seeded: Path, tmp_path: Path) -> None:
    before = datetime.now()
    result = run_cli(["dump", "--output", str(tmp_path / "backup-%Y%m%d-100%%.sql")], seeded)
    after = datetime.now()
    assert result.exit_code == 0, result.output
    expected = {tmp_path / day.strftime("backup-%Y%m%d-100%%.sql") for day in (before, after)}
    written = [path for path in tmp_path.iterdir() if path.name.startswith("backup-")]
    assert len(written) == 1 and written[0] in expected
    assert written[0].name.endswith("-100%.sql")
    assert written[0].read_bytes().startswith(b"-- Folionaut dump")


def test_dump_of_a_missing_or_empty_database_fails_instead_of_backing_up_nothing(tmp_path: Path) -> None:
    output = tmp_path / "backup.sql"
    missing = run_cli(["dump", "--output", str(output)], tmp_path / "typo")
    assert missing.exit_code == 1
    expected = f"folionaut: database file {tmp_path / 'typo' / DB_FILE} does not exist; nothing to dump"
    assert missing.stderr.strip() == expected
    assert not (tmp_path / "typo").exists() and not output.exists()

    (tmp_path / "empty").mkdir()
    sqlite3.connect(tmp_path / "empty" / DB_FILE).close()
    empty = run_cli(["dump", "--output", str(output)], tmp_path / "empty")
    assert empty.exit_code == 1 and "no Folionaut tables" in empty.stderr
    assert not output.exists()


def test_dump_into_a_missing_directory_is_a_usage_error(seeded: Path, tmp_path: Path) -> None:
    result = run_cli(["dump", "--output", str(tmp_path / "nope" / "backup.sql")], seeded)
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_sqlite3_shell_loads_our_dump(seeded: Path, tmp_path: Path) -> None:
    dump = tmp_path / "backup.sql"
    dump_to(seeded, dump)
    loaded = tmp_path / "new.db"
    with dump.open("rb") as stdin:
        shell = subprocess.run([sqlite3_shell(), str(loaded)], stdin=stdin, capture_output=True, timeout=120)
    assert shell.returncode == 0 and shell.stderr == b"", shell.stderr
    assert table_snapshot(loaded) == table_snapshot(seeded / DB_FILE)
    assert query(loaded, "SELECT count(*) FROM content_search")[0][0] == 300
    assert search_count(loaded, "title:42") == 1


# --- refusing bad input without touching the target --------------------------------------

@pytest.fixture
def target_with_rows(tmp_path: Path) -> Path:
    data_dir = tmp_path / "target"
    seed(data_dir, 25, sessions=2)
    return data_dir


def restore_fails(data_dir: Path, dump: Path, *, force: bool = True, code: int = 1) -> str:
    """Restore ``dump``, expect exit ``code`` with one line on stderr, and the target unchanged."""
    before = table_snapshot(data_dir / DB_FILE)
    schema_before = query(data_dir / DB_FILE, "SELECT type, name, sql FROM sqlite_master ORDER BY name")
    result = run_cli(["restore", *(["--force"] if force else []), str(dump)], data_dir)
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert table_snapshot(data_dir / DB_FILE) == before
    assert query(data_dir / DB_FILE, "SELECT type, name, sql FROM sqlite_master ORDER BY name") == schema_before
    return lines[0]


def test_truncated_dump_changes_nothing(seeded: Path, target_with_rows: Path, tmp_path: Path) -> None:
    full = dump_to(seeded, tmp_path / "full.sql")
    cut_mid_line = tmp_path / "cut.sql"
    cut_mid_line.write_bytes(full[: len(full) // 2 - 7])
    message = restore_fails(target_with_rows, cut_mid_line)
    assert "truncated" in message and "line " in message

    # Cut exactly after a row's line: every statement is complete, but COMMIT is missing.
    lines = full.decode().splitlines(keepends=True)
    cut = next(i for i in range(len(lines) // 2, len(lines))
               if lines[i].startswith("INSERT INTO") and lines[i].endswith(");\n")) + 1  # a one-line row
    cut_at_line = tmp_path / "cut-at-line.sql"
    cut_at_line.write_text("".join(lines[:cut]))
    message = restore_fails(target_with_rows, cut_at_line)
    assert "truncated" in message and "COMMIT" in message

    packed = tmp_path / "cut.sql.gz"
    packed.write_bytes(gzip.compress(full)[:-100])
    assert "truncated" in restore_fails(target_with_rows, packed)


def test_failing_statement_halfway_changes_nothing_and_names_its_line(
    seeded: Path, target_with_rows: Path, tmp_path: Path
) -> None:
    lines = dump_to(seeded, tmp_path / "full.sql").decode().splitlines(keepends=True)
    inserts = [number for number, line in enumerate(lines) if line.startswith('INSERT INTO "content_history"')]
    halfway = inserts[len(inserts) // 2]
    lines.insert(halfway + 1, lines[halfway])  # the same row twice: a primary-key violation
    broken = tmp_path / "broken.sql"
    broken.write_text("".join(lines))
    message = restore_fails(target_with_rows, broken)
    assert f"line {halfway + 2}:" in message
    assert "UNIQUE constraint failed: content_history.id" in message


def test_files_that_are_not_folionaut_dumps_change_nothing(target_with_rows: Path, tmp_path: Path) -> None:
    prose = tmp_path / "notes.txt"
    prose.write_text("Remember to back up the database.\n")
    assert restore_fails(target_with_rows, prose) == "folionaut: line 1: not an SQL dump (no complete SQL statement)"
    prose.write_text("\nRemember: back up the database; rotate old backups;\n")
    assert restore_fails(target_with_rows, prose).startswith("folionaut: line 2: near \"Remember\": syntax error")

    other_schema = tmp_path / "other.sql"
    other_schema.write_text("BEGIN TRANSACTION;\nCREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);\n"
                            "INSERT INTO notes VALUES (1, 'hi');\nCOMMIT;\n")
    assert "not a Folionaut dump: table content is missing" in restore_fails(target_with_rows, other_schema)

    other_database = tmp_path / "other.db"
    with sqlite3.connect(other_database) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.close()
    assert "the SQLite file has no Folionaut tables" in restore_fails(target_with_rows, other_database)
    binary = tmp_path / "photo.jpg"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" * 10)
    assert "binary" in restore_fails(target_with_rows, binary)

    orphan = tmp_path / "orphan.sql"
    good = dump_to(target_with_rows, tmp_path / "good.sql").decode()
    orphan.write_text(good.replace("COMMIT;", "INSERT INTO \"content_history\" VALUES"
                                   "('hist_x','content_nope',1,'{}','created',NULL,NULL,'t');\nCOMMIT;"))
    assert "reference rows that are not in the dump" in restore_fails(target_with_rows, orphan)


def test_refuses_a_database_with_rows_unless_forced(seeded: Path, target_with_rows: Path, tmp_path: Path) -> None:
    dump = tmp_path / "backup.sql"
    dump_to(seeded, dump)
    message = restore_fails(target_with_rows, dump, force=False)
    assert "not empty" in message and "--force" in message

    result = run_cli(["restore", "--force", str(dump)], target_with_rows)
    assert result.exit_code == 0, result.output
    assert "replacing" in result.stdout
    assert table_snapshot(target_with_rows / DB_FILE) == table_snapshot(seeded / DB_FILE)


def test_restore_into_a_migrated_but_empty_database_needs_no_force(seeded: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    assert run_cli(["migrate"], target).exit_code == 0
    # Someone signed in to the admin web app and the change counter moved: still no data to lose.
    with sqlite3.connect(target / DB_FILE) as conn:
        conn.execute("INSERT INTO folionaut_admin_sessions VALUES ('hash', 'admin', 'key', '2026-01-01', '2026-01-02')")
        conn.execute("INSERT INTO folionaut_content_changes VALUES (1, 7)")
    conn.close()
    dump = tmp_path / "backup.sql"
    dump_to(seeded, dump)
    result = run_cli(["restore", str(dump)], target)
    assert result.exit_code == 0, result.output
    assert dump_to(target, tmp_path / "after.sql") == dump.read_bytes()


# --- the original Folionaut's `sqlite3 .dump` ---------------------------------------------

def test_restores_a_sqlite3_dump_of_an_original_database(tmp_path: Path) -> None:
    original = build_original_database(tmp_path / "original.db")
    shell = subprocess.run([sqlite3_shell(), str(original), ".dump"], capture_output=True, timeout=60, check=True)
    dump = tmp_path / "turso-backup.sql"
    dump.write_bytes(shell.stdout)
    text = shell.stdout.decode()
    assert "BEGIN TRANSACTION;" in text and "PRAGMA foreign_keys=OFF;" in text
    # The shell lists chat_messages (created first by drizzle) before the chat_sessions it references.
    assert text.index("INSERT INTO chat_messages") < text.index("INSERT INTO chat_sessions")

    target = tmp_path / "target"
    result = run_cli(["restore", str(dump)], target)
    assert result.exit_code == 0, result.output
    assert "adopted existing Folionaut database" in result.stdout
    assert all(f"applied {m.version:04d}_{m.name}" in result.stdout for m in available_migrations()[1:])

    restored = target / DB_FILE
    expected = table_snapshot(original)
    actual = table_snapshot(restored)
    ours = OUR_TABLES
    assert {name: rows for name, rows in actual.items() if name not in ours} == expected
    assert [row[0] for row in actual["folionaut_migrations"]] == [m.version for m in available_migrations()]
    assert search_count(restored, "zurich") == 1  # backfilled by 0002, diacritics folded
    assert run_cli(["migrate"], target).stdout.strip() == "nothing to apply: the database is up to date"


def test_gzip_dump_to_a_pipe(seeded: Path) -> None:
    # Binary output is refused only when stdout is a terminal; a pipe is fine.
    result = run_cli(["dump", "--gzip"], seeded)
    assert result.exit_code == 0
    assert gzip.decompress(result.stdout_bytes).startswith(b"-- Folionaut dump")



def test_restores_a_sqlite3_dump_of_our_own_database(seeded: Path, tmp_path: Path) -> None:
    # `sqlite3 .dump` writes the search index through PRAGMA writable_schema and its shadow tables.
    # The shell's .dump cuts text at a NUL (its limitation, not ours): take the NULs out first.
    conn = sqlite3.connect(seeded / DB_FILE)
    with conn:
        for table, column in (("chat_messages", "content"), ("content_history", "change_summary")):
            rows = conn.execute(f"SELECT rowid, {column} FROM {table} WHERE instr({column}, char(0))").fetchall()
            conn.executemany(f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                             [(text.replace("\x00", ""), rowid) for rowid, text in rows])
    conn.close()
    shell = subprocess.run([sqlite3_shell(), str(seeded / DB_FILE), ".dump"], capture_output=True, timeout=60,
                           check=True)
    assert b"PRAGMA writable_schema=ON;" in shell.stdout
    dump = tmp_path / "shell.sql"
    dump.write_bytes(shell.stdout)
    target = tmp_path / "target"
    result = run_cli(["restore", str(dump)], target)
    assert result.exit_code == 0, result.output
    assert dump_to(target, tmp_path / "ours-after.sql") == dump_to(seeded, tmp_path / "ours-before.sql")
    assert query(target / DB_FILE, "PRAGMA integrity_check") == [("ok",)]
    assert search_count(target / DB_FILE, "title:42") == 1


def test_a_dump_from_a_newer_folionaut_changes_nothing(seeded: Path, target_with_rows: Path, tmp_path: Path) -> None:
    # Checked inside the load's transaction, before it commits: the target keeps every row and table.
    text = dump_to(seeded, tmp_path / "full.sql").decode()
    newer = tmp_path / "newer.sql"
    newer.write_text(text.replace("COMMIT;\n", "INSERT INTO \"folionaut_migrations\" VALUES(9999,'future',"
                                               "'2030-01-01T00:00:00.000Z');\nCOMMIT;\n"))
    refusal = restore_fails(target_with_rows, newer, code=2)
    assert "the dump is at migration 9999_future, newer than this folionaut" in refusal


def test_a_generated_portfolio_round_trips_through_dump_and_restore(tmp_path: Path) -> None:
    source = tmp_path / "source"
    create_portfolio_database(source / DB_FILE, 3000)
    first = dump_to(source, tmp_path / "first.sql")
    target = tmp_path / "target"
    result = run_cli(["restore", str(tmp_path / "first.sql")], target)
    assert result.exit_code == 0, result.output
    assert dump_to(target, tmp_path / "second.sql") == first
    assert table_snapshot(target / DB_FILE) == table_snapshot(source / DB_FILE)
    # The list-order indexes came back too (keyset paging depends on them).
    indexes = {row[0] for row in query(target / DB_FILE, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"content_list_order_idx", "content_type_list_order_idx"} <= indexes


# --- what a dump may hold, and the journal it loads through ---------------------------


def _with_line(text: str, marker: str, extra: str) -> tuple[str, int]:
    """``text`` with ``extra`` appended to the first line starting with ``marker``, and that line's number."""
    lines = text.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith(marker))
    lines[index] = lines[index].rstrip("\n") + " " + extra + "\n"
    return "".join(lines), index + 1


def test_statements_a_dump_may_not_hold_are_refused_wherever_they_stand(
    seeded: Path, target_with_rows: Path, tmp_path: Path
) -> None:
    # Appended to a row's line, where a reader going line by line would not look: SQLite's authorizer
    # sees every statement, and the refusal names the line.
    good = dump_to(seeded, tmp_path / "good.sql").decode()
    elsewhere = tmp_path / "elsewhere.db"
    live = target_with_rows / DB_FILE
    for number, (keyword, sql) in enumerate((
        ("ATTACH", f"ATTACH DATABASE '{elsewhere}' AS other; CREATE TABLE other.copy (x);"),
        ("ATTACH", f"/* dressed */ ATTACH '{elsewhere}' AS other;"),
        # Its own COMMIT first, dressed so that a reader matching first words misses it; then at the live database.
        ("ATTACH", f"/**/ COMMIT; /**/ ATTACH '{live}' AS live; /**/ DELETE FROM live.content;"),
        ("SAVEPOINT", "SAVEPOINT halfway;"),
        ("VACUUM", f"VACUUM INTO '{elsewhere}';"),
        ("VACUUM", "VACUUM;"),
        ("ROLLBACK", "ROLLBACK;"),
        ("CREATE TEMP", "CREATE TEMP TABLE stash (x); CREATE TEMP TRIGGER t AFTER INSERT ON content BEGIN "
                        "INSERT INTO stash VALUES (new.id); END;"),
    )):
        text, line = _with_line(good, 'INSERT INTO "content_history"', sql)
        dump = tmp_path / f"refused-{number}.sql"
        dump.write_text(text)
        assert restore_fails(target_with_rows, dump) == f"folionaut: line {line}: {keyword} is not allowed in a dump"
        assert not elsewhere.exists()

    rolled_back = tmp_path / "rolled-back.sql"
    rolled_back.write_text(good.replace("\nCOMMIT;\n", "\nROLLBACK;\n"))
    assert "ends in ROLLBACK" in restore_fails(target_with_rows, rolled_back)


def test_a_dumps_own_transaction_control_and_pragmas_change_nothing_but_the_rows(
    seeded: Path, tmp_path: Path
) -> None:
    good = dump_to(seeded, tmp_path / "good.sql").decode()
    text, _ = _with_line(good, 'INSERT INTO "content"', "COMMIT; BEGIN; PRAGMA journal_mode=OFF; "
                                                       "PRAGMA foreign_keys=ON; PRAGMA synchronous=OFF;")
    noisy = tmp_path / "noisy.sql"
    noisy.write_text(text)
    target = tmp_path / "target"
    result = run_cli(["restore", str(noisy)], target)
    assert result.exit_code == 0, result.output
    restored = table_snapshot(target / DB_FILE)
    assert restored == table_snapshot(seeded / DB_FILE)
    data = {name: rows for name, rows in restored.items()
            if name != "folionaut_migrations" and name not in TABLES_DUMPED_WITHOUT_ROWS}
    rows = sum(len(rows) for rows in data.values())
    assert result.stdout.startswith(f"restored {rows} rows in {len(data)} tables from ")
    # Loaded through the rollback journal (nothing else had the file open), then back to WAL.
    assert query(target / DB_FILE, "PRAGMA journal_mode") == [("wal",)]
    assert not (target / f"{DB_FILE}-journal").exists()


def test_restore_beside_a_running_server_keeps_the_wal_and_the_server_sees_it(
    seeded: Path, target_with_rows: Path, tmp_path: Path
) -> None:
    dump = tmp_path / "backup.sql"
    dump_to(seeded, dump)
    env = clean_env(tmp_path, FOLIONAUT_DATA_DIR=str(target_with_rows), ACCESS_LOG="off")
    server = ServeProcess(["--port", "0"], tmp_path, env).wait_listening()
    try:
        item = f"{server.base_url}/api/v1/content/project/item-30"  # in the dump, not in the target
        assert _status(item) == 404
        result = run_cli(["restore", "--force", str(dump)], target_with_rows)
        assert result.exit_code == 0, result.output
        for _ in range(60):  # the server notices another process's write within about a second
            if _status(item) == 200:
                break
            time.sleep(0.1)
        assert _status(item) == 200
        assert query(target_with_rows / DB_FILE, "PRAGMA journal_mode") == [("wal",)]
    finally:
        assert server.stop() == 0
    assert table_snapshot(target_with_rows / DB_FILE) == table_snapshot(seeded / DB_FILE)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_other_virtual_tables_come_back_sound(seeded: Path, tmp_path: Path) -> None:
    # R*Tree and FTS4 read PRAGMA page_size as they create their tables: a restore that turned every PRAGMA
    # of the load into a no-op created an R*Tree whose root node was empty ("undersize RTree blobs").
    with sqlite3.connect(seeded / DB_FILE) as conn:
        conn.executescript("CREATE VIRTUAL TABLE boxes USING rtree (id, x0, x1);"
                           "INSERT INTO boxes VALUES (1, 0, 1), (2, 5, 9);"
                           "CREATE VIRTUAL TABLE notes USING fts4 (body);"
                           "INSERT INTO notes VALUES ('hello there'), ('general kenobi');")
    conn.close()
    # Ours creates virtual tables empty (their contents count as derived); rows added as a hand-edited dump would.
    ours = dump_to(seeded, tmp_path / "ours.sql").decode().replace(
        "\nCOMMIT;\n", "\nINSERT INTO boxes VALUES (2, 5, 9);\nINSERT INTO notes VALUES ('general kenobi');\nCOMMIT;\n")
    (tmp_path / "ours.sql").write_text(ours)
    shell = subprocess.run([sqlite3_shell(), str(seeded / DB_FILE), ".dump"], capture_output=True, timeout=60,
                           check=True)
    (tmp_path / "shell.sql").write_bytes(shell.stdout)  # the shell writes their shadow tables' rows
    for name in ("ours.sql", "shell.sql"):
        target = tmp_path / f"target-{name}"
        result = run_cli(["restore", str(tmp_path / name)], target)
        assert result.exit_code == 0, result.output
        restored = target / DB_FILE
        assert query(restored, "SELECT rtreecheck('boxes')") == [("ok",)], name
        assert query(restored, "SELECT id FROM boxes WHERE x0 >= 4") == [(2,)], name
        assert query(restored, "SELECT body FROM notes WHERE notes MATCH 'kenobi'") == [("general kenobi",)], name
        assert query(restored, "PRAGMA integrity_check") == [("ok",)], name


def test_a_restore_cut_short_is_rolled_back_and_read_only_commands_say_so(seeded: Path, tmp_path: Path) -> None:
    # A load through the rollback journal killed while it writes the database leaves a hot journal. A
    # read-only command cannot roll it back: it says so in one line; the next writable open does.
    before = table_snapshot(seeded / DB_FILE)
    killed = subprocess.run([sys.executable, "-c", f"""
import os, signal, sqlite3
from tests.helpers.prerequisites import sqlite3_shell
conn = sqlite3.connect({str(seeded / DB_FILE)!r}, isolation_level=None)
conn.execute("PRAGMA journal_mode = DELETE")
conn.execute("PRAGMA cache_size = 10")  # small: pages go to the file (after the journal) while the load runs
conn.execute("BEGIN IMMEDIATE")
conn.execute("DELETE FROM content_history")
conn.execute("UPDATE content SET data = json_object('title', hex(randomblob(600)))")
os.kill(os.getpid(), signal.SIGKILL)
"""], capture_output=True, timeout=60, check=False)
    assert killed.returncode == -9, killed.stderr
    journal = seeded / f"{DB_FILE}-journal"
    assert journal.stat().st_size > 0
    refused = run_cli(["dump", "--output", str(tmp_path / "now.sql")], seeded)
    assert refused.exit_code == 1
    assert refused.stderr.strip().splitlines() == [
        f"folionaut: SQLite: cannot read {seeded / DB_FILE}: {DB_FILE}-journal holds a write that was cut short "
        "(an interrupted restore?); start `folionaut serve` or run `folionaut migrate` once as the database's "
        "owner to roll it back"]
    assert run_cli(["migrate"], seeded).exit_code == 0
    assert table_snapshot(seeded / DB_FILE) == before
    assert query(seeded / DB_FILE, "PRAGMA journal_mode") == [("wal",)]
    assert run_cli(["dump", "--output", str(tmp_path / "after.sql")], seeded).exit_code == 0


def test_a_schema_written_by_the_dump_itself_is_checked_before_commit(
    seeded: Path, target_with_rows: Path, tmp_path: Path
) -> None:
    # sqlite3 .dump writes virtual tables straight into sqlite_schema (PRAGMA writable_schema=ON): a damaged
    # entry there would be committed, and the next open would find the database malformed.
    good = dump_to(seeded, tmp_path / "good.sql").decode()
    broken = tmp_path / "broken-schema.sql"
    broken.write_text(good.replace("\nCOMMIT;\n", "\nPRAGMA writable_schema=ON;\nINSERT INTO sqlite_schema VALUES"
                                                  "('table','broken','broken',0,'CREATE TABLE broken(');\n"
                                                  "PRAGMA writable_schema=OFF;\nCOMMIT;\n"))
    message = restore_fails(target_with_rows, broken)
    assert "the schema the dump wrote does not hold together: malformed database schema (broken)" in message
    assert query(target_with_rows / DB_FILE, "PRAGMA integrity_check") == [("ok",)]
