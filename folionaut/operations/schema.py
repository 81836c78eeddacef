"""`folionaut migrate`: bring the schema up to date, or say what that would do.

``--status`` and ``--dry-run`` change nothing on disk: a SQLite file that is not
there is not created (everything is pending), and one that is there is opened
read-only.
"""

from __future__ import annotations

from folionaut.core.errors import NewerSchemaError
from folionaut.runtime import Runtime
from folionaut.settings import Settings
from folionaut.storage.adopt import adopt_original
from folionaut.storage.migrate import (
    MigrationStatus,
    apply_migrations,
    available_migrations,
    migration_status,
    newer_schema_message,
)

__all__ = ["migrate", "migration_plan", "migration_report"]


async def _status(settings: Settings) -> MigrationStatus | None:
    """The database's migration status, read without changing anything; None when there is no file yet."""
    if not settings.uses_libsql and not settings.database_path.exists():
        return None
    async with Runtime.storage_only(settings, read_only=True) as runtime:
        return await migration_status(runtime.database)


async def migration_report(settings: Settings) -> tuple[list[str], str | None]:
    """One line per applied and pending migration (``--status``), and what stops this build, if anything."""
    status = await _status(settings)
    if status is None:
        return [f"pending  {m.version:04d}_{m.name}" for m in available_migrations()], None
    unknown = {version for version, _, _ in status.unknown}
    lines = [f"applied  {version:04d}_{name}  {applied_at}"
             + ("  (unknown to this build)" if version in unknown else "")
             for version, name, applied_at in status.applied]
    lines += [f"pending  {m.version:04d}_{m.name}" for m in status.pending]
    return lines, newer_schema_message(status.unknown) if status.unknown else None


async def migration_plan(settings: Settings) -> list[str]:
    """What ``migrate`` would apply (``--dry-run``); changes nothing."""
    status = await _status(settings)
    if status is None:
        return [f"would create {settings.database_path}",
                *(f"would apply {m.version:04d}_{m.name}" for m in available_migrations())]
    if status.unknown:
        raise NewerSchemaError(newer_schema_message(status.unknown))
    if not status.pending:
        return ["nothing to apply: the database is up to date"]
    return [f"would apply {m.version:04d}_{m.name}" for m in status.pending]


async def migrate(settings: Settings) -> list[str]:
    """Adopt an original Folionaut database if that is what this is, then apply what is pending."""
    lines: list[str] = []
    async with Runtime.storage_only(settings) as runtime:
        # The guard first: a newer database is neither adopted nor touched.
        if (status := await migration_status(runtime.database)).unknown:
            raise NewerSchemaError(newer_schema_message(status.unknown))
        if await adopt_original(runtime.database):
            lines.append("adopted existing Folionaut database: kept its tables and rows, recorded 0001 as applied")
        applied = await apply_migrations(runtime.database)
    lines += [f"applied {m.version:04d}_{m.name}" for m in applied]
    if not applied:
        lines.append("nothing to apply: the database is up to date")
    return lines
