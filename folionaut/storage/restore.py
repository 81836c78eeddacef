"""`folionaut restore`: load a dump into the configured database, all or nothing.

Accepts our dumps (plain or gzip'd, SQL or an SQLite file: told apart by magic
bytes, not by name; an SQLite file is read back as SQL first, ``binary_copy.py``)
and a ``sqlite3 .dump`` of an original-Folionaut database. What a dump may hold:
tables, indexes, triggers, views and rows, in any order, inside the transaction
control and the connection PRAGMAs that ``sqlite3 .dump`` writes (skipped: the
restore runs as one transaction of its own); no ROLLBACK, ATTACH, DETACH,
SAVEPOINT, VACUUM or TEMP objects; no truncated file. The target's contents are replaced in
one transaction (drop every object, run the script), and the result is checked
before committing: a Folionaut schema whose rows reference only rows that are
there, from no newer Folionaut (``check_loaded``). Then our pending migrations
are applied (adopting an original database first).

On the embedded SQLite backend the file runs in SQLite's own statement loop
(``SQLiteDatabase.run_script``), as in ``sqlite3 new.db < dump.sql``, and the rules
above are kept by SQLite's authorizer (``DumpGuard``), which sees every statement
SQLite prepares. Only when the load fails is the text split into statements
(``parse_dump``) and rehearsed one by one in a scratch in-memory database
(``rehearse``), to say which line is at fault. A libSQL server takes the script as
one batch, which can only say that it failed, so there the split and the
rehearsal come first.
"""

from __future__ import annotations

import gzip
import re
import sqlite3
import zlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from folionaut.core.clock import Clock
from folionaut.core.errors import AppError, DatabaseError, NewerSchemaError
from folionaut.storage.adopt import DRIZZLE_TABLE, EXPECTED_COLUMNS, adopt_original, schema_problems
from folionaut.storage.base import Database, Row, Statement
from folionaut.storage.binary_copy import SQLITE_HEADER, sql_of_database_file
from folionaut.storage.dump import (
    GZIP_MAGIC,
    SCHEMA_QUERY,
    TABLES_DUMPED_WITHOUT_ROWS,
    dependency_order,
    quote_identifier,
    split_schema,
)
from folionaut.storage.migrate import apply_migrations, migration_status, newer_schema_message, refuse_newer_schema
from folionaut.storage.migration_catalog import MIGRATIONS_TABLE, Migration, available_migrations
from folionaut.storage.sqlite import SCRIPT_BEGIN, SQLiteDatabase
from folionaut.storage.sqltext import code_of, split_statements

_TRANSACTION = re.compile(r"^(BEGIN|COMMIT|END)\b", re.IGNORECASE)
_END = re.compile(r"^(COMMIT|END)\b", re.IGNORECASE)
_CREATE_TABLE = re.compile(r"^CREATE\s+TABLE\b", re.IGNORECASE)
_PRAGMA = re.compile(r"^PRAGMA\s+(\w+)", re.IGNORECASE)
_FORBIDDEN = re.compile(r"^(ROLLBACK|ATTACH|DETACH|VACUUM|SAVEPOINT|RELEASE)\b", re.IGNORECASE)
# sqlite3 .dump writes these to load virtual tables verbatim; they shape the schema, so keep them.
_KEPT_PRAGMAS = {"writable_schema"}
#: What DumpGuard refuses, by SQLite's authorizer action, named as the statement a reader would look for.
#: (VACUUM needs no rule: SQLite refuses it inside the load's transaction.)
_REFUSED_ACTIONS = {
    sqlite3.SQLITE_ATTACH: "ATTACH", sqlite3.SQLITE_DETACH: "DETACH", sqlite3.SQLITE_SAVEPOINT: "SAVEPOINT",
    sqlite3.SQLITE_CREATE_TEMP_TABLE: "CREATE TEMP", sqlite3.SQLITE_CREATE_TEMP_INDEX: "CREATE TEMP",
    sqlite3.SQLITE_CREATE_TEMP_TRIGGER: "CREATE TEMP", sqlite3.SQLITE_CREATE_TEMP_VIEW: "CREATE TEMP",
}
_EXCERPT = 80

Progress = Callable[[str], None]


class RestoreError(AppError):
    """The dump cannot be restored; the database was not changed."""


@dataclass(frozen=True, slots=True)
class RestoreResult:
    rows: int  # restored, in user tables (as count_rows counts them)
    tables: int
    replaced_rows: int
    adopted: bool
    migrations: list[Migration]


# --- 1. reading and parsing ----------------------------------------------------------

