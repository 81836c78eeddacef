"""A visitor's simultaneous messages share one session and are stored in order."""

from __future__ import annotations

import asyncio
from typing import Any


async def test_simultaneous_first_messages_open_one_session(client: Any, admin_headers: dict[str, str]) -> None:
    replies = await asyncio.gather(*(
        client.post("/api/v1/chat", json={"message": f"hello {n}", "visitorId": "twin"}) for n in range(5)))
    bodies = [await reply.json() for reply in replies]
    assert all(reply.status == 200 for reply in replies)
    assert len({body["sessionId"] for body in bodies}) == 1

    sessions = (await (await client.get("/api/v1/admin/chat/sessions", headers=admin_headers)).json())["data"]
    assert [(s["visitorId"], s["status"], s["messageCount"]) for s in sessions] == [("twin", "active", 10)]
    detail = await (await client.get(f"/api/v1/admin/chat/sessions/{sessions[0]['id']}", headers=admin_headers)).json()
    roles = [message["role"] for message in detail["data"]["messages"]]
    assert roles == ["user", "assistant"] * 5  # turns never interleave
