"""Streamed chat over real HTTP: server-sent events from the fake provider's real SSE stream, and offline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from folionaut.chat.guardrails import EMAIL_MARK, PHONE_MARK
from folionaut.http.app import create_app
from folionaut.settings import Settings
from tests.helpers.fake_llm import FakeLLM, RecordingSleep, answer, server_error, tool_call, tool_calls

API_KEY = "sk-test-stream-0123456789"
Start = Callable[..., Awaitable[TestClient]]
Event = tuple[str, Any]  # (event name, parsed data); comments are ("comment", text)


@pytest.fixture
def chat_settings(settings: Settings, fake_llm: FakeLLM) -> Settings:
    return settings.replace(llm_base_url=fake_llm.base_url, llm_api_key=API_KEY, llm_max_retries=0,
                            llm_request_timeout_ms=5000, portfolio_owner_name="Ada Lovelace")


@pytest.fixture
def start(aiohttp_client: Any) -> Start:
    async def run(app_settings: Settings) -> TestClient:
        return await aiohttp_client(create_app(app_settings, llm_sleep=RecordingSleep()))

    return run


def parse_events(text: str) -> list[Event]:
    events: list[Event] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith(":"):
                events.append(("comment", line[1:].strip()))
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


async def stream(client: TestClient, message: str = "What did Ada build?", visitor: str = "v-1",
                 query: str = "", headers: dict[str, str] | None = None, body: dict[str, Any] | None = None,
                 ) -> tuple[Any, list[Event]]:
    payload = body if body is not None else {"message": message, "visitorId": visitor, "stream": True}
    response = await client.post(f"/api/v1/chat{query}", json=payload, headers=headers)
    return response, parse_events(await response.text())


def text_of(events: list[Event]) -> str:
    return "".join(data["text"] for name, data in events if name == "delta")


async def test_provider_deltas_stream_through_and_the_turn_is_stored(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    content = "Ada wrote the first published algorithm, Note G, for the Analytical Engine in 1843."
    fake_llm.enqueue(answer(content, prompt_tokens=120, completion_tokens=30))
    response, events = await stream(client)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["X-Request-Id"] and response.headers["X-Content-Type-Options"] == "nosniff"
    names = [name for name, _ in events]
    assert names.count("delta") > 3 and names[-1] == "done" and names.count("done") == 1
    assert text_of(events) == content
    done = events[-1][1]
    assert done["sessionId"].startswith("sess_") and done["message"]["content"] == content
    assert done["usage"] == {"promptTokens": 120, "completionTokens": 30, "totalTokens": 150}
    assert done["tokensUsed"] == 150 and done["degraded"] is False and done["sources"] == []
    sent = fake_llm.chat_requests[0].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    stored = await (await client.get(f"/api/v1/admin/chat/sessions/{done['sessionId']}",
                                     headers=admin_headers)).json()
    assert [m["content"] for m in stored["data"]["messages"]] == ["What did Ada build?", content]


async def test_accept_header_asks_for_a_stream_and_json_stays_the_default(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    client = await start(chat_settings)
    fake_llm.enqueue(answer("Streamed."), answer("Plain."))
    response, events = await stream(client, body={"message": "hi?", "visitorId": "v"},
                                     headers={"Accept": "text/event-stream"})
    assert response.headers["Content-Type"].startswith("text/event-stream") and text_of(events) == "Streamed."
    plain = await client.post("/api/v1/chat", json={"message": "again?", "visitorId": "v"})
    assert plain.headers["Content-Type"].startswith("application/json")
    assert (await plain.json())["message"]["content"] == "Plain."
    assert "stream" not in fake_llm.chat_requests[1].body


async def test_tool_calls_in_a_stream(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    created = await client.post("/api/v1/admin/content", headers=admin_headers, json={
        "type": "project", "status": "published",
        "data": {"title": "Analytical Engine", "description": "Call the lab on +44 20 7946 0958"}})
    assert created.status == 201
    fake_llm.enqueue(tool_calls(tool_call("search_content", {"query": "analytical engine", "limit": 3})),
                     answer("She designed programs for the Analytical Engine."))
    _, events = await stream(client, query="?includeToolCalls=true")
    tools = [data for name, data in events if name == "tool"]
    assert len(tools) == 1
    # The arguments arrived in pieces and were put together; the result went through redaction.
    assert tools[0]["name"] == "search_content" and tools[0]["arguments"] == {"query": "analytical engine",
                                                                              "limit": 3}
    assert tools[0]["result"]["results"][0]["data"]["description"] == f"Call the lab on {PHONE_MARK}"
    assert "7946" not in fake_llm.chat_requests[1].messages[-1]["content"]  # what the model got back
    done = events[-1][1]
    assert done["sources"] == [{"type": "project", "slug": "analytical-engine", "title": "Analytical Engine"}]
    # Without includeToolCalls the stream has no tool events.
    fake_llm.enqueue(tool_calls(tool_call("list_types")), answer("Projects."))
    _, quiet = await stream(client, "Anything else?")
    assert [name for name, _ in quiet if name == "tool"] == [] and text_of(quiet) == "Projects."


async def test_redaction_holds_across_chunk_boundaries(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    client = await start(chat_settings.replace(public_contact_email="hello@ada.example"))
    pieces = ["Call her on +44 20 79", "46 0958 or mail ja", "ne.doe@exa", "mple.com; public: hel",
              "lo@ada.example. Bye!"]
    fake_llm.enqueue(answer("".join(pieces), chunks=pieces))
    _, events = await stream(client)
    deltas = [data["text"] for name, data in events if name == "delta"]
    for delta in deltas:
        assert not any(secret in delta for secret in ("79", "0958", "ja", "doe", "@exa"))
    expected = f"Call her on {PHONE_MARK} or mail {EMAIL_MARK}; public: hello@ada.example. Bye!"
    assert "".join(deltas) == expected and events[-1][1]["message"]["content"] == expected


async def test_a_visitor_who_disconnects_cancels_the_provider_call(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings.replace(llm_request_timeout_ms=30_000))  # no rescue by a stall timeout
    # As in production (folionaut.server): aiohttp does not cancel a handler whose client left; the
    # test server would, and hide whether the stream notices by itself.
    server = client.server.runner.server
    assert server is not None and server.handler_cancellation is True
    server.handler_cancellation = False
    fake_llm.enqueue(answer("First words and more.", chunks=["First words", " and more."], hang_after=1))
    response = await client.post("/api/v1/chat", json={"message": "Hi?", "visitorId": "v-gone", "stream": True})
    assert response.status == 200
    # The head arrived (the turn started); once the provider is streaming, leave.
    async with asyncio.timeout(5):
        while not fake_llm.chat_requests:  # noqa: ASYNC110 - the fake records requests; nothing to wait on
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    response.close()
    async with asyncio.timeout(5):
        await fake_llm.client_gone.wait()  # the connection to the provider was closed
    assert fake_llm.disconnects == 1
    # The visitor's message is kept, as for a failed turn, and the next turn works.
    async with asyncio.timeout(5):
        while True:
            sessions = (await (await client.get("/api/v1/admin/chat/sessions", headers=admin_headers)).json())["data"]
            if sessions and sessions[0]["messageCount"] == 1:
                break
            await asyncio.sleep(0.02)
    fake_llm.enqueue(answer("Back."))
    _, events = await stream(client, "Still there?", visitor="v-gone")
    assert text_of(events) == "Back."


async def test_heartbeats_while_the_provider_is_slow(start: Start, chat_settings: Settings, fake_llm: FakeLLM) -> None:
    client = await start(chat_settings.replace(chat_stream_heartbeat_ms=100))
    fake_llm.enqueue(answer("Slow but sure.", chunks=["Slow", " but sure."], delay=0.35))
    _, events = await stream(client)
    assert ("comment", "heartbeat") in events
    assert text_of(events) == "Slow but sure." and events[-1][0] == "done"


async def test_the_stream_keeps_the_chat_deadline(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    client = await start(chat_settings.replace(chat_request_timeout_ms=600, chat_stream_heartbeat_ms=200))
    fake_llm.enqueue(answer("Started, then nothing.", chunks=["Started", ", then nothing."], hang_after=1))
    response, events = await stream(client)
    assert response.status == 200
    assert text_of(events) == ""  # the start is still held back by the redactor's tail when the deadline hits
    name, error = events[-1]
    assert name == "error" and error["code"] == "REQUEST_TIMEOUT" and error["retryAfter"] == 5
    async with asyncio.timeout(5):
        await fake_llm.client_gone.wait()


async def test_provider_failure_is_an_error_event_or_a_degraded_offline_answer(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings)
    fake_llm.enqueue(server_error(500, "upstream exploded"))
    response, events = await stream(client)
    assert response.status == 200
    [(name, error)] = [event for event in events if event[0] != "comment"]
    assert name == "error" and error["code"] == "LLM_ERROR" and error["retryAfter"] == 5
    assert "upstream" not in error["message"]

    fallback = await start(chat_settings.replace(chat_fallback="offline"))
    await fallback.post("/api/v1/admin/content", headers=admin_headers, json={
        "type": "project", "status": "published", "data": {"title": "Analytical Engine"}})
    fake_llm.enqueue(server_error(500))
    _, events = await stream(fallback, "Tell me about the Analytical Engine")
    done = events[-1][1]
    assert done["degraded"] is True and done["model"] == "local"
    assert "Analytical Engine" in text_of(events)
    assert done["sources"] == [{"type": "project", "slug": "analytical-engine", "title": "Analytical Engine"}]


async def test_offline_answers_stream_too(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM, admin_headers: dict[str, str],
) -> None:
    client = await start(chat_settings.replace(llm_api_key=""))
    for title in ("Analytical Engine", "Note G"):
        await client.post("/api/v1/admin/content", headers=admin_headers, json={
            "type": "project", "status": "published", "data": {"title": title, "description": f"About {title}"}})
    _, events = await stream(client, "What projects are there?")
    assert [name for name, _ in events].count("delta") > 1
    done = events[-1][1]
    assert done["model"] == "local" and done["tokensUsed"] == 0
    assert text_of(events) == done["message"]["content"] and "Note G" in done["message"]["content"]
    assert [source["slug"] for source in done["sources"]] == ["note-g", "analytical-engine"]  # display order
    assert fake_llm.requests == []


async def test_refusals_before_the_turn_are_plain_json_errors(
    start: Start, chat_settings: Settings, fake_llm: FakeLLM,
) -> None:
    client = await start(chat_settings.replace(chat_max_messages_per_session=1))
    fake_llm.enqueue(answer("One."))
    await stream(client)
    refused = await client.post("/api/v1/chat", json={"message": "Two?", "visitorId": "v-1", "stream": True})
    assert refused.status == 429 and refused.headers["Content-Type"].startswith("application/json")
    assert (await refused.json())["error"]["code"] == "RATE_LIMIT_EXCEEDED" and "Retry-After" in refused.headers
    bad = await client.post("/api/v1/chat", json={"message": "x", "visitorId": "v", "stream": "yes"})
    assert bad.status == 400 and (await bad.json())["error"]["fields"] == {"stream": ["Expected boolean"]}
