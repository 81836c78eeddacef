"""Versioned SQL migrations shipped inside the package.

Files are ``migrations/NNNN_name.sql``; each is applied atomically together with
its record in ``folionaut_migrations``, so a failed migration leaves nothing
half-done and re-running is a no-op.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from folionaut.core.clock import Clock, SystemClock, now_iso
from folionaut.storage.base import Database, Statement
from folionaut.storage.sqltext import split_statements

MIGRATIONS_TABLE = "folionaut_migrations"
_FILE_PATTERN = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

CREATE_MIGRATIONS_TABLE = (
    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
    "version INTEGER PRIMARY KEY NOT NULL, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    applied: list[tuple[int, str, str]]  # (version, name, applied_at)
    pending: list[Migration]


def available_migrations() -> list[Migration]:
    folder = resources.files("folionaut.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILE_PATTERN.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


async def migration_status(db: Database) -> MigrationStatus:
    # Read-only, so `migrate --status` and `folionaut check` work with a read-only token.
    exists = await db.fetch_one(
        "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
    )
    query = f"SELECT version, name, applied_at FROM {MIGRATIONS_TABLE} ORDER BY version"
    rows = await db.fetch_all(query) if exists else []
    applied = [(int(r["version"]), str(r["name"]), str(r["applied_at"])) for r in rows]
    done = {version for version, _, _ in applied}
    return MigrationStatus(applied, [m for m in available_migrations() if m.version not in done])


async def apply_migrations(db: Database, clock: Clock | None = None) -> list[Migration]:
    """Apply every pending migration in order; return those applied."""
    from folionaut.storage.adopt import adopt_original  # adopt imports this module

    clock = clock or SystemClock()
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
