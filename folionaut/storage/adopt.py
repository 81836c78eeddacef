"""Adopting a database created by the original (TypeScript) Folionaut.

The original's drizzle migrations created the same four tables our baseline
migration (0001) creates, and recorded themselves in ``__drizzle_migrations``.
Re-running 0001 on such a database would be harmless (it says IF NOT EXISTS),
but silently so: instead we recognise the schema column by column, refuse a
database that only looks similar, and record 0001 as applied, so that later
migrations (full-text search, …) run on top of the existing rows.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping

from folionaut.core.clock import Clock, SystemClock, now_iso
from folionaut.core.errors import DatabaseError
from folionaut.storage.base import Database, Statement
from folionaut.storage.migration_catalog import CREATE_MIGRATIONS_TABLE, MIGRATIONS_TABLE, available_migrations
from folionaut.storage.sqltext import split_statements

logger = logging.getLogger("folionaut.migrate")

DRIZZLE_TABLE = "__drizzle_migrations"
BASELINE_VERSION = 1

#: Tables and columns of the original's schema (spec section 8). Extra columns are fine.
EXPECTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "content": ("id", "type", "slug", "data", "status", "version", "sort_order",
                "created_at", "updated_at", "deleted_at"),
    "content_history": ("id", "content_id", "version", "data", "change_type", "changed_by",
                        "change_summary", "created_at"),
    "chat_sessions": ("id", "visitor_id", "ip_hash", "user_agent", "message_count", "status",
                      "created_at", "last_active_at", "expires_at"),
    "chat_messages": ("id", "session_id", "role", "content", "tokens_used", "model", "created_at"),
}


class UnrecognisedSchemaError(DatabaseError):
    """The database has tables, but not the Folionaut schema we can take over."""


def schema_problems(columns: Mapping[str, Collection[str]]) -> list[str]:
    """What keeps ``{table: column names}`` from being the Folionaut schema (empty when it is)."""
    problems = []
    for table, expected in EXPECTED_COLUMNS.items():
        if table not in columns:
            problems.append(f"table {table} is missing")
            continue
        missing = [name for name in expected if name not in columns[table]]
        if missing:
            problems.append(f"table {table} lacks column(s) {', '.join(missing)}")
    return problems


async def table_names(db: Database) -> set[str]:
    rows = await db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {str(row["name"]) for row in rows}


async def table_columns(db: Database, tables: Collection[str]) -> dict[str, set[str]]:
    present = await table_names(db)
    columns: dict[str, set[str]] = {}
    for table in tables:
        if table in present:
            rows = await db.fetch_all("SELECT name FROM pragma_table_info(?)", (table,))
            columns[table] = {str(row["name"]) for row in rows}
    return columns


async def adopt_original(db: Database, clock: Clock | None = None) -> bool:
    """Record our baseline as applied on an original-Folionaut database; True when it did.

    A no-op (False) unless drizzle's migrations table is there and our baseline
    is not yet recorded. Raises ``UnrecognisedSchemaError`` when drizzle's table
    is there but the Folionaut tables are not (or lack columns): better to stop
    than to bolt our schema onto someone else's database.
    """
    tables = await table_names(db)
    if DRIZZLE_TABLE not in tables:
        return False
    if MIGRATIONS_TABLE in tables:
        recorded = await db.fetch_one(
            f"SELECT version FROM {MIGRATIONS_TABLE} WHERE version = ?", (BASELINE_VERSION,)
        )
        if recorded:
            return False
    problems = schema_problems(await table_columns(db, EXPECTED_COLUMNS))
    if problems:
        raise UnrecognisedSchemaError(
            f"found {DRIZZLE_TABLE} but not an original Folionaut schema: {'; '.join(problems)}"
        )
    baseline = next(m for m in available_migrations() if m.version == BASELINE_VERSION)
    # The tables exist with the original's DDL; keep them and add only what the
    # baseline adds besides tables (its indexes, all IF NOT EXISTS).
    extras = [
        Statement(sql) for _, sql in split_statements(baseline.sql)
        if not sql.lstrip().upper().startswith("CREATE TABLE")
    ]
    await db.batch([
        Statement(CREATE_MIGRATIONS_TABLE),
        *extras,
        Statement(
            f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)",
            (baseline.version, baseline.name, now_iso(clock or SystemClock())),
        ),
    ])
    logger.info("adopted existing Folionaut database: recorded %04d_%s as applied", baseline.version, baseline.name)
    return True
