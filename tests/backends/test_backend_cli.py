"""`folionaut serve` and `folionaut migrate` as real subprocesses against the Hrana server.

The Hrana server runs in this test's event loop, so the subprocesses are
driven with asyncio (a blocking wait would stop the server from answering).
Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from folionaut.storage.migrate import MIGRATIONS_TABLE, available_migrations
from tests.helpers.backends import TEST_AUTH_TOKEN, DatabaseBackend, open_database_backend

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60.0  # the bound on any one wait for a subprocess; never reached when things work


@pytest.fixture(params=["hrana-http", "hrana-ws"])
async def remote(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseBackend]:
    async with open_database_backend(request.param, tmp_path / "db") as backend:
        yield backend


def _env(backend: DatabaseBackend, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TURSO_", "FOLIONAUT_", "REDIS_", "LLM_", "ADMIN_API_KEY", "PORT", "HOST"))}
    env.update(backend.env())
    env.update(FOLIONAUT_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(REPO_ROOT), **extra)
    return env


async def _folionaut(*args: str, env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "folionaut", *args, env=env, cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )


async def _run(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    process = await _folionaut(*args, env=env, cwd=cwd)
    try:
        out, err = await asyncio.wait_for(process.communicate(), WAIT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"folionaut {' '.join(args)} did not finish within {WAIT_SECONDS:g} s")
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def _line_containing(stream: asyncio.StreamReader, text: str, seen: list[str]) -> str:
    async def find() -> str:
        while line := (await stream.readline()).decode():
            seen.append(line)
            if text in line:
                return line
        pytest.fail(f"stderr ended without {text!r}:\n{''.join(seen)}")

    try:
        return await asyncio.wait_for(find(), WAIT_SECONDS)
    except TimeoutError:
        pytest.fail(f"no {text!r} on stderr within {WAIT_SECONDS:g} s:\n{''.join(seen)}")


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def _assert_one_line_failure(err: str, *expected: str) -> None:
    assert "Traceback" not in err and TEST_AUTH_TOKEN not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("folionaut: "), err
    for text in expected:
        assert text in last, err


# --- startup ----------------------------------------------------------------------------------

@pytest.mark.parametrize("remote", ["hrana-http"], indirect=True)
async def test_backend_serve_gives_up_on_unreachable_turso(remote: DatabaseBackend, tmp_path: Path) -> None:
    assert remote.server is not None
    await remote.server.refuse()
    env = _env(remote, tmp_path, TURSO_CONNECT_TIMEOUT_SECONDS="1")
    code, _out, err = await _run("serve", "--port", "0", env=env, cwd=tmp_path)
    assert code == 1
    assert "retrying for up to 1 s" in err  # one warning while it retries, not one per attempt
    assert err.count("retrying") == 1
    _assert_one_line_failure(err, f"127.0.0.1:{remote.server.port}", "did not answer within 1 s", "cannot connect")
    assert "listening on" not in err


@pytest.mark.parametrize("remote", ["hrana-ws"], indirect=True)
async def test_backend_serve_waits_for_turso_to_come_up(remote: DatabaseBackend, tmp_path: Path) -> None:
    assert remote.server is not None
    await remote.server.refuse()
    env = _env(remote, tmp_path, TURSO_CONNECT_TIMEOUT_SECONDS="60")
    process = await _folionaut("serve", "--port", "0", env=env, cwd=tmp_path)
    assert process.stderr is not None
    seen: list[str] = []
    try:
        await _line_containing(process.stderr, "retrying for up to 60 s", seen)
        await remote.server.restart()
        listening = await _line_containing(process.stderr, "listening on http://", seen)
        base_url = listening.split("listening on ", 1)[1].split('"', 1)[0].strip()
        status, body = await asyncio.to_thread(_get, f"{base_url}/api/health/ready")
        assert status == 200 and b'"database":"ok"' in body
    finally:
        if process.returncode is None:
            process.terminate()
        await asyncio.wait_for(process.communicate(), WAIT_SECONDS)
    assert process.returncode == 0
    # Migrations ran on the remote database before serving.
    with sqlite3.connect(remote.database_file) as conn:
        assert conn.execute(f"SELECT count(*) FROM {MIGRATIONS_TABLE}").fetchone()[0] >= 2


async def test_backend_serve_stops_at_once_on_a_rejected_token(remote: DatabaseBackend, tmp_path: Path) -> None:
    # A long connect timeout: only an immediate give-up finishes within the wait bound.
    env = _env(remote, tmp_path, TURSO_CONNECT_TIMEOUT_SECONDS="600", TURSO_AUTH_TOKEN="wrong-token-0123456789abcdef")
    code, _out, err = await _run("serve", "--port", "0", env=env, cwd=tmp_path)
    assert code == 1
    _assert_one_line_failure(err, "rejected the auth token", "TURSO_AUTH_TOKEN")
    assert "wrong-token-0123456789abcdef" not in err and "retrying" not in err


# --- migrate --------------------------------------------------------------------------------

async def test_backend_migrate_against_turso(remote: DatabaseBackend, tmp_path: Path) -> None:
    env = _env(remote, tmp_path)
    names = [f"{migration.version:04d}_{migration.name}" for migration in available_migrations()]
    assert names[:2] == ["0001_initial", "0002_content_search"]
    code, out, err = await _run("migrate", "--status", env=env, cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines() == [f"pending  {name}" for name in names]

    code, out, err = await _run("migrate", env=env, cwd=tmp_path)
    assert code == 0, err
    assert out.splitlines() == [f"applied {name}" for name in names]
    with sqlite3.connect(remote.database_file) as conn:  # the tables are on the remote side
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"content", "content_history", "chat_sessions", "chat_messages", "content_search"} <= tables

    code, out, err = await _run("migrate", "--status", env=env, cwd=tmp_path)
    assert code == 0, err
    assert [line.split()[:2] for line in out.splitlines()] == [["applied", name] for name in names]
    code, out, err = await _run("migrate", env=env, cwd=tmp_path)
    assert code == 0 and out.strip() == "nothing to apply: the database is up to date", err
    assert TEST_AUTH_TOKEN not in out + err
    assert not (tmp_path / "data" / "folionaut.db").exists()  # nothing went to a local file


@pytest.mark.parametrize("remote", ["hrana-ws"], indirect=True)
async def test_backend_migrate_fails_cleanly_when_turso_is_down(remote: DatabaseBackend, tmp_path: Path) -> None:
    assert remote.server is not None
    await remote.server.fail_with_status(503)
    env = _env(remote, tmp_path, TURSO_CONNECT_TIMEOUT_SECONDS="0.5")
    code, out, err = await _run("migrate", env=env, cwd=tmp_path)
    assert code == 1 and out == ""
    _assert_one_line_failure(err, "did not answer within 0.5 s", "503")
