"""/api/v1/admin/webhooks: the lifecycle, validation, scopes, the test send, and what is never shown again."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.webhooks.schema import WEBHOOK_CREATE, WEBHOOK_UPDATE
from folionaut.webhooks.signing import SECRET_RULE, generate_secret
from tests.access.conftest import bearer, create_token
from tests.helpers.webhook_receiver import WebhookReceiver
from tests.webhooks.conftest import WEBHOOKS, change_item, create_item, create_webhook, drained, log_of, runtime_of


async def test_create_list_change_delete(api: TestClient, admin_headers: dict[str, str],
                                         receiver: WebhookReceiver) -> None:
    created = await api.post(WEBHOOKS, headers=admin_headers, json={
        "url": receiver.url, "events": ["content.unpublished", "content.published"], "debounceSeconds": 30,
        "description": "Netlify: the portfolio site"})
    assert created.status == 201 and created.headers["Cache-Control"] == "no-store"
    webhook = (await created.json())["data"]
    secret = webhook.pop("secret")
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:], validate=True)) == 32
    assert webhook["id"].startswith("wh_") and webhook["url"] == receiver.url
    assert webhook["events"] == ["content.published", "content.unpublished"]  # in the documented order
    assert (webhook["active"], webhook["debounceSeconds"], webhook["pendingDeliveries"]) == (True, 30, 0)
    assert webhook["description"] == "Netlify: the portfolio site" and webhook["disabledReason"] is None

    listed = await api.get(WEBHOOKS, headers=admin_headers)
    assert listed.headers["Cache-Control"] == "no-store"
    assert (await listed.json())["data"] == [webhook]  # never the secret again
    one = await api.get(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers)
    assert (await one.json())["data"] == webhook and secret not in await one.text()

    changed = await api.patch(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers, json={
        "events": ["*"], "debounceSeconds": 0, "description": None})
    assert changed.status == 200, await changed.text()
    after = (await changed.json())["data"]
    assert (after["events"], after["debounceSeconds"], after["description"]) == (["*"], 0, None)
    assert after["updatedAt"] >= after["createdAt"] == webhook["createdAt"] and "secret" not in after

    assert (await api.delete(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers)).status == 200
    gone = await api.get(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers)
    assert gone.status == 404 and (await gone.json())["error"]["code"] == "NOT_FOUND"
    assert (await api.delete(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers)).status == 404
    assert (await api.get(f"{WEBHOOKS}/{webhook['id']}/deliveries", headers=admin_headers)).status == 404
    assert (await (await api.get(WEBHOOKS, headers=admin_headers)).json())["data"] == []


async def test_a_secret_of_your_own_signs_the_deliveries(api: TestClient, admin_headers: dict[str, str],
                                                        receiver: WebhookReceiver) -> None:
    own = generate_secret()
    webhook = await create_webhook(api, admin_headers, receiver, secret=own)
    assert receiver.secret == own
    sent = await api.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=admin_headers)
    assert sent.status == 200
    result = (await sent.json())["data"]
    assert (result["delivered"], result["status"], result["statusCode"], result["event"]) == (
        True, "delivered", 200, "webhook.test")
    [request] = receiver.received
    assert request.verified and request.payload["type"] == "webhook.test"
    assert request.payload["data"] == {"webhookId": webhook["id"]} and request.message_id == result["deliveryId"]
    assert (await log_of(api, admin_headers, webhook["id"]))[0]["id"] == result["id"]

    # Another secret: the reference verification now fails, as it must.
    await api.patch(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers, json={"secret": generate_secret()})
    failed = (await (await api.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=admin_headers)).json())["data"]
    assert (failed["delivered"], failed["status"], failed["statusCode"]) == (False, "failed", 401)
    assert not receiver.received[1].verified


async def test_the_test_send_reports_a_failing_receiver_and_410_switches_it_off(
        api: TestClient, admin_headers: dict[str, str], receiver: WebhookReceiver) -> None:
    webhook = await create_webhook(api, admin_headers, receiver)
    receiver.answers.extend([500, 410])
    failing = (await (await api.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=admin_headers)).json())["data"]
    assert (failing["delivered"], failing["statusCode"], failing["error"]) == (False, 500, "HTTP 500")
    gone = (await (await api.post(f"{WEBHOOKS}/{webhook['id']}/test", headers=admin_headers)).json())["data"]
    assert (gone["status"], gone["statusCode"]) == ("disabled", 410)
    current = (await (await api.get(f"{WEBHOOKS}/{webhook['id']}", headers=admin_headers)).json())["data"]
    assert current["active"] is False and "410" in current["disabledReason"]


@pytest.mark.parametrize(("body", "fields"), [
    ({"events": ["*"]}, {"url": ["Required"]}),
    ({"url": "https://example.com/h"}, {"events": ["Required"]}),
    ({"url": "https://example.com/h", "events": []}, {"events": ["Must not be empty"]}),
    ({"url": "https://example.com/h", "events": ["*", "content.created"]},
     {"events": ['Use ["*"] alone for every event, or list the event types']}),
    ({"url": "https://example.com/h", "events": ["content.nope"]}, {"events": [
        "Item 1: Expected one of: content.created, content.updated, content.published, content.unpublished, "
        "content.deleted, content.restored, *"]}),
    ({"url": "https://example.com/h", "events": ["content.created", "content.created"]},
     {"events": ["Must not repeat an item"]}),
    ({"url": "https://example.com/h", "events": "content.created"}, {"events": ["Expected array, received string"]}),
    ({"url": "https://example.com/h", "events": ["*"], "secret": "hunter2"}, {"secret": [SECRET_RULE]}),
    ({"url": "https://example.com/h", "events": ["*"], "secret": "whsec_c2hvcnQ="}, {"secret": [SECRET_RULE]}),
    ({"url": "https://example.com/h", "events": ["*"], "debounceSeconds": 3601},
     {"debounceSeconds": ["Must be between 0 and 3600"]}),
    ({"url": "https://example.com/h", "events": ["*"], "debounceSeconds": "5"},
     {"debounceSeconds": ["Expected integer, received string"]}),
    ({"url": "https://example.com/h", "events": ["*"], "debounce": 5}, {"debounce": ["Unknown field"]}),
    ({"url": "https://example.com/h", "events": ["*"], "active": "yes"}, {"active": ["Expected boolean, received "
                                                                                     "string"]}),
    ({"url": "ftp://example.com/h", "events": ["*"]}, {"url": ["Must be an http:// or https:// URL"]}),
    ({"url": "https:///no-host", "events": ["*"]}, {"url": ["Must name a host"]}),
    ({"url": "https://exa mple.com/", "events": ["*"]}, {"url": ["Must not contain spaces or control characters"]}),
    ({"url": "https://example.com:99999/", "events": ["*"]}, {"url": ["Is not a valid URL (check the host and port)"]}),
    (["not", "an", "object"], {"body": ["Expected object, received array"]}),
])
async def test_invalid_bodies_are_400_with_fields(api: TestClient, admin_headers: dict[str, str], body: Any,
                                                  fields: dict[str, list[str]]) -> None:
    response = await api.post(WEBHOOKS, headers=admin_headers, json=body)
    assert response.status == 400, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == "VALIDATION_ERROR" and error["fields"] == fields
    assert (await (await api.get(WEBHOOKS, headers=admin_headers)).json())["data"] == []


async def test_invalid_changes_and_ids(api: TestClient, admin_headers: dict[str, str],
                                       receiver: WebhookReceiver) -> None:
    webhook = await create_webhook(api, admin_headers, receiver)
    url = f"{WEBHOOKS}/{webhook['id']}"
    for body, fields in (({}, {"body": ["Change at least one field"]}),
                         ({"url": None}, {"body": ["Change at least one field"]}),
                         ({"events": ["*"], "colour": "red"}, {"colour": ["Unknown field"]}),
                         ({"url": "gopher://x"}, {"url": ["Must be an http:// or https:// URL"]})):
        response = await api.patch(url, headers=admin_headers, json=body)
        assert response.status == 400 and (await response.json())["error"]["fields"] == fields, body
    bad_id = await api.get(f"{WEBHOOKS}/not-a-webhook", headers=admin_headers)
    assert bad_id.status == 400 and (await bad_id.json())["error"]["fields"] == {"id": ["Expected a webhook id (wh_…)"]}
    unknown = await api.patch(f"{WEBHOOKS}/wh_unknown", headers=admin_headers, json={"active": False})
    assert unknown.status == 404
    assert (await api.post(f"{WEBHOOKS}/wh_unknown/test", headers=admin_headers)).status == 404
    assert (await (await api.get(url, headers=admin_headers)).json())["data"]["events"] == ["*"]  # unchanged


async def test_write_scope_manages_read_scope_watches_the_log(api: TestClient, admin_headers: dict[str, str],
                                                             receiver: WebhookReceiver) -> None:
    reader, writer = await create_token(api, "dashboard", "read"), await create_token(api, "deployer", "write")
    webhook = await create_webhook(api, bearer(writer), receiver)
    assert (await api.get(WEBHOOKS, headers=bearer(writer))).status == 200
    for method, path in (("GET", WEBHOOKS), ("GET", f"{WEBHOOKS}/{webhook['id']}"), ("POST", WEBHOOKS),
                         ("PATCH", f"{WEBHOOKS}/{webhook['id']}"), ("DELETE", f"{WEBHOOKS}/{webhook['id']}"),
                         ("POST", f"{WEBHOOKS}/{webhook['id']}/test")):
        refused = await api.request(method, path, headers=bearer(reader), json={"active": False})
        assert refused.status == 403, (method, path)  # the URL of a build hook is a secret of its own
        assert (await api.request(method, path, json={})).status == 401
    await create_item(api, admin_headers)
    await receiver.wait_for(1)
    await drained(runtime_of(api))
    watched = await api.get(f"{WEBHOOKS}/{webhook['id']}/deliveries", headers=bearer(reader))
    assert watched.status == 200
    [line] = (await watched.json())["data"]
    assert (line["event"], line["status"]) == ("content.created", "delivered")
    assert receiver.url not in await watched.text()


async def test_switching_off_drops_what_is_pending(api: TestClient, admin_headers: dict[str, str],
                                                  receiver: WebhookReceiver) -> None:
    webhook = await create_webhook(api, admin_headers, receiver, debounceSeconds=3600)
    item = await create_item(api, admin_headers)
    await change_item(api, admin_headers, item["id"], status="published")
    url = f"{WEBHOOKS}/{webhook['id']}"
    for _ in range(500):  # bounded: fan-out follows the change within moments
        if (await (await api.get(url, headers=admin_headers)).json())["data"]["pendingDeliveries"] == 1:
            break
        await asyncio.sleep(0.02)
    off = (await (await api.patch(url, headers=admin_headers, json={"active": False})).json())["data"]
    assert (off["active"], off["pendingDeliveries"]) == (False, 0)
    await change_item(api, admin_headers, item["id"], status="draft")
    await drained(runtime_of(api))
    assert receiver.received == [] and await log_of(api, admin_headers, webhook["id"]) == []


async def test_a_repeated_create_under_one_idempotency_key_makes_one_webhook(
        api: TestClient, admin_headers: dict[str, str], receiver: WebhookReceiver) -> None:
    headers = {**admin_headers, "Idempotency-Key": "create-netlify-hook"}
    body = {"url": receiver.url, "events": ["content.published"]}
    first = await api.post(WEBHOOKS, headers=headers, json=body)
    again = await api.post(WEBHOOKS, headers=headers, json=body)
    assert first.status == again.status == 201 and again.headers["X-Idempotent-Replayed"] == "true"
    assert (await first.json()) == (await again.json())
    assert len((await (await api.get(WEBHOOKS, headers=admin_headers)).json())["data"]) == 1


async def test_the_openapi_document_describes_webhooks(api: TestClient) -> None:
    document = await (await api.get("/api/openapi.json")).json()
    schemas = document["components"]["schemas"]
    assert schemas["WebhookCreate"] == WEBHOOK_CREATE and schemas["WebhookUpdate"] == WEBHOOK_UPDATE
    assert {"get", "post"} <= set(document["paths"]["/api/v1/admin/webhooks"])
    assert document["paths"]["/api/v1/admin/webhooks/{id}/deliveries"]["get"]["security"][1] == {"Bearer": ["read"]}
    assert document["paths"]["/api/v1/admin/webhooks/{id}"]["patch"]["security"][1] == {"Bearer": ["write"]}
    sent = document["webhooks"]["contentEvent"]["post"]
    assert [p["name"] for p in sent["parameters"]] == ["webhook-id", "webhook-timestamp", "webhook-signature"]
    assert schemas["WebhookEvent"]["properties"]["data"]["required"] == ["id", "type", "slug", "status", "version"]
