"""The SSRF guard: what may be a webhook URL, when it is set and again at every delivery.

No test here sends anything to a refused address: refusals happen before any connection, and the
only addresses ever connected to are the loopback receiver's. Names used resolve without the
network (``localhost`` from /etc/hosts, numeric forms such as ``127.1``).
"""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.core.clock import iso_timestamp
from folionaut.settings import Settings
from folionaut.webhooks.models import Webhook
from folionaut.webhooks.signing import generate_secret
from folionaut.webhooks.url_guard import UrlGuard, UrlRefused, refusal
from tests.helpers.webhook_receiver import WebhookReceiver
from tests.webhooks.conftest import WEBHOOKS, create_item, create_webhook, drained, log_of, runtime_of

REFUSED = [
    ("http://127.0.0.1:8080/hook", "127.0.0.1 is a loopback address (127.0.0.1)"),
    ("http://127.1/hook", "127.1 resolves to a loopback address (127.0.0.1)"),
    ("http://localhost/hook", "localhost resolves to a loopback address"),
    ("http://[::1]/hook", "::1 is a loopback address (::1)"),
    ("http://[::ffff:127.0.0.1]/", "is a loopback address (::ffff:"),
    ("http://10.1.2.3/", "10.1.2.3 is a private address (10.1.2.3)"),
    ("https://172.16.0.9/", "172.16.0.9 is a private address"),
    ("https://192.168.1.1/", "192.168.1.1 is a private address"),
    ("http://[fd12:3456::1]/", "is a private address (fd12:3456::1)"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://[fd00:ec2::254]/", "is a cloud metadata address"),
    ("http://169.254.10.10/", "169.254.10.10 is a link-local address"),
    ("http://[fe80::1]/", "is a link-local address"),
    ("http://100.64.0.1/", "100.64.0.1 is not a public address"),
    ("http://0.0.0.0/", "0.0.0.0 is a private address"),
    ("http://[64:ff9b::a00:1]/", "is a private address (64:ff9b::a00:1)"),  # NAT64 of 10.0.0.1
    ("http://224.0.0.1/", "224.0.0.1 is not a public address"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
async def test_urls_reaching_inside_are_refused_when_set(make_client: Any, settings: Settings,
                                                         admin_headers: dict[str, str], url: str, reason: str) -> None:
    api = await make_client(settings)  # WEBHOOK_ALLOW_PRIVATE is off by default
    response = await api.post(WEBHOOKS, headers=admin_headers, json={"url": url, "events": ["*"]})
    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == "VALIDATION_ERROR" and list(error["fields"]) == ["url"]
    [message] = error["fields"]["url"]
    assert reason in message
    assert "WEBHOOK_ALLOW_PRIVATE" in message or "metadata" in reason
    assert (await (await api.get(WEBHOOKS, headers=admin_headers)).json())["data"] == []


async def test_allow_private_lets_a_local_receiver_in_but_never_metadata(
        api: TestClient, admin_headers: dict[str, str], receiver: WebhookReceiver) -> None:
    webhook = await create_webhook(api, admin_headers, receiver)  # 127.0.0.1, allowed by the fixture's settings
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/"):
        response = await api.post(WEBHOOKS, headers=admin_headers, json={"url": url, "events": ["*"]})
        assert response.status == 400 and "never a webhook receiver" in (await response.json())["error"]["fields"][
            "url"][0]
        moved = await api.patch(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers, json={"url": url})
        assert moved.status == 400
    current = (await (await api.get(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers)).json())["data"]
    assert current["url"] == receiver.url


async def test_changing_the_url_is_checked_too(make_client: Any, settings: Settings, admin_headers: dict[str, str],
                                               receiver: WebhookReceiver) -> None:
    api = await make_client(settings)
    runtime = runtime_of(api)
    webhook = await _stored_webhook(runtime, "http://192.0.2.10/hook")  # a documentation address, never reached
    moved = await api.patch(f"{WEBHOOKS}/{webhook.id}", headers=admin_headers, json={"url": receiver.url})
    assert moved.status == 400 and "loopback" in (await moved.json())["error"]["fields"]["url"][0]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_delivery_checks_again_and_never_connects_to_a_refused_address(
        make_client: Any, settings: Settings, admin_headers: dict[str, str], receiver: WebhookReceiver,
        host: str) -> None:
    """A URL that passed when it was set but reaches inside now (DNS changed, the setting changed) is refused
    at delivery: the receiver on loopback hears nothing, and the log says why."""
    api = await make_client(settings.replace(webhook_retry_base_seconds=0.05))  # private addresses refused
    runtime = runtime_of(api)
    webhook = await _stored_webhook(runtime, receiver.url.replace("127.0.0.1", host))
    receiver.secret = webhook.secret
    await create_item(api, admin_headers)
    for _ in range(500):  # bounded: the first attempt follows the change within moments
        log = await log_of(api, admin_headers, webhook.id)
        if log:
            break
        await asyncio.sleep(0.02)
    assert log[-1]["status"] == "retrying" and log[-1]["statusCode"] is None
    assert log[-1]["error"].startswith(f"refused: {host} ") and "loopback address" in log[-1]["error"]
    assert "/hook" not in log[-1]["error"]  # the log never holds the URL's path
    assert receiver.received == []
    await api.patch(f"{WEBHOOKS}/{webhook.id}", headers=admin_headers, json={"active": False})
    await drained(runtime)


async def test_only_public_addresses_pass_the_guard() -> None:
    guard = UrlGuard(allow_private=False)
    assert refusal(ipaddress.ip_address("93.184.216.34")) is None
    assert refusal(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946")) is None
    assert [address.host for address in await guard.resolve("93.184.216.34", 443)] == ["93.184.216.34"]
    await guard.check("https://93.184.216.34/build")  # a public literal: nothing to resolve, nothing sent
    with pytest.raises(UrlRefused, match="loopback"):
        await guard.resolve("127.0.0.1", 80)
    assert [address.host for address in await UrlGuard(allow_private=True).resolve("127.0.0.1", 80)] == ["127.0.0.1"]


async def _stored_webhook(runtime: Any, url: str) -> Webhook:
    """A webhook written straight to the database, as one set before the guard (or its setting) said no."""
    now = iso_timestamp(runtime.clock.time())
    webhook = Webhook(id="wh_stored0123456789", url=url, events=("*",), secret=generate_secret(), active=True,
                      debounce_seconds=0, description=None, disabled_reason=None, created_at=now, updated_at=now)
    await runtime.webhooks.repository.insert(webhook)
    return webhook
