"""Content behaviour over real HTTP, identical on SQLite, libSQL over HTTP and libSQL over WebSocket.

Each test runs once per backend (the ``api`` fixture), so every query the
content service runs — slug lookups, the unique index, compare-and-set
updates with their ``changes()``-guarded history rows, ordering, history,
restore, soft and hard delete — is exercised through the real libsql-client.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from folionaut.http.app import create_app
from folionaut.http.state import RUNTIME
from folionaut.runtime import EXTERNAL_CHANGE_POLL_SECONDS
from folionaut.settings import Settings

ADMIN = "/api/v1/admin/content"


async def _create(api: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await api.post(ADMIN, headers=headers, json=body)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


async def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    error = (await response.json())["error"]
    assert error["code"] == code and error["requestId"] == response.headers["X-Request-Id"]
    return error


async def test_backend_slugs_and_unique_conflicts(api: TestClient, admin_headers: dict[str, str]) -> None:
    first = await _create(api, admin_headers, type="project", data={"title": "Ünïcode Wörld!"})
    second = await _create(api, admin_headers, type="project", data={"title": "Unicode World"})
    third = await _create(api, admin_headers, type="project", data={"title": "unicode world"})
    assert [first["slug"], second["slug"], third["slug"]] == ["unicode-world", "unicode-world-2", "unicode-world-3"]
    assert first["version"] == 1 and first["status"] == "draft" and first["deletedAt"] is None
    # Same title under another type: slugs are unique per type only.
    other = await _create(api, admin_headers, type="blog", data={"title": "Unicode World"})
    assert other["slug"] == "unicode-world"

    # An explicit duplicate slug hits the unique index: 409, on libSQL as on SQLite.
    duplicate = await api.post(ADMIN, headers=admin_headers,
                               json={"type": "project", "slug": "unicode-world", "data": {"title": "x"}})
    error = await _error(duplicate, 409, "CONFLICT")
    assert "project/unicode-world" in error["message"]
    # Renaming onto a taken slug is a conflict too, and changes nothing.
    rename = await api.put(f"{ADMIN}/{second['id']}", headers=admin_headers, json={"slug": "unicode-world"})
    await _error(rename, 409, "CONFLICT")
    unchanged = await (await api.get(f"{ADMIN}/{second['id']}", headers=admin_headers)).json()
    assert unchanged["data"]["slug"] == "unicode-world-2" and unchanged["data"]["version"] == 1
    history = await (await api.get(f"{ADMIN}/{second['id']}/history", headers=admin_headers)).json()
    assert [entry["version"] for entry in history["data"]] == [1]

    # Version checks: body version and If-Match, stale → 409, current → applied.
    stale = await api.put(f"{ADMIN}/{first['id']}", headers={**admin_headers, "If-Match": 'W/"v7"'},
                          json={"status": "published"})
    await _error(stale, 409, "CONFLICT")
    fresh = await api.put(f"{ADMIN}/{first['id']}", headers={**admin_headers, "If-Match": 'W/"v1"'},
                          json={"status": "published", "data": {"title": "Unicode World", "n": 1}})
    assert fresh.status == 200 and fresh.headers["ETag"] == 'W/"v2"'
    updated = (await fresh.json())["data"]
    assert updated["version"] == 2 and updated["status"] == "published" and updated["data"]["n"] == 1
    assert updated["createdAt"] == first["createdAt"] and updated["updatedAt"] >= first["updatedAt"]


async def test_backend_public_reads_ordering_and_bundle(api: TestClient, admin_headers: dict[str, str]) -> None:
    late = await _create(api, admin_headers, type="project", data={"title": "Late"}, status="published", sortOrder=5)
    older = await _create(api, admin_headers, type="project", data={"title": "Older"}, status="published")
    newer = await _create(api, admin_headers, type="project", data={"title": "Newer"}, status="published")
    await _create(api, admin_headers, type="project", data={"title": "Hidden draft"})
    await _create(api, admin_headers, type="project", data={"title": "Old stuff"}, status="archived")
    skill = await _create(api, admin_headers, type="skill", data={"title": "Python", "level": 5},
                          status="published", sortOrder=-1)

    listing = await api.get("/api/v1/content", params={"type": "project"})
    assert listing.status == 200 and listing.headers["Cache-Control"] == "public, max-age=60"
    # sortOrder ascending, then newest first; drafts and archived items never public.
    assert [item["slug"] for item in (await listing.json())["data"]] == [newer["slug"], older["slug"], late["slug"]]
    everything = await (await api.get("/api/v1/content")).json()
    assert [item["slug"] for item in everything["data"]] == ["python", "newer", "older", "late"]

    bundle = await api.get("/api/v1/content/bundle")
    grouped = (await bundle.json())["data"]
    assert sorted(grouped) == ["project", "skill"]
    assert [item["slug"] for item in grouped["project"]] == ["newer", "older", "late"]
    assert grouped["skill"][0]["data"] == {"title": "Python", "level": 5} and grouped["skill"][0]["id"] == skill["id"]

    one = await api.get("/api/v1/content/skill/python")
    assert one.status == 200 and (await one.json())["data"]["sortOrder"] == -1
    await _error(await api.get("/api/v1/content/project/hidden-draft"), 404, "NOT_FOUND")

    # The admin list sees every status, filters by it, and pages.
    admin_all = await (await api.get(ADMIN, headers=admin_headers, params={"type": "project"})).json()
    assert len(admin_all["data"]) == 5
    drafts = await (await api.get(ADMIN, headers=admin_headers, params={"status": "draft"})).json()
    assert [item["slug"] for item in drafts["data"]] == ["hidden-draft"]
    page = await (await api.get(ADMIN, headers=admin_headers, params={"limit": "2", "offset": "1"})).json()
    assert [item["slug"] for item in page["data"]] == ["old-stuff", "hidden-draft"]


async def test_backend_history_restore_and_deletes(api: TestClient, admin_headers: dict[str, str]) -> None:
    item = await _create(api, admin_headers, type="project", data={"title": "Rover", "stage": "one"},
                         status="published")
    url = f"{ADMIN}/{item['id']}"
    for stage in ("two", "three"):
        response = await api.put(url, headers=admin_headers, json={"data": {"title": "Rover", "stage": stage}})
        assert response.status == 200
    restored = await api.post(f"{url}/restore", headers=admin_headers, json={"version": 1})
    assert restored.status == 200
    assert (await restored.json())["data"]["version"] == 4
    assert (await restored.json())["data"]["data"] == {"title": "Rover", "stage": "one"}

    history = (await (await api.get(f"{url}/history", headers=admin_headers)).json())["data"]
    assert [(h["version"], h["changeType"], h["data"]["stage"]) for h in history] == [
        (4, "restored", "one"), (3, "updated", "three"), (2, "updated", "two"), (1, "created", "one")]
    assert history[0]["changeSummary"] == "Restored version 1" and history[1]["changeSummary"] == "Updated data"
    assert {h["contentId"] for h in history} == {item["id"]} and {h["changedBy"] for h in history} == {"admin"}
    paged = await (await api.get(f"{url}/history", headers=admin_headers, params={"limit": "1", "offset": "2"})).json()
    assert [h["version"] for h in paged["data"]] == [2]
    missing = await api.post(f"{url}/restore", headers=admin_headers, json={"version": 99})
    await _error(missing, 404, "NOT_FOUND")

    # Soft delete: gone from public reads and the default admin list, still readable by id, with history.
    deleted = await api.delete(url, headers=admin_headers)
    assert deleted.status == 200 and await deleted.json() == {"success": True}
    await _error(await api.get("/api/v1/content/project/rover"), 404, "NOT_FOUND")
    assert (await (await api.get(ADMIN, headers=admin_headers)).json())["data"] == []
    with_deleted = await (await api.get(ADMIN, headers=admin_headers, params={"includeDeleted": "true"})).json()
    assert [row["id"] for row in with_deleted["data"]] == [item["id"]]
    soft = (await (await api.get(url, headers=admin_headers)).json())["data"]
    assert soft["deletedAt"] is not None and soft["version"] == 5
    await _error(await api.put(url, headers=admin_headers, json={"status": "draft"}), 404, "NOT_FOUND")

    # Restoring undeletes.
    back = await api.post(f"{url}/restore", headers=admin_headers, json={"version": 3})
    body = (await back.json())["data"]
    assert body["deletedAt"] is None and body["version"] == 6 and body["data"]["stage"] == "three"
    assert (await api.get("/api/v1/content/project/rover")).status == 200

    # Hard delete: the row and its history are gone; the slug is free again.
    hard = await api.delete(url, headers=admin_headers, params={"hard": "true"})
    assert hard.status == 200
    await _error(await api.get(url, headers=admin_headers), 404, "NOT_FOUND")
    await _error(await api.get(f"{url}/history", headers=admin_headers), 404, "NOT_FOUND")
    await _error(await api.get("/api/v1/content/project/rover"), 404, "NOT_FOUND")
    again = await _create(api, admin_headers, type="project", data={"title": "Rover"})
    assert again["slug"] == "rover" and again["id"] != item["id"]


async def test_backend_concurrent_updates_get_distinct_versions(
    api: TestClient, admin_headers: dict[str, str]
) -> None:
    item = await _create(api, admin_headers, type="project", data={"title": "Busy", "writer": -1})
    url = f"{ADMIN}/{item['id']}"

    async def put(writer: int) -> dict[str, Any]:
        response = await api.put(url, headers=admin_headers, json={"data": {"title": "Busy", "writer": writer}})
        assert response.status == 200, await response.text()
        return (await response.json())["data"]

    results = await asyncio.gather(*(put(writer) for writer in range(20)))
    # Compare-and-set: each writer got its own version, none lost, none duplicated.
    assert sorted(result["version"] for result in results) == list(range(2, 22))
    final = (await (await api.get(url, headers=admin_headers)).json())["data"]
    assert final["version"] == 21
    last_writer = max(results, key=lambda result: result["version"])
    assert final["data"] == last_writer["data"]
    # The history row is guarded by changes(): exactly one per version that really landed.
    history = (await (await api.get(f"{url}/history", headers=admin_headers, params={"limit": "100"})).json())["data"]
    assert sorted(entry["version"] for entry in history) == list(range(1, 22))
    by_version = {entry["version"]: entry["data"] for entry in history}
    assert all(by_version[result["version"]] == result["data"] for result in results)


async def test_backend_idempotent_create_runs_once(api: TestClient, admin_headers: dict[str, str]) -> None:
    headers = {**admin_headers, "Idempotency-Key": "create-once-1"}
    body = {"type": "project", "data": {"title": "Once"}}
    first = await api.post(ADMIN, headers=headers, json=body)
    replay = await api.post(ADMIN, headers=headers, json=body)
    assert first.status == replay.status == 201
    assert replay.headers.get("X-Idempotent-Replayed") == "true"
    assert (await replay.json()) == (await first.json())
    listing = (await (await api.get(ADMIN, headers=admin_headers)).json())["data"]
    assert [row["slug"] for row in listing] == ["once"]


async def test_backend_cursor_paging_and_own_writes_keep_the_cache(
        aiohttp_client: Any, backend_settings: Settings, admin_headers: dict[str, str]) -> None:
    app = create_app(backend_settings)
    api = await aiohttp_client(app)
    for number in range(23):
        created = await api.post(ADMIN, headers=admin_headers, json={
            "type": ("project", "post")[number % 2], "slug": f"item-{number}", "status": "published",
            "sortOrder": number % 4, "data": {"title": f"Item {number}"}})
        assert created.status == 201
    # Keyset pages (the UNION ALL seek) on this backend: every item once, in list order.
    seen, cursor = [], None
    for _ in range(10):  # bounded
        query = f"?limit=5&cursor={cursor}" if cursor else "?limit=5"
        page = await (await api.get(ADMIN + query, headers=admin_headers)).json()
        seen += page["data"]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    whole = (await (await api.get(ADMIN + "?limit=100", headers=admin_headers)).json())["data"]
    assert [item["id"] for item in seen] == [item["id"] for item in whole] and len(whole) == 23

    # A write by this service drops what it touched; the watch for other processes' writes (which
    # sees the counter move) knows the write was ours and leaves the other cached reads alone.
    assert (await api.get("/api/v1/content/post/item-1")).status == 200
    metrics = app[RUNTIME].metrics
    item_id = next(item["id"] for item in whole if item["slug"] == "item-2")
    assert (await api.put(f"{ADMIN}/{item_id}", headers=admin_headers, json={"sortOrder": 9})).status == 200
    await asyncio.sleep(EXTERNAL_CHANGE_POLL_SECONDS * 2.5)
    builds = metrics.registry.get_sample_value("published_builds_total", {"kind": "item"})
    assert (await api.get("/api/v1/content/post/item-1")).status == 200
    assert metrics.registry.get_sample_value("published_builds_total", {"kind": "item"}) == builds
