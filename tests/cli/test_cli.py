"""The `folionaut` command: --help everywhere, --version, and one clear line + exit 2 on misuse."""

from __future__ import annotations

import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from folionaut import __version__
from folionaut.cli import cli
from tests.cli.conftest import REPO_ROOT, clean_env, run_cli

SHORT_KEY = "short-but-secret-key-123"


def assert_one_line_usage_error(result: subprocess.CompletedProcess[str], starts: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(starts), lines[0]
    assert result.stdout == ""
    return lines[0]


def test_version(workdir: Path) -> None:
    result = run_cli(["--version"], workdir)
    assert result.returncode == 0 and result.stdout.strip() == f"folionaut {__version__}"
    as_module = subprocess.run([sys.executable, "-m", "folionaut", "--version"], cwd=REPO_ROOT,
                               env=clean_env(workdir), capture_output=True, text=True, timeout=60)
    assert as_module.returncode == 0 and as_module.stdout.strip() == f"folionaut {__version__}"


@pytest.mark.parametrize("command", [[], *([name] for name in sorted(cli.commands))])
def test_help_on_every_command(workdir: Path, command: list[str]) -> None:
    result = run_cli([*command, "--help"], workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: folionaut {' '.join(command)}".rstrip())
    assert "--help" in result.stdout
    assert not (workdir / "data").exists()  # asking for help changes nothing


def test_serve_help_lists_its_flags(workdir: Path) -> None:
    out = run_cli(["serve", "--help"], workdir).stdout
    assert all(flag in out for flag in ("--host", "--port", "--config"))
    out = run_cli(["migrate", "--help"], workdir).stdout
    assert all(flag in out for flag in ("--dry-run", "--status", "--config"))


@pytest.mark.parametrize("args, starts", [
    (["serve", "--bogus"], "folionaut: No such option '--bogus'"),
    (["no-such-command"], "folionaut: No such command 'no-such-command'"),
    (["migrate", "extra"], "folionaut: Got unexpected extra argument"),
])
def test_usage_mistakes_are_one_line_and_exit_2(workdir: Path, args: list[str], starts: str) -> None:
    assert_one_line_usage_error(run_cli(args, workdir), starts)


@pytest.mark.parametrize("env, starts", [
    ({"PORT": "eighty"}, "folionaut: invalid PORT: expected an integer from 0 to 65535, got 'eighty'"),
    ({"NODE_ENV": "staging"}, "folionaut: invalid NODE_ENV: expected one of development, production, test"),
    ({"FOLIONAUT_ENV": "prod"}, "folionaut: invalid FOLIONAUT_ENV: expected one of development, production, test"),
    ({"REDIS_URL": "localhost:6379"}, "folionaut: invalid REDIS_URL: expected a URL starting with redis://"),
    ({"LLM_BASE_URL": "https://"}, "folionaut: invalid LLM_BASE_URL: expected a URL starting with http://"),
    ({"TURSO_DATABASE_URL": "mysql://db"}, "folionaut: invalid TURSO_DATABASE_URL: expected a URL starting with"),
    ({"FEATURE_AI_CHAT": "perhaps"}, "folionaut: invalid FEATURE_AI_CHAT: expected true/false, 1/0 or yes/no"),
    ({"LLM_TEMPERATURE": "hot"}, "folionaut: invalid LLM_TEMPERATURE: expected a number from 0 to 2, got 'hot'"),
    ({"RATE_LIMIT_REFILL_RATE": "-1"}, "folionaut: invalid RATE_LIMIT_REFILL_RATE: expected a number"),
    ({"FOLIONAUT_CONFIG": "missing.toml"}, "folionaut: invalid FOLIONAUT_CONFIG: expected an existing TOML file"),
])
def test_bad_environment_stops_serve_with_one_line(workdir: Path, env: dict[str, str], starts: str) -> None:
    result = run_cli(["serve", "--port", "0"], workdir, clean_env(workdir, **env), timeout=30)
    assert_one_line_usage_error(result, starts)
    assert not (workdir / "data").exists()  # nothing was created before the refusal


def test_bad_flag_value(workdir: Path) -> None:
    result = run_cli(["serve", "--port", "http"], workdir, timeout=30)
    assert_one_line_usage_error(result, "folionaut: invalid --port: expected an integer from 0 to 65535")


def test_short_admin_key_is_refused_without_echoing_it(workdir: Path) -> None:
    result = run_cli(["serve", "--port", "0"], workdir, clean_env(workdir, ADMIN_API_KEY=SHORT_KEY), timeout=30)
    line = assert_one_line_usage_error(result, "folionaut: invalid ADMIN_API_KEY: expected at least 32 characters")
    assert SHORT_KEY not in line and f"{len(SHORT_KEY)} characters" in line


@pytest.mark.parametrize("content, starts", [
    ("prot = 3000\n", "folionaut: invalid key 'prot' in cfg.toml: expected a known setting"),
    ("port = = 1\n", "folionaut: invalid cfg.toml: expected valid TOML"),
    ('port = "eighty"\n', "folionaut: invalid port in cfg.toml: expected an integer from 0 to 65535"),
    ("feature_ai_chat = 3\n", "folionaut: invalid feature_ai_chat in cfg.toml: expected true/false"),
])
def test_bad_config_file_stops_serve_and_migrate(workdir: Path, content: str, starts: str) -> None:
    (workdir / "cfg.toml").write_text(content)
    for command in ("serve", "migrate"):
        assert_one_line_usage_error(run_cli([command, "--config", "cfg.toml"], workdir, timeout=30), starts)


def test_missing_config_file(workdir: Path) -> None:
    result = run_cli(["serve", "--config", "nope.toml"], workdir, timeout=30)
    assert_one_line_usage_error(result, "folionaut: invalid --config: expected an existing TOML file, got 'nope.toml'")


def test_production_refuses_to_start_without_an_admin_key(workdir: Path) -> None:
    result = run_cli(["serve", "--port", "0"], workdir, clean_env(workdir, NODE_ENV="production"), timeout=30)
    assert_one_line_usage_error(result, "folionaut: invalid ADMIN_API_KEY: expected an explicit key")
    assert not (workdir / "data" / "admin_key").exists()


@pytest.mark.parametrize("key", ["a" * 32, "ab" * 20, "0123456789a" * 4])
@pytest.mark.parametrize("command", ["serve", "check"])
def test_production_refuses_an_admin_key_with_too_little_variety(workdir: Path, key: str, command: str) -> None:
    args = ["serve", "--port", "0"] if command == "serve" else ["check"]
    result = run_cli(args, workdir, clean_env(workdir, NODE_ENV="production", ADMIN_API_KEY=key), timeout=30)
    line = assert_one_line_usage_error(
        result, "folionaut: invalid ADMIN_API_KEY: expected a key with at least 12 different characters")
    assert key not in line and "secrets.token_urlsafe" in line


def test_production_takes_a_generated_key_and_development_any_long_key(workdir: Path) -> None:
    generated = secrets.token_urlsafe(32)
    result = run_cli(["check"], workdir, clean_env(workdir, NODE_ENV="production", ADMIN_API_KEY=generated),
                     timeout=30)
    # Settings pass (the database checks after them fail here: nothing is migrated yet).
    assert result.stdout.splitlines()[0].startswith("ok") and "settings" in result.stdout, result.stdout
    result = run_cli(["check"], workdir, clean_env(workdir, ADMIN_API_KEY="a" * 32), timeout=30)
    assert result.returncode != 2 and result.stdout.splitlines()[0].startswith("ok"), result.stderr


def test_stored_admin_key_that_is_too_short_is_refused(workdir: Path) -> None:
    (workdir / "data").mkdir()
    key_file = workdir / "data" / "admin_key"
    key_file.write_text("tiny\n")
    key_file.chmod(stat.S_IRUSR | stat.S_IWUSR)
    result = run_cli(["serve", "--port", "0"], workdir, timeout=30)
    line = assert_one_line_usage_error(result, "folionaut: invalid data/admin_key: expected a stored admin key")
    assert "tiny" not in line
