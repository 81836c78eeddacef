"""Finding one's way as an operator: every command's help names its flags and environment variables,
./config.toml is read, `folionaut config` says where each value came from (secrets masked), and
`check --url` asks a running server. Real `folionaut.py` processes."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from folionaut.cli.common import STORAGE_SETTINGS
from folionaut.settings import SETTINGS, SPECS_BY_NAME
from tests.cli.conftest import ServeProcess, clean_env, run_cli

SECRET_KEY = "config-shows-no-secret-0123456789abcdefghij"
COMMANDS = ("serve", "migrate", "mcp", "dump", "restore", "check", "config", "token create", "token list",
            "token revoke")


def help_of(command: str, workdir: Path) -> str:
    result = run_cli([*command.split(), "--help"], workdir)
    assert result.returncode == 0, result.stderr
    return " ".join(result.stdout.split())  # click wraps lines: compare words


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_names_its_flags_and_environment(command: str, workdir: Path) -> None:
    text = help_of(command, workdir)
    assert "--data-dir DIRECTORY" in text and "--log-level [debug|info|warning|error]" in text
    assert "--config FILE" in text and "Precedence: flag > environment > file > default" in text
    listed = re.search(r"Environment variables read: ([A-Z0-9_, ]+)\.", text)
    assert listed, text
    names = listed.group(1).split(", ")
    assert names[0] == "FOLIONAUT_CONFIG"
    expected = [var for name in STORAGE_SETTINGS for var in SPECS_BY_NAME[name].env]
    assert set(expected) <= set(names)
    if command in ("serve", "mcp", "config"):
        assert set(names) == {"FOLIONAUT_CONFIG", *(var for spec in SETTINGS for var in spec.env)}
    assert list(workdir.iterdir()) == []  # help creates nothing


def test_integer_options_are_typed(workdir: Path) -> None:
    assert "--port INTEGER" in help_of("serve", workdir)
    assert "--keep N" in help_of("dump", workdir)
    bad = run_cli(["serve", "--port", "70000"], workdir)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("folionaut: invalid --port: expected an integer from 0 to 65535, got '70000' "
                                  "(see 'folionaut serve --help')")


def test_config_shows_each_source_with_secrets_masked(workdir: Path) -> None:
    (workdir / "config.toml").write_text('port = 4100\nllm_model = "from-file"\nhost = "0.0.0.0"\n'
                                         'redis_url = "redis://:hunter2@127.0.0.1:6379/0"\n')
    env = clean_env(workdir, PORT="4200", ADMIN_API_KEY=SECRET_KEY, LLM_MODEL="from-env")
    result = run_cli(["config", "--data-dir", "flagged", "--log-level", "warning"], workdir, env)
    assert result.returncode == 0, result.stderr
    rows = dict(re.fullmatch(r"(\w+) = .*?\s+# (.+)", line).groups()  # type: ignore[union-attr]
                for line in result.stdout.splitlines())
    assert rows["port"] == "environment PORT"
    assert rows["llm_model"] == "environment LLM_MODEL"
    assert rows["host"] == f"file {workdir / 'config.toml'}"
    assert rows["data_dir"] == "flag --data-dir" and rows["log_level"] == "flag --log-level"
    assert rows["trust_proxy"] == "default"
    assert rows["admin_api_key"] == "environment ADMIN_API_KEY"
    assert set(rows) == {spec.name for spec in SETTINGS}
    assert SECRET_KEY not in result.stdout and "hunter2" not in result.stdout
    assert 'admin_api_key = "(set, hidden)"' in result.stdout
    assert 'redis_url = "redis://***@127.0.0.1:6379/0"' in result.stdout
    assert re.search(r'^port = 4200 ', result.stdout, re.MULTILINE)

    as_json = json.loads(run_cli(["config", "--json"], workdir, env).stdout)
    assert as_json["port"] == {"value": 4200, "source": "environment PORT"}
    assert as_json["host"] == {"value": "0.0.0.0", "source": f"file {workdir / 'config.toml'}"}
    assert as_json["admin_api_key"]["value"] == "(set, hidden)"
    assert list(workdir.iterdir()) == [workdir / "config.toml"]  # printing settings creates nothing


def test_local_config_toml_is_read_by_commands_and_named_when_wrong(
        workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    (workdir / "config.toml").write_text('data_dir = "from-local-file"\n')
    assert run_cli(["migrate"], workdir).returncode == 0
    assert (workdir / "from-local-file" / "folionaut.db").is_file() and not (workdir / "data").exists()
    server = start_serve()  # serves the database the local file names
    assert server.get("/api/health/ready")[0] == 200
    assert server.stop() == 0
    assert (workdir / "from-local-file" / "admin_key").is_file()

    (workdir / "config.toml").write_text('port = "many"\n')
    broken = run_cli(["migrate", "--status"], workdir)
    assert broken.returncode == 2
    assert broken.stderr.strip() == (f"folionaut: invalid port in {workdir / 'config.toml'}: expected an integer "
                                     "from 0 to 65535, got 'many'")


def test_check_url_probes_a_running_server(workdir: Path, start_serve: Callable[..., ServeProcess]) -> None:
    server = start_serve()
    ready = run_cli(["check", "--url", server.base_url], workdir)
    assert ready.returncode == 0, ready.stderr
    assert ready.stdout == f"ok    server      {server.base_url}/api/health/ready: ready\n"
    live = run_cli(["check", "--url", f"{server.base_url}/api/health/live"], workdir)
    assert live.returncode == 0 and live.stdout.endswith("/api/health/live: ready\n")
    assert server.stop() == 0

    with socket.socket() as probe:  # a port nothing listens on any more
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    down = run_cli(["check", "--url", closed], workdir)
    assert down.returncode == 1
    assert len(down.stdout.splitlines()) == 1 and down.stdout.startswith(f"fail  server      {closed}/api/health/")
    wrong = run_cli(["check", "--url", "localhost:3000"], workdir)
    assert wrong.returncode == 2 and "--url: expected an http:// or https:// URL" in wrong.stderr
