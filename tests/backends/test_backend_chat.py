"""Search and chat on every backend: the FTS5 index behind search_published (what the chat
tools and the offline responder use), and offline chat storing sessions and messages.

No LLM key is set, so chat answers from the offline responder, which searches
the published content: the answer proves the search ran on that backend.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from folionaut.core.clock import ManualClock
from folionaut.http.state import RUNTIME
from folionaut.settings import Settings

ADMIN = "/api/v1/admin/content"
SESSIONS = "/api/v1/admin/chat/sessions"


async def _create(api: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await api.post(ADMIN, headers=headers, json=body)
    assert response.status == 201, await response.text()
    return (await response.json())["data"]


async def test_backend_search_published_follows_every_change(api: TestClient, admin_headers: dict[str, str]) -> None:
    service = api.app[RUNTIME].content
    rover = await _create(api, admin_headers, type="project", status="published",
                          data={"title": "Mars Rover", "description": "Autonomous navigation in Rust"})
    await _create(api, admin_headers, type="blog", status="published",
                  data={"title": "Why I like Rust", "body": "Ownership explained for the rover team"})
    await _create(api, admin_headers, type="project", data={"title": "Rust draft"})  # drafts are never found

    found = await service.search_published("rust", 5)
    assert sorted(item.slug for item in found) == ["mars-rover", "why-i-like-rust"]
    assert (await service.search_published("rover", 5))[0].slug == "mars-rover"  # the title weighs most
    assert [item.slug for item in await service.search_published("navig", 5)] == ["mars-rover"]  # prefix match
    assert await service.search_published('"; DROP TABLE content; --', 5) == []  # user text is never FTS syntax
    assert len(await service.search_published("rust", 1)) == 1

    # The index follows updates (triggers run on libSQL as on SQLite) and soft deletes.
    update = await api.put(f"{ADMIN}/{rover['id']}", headers=admin_headers,
                           json={"data": {"title": "Mars Rover", "description": "Path planning in Zig"}})
    assert update.status == 200
    assert [item.slug for item in await service.search_published("zig", 5)] == ["mars-rover"]
    assert [item.slug for item in await service.search_published("rust", 5)] == ["why-i-like-rust"]
    assert (await api.delete(f"{ADMIN}/{rover['id']}", headers=admin_headers)).status == 200
    assert await service.search_published("zig", 5) == []
    assert sorted(types for types in await service.published_types()) == [("blog", 1)]


async def test_backend_offline_chat_stores_sessions_and_messages(
    make_client: Any, backend_settings: Settings, admin_headers: dict[str, str]
) -> None:
    clock = ManualClock()
    api = await make_client(backend_settings, clock=clock)
    await _create(api, admin_headers, type="project", status="published",
                  data={"title": "Weather Station", "description": "Sensors on a Raspberry Pi"})

    first = await api.post("/api/v1/chat", json={"message": "Tell me about the weather station", "visitorId": "v-1"},
                           headers={"User-Agent": "backend-test/1.0"})
    assert first.status == 200, await first.text()
    reply = await first.json()
    assert reply["sessionId"].startswith("sess_") and reply["message"]["role"] == "assistant"
    assert "Weather Station" in reply["message"]["content"]  # found through search_published
    clock.advance(1)
    second = await (await api.post("/api/v1/chat", json={"message": "raspberry", "visitorId": "v-1"})).json()
    assert second["sessionId"] == reply["sessionId"]  # one active session per visitor
    clock.advance(1)
    other = await (await api.post("/api/v1/chat", json={"message": "hello", "visitorId": "v-2"})).json()
    assert other["sessionId"] != reply["sessionId"]

    sessions = (await (await api.get(SESSIONS, headers=admin_headers)).json())["data"]
    assert [s["id"] for s in sessions] == [other["sessionId"], reply["sessionId"]]  # most recently active first
    mine = sessions[1]
    assert mine["visitorId"] == "v-1" and mine["messageCount"] == 4 and mine["status"] == "active"
    assert mine["userAgent"] == "backend-test/1.0" and mine["ipHash"] and "127.0.0.1" not in mine["ipHash"]

    detail = (await (await api.get(f"{SESSIONS}/{reply['sessionId']}", headers=admin_headers)).json())["data"]
    messages = detail["messages"]
    assert [(m["role"], m["model"]) for m in messages] == [("user", None), ("assistant", "local")] * 2
    assert messages[0]["content"] == "Tell me about the weather station"
    assert messages[1]["id"] == reply["message"]["id"] and messages[3]["content"] == second["message"]["content"]

    # Ending a session: status ended, and the visitor's next message opens a new one.
    ended = await api.delete(f"{SESSIONS}/{reply['sessionId']}", headers=admin_headers)
    assert ended.status == 200 and await ended.json() == {"success": True}
    active = (await (await api.get(SESSIONS, headers=admin_headers, params={"status": "active"})).json())["data"]
    assert [s["id"] for s in active] == [other["sessionId"]]
    fresh = await (await api.post("/api/v1/chat", json={"message": "sensors", "visitorId": "v-1"})).json()
    assert fresh["sessionId"] not in (reply["sessionId"], other["sessionId"])

    # Idle sessions expire (30 min by default): the admin list marks them, a new message starts afresh.
    clock.advance(31 * 60)
    expired = (await (await api.get(SESSIONS, headers=admin_headers, params={"status": "expired"})).json())["data"]
    assert sorted(s["id"] for s in expired) == sorted([other["sessionId"], fresh["sessionId"]])
    later = await (await api.post("/api/v1/chat", json={"message": "hello again", "visitorId": "v-2"})).json()
    assert later["sessionId"] != other["sessionId"]
    missing = await api.get(f"{SESSIONS}/sess_doesnotexist000000000", headers=admin_headers)
    assert missing.status == 404
