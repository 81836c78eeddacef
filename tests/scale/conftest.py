"""Scale-out tests: several instances on one database and Redis, several workers on one port."""

from __future__ import annotations

from tests.cli.conftest import start_serve, workdir  # noqa: F401  (fixtures: real `folionaut.py serve` processes)
