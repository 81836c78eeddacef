"""The official 1.x `mcp` SDK client (in a venv of its own) over both transports."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ADMIN_KEY
from tests.mcp.conftest import REPO

SCRIPT = Path(__file__).with_name("sdk1_client.py")


async def _run(sdk1_python: str, *args: str) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sdk1_python, str(SCRIPT), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()[-3000:]
    return json.loads(stdout)


def _check(report: dict[str, Any]) -> None:
    assert report["protocolVersion"] == "2025-11-25" and report["server"] == "folionaut"
    assert report["tools"] == sorted(["list_types", "list_content", "get_content", "search_content",
                                      "create_content", "update_content", "delete_content"])
    calls = report["calls"]
    assert all(not calls[name]["isError"] for name in calls if name != "invalid")
    assert calls["invalid"]["isError"] and "data" in calls["invalid"]["value"]
    assert calls["update_content"]["value"]["item"]["sortOrder"] == 5
    assert calls["list_types"]["value"]["types"] == [{"type": "project", "count": 1}]
    assert calls["search_content"]["value"]["results"][0]["slug"] == "sdk-one"
    assert "folionaut://content/project/sdk-one" in report["resources"]
    assert report["templates"] == ["folionaut://content/{type}", "folionaut://content/{type}/{slug}"]
    assert report["read"]["folionaut://content/project/sdk-one"]["data"]["title"] == "SDK One"
    assert [item["slug"] for item in report["read"]["folionaut://content"]["project"]] == ["sdk-one"]
    assert report["prompts"] == ["compare_skills", "explain_project", "summarize_portfolio"]
    assert "written by the 1.x client" in report["promptTexts"]["explain_project"]


async def test_sdk1_over_http(client: Any, admin_headers: dict[str, str], sdk1_python: str) -> None:
    report = await _run(sdk1_python, "http", str(client.make_url("/api/mcp")), ADMIN_KEY)
    _check(report)
    history = await client.get(f"/api/v1/admin/content/{report['itemId']}/history", headers=admin_headers)
    entries = (await history.json())["data"]
    assert [(e["changeType"], e["changedBy"]) for e in entries] == [
        ("deleted", "mcp"), ("updated", "mcp"), ("created", "mcp")]
    assert (await client.get("/api/v1/content/project/sdk-one")).status == 404


async def test_sdk1_over_stdio(data_dir: Path, sdk1_python: str) -> None:
    report = await _run(sdk1_python, "stdio", sys.executable, str(REPO), str(data_dir))
    _check(report)
    with sqlite3.connect(data_dir / "folionaut.db") as db:
        rows = db.execute("SELECT change_type, changed_by FROM content_history WHERE content_id = ? "
                          "ORDER BY version", (report["itemId"],)).fetchall()
    assert rows == [("created", "mcp"), ("updated", "mcp"), ("deleted", "mcp")]
