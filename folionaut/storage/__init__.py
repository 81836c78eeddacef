"""Storage: the Database interface, its backends and migrations."""

from __future__ import annotations

from folionaut.settings import Settings
from folionaut.storage.base import Database, ExecResult, Row, Statement

__all__ = ["Database", "ExecResult", "Row", "Statement", "open_database"]


async def open_database(settings: Settings, *, read_only: bool = False) -> Database:
    """Open the database the settings point at (embedded SQLite unless Turso is set).

    ``read_only``: change nothing on disk (a SQLite file must exist; see ``storage/sqlite.py``).
    A libSQL server is opened as usual: reading changes nothing there."""
    if settings.uses_libsql:
        from folionaut.storage.libsql import LibSQLDatabase

        return await LibSQLDatabase.open(
            settings.turso_database_url, settings.turso_auth_token,
            connect_timeout=settings.turso_connect_timeout_seconds,
            call_timeout=settings.turso_call_timeout_ms / 1000,
        )
    from folionaut.storage.sqlite import SQLiteDatabase

    return await SQLiteDatabase.open(settings.database_path, read_only=read_only)
