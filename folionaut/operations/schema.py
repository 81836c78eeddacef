"""`folionaut migrate`: bring the schema up to date, or say what that would do."""

from __future__ import annotations

from folionaut.runtime import Runtime
from folionaut.settings import Settings
from folionaut.storage.adopt import adopt_original
from folionaut.storage.migrate import apply_migrations, migration_status

__all__ = ["migrate", "migration_plan", "migration_report"]


async def migration_report(settings: Settings) -> list[str]:
    """One line per applied and pending migration (``--status``); changes nothing."""
    async with Runtime.storage_only(settings) as runtime:
        status = await migration_status(runtime.database)
    return [*(f"applied  {version:04d}_{name}  {applied_at}" for version, name, applied_at in status.applied),
            *(f"pending  {m.version:04d}_{m.name}" for m in status.pending)]


async def migration_plan(settings: Settings) -> list[str]:
    """What ``migrate`` would apply (``--dry-run``); changes nothing."""
    async with Runtime.storage_only(settings) as runtime:
        status = await migration_status(runtime.database)
    if not status.pending:
        return ["nothing to apply: the database is up to date"]
    return [f"would apply {m.version:04d}_{m.name}" for m in status.pending]


async def migrate(settings: Settings) -> list[str]:
    """Adopt an original Folionaut database if that is what this is, then apply what is pending."""
    lines: list[str] = []
    async with Runtime.storage_only(settings) as runtime:
        if await adopt_original(runtime.database):
            lines.append("adopted existing Folionaut database: kept its tables and rows, recorded 0001 as applied")
        applied = await apply_migrations(runtime.database)
    lines += [f"applied {m.version:04d}_{m.name}" for m in applied]
    if not applied:
        lines.append("nothing to apply: the database is up to date")
    return lines
