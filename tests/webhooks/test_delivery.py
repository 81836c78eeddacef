"""Deliveries as a receiver sees them: every event type once, signed as Standard Webhooks says (checked with
the reference library), retried after failures, given up on, switched off by 410, coalesced by debounce."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from aiohttp.test_utils import TestClient

from folionaut.core.clock import ManualClock
from folionaut.settings import Settings
from tests.helpers.webhook_receiver import WebhookReceiver
from tests.webhooks.conftest import (
    CONTENT,
    WEBHOOKS,
    change_item,
    create_item,
    create_webhook,
    drained,
    fanned_out,
    iso_seconds,
    log_of,
    runtime_of,
)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_each_event_type_is_delivered_once_and_signed_as_the_standard_says(
        api: TestClient, admin_headers: dict[str, str], receiver: WebhookReceiver) -> None:
    webhook = await create_webhook(api, admin_headers, receiver)
    runtime = runtime_of(api)
    expected: list[tuple[str, str, int]] = []

    async def then(event: str, item: dict[str, Any]) -> None:
        expected.append((event, item["status"], item["version"]))
        await receiver.wait_for(len(expected))
        await drained(runtime)

    item = await create_item(api, admin_headers, data={"title": "Rover"})
    await then("content.created", item)
    url = f"{CONTENT}/{item['id']}"
    await then("content.updated", await change_item(api, admin_headers, item["id"], data={"title": "Rover 2"}))
    await then("content.published", await change_item(api, admin_headers, item["id"], status="published"))
    await then("content.unpublished", await change_item(api, admin_headers, item["id"], status="archived"))
    assert (await api.delete(url, headers=admin_headers)).status == 200
    deleted = (await (await api.get(url, headers=admin_headers)).json())["data"]
    await then("content.deleted", deleted)
    restored = await api.post(f"{url}/restore", headers=admin_headers, json={"version": 1})
    assert restored.status == 200
    await then("content.restored", (await restored.json())["data"])

    assert len(receiver.received) == len(expected)  # the queue is drained: nothing more is coming
    assert [request.verified for request in receiver.received] == [True] * len(expected), [
        request.verify_error for request in receiver.received]
    assert len({request.message_id for request in receiver.received}) == len(expected)
    for request, (event, status, version) in zip(receiver.received, expected, strict=True):
        assert request.payload == {"type": event, "timestamp": request.payload["timestamp"], "data": {
            "id": item["id"], "type": "project", "slug": "rover", "status": status, "version": version}}
        assert ISO.match(request.payload["timestamp"])
        assert request.message_id.startswith("msg_")
        assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
        assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", request.headers["webhook-signature"])
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["User-Agent"].startswith("Folionaut-Webhooks/")
    log = await log_of(api, admin_headers, webhook["id"])
    assert [line["event"] for line in reversed(log)] == [event for event, _, _ in expected]
    assert {(line["status"], line["statusCode"], line["attempt"], line["error"]) for line in log} == {
        ("delivered", 200, 1, None)}

    metrics = await (await api.get("/api/metrics", headers=admin_headers)).text()
    assert f'webhook_deliveries_total{{status="delivered"}} {float(len(expected))}' in metrics
    for _ in range(100):  # bounded: the gauge is refreshed at the dispatcher's next turn
        if "\nwebhook_queue_depth 0.0" in metrics:
            break
        await asyncio.sleep(0.05)
        metrics = await (await api.get("/api/metrics", headers=admin_headers)).text()
    assert "\nwebhook_queue_depth 0.0" in metrics


async def test_one_change_is_one_delivery_typed_for_what_each_webhook_takes(
        api: TestClient, admin_headers: dict[str, str]) -> None:
    """An update that edits data and publishes (and a create as published) is one delivery per webhook, typed
    with the most specific event the webhook subscribes to."""
    subscriptions = {
        "updates": ["content.updated"], "publishing": ["content.published", "content.unpublished"],
        "both": ["content.updated", "content.published"], "everything": ["*"], "creations": ["content.created"],
    }
    receivers = {}
    for name, events in subscriptions.items():
        receivers[name] = await WebhookReceiver(path=f"/{name}").start()
        await create_webhook(api, admin_headers, receivers[name], events=events)
    try:
        item = await create_item(api, admin_headers, data={"title": "Draft"})
        await change_item(api, admin_headers, item["id"], data={"title": "Final"}, status="published")
        await create_item(api, admin_headers, data={"title": "Live at once"}, status="published")
        await drained(runtime_of(api))
        assert {name: receiver.types() for name, receiver in receivers.items()} == {
            "updates": ["content.updated"],
            "publishing": ["content.published", "content.published"],
            "both": ["content.published", "content.published"],
            "everything": ["content.created", "content.published", "content.created"],
            "creations": ["content.created", "content.created"],
        }
        assert all(request.verified for receiver in receivers.values() for request in receiver.received)
    finally:
        for receiver in receivers.values():
            await receiver.stop()


async def test_a_refused_change_sends_nothing(api: TestClient, admin_headers: dict[str, str],
                                             receiver: WebhookReceiver) -> None:
    await create_webhook(api, admin_headers, receiver)
    item = await create_item(api, admin_headers)
    stale = await api.put(f"{CONTENT}/{item['id']}", headers={**admin_headers, "If-Match": 'W/"v9"'},
                          json={"status": "published"})
    assert stale.status == 409
    taken = await api.post(CONTENT, headers=admin_headers, json={"type": "project", "slug": item["slug"],
                                                                 "data": {"title": "Same slug"}})
    assert taken.status == 409
    await drained(runtime_of(api))
    assert receiver.types() == ["content.created"]


async def test_retries_after_500s_under_the_same_webhook_id(api: TestClient, admin_headers: dict[str, str],
                                                           receiver: WebhookReceiver) -> None:
    webhook = await create_webhook(api, admin_headers, receiver, events=["content.created"])
    receiver.answers.extend([500, 503])
    await create_item(api, admin_headers)
    await receiver.wait_for(3)
    await drained(runtime_of(api))
    assert len(receiver.received) == 3 and len({request.message_id for request in receiver.received}) == 1
    assert len({request.body for request in receiver.received}) == 1
    log = await log_of(api, admin_headers, webhook["id"])
    assert [(line["attempt"], line["status"], line["statusCode"], line["error"]) for line in log] == [
        (3, "delivered", 200, None), (2, "retrying", 503, "HTTP 503"), (1, "retrying", 500, "HTTP 500")]
    assert log[1]["nextAttemptAt"] > log[1]["attemptedAt"] and log[0]["nextAttemptAt"] is None
    assert len({line["deliveryId"] for line in log}) == 1


async def test_retries_until_a_receiver_that_was_down_is_up(api: TestClient, admin_headers: dict[str, str],
                                                           receiver: WebhookReceiver) -> None:
    webhook = await create_webhook(api, admin_headers, receiver)
    await receiver.stop()  # down: nothing listens on its port now
    await create_item(api, admin_headers)
    for _ in range(500):  # bounded: the first attempt comes within a second
        log = await log_of(api, admin_headers, webhook["id"])
        if log:
            break
        await asyncio.sleep(0.02)
    assert log and log[-1]["status"] == "retrying" and log[-1]["statusCode"] is None
    assert "could not connect to 127.0.0.1" in log[-1]["error"] and "connection refused" in log[-1]["error"]
    await receiver.start()  # up again, on the same port
    await receiver.wait_for(1)
    await drained(runtime_of(api))
    assert len(receiver.received) == 1 and receiver.received[0].verified
    assert (await log_of(api, admin_headers, webhook["id"]))[0]["status"] == "delivered"


async def test_gives_up_after_the_last_attempt(make_client: Any, hook_settings: Settings,
                                               admin_headers: dict[str, str], receiver: WebhookReceiver) -> None:
    """With the default 5 s base the retries span about a day; the clock is moved to each next attempt."""
    clock = ManualClock(start=time.time())
    api = await make_client(hook_settings.replace(webhook_retry_base_seconds=5.0), clock=clock)
    runtime = runtime_of(api)
    webhook = await create_webhook(api, admin_headers, receiver)
    receiver.default_status = 500
    await create_item(api, admin_headers)
    for attempt in range(1, 17):  # bounded: 15 attempts at most
        await receiver.wait_for(attempt)
        log = await log_of(api, admin_headers, webhook["id"])
        while len(log) < attempt:  # the attempt's line is written just after the receiver answers
            log = await log_of(api, admin_headers, webhook["id"])
        if log[0]["status"] == "failed":
            break
        assert log[0]["status"] == "retrying" and log[0]["nextAttemptAt"] is not None
        wait = iso_seconds(log[0]["nextAttemptAt"]) - clock.time()
        assert 5 * 2 ** (attempt - 1) * 0.79 <= wait <= 5 * 2 ** (attempt - 1) * 1.21  # exponential, ±20 % jitter
        clock.advance(wait + 0.01)
        runtime.webhook_dispatcher.wake()
    await drained(runtime)
    attempts = len(receiver.received)
    assert 14 <= attempts <= 15  # 15 attempts, unless jitter pushed the 15th past the 24 h window
    assert log[0]["status"] == "failed" and log[0]["attempt"] == attempts and log[0]["nextAttemptAt"] is None
    assert iso_seconds(log[0]["attemptedAt"]) - iso_seconds(log[-1]["attemptedAt"]) < 24 * 3600
    assert len({request.message_id for request in receiver.received}) == 1
    metrics = await (await api.get("/api/metrics", headers=admin_headers)).text()
    assert 'webhook_deliveries_total{status="failed"} 1.0' in metrics
    assert f'webhook_deliveries_total{{status="retrying"}} {float(attempts - 1)}' in metrics


async def test_410_gone_switches_the_webhook_off(api: TestClient, admin_headers: dict[str, str],
                                                receiver: WebhookReceiver) -> None:
    webhook = await create_webhook(api, admin_headers, receiver)
    receiver.default_status = 410
    item = await create_item(api, admin_headers)
    await receiver.wait_for(1)
    await drained(runtime_of(api))
    current = (await (await api.get(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers)).json())["data"]
    assert current["active"] is False and "410 Gone" in current["disabledReason"]
    assert (await log_of(api, admin_headers, webhook["id"]))[0]["status"] == "disabled"
    await change_item(api, admin_headers, item["id"], status="published")
    await drained(runtime_of(api))
    assert len(receiver.received) == 1  # switched off: nothing more is sent

    receiver.default_status = 200
    switched_on = await api.patch(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers, json={"active": True})
    assert (await switched_on.json())["data"]["disabledReason"] is None
    await change_item(api, admin_headers, item["id"], status="draft")
    await receiver.wait_for(2)
    await drained(runtime_of(api))
    assert receiver.types() == ["content.created", "content.unpublished"]


async def test_debounce_coalesces_a_burst_into_one_delivery_of_the_latest_state(
        make_client: Any, hook_settings: Settings, admin_headers: dict[str, str], receiver: WebhookReceiver) -> None:
    clock = ManualClock(start=time.time())
    api = await make_client(hook_settings, clock=clock)
    runtime = runtime_of(api)
    webhook = await create_webhook(api, admin_headers, receiver, debounceSeconds=60)
    first = await create_item(api, admin_headers, data={"title": "One"})
    await fanned_out(runtime)
    for title in ("Two", "Three", "Four"):
        clock.advance(5)
        await change_item(api, admin_headers, first["id"], data={"title": title})
    clock.advance(5)
    latest = await change_item(api, admin_headers, first["id"], status="published")
    await fanned_out(runtime)
    listed = (await (await api.get(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers)).json())["data"]
    assert listed["pendingDeliveries"] == 1 and receiver.received == []  # waiting out the quiet minute

    clock.advance(59)  # 59 s after the last change: still waiting
    runtime.webhook_dispatcher.wake()
    await fanned_out(runtime)
    assert receiver.received == []
    clock.advance(2)
    runtime.webhook_dispatcher.wake()
    await receiver.wait_for(1)
    await drained(runtime)
    assert len(receiver.received) == 1 and receiver.received[0].verified
    assert receiver.received[0].payload["type"] == "content.published"
    assert receiver.received[0].payload["data"]["version"] == latest["version"] == 5


async def test_a_steady_stream_under_debounce_is_still_delivered(
        make_client: Any, hook_settings: Settings, admin_headers: dict[str, str], receiver: WebhookReceiver) -> None:
    clock = ManualClock(start=time.time())
    api = await make_client(hook_settings, clock=clock)
    runtime = runtime_of(api)
    await create_webhook(api, admin_headers, receiver, debounceSeconds=10)
    item = await create_item(api, admin_headers, data={"title": "v1"})
    await fanned_out(runtime)  # the burst starts now
    for version in range(2, 14):  # a change every 9 s: never 10 quiet seconds
        clock.advance(9)
        runtime.webhook_dispatcher.wake()
        await fanned_out(runtime)
        if version == 12:  # 99 s after the first change: the 100 s limit (10 × debounce) is near, nothing yet
            assert receiver.received == []
        await change_item(api, admin_headers, item["id"], data={"title": f"v{version}"})
    await receiver.wait_for(1)  # 108 s after the first change, the limit passed: delivered though changes go on
    assert len(receiver.received) == 1 and receiver.received[0].payload["data"]["version"] in (12, 13)
