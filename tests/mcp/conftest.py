"""MCP test helpers: seeded content over the real admin API, and the SDK-1.x interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
#: The 1.x SDK cannot share a virtualenv with 2.x: it lives in its own, built once and kept (git-ignored).
SDK1_VENV = Path(os.environ.get("FOLIONAUT_MCP1_VENV", REPO / ".venv-mcp1"))
SDK1_REQUIREMENT = "mcp>=1.30,<2"

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


@pytest.fixture(scope="session")
def sdk1_python() -> str:
    """A Python with the 1.x `mcp` SDK, in a virtualenv of its own (created on first use)."""
    python = SDK1_VENV / "bin" / "python"
    check = [str(python), "-c", "import mcp, importlib.metadata as m; assert m.version('mcp').startswith('1.')"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python)
    steps = [[sys.executable, "-m", "venv", str(SDK1_VENV)],
             [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", SDK1_REQUIREMENT]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            pytest.fail(f"could not prepare the mcp 1.x client venv ({' '.join(step)}): {done.stderr[-2000:]}")
    return str(python)
