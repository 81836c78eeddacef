"""Health probes over real HTTP, including an outage of the real SQLite file under a running app."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from folionaut import __version__
from folionaut.settings import Settings


async def test_live_root_and_startup(client: Any) -> None:
    for path in ("/", "/api/health/live"):
        response = await client.get(path)
        assert response.status == 200 and await response.json() == {"status": "ok"}
    startup = await client.get("/api/health/startup")
    body = await startup.json()
    assert startup.status == 200
    assert body["status"] == "started" and body["version"] == __version__ and body["environment"] == "test"
    assert isinstance(body["uptime"], int) and body["uptime"] >= 0


async def test_ready_queries_the_database(client: Any) -> None:
    response = await client.get("/api/health/ready")
    assert response.status == 200
    assert await response.json() == {"status": "ready", "checks": {"database": "ok"}}


def _overwrite_in_place(path: Path) -> None:
    # Same inode, garbage where the SQLite header was: what a bad restore or a stray `dd` does.
    with open(path, "r+b") as handle:
        handle.write(b"this is no longer a database" * 64)


def _replace(path: Path) -> None:
    # A different file now sits at the path; open connections still see the old, orphaned one.
    stranger = path.with_name("stranger")
    stranger.write_bytes(b"not sqlite" * 100)
    os.replace(stranger, path)


def _remove(path: Path) -> None:
    path.unlink()


def _truncate(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("break_file", [_overwrite_in_place, _replace, _remove, _truncate],
                         ids=["overwritten", "replaced", "removed", "truncated"])
async def test_ready_is_503_unhealthy_when_the_database_file_is_broken(
    make_client: Any, settings: Settings, break_file: Callable[[Path], None]
) -> None:
    # chmod alone cannot make a file unreadable for root (tests may run as root), and open
    # connections ignore permissions anyway; these are outages that really happen to a file.
    # Outages of the embedded file: on SQLite even when FOLIONAUT_TEST_BACKEND picks libSQL.
    settings = settings.replace(turso_database_url="", turso_auth_token="")
    client = await make_client(settings)
    assert (await client.get("/api/health/ready")).status == 200
    break_file(settings.database_path)
    response = await client.get("/api/health/ready")
    assert response.status == 503
    assert await response.json() == {"status": "unhealthy", "checks": {"database": "error"}}
    assert (await client.get("/api/health/live")).status == 200  # liveness is not readiness
