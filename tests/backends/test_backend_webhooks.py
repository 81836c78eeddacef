"""Webhooks on every backend: the outbox in the change's batch, fan-out, the claim with its lease and the
attempt log are plain SQL that runs alike on SQLite and libSQL (over HTTP and WebSocket), two instances
on one database included."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from folionaut.settings import Settings
from tests.helpers.webhook_receiver import WebhookReceiver
from tests.webhooks.conftest import change_item, create_item, create_webhook, drained, log_of, runtime_of


@pytest.fixture
def hook_settings(backend_settings: Settings) -> Settings:
    return backend_settings.replace(webhook_allow_private=True, webhook_retry_base_seconds=0.05)


async def test_backend_webhook_deliveries_and_retries(make_client: Any, hook_settings: Settings,
                                                      admin_headers: dict[str, str],
                                                      receiver: WebhookReceiver) -> None:
    api = await make_client(hook_settings)
    webhook = await create_webhook(api, admin_headers, receiver)
    receiver.answers.append(500)
    item = await create_item(api, admin_headers, data={"title": "Everywhere"})
    await change_item(api, admin_headers, item["id"], status="published")
    stale = await api.put(f"/api/v1/admin/content/{item['id']}", headers={**admin_headers, "If-Match": 'W/"v1"'},
                          json={"status": "draft"})
    assert stale.status == 409  # a compare-and-set that did not apply writes no event either
    await receiver.wait_for(3)
    await drained(runtime_of(api))
    assert len(receiver.received) == 3 and all(request.verified for request in receiver.received)
    assert sorted(request.answered for request in receiver.received) == [200, 200, 500]
    assert Counter(request.payload["type"] for request in receiver.received if request.answered == 200) == Counter(
        {"content.created": 1, "content.published": 1})
    log = await log_of(api, admin_headers, webhook["id"])
    assert sorted(line["status"] for line in log) == ["delivered", "delivered", "retrying"]


async def test_backend_two_instances_deliver_each_event_once(make_client: Any, hook_settings: Settings,
                                                            admin_headers: dict[str, str],
                                                            receiver: WebhookReceiver) -> None:
    first, second = await make_client(hook_settings), await make_client(hook_settings)
    await create_webhook(first, admin_headers, receiver)
    await asyncio.gather(*(create_item(instance, admin_headers, data={"title": f"Item {n}"})
                           for n, instance in enumerate([first, second] * 6)))
    await receiver.wait_for(12)
    await drained(runtime_of(first))
    await drained(runtime_of(second))
    assert len(receiver.received) == 12 and len({request.message_id for request in receiver.received}) == 12
    assert len({request.payload["data"]["id"] for request in receiver.received}) == 12
