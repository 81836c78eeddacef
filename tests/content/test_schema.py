"""Content input is declared once: the API's validation, the MCP tools and the OpenAPI document agree."""

from __future__ import annotations

from typing import Any

import pytest

from folionaut.content.assistant_tools import ToolError, ToolRegistry, all_tools
from folionaut.content.schema import CONTENT_CREATE, CONTENT_UPDATE, NAME_RULE
from folionaut.http.state import RUNTIME

ADMIN = "/api/v1/admin/content"


async def test_openapi_and_mcp_publish_the_one_declaration(client: Any) -> None:
    document = await (await client.get("/api/openapi.json")).json()
    assert document["components"]["schemas"]["ContentCreate"] == CONTENT_CREATE
    assert document["components"]["schemas"]["ContentUpdate"] == CONTENT_UPDATE
    tools = {tool.name: tool for tool in all_tools(client.server.app[RUNTIME].content)}
    assert tools["create_content"].input_schema["properties"] == CONTENT_CREATE["properties"]
    assert tools["create_content"].input_schema["required"] == CONTENT_CREATE["required"]
    update = dict(tools["update_content"].input_schema["properties"])
    assert update.pop("id")["type"] == "string" and update == CONTENT_UPDATE["properties"]


@pytest.mark.parametrize(("field", "value"), [
    ("type", "nl\n"), ("type", "Upper"), ("slug", "with space"), ("slug", "x" * 101), ("type", ""),
])
async def test_a_bad_name_is_refused_alike_by_the_api_and_by_mcp(
        client: Any, admin_headers: dict[str, str], field: str, value: str) -> None:
    body = {"type": "project", "slug": "fine", "data": {"title": "T"}, field: value}
    response = await client.post(ADMIN, headers=admin_headers, json=body)
    assert response.status == 400
    assert (await response.json())["error"]["fields"] == {field: [NAME_RULE]}
    registry = ToolRegistry(all_tools(client.server.app[RUNTIME].content))
    with pytest.raises(ToolError, match=f"{field}: {NAME_RULE}"):
        await registry.execute("create_content", body)
    listed = await (await client.get(ADMIN, headers=admin_headers)).json()
    assert listed["data"] == []  # nothing was stored by either


async def test_a_name_ending_in_a_newline_is_not_found_on_public_reads(client: Any) -> None:
    response = await client.get("/api/v1/content/project/nl%0A")
    assert response.status == 400
    assert (await response.json())["error"]["fields"] == {"slug": [NAME_RULE]}
