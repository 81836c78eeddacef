"""The shared content tools: as chat sees them (published only, OpenAI functions) and as MCP's owner does."""

from __future__ import annotations

from typing import Any

import pytest

from folionaut.content.assistant_tools import ToolContext, ToolError, ToolRegistry, View, all_tools, read_tools
from folionaut.http.state import RUNTIME
from tests.mcp.conftest import seed_content


async def test_read_tools_map_onto_openai_function_calling(client: Any, admin_headers: dict[str, str]) -> None:
    await seed_content(client, admin_headers)
    registry = ToolRegistry(read_tools(client.server.app[RUNTIME].content))
    specs = [tool.to_openai() for tool in registry.definitions()]
    assert [spec["function"]["name"] for spec in specs] == ["list_types", "list_content", "get_content",
                                                           "search_content"]
    for spec in specs:
        assert spec["type"] == "function"
        assert spec["function"]["parameters"]["type"] == "object" and spec["function"]["description"]

    assert (await registry.execute("get_content", {"type": "skill", "slug": "rust"}))["item"]["data"]["level"] == (
        "intermediate")
    with pytest.raises(ToolError, match="No published content"):  # the chat never sees drafts
        await registry.execute("get_content", {"type": "project", "slug": "secret"})
    assert await registry.execute("list_types", {}) == {
        "types": [{"type": "project", "count": 2}, {"type": "skill", "count": 2}]}
    with pytest.raises(ToolError, match="Unknown tool: 'create_content'"):  # chat gets no write tools
        await registry.execute("create_content", {"type": "x", "data": {"a": 1}})
    with pytest.raises(ToolError, match="limit: Must be between 1 and 20"):
        await registry.execute("search_content", {"query": "x", "limit": 500})
    with pytest.raises(ToolError, match="extra: Unknown field"):
        await registry.execute("list_types", {"extra": True})
    with pytest.raises(ToolError, match="cursor: Unknown field"):  # the public view does not page
        await registry.execute("list_content", {"cursor": "x"})


async def test_write_tool_errors_are_tool_errors(client: Any) -> None:
    registry = ToolRegistry(all_tools(client.server.app[RUNTIME].content))
    with pytest.raises(ToolError, match=r"slug: Required when data\.title is missing"):
        await registry.execute("create_content", {"type": "project", "data": {"body": "no title"}})
    with pytest.raises(ToolError, match="Must be a content id"):
        await registry.execute("delete_content", {"id": "nope-not-an-id"})
    with pytest.raises(ToolError, match="Provide at least one of"):
        await registry.execute("update_content", {"id": "content_abc"})
    with pytest.raises(ToolError, match="Version 9 not found"):
        created = await registry.execute("create_content", {"type": "note", "data": {"title": "n"}})
        await registry.execute("restore_content", {"id": created["item"]["id"], "version": 9})


async def test_the_owner_pages_through_everything_with_cursors(client: Any, admin_headers: dict[str, str]) -> None:
    await seed_content(client, admin_headers)
    registry = ToolRegistry(read_tools(client.server.app[RUNTIME].content, View.OWNER))
    seen: list[str] = []
    arguments: dict[str, Any] = {"type": "project", "limit": 2}
    for _ in range(5):  # bounded: 3 projects in pages of 2
        page = await registry.execute("list_content", arguments)
        seen += [item["slug"] for item in page["items"]]
        if "nextCursor" not in page:
            break
        arguments = {"type": "project", "limit": 2, "cursor": page["nextCursor"]}
    assert sorted(seen) == ["garden", "rocket", "secret"] and len(seen) == 3
    drafts = await registry.execute("list_content", {"status": "draft"})
    assert [item["slug"] for item in drafts["items"]] == ["secret"] and "nextCursor" not in drafts
    first = await registry.execute("list_content", {"type": "project", "limit": 1})
    with pytest.raises(ToolError, match="belongs to a query with other arguments"):
        await registry.execute("list_content", {"type": "skill", "limit": 1, "cursor": first["nextCursor"]})
    with pytest.raises(ToolError, match="Invalid cursor"):
        await registry.execute("list_content", {"cursor": "not-ours"})
    found = await registry.execute("search_content", {"query": "secret"})
    assert [item["slug"] for item in found["results"]] == ["secret"]  # search sees drafts too


