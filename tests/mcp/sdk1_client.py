"""Drive Folionaut with an official 1.x `mcp` SDK (1.2.x or the newest 1.x); run in that SDK's own virtualenv.

Usage: python sdk1_client.py sse URL TOKEN | http URL TOKEN | stdio PYTHON DATA_DIR [--read-only]
(sse: the HTTP+SSE transport, all 1.2.x has; http: Streamable HTTP, 1.8 on; TOKEN goes in Authorization: Bearer.)
Prints one JSON object describing what the server answered; written against the API both versions share.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from importlib.metadata import version
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl


def _result(result: Any) -> dict[str, Any]:
    text = result.content[0].text
    return {"isError": bool(result.isError), "value": text if result.isError else json.loads(text),
            "structured": getattr(result, "structuredContent", None) is not None}


async def _call(session: ClientSession, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """A tool call's result, or the JSON-RPC error that refused it."""
    try:
        return _result(await session.call_tool(name, arguments))
    except McpError as exc:
        return {"refused": exc.error.message, "code": exc.error.code}


async def exercise(session: ClientSession) -> dict[str, Any]:
    init = await session.initialize()
    out: dict[str, Any] = {"sdk": version("mcp"), "protocolVersion": init.protocolVersion,
                           "server": init.serverInfo.name}
    await session.send_ping()
    tools = (await session.list_tools()).tools
    out["tools"] = sorted(tool.name for tool in tools)
    out["toolTitles"] = sorted({str(getattr(tool, "title", None)) for tool in tools})
    out["outputSchemas"] = sorted(tool.name for tool in tools if getattr(tool, "outputSchema", None))
    calls: dict[str, Any] = {
        "list_types": await _call(session, "list_types", {}),
        "list_content": await _call(session, "list_content", {"type": "project", "limit": 1}),
        "get_draft": await _call(session, "get_content", {"type": "project", "slug": "secret"}),
        "search": await _call(session, "search_content", {"query": "orbital"}),
    }
    if not calls["list_content"].get("isError", True):
        cursor = calls["list_content"]["value"].get("nextCursor")
        calls["list_content_page2"] = await _call(session, "list_content", {"type": "project", "limit": 1,
                                                                              "cursor": cursor})
    draft_id = calls["get_draft"]["value"]["item"]["id"] if "value" in calls["get_draft"] else "content_x"
    calls["get_history"] = await _call(session, "get_history", {"id": draft_id})
    out["resources"] = sorted(str(r.uri) for r in (await session.list_resources()).resources)
    out["read"] = json.loads((await session.read_resource(AnyUrl("folionaut://content/project/secret")))
                             .contents[0].text)
    out["prompts"] = sorted(p.name for p in (await session.list_prompts()).prompts)
    out["explained"] = (await session.get_prompt("explain_project", {"slug": "rocket"})).messages[0].content.text
    # Writes: each either done (write access) or refused with a JSON-RPC error (read access).
    calls["create_content"] = created = await _call(session, "create_content", {
        "type": "project", "slug": "sdk-made", "data": {"title": "SDK Made", "description": "by a 1.x client"}})
    made = created["value"]["item"]["id"] if "value" in created else "content_x"
    calls["publish_content"] = await _call(session, "publish_content", {"id": made})
    calls["update_content"] = await _call(session, "update_content", {"id": made, "data": {"title": "SDK Changed"}})
    calls["restore_content"] = await _call(session, "restore_content", {"id": made, "version": 1})
    calls["unpublish_content"] = await _call(session, "unpublish_content", {"id": made, "status": "archived"})
    calls["delete_content"] = await _call(session, "delete_content", {"id": made})
    calls["invalid"] = await _call(session, "create_content", {"type": "project"})
    out["calls"] = calls
    out["madeId"] = made
    return out


async def main(argv: list[str]) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        if argv[0] == "sse":
            read, write = await stack.enter_async_context(
                sse_client(argv[1], headers={"Authorization": f"Bearer {argv[2]}"}))
        elif argv[0] == "http":
            from mcp.client.streamable_http import streamable_http_client
            from mcp.shared._httpx_utils import create_mcp_http_client

            http = await stack.enter_async_context(
                create_mcp_http_client(headers={"Authorization": f"Bearer {argv[2]}"}))
            read, write, _ = await stack.enter_async_context(streamable_http_client(argv[1], http_client=http))
        else:
            params = StdioServerParameters(command=argv[1], args=["-m", "folionaut", "mcp", *argv[3:]],
                                           env={"FOLIONAUT_DATA_DIR": argv[2], "FOLIONAUT_ENV": "test"})
            read, write = await stack.enter_async_context(stdio_client(params))
        session = await stack.enter_async_context(ClientSession(read, write))
        return await asyncio.wait_for(exercise(session), 60)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
