"""MCP test helpers: seeded content over the real admin API, tokens, and the prepared 1.x SDK clients."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.helpers.prerequisites import missing

REPO = Path(__file__).resolve().parents[2]
#: The 1.x SDKs cannot share the test virtualenv with 2.x: each has its own, prepared before pytest runs.
PREPARE_SCRIPT = REPO / "scripts" / "prepare_test_clients.py"
SDK1_SCRIPT = Path(__file__).with_name("sdk1_client.py")

SEED = [
    {"type": "project", "slug": "rocket", "status": "published",
     "data": {"title": "Rocket Planner", "description": "Plans rocket launches with orbital maths"}},
    {"type": "project", "slug": "garden", "status": "published",
     "data": {"title": "Garden Bot", "description": "Waters plants on a schedule"}},
    {"type": "skill", "slug": "python", "status": "published", "sortOrder": 1,
     "data": {"title": "Python", "level": "expert"}},
    {"type": "skill", "slug": "rust", "status": "published", "sortOrder": 2,
     "data": {"title": "Rust", "level": "intermediate"}},
    {"type": "project", "slug": "secret", "status": "draft", "data": {"title": "Secret Draft"}},
]


async def seed_content(client: Any, admin_headers: dict[str, str]) -> dict[str, str]:
    """Create the seed items through the admin API; returns slug → id."""
    ids = {}
    for body in SEED:
        response = await client.post("/api/v1/admin/content", json=body, headers=admin_headers)
        assert response.status == 201, await response.text()
        ids[body["slug"]] = (await response.json())["data"]["id"]
    return ids


def _prepare_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("prepare_test_clients", PREPARE_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def client_python(name: str) -> str:
    """The interpreter of a prepared client virtualenv; skips (naming the script) when it is missing."""
    prepared = _prepare_script().client_python(name)
    if prepared is None:
        missing(f"the {name} client virtualenv is not prepared: run "
                f"`python3 scripts/prepare_test_clients.py {name}` before pytest")
    return str(prepared)


async def run_client(python: str, *args: str) -> dict[str, Any]:
    """Run tests/mcp/sdk1_client.py in a client virtualenv (bounded); its JSON report."""
    process = await asyncio.create_subprocess_exec(
        python, str(SDK1_SCRIPT), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode == 0, stderr.decode()[-3000:]
    return json.loads(stdout)


@pytest.fixture
def python_executable() -> str:
    """The interpreter running the tests: it has folionaut installed, so `-m folionaut mcp` works from anywhere."""
    return sys.executable
