"""The lean default install: Turso support is the `turso` extra, and its absence is one clear line."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.dist.conftest import ROOT, clean_env

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# Python's documented way to make an import fail as if the package were not installed.
WITHOUT_LIBSQL = ("import sys; sys.modules['libsql_client'] = None; "
                  "from folionaut.cli import main; sys.argv[0] = 'folionaut'; main()")


def test_libsql_client_is_an_extra_that_the_test_extra_and_the_zipapp_bring() -> None:
    assert not any(dep.startswith("libsql-client") for dep in PYPROJECT["dependencies"])
    assert any(dep.startswith("libsql-client") for dep in PYPROJECT["optional-dependencies"]["turso"])
    assert "folionaut[turso]" in PYPROJECT["optional-dependencies"]["test"]
    assert '"turso"' in (ROOT / "shiv.toml").read_text().split("extras = ", 1)[1].splitlines()[0]


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--port", "0"], ["dump", "--output", "x.sql"]])
def test_turso_url_without_libsql_client_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    env = clean_env(TURSO_DATABASE_URL="libsql://example.turso.io", TURSO_AUTH_TOKEN="secret-token")
    done = subprocess.run([sys.executable, "-c", WITHOUT_LIBSQL, *command], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("folionaut:")]
    assert errors == ["folionaut: TURSO_DATABASE_URL is set but Turso support is not installed: "
                      "pip install 'folionaut[turso]' (folionaut.pyz always has it)"], done.stderr
    assert "Traceback" not in done.stderr and "secret-token" not in done.stderr


def test_check_reports_the_missing_turso_support_as_a_failed_check(tmp_path: Path) -> None:
    env = clean_env(TURSO_DATABASE_URL="libsql://example.turso.io")
    done = subprocess.run([sys.executable, "-c", WITHOUT_LIBSQL, "check"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1
    assert "pip install 'folionaut[turso]'" in done.stdout and "Traceback" not in done.stderr
