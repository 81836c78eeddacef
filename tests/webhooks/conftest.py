"""Webhook test fixtures: a signature-checking receiver on loopback and the real app aimed at it."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.http.state import RUNTIME
from folionaut.runtime import Runtime
from folionaut.settings import Settings
from tests.helpers.webhook_receiver import WebhookReceiver

WEBHOOKS = "/api/v1/admin/webhooks"
CONTENT = "/api/v1/admin/content"
WAIT_SECONDS = 15.0


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    """The receiver is on loopback (so private addresses are allowed); retries come fast."""
    return settings.replace(webhook_allow_private=True, webhook_retry_base_seconds=0.05, webhook_timeout_seconds=2.0)


@pytest.fixture
async def api(make_client: Any, hook_settings: Settings) -> TestClient:
    return await make_client(hook_settings)


async def create_webhook(client: TestClient, headers: dict[str, str], receiver: WebhookReceiver | None = None,
                         **body: Any) -> dict[str, Any]:
    """POST a webhook (to the receiver unless ``url`` is given); the receiver learns its secret."""
    body.setdefault("events", ["*"])
    if receiver is not None:
        body.setdefault("url", receiver.url)
    response = await client.post(WEBHOOKS, headers=headers, json=body)
    assert response.status == 201, await response.text()
    created = (await response.json())["data"]
    if receiver is not None:
        receiver.secret = created["secret"]
    return created


async def create_item(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("type", "project")
    body.setdefault("data", {"title": "Untitled"})
    response = await client.post(CONTENT, headers=headers, json=body)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


async def change_item(client: TestClient, headers: dict[str, str], item_id: str, **body: Any) -> dict[str, Any]:
    response = await client.put(f"{CONTENT}/{item_id}", headers=headers, json=body)
    assert response.status == 200, await response.text()
    return (await response.json())["data"]


async def drained(runtime: Runtime) -> None:
    """Wait (bounded) until nothing is queued: every event fanned out, no delivery waiting or in flight."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status = await runtime.webhooks.repository.status()
        if status.events == 0 and status.deliveries == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the webhook queue did not drain within {WAIT_SECONDS}s: {status}")
        await asyncio.sleep(0.02)


def runtime_of(client: TestClient) -> Runtime:
    return client.server.app[RUNTIME]


async def log_of(client: TestClient, headers: dict[str, str], webhook_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{WEBHOOKS}/{webhook_id}/deliveries", headers=headers)
    assert response.status == 200, await response.text()
    return (await response.json())["data"]


async def fanned_out(runtime: Runtime) -> None:
    """Wait (bounded) until the outbox is empty and no delivery is in flight (deliveries may still wait)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        status = await runtime.webhooks.repository.status()
        if status.events == 0 and not runtime.webhook_dispatcher.in_flight:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the outbox was not fanned out within {WAIT_SECONDS}s: {status}")
        await asyncio.sleep(0.02)


def iso_seconds(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
