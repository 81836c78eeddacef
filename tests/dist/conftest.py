"""Fixtures for the distribution tests: one zipapp built per session, a clean environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from folionaut.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_SECONDS = 600


def bare_python() -> str:
    """The interpreter under the test venv: what a machine with only CPython has."""
    return getattr(sys, "_base_executable", None) or sys.executable


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any Folionaut setting, so a process runs on the built-in defaults."""
    names = {var for spec in SETTINGS for var in spec.env} | {"FOLIONAUT_CONFIG", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {key: value for key, value in os.environ.items() if key not in names and not key.startswith("SHIV_")}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python scripts/build_zipapp.py`` into a temp dir (pip's own cache makes rebuilds quick)."""
    output = tmp_path_factory.mktemp("dist") / "folionaut.pyz"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_zipapp.py"), "--quiet", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS,
    )
    assert done.returncode == 0, f"build failed:\n{done.stdout}\n{done.stderr}"
    assert output.is_file()
    return output


@pytest.fixture(scope="session")
def shiv_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SHIV_ROOT of our own: the first run extracts into it, later runs reuse it."""
    return tmp_path_factory.mktemp("shiv-root")
