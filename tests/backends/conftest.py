"""The real app over real HTTP on each database backend: embedded SQLite, libSQL over HTTP, over WebSocket.

Every test here that takes ``api`` (or ``backend_settings``) runs three times,
once per backend of ``tests.helpers.backends.BACKEND_NAMES``; the libSQL ones
talk to the Hrana test server through the unmodified libsql-client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.http.app import create_app
from folionaut.settings import Settings, test_settings
from tests.conftest import ADMIN_KEY
from tests.helpers.backends import (
    DatabaseBackend,
    database_backend,  # noqa: F401  (a fixture, parametrized over backends)
)


@pytest.fixture
def backend_settings(database_backend: DatabaseBackend, data_dir: Path) -> Settings:  # noqa: F811
    """Test settings pointing at the backend; no LLM key, so chat answers offline."""
    return test_settings(
        data_dir=str(data_dir), admin_api_key=ADMIN_KEY, feature_rate_limiting=False,
        **database_backend.settings_changes(),
    )


@pytest.fixture
async def api(aiohttp_client: Any, backend_settings: Settings) -> TestClient:
    """The real app on 127.0.0.1, on this test's backend."""
    return await aiohttp_client(create_app(backend_settings))