def ungzip(raw: bytes) -> bytes:
    """The bytes inside a gzip file (recognised by its magic bytes), else ``raw`` as it is."""
    if raw.startswith(GZIP_MAGIC):
        try:
            return gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise RestoreError(f"the gzip file is damaged or truncated: {exc}") from None
    return raw


def refuse_binary(raw: bytes) -> None:
    """RestoreError for a file that is neither SQL text nor one of the binary forms told apart before."""
    if b"\x00" in raw[:4096]:
        raise RestoreError("not a dump: the file is binary but neither gzip nor an SQLite database")


def decode_dump(raw: bytes, *, prefix: str = "") -> str:
    """``prefix`` and the dump's SQL text (ungzipped, ``refuse_binary`` passed), decoded as one string: a
    copy of a large text fewer than joining them after."""
    head = prefix.encode()
    try:
        return (head + raw).decode("utf-8") if head else raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, max(exc.start - len(head), 0)) + 1
        raise RestoreError(f"line {line}: not an SQL dump (invalid UTF-8)") from None


def _excerpt(sql: str) -> str:
    flat = " ".join(sql.split())
    return flat if len(flat) <= _EXCERPT else flat[:_EXCERPT - 1] + "…"


def parse_dump(text: str) -> list[tuple[int, str]]:
    """The statements to run, as (line, sql); raises RestoreError for a truncated or unusable file."""
    statements = split_statements(text)
    if not statements:
        raise RestoreError("the file holds no SQL statements")
    last_line, last_sql = statements[-1]
    if not sqlite3.complete_statement(last_sql):
        if len(statements) == 1:
            raise RestoreError(f"line {last_line}: not an SQL dump (no complete SQL statement)")
        raise RestoreError(f"line {last_line}: the last statement is incomplete (truncated file?)")
    kept: list[tuple[int, str]] = []
    opened = False
    for number, (line, sql) in enumerate(statements, start=1):
        head = code_of(sql)
        if _TRANSACTION.match(head):
            opened = opened or head[:5].upper() == "BEGIN"
            continue
        if (forbidden := _FORBIDDEN.match(head)) is not None:
            keyword = forbidden.group(1).upper()
            if keyword == "ROLLBACK" and number == len(statements):
                raise RestoreError(f"line {line}: the dump ends in ROLLBACK (it was written from a damaged database)")
            raise RestoreError(f"line {line}: {keyword} is not allowed in a dump")
        pragma = _PRAGMA.match(head)
        if pragma and pragma.group(1).lower() not in _KEPT_PRAGMAS:
            continue  # connection settings (foreign_keys=OFF, …): the restore sets its own
        kept.append((line, sql))
    # Both sqlite3 .dump and ours end with COMMIT: a file cut at a line boundary lacks it.
    if opened and not _END.match(code_of(last_sql)):
        raise RestoreError(f"line {last_line}: the file ends before its COMMIT (truncated file?)")
    if not kept:
        raise RestoreError("the file holds no SQL statements besides transaction control")
    # Tables first: sqlite3 .dump interleaves CREATE TABLE and its rows in creation order, and
    # the original created chat_messages before the chat_sessions it references; with foreign
    # keys enforced (deferred, but still enforced) a row cannot name a table that does not exist yet.
    return sorted(kept, key=lambda item: not _CREATE_TABLE.match(code_of(item[1])))


class DumpGuard:
    """SQLite's authorizer while a dump runs: ``parse_dump``'s rules, kept by SQLite for every statement
    it prepares, however the text dresses it (comments, two on a line). The dump's own transaction
    control and settings are skipped (SQLITE_IGNORE makes them no-ops); ROLLBACK, ATTACH, DETACH,
    SAVEPOINT and TEMP objects are refused (``refused`` names what). PRAGMAs that only read are let
    through: SQLite's virtual-table modules read ``page_size`` and ``data_version`` as they create and
    fill their tables. ``complete()`` says whether a dump that opened a transaction ended with its
    COMMIT: a file cut at a line boundary does not. ``wrote_schema``: the dump switched on
    ``writable_schema`` (sqlite3 .dump does, for virtual tables), so the schema it wrote is checked."""

    def __init__(self) -> None:
        self.opened = False
        self.ended = False
        self.refused: str | None = None
        self.wrote_schema = False

    def __call__(self, action: int, arg1: str | None, arg2: str | None, _database: str | None,
                 _trigger: str | None) -> int:
        if action == sqlite3.SQLITE_TRANSACTION:
            if arg1 == "ROLLBACK":
                return self._refuse("ROLLBACK")
            self.opened = self.opened or arg1 == "BEGIN"
            self.ended = arg1 == "COMMIT"  # END parses as COMMIT
            return sqlite3.SQLITE_IGNORE
        self.ended = False  # a statement after the COMMIT
        if action == sqlite3.SQLITE_PRAGMA:
            if (arg1 or "").lower() in _KEPT_PRAGMAS:
                self.wrote_schema = self.wrote_schema or arg2 is not None
                return sqlite3.SQLITE_OK
            return sqlite3.SQLITE_OK if arg2 is None else sqlite3.SQLITE_IGNORE
        if action in _REFUSED_ACTIONS:
            return self._refuse(_REFUSED_ACTIONS[action])
        return sqlite3.SQLITE_OK

    def _refuse(self, what: str) -> int:
        self.refused = self.refused or what
        return sqlite3.SQLITE_DENY

    def complete(self) -> bool:
        return self.ended or not self.opened


