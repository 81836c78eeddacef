"""What a test needs from the machine beyond Python: a developer without it gets a skip that says how to
get it; CI (``CI`` set, as ``.ci/run`` does) fails instead, since ``.ci/prepare`` provides everything."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest

__all__ = ["missing", "sqlite3_shell"]


def missing(what: str) -> NoReturn:
    """Stop the test: ``what`` is not on this machine (a skip for a developer, a failure in CI)."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI runs .ci/prepare, which provides it)")
    pytest.skip(what)


def sqlite3_shell() -> str:
    """The sqlite3 command-line shell's path (Debian's `sqlite3` package)."""
    return shutil.which("sqlite3") or missing("the sqlite3 shell is not installed: apt-get install sqlite3")
