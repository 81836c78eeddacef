"""The runtime opens the service in layers, in order, and closes everything it opened."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from folionaut.core.errors import AppError
from folionaut.observability.health import run_checks
from folionaut.runtime import Layer, Runtime
from folionaut.settings import Settings


async def test_full_open_gives_every_part_and_close_releases_them(
    settings: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from folionaut.chat.llm import LLMClient

    started: list[LLMClient] = []
    real_start = LLMClient.start

    async def slow_start(client: LLMClient) -> None:  # the real start, after a pause: the first chat is awaited
        started.append(client)
        await asyncio.sleep(0.01)
        await real_start(client)

    monkeypatch.setattr(LLMClient, "start", slow_start)
    runtime = Runtime(settings.replace(redis_url=redis_url, feature_ai_chat=True, feature_mcp_server=True))
    async with runtime:
        assert runtime.opened is Layer.SERVICES
        assert runtime.redis is not None and runtime.llm_breaker is not None
        assert runtime.chat is None and runtime.mcp is None  # made on first use
        assert runtime.mcp_server() is runtime.mcp_server() is runtime.mcp
        chats = await asyncio.gather(*(runtime.chat_service() for _ in range(5)))
        assert all(chat is chats[0] for chat in chats) and runtime.chat is chats[0]  # once, whoever asks first
        assert len(started) == 1
        readiness = await run_checks(runtime.health_checks)
        assert (readiness.status, readiness.checks) == ("ready", {"database": "ok", "redis": "ok"})
        watchers = [task for task in asyncio.all_tasks() if "watch_external_changes" in repr(task.get_coro())]
        assert len(watchers) == 1
        database = runtime.database
    assert runtime.opened is None
    with pytest.raises(RuntimeError, match="not open"):  # no chat opened on a closed runtime
        await runtime.chat_service()
    with pytest.raises(RuntimeError, match="not open"):
        runtime.mcp_server()
    assert watchers[0].done()  # the content service's watch stopped before the database closed
    with pytest.raises(Exception):  # noqa: B017 - any error: the connection is gone
        await database.fetch_one("SELECT 1 AS one")


async def test_storage_only_opens_the_database_and_nothing_else(settings: Settings) -> None:
    async with Runtime.storage_only(settings, migrate=True) as runtime:
        assert runtime.opened is Layer.STORAGE
        assert await runtime.database.fetch_one("SELECT count(*) AS n FROM content") == {"n": 0}
        assert not hasattr(runtime, "content") and runtime.chat is None and runtime.mcp is None


async def test_a_failed_open_leaves_nothing_open_and_can_be_retried(tmp_path: Path, settings: Settings) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the data directory should be")
    runtime = Runtime(settings.replace(data_dir=str(blocker / "data")))
    with pytest.raises((AppError, OSError)):
        await runtime.open()
    assert runtime.opened is None
    blocker.unlink()
    async with runtime:  # the same runtime opens once the cause is gone
        assert runtime.opened is Layer.SERVICES
    with pytest.raises(RuntimeError, match="already open"):
        async with runtime:
            await runtime.open()
