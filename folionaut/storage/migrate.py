"""Versioned SQL migrations shipped inside the package.

Files are ``migrations/NNNN_name.sql``; each is applied atomically together with
its record in ``folionaut_migrations``, so a failed migration leaves nothing
half-done and re-running is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

from folionaut import __version__
from folionaut.core.clock import Clock, SystemClock, now_iso
from folionaut.core.errors import NewerSchemaError
from folionaut.storage.adopt import adopt_original
from folionaut.storage.base import Database, Statement
from folionaut.storage.migration_catalog import (
    CREATE_MIGRATIONS_TABLE,
    MIGRATIONS_TABLE,
    Migration,
    available_migrations,
)
from folionaut.storage.sqltext import split_statements

__all__ = [
    "MIGRATIONS_TABLE", "Migration", "MigrationStatus", "apply_migrations", "available_migrations", "migration_status",
    "newer_schema_message", "refuse_newer_schema",
]


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    applied: list[tuple[int, str, str]]  # (version, name, applied_at)
    pending: list[Migration]
    #: Applied migrations this build does not ship: the database was migrated by a newer Folionaut.
    unknown: list[tuple[int, str, str]]


def newer_schema_message(unknown: list[tuple[int, str, str]], where: str = "the database") -> str:
    """One line naming the database's schema version and this build's."""
    newest = max(unknown)
    known = available_migrations()
    ours = f"{known[-1].version:04d}_{known[-1].name}" if known else "none"
    return (f"{where} is at migration {newest[0]:04d}_{newest[1]}, newer than this folionaut {__version__} knows "
            f"(up to {ours}): upgrade folionaut, or restore a backup this version made")


def refuse_newer_schema(status: MigrationStatus, where: str = "the database") -> None:
    """``NewerSchemaError`` when the database was migrated by a newer build: nothing may serve or change it."""
    if status.unknown:
        raise NewerSchemaError(newer_schema_message(status.unknown, where))


async def migration_status(db: Database) -> MigrationStatus:
    # Read-only, so `migrate --status` and `folionaut check` work with a read-only token.
    exists = await db.fetch_one(
        "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    )
    query = f"SELECT version, name, applied_at FROM {MIGRATIONS_TABLE} ORDER BY version"
    rows = await db.fetch_all(query) if exists else []
    applied = [(int(r["version"]), str(r["name"]), str(r["applied_at"])) for r in rows]
    done = {version for version, _, _ in applied}
    known = available_migrations()
    shipped = {m.version for m in known}
    return MigrationStatus(applied, [m for m in known if m.version not in done],
                           [row for row in applied if row[0] not in shipped])


async def apply_migrations(db: Database, clock: Clock | None = None) -> list[Migration]:
    """Apply every pending migration in order; return those applied."""
    clock = clock or SystemClock()
    refuse_newer_schema(await migration_status(db))  # before anything is written
    # An original (TypeScript) Folionaut database: record the baseline instead of re-creating
    # tables. First, so that a database it refuses is left exactly as it was.
    await adopt_original(db, clock)
    await db.execute(CREATE_MIGRATIONS_TABLE)
    status = await migration_status(db)
    for migration in status.pending:
        statements = [Statement(sql) for _, sql in split_statements(migration.sql)]
        statements.append(
            Statement(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, now_iso(clock)),
            )
        )
        await db.batch(statements)
    return status.pending
