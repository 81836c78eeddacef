"""README.md cannot rot: its table, its commands and its curl examples are checked against the code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from folionaut.cli import cli
from folionaut.settings import render_settings_table
from tests.dist.conftest import ROOT, clean_env
from tests.helpers.served import ServerProcess

README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)


def between(begin: str, end: str) -> str:
    start, stop = README.index(begin) + len(begin), README.index(end)
    return README[start:stop]


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    following = README.find("\n## ", start + 1)
    return README[start: following if following != -1 else len(README)]


def test_configuration_table_is_the_rendering_of_settings() -> None:
    documented = between("<!-- settings-table:begin -->\n", "<!-- settings-table:end -->")
    assert documented == render_settings_table(), "run: .venv/bin/python scripts/update_generated.py"


def test_quick_start_is_two_commands_and_ci_runs_the_second() -> None:
    blocks = [body.strip() for _, body in FENCE.findall(section("Quick start"))]
    assert len(blocks) == 2 and all("\n" not in block for block in blocks), blocks
    run_command, test_command = blocks
    assert run_command.endswith("folionaut serve")
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines, ".ci/run must run the README's test command verbatim"


def test_every_cli_command_is_documented() -> None:
    commands = section("Commands and exit codes")
    documented = set(re.findall(r"^\| `folionaut (\w+)", commands, re.MULTILINE))
    assert documented == set(cli.commands)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_api_examples_work_verbatim_against_a_fresh_serve(tmp_path: Path) -> None:
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed: the README's examples use it (apt-get install curl)")
    examples = between("<!-- api-examples:begin -->\n", "<!-- api-examples:end -->")
    [(language, script)] = FENCE.findall(examples)
    assert language == "sh"
    home = tmp_path / "fresh"
    home.mkdir()
    with ServerProcess([sys.executable, str(ROOT / "folionaut.py"), "serve", "--port", "0"],
                       cwd=home, env=clean_env()) as server:
        base_url = server.wait_listening(timeout=60)
        server.wait_live(timeout=60)
        # Only the address changes (port 0 here); every non-2xx answer fails the script.
        prelude = 'set -euo pipefail\ncurl() { command curl --max-time 10 --fail-with-body "$@"; }\n'
        done = subprocess.run(
            ["bash", "-c", prelude + script.replace("http://127.0.0.1:3000", base_url)],
            cwd=home, env=clean_env(), capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, f"README examples failed:\n{done.stdout}\n{done.stderr}"
        out = done.stdout
        assert '{"status":"ok"}' in out
        assert '"slug":"hello-world"' in out
        assert re.search(r"(?im)^etag: W/\"", out), "the single-item read shows its ETag"
        assert '"summary":"Now with a history"' in out and '"version":2' in out
        assert '"sessionId":"sess_' in out
        assert 'circuit_breaker_state{name="llm"} 0' in out
        assert out.rstrip().endswith('{"success":true}')
        # The effects, read back: version 1 restored as version 3, then soft-deleted (version 4).
        admin = {"X-Admin-Key": (home / "data" / "admin_key").read_text().strip()}
        _, _, listed = server.request("GET", "/api/v1/admin/content?includeDeleted=true", headers=admin)
        [item] = listed["data"]
        assert item["deletedAt"] is not None and item["data"]["summary"] == "My first project"
        _, _, history = server.request("GET", f"/api/v1/admin/content/{item['id']}/history", headers=admin)
        assert [(h["version"], h["changeType"]) for h in history["data"]] == [
            (4, "deleted"), (3, "restored"), (2, "updated"), (1, "created")]
        assert server.stop() == 0, server.stderr
