"""Several processes, one database: each delivery is sent by exactly one of them; a dead holder's claim is
taken over once its lease expires; shutting down hands deliveries in flight back."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from typing import Any

import pytest

from folionaut.core.clock import ManualClock
from folionaut.settings import Settings
from folionaut.webhooks.dispatcher import LEASE_MARGIN_SECONDS, POLL_SECONDS, STALL_ENV
from tests.helpers.webhook_receiver import WebhookReceiver
from tests.webhooks.conftest import change_item, create_item, create_webhook, drained, log_of, runtime_of


async def test_two_instances_sharing_a_database_deliver_each_event_once(
        make_client: Any, hook_settings: Settings, admin_headers: dict[str, str], receiver: WebhookReceiver) -> None:
    first, second = await make_client(hook_settings), await make_client(hook_settings)
    await create_webhook(first, admin_headers, receiver)
    # Changes through both instances at once: both dispatchers fan out and claim from the same tables.
    items = await asyncio.gather(*(create_item(instance, admin_headers, data={"title": f"Item {n}"})
                                   for n, instance in enumerate([first, second] * 10)))
    await asyncio.gather(*(change_item(instance, admin_headers, item["id"], status="published")
                           for instance, item in zip([second, first] * 10, items, strict=True)))
    await receiver.wait_for(40)
    await drained(runtime_of(first))
    await drained(runtime_of(second))
    assert len(receiver.received) == 40
    assert all(request.verified for request in receiver.received)
    assert len({request.message_id for request in receiver.received}) == 40
    per_item = Counter((request.payload["data"]["id"], request.payload["type"]) for request in receiver.received)
    assert set(per_item.values()) == {1}
    assert {kind for _, kind in per_item} == {"content.created", "content.published"}


async def test_a_claim_whose_holder_died_is_taken_over_when_its_lease_expires(
        make_client: Any, hook_settings: Settings, admin_headers: dict[str, str], receiver: WebhookReceiver,
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock(start=time.time())
    monkeypatch.setenv(STALL_ENV, "1")
    stalled = await make_client(hook_settings, clock=clock)  # fans out, claims nothing
    monkeypatch.delenv(STALL_ENV)
    webhook = await create_webhook(stalled, admin_headers, receiver)
    await create_item(stalled, admin_headers)
    repository = runtime_of(stalled).webhooks.repository
    for _ in range(500):  # bounded: fan-out follows the change within moments
        if (await repository.status()).events == 0:
            break
        await asyncio.sleep(0.02)
    # A process claims the delivery and dies before sending it (its lease stays in the database).
    now = clock.time()
    lease = hook_settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
    [dead] = await repository.claim("lease_of_a_dead_process", now, now + lease, 10)

    other = await make_client(hook_settings, clock=clock)
    await asyncio.sleep(POLL_SECONDS * 1.5)  # a turn or two of the other instance's dispatcher
    assert receiver.received == []  # the lease still holds
    clock.advance(lease + 0.1)
    runtime_of(other).webhook_dispatcher.wake()
    await receiver.wait_for(1)
    await drained(runtime_of(other))
    assert len(receiver.received) == 1 and receiver.received[0].message_id == dead.id
    assert receiver.received[0].verified
    [line] = await log_of(other, admin_headers, webhook["id"])
    assert (line["status"], line["attempt"]) == ("delivered", 2)  # the dead holder's claim counts as an attempt


async def test_shutting_down_hands_a_delivery_in_flight_back(
        make_client: Any, hook_settings: Settings, admin_headers: dict[str, str], receiver: WebhookReceiver) -> None:
    first = await make_client(hook_settings)
    await create_webhook(first, admin_headers, receiver)
    receiver.stall_seconds = 30.0  # the receiver takes its time: the delivery is in flight when we stop
    await create_item(first, admin_headers)
    await receiver.wait_for(1)
    async with asyncio.timeout(10):  # closing does not wait for the receiver (a bound, not a measurement)
        await first.close()
    rows = await _deliveries(hook_settings)
    assert [(row["state"], row["lease_token"]) for row in rows] == [("pending", None)]

    receiver.stall_seconds = 0.0
    second = await make_client(hook_settings)
    await receiver.wait_for(2)
    await drained(runtime_of(second))
    assert len(receiver.received) == 2 and receiver.received[0].message_id == receiver.received[1].message_id


async def _deliveries(settings: Settings) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        connection = sqlite3.connect(settings.database_path)
        connection.row_factory = sqlite3.Row
        try:
            return [dict(row) for row in connection.execute("SELECT * FROM webhook_deliveries")]
        finally:
            connection.close()

    return await asyncio.to_thread(read)

