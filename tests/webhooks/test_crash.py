"""Never lost: a real `folionaut serve` killed with SIGKILL after the content change committed but before the
webhook was delivered delivers it, exactly once, after a restart."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from folionaut.webhooks.dispatcher import STALL_ENV
from tests.cli.conftest import ENTRY, clean_env
from tests.conftest import ADMIN_KEY
from tests.helpers.served import ServerProcess
from tests.helpers.webhook_receiver import WebhookReceiver

ADMIN = {"X-Admin-Key": ADMIN_KEY}
WAIT_SECONDS = 30.0


def serve(workdir: Path, **extra: str) -> ServerProcess:
    env = clean_env(workdir, ADMIN_API_KEY=ADMIN_KEY, WEBHOOK_ALLOW_PRIVATE="true", **extra)
    return ServerProcess([sys.executable, ENTRY, "serve", "--port", "0"], cwd=workdir, env=env).start()


def deliveries(workdir: Path) -> list[tuple[str, str]]:
    connection = sqlite3.connect(workdir / "data" / "folionaut.db")
    try:
        return connection.execute("SELECT event_type, state FROM webhook_deliveries ORDER BY rowid").fetchall()
    finally:
        connection.close()


async def until(condition: Any, what: str) -> Any:
    """Poll a blocking check in a thread until it holds (bounded)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if result := await asyncio.to_thread(condition):
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {WAIT_SECONDS}s: {what}")


async def test_killed_between_commit_and_delivery_then_restarted_delivers_exactly_once(
        tmp_path: Path, receiver: WebhookReceiver) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    first = serve(workdir, **{STALL_ENV: "1"})  # a test hook: it queues deliveries but never sends them
    try:
        await asyncio.to_thread(first.wait_live)
        status, _, created = await asyncio.to_thread(
            first.request, "POST", "/api/v1/admin/webhooks", {"url": receiver.url, "events": ["*"]}, ADMIN)
        assert status == 201, created
        receiver.secret = created["data"]["secret"]
        status, _, item = await asyncio.to_thread(
            first.request, "POST", "/api/v1/admin/content", {"type": "project", "data": {"title": "Crash"}}, ADMIN)
        assert status == 201, item
        status, _, _ = await asyncio.to_thread(
            first.request, "PUT", f"/api/v1/admin/content/{item['data']['id']}", {"status": "published"}, ADMIN)
        assert status == 200
        # Both changes committed and queued for delivery, none delivered: now the process dies.
        queued = await until(lambda: len(deliveries(workdir)) == 2 and deliveries(workdir), "two queued deliveries")
        assert [state for _, state in queued] == ["pending", "pending"]
        assert receiver.received == []
        first.process.kill()
        assert await asyncio.to_thread(first.process.wait, 10) == -signal.SIGKILL
    finally:
        if first.process.poll() is None:
            first.process.kill()

    second = serve(workdir)
    try:
        await asyncio.to_thread(second.wait_live)
        await receiver.wait_for(2, within=WAIT_SECONDS)
        await until(lambda: all(state == "delivered" for _, state in deliveries(workdir)), "all delivered")
        assert len(receiver.received) == 2  # the queue is done: each was sent once
        assert sorted(request.payload["type"] for request in receiver.received) == ["content.created",
                                                                                   "content.published"]
        assert all(request.verified for request in receiver.received)
        assert await asyncio.to_thread(second.stop) == 0
    finally:
        if second.process.poll() is None:
            second.process.kill()
