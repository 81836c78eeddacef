"""The app answers over real HTTP: probes, one content round trip, the envelope."""

from __future__ import annotations

from typing import Any


async def test_live_and_ready(client: Any) -> None:
    live = await client.get("/api/health/live")
    assert live.status == 200 and await live.json() == {"status": "ok"}
    ready = await client.get("/api/health/ready")
    assert await ready.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_create_then_public_read(client: Any, admin_headers: dict[str, str]) -> None:
    created = await client.post(
        "/api/v1/admin/content", headers=admin_headers,
        json={"type": "project", "data": {"title": "Héllo Wörld"}, "status": "published"},
    )
    assert created.status == 201
    item = (await created.json())["data"]
    assert item["slug"] == "hello-world" and item["version"] == 1
    public = await client.get("/api/v1/content/project/hello-world")
    assert (await public.json())["data"]["data"] == {"title": "Héllo Wörld"}
    assert public.headers["ETag"].startswith('W/"')
    unchanged = await client.get("/api/v1/content/project/hello-world",
                                 headers={"If-None-Match": public.headers["ETag"]})
    assert unchanged.status == 304
