"""Storage: the Database interface, its backends and migrations."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from folionaut.core.errors import ConfigError
from folionaut.settings import Settings
from folionaut.storage.base import Database, ExecResult, Row, Statement

__all__ = ["Database", "ExecResult", "Row", "Statement", "TursoSupportMissing", "open_database"]


class TursoSupportMissing(ConfigError):
    """TURSO_DATABASE_URL names a libSQL server but libsql-client (the `turso` extra) is not installed."""

    def __init__(self) -> None:
        self.setting = "TURSO_DATABASE_URL"
        self.expected = "libsql-client installed"
        Exception.__init__(self, "TURSO_DATABASE_URL is set but Turso support is not installed: "
                                 "pip install 'folionaut[turso]' (folionaut.pyz always has it)")


async def open_database(settings: Settings, *, read_only: bool = False) -> Database:
    """Open the database the settings point at (embedded SQLite unless Turso is set).

    ``read_only``: change nothing on disk (a SQLite file must exist; see ``storage/sqlite.py``).
    A libSQL server is opened as usual: reading changes nothing there."""
    if settings.uses_libsql:
        if importlib.util.find_spec("libsql_client") is None:
            raise TursoSupportMissing()
        from folionaut.storage.libsql import LibSQLDatabase

        return await LibSQLDatabase.open(
            settings.turso_database_url, settings.turso_auth_token,
            connect_timeout=settings.turso_connect_timeout_seconds,
            call_timeout=settings.turso_call_timeout_ms / 1000,
        )
    from folionaut.storage.sqlite import SQLiteDatabase

    path = settings.database_path
    return await SQLiteDatabase.open(path, read_only=read_only,
                                     private_directory=path.parent == Path(settings.data_dir))
