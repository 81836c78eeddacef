"""Fixtures for the distribution tests: one zipapp built per session, a clean environment, the CPythons here."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from folionaut.settings import SETTINGS
from tests.helpers.prerequisites import missing

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_SECONDS = 600
#: Filled by `python scripts/build_zipapp.py --fetch-only` (.ci/run does, before pytest): the build
#: in these tests reads only from there and reaches no package index.
WHEELHOUSE = ROOT / "build" / "wheelhouse"
#: The interpreters folionaut.pyz carries wheels for.
SUPPORTED = ((3, 11), (3, 12), (3, 13))


def bare_python() -> str:
    """The interpreter under the test venv: what a machine with only CPython has."""
    return getattr(sys, "_base_executable", None) or sys.executable


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any Folionaut setting, so a process runs on the built-in defaults."""
    names = {var for spec in SETTINGS for var in spec.env} | {"FOLIONAUT_CONFIG", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {key: value for key, value in os.environ.items() if key not in names and not key.startswith("SHIV_")}
    env.update(extra)
    return env


def require_wheelhouse() -> None:
    """The wheels fetched before pytest, or a skip (a failure in CI) saying how to fetch them."""
    if not any(WHEELHOUSE.glob("*.whl")):
        missing(f"no wheels in {WHEELHOUSE.relative_to(ROOT)}: run `python scripts/build_zipapp.py --fetch-only` "
                "before pytest (tests never download)")


@pytest.fixture(scope="session")
def zipapp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python scripts/build_zipapp.py --offline`` into a temp dir, once per session."""
    require_wheelhouse()
    output = tmp_path_factory.mktemp("dist") / "folionaut.pyz"
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_zipapp.py"), "--quiet", "--offline", "--output", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT_SECONDS,
    )
    assert done.returncode == 0, f"build failed:\n{done.stdout}\n{done.stderr}"
    assert output.is_file()
    return output


@functools.cache
def cpythons() -> tuple[tuple[str, str], ...]:
    """``(version, path)`` of every distinct CPython on this machine: the system's, PATH's, pyenv's."""
    candidates = ["/usr/bin/python3", bare_python()]
    candidates += [f"/usr/bin/python3.{minor}" for minor in range(6, 16)]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates += sorted(str(p) for p in pyenv.glob("*/bin/python[23]") if p.parent.parent.name[0].isdigit())
    found: dict[str, str] = {}
    for path in candidates:
        if not Path(path).is_file():
            continue
        probe = subprocess.run(
            [path, "-c", "import platform; print(platform.python_implementation(), platform.python_version())"],
            capture_output=True, text=True, timeout=30, check=False,
        )
        words = probe.stdout.split()
        if probe.returncode == 0 and len(words) == 2 and words[0] == "CPython":
            found.setdefault(words[1], path)
    return tuple(sorted(found.items(), key=lambda item: tuple(int(x) for x in item[0].split(".")[:3])))


def is_supported(version: str) -> bool:
    major, minor = (int(x) for x in version.split(".")[:2])
    return (major, minor) in SUPPORTED


@pytest.fixture(scope="session")
def shiv_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SHIV_ROOT of our own: the first run extracts into it, later runs reuse it."""
    return tmp_path_factory.mktemp("shiv-root")
