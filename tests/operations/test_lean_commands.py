"""The operations commands start lean: a cron job's `dump` does not load the HTTP client, chat, MCP,
webhooks, Redis or Prometheus code it never uses (each costs start-up time: aiohttp alone ~120 ms,
building its TLS context at import), nor the services and shared state of the runtime's upper layers
(~50 ms). Checked in real processes, with Python's own import log."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.operations.conftest import CLI, subprocess_env

#: Packages an operations command must not import (prefix match on module names).
NOT_FOR_OPERATIONS = ("aiohttp", "folionaut.chat", "folionaut.mcp", "folionaut.webhooks", "folionaut.http",
                      "redis", "prometheus_client", "folionaut.content.service", "folionaut.access.service",
                      "folionaut.admin_sessions", "folionaut.resilience", "folionaut.cache.memory",
                      "folionaut.cache.read_through")


def imported_modules(args: list[str], data_dir: Path) -> set[str]:
    result = subprocess.run([*CLI[:1], "-X", "importtime", *CLI[1:], *args], env=subprocess_env(data_dir),
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    # Lines read "import time: self | cumulative | <indent>module".
    return {line.rsplit("|", 1)[1].strip() for line in result.stderr.decode().splitlines()
            if line.startswith("import time:") and "|" in line}


@pytest.mark.slow
@pytest.mark.parametrize("command", ["migrate", "dump", "restore"])
def test_operations_commands_import_no_serving_code(tmp_path: Path, command: str) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    backup = tmp_path / "backup.sql"
    if command != "migrate":
        for setup in (["migrate"], ["dump", "-o", str(backup)]):
            subprocess.run([*CLI, *setup], env=subprocess_env(source), check=True, capture_output=True, timeout=60)
    args = {"migrate": ["migrate"], "dump": ["dump", "-o", str(tmp_path / "again.sql")],
            "restore": ["restore", str(backup)]}[command]
    modules = imported_modules(args, source if command == "dump" else target)
    assert "folionaut.runtime" in modules  # the command ran through the runtime, as the others do
    unwanted = sorted(m for m in modules if m.startswith(NOT_FOR_OPERATIONS))
    assert unwanted == []
