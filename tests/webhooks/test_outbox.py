"""Which events a change is (the rule the docs state), what a dump keeps of the queue, and receivers that
only want a bare POST or answer with a redirect."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient

from folionaut.content.models import ChangeRecord, ContentItem
from folionaut.storage.dump import dump_database
from folionaut.webhooks.outbox import event_types
from tests.helpers.webhook_receiver import WebhookReceiver
from tests.webhooks.conftest import create_item, create_webhook, drained, log_of, runtime_of

DRAFT = ContentItem(id="content_x", type="project", slug="x", data={"title": "X"}, status="draft", version=1,
                    sort_order=0, created_at="2025-01-01T00:00:00.000Z", updated_at="2025-01-01T00:00:00.000Z",
                    deleted_at=None)
LIVE = replace(DRAFT, status="published")
DELETED = replace(DRAFT, deleted_at="2025-01-02T00:00:00.000Z")
DELETED_LIVE = replace(LIVE, deleted_at="2025-01-02T00:00:00.000Z")


@pytest.mark.parametrize(("kind", "before", "after", "types"), [
    ("created", None, DRAFT, ("content.created",)),
    ("created", None, LIVE, ("content.created", "content.published")),
    ("updated", DRAFT, replace(DRAFT, data={"title": "Y"}), ("content.updated",)),
    ("updated", DRAFT, replace(LIVE, data={"title": "Y"}), ("content.published", "content.updated")),
    ("updated", LIVE, DRAFT, ("content.unpublished", "content.updated")),
    ("updated", LIVE, replace(LIVE, status="archived"), ("content.unpublished", "content.updated")),
    ("updated", DRAFT, replace(DRAFT, status="archived"), ("content.updated",)),
    ("updated", LIVE, replace(LIVE, sort_order=3), ("content.updated",)),
    ("deleted", LIVE, DELETED_LIVE, ("content.deleted", "content.unpublished")),
    ("deleted", DRAFT, DELETED, ("content.deleted",)),
    ("restored", DELETED_LIVE, LIVE, ("content.restored", "content.published")),
    ("restored", DELETED, DRAFT, ("content.restored",)),
    ("restored", LIVE, replace(LIVE, data={"title": "Old"}), ("content.restored", "content.updated")),
    ("purged", LIVE, LIVE, ("content.deleted", "content.unpublished")),
    ("purged", DRAFT, DRAFT, ("content.deleted",)),
    ("purged", DELETED_LIVE, DELETED_LIVE, ()),
])
def test_a_change_is_its_lifecycle_event_and_its_visibility_event(
        kind: str, before: ContentItem | None, after: ContentItem, types: tuple[str, ...]) -> None:
    assert event_types(ChangeRecord(kind, before, after)) == types


async def test_a_bare_build_hook_builds_with_the_same_body(api: TestClient, admin_headers: dict[str, str]) -> None:
    """Netlify, Vercel and Cloudflare Pages build hooks take any POST and answer 200, 201 or 202."""
    build_hook = await WebhookReceiver(path="/build_hooks/5f1e2d", verify=False, default_status=202).start()
    try:
        webhook = await create_webhook(api, admin_headers, url=build_hook.url, events=["content.published"],
                                       debounceSeconds=0)
        await create_item(api, admin_headers, status="published")
        await build_hook.wait_for(1)
        await drained(runtime_of(api))
        assert build_hook.received[0].payload["type"] == "content.published"
        [line] = await log_of(api, admin_headers, webhook["id"])
        assert (line["status"], line["statusCode"]) == ("delivered", 202)
    finally:
        await build_hook.stop()


async def test_redirects_are_not_followed(api: TestClient, admin_headers: dict[str, str],
                                          receiver: WebhookReceiver) -> None:
    elsewhere = await WebhookReceiver(path="/elsewhere").start()
    try:
        webhook = await create_webhook(api, admin_headers, receiver)
        receiver.answers.append(302)
        receiver.location = elsewhere.url
        await create_item(api, admin_headers)
        await receiver.wait_for(2)
        await drained(runtime_of(api))
        log = await log_of(api, admin_headers, webhook["id"])
        assert [(line["status"], line["statusCode"]) for line in log] == [("delivered", 200), ("retrying", 302)]
        assert "redirects are not followed" in log[1]["error"] and elsewhere.received == []
    finally:
        await elsewhere.stop()


async def test_a_dump_keeps_the_webhooks_but_not_their_queue(api: TestClient, admin_headers: dict[str, str],
                                                            receiver: WebhookReceiver) -> None:
    webhook = await create_webhook(api, admin_headers, receiver)
    await create_item(api, admin_headers)
    await receiver.wait_for(1)
    await drained(runtime_of(api))
    dump = (await dump_database(runtime_of(api).database)).decode()
    assert webhook["id"] in dump and webhook["secret"] in dump  # a backup restores working webhooks
    assert receiver.received[0].message_id not in dump  # but never sends anything again
    assert "webhook_deliveries (" in dump  # the table is there, empty
