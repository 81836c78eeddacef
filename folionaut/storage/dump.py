"""`folionaut dump`: the whole database as plain SQL text.

The dump is one consistent snapshot (every table is read inside one read
transaction, ``Database.read_batch``), so a dump taken while writes are running
is a state that existed. It is loadable by ``sqlite3 new.db < backup.sql`` as
well as by ``folionaut restore``, and deterministic: tables in dependency order
(parents first, then by name), rows in rowid order (insertion order, which is
the tie-break chat history relies on), other objects by name; the same data
gives the same bytes.

Layout::

    PRAGMA foreign_keys=OFF; BEGIN TRANSACTION;
    CREATE TABLE …            -- regular tables, incl. folionaut_migrations
    CREATE VIRTUAL TABLE …    -- the full-text index, empty
    CREATE TRIGGER …          -- before the rows: they rebuild the index as rows load
    INSERT INTO …             -- the rows
    CREATE INDEX … / VIEW …
    COMMIT;

Virtual tables' contents and their shadow tables (``content_search_*``) are not
dumped: the search index is derived from ``content`` and the triggers refill it
while the rows are inserted. (So triggers must only maintain derived data.)
Nor are the rows of ``TABLES_DUMPED_WITHOUT_ROWS``: the change counter (derived),
the admin web app's sign-ins (a restored backup signs nobody in), the webhook
queue and its log (a restored backup must not send again what was sent after it
was taken) and the write receipts (24 hours of idempotency, not data).

Writing it to a file (atomically) is the operations layer's job:
``folionaut/operations/backups.py``.
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from folionaut.core.errors import DatabaseError
from folionaut.storage.base import Database, Row, Statement

HEADER = (
    "-- Folionaut dump (format 1). Load with `folionaut restore FILE` or `sqlite3 new.db < FILE`.",
)
SCHEMA_QUERY = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name"
GZIP_MAGIC = b"\x1f\x8b"

#: Shadow tables SQLite keeps for virtual tables (FTS3/4/5, R*Tree); they are derived data.
_SHADOW_SUFFIXES = ("data", "idx", "content", "docsize", "config", "segments", "segdir", "stat",
                    "node", "parent", "rowid")
#: Tables whose schema is dumped but not their rows: derived data (kept up by triggers while
#: loading), the admin web app's sign-ins (a backup never carries credentials, even hashed), the
#: webhook queue and its log (in-flight work, not data: a restored backup must not send again what was
#: sent after it was taken), and write receipts (kept 24 h; meaningless in another database).
TABLES_DUMPED_WITHOUT_ROWS = frozenset({
    "folionaut_content_changes", "folionaut_admin_sessions", "webhook_events", "webhook_deliveries",
    "webhook_attempts", "folionaut_write_receipts",
})
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID\s*$", re.IGNORECASE)
_VIRTUAL = re.compile(r"^\s*CREATE\s+VIRTUAL\s+TABLE", re.IGNORECASE)
# Characters written as char(N) rather than raw: they would break lines in editors
# and shells (\r, form feed, U+2028, …) or are invisible controls. \n and \t stay raw.
_AWKWARD = re.compile("[\x00-\x08\x0b-\x1f\x7f\x85\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class TablePlan:
    name: str
    sql: str
    columns: tuple[str, ...]
    primary_key: tuple[str, ...]
    without_rowid: bool
    parents: frozenset[str]

    @property
    def select(self) -> str:
        columns = ", ".join(quote_identifier(c) for c in self.columns)
        order = ", ".join(quote_identifier(c) for c in self.primary_key) if self.without_rowid else "rowid"
        return f"SELECT {columns} FROM {quote_identifier(self.name)} ORDER BY {order}"


@dataclass(frozen=True, slots=True)
class SchemaPlan:
    tables: list[TablePlan]  # regular tables, dependency order
    virtual_tables: list[Row]
    triggers: list[Row]
    indexes: list[Row]
    views: list[Row]


# --- SQL text ------------------------------------------------------------------------

def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_literal(value: Any) -> str:
    """One value as an SQL literal that reads back as the same value and type."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NULL"  # SQLite stores NaN as NULL anyway
        if math.isinf(value):
            return "1e999" if value > 0 else "-1e999"
        return repr(value)  # shortest text that round-trips exactly
    if isinstance(value, bytes | bytearray | memoryview):
        return "X'" + bytes(value).hex().upper() + "'"
    text = str(value)
    if not _AWKWARD.search(text):
        return _quote_text(text)
    parts: list[str] = []
    last = 0
    for match in _AWKWARD.finditer(text):
        if match.start() > last:
            parts.append(_quote_text(text[last:match.start()]))
        parts.append(f"char({ord(match.group())})")
        last = match.end()
    if last < len(text):
        parts.append(_quote_text(text[last:]))
    return "(" + "||".join(parts) + ")"


