"""`folionaut check`: one line per check, exit 0 when all pass, 1 with a reason per failure, 2 for config."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from folionaut.storage.migrate import available_migrations
from tests.helpers.fake_llm import FakeLLM
from tests.operations.conftest import CLI, DB_FILE, run_cli, seed_database, subprocess_env

LLM_KEY = "sk-test-doctor-0123456789"


def dead_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def run_check(data_dir: Path, **env: str) -> tuple[int, list[str], str]:
    """`folionaut check` as a real subprocess (the test's event loop keeps serving the fake LLM)."""
    process = await asyncio.create_subprocess_exec(
        *CLI, "check", env=subprocess_env(data_dir, **env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode().splitlines(), stderr.decode()


def by_name(lines: list[str]) -> dict[str, str]:
    return {line.split()[1]: line.split()[0] for line in lines}


async def test_all_ok_with_database_redis_and_llm(tmp_path: Path, redis_url: str) -> None:
    await seed_database(tmp_path / DB_FILE, 3)
    async with FakeLLM(api_key=LLM_KEY) as llm:
        code, lines, stderr = await run_check(
            tmp_path, REDIS_URL=redis_url, LLM_API_KEY=LLM_KEY, LLM_BASE_URL=llm.base_url)
    assert code == 0, (lines, stderr)
    assert by_name(lines) == {"settings": "ok", "database": "ok", "migrations": "ok", "redis": "ok", "llm": "ok"}
    assert len(lines) == 5
    assert f"sqlite {tmp_path / DB_FILE}" in lines[1]
    assert LLM_KEY not in "\n".join(lines) + stderr


async def test_dead_redis_and_unreachable_llm_fail_one_line_each(tmp_path: Path) -> None:
    await seed_database(tmp_path / DB_FILE, 3)
    redis_port, llm_port = dead_port(), dead_port()
    code, lines, stderr = await run_check(
        tmp_path, REDIS_URL=f"redis://:s3cret-pass@127.0.0.1:{redis_port}/0",
        LLM_API_KEY=LLM_KEY, LLM_BASE_URL=f"http://127.0.0.1:{llm_port}/v1")
    assert code == 1
    assert by_name(lines) == {"settings": "ok", "database": "ok", "migrations": "ok", "redis": "fail", "llm": "fail"}
    failures = [line for line in lines if line.startswith("fail")]
    assert len(failures) == 2
    assert f"redis://127.0.0.1:{redis_port}:" in failures[0]
    assert f"http://127.0.0.1:{llm_port}/v1/models:" in failures[1]
    everything = "\n".join(lines) + stderr
    assert "s3cret-pass" not in everything and LLM_KEY not in everything


async def test_rejected_llm_key_is_named(tmp_path: Path) -> None:
    await seed_database(tmp_path / DB_FILE, 1)
    async with FakeLLM(api_key=LLM_KEY) as llm:
        code, lines, _ = await run_check(tmp_path, LLM_API_KEY="sk-wrong-key", LLM_BASE_URL=llm.base_url)
    assert code == 1
    assert lines[-1] == f"fail  llm         {llm.base_url}/models: the API key was rejected (HTTP 401)"


def test_missing_database_is_a_failure_and_is_not_created(tmp_path: Path) -> None:
    result = run_cli(["check"], tmp_path)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1:] == [
        f"fail  database    sqlite {tmp_path / DB_FILE} does not exist; run `folionaut migrate`",
        "fail  migrations  not checked: no database",
    ]
    assert not (tmp_path / DB_FILE).exists()


def test_pending_migrations_fail_with_the_fix(tmp_path: Path) -> None:
    (tmp_path / DB_FILE).touch()  # an empty SQLite database
    result = run_cli(["check"], tmp_path)
    assert result.exit_code == 1
    pending = [f"{m.version:04d}_{m.name}" for m in available_migrations()]
    assert (f"fail  migrations  {len(pending)} pending ({', '.join(pending)}); run `folionaut migrate`"
            in result.stdout.splitlines())


def test_bad_setting_is_a_config_error(tmp_path: Path) -> None:
    result = run_cli(["check"], tmp_path, LLM_BASE_URL="ftp://example.invalid")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and "LLM_BASE_URL" in result.stderr
    production = run_cli(["check"], tmp_path, FOLIONAUT_ENV="production")
    assert production.exit_code == 2 and "ADMIN_API_KEY" in production.stderr


def test_every_command_documents_its_exit_codes() -> None:
    from folionaut.cli import cli

    assert {"check", "dump", "restore", "migrate", "serve"} <= set(cli.commands)
    for command in cli.commands:
        result = run_cli([command, "--help"], Path("."))
        assert "Exit codes: 0" in result.stdout, command
