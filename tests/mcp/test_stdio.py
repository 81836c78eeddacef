"""`folionaut mcp` as a real subprocess over stdio: the 2.x SDK client, raw JSON-RPC and the feature switch."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from tests.mcp.conftest import REPO

TIMEOUT = 60


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {"FOLIONAUT_DATA_DIR": str(data_dir), "FOLIONAUT_ENV": "test", "LOG_LEVEL": "info", **extra}


def _params(data_dir: Path, *flags: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "folionaut", "mcp", *flags], env=_env(data_dir),
                                 cwd=str(REPO))


def _json(result: Any) -> Any:
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


def _history(data_dir: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(data_dir / "folionaut.db") as db:
        return db.execute("SELECT content_id, change_type, changed_by FROM content_history "
                          "ORDER BY created_at, version").fetchall()


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_sdk_client_over_stdio(data_dir: Path, mode: str) -> None:
    async with Client(_params(data_dir), mode=mode, cache=None, read_timeout_seconds=TIMEOUT) as mcp:
        assert mcp.protocol_version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
        tools = {tool.name for tool in (await mcp.list_tools()).tools}
        assert {"list_types", "create_content", "update_content", "delete_content"} <= tools

        project = _json(await mcp.call_tool("create_content", {
            "type": "project", "slug": "stdio-demo", "status": "published",
            "data": {"title": "Stdio Demo", "description": "made over a pipe"}}))["item"]
        skill = _json(await mcp.call_tool("create_content", {
            "type": "skill", "status": "published", "data": {"title": "Pipes"}}))["item"]
        assert skill["slug"] == "pipes"
        _json(await mcp.call_tool("update_content", {"id": project["id"], "sortOrder": 3}))
        _json(await mcp.call_tool("delete_content", {"id": skill["id"]}))

        assert _json(await mcp.call_tool("list_types", {})) == {
            "types": [{"type": "project", "count": 1, "statuses": {"published": 1}}]}
        assert _json(await mcp.call_tool("list_content", {}))["items"][0]["slug"] == "stdio-demo"
        assert _json(await mcp.call_tool("get_content", {"type": "project", "slug": "stdio-demo"}))["item"][
            "sortOrder"] == 3
        assert [r["slug"] for r in _json(await mcp.call_tool("search_content", {"query": "pipe"}))["results"]] == [
            "stdio-demo"]
        failed = await mcp.call_tool("update_content", {"id": "content_nope", "status": "draft"})
        assert failed.is_error and "not found" in failed.content[0].text

        for uri in ("folionaut://content", "folionaut://content/project", "folionaut://content/project/stdio-demo"):
            assert "Stdio Demo" in (await mcp.read_resource(uri)).contents[0].text
        assert len((await mcp.list_resource_templates()).resource_templates) == 2
        assert {str(r.uri) for r in (await mcp.list_resources()).resources} >= {"folionaut://content/project"}
        assert "made over a pipe" in (await mcp.get_prompt("explain_project", {"slug": "stdio-demo"})).messages[
            0].content.text
        assert (await mcp.get_prompt("summarize_portfolio")).messages
        assert (await mcp.get_prompt("compare_skills", {"focus": "plumbing"})).messages

    history = _history(data_dir)
    assert [(row[1], row[2]) for row in history] == [
        ("created", "mcp"), ("created", "mcp"), ("updated", "mcp"), ("deleted", "mcp")]


def _run_raw(data_dir: Path, lines: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "folionaut", "mcp"], input="".join(line + "\n" for line in lines),
                          capture_output=True, text=True, timeout=TIMEOUT, cwd=REPO, env=_env(data_dir, **env))


def test_raw_stdio_stdout_carries_only_protocol_messages(data_dir: Path) -> None:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-03-26", "capabilities": {},
                       "clientInfo": {"name": "raw", "version": "0"}}}
    done = _run_raw(data_dir, [
        '{"jsonrpc": "2.0", "id": 0, "method": "tools/list"}',  # before initialize
        json.dumps(init),
        '{"jsonrpc": "2.0", "method": "notifications/initialized"}',
        "{not json",
        '{"jsonrpc": "2.0", "id": 2, "method": "no/such/method"}',
        '[{"jsonrpc": "2.0", "id": 3, "method": "ping"}, {"jsonrpc": "2.0", "id": 4, "method": "prompts/list"}]',
        '{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "no_such_tool"}}',
        '{"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "get_content", "arguments": {}}}',
    ])
    assert done.returncode == 0, done.stderr
    replies = [json.loads(line) for line in done.stdout.splitlines()]  # every stdout line is JSON-RPC
    assert replies[0]["id"] == 0 and replies[0]["error"]["code"] == -32600
    assert replies[1]["result"]["protocolVersion"] == "2025-03-26"
    assert replies[2] == {"jsonrpc": "2.0", "id": None,
                          "error": {"code": -32700, "message": "Parse error: the message is not valid JSON"}}
    assert replies[3]["error"]["code"] == -32601
    assert [reply["id"] for reply in replies[4]] == [3, 4]  # 2025-03-26 allows batches
    assert replies[5]["error"]["code"] == -32602
    assert replies[6]["result"]["isError"] is True
    assert "Give the item's id, or its type and slug" in replies[6]["result"]["content"][0]["text"]
    assert len(replies) == 7
    assert "serving MCP on stdio" in done.stderr  # logs went to stderr


def test_disabled_feature_exits_2_with_one_line(data_dir: Path) -> None:
    done = _run_raw(data_dir, [], FEATURE_MCP_SERVER="false")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == ["folionaut: MCP is disabled (FEATURE_MCP_SERVER=false)"]


async def test_read_only_stdio_offers_and_allows_only_reads(data_dir: Path) -> None:
    async with Client(_params(data_dir), mode="legacy", cache=None, read_timeout_seconds=TIMEOUT) as owner:
        draft = _json(await owner.call_tool("create_content", {"type": "post", "data": {"title": "Draft"}}))["item"]
    async with Client(_params(data_dir, "--read-only"), mode="legacy", cache=None,
                      read_timeout_seconds=TIMEOUT) as mcp:
        tools = {tool.name for tool in (await mcp.list_tools()).tools}
        assert tools == {"list_types", "list_content", "get_content", "search_content", "get_history"}
        assert _json(await mcp.call_tool("get_content", {"id": draft["id"]}))["item"]["status"] == "draft"
        with pytest.raises(MCPError) as refused:
            await mcp.call_tool("delete_content", {"id": draft["id"]})
        assert "needs write access" in refused.value.error.message
    assert [(change, by) for _, change, by in _history(data_dir)] == [("created", "mcp")]
