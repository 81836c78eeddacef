"""The official MCP Python SDK (2.x) drives /api/mcp over real HTTP: handshake and stateless revisions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

from tests.access.conftest import create_token
from tests.conftest import ADMIN_KEY
from tests.mcp.conftest import seed_content

READ_TOOLS = {"list_types", "list_content", "get_content", "search_content", "get_history"}
TOOL_NAMES = READ_TOOLS | {"create_content", "update_content", "delete_content", "restore_content",
                           "publish_content", "unpublish_content"}


@asynccontextmanager
async def sdk_client(client: Any, mode: str, admin_key: str = ADMIN_KEY,
                     headers: dict[str, str] | None = None) -> AsyncIterator[Client]:
    url = str(client.make_url("/api/mcp"))
    async with create_mcp_http_client(headers=headers or {"X-Admin-Key": admin_key}) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode, cache=None) as mcp:
            yield mcp


def _json(result: Any) -> Any:
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


async def _exercise_reads(mcp: Client, tool_names: set[str] = TOOL_NAMES) -> None:
    tools = await mcp.list_tools()
    assert {tool.name for tool in tools.tools} == tool_names
    assert all(tool.title and tool.output_schema for tool in tools.tools)  # 2025-06-18 on: titles, output schemas
    schemas = {tool.name: tool.input_schema for tool in tools.tools}
    assert schemas["get_history"]["required"] == ["id"]

    types = _json(await mcp.call_tool("list_types", {}))  # the owner's view: drafts count
    assert types == {"types": [{"type": "project", "count": 3, "statuses": {"draft": 1, "published": 2}},
                               {"type": "skill", "count": 2, "statuses": {"published": 2}}]}
    listed = _json(await mcp.call_tool("list_content", {"type": "skill"}))
    assert [item["slug"] for item in listed["items"]] == ["python", "rust"]
    item = _json(await mcp.call_tool("get_content", {"type": "project", "slug": "rocket"}))
    assert item["item"]["data"]["title"] == "Rocket Planner"
    found = _json(await mcp.call_tool("search_content", {"query": "orbital"}))
    assert [hit["slug"] for hit in found["results"]] == ["rocket"]

    draft = await mcp.call_tool("get_content", {"type": "project", "slug": "secret"})  # drafts: the owner's
    assert draft.structured_content == _json(draft) and _json(draft)["item"]["status"] == "draft"
    missing = await mcp.call_tool("get_content", {"type": "project", "slug": "nothing"})
    assert missing.is_error and "not found" in missing.content[0].text
    bad = await mcp.call_tool("list_content", {"type": "Not A Type!"})
    assert bad.is_error and "Invalid arguments for list_content" in bad.content[0].text

    resources = await mcp.list_resources()
    uris = {str(resource.uri) for resource in resources.resources}
    assert {"folionaut://content", "folionaut://content/project", "folionaut://content/skill",
            "folionaut://content/project/rocket"} <= uris
    assert "folionaut://content/project/secret" in uris
    templates = await mcp.list_resource_templates()
    assert {t.uri_template for t in templates.resource_templates} == {
        "folionaut://content/{type}", "folionaut://content/{type}/{slug}"}
    bundle = json.loads((await mcp.read_resource("folionaut://content")).contents[0].text)
    assert set(bundle) == {"project", "skill"} and len(bundle["project"]) == 3
    skills = json.loads((await mcp.read_resource("folionaut://content/skill")).contents[0].text)
    assert [skill["slug"] for skill in skills] == ["python", "rust"]
    rocket = json.loads((await mcp.read_resource("folionaut://content/project/rocket")).contents[0].text)
    assert rocket["data"]["description"].startswith("Plans rocket")
    secret = json.loads((await mcp.read_resource("folionaut://content/project/secret")).contents[0].text)
    assert secret["status"] == "draft"
    with pytest.raises(MCPError) as not_found:
        await mcp.read_resource("folionaut://content/project/nothing")
    assert not_found.value.error.code == -32002

    prompts = await mcp.list_prompts()
    assert {prompt.name for prompt in prompts.prompts} == {"summarize_portfolio", "explain_project", "compare_skills"}
    summary = await mcp.get_prompt("summarize_portfolio")
    assert "Garden Bot" in summary.messages[0].content.text
    explained = await mcp.get_prompt("explain_project", {"slug": "rocket"})
    assert "orbital maths" in explained.messages[0].content.text
    compared = await mcp.get_prompt("compare_skills")
    assert "intermediate" in compared.messages[0].content.text
    with pytest.raises(MCPError) as no_slug:
        await mcp.get_prompt("explain_project", {})
    assert no_slug.value.error.code == -32602


@pytest.mark.filterwarnings("ignore:ping is removed")
async def test_handshake_session_every_tool_resource_and_prompt(client: Any, admin_headers: dict[str, str]) -> None:
    ids = await seed_content(client, admin_headers)
    async with sdk_client(client, "legacy") as mcp:
        assert mcp.protocol_version == "2025-11-25"
        assert mcp.server_info is not None and mcp.server_info.name == "folionaut"
        await mcp.send_ping()
        await _exercise_reads(mcp)

        # The public API caches this item; an MCP write must invalidate it before returning.
        before = await client.get("/api/v1/content/project/rocket")
        assert (await before.json())["data"]["data"]["title"] == "Rocket Planner"
        updated = _json(await mcp.call_tool("update_content", {
            "id": ids["rocket"], "data": {"title": "Rocket Planner 2"}, "version": 1}))
        assert updated["item"]["version"] == 2
        after = await client.get("/api/v1/content/project/rocket")
        assert (await after.json())["data"]["data"]["title"] == "Rocket Planner 2"

        stale = await mcp.call_tool("update_content", {"id": ids["rocket"], "status": "archived", "version": 1})
        assert stale.is_error and "Version conflict" in stale.content[0].text
        invalid = await mcp.call_tool("create_content", {"type": "project", "data": {}})
        assert invalid.is_error and "data: Must not be empty" in invalid.content[0].text

        created = _json(await mcp.call_tool("create_content", {
            "type": "talk", "data": {"title": "Hello MCP"}, "status": "published"}))
        new_id = created["item"]["id"]
        assert created["item"]["slug"] == "hello-mcp"
        listing = await client.get("/api/v1/content", params={"type": "talk"})
        assert [item["slug"] for item in (await listing.json())["data"]] == ["hello-mcp"]

        assert _json(await mcp.call_tool("delete_content", {"id": new_id})) == {"deleted": True, "id": new_id}
        gone = await client.get("/api/v1/content/talk/hello-mcp")
        assert gone.status == 404
        again = await mcp.call_tool("delete_content", {"id": new_id})
        assert again.is_error and "already deleted" in again.content[0].text

    # The database recorded every MCP change as made by "mcp".
    for content_id, expected in ((ids["rocket"], ["updated", "created"]), (new_id, ["deleted", "created"])):
        history = await client.get(f"/api/v1/admin/content/{content_id}/history", headers=admin_headers)
        entries = (await history.json())["data"]
        assert [entry["changeType"] for entry in entries] == expected
        assert entries[0]["changedBy"] == "mcp"


async def test_stateless_revision_with_discover(client: Any, admin_headers: dict[str, str]) -> None:
    await seed_content(client, admin_headers)
    async with sdk_client(client, "auto") as mcp:  # probes server/discover, adopts 2026-07-28
        assert mcp.protocol_version == "2026-07-28"
        assert mcp.session.discover_result is not None
        assert "2026-07-28" in mcp.session.discover_result.supported_versions
        await _exercise_reads(mcp)
        created = _json(await mcp.call_tool("create_content", {"type": "note", "data": {"title": "Stateless"}}))
        assert created["item"]["status"] == "draft"
    history = await client.get(f"/api/v1/admin/content/{created['item']['id']}/history", headers=admin_headers)
    assert (await history.json())["data"][0]["changedBy"] == "mcp"


async def test_wrong_admin_key_is_refused(client: Any) -> None:
    with pytest.raises(Exception):  # noqa: B017 - the SDK surfaces a 401 as a connection failure
        async with sdk_client(client, "legacy", admin_key="x" * 40):
            pass


@pytest.mark.filterwarnings("ignore:ping is removed")
@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_read_token_reads_everything_and_writes_nothing(client: Any, admin_headers: dict[str, str],
                                                                mode: str) -> None:
    await seed_content(client, admin_headers)
    token = await create_token(client, "assistant-read", "read")
    async with sdk_client(client, mode, headers={"Authorization": f"Bearer {token}"}) as mcp:
        await _exercise_reads(mcp, READ_TOOLS)  # write tools are not listed
        with pytest.raises(MCPError) as refused:
            await mcp.call_tool("create_content", {"type": "note", "data": {"title": "Not allowed"}})
        assert refused.value.error.code == -32602 and "needs write access" in refused.value.error.message
        with pytest.raises(MCPError):
            await mcp.call_tool("publish_content", {"id": "content_secret"})
    listed = await client.get("/api/v1/admin/content?type=note", headers=admin_headers)
    assert (await listed.json())["data"] == []


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_write_token_edits_and_history_names_it(client: Any, admin_headers: dict[str, str],
                                                        mode: str) -> None:
    ids = await seed_content(client, admin_headers)
    token = await create_token(client, "assistant-write", "write")
    async with sdk_client(client, mode, headers={"Authorization": f"Bearer {token}"}) as mcp:
        assert {tool.name for tool in (await mcp.list_tools()).tools} == TOOL_NAMES
        published = _json(await mcp.call_tool("publish_content", {"id": ids["secret"], "version": 1}))
        assert published["item"]["status"] == "published"
        public = await client.get("/api/v1/content/project/secret")  # the public API serves it at once
        assert public.status == 200
        history = _json(await mcp.call_tool("get_history", {"id": ids["secret"], "limit": 1}))
        assert [entry["version"] for entry in history["entries"]] == [2] and "nextCursor" in history
        older = _json(await mcp.call_tool("get_history", {"id": ids["secret"], "limit": 1,
                                                          "cursor": history["nextCursor"]}))
        assert [entry["version"] for entry in older["entries"]] == [1] and "nextCursor" not in older
        unpublished = _json(await mcp.call_tool("unpublish_content", {"id": ids["secret"]}))
        assert unpublished["item"]["status"] == "draft"
        assert (await client.get("/api/v1/content/project/secret")).status == 404
    entries = (await (await client.get(f"/api/v1/admin/content/{ids['secret']}/history",
                                       headers=admin_headers)).json())["data"]
    assert [(entry["changeType"], entry["changedBy"]) for entry in entries] == [
        ("updated", "token:assistant-write"), ("updated", "token:assistant-write"), ("created", "admin")]


async def test_a_revoked_token_is_refused_mid_session(client: Any, admin_headers: dict[str, str]) -> None:
    token = await create_token(client, "short-lived", "read")
    async with sdk_client(client, "legacy", headers={"Authorization": f"Bearer {token}"}) as mcp:
        assert (await mcp.list_tools()).tools
        assert (await client.delete("/api/v1/admin/tokens/short-lived", headers=admin_headers)).status == 200
        with pytest.raises(Exception):  # noqa: B017 - the SDK surfaces the 401 as a failed request
            await mcp.list_tools()