class _Text(bytes):
    """A TEXT value as SQLite stores it (UTF-8), read without decoding (the fast path's
    ``text_factory``): told apart from a BLOB, which arrives as plain ``bytes``."""

    __slots__ = ()


def _row_literal(value: Any) -> bytes:
    """``sql_literal`` as UTF-8, with the common cases first: this runs for every value of every row."""
    kind = type(value)
    if kind is _Text:
        # Checked as text (decoding and isprintable() are fast scans; a byte pattern for the same
        # characters was 5x slower), written as the bytes it came as.
        text = value.decode("utf-8", "surrogateescape")
        if text.isprintable() or not _AWKWARD.search(text):
            return b"'" + value.replace(b"'", b"''") + b"'"
        return sql_literal(text).encode("utf-8", "surrogateescape")
    if kind is int:
        return b"%d" % value
    if value is None:
        return b"NULL"
    if kind is str:
        # isprintable() is a fast scan that passes nearly every text; the rest get the exact check.
        if value.isprintable() or not _AWKWARD.search(value):
            return ("'" + value.replace("'", "''") + "'").encode("utf-8", "surrogateescape")
    return sql_literal(value).encode("utf-8", "surrogateescape")


def _statement(sql: str) -> str:
    sql = sql.strip()
    return sql if sql.endswith(";") else sql + ";"


# --- planning ------------------------------------------------------------------------

def dependency_order(parents: Mapping[str, Iterable[str]]) -> list[str]:
    """Names with every table after the tables it references; ties (and cycles) by name."""
    remaining = {name: {p for p in deps if p in parents and p != name} for name, deps in parents.items()}
    ordered: list[str] = []
    while remaining:
        ready = sorted(name for name, deps in remaining.items() if not deps)
        if not ready:  # a reference cycle: SQLite allows it; break it by name
            ready = [min(remaining)]
        for name in ready:
            ordered.append(name)
            del remaining[name]
        for deps in remaining.values():
            deps.difference_update(ready)
    return ordered


def _is_virtual(row: Row) -> bool:
    return row["type"] == "table" and bool(_VIRTUAL.match(str(row["sql"])))


def split_schema(schema: Sequence[Row]) -> tuple[list[Row], list[Row], set[str]]:
    """(regular tables, virtual tables, names of tables not dumped) from sqlite_master rows."""
    virtual = [row for row in schema if _is_virtual(row)]
    skipped = {f"{row['name']}_{suffix}" for row in virtual for suffix in _SHADOW_SUFFIXES}
    skipped |= {str(row["name"]) for row in schema if str(row["name"]).startswith("sqlite_")}
    regular = [row for row in schema if row["type"] == "table" and not _is_virtual(row) and row["name"] not in skipped]
    return regular, virtual, skipped


async def table_parents(db: Database, table: str) -> frozenset[str]:
    rows = await db.fetch_all('SELECT "table" AS parent FROM pragma_foreign_key_list(?)', (table,))
    return frozenset(str(row["parent"]) for row in rows)


