"""Drive Folionaut with the official 1.x `mcp` SDK; run by tests/mcp/test_sdk1.py in the SDK-1.x venv.

Usage: python sdk1_client.py http URL ADMIN_KEY | stdio PYTHON REPO DATA_DIR
Prints one JSON object describing what the server answered.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from typing import Any

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from pydantic import AnyUrl


def _json(result: Any) -> Any:
    return {"isError": bool(result.isError), "value": json.loads(result.content[0].text) if not result.isError
            else result.content[0].text}


async def exercise(session: ClientSession) -> dict[str, Any]:
    init = await session.initialize()
    out: dict[str, Any] = {"protocolVersion": init.protocolVersion, "server": init.serverInfo.name}
    await session.send_ping()
    out["tools"] = sorted(tool.name for tool in (await session.list_tools()).tools)
    created = _json(await session.call_tool("create_content", {
        "type": "project", "slug": "sdk-one", "status": "published",
        "data": {"title": "SDK One", "description": "written by the 1.x client"}}))
    item_id = created["value"]["item"]["id"]
    calls = {
        "create_content": created,
        "update_content": _json(await session.call_tool("update_content", {"id": item_id, "sortOrder": 5})),
        "list_types": _json(await session.call_tool("list_types", {})),
        "list_content": _json(await session.call_tool("list_content", {"type": "project"})),
        "get_content": _json(await session.call_tool("get_content", {"type": "project", "slug": "sdk-one"})),
        "search_content": _json(await session.call_tool("search_content", {"query": "written"})),
        "invalid": _json(await session.call_tool("create_content", {"type": "project"})),
    }
    out["resources"] = sorted(str(r.uri) for r in (await session.list_resources()).resources)
    out["templates"] = sorted(t.uriTemplate for t in (await session.list_resource_templates()).resourceTemplates)
    out["read"] = {uri: json.loads((await session.read_resource(AnyUrl(uri))).contents[0].text)
                   for uri in ("folionaut://content", "folionaut://content/project",
                               "folionaut://content/project/sdk-one")}
    out["prompts"] = sorted(p.name for p in (await session.list_prompts()).prompts)
    out["promptTexts"] = {
        "summarize_portfolio": (await session.get_prompt("summarize_portfolio")).messages[0].content.text,
        "explain_project": (await session.get_prompt("explain_project", {"slug": "sdk-one"})).messages[0].content.text,
        "compare_skills": (await session.get_prompt("compare_skills")).messages[0].content.text,
    }
    calls["delete_content"] = _json(await session.call_tool("delete_content", {"id": item_id}))
    out["calls"] = calls
    out["itemId"] = item_id
    return out


async def main(argv: list[str]) -> dict[str, Any]:
    async with AsyncExitStack() as stack:
        if argv[0] == "http":
            http = await stack.enter_async_context(create_mcp_http_client(headers={"X-Admin-Key": argv[2]}))
            read, write, _ = await stack.enter_async_context(streamable_http_client(argv[1], http_client=http))
        else:
            params = StdioServerParameters(command=argv[1], args=["-m", "folionaut", "mcp"], cwd=argv[2],
                                           env={"FOLIONAUT_DATA_DIR": argv[3], "FOLIONAUT_ENV": "test"})
            read, write = await stack.enter_async_context(stdio_client(params))
        session = await stack.enter_async_context(ClientSession(read, write))
        return await asyncio.wait_for(exercise(session), 60)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1:]))))