# --- 2. checking what was loaded, and rehearsal -------------------------------------

Query = Callable[[str], Awaitable[list[Row]]]


async def check_loaded(query: Query, *, schema_written: bool = False) -> None:
    """RestoreError unless the loaded script is a Folionaut schema of ours whose rows all hold together;
    with ``schema_written`` (the script wrote sqlite_schema itself), unless the database is sound, too."""
    if schema_written:
        # RESET: off, and the schema read again from what the script wrote (OFF alone keeps the old one).
        try:
            await query("PRAGMA writable_schema = RESET")
            verdict = [str(next(iter(row.values()))) for row in await query("PRAGMA quick_check")]
        except (sqlite3.Error, DatabaseError) as exc:
            verdict = [exc.message if isinstance(exc, DatabaseError) else str(exc)]
        if verdict != ["ok"]:
            raise RestoreError(f"the schema the dump wrote does not hold together: {verdict[0]}")
    violations = await query("PRAGMA foreign_key_check")
    if violations:
        first = violations[0]
        table, rowid, parent = (first[key] for key in ("table", "rowid", "parent"))
        raise RestoreError(
            f"{len(violations)} row(s) reference rows that are not in the dump "
            f"(first: {table} rowid {rowid} → {parent})"
        )
    rows = await query(
        "SELECT m.name AS tbl, p.name AS col FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
        "WHERE m.type = 'table'")
    columns: dict[str, set[str]] = {}
    for row in rows:
        columns.setdefault(str(row["tbl"]), set()).add(str(row["col"]))
    problems = schema_problems({table: names for table, names in columns.items() if table in EXPECTED_COLUMNS})
    if problems:
        raise RestoreError(f"not a Folionaut dump: {'; '.join(problems)}")
    if MIGRATIONS_TABLE in columns:
        known = {m.version for m in available_migrations()}
        recorded = await query(f"SELECT version, name, applied_at FROM {MIGRATIONS_TABLE}")
        newer = [(int(r["version"]), str(r["name"]), str(r["applied_at"])) for r in recorded
                 if int(r["version"]) not in known]
        if newer:
            raise NewerSchemaError(newer_schema_message(newer, "the dump"))


