"""Dump and restore on the libSQL (Turso) backend, against the local Hrana server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from folionaut.storage.dump import dump_database
from folionaut.storage.libsql import LibSQLDatabase
from folionaut.storage.restore import RestoreError, restore_dump
from folionaut.storage.sqlite import SQLiteDatabase
from tests.helpers.backends import open_database_backend
from tests.operations.conftest import CLI, seed_database, subprocess_env, table_snapshot


@pytest.mark.parametrize("backend_name", ["hrana-http", "hrana-ws"])
async def test_round_trip_through_turso(tmp_path: Path, backend_name: str) -> None:
    local = tmp_path / "local.db"
    await seed_database(local, 200, sessions=3)
    sqlite = await SQLiteDatabase.open(local)
    try:
        text = (await dump_database(sqlite)).decode()
    finally:
        await sqlite.close()

    async with open_database_backend(backend_name, tmp_path / "remote") as backend:
        remote = await LibSQLDatabase.open(backend.turso_database_url, backend.turso_auth_token)
        try:
            await restore_dump(remote, text.encode())
            assert (await dump_database(remote)).decode() == text  # same bytes from either backend
            # A broken file changes nothing on Turso either, and names its line.
            broken = text.replace("COMMIT;", "INSERT INTO \"content\" VALUES('x');\nCOMMIT;")
            with pytest.raises(RestoreError, match=r"^line \d+: table content has 10 columns but 1 values"):
                await restore_dump(remote, broken.encode(), force=True)
            assert (await dump_database(remote)).decode() == text
            # --force replaces everything on Turso: drop, reload, in one batch.
            await restore_dump(remote, text.encode(), force=True)
            assert (await dump_database(remote)).decode() == text
        finally:
            await remote.close()
        assert table_snapshot(backend.database_file) == table_snapshot(local)

        # The CLI against Turso, as cron would run it.
        process = await asyncio.create_subprocess_exec(
            *CLI, "dump", env=subprocess_env(tmp_path, **backend.env()),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, stderr
        assert stdout.decode() == text

        process = await asyncio.create_subprocess_exec(
            *CLI, "check", env=subprocess_env(tmp_path, **backend.env()),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, (stdout, stderr)
        lines = stdout.decode().splitlines()
        assert lines[1].startswith("ok    database    libsql ") and lines[2].startswith("ok    migrations")
        assert backend.turso_auth_token not in stdout.decode() + stderr.decode()
