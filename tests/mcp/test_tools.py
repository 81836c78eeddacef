"""The shared content tools as chat sees them: OpenAI function definitions and tool errors."""

from __future__ import annotations

from typing import Any

import pytest

from folionaut.content.assistant_tools import ToolError, ToolRegistry, all_tools, read_tools
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
    with pytest.raises(ToolError, match="Unknown tool: 'create_content'"):  # chat gets no write tools
        await registry.execute("create_content", {"type": "x", "data": {"a": 1}})
    with pytest.raises(ToolError, match="limit: Must be between 1 and 20"):
        await registry.execute("search_content", {"query": "x", "limit": 500})
    with pytest.raises(ToolError, match="extra: Unknown field"):
        await registry.execute("list_types", {"extra": True})


async def test_write_tool_errors_are_tool_errors(client: Any) -> None:
    registry = ToolRegistry(all_tools(client.server.app[RUNTIME].content, "mcp"))
    with pytest.raises(ToolError, match=r"slug: Required when data\.title is missing"):
        await registry.execute("create_content", {"type": "project", "data": {"body": "no title"}})
    with pytest.raises(ToolError, match="Must be a content id"):
        await registry.execute("delete_content", {"id": "nope-not-an-id"})
    with pytest.raises(ToolError, match="Provide at least one of"):
        await registry.execute("update_content", {"id": "content_abc"})
