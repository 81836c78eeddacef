"""Run the same tests on every database backend: embedded SQLite, libSQL over HTTP, libSQL over WebSocket.

``open_database_backend(name, directory)`` is an async context manager that
yields a ``DatabaseBackend``: the ``turso_database_url`` / ``turso_auth_token``
pair to put in Settings (``backend.settings_changes()``), the SQLite file that
holds the data, and for the Hrana backends the running ``HranaServer`` (so a
test can also flip its failure switches).

``database_backend`` is a pytest fixture parametrized over ``BACKEND_NAMES``;
a test that takes it runs three times. To use it, import it into a conftest or
test module (pytest finds fixtures by name in those)::

    from folionaut.settings import test_settings
    from tests.helpers.backends import database_backend  # noqa: F401  (a fixture)

    async def test_create_and_read(database_backend, data_dir, aiohttp_client):
        settings = test_settings(data_dir=str(data_dir), **database_backend.settings_changes())
        client = await aiohttp_client(create_app(settings))
        ...

To run a whole directory on all three, put that import in its ``conftest.py``
and have the directory's ``settings`` fixture take ``database_backend``. For
one backend only, use ``open_database_backend("hrana-ws", tmp_path)`` directly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.hrana_server import HranaServer

BACKEND_NAMES = ("sqlite", "hrana-http", "hrana-ws")
#: The token the test Hrana servers expect (never a real credential).
TEST_AUTH_TOKEN = "hrana-test-token-0123456789abcdef"


@dataclass(frozen=True, slots=True)
class DatabaseBackend:
    name: str
    turso_database_url: str
    turso_auth_token: str
    #: The SQLite file holding the data (behind the Hrana server for the libSQL backends).
    database_file: Path
    server: HranaServer | None = None

    def settings_changes(self) -> dict[str, str]:
        """Keyword arguments for ``test_settings(...)`` / ``Settings.replace(...)``."""
        return {"turso_database_url": self.turso_database_url, "turso_auth_token": self.turso_auth_token}

    def env(self) -> dict[str, str]:
        """The same, as environment variables (for CLI tests run in a subprocess)."""
        return {"TURSO_DATABASE_URL": self.turso_database_url, "TURSO_AUTH_TOKEN": self.turso_auth_token}


@asynccontextmanager
async def open_database_backend(
    name: str, directory: Path, auth_token: str = TEST_AUTH_TOKEN, filename: str | None = None,
    **server_options: Any,
) -> AsyncIterator[DatabaseBackend]:
    """Yield a ready backend named ``name`` (one of ``BACKEND_NAMES``) keeping its files in ``directory``.

    ``filename`` names the SQLite file (for the Hrana backends, the file behind the server);
    ``folionaut.db`` in the data directory puts it where ``Settings.database_path`` looks.
    ``server_options`` go to ``HranaServer`` (``statement_delay``, ``busy_timeout_ms``).
    """
    # No mkdir here: the SQLite backend and the Hrana server create the file's folder themselves.
    if name == "sqlite":
        path = directory / (filename or "folionaut.db")
        yield DatabaseBackend(name, f"file:{path}", "", path)
        return
    if name not in ("hrana-http", "hrana-ws"):
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKEND_NAMES}")
    path = directory / (filename or "hrana-remote.db")
    async with HranaServer(path, auth_token=auth_token, **server_options) as server:
        url = server.url_http if name == "hrana-http" else server.url_ws
        yield DatabaseBackend(name, url, auth_token, path, server)


@pytest.fixture(params=BACKEND_NAMES)
async def database_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseBackend]:
    """Each backend in turn (see the module docstring)."""
    async with open_database_backend(request.param, tmp_path / "db") as backend:
        yield backend
