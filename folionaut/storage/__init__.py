"""Storage: the Database interface, its backends and migrations."""

from __future__ import annotations

from pathlib import Path

from folionaut.settings import Settings
from folionaut.storage.base import Database, ExecResult, Row, Statement

__all__ = ["Database", "ExecResult", "Row", "Statement", "open_database"]


async def open_database(settings: Settings) -> Database:
    """Open the database the settings point at (embedded SQLite unless Turso is set)."""
    if settings.uses_libsql:
        from folionaut.storage.libsql import LibSQLDatabase

        return await LibSQLDatabase.open(
            settings.turso_database_url, settings.turso_auth_token,
            connect_timeout=settings.turso_connect_timeout_seconds,
            call_timeout=settings.turso_call_timeout_ms / 1000,
        )
    from folionaut.storage.sqlite import SQLiteDatabase

    path = settings.database_path
    return await SQLiteDatabase.open(path, private_directory=path.parent == Path(settings.data_dir))
