"""The official 1.x `mcp` SDKs, each in its prepared virtualenv: 1.2.x (speaks only 2024-11-05, HTTP+SSE)
and the newest 1.x (Streamable HTTP), over HTTP with a read and a write token, and over stdio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.access.conftest import ADMIN, create_token
from tests.mcp.conftest import client_python, run_client, seed_content

#: client virtualenv -> (the protocol it negotiates, its HTTP transport and endpoint)
CLIENTS = {"mcp-1.2": ("2024-11-05", "sse", "/api/mcp/sse"), "mcp-1": ("2025-11-25", "http", "/api/mcp")}
READ_TOOLS = {"list_types", "list_content", "get_content", "search_content", "get_history"}
WRITE_TOOLS = {"create_content", "update_content", "delete_content", "restore_content", "publish_content",
               "unpublish_content"}
WRITES = ("create_content", "publish_content", "update_content", "restore_content", "unpublish_content",
          "delete_content")


def check_reads(report: dict[str, Any], protocol: str) -> None:
    """What every credential with the read scope sees: the owner's view, shaped for the negotiated revision."""
    assert report["protocolVersion"] == protocol and report["server"] == "folionaut"
    calls = report["calls"]
    types = {entry["type"]: entry for entry in calls["list_types"]["value"]["types"]}
    assert types["project"]["count"] == 3 and types["project"]["statuses"] == {"draft": 1, "published": 2}
    first, second = calls["list_content"]["value"], calls["list_content_page2"]["value"]
    assert len(first["items"]) == len(second["items"]) == 1 and first["items"] != second["items"]
    assert calls["get_draft"]["value"]["item"]["status"] == "draft"  # drafts are visible to the owner's reads
    assert [entry["changeType"] for entry in calls["get_history"]["value"]["entries"]] == ["created"]
    assert [hit["slug"] for hit in calls["search"]["value"]["results"]] == ["rocket"]
    assert "folionaut://content/project/secret" in report["resources"]
    assert report["read"]["status"] == "draft"
    assert report["prompts"] == ["compare_skills", "explain_project", "summarize_portfolio"]
    assert "orbital maths" in report["explained"]
    assert calls["invalid"].get("isError") is True or "refused" in calls["invalid"]
    if protocol == "2024-11-05":  # no titles, output schemas or structured content in that revision
        assert report["toolTitles"] == ["None"] and report["outputSchemas"] == []
        assert not calls["list_types"]["structured"]
    else:
        assert "None" not in report["toolTitles"] and set(report["outputSchemas"]) == set(report["tools"])
        assert calls["list_types"]["structured"]


def check_refused_writes(report: dict[str, Any]) -> None:
    assert set(report["tools"]) == READ_TOOLS  # write tools are not even listed
    for name in WRITES:
        refused = report["calls"][name]
        assert refused.get("code") == -32602 and "needs write access" in refused["refused"], (name, refused)


def check_writes(report: dict[str, Any]) -> None:
    assert set(report["tools"]) == READ_TOOLS | WRITE_TOOLS
    calls = report["calls"]
    for name in WRITES:
        assert calls[name]["isError"] is False, (name, calls[name])
    assert calls["publish_content"]["value"]["item"]["status"] == "published"
    assert calls["restore_content"]["value"]["item"]["data"]["title"] == "SDK Made"
    assert calls["unpublish_content"]["value"]["item"]["status"] == "archived"
    assert calls["invalid"]["isError"] is True and "data" in calls["invalid"]["value"]


async def _history(client: Any, content_id: str) -> list[tuple[str, str]]:
    response = await client.get(f"/api/v1/admin/content/{content_id}/history", headers=ADMIN)
    return [(entry["changeType"], entry["changedBy"]) for entry in (await response.json())["data"]][::-1]


async def _made(client: Any) -> list[str]:
    listed = await client.get("/api/v1/admin/content?includeDeleted=true", headers=ADMIN)
    return [item["slug"] for item in (await listed.json())["data"] if item["slug"] == "sdk-made"]


@pytest.mark.parametrize("scope", ["read", "write"])
@pytest.mark.parametrize("name", list(CLIENTS))
async def test_over_http_with_a_token(client: Any, name: str, scope: str) -> None:
    python = client_python(name)
    protocol, transport, path = CLIENTS[name]
    await seed_content(client, ADMIN)
    token_name = f"{name}-{scope}".replace(".", "-")
    token = await create_token(client, token_name, scope)
    report = await run_client(python, transport, str(client.make_url(path)), token)
    check_reads(report, protocol)
    if scope == "read":
        check_refused_writes(report)
        assert await _made(client) == []  # nothing was written
    else:
        check_writes(report)
        assert await _history(client, report["madeId"]) == [
            (change, f"token:{token_name}") for change in ("created", "updated", "updated", "restored", "updated",
                                                           "deleted")]


@pytest.mark.parametrize("read_only", [False, True], ids=["owner", "read-only"])
@pytest.mark.parametrize("name", list(CLIENTS))
async def test_over_stdio(client: Any, data_dir: Path, python_executable: str, name: str, read_only: bool) -> None:
    python = client_python(name)
    await seed_content(client, ADMIN)
    report = await run_client(python, "stdio", python_executable, str(data_dir), *(["--read-only"] * read_only))
    check_reads(report, CLIENTS[name][0])
    if read_only:
        check_refused_writes(report)
        assert await _made(client) == []
    else:
        check_writes(report)
        assert {by for _, by in await _history(client, report["madeId"])} == {"mcp"}
