"""What the overview and backups screens read: the service at a glance, and a dump download."""

from __future__ import annotations

import gzip
import re
import sqlite3
from pathlib import Path
from typing import Any

from folionaut.settings import Settings
from tests.admin_ui.conftest import sign_in
from tests.conftest import ADMIN_KEY

CONTENT = "/api/v1/admin/content"
ADMIN = {"X-Admin-Key": ADMIN_KEY}


async def test_overview_counts_items_and_lists_recent_changes(client: Any) -> None:
    for status in ("draft", "published", "published"):
        await client.post(CONTENT, headers=ADMIN, json={"type": "project", "status": status, "data": {"title": status}})
    created = await client.post(CONTENT, headers=ADMIN, json={"type": "skill", "data": {"title": "Rust"}})
    skill = (await created.json())["data"]
    await client.delete(f"{CONTENT}/{skill['id']}", headers=ADMIN)

    response = await client.get("/api/v1/admin/overview", headers=ADMIN, params={"recent": "3"})
    assert response.status == 200
    overview = (await response.json())["data"]
    assert overview["status"] == "ready" and overview["checks"] == {"database": "ok"}
    assert overview["llm"] == {"chatEnabled": True, "provider": "offline", "model": None, "breaker": "closed"}
    assert overview["counts"] == [
        {"type": "project", "status": "draft", "deleted": False, "count": 1},
        {"type": "project", "status": "published", "deleted": False, "count": 2},
        {"type": "skill", "status": "draft", "deleted": True, "count": 1},
    ]
    recent = overview["recentChanges"]
    assert [(change["changeType"], change["type"], change["slug"]) for change in recent] == [
        ("deleted", "skill", "rust"), ("created", "skill", "rust"), ("created", "project", "published-2")]
    assert (await client.get("/api/v1/admin/overview")).status == 401


async def test_overview_shows_redis_and_a_switched_off_chat(make_client: Any, settings: Settings,
                                                            redis_url: str) -> None:
    client = await make_client(settings.replace(redis_url=redis_url, feature_ai_chat=False))
    overview = (await (await client.get("/api/v1/admin/overview", headers=ADMIN)).json())["data"]
    assert overview["checks"] == {"database": "ok", "redis": "ok"}
    assert overview["llm"]["chatEnabled"] is False and overview["llm"]["breaker"] is None


async def test_backup_downloads_a_gzipped_dump_that_restores(client: Any, settings: Settings, tmp_path: Path) -> None:
    await client.post(CONTENT, headers=ADMIN, json={"type": "project", "data": {"title": "Backed up"}})
    signed_in = await sign_in(client)  # the browser downloads it with its cookie (a GET: no CSRF token)
    response = await client.get("/api/v1/admin/backup", headers=signed_in.headers(csrf=False))
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/gzip"
    assert re.fullmatch(r'attachment; filename="folionaut-\d{8}-\d{6}\.sql\.gz"',
                        response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    text = gzip.decompress(await response.read()).decode()
    assert text.startswith("-- Folionaut dump") and text.rstrip().endswith("COMMIT;")
    assert "backed-up" in text
    assert "CREATE TABLE folionaut_admin_sessions" in text
    assert "INSERT INTO folionaut_admin_sessions" not in text  # a backup never carries a sign-in
    restored = tmp_path / "restored.db"
    with sqlite3.connect(restored) as db:
        db.executescript(text)
        assert db.execute("SELECT slug FROM content").fetchall() == [("backed-up",)]
    assert (await client.get("/api/v1/admin/backup")).status == 401