async def plan_schema(db: Database, schema: Sequence[Row]) -> SchemaPlan:
    regular, virtual, skipped = split_schema(schema)
    plans: dict[str, TablePlan] = {}
    for row in regular:
        name = str(row["name"])
        info = await db.fetch_all("SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", (name,))
        primary_key = tuple(str(r["name"]) for r in sorted((r for r in info if r["pk"]), key=lambda r: r["pk"]))
        plans[name] = TablePlan(
            name=name,
            sql=str(row["sql"]),
            columns=tuple(str(r["name"]) for r in info),
            primary_key=primary_key,
            without_rowid=bool(_WITHOUT_ROWID.search(str(row["sql"]))),
            parents=await table_parents(db, name),
        )
    order = dependency_order({name: plan.parents for name, plan in plans.items()})
    kept_tables = set(plans) | {str(row["name"]) for row in virtual}

    def objects(kind: str) -> list[Row]:
        found = [row for row in schema if row["type"] == kind and row["tbl_name"] not in skipped]
        if kind != "view":
            found = [row for row in found if row["tbl_name"] in kept_tables]
        return sorted(found, key=lambda row: str(row["name"]))

    return SchemaPlan(
        tables=[plans[name] for name in order],
        virtual_tables=sorted(virtual, key=lambda row: str(row["name"])),
        triggers=objects("trigger"),
        indexes=objects("index"),
        views=objects("view"),
    )


# --- dumping -------------------------------------------------------------------------

async def dump_database(db: Database, *, attempts: int = 5) -> bytes:
    """The database as SQL (UTF-8), from one consistent snapshot."""
    bulk_read = getattr(db, "read_in_thread", None)  # the embedded backend: rows read and rendered in a thread
    for _ in range(attempts):
        schema = await db.fetch_all(SCHEMA_QUERY)
        plan = await plan_schema(db, schema)
        # The plan came from outside the snapshot; use it only if the snapshot has the same schema
        # (a migration running meanwhile would change it: then plan again).
        if bulk_read is not None:
            dumped = await bulk_read(lambda conn, plan=plan, schema=schema: _render_snapshot(conn, plan, schema))
            if dumped is not None:
                return dumped
            continue
        results = await db.read_batch([Statement(SCHEMA_QUERY), *(Statement(t.select) for t in plan.tables)])
        if results[0] == schema:
            return render(plan, [[tuple(row[c] for c in t.columns) for row in rows]
                                 for t, rows in zip(plan.tables, results[1:], strict=True)])
    raise DatabaseError("the database schema kept changing while dumping; try again")


def _render_snapshot(conn: sqlite3.Connection, plan: SchemaPlan, schema: Sequence[Row]) -> bytes | None:
    """Inside the caller's read transaction: the dump, or None when the schema is not the planned one.
    Rows come as tuples straight from SQLite's cursor (no dict per row, no hop across threads per row)
    with TEXT left as the UTF-8 SQLite stores (no decoding it only to encode it again)."""
    cursor = conn.execute(SCHEMA_QUERY)
    names = [column[0] for column in cursor.description]
    if [dict(zip(names, row, strict=True)) for row in cursor.fetchall()] != list(schema):
        return None
    conn.text_factory = _Text
    return render(plan, [conn.execute(table.select) for table in plan.tables])


def render(plan: SchemaPlan, table_rows: Sequence[Iterable[Sequence[Any]]]) -> bytes:
    """The dump; each table's rows as value tuples in its columns' order."""
    lines: list[bytes] = [line.encode() for line in (*HEADER, "PRAGMA foreign_keys=OFF;", "BEGIN TRANSACTION;")]
    lines += [_statement(table.sql).encode() for table in plan.tables]
    lines += [_statement(str(row["sql"])).encode() for row in (*plan.virtual_tables, *plan.triggers)]
    literal = _row_literal
    for table, rows in zip(plan.tables, table_rows, strict=True):
        if table.name in TABLES_DUMPED_WITHOUT_ROWS:
            continue
        prefix = f"INSERT INTO {quote_identifier(table.name)} VALUES(".encode()
        lines += [prefix + b",".join(map(literal, row)) + b");" for row in rows]
    lines += [_statement(str(row["sql"])).encode() for row in (*plan.indexes, *plan.views)]
    lines.append(b"COMMIT;")
    return b"\n".join(lines) + b"\n"
