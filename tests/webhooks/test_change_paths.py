"""Every way content changes sends its event: MCP tools over the real /api/mcp (create, update, publish,
unpublish, delete, restore), the admin web app's cookie session, and hard deletes through the admin API."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.admin_ui.conftest import sign_in
from tests.helpers.webhook_receiver import WebhookReceiver
from tests.webhooks.conftest import CONTENT, create_item, create_webhook, drained, runtime_of

PROTOCOL = "2025-06-18"


class McpSession:
    """An MCP client speaking JSON-RPC over the real HTTP transport, with the admin key."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = {**headers, "Accept": "application/json, text/event-stream"}
        self.next_id = 1

    async def open(self) -> McpSession:
        response = await self.client.post("/api/mcp", headers=self.headers, json=self._request("initialize", {
            "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "webhook-test", "version": "1"}}))
        assert response.status == 200, await response.text()
        self.headers.update({"Mcp-Session-Id": response.headers["Mcp-Session-Id"], "MCP-Protocol-Version": PROTOCOL})
        await self.client.post("/api/mcp", headers=self.headers,
                               json={"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        response = await self.client.post("/api/mcp", headers=self.headers,
                                          json=self._request("tools/call", {"name": tool, "arguments": arguments}))
        result = (await response.json())["result"]
        assert not result.get("isError"), result
        return result["structuredContent"]

    def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        return {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}


async def test_mcp_tools_send_every_event_type(api: TestClient, admin_headers: dict[str, str],
                                              receiver: WebhookReceiver) -> None:
    await create_webhook(api, admin_headers, receiver)
    mcp = await McpSession(api, admin_headers).open()
    item = (await mcp.call("create_content", type="project", data={"title": "Via MCP"}))["item"]
    await mcp.call("update_content", id=item["id"], data={"title": "Via MCP, edited"})
    await mcp.call("publish_content", id=item["id"])
    await mcp.call("unpublish_content", id=item["id"])
    await mcp.call("delete_content", id=item["id"])
    restored = (await mcp.call("restore_content", id=item["id"], version=1))["item"]
    await receiver.wait_for(6)
    await drained(runtime_of(api))
    assert [(r.payload["type"], r.payload["data"]["version"]) for r in receiver.received] == [
        ("content.created", 1), ("content.updated", 2), ("content.published", 3), ("content.unpublished", 4),
        ("content.deleted", 5), ("content.restored", 6)]
    assert restored["version"] == 6 and all(request.verified for request in receiver.received)


async def test_hard_deletes_tell_once(api: TestClient, admin_headers: dict[str, str],
                                     receiver: WebhookReceiver) -> None:
    live = await create_item(api, admin_headers, data={"title": "Live"}, status="published")
    gone_already = await create_item(api, admin_headers, data={"title": "Gone already"})
    assert (await api.delete(f"{CONTENT}/{gone_already['id']}", headers=admin_headers)).status == 200
    await create_webhook(api, admin_headers, receiver, events=["content.deleted", "content.unpublished"])
    assert (await api.delete(f"{CONTENT}/{live['id']}", headers=admin_headers, params={"hard": "true"})).status == 200
    # Purging an item already deleted tells nothing new: its deletion was told when it happened.
    assert (await api.delete(f"{CONTENT}/{gone_already['id']}", headers=admin_headers,
                             params={"hard": "true"})).status == 200
    await receiver.wait_for(1)
    await drained(runtime_of(api))
    [request] = receiver.received
    assert request.payload["type"] == "content.deleted" and request.payload["data"]["id"] == live["id"]


async def test_the_admin_web_app_sends_events(api: TestClient, admin_headers: dict[str, str],
                                             receiver: WebhookReceiver) -> None:
    """The web app changes content through the same API with its cookie session (and CSRF token)."""
    await create_webhook(api, admin_headers, receiver, events=["content.created", "content.published"])
    browser = (await sign_in(api)).headers()
    created = await api.post(CONTENT, headers=browser, json={"type": "post", "data": {"title": "From the app"}})
    assert created.status == 201, await created.text()
    item = (await created.json())["data"]
    published = await api.put(f"{CONTENT}/{item['id']}", headers=browser, json={"status": "published"})
    assert published.status == 200, await published.text()
    await receiver.wait_for(2)
    await drained(runtime_of(api))
    assert receiver.types() == ["content.created", "content.published"]