def _sqlite_rows(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {column[0]: value for column, value in zip(cursor.description, row, strict=True)}


async def rehearse(statements: Sequence[tuple[int, str]]) -> None:
    """Run the script in a scratch in-memory database, kept to a dump's statements by ``DumpGuard``;
    RestoreError names the failing line."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.row_factory = _sqlite_rows
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")
        conn.execute("PRAGMA defer_foreign_keys = ON")
        guard = DumpGuard()
        conn.set_authorizer(guard)
        for line, sql in statements:
            try:
                conn.execute(sql)
            except sqlite3.Error as exc:
                if guard.refused is not None:
                    raise RestoreError(f"line {line}: {guard.refused} is not allowed in a dump") from None
                raise RestoreError(f"line {line}: {exc} (in: {_excerpt(sql)})") from None
        conn.set_authorizer(None)

        async def query(sql: str) -> list[Row]:
            return list(conn.execute(sql).fetchall())

        await check_loaded(query, schema_written=guard.wrote_schema)
    finally:
        conn.close()


# --- 3. the target -------------------------------------------------------------------

async def count_rows(db: Database) -> dict[str, int]:
    """Rows of data per table: what a dump carries. Not counted: bookkeeping, derived search indexes, and
    the tables a dump leaves empty (sign-ins, the change counter, the webhook queue, write receipts), so a
    database someone only signed in to is still empty."""
    regular, _, _ = split_schema(await db.fetch_all(SCHEMA_QUERY))
    left_out = {MIGRATIONS_TABLE, DRIZZLE_TABLE, *TABLES_DUMPED_WITHOUT_ROWS}
    names = [str(row["name"]) for row in regular if row["name"] not in left_out]
    if not names:
        return {}
    results = await db.read_batch(
        [Statement(f"SELECT count(*) AS n FROM {quote_identifier(name)}") for name in names]
    )
    return {name: int(rows[0]["n"]) for name, rows in zip(names, results, strict=True)}


async def drop_everything(db: Database) -> list[Statement]:
    """Statements that empty the schema: views, virtual tables (with their shadows), tables children first."""
    schema = await db.fetch_all(SCHEMA_QUERY)
    regular, virtual, _ = split_schema(schema)
    parents = {}
    for row in regular:
        rows = await db.fetch_all('SELECT "table" AS parent FROM pragma_foreign_key_list(?)', (row["name"],))
        parents[str(row["name"])] = {str(r["parent"]) for r in rows}
    drops = [Statement(f"DROP VIEW IF EXISTS {quote_identifier(str(r['name']))}")
             for r in schema if r["type"] == "view"]
    drops += [Statement(f"DROP TABLE IF EXISTS {quote_identifier(str(r['name']))}") for r in virtual]
    drops += [Statement(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
              for name in reversed(dependency_order(parents))]
    return drops


async def restore_dump(
    db: Database,
    raw: bytes,
    *,
    force: bool = False,
    clock: Clock | None = None,
    progress: Progress | None = None,
) -> RestoreResult:
    say = progress or (lambda _message: None)
    raw = ungzip(raw)
    if raw.startswith(SQLITE_HEADER):  # `dump --format sqlite`: read back as the SQL it holds
        say("reading the SQLite file")
        try:
            raw = await sql_of_database_file(raw)
        except DatabaseError as exc:
            raise RestoreError(f"cannot read the SQLite file: {exc.message}") from None
    refuse_binary(raw)
    local = db if isinstance(db, SQLiteDatabase) else None  # the embedded backend
    if local is None:  # a remote batch can only say that it failed: find a failing line first
        statements = parse_dump(decode_dump(raw))
        say(f"checking {len(statements)} statements")
        await rehearse(statements)
    refuse_newer_schema(await migration_status(db), "the database to restore into")
    counts = await count_rows(db)
    replaced = sum(counts.values())
    if replaced and not force:
        busy = ", ".join(f"{count} in {name}" for name, count in sorted(counts.items()) if count)
        raise RestoreError(f"the database is not empty ({busy}); use --force to replace its contents")
    say("loading the dump in one transaction")
    drops = await drop_everything(db)
    if local is not None:
        prelude = SCRIPT_BEGIN + "".join(f"{statement.sql};\n" for statement in drops)
        await _load_locally(local, decode_dump(raw, prefix=prelude), len(prelude))
    else:
        # Checked at COMMIT instead of per row: a sqlite3 .dump lists children before parents.
        prelude_statements = [Statement("PRAGMA defer_foreign_keys = ON"), *drops]
        try:
            await db.batch([*prelude_statements, *(Statement(sql) for _, sql in statements)])  # rehearsed
        except DatabaseError as exc:
            raise RestoreError(f"restore failed and changed nothing: {exc.message}") from exc
    restored = await count_rows(db)
    say("applying migrations")
    adopted = await adopt_original(db, clock)
    applied = await apply_migrations(db, clock)
    return RestoreResult(sum(restored.values()), len(restored), replaced, adopted, applied)


async def _load_locally(db: SQLiteDatabase, script: str, prelude: int) -> None:
    """``script`` (``prelude`` characters of drops, then the dump) in SQLite's own loop, kept to a dump's
    statements by ``DumpGuard``; when anything is wrong, the dump is parsed and rehearsed statement by
    statement to say where."""
    guard = DumpGuard()

    async def check(query: Query) -> None:
        if not guard.complete():
            raise RestoreError("the file ends before its COMMIT (truncated file?)")  # parse_dump names the line
        await check_loaded(query, schema_written=guard.wrote_schema)

    try:
        await db.run_script(script, check, authorizer=guard)
    except (DatabaseError, RestoreError) as exc:
        await rehearse(parse_dump(script[prelude:]))  # raises, naming the line, if the file itself is at fault
        if isinstance(exc, RestoreError):
            raise
        reason = f"{guard.refused} is not allowed in a dump" if guard.refused else exc.message
        raise RestoreError(f"restore failed and changed nothing: {reason}") from exc