async def test_publish_unpublish_restore_and_deleted_items(client: Any, admin_headers: dict[str, str]) -> None:
    ids = await seed_content(client, admin_headers)
    registry = ToolRegistry(all_tools(client.server.app[RUNTIME].content))
    context = ToolContext("token:editor")
    secret = ids["secret"]
    assert (await registry.execute("publish_content", {"id": secret}, context))["item"]["status"] == "published"
    assert (await client.get("/api/v1/content/project/secret")).status == 200
    with pytest.raises(ToolError, match="Version conflict"):
        await registry.execute("unpublish_content", {"id": secret, "version": 1}, context)
    archived = await registry.execute("unpublish_content", {"id": secret, "status": "archived", "version": 2}, context)
    assert archived["item"]["status"] == "archived" and archived["item"]["version"] == 3
    await registry.execute("update_content", {"id": secret, "data": {"title": "Renamed"}}, context)
    await registry.execute("delete_content", {"id": secret}, context)
    deleted = await registry.execute("get_content", {"id": secret})
    assert deleted["item"]["deletedAt"] is not None  # the owner still finds it, by id or by slug
    assert (await registry.execute("get_content", {"type": "project", "slug": "secret"}))["item"]["id"] == secret
    visible = await registry.execute("list_content", {"type": "project"})
    assert "secret" not in [item["slug"] for item in visible["items"]]  # deleted items only on request
    listed = await registry.execute("list_content", {"type": "project", "includeDeleted": True})
    assert "secret" in [item["slug"] for item in listed["items"]]
    restored = await registry.execute("restore_content", {"id": secret, "version": 1}, context)
    assert restored["item"]["data"] == {"title": "Secret Draft"} and restored["item"]["deletedAt"] is None
    history = await registry.execute("get_history", {"id": secret})
    assert [(entry["changeType"], entry["changedBy"]) for entry in history["entries"]] == [
        ("restored", "token:editor"), ("deleted", "token:editor"), ("updated", "token:editor"),
        ("updated", "token:editor"), ("updated", "token:editor"), ("created", "admin")]
    with pytest.raises(ToolError, match="either id, or type and slug"):
        await registry.execute("get_content", {"id": secret, "type": "project"})


async def test_the_public_view_pages_with_offset_and_limit(client: Any, admin_headers: dict[str, str]) -> None:
    await seed_content(client, admin_headers)
    registry = ToolRegistry(read_tools(client.server.app[RUNTIME].content))
    whole = await registry.execute("list_content", {})
    assert len(whole["items"]) == 4 and set(whole) == {"items"}  # unpaged: everything published, no paging keys
    page = await registry.execute("list_content", {"offset": 1, "limit": 2})
    assert page == {"items": whole["items"][1:3], "offset": 1, "total": 4}
    assert await registry.execute("list_content", {"offset": 3}) == {"items": whole["items"][3:], "offset": 3,
                                                                      "total": 4}
    projects = (await registry.execute("list_content", {"type": "project"}))["items"]
    first_project = await registry.execute("list_content", {"type": "project", "limit": 1})
    assert first_project == {"items": projects[:1], "offset": 0, "total": 2}  # the draft is not counted
    assert await registry.execute("list_content", {"offset": 10}) == {"items": [], "offset": 10, "total": 4}
    assert await registry.execute("list_content", {"offset": None, "limit": None}) == whole  # null is absent
    with pytest.raises(ToolError, match="limit: Must be between 1 and 100"):
        await registry.execute("list_content", {"limit": 101})
    with pytest.raises(ToolError, match="offset: Must be between 0 and 100000"):
        await registry.execute("list_content", {"offset": -1})


def _closed(schema: Any) -> Any:
    """``schema`` with every object that lists its properties closed: an undeclared field in a result fails."""
    if isinstance(schema, list):
        return [_closed(entry) for entry in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in schema and "additionalProperties" not in schema:
        closed["additionalProperties"] = False
    if isinstance(schema.get("properties"), dict):
        closed["properties"] = {name: _closed(entry) for name, entry in schema["properties"].items()}
    return closed


@pytest.mark.parametrize("view", list(View))
async def test_every_result_matches_its_output_schema_exactly(
    client: Any, admin_headers: dict[str, str], view: View,
) -> None:
    # MCP clients validate structuredContent against outputSchema with jsonschema, as here; closed
    # objects also catch a field a tool returns but its schema does not declare.
    import jsonschema

    ids = await seed_content(client, admin_headers)
    content = client.server.app[RUNTIME].content
    tools = read_tools(content, view) if view is View.PUBLIC else all_tools(content)
    secret = ids["secret"]
    calls: dict[str, list[dict[str, Any]]] = {
        "list_types": [{}],
        "list_content": [{}, {"type": "project"}, {"offset": 1, "limit": 1}] if view is View.PUBLIC
        else [{}, {"limit": 1}, {"status": "draft", "includeDeleted": True}],
        "get_content": [{"type": "project", "slug": "rocket"}],
        "search_content": [{"query": "rocket"}],
        "get_history": [{"id": secret}, {"id": secret, "limit": 1}],
        "create_content": [{"type": "note", "data": {"title": "Schema check"}}],
        "update_content": [{"id": secret, "data": {"title": "Secret, renamed"}}],
        "publish_content": [{"id": secret}],
        "unpublish_content": [{"id": secret, "status": "archived"}],
        "delete_content": [{"id": secret}],
        "restore_content": [{"id": secret, "version": 1}],
    }
    checked = 0
    for tool in tools:
        assert tool.output_schema is not None, tool.name
        for arguments in calls[tool.name]:
            result = await tool.call(arguments)
            jsonschema.validate(result, _closed(tool.output_schema))
            checked += 1
    assert checked == sum(len(calls[tool.name]) for tool in tools) >= 6
